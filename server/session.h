/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * One session on the hub: a TLS control connection, what every kind of
 * session has (its identity, its place in the forwarding tables) and its
 * lifetime (session.c). What it is comes with its first exchange, and each
 * kind keeps its own state and state machine in a file of its own:
 *
 *   client-session.c  a trellis-client: HELLO, password, settings, CONFIG
 *   node.c            another node of a symmetric network (--connect)
 *   invite.c          a machine redeeming an invite (trellis join): JOIN
 */
#include "common/base/addr.h"
#include "common/base/candidate.h"
#include "common/ctrl/msg.h"
#include "common/datapath/cipher.h"
#include "common/datapath/compress.h"
#include "common/link/link.h"

#define HUB_MAX_ADDRS   8
#define HUB_MAX_SUBNETS 16

typedef struct _TrHub TrHub;
typedef struct _Session Session;

typedef enum {
	SESSION_HANDSHAKE, /* TLS running */
	SESSION_HELLO,     /* authenticated: waiting for the first message (HELLO, CONFIG, JOIN) */
	SESSION_AUTH,      /* a client's password check is running in a thread */
	SESSION_ACTIVE,    /* configured, data flows */
	SESSION_GONE,      /* closing */
} SessionState;

/* What a kind of session does; a NULL function does nothing. */
typedef struct {
	const char *noun; /* "client", "node", "invite": logs and the status */
	/* Its name in logs (default: the identity). */
	const char *(*name)(Session *s);
	/* TLS is up and the peer verified; the kind was known before (outgoing). */
	void (*established)(Session *s);
	/* Any message but CLOSE and ERROR. */
	void (*message)(Session *s, TrMsg *msg);
	/* The other side refused us: its ERROR, or a failed TLS handshake.
	 * TRUE: said so in the log. */
	gboolean (*refused)(Session *s, const GError *error);
	/* Out of the forwarding tables for good (a client's lease goes). */
	void (*unregistered)(Session *s);
	/* The session is over. */
	void (*gone)(Session *s);
	void (*free)(gpointer data);
} SessionKind;

struct _Session {
	TrHub *hub;
	TrLink *link;
	SessionState state;
	const SessionKind *kind; /* NULL until its first exchange tells */
	gpointer data;           /* the kind's own: ClientSession, NodeSession... */
	gboolean refused;        /* we refused it (and logged why) */
	char *remote;            /* "198.18.0.2:40000" */

	/* Admission of incoming connections (admission.c). */
	char *source;     /* "198.18.0.2" or "2001:db8::/64" */
	gboolean pending; /* counted among the pending handshakes */
	gint64 admitted_at;

	char *identity;      /* certificate name or psk:NAME (+ "/user"); nodes: "node:NAME" */
	char *cert_identity; /* what TLS authenticated */
	char *graph_name;    /* a client's node name in the graph, while it has claims (graph.c) */
	guint hello_timer;

	/* Its place in the forwarding tables (forward.c). */
	uint32_t rx_index;
	uint32_t id; /* small forwarding id, 0 = none yet */
	/* Claimed; room for HUB_MAX_SUBNETS made at the first (hub_session_next_subnet):
	 * most clients claim none. */
	TrPrefix *subnets;
	guint n_subnets;
	TrPrefix addrs[HUB_MAX_ADDRS]; /* every tunnel address routed to this session */
	guint n_addrs;
	gboolean routed;      /* its subnets hold kernel routes on the hub's device */
	gboolean mesh;        /* a client that takes part in pair sessions (TR_FEATURE_PAIRS) */
	gboolean no_direct;   /* ... only relayed (TR_FEATURE_NO_DIRECT) */
	guint graph_link;     /* its link in the hub's graph (graph.c), 0: none */
	guint32 graph_weight; /* the round trip last given to the graph, µs */
	guint16 node_port;    /* a node's listening port, as it states (its graph edge's) */
	TrCandidateList *candidates; /* its own (CANDIDATES): host and mapped; NULL before */
};

/* A session over the connected socket @fd, in the hub's table. */
Session *hub_session_new(TrHub *hub, int fd, const char *remote, TrTlsCreds *creds,
                         gboolean tls_server, GError **error);
void hub_session_free(gpointer session);
/* Where @s's next claimed subnet goes (s->subnets[s->n_subnets]; the caller
 * counts it and keeps n_subnets below HUB_MAX_SUBNETS). */
TrPrefix *hub_session_next_subnet(Session *s);
/* Makes @s a session of @kind with its @data (freed by kind->free). */
void hub_session_set_kind(Session *s, const SessionKind *kind, gpointer data);
/* "client c1", "node alpha": for logs. */
const char *hub_session_name(Session *s);
/* Refuses @s: logs @log_reason (rate-limited), tells the other side
 * @client_reason (or @log_reason), closes. */
void hub_session_refuse(Session *s, TrRefusal code, const char *log_reason,
                        const char *client_reason);
/* Its data channel on the hub's data plane, now (@endpoint NULL: learnt
 * from the first authenticated datagram; @csum_partial: both announced
 * TR_FEATURE_CSUM_PARTIAL). Refuses @s when it cannot. */
gboolean hub_session_activate(Session *s, TrCipher cipher, TrCompress comp, uint32_t peer_index,
                              gboolean csum_partial, const struct sockaddr *endpoint,
                              socklen_t endpoint_len);
/* Binds @bind_as to the node key @m proves, or refuses @s (closed) when the
 * name is bound to another key. */
gboolean hub_session_check_node_key(Session *s, const char *bind_as, const TrMsg *m);
/* Adds this node's key and its proof for @s's session to @m. */
void hub_session_add_node_key(Session *s, TrMsg *m);
/* Refuses a message @s does not expect now. */
void hub_session_unexpected(Session *s, const TrMsg *msg);
/* The session @s replaces (same identity) goes. */
void hub_session_replace(Session *old);

/* client-session.c: a client's HELLO makes @s a client session. */
void hub_client_hello(Session *s, TrMsg *hello);

/* invite.c */
void hub_invites_setup(TrHub *hub); /* before the credentials are made */
gboolean hub_is_invite_identity(const char *identity);
/* TLS up with an invite's PSK: @s may redeem it (JOIN) and nothing else. */
void hub_invite_start(Session *s);
