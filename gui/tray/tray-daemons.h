/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "tray-model.h"

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * The Trellis daemons on the system bus (docs/CONTROL.md): finds them by
 * their names (org.trellisvpn.Daemon.n*), follows their StateChanged,
 * PeersChanged and Error signals and their status into the model, and asks
 * them to connect and disconnect. GIO only.
 */
typedef struct _TrayDaemons TrayDaemons;

#ifdef G_OS_WIN32
/* Windows, where there is no system bus: the daemons found through their
 * control files in @control_dir (tray-daemons-win.c). Connect starts a
 * network's Windows service when its daemon does not run. */
TrayDaemons *tray_daemons_new_for_dir(const char *control_dir, TrayModel *model);
#else
TrayDaemons *tray_daemons_new(GDBusConnection *system_bus, TrayModel *model);
#endif
void tray_daemons_free(TrayDaemons *daemons);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrayDaemons, tray_daemons_free)

/* Done: @error NULL on success. */
typedef void (*TrayDoneFunc)(const char *network, const GError *error, gpointer user_data);

/* A running daemon: its Connect(). A configured network with no daemon:
 * systemd starts trellis-client@NETWORK.service. polkit may ask the user
 * first, so the answer can take long. */
void tray_daemons_connect(TrayDaemons *daemons, const char *network, TrayDoneFunc done,
                          gpointer user_data);
void tray_daemons_disconnect(TrayDaemons *daemons, const char *network, TrayDoneFunc done,
                             gpointer user_data);
/* Hands the daemon waiting for it the user's password (SetPassword): over
 * the system bus, never a command line or a file. */
void tray_daemons_set_password(TrayDaemons *daemons, const char *network, const char *password,
                               TrayDoneFunc done, gpointer user_data);

G_END_DECLS
