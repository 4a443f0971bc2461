/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * What the hub's files share: the hub itself (hub.c: sockets, device,
 * lifetime, stats), admission of new connections (admission.c), the
 * forwarding tables (forward.c), negotiation (negotiate.c), and its
 * sessions (session.h).
 */
#include "common/auth/node-key.h"
#include "common/base/log.h"
#include "common/ctrl/handshake-pool.h"
#include "common/datapath/dataplane.h"
#include "common/datapath/fwd.h"
#include "common/datapath/route.h"
#include "common/datapath/switch.h"
#include "common/graph/graph.h"
#include "server/auth-password.h"
#include "server/hub.h"
#include "server/names.h"
#include "server/pairs.h"
#include "server/pool.h"
#include "server/session.h"

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
	GHashTable *sessions;    /* Session* set */
	GHashTable *by_identity; /* identity -> Session (active) */
	GHashTable *by_index;    /* rx index -> Session */
	/* Forwarding (forward.c): claims -> routing table -> snapshot. */
	TrRouteBuilder *routes;
	TrSwitch *sw;
	TrFwd *fwd;       /* the latest snapshot (the data plane owns it) */
	GPtrArray *by_id; /* session id -> Session (NULL: free) */
	GHashTable
	        *kernel_routes; /* "PREFIX" -> KernelRoute: claimed subnets routed to our device */
	GPtrArray *connectors;  /* Connector*: --connect (connector.c) */
	GHashTable
	        *contacts; /* node name -> Contact: nodes learnt through the graph (contacts.c) */
	guint contacts_look;
	gboolean contacts_full; /* said that the contacts' cap was reached */
	guint n_pending;
	GHashTable *pending_by_source; /* source -> pending handshakes (GUINT) */
	TrLogLimit admission_log;
	GQueue waiting;                /* accepted, waiting for a pending slot (admission.c) */
	GHashTable *waiting_by_source; /* source -> waiting connections (GUINT) */
	guint waiting_id;              /* starts waiting ones once slots are free */
	guint64 n_shed;                /* connections closed for want of room in the queue */
	TrHandshakePool *handshakes;   /* TLS handshakes on threads of their own (tr_hub_start) */
	TrLogLimit refusals;           /* refused or failed connections: a bounded log rate */
	gint64 crl_mtime;
	char *crl_error; /* set while the CRL cannot be loaded: no new sessions */
	gint64 crl_last_warning;
	char *invite_server_name; /* set when invites are on: our certificate's name */
	void (*changed)(gpointer);
	gpointer changed_data;
	TrPortmap *portmap; /* NAT port mapping of our port; NULL when off */
	TrHubPairs *pairs;  /* pair sessions it introduced (mesh.c); NULL with --no-mesh */
	GHashTable
	        *pair_backoff; /* "a\nb" -> MeshBackoff: pairs whose handshakes failed (mesh.c) */
	/* Pairs with a member behind another hub (mesh.c): id -> CrossPair, and the
	 * members' names -> id, so two members are introduced once. */
	GHashTable *cross_pairs, *cross_by_key;
	TrLogLimit pair_log;
	TrGraph *graph;          /* the network of hubs and nodes (graph.c) */
	GHashTable *graph_links; /* graph link id -> Session */
	Session *graph_linking;  /* while tr_graph_link_up() sends it everything */
	guint graph_timer;
	GHashTable *graph_routes; /* "PREFIX" -> LearntRoute: claims behind other hubs (graph.c) */
	guint64 graph_synced;     /* the graph's generation the learnt routes follow */
	gboolean graph_resync;    /* routes to look at anew, all of them (graph.c) */
	GHashTable
	        *graph_subnet_clients; /* Session *: clients whose subnets are claims (graph.c) */
	guint graph_sync;              /* the next sync, coalescing a burst of changes */
};

/* hub.c */
void hub_changed(TrHub *hub);          /* a session came or went */
const char *hub_crl_error(TrHub *hub); /* why the CRL cannot be loaded, or NULL */

/* hub-config.c: a deep copy of @src's strings. */
void hub_config_copy(TrHubConfig *dst, const TrHubConfig *src);

/* sockets.c */
/* The TCP listener on @host (NULL: every address) and @port (0: any), and
 * the UDP sockets on its address and port. */
gboolean hub_open_sockets(TrHub *hub, const char *host, guint16 port, GError **error);
void hub_accept_start(TrHub *hub);
void hub_close_sockets(TrHub *hub);
/* The device and the data plane's workers. */
gboolean hub_open_tunnel(TrHub *hub, GError **error);

/* admission.c */
/* Takes the accepted connection @fd from @source (taken): starts its handshake
 * now, or queues it until a pending slot is free, or sheds it (closes it, and
 * logs why) when its source or the queue is over its bound. */
void hub_admit(TrHub *hub, int fd, char *source, const char *remote);
/* Closes the connections still waiting (the hub stops). */
void hub_admission_free(TrHub *hub);
/* @s (from @source, taken) counts among the pending handshakes. */
void hub_pending_enter(Session *s, char *source);
void hub_pending_leave(Session *s); /* authenticated or gone: no longer pending */
/* "198.18.0.2", "2001:db8::/64": what the per-source cap counts by. */
char *hub_source_key(const struct sockaddr_storage *ss);

/* forward.c */
gboolean hub_forward_init(TrHub *hub, GError **error);
void hub_forward_free(TrHub *hub);
void hub_register(Session *s);   /* index, addresses and claims into the tables */
void hub_unregister(Session *s); /* out of every table (a client's lease goes) */
/* Whether @want (a claim of @s's) overlaps what anyone else owns: another
 * session's addresses and claims, the hub's pools, routes, subnets and
 * addresses. TRUE with the reason in *@why. */
gboolean hub_claim_conflict(TrHub *hub, Session *s, const TrPrefix *want, char **why);
/* A route learnt from the graph (graph.c): @prefix through @s, which is the
 * next hop toward its owner. FALSE: not routed (logged). The forwarding
 * snapshot follows at hub_routes_commit(). */
gboolean hub_route_learnt(Session *s, const TrPrefix *prefix, gboolean add);
/* The session the forwarding table routes @dst to (NULL: ours, or none). */
Session *hub_route_session(TrHub *hub, const TrPrefix *dst);
void hub_routes_commit(TrHub *hub);

/* mesh.c: pair sessions between clients (docs/PROTOCOL.md, "Pair sessions") */
void hub_mesh_init(TrHub *hub); /* with client-to-client traffic, unless --no-mesh */
void hub_mesh_free(TrHub *hub);
/* The data plane forwarded @s's traffic to the session of forwarding id @to (@dst: its
 * destination, when @to is a link to another hub). */
void hub_mesh_forwarded(Session *s, uint32_t to, const TrPrefix *dst);
/* PAIR_TLS, PAIR_END, CANDIDATES, RELAY from client @s: TRUE when handled. */
gboolean hub_mesh_message(Session *s, TrMsg *msg);
/* A relay frame from @from (TrDpConfig.relay): on, unchanged, to the other member. */
void hub_mesh_relay(const uint8_t *frame, size_t len, const struct sockaddr *from,
                    socklen_t from_len, gpointer hub);
/* @s's data moved to @path: its pairs' relay frames follow (UDP, or RELAY on its TLS). */
void hub_mesh_path_changed(Session *s, TrPath path);
/* @s's UDP endpoint moved: its pairs' relay follows, its peers get its new reflexive
 * candidate and it gets theirs (both probe at once). */
void hub_mesh_roamed(Session *s);
/* @s leaves: its pairs end, their other members are told. */
void hub_mesh_gone(Session *s);
/* "mesh": the pairs and the relay's counters (status). */
void hub_mesh_stats_json(TrHub *hub, GString *out, gboolean *first);

/* graph.c: the network graph over hub-hub links (docs/PROTOCOL.md, "The graph") */
gboolean hub_graph_init(TrHub *hub, GError **error); /* claims our pools */
void hub_graph_free(TrHub *hub);
void hub_graph_close(TrHub *hub);              /* BYE to every linked hub: we leave */
void hub_graph_schedule(TrHub *hub);           /* ticks now, then at the graph's next deadline */
void hub_graph_describe(TrHub *hub, TrMsg *m); /* our pools, into HELLO or CONFIG */
/* The pools @m states for hub @peer, against every pool we know: FALSE with
 * the reason (both sides log it; code 14). */
gboolean hub_graph_check_pools(Session *s, const char *peer, const TrMsg *m, char **why);
/* The pools of hub @s, checked: routed to it like subnets it claims. */
void hub_graph_take_pools(Session *s, const TrMsg *m);
/* Whether @addr lies in a pool @m states: a hub's own address in its slice,
 * which the pool check has cleared (pushed routes may cover other slices). */
gboolean hub_graph_in_pools(const TrMsg *m, const TrPrefix *addr);
void hub_graph_link_up(Session *s, const char *peer); /* an active hub or node session */
void hub_graph_link_down(Session *s);
void hub_graph_session_freed(Session *s);
/* A client's addresses and subnets, claimed in the graph for it (after its
 * lease); FALSE with @why when the network refuses a subnet (someone else's
 * behind another hub): nothing is left claimed. */
gboolean hub_graph_client_claims(Session *s, char **why);
void hub_graph_client_gone(Session *s); /* its claims withdrawn */
/* @s leaves the forwarding tables: the routes learnt through it go. */
void hub_graph_unregistered(Session *s);
gboolean hub_graph_message(Session *s, TrMsg *msg); /* a graph message: TRUE, handled */
/* "graph": the nodes we know (reachable, next hop) and the dot text. */
void hub_graph_stats_json(TrHub *hub, GString *out, gboolean *first);

/* negotiate.c */
TrLinkTiming hub_timing(TrHub *hub);
/* The hub's preference among what @hello offers; FALSE with the reason. */
gboolean hub_pick_cipher(TrHub *hub, const TrMsg *hello, TrCipher *out, char **why);
TrCompress hub_pick_compression(TrHub *hub, const TrMsg *hello);
/* A receiver index no session has. */
uint32_t hub_new_index(TrHub *hub);
void hub_fill_dc_config(TrHub *hub, TrDcConfig *dcc, TrCipher cipher, TrCompress comp,
                        uint32_t local_index, uint32_t peer_index);
