/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/base/addr.h"
#include "common/datapath/cipher.h"
#include "common/datapath/compress.h"
#include "common/datapath/dataplane.h"
#include "common/datapath/fwd.h"
#include "common/datapath/magic.h"
#include "common/portmap/portmap.h"
#include "common/auth/tls.h"
#include "platform/device.h"

G_BEGIN_DECLS

/*
 * The hub: accepts clients over TLS, authenticates them (certificate or
 * shared key, optionally a password on top), decides each session's
 * settings, pushes the client its configuration, and routes packets between
 * its tun device and the clients, and between clients.
 */

#define TR_HUB_MAX_PUSH 32

typedef struct {
	char *listen; /* "[ADDR:]PORT", default "3210" on all addresses */
	TrTlsConfig tls;
	char *password_file; /* file backend; NULL for none */
	char *pam_service;   /* PAM backend; NULL for none */
	char *pam_confdir;   /* tests: a private PAM config directory */

	TrPrefix pool4, pool6; /* family NONE when not configured */
	TrPrefix routes[TR_HUB_MAX_PUSH];
	guint n_routes;
	char **dns;        /* numeric addresses pushed as DNS servers */
	char **dns_search; /* search domains */

	guint mtu;
	TrCipher ciphers[4]; /* in order of preference */
	guint n_ciphers;
	TrCompress compression; /* what the hub offers; NONE by default */
	gboolean allow_plaintext;
	TrMagic magic;
	guint keepalive;    /* seconds */
	guint rekey_sec;    /* data keys are replaced after this long (0: the default) */
	guint peer_timeout; /* seconds */
	gboolean client_to_client;
	gboolean mesh;  /* introduce clients that exchange traffic to each other (pair sessions) */
	gboolean relay; /* relay pairs' sealed datagrams (docs/MESH.md) */
	/* Tests only (TRELLIS_TEST_NO_PAIRS_ACROSS, docs/TESTING.md): on hub links, behave
	 * as a hub built before pairs across hubs (none announced, none introduced, a
	 * PAIR_START from a hub link is unexpected and drops the link). */
	gboolean no_pairs_across;
	guint64 relay_rate; /* relayed bytes a second per pair (0: no limit) */
	gboolean udp;

	TrDeviceType dev_type;
	TrFwdMode mode;       /* hub, switch, router; normal: switch for tap, router for tun */
	TrPrefix subnets[16]; /* subnets this node claims (reached through its device) */
	guint n_subnets;
	guint dst_timeout; /* switch table entries, seconds */
	char *device;
	char *device_path;
	char *ifup;   /* sh -c, IFNAME set, once the device is configured */
	char *ifdown; /* before it is removed */
	char *state_dir;
	guint handshake_timeout_ms;
	guint max_pending;
	guint max_pending_per_source;
	guint max_waiting;       /* accepted connections waiting for a handshake slot */
	guint handshake_threads; /* TLS handshakes off the main loop; 0: one per core */

	/* The symmetric model: other nodes configured alike to connect to. */
	char **connect;
	char *node_name;       /* this node's unique name (required with connect) */
	TrPrefix addresses[4]; /* this node's own tunnel addresses, without a pool */
	guint n_addresses;
	TrDpTuning tuning;         /* data-plane threads and offloads */
	TrPortmapSettings portmap; /* NAT port mapping of the listening port */
} TrHubConfig;

void tr_hub_config_init(TrHubConfig *config);

/* --listen: "PORT", "ADDR:PORT", "[ADDR6]:PORT" or "HOST"; @host is NULL for
 * every address. Checked when the options are read, before anything is made. */
gboolean tr_hub_parse_listen(const char *listen, char **host, uint16_t *port, GError **error);
void tr_hub_config_clear(TrHubConfig *config);

typedef struct _TrHub TrHub;

/* Opens the device, the sockets and the credentials; nothing runs yet. */
TrHub *tr_hub_new(const TrHubConfig *config, GError **error);
/* Starts accepting clients on the default main context. */
void tr_hub_start(TrHub *hub);
/* Says goodbye to every client (CLOSE), then undoes the device. */
void tr_hub_stop(TrHub *hub);
void tr_hub_free(TrHub *hub);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrHub, tr_hub_free)

/* Re-reads the CRL (dropping clients now revoked) and the password file. */
/* After the privilege drop: the CRL loads and the leases file can be
 * written, as the daemon's user. */
gboolean tr_hub_check_access(TrHub *hub, GError **error);
gboolean tr_hub_reload(TrHub *hub, GError **error);

/* Everything `trellis status` and --stats-file show, as a JSON object. */
char *tr_hub_stats_json(TrHub *hub);

/* Called whenever a session comes or goes (for the control interface). */
void tr_hub_set_changed_func(TrHub *hub, void (*func)(gpointer), gpointer user_data);

/* Drops the session of @identity (the control interface's Disconnect). */
gboolean tr_hub_disconnect(TrHub *hub, const char *identity, GError **error);

const char *tr_hub_ifname(TrHub *hub);
guint16 tr_hub_port(TrHub *hub);

G_END_DECLS
