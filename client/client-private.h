/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * What the client's files share: the connection's state machine
 * (client.c), reading the hub's CONFIG into settings (settings.c), and the
 * device, sockets and workers those settings make (device.c).
 */
#include "client/client.h"
#include "client/pairs.h"
#include "common/auth/node-key.h"
#include "common/ctrl/dialer.h"

typedef enum {
	STATE_IDLE,
	STATE_CONNECTING, /* TCP connect running */
	STATE_TLS,        /* handshake */
	STATE_HELLO,      /* HELLO sent, waiting for CONFIG */
	STATE_ACTIVE,
	STATE_STOPPED,
} State;

struct _TrClient {
	TrClientConfig cfg;
	TrClientCallbacks cb;
	gpointer user_data;
	TrTlsCreds *creds;
	State state;
	const char *waiting; /* not started: what for ("needs-password"), or NULL */
	guint retry_id;
	/* Hubs (hubs.c): the one of the current or last attempt, the attempts
	 * of this round, rounds that failed whole, hubs that refused us for
	 * good; failback: an earlier hub to move back to, its check. */
	guint hub;
	guint round_tried;
	guint round;
	gboolean *hub_refused; /* one per --connect */
	GBytes **tickets;      /* one per --connect: its last TLS ticket, offered once */
	gint switch_to;        /* -1: none */
	guint probe_hub;
	TrDialer *probe;
	guint failback_id;
	guint failback_misses;
	gboolean failing_back;
	guint config_timer;
	TrDialer *dialer;
	char *server_desc;
	struct sockaddr_storage server_addr;
	socklen_t server_addr_len;

	TrLink *link;
	uint32_t rx_index;
	int udp_fd;   /* udp_fds[0] */
	int *udp_fds; /* one per worker, or one */
	guint n_udp;
	TrDataplane *dp;

	TrDevice *dev;
	TrClientSettings settings;
	gboolean have_settings;
	char *last_error;    /* why the last session or attempt ended */
	TrNodeKey *node_key; /* shared key: binds our name at the hub */
	TrRefusal refusal;   /* the hub's, with the last ERROR */

	/* NAT port mapping of the UDP port (NULL when off); the port is kept
	 * across reconnections, so the mapping is too. */
	TrPortmap *portmap;
	guint16 udp_port;

	/* Pair sessions with other clients (mesh.c); while a session is up. */
	TrClientPairs *pairs;
	guint pairs_timer;
	guint pairs_ticks; /* of pairs_timer: our candidates are looked at every few */
	TrCandidateList candidates_sent; /* our candidates as last sent to the hub */
	gboolean hub_pairs; /* the hub's CONFIG said it introduces pairs (TR_FEATURE_PAIRS) */
	TrTlsCreds *pair_creds[2]; /* per TrPairRole, made on first use */
	TrSwitch *pair_macs;       /* tap: the MACs learnt behind pairs (peer = forwarding id) */
};

/* settings.c */
/* The settings in the hub's CONFIG @msg, checked against what we offered
 * (@cfg): TR_ERROR_NEGOTIATE when the hub chose something else. */
gboolean client_settings_read(const TrClientConfig *cfg, const TrMsg *msg, TrClientSettings *out,
                              GError **error);
gboolean client_settings_equal(const TrClientSettings *a, const TrClientSettings *b);
void client_settings_clear(TrClientSettings *s);

/* mesh.c: pair sessions with other clients (docs/PROTOCOL.md, "Pair sessions") */
void client_mesh_start(TrClient *client); /* the hub session is configured */
void client_mesh_stop(TrClient *client);  /* it ended: every pair with it */
void client_mesh_free(TrClient *client);
/* PAIR_START, PAIR_TLS, PAIR_END, CANDIDATES from the hub: TRUE when handled. */
gboolean client_mesh_message(TrClient *client, const TrMsg *msg);
/* "pairs": [...] for the status. */
void client_mesh_stats_json(TrClient *client, GString *out, gboolean *first);

/* hubs.c: which hub next (docs/MESH.md, "Clients with several hubs") */
guint client_hubs_count(const TrClient *client);
/* The name the current hub's certificate must carry, or NULL. */
const char *client_hubs_server_name(const TrClient *client);
/* The current hub refused us for good: TRUE when every hub has. */
gboolean client_hubs_refused(TrClient *client, const GError *error);
/* An attempt or a session ended (not for good): moves to the hub to try
 * next; returns the wait before trying it, in ms. */
guint client_hubs_next(TrClient *client, gboolean was_active);
void client_hubs_active(TrClient *client);   /* configured: failback checks start */
void client_hubs_inactive(TrClient *client); /* the session or attempt ended */
void client_hubs_reset(TrClient *client);    /* a restart: every hub again, the first first */
void client_hubs_stats_json(TrClient *client, GString *out, gboolean *first);
/* client.c: leave the current hub for @target (failback). */
void client_switch_hub(TrClient *client, const char *target);

/* device.c */
/* The device as @s says, unless it is so already. */
gboolean client_apply_settings(TrClient *client, const TrClientSettings *s, GError **error);
void client_close_device(TrClient *client); /* its workers first */
/* The session's UDP sockets, toward the server's address family. */
gboolean client_open_udp(TrClient *client, GError **error);
void client_close_udp(TrClient *client);
/* The workers on the device and the sockets, for the current settings. */
gboolean client_start_dataplane(TrClient *client, GError **error);
