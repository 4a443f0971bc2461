/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * Who may change a daemon's state over the system bus: root always; anyone
 * else when polkit says so for the action (data/polkit-1/, docs/CONTROL.md).
 * Checked by the daemon itself for every call, whatever the bus policy lets
 * through. Without polkit in the build, only root.
 */
#define TR_ACTION_CONNECT    "org.trellisvpn.network.connect"
#define TR_ACTION_DISCONNECT "org.trellisvpn.network.disconnect"
#define TR_ACTION_RELOAD     "org.trellisvpn.daemon.reload"

/* Called once: @allowed, or not with @error saying why. */
typedef void (*TrBusAuthFunc)(gboolean allowed, const GError *error, gpointer user_data);

/* Asks whether the caller of @inv may do @action on @network; the answer
 * comes later, from the main loop. */
void tr_bus_authorize(GDBusMethodInvocation *inv, const char *action, const char *network,
                      TrBusAuthFunc done, gpointer user_data);

G_END_DECLS
