/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The meta graph of a network of many hubs and nodes (docs/PROTOCOL.md, "The
 * graph"; docs/MESH.md, "Many hubs"), after tinc's: every node tells its
 * neighbours about its edges (its connections) and its claims (prefixes it
 * owns); they flood what is new to them; each node computes shortest paths
 * from itself, the next hop toward every node and which nodes it can reach,
 * and forgets the unreachable ones.
 *
 * It does no I/O and reads no clock. A daemon feeds it messages and link
 * events with the time (monotonic microseconds) and gets messages out through
 * the send callback; everything it decides (refusals, nodes appearing and
 * disappearing) is logged and counted.
 */
#include <glib.h>
#include <stdint.h>

#include "platform/addr-types.h"
#include "common/graph/msg.h"

G_BEGIN_DECLS

typedef struct TrGraph TrGraph;

/* Sends one encoded frame (a control-channel message) on a link. */
typedef void (*TrGraphSendFunc)(guint link, const uint8_t *frame, size_t len, gpointer user);

typedef struct {
	const char *self;     /* this node's name (the identity rule) */
	gboolean relay;       /* forwards what it learns: a hub or a symmetric node */
	gboolean hub;         /* has a pool (announced in its edges' options) */
	guint64 seq_start;    /* first version number: the wall clock in µs at start, so
	                       * a restarted node's statements are newer than its old ones */
	guint32 seed;         /* for the random part of partial views */
	guint lifetime_s;     /* a statement not refreshed for this long is dropped (3600) */
	guint refresh_s;      /* own statements are re-sent this often (1800) */
	guint forget_s;       /* unreachable nodes are forgotten after this (60) */
	guint full_view_max;  /* beyond this many nodes, leaves get partial views (100) */
	guint view_size;      /* random nodes in a partial view (20) */
	guint view_refresh_s; /* a partial view's random part changes this often (300) */
	guint max_nodes;      /* nodes known at most (100000) */
	guint max_per_origin; /* statements one origin may have at most (16384; more with a pool:
	                         store.h) */
	guint origin_rate;    /* new versions accepted per origin and second (20) ... */
	guint origin_burst;   /* ... with this burst (16384: a whole origin's statements) */
	TrGraphSendFunc send;
	gpointer user;
} TrGraphConfig;

/* Fills the defaults above into every zero field. */
void tr_graph_config_defaults(TrGraphConfig *config);

TrGraph *tr_graph_new(const TrGraphConfig *config, GError **error);
void tr_graph_free(TrGraph *graph);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrGraph, tr_graph_free)

typedef enum {
	/* The peer relays (hub, symmetric node): it may pass on others' statements. */
	TR_GRAPH_LINK_RELAY = 1 << 0,
	/* The peer is not directly reachable at @address by others (behind NAT). */
	TR_GRAPH_LINK_INDIRECT = 1 << 1,
} TrGraphLinkFlags;

/*
 * A control connection to @peer is up (authenticated; for hubs, the pool
 * check passed): originates the edge self -> peer and sends the peer what
 * this node knows (all of it, or a partial view for a leaf in a large
 * network). Returns the link's id for the calls below, or 0 with @error set
 * (a peer already linked, a bad name).
 */
guint tr_graph_link_up(TrGraph *graph, const char *peer, TrGraphLinkFlags flags,
                       const TrGraphEndpoint *address, guint32 weight_us, gint64 now,
                       GError **error);

/* The connection is gone: the edge self -> peer is withdrawn. */
void tr_graph_link_down(TrGraph *graph, guint link, gint64 now);

/* A new RTT measurement: re-announces the edge when the weight changed by a
 * quarter or more (small jitter does not flood the network). */
void tr_graph_link_weight(TrGraph *graph, guint link, guint32 weight_us, gint64 now);

/*
 * One graph frame arrived on @link. FALSE with a TR_ERROR_PROTOCOL error for
 * a malformed message or a leaf passing on others' statements: the caller
 * closes the connection with it. Refused statements (ownership, limits) are
 * not errors: they are logged and counted.
 */
gboolean tr_graph_receive(TrGraph *graph, guint link, const uint8_t *frame, size_t len, gint64 now,
                          GError **error);

/* Claims @prefix for @owner (NULL: this node; else a client this hub gave an
 * address to, from its pool) and floods it. */
gboolean tr_graph_claim(TrGraph *graph, const char *owner, const TrPrefix *prefix,
                        TrGraphClaimKind kind, gint64 now, GError **error);
void tr_graph_unclaim(TrGraph *graph, const char *owner, const TrPrefix *prefix, gint64 now);

/*
 * The pool check when a hub links to another hub, before tr_graph_link_up():
 * whether @prefix, the pool of hub @peer, overlaps a pool this node knows of
 * another hub (its own included). On a collision, FALSE with a
 * TR_ERROR_CONFIG error whose message is the reason both sides log and the
 * refusing side sends (docs/PROTOCOL.md, "Pool slices").
 */
gboolean tr_graph_check_pool(TrGraph *graph, const char *peer, const TrPrefix *prefix,
                             GError **error);

/* Timers: refreshes own statements, expires old ones, forgets unreachable
 * nodes, turns partial views. Returns when to call again (monotonic µs). */
gint64 tr_graph_tick(TrGraph *graph, gint64 now);

/* Shutdown: BYE to every link (the closing message). */
void tr_graph_close(TrGraph *graph, gint64 now);

/* A leaf asks its hub about a node or the owner of an address (WANT). */
void tr_graph_want(TrGraph *graph, guint link, const char *name, const TrPrefix *address);

/* What this node knows about another. */
typedef struct {
	gboolean known;
	gboolean reachable;
	gboolean relay, hub;
	char nexthop[TR_GRAPH_NAME_MAX + 1]; /* the neighbour to send through */
	char via[TR_GRAPH_NAME_MAX + 1];     /* the last node reachable directly */
	guint64 distance;                    /* sum of weights, µs */
	guint hops;
	TrGraphEndpoint address; /* where the path's last edge says it is */
} TrGraphNodeInfo;

gboolean tr_graph_node_info(TrGraph *graph, const char *name, TrGraphNodeInfo *info);

/* The owner of the accepted claim that best matches @addr (longest prefix),
 * or NULL. */
const char *tr_graph_route(TrGraph *graph, TrAddrFamily family, const uint8_t *addr);

/* Whether @owner's claim of @prefix (made by @origin, NULL: the owner) is
 * known and accepted; @reason gets why not (owned by whom since when). */
gboolean tr_graph_claim_accepted(TrGraph *graph, const char *origin, const char *owner,
                                 const TrPrefix *prefix, char **reason);

typedef struct {
	guint nodes, reachable, edges, claims, refused_claims, links;
	guint64 msgs_in, msgs_out, bytes_in, bytes_out;
	guint64 duplicates;   /* versions already known: not applied, not passed on */
	guint64 dropped;      /* over a limit: rate, nodes, statements per origin */
	guint64 corrections;  /* statements about ourself we had to contradict */
	guint64 path_updates; /* shortest-path computations */
} TrGraphStats;

void tr_graph_stats(TrGraph *graph, TrGraphStats *stats);

/*
 * Bumped by every change that may move a route: an edge or a node coming or
 * going, a claim made, withdrawn or decided anew. A daemon that mirrors the
 * graph into its forwarding tables compares it with the value it last saw.
 */
guint64 tr_graph_generation(TrGraph *graph);

/* One standing claim: alive and accepted. */
typedef struct {
	const char *origin; /* who made it: the owner, or the hub that speaks for it */
	const char *owner;
	TrPrefix prefix;
	TrGraphClaimKind kind;
} TrGraphClaimInfo;

typedef void (*TrGraphClaimFunc)(const TrGraphClaimInfo *claim, gpointer user);
/* Calls @fn for each standing claim (refused and withdrawn ones are not). */
void tr_graph_foreach_claim(TrGraph *graph, TrGraphClaimFunc fn, gpointer user);

/* Calls @fn for each standing claim of exactly @prefix. */
void tr_graph_foreach_claim_of(TrGraph *graph, const TrPrefix *prefix, TrGraphClaimFunc fn,
                               gpointer user);

/*
 * For a daemon that mirrors the standing claims into routes, so that a sync
 * costs what changed, not every claim: calls @fn with each prefix whose
 * claims were decided anew, or whose owner's reachability or next hop
 * moved, since the last call, and forgets them. Returns FALSE (and calls
 * nothing) when every path was computed anew in between (an edge came or
 * went) or too much changed to keep count: then anything may have moved and
 * the daemon goes through every claim (tr_graph_foreach_claim). The first
 * call returns FALSE.
 */
typedef void (*TrGraphPrefixFunc)(const TrPrefix *prefix, gpointer user);
gboolean tr_graph_take_changes(TrGraph *graph, TrGraphPrefixFunc fn, gpointer user);

/* The graph in Graphviz dot, as `trellis graph` prints it. */
char *tr_graph_to_dot(TrGraph *graph);

/* Calls @fn for each known node, by name. */
typedef void (*TrGraphNodeFunc)(const char *name, const TrGraphNodeInfo *info, gpointer user);
void tr_graph_foreach_node(TrGraph *graph, TrGraphNodeFunc fn, gpointer user);

G_END_DECLS
