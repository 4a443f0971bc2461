/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * The daemons' control interface: one D-Bus interface,
 * org.trellisvpn.Daemon1 at /org/trellisvpn/Daemon, served peer-to-peer on
 * a private unix socket (no bus daemon needed; only root and the daemon's
 * own user may connect), and on the system bus when there is one and the
 * daemon runs as a system service. `trellis status`, the tray app and the
 * NetworkManager plugin all use it. See docs/CONTROL.md.
 */
#define TR_BUS_INTERFACE "org.trellisvpn.Daemon1"
#define TR_BUS_PATH      "/org/trellisvpn/Daemon"
#define TR_BUS_NAME      "org.trellisvpn.Daemon"

typedef struct {
	/* A JSON object: the daemon's state and every session's counters. */
	char *(*status_json)(gpointer user_data);
	/* A word: "listening", "connecting", "connected", ... */
	const char *(*state)(gpointer user_data);
	/* Re-read credentials (and the CRL, passwords: hub). */
	gboolean (*reload)(gpointer user_data, GError **error);
	/* Client: (re)connect now / disconnect and stay down. Hub: NULL. */
	gboolean (*connect)(gpointer user_data, GError **error);
	/* Client: @who is "". Hub: drop the session of identity @who. */
	gboolean (*disconnect)(gpointer user_data, const char *who, GError **error);
	/* Client asking over the bus: the password, then connect. Else NULL. */
	gboolean (*set_password)(gpointer user_data, const char *password, GError **error);
} TrBusOps;

typedef struct _TrBus TrBus;

/* Listens on @socket_path (replacing a stale socket; mode 0600). */
TrBus *tr_bus_new(const char *role, const char *socket_path, const TrBusOps *ops,
                  gpointer user_data, GError **error);
/*
 * Also exports the interface on the system bus, if there is one, for the
 * network @network (the config file's name): object
 * TR_BUS_PATH/ESCAPED-NETWORK, owning the name
 * TR_BUS_NAME.nESCAPED-NETWORK (D-Bus lets one process own a name, so
 * the networks share the prefix: a tray lists the names that start with it).
 * Connect, Disconnect and Reload over the bus are authorized with polkit.
 */
void tr_bus_export_system_bus(TrBus *bus, const char *network);
char *tr_bus_name(const char *network);
char *tr_bus_object_path(const char *network);
/* Announces a state change: State property and the StateChanged signal. */
void tr_bus_state_changed(TrBus *bus);
/* The peers or their paths changed: the PeersChanged signal. */
void tr_bus_peers_changed(TrBus *bus);
/* Something failed: the Error(kind, message) signal and LastError. @kind is
 * a word a program can act on (tr_bus_error_kind()). */
void tr_bus_error(TrBus *bus, const char *kind, const char *message);
/* "refused", "config", "negotiate", "protocol", "timeout", "network",
 * "permission", "not-found" or "failed", from a TR_ERROR code. */
const char *tr_bus_error_kind(const GError *error);
void tr_bus_free(TrBus *bus);

/* Where default sockets live: $TRELLIS_CONTROL_DIR, else /run/trellis. */
const char *tr_bus_dir(void);

/* The default socket: /run/trellis/PROGRAM-NAME.sock for a named instance
 * (its config file's name), else /run/trellis/PROGRAM.PID.sock; `trellis
 * status` looks at every socket in /run/trellis. */
char *tr_bus_default_socket(const char *program, const char *name);

/* Client side: the D-Bus address of the daemon serving @socket_path (on
 * Windows, what its control file holds: docs/WINDOWS.md). */
char *tr_bus_address(const char *socket_path, GError **error);
/* Client side: GetStatus() over the socket at @path. */
char *tr_bus_get_status(const char *socket_path, GError **error);

G_END_DECLS
