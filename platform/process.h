/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Process-level operations that differ by OS. Plain C, no GLib, like
 * device.h: 0 or a negative errno, with a message in TrPlatError.
 */
#include "platform/device.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Switches to @user and @group (either may be NULL: @user's primary group,
 * or keep the current user). With @keep_net_admin, the process keeps the one
 * capability it needs to reconfigure its network devices afterwards
 * (CAP_NET_ADMIN on Linux) and nothing else; where the OS has no such thing,
 * the call fails with -ENOTSUP rather than silently dropping it.
 */
int tr_process_drop_privileges(const char *user, const char *group, bool keep_net_admin,
                               TrPlatError *err);

/*
 * A process that is not root but was given capabilities beyond CAP_NET_ADMIN
 * (an ambient CAP_BPF, say, for what it loads at start): keeps CAP_NET_ADMIN,
 * if it has it, and nothing else. Returns 1 when something was dropped, 0
 * when there was nothing to drop (and always where capabilities are not
 * per process: BSD, Windows), or a negative errno.
 */
int tr_process_drop_extra_capabilities(TrPlatError *err);

/*
 * Whether this process may create and configure network devices: root, or
 * CAP_NET_ADMIN in its effective set on Linux. Asked at start, so that a
 * daemon started as a plain user says so instead of failing later on
 * whatever it touches first.
 */
bool tr_process_can_admin_network(void);

/*
 * Linux keeps capabilities per thread, and tr_process_drop_privileges()
 * changes those of the calling thread only (user and group ids change for
 * every thread). Threads started before the drop -- the data-plane workers
 * -- follow with tr_process_adopt_privileges(), which gives the calling
 * thread the capabilities the main thread kept, whenever
 * tr_process_privileges_generation() (one atomic load) changed. Elsewhere
 * privileges are per process: the generation stays 0 and adopting is a no-op.
 */
unsigned tr_process_privileges_generation(void);
int tr_process_adopt_privileges(void);

#ifdef __cplusplus
}
#endif
