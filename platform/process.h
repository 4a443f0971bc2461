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

#ifdef __cplusplus
}
#endif
