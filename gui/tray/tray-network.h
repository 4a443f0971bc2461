/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * One Trellis network as the tray sees it: configured (a file in the
 * configuration directory), running (a daemon on the system bus), or both;
 * its state, addresses, hub and peers, from the daemon's State, GetStatus()
 * and Error (docs/CONTROL.md). Plain data: no D-Bus, no widget.
 */
typedef enum {
	TRAY_STATE_OFF,          /* configured, no daemon running */
	TRAY_STATE_DISCONNECTED, /* the daemon runs and stays down (Disconnect) */
	TRAY_STATE_CONNECTING,
	TRAY_STATE_RECONNECTING,   /* lost, waiting to retry */
	TRAY_STATE_CONNECTED,      /* a client with its settings; a hub listening */
	TRAY_STATE_ERROR,          /* refused or failed for good: see error_kind */
	TRAY_STATE_NEEDS_PASSWORD, /* the daemon waits for the user's password */
} TrayState;

/* How a peer's packets go (the daemons' "path"; docs/MESH.md, "Seeing it"). */
typedef enum {
	TRAY_PATH_UNKNOWN,
	TRAY_PATH_DIRECT,  /* "udp" (a session), "direct" (a pair): UDP straight to it */
	TRAY_PATH_RELAYED, /* "relayed": a pair's datagrams through the hub, over UDP */
	TRAY_PATH_TCP,     /* "tcp": a session on its TLS stream; a pair relayed over it */
	TRAY_PATH_HUB,     /* "hub": a pair with no path yet: in the hub session */
} TrayPath;

typedef struct {
	char *name;     /* identity, or the hub's address */
	char *address;  /* tunnel address, or NULL */
	char *endpoint; /* where its packets go, or NULL */
	gboolean pair;  /* a client's pair session with another client (the mesh) */
	TrayPath path;
	gint64 rtt_us; /* -1: unknown */
} TrayPeer;

/* The path in the user's words ("direct", "relayed over TCP", ...). */
const char *tray_peer_path_label(const TrayPeer *peer);

typedef struct {
	char *name;        /* the network: config file name without .conf */
	char *config_path; /* NULL when not configured here */
	char *role;        /* "client", "hub" or NULL (unknown) */
	gboolean running;
	char *daemon_state; /* the daemon's word: "connected", "idle", ... */
	TrayState state;
	char **addresses;    /* "198.19.0.2/24", ... */
	char *hub;           /* client: the hub it connects to */
	char *identity;      /* client: its certificate's name */
	char *username;      /* client: the user name it logs in with, or NULL */
	GPtrArray *peers;    /* TrayPeer */
	char *error_kind;    /* "refused", "timeout", ... or NULL */
	char *error_message; /* the daemon's words */
	char *status_json;   /* the last GetStatus(), for Details */
	char **log;          /* the daemon's recent log lines (GetLog), or NULL */
} TrayNetwork;

TrayNetwork *tray_network_new(const char *name);
void tray_network_free(TrayNetwork *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrayNetwork, tray_network_free)

/* The daemon's State word (or NULL: no daemon) → net->state. */
void tray_network_set_daemon_state(TrayNetwork *net, const char *state);
/* Reads a GetStatus() document: role, state, addresses, hub, peers. */
gboolean tray_network_set_status(TrayNetwork *net, const char *json, GError **error);
/* The daemon reported a failure; NULL @kind clears it. */
void tray_network_set_error(TrayNetwork *net, const char *kind, const char *message);

/* The first address without its prefix length ("198.19.0.2"), or NULL. */
char *tray_network_address(const TrayNetwork *net);
/* The state in words, translated: "Connected", "Reconnecting", ... */
const char *tray_state_label(TrayState state);
/* What went wrong, in plain words, translated; NULL when nothing. */
char *tray_network_error_text(const TrayNetwork *net);
/* What `trellis status` shows for it, as lines of text (Details). */
char *tray_network_describe(const TrayNetwork *net);

G_END_DECLS
