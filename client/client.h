/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "common/datapath/dataplane.h"
#include <glib.h>
#include "platform/net.h"

#include "common/base/addr.h"
#include "common/datapath/cipher.h"
#include "common/datapath/compress.h"
#include "common/ctrl/msg.h"
#include "common/link/link.h"
#include "common/datapath/magic.h"
#include "common/portmap/portmap.h"
#include "common/auth/tls.h"
#include "platform/device.h"

G_BEGIN_DECLS

/*
 * The client: connects to a hub (retrying for ever with backoff and jitter),
 * authenticates, states what it can do, takes the configuration the hub
 * pushes, brings up a tun device with it and carries packets. Embedders (the
 * NetworkManager plugin) set configure_device = FALSE and apply the pushed
 * settings themselves from the `configured` callback.
 */

typedef struct {
	char **connect;      /* "HOST[:PORT]", tried in turn */
	char **server_names; /* the names the hubs' certificates must carry: one, or one per hub */
	char *node_key_file; /* shared key: this node's own key (common/auth/node-key.h), or NULL */
	TrTlsConfig tls;
	char *username;
	char *password;

	TrDeviceType dev_type;
	char *device;
	char *device_path;
	char *ifup;
	char *ifdown;
	gboolean configure_device; /* addresses, routes, DNS (default TRUE) */
	gboolean apply_dns;        /* default TRUE */
	TrPrefix subnets[16];      /* claimed: reached through this client's device */
	guint n_subnets;

	guint mtu;
	TrCipher ciphers[4];
	guint n_ciphers;
	TrCompress compression; /* offered; NONE by default */
	gboolean allow_plaintext;
	TrMagic magic;
	gboolean udp;
	guint handshake_timeout_ms;
	guint retry_max_sec;
	guint failback_sec; /* on a later hub, check the earlier ones this often (0: never) */
	/* Pair sessions with other clients (docs/MESH.md) */
	gboolean direct;           /* FALSE (--no-direct): no direct paths, always relayed */
	guint punch_interval_ms;   /* between probes while punching */
	guint punch_retry_sec;     /* a relayed pair tries the direct path again after this */
	guint pair_keepalive_sec;  /* an idle direct path gets a PING after this */
	guint pair_rekey_sec;      /* a pair's data keys are replaced after this */
	TrDpTuning tuning;         /* data-plane threads and offloads */
	TrPortmapSettings portmap; /* NAT port mapping of the UDP port */
} TrClientConfig;

void tr_client_config_init(TrClientConfig *config);
void tr_client_config_clear(TrClientConfig *config);
/* --server-name against --connect: a certificate needs a name; one name
 * for every hub, or one per hub in the same order. */
gboolean tr_client_config_check_names(const TrClientConfig *config, GError **error);

/* What the hub pushed, as applied. */
typedef struct {
	char *identity;
	TrPrefix addresses[2];
	guint n_addresses;
	TrPrefix routes[TR_MAX_PREFIXES];
	guint n_routes;
	char **dns;
	char **dns_search;
	guint mtu;
	TrCipher cipher;
	TrCompress compression;
	guint keepalive;
	guint peer_timeout;
} TrClientSettings;

typedef struct _TrClient TrClient;

typedef struct {
	/* Connected and configured; the device is up (when configured here). */
	void (*configured)(TrClient *client, const TrClientSettings *settings, gpointer user_data);
	/* The session ended; the client reconnects by itself unless stopped. */
	void (*disconnected)(TrClient *client, const GError *error, gpointer user_data);
	/* The hub refused us for a reason retrying cannot fix (auth, cipher...):
	 * the client has stopped. */
	void (*refused)(TrClient *client, const GError *error, gpointer user_data);
	/* An attempt or a session ended for a reason retrying may fix (@reason);
	 * the next attempt starts in @delay_ms. */
	void (*retrying)(TrClient *client, const char *reason, guint delay_ms, gpointer user_data);
} TrClientCallbacks;

TrClient *tr_client_new(const TrClientConfig *config, const TrClientCallbacks *callbacks,
                        gpointer user_data, GError **error);
void tr_client_start(TrClient *client);
/* Says goodbye to the hub (CLOSE) and stops reconnecting. */
void tr_client_stop(TrClient *client);
/* After tr_client_stop(): connect again (control interface "Connect"). */
void tr_client_restart(TrClient *client);
/* The password for the next connection (the old one is wiped); NULL: none. */
void tr_client_set_password(TrClient *client, const char *password);
/* Re-reads the certificate, key and CA files for the next connection. */
gboolean tr_client_reload(TrClient *client, GError **error);
/* "idle", "connecting", "tls", "hello", "connected" or "stopped"; or what
 * the embedder set with tr_client_set_waiting(). */
const char *tr_client_state_name(TrClient *client);
/* Not connecting until the embedder has something (@why, a static string:
 * "needs-password"); it shows as the state. NULL: no longer waiting. */
void tr_client_set_waiting(TrClient *client, const char *why);

/* Undoes the device configuration and frees everything. */
void tr_client_free(TrClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrClient, tr_client_free)

/* Everything `trellis status` and --stats-file show, as a JSON object. */
char *tr_client_stats_json(TrClient *client);

const char *tr_client_ifname(TrClient *client);
/* Why the hub refused us last (its ERROR message's code; TR_REFUSE_NONE when
 * it did not): TR_REFUSE_PASSWORD is a wrong username or password,
 * TR_REFUSE_AUTH an identity refused. */
TrRefusal tr_client_refusal(TrClient *client);
/* The hub's address of the current session (set once TCP connected), or
 * NULL: the embedder keeps a route to it outside the tunnel. */
const struct sockaddr *tr_client_server_address(TrClient *client, socklen_t *len);

G_END_DECLS
