/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * What the hub's files share: hub.c (sockets, routing, lifetime),
 * session.c (a client's session: authentication, HELLO, CONFIG),
 * peer.c (sessions with other nodes configured alike: the symmetric model)
 * and invite.c (redeeming invites: trellis join).
 */
#include "common/ctrl/msg.h"
#include "common/ctrl/dialer.h"
#include "common/link/link.h"
#include "common/base/log.h"
#include "common/datapath/dataplane.h"
#include "common/datapath/fwd.h"
#include "common/datapath/mangle.h"
#include "common/datapath/route.h"
#include "common/datapath/switch.h"
#include "server/auth-password.h"
#include "server/hub.h"
#include "common/auth/node-key.h"
#include "server/names.h"
#include "server/pool.h"

#define HUB_MAX_ADDRS   8
#define HUB_MAX_SUBNETS 16

typedef enum {
	CLIENT_HANDSHAKE, /* TLS running */
	CLIENT_HELLO,     /* authenticated, waiting for HELLO (or, outgoing, for CONFIG) */
	CLIENT_AUTH,      /* password check running in a thread */
	CLIENT_ACTIVE,    /* configured, data flows */
	CLIENT_GONE,      /* closing */
} ClientState;

typedef struct _Connector Connector;
typedef struct _Client Client;

/* One session: a client of this hub, or a peer node (either direction). */
struct _Client {
	TrHub *hub;
	TrLink *link;
	ClientState state;
	gboolean is_peer;   /* a node configured alike, nothing pushed */
	gboolean outgoing;  /* we connected (peers only) */
	gboolean refused;   /* we refused it (and logged why) */
	gboolean is_invite; /* authenticated with an invite's PSK: JOIN only */
	Connector *connector;
	char *peer;       /* "198.18.0.2:40000" */
	char *source;     /* "198.18.0.2" or "2001:db8::/64": for admission (incoming only) */
	gboolean pending; /* counted among the pending handshakes */
	gint64 admitted_at;
	char *identity; /* certificate name or psk:NAME (+ "/user"); peers: "node:NAME" */
	char *cert_identity;
	char *node_name; /* peers */
	uint32_t rx_index;
	uint32_t id;                       /* small forwarding id, 0 = none yet */
	TrPrefix subnets[HUB_MAX_SUBNETS]; /* claimed (HELLO) */
	guint n_subnets;
	TrPrefix addr4, addr6;         /* leased (clients) */
	TrPrefix addrs[HUB_MAX_ADDRS]; /* every tunnel address routed to this session */
	guint n_addrs;
	gboolean routed; /* its subnets hold kernel routes on the hub's device (forward.c) */
	guint hello_timer;
	TrMsg hello; /* kept while the password check runs */
	GCancellable *cancel;
};

/* An outgoing --connect to another node, retried for ever. */
struct _Connector {
	TrHub *hub;
	TrDialer *dialer;
	guint attempt;
	guint retry_id;
	char *last_identity; /* who answered last time */
	Client *session;     /* the session it made, while it lives */
	char *refusal;       /* set when the node refused us for good: no more dialling */
};

struct _TrHub {
	TrHubConfig cfg;
	TrTlsCreds *creds;        /* as TLS server */
	TrTlsCreds *client_creds; /* as TLS client, for --connect */
	TrPasswordBackend *passwords;
	TrPool *pool;        /* NULL: this node assigns no addresses */
	TrNames *names;      /* shared-key names bound to node keys; NULL without a shared key */
	TrNodeKey *node_key; /* this node's own, for nodes it talks to (shared key and --name) */
	TrLogLimit takeovers;
	TrDevice *dev;
	int tcp_fd, udp_fd; /* udp_fd: udp_fds[0] */
	int *udp_fds;       /* one per worker, or one */
	guint n_udp;
	TrDataplane *dp;
	guint16 port;
	guint tcp_watch, crl_watch;
	GHashTable *clients;     /* Client* set */
	GHashTable *by_identity; /* identity -> Client (active) */
	GHashTable *by_index;    /* rx index -> Client */
	/* Forwarding (forward.c): claims -> routing table -> snapshot. */
	TrRouteBuilder *routes;
	TrSwitch *sw;
	TrFwd *fwd;       /* the latest snapshot (the data plane owns it) */
	GPtrArray *by_id; /* session id -> Client (NULL: free) */
	GHashTable
	        *kernel_routes; /* "PREFIX" -> KernelRoute: claimed subnets routed to our device */
	GPtrArray *connectors;
	guint n_pending;
	GHashTable *pending_by_source; /* source -> pending handshakes (GUINT) */
	TrLogLimit admission_log;
	TrLogLimit refusals; /* refused or failed connections: a bounded log rate */
	gint64 crl_mtime;
	char *crl_error; /* set while the CRL cannot be loaded: no new sessions */
	gint64 crl_last_warning;
	char *invite_server_name; /* set when invites are on: our certificate's name */
	void (*changed)(gpointer);
	gpointer changed_data;
	TrPortmap *portmap; /* NAT port mapping of our port; NULL when off */
};

/* hub.c */
void hub_changed(TrHub *hub);          /* a session came or went */
void hub_pending_leave(Client *c);     /* authenticated or gone: no longer pending */
const char *hub_crl_error(TrHub *hub); /* why the CRL cannot be loaded, or NULL */

/* forward.c */
gboolean hub_forward_init(TrHub *hub, GError **error);
void hub_forward_free(TrHub *hub);
void hub_register(Client *c);   /* index, addresses and claims into the tables */
void hub_unregister(Client *c); /* out of every table; releases the lease */
/* Whether @want (a claim of @c's) overlaps what anyone else owns: another
 * session's addresses and claims, the hub's pools, routes, subnets and
 * addresses. TRUE with the reason in *@why. */
gboolean hub_claim_conflict(TrHub *hub, Client *c, const TrPrefix *want, char **why);
TrLinkTiming hub_timing(TrHub *hub);
gboolean hub_pick_cipher(TrHub *hub, const TrMsg *hello, TrCipher *out, char **why);
TrCompress hub_pick_compression(TrHub *hub, const TrMsg *hello);
uint32_t hub_new_index(TrHub *hub);
void hub_fill_dc_config(TrHub *hub, TrDcConfig *dcc, TrCipher cipher, TrCompress comp,
                        uint32_t local_index, uint32_t peer_index);

/* session.c */
extern const TrLinkCallbacks hub_session_callbacks;
Client *hub_session_new(TrHub *hub, int fd, const char *peer, TrTlsCreds *creds,
                        gboolean tls_server, GError **error);
void hub_session_free(gpointer client);
void hub_refuse(Client *c, TrRefusal code, const char *log_reason, const char *client_reason);
/* Binds @bind_as to the node key @m proves, or refuses @c (closed) when the
 * name is bound to another key. */
gboolean hub_check_node_key(Client *c, const char *bind_as, const TrMsg *m);
/* Adds this node's key and its proof for @c's session to @m. */
void hub_add_node_key(Client *c, TrMsg *m);

/* invite.c */
void hub_invites_setup(TrHub *hub); /* before the credentials are made */
gboolean hub_is_invite_identity(const char *identity);
void hub_invite_established(Client *c);       /* TLS up with an invite's PSK */
void hub_invite_join(Client *c, TrMsg *join); /* its JOIN: redeem and answer */

/* peer.c */
void hub_peers_start(TrHub *hub);
void hub_peers_free(TrHub *hub);
void hub_peer_established(Client *c);           /* outgoing: send our HELLO */
void hub_peer_hello(Client *c, TrMsg *hello);   /* incoming: a node's HELLO */
void hub_peer_config(Client *c, TrMsg *config); /* outgoing: the answer */
/* An outgoing node session was refused (ERROR, or the TLS handshake): a
 * refusal retrying cannot fix stops its connector, with the reason logged. */
void hub_peer_refused(Client *c, const GError *error);
void hub_peer_closed(Client *c);
