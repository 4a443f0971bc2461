/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The graph's records, shared by the files of common/graph/ only: nodes,
 * edges and claims, each a statement by one origin with that origin's
 * version number. A withdrawn statement stays as a tombstone (alive FALSE)
 * until it expires, so that an older copy arriving late is recognised.
 */
#include "common/graph/graph.h"

typedef struct TrGraphNode TrGraphNode;
typedef struct TrGraphEdge TrGraphEdge;
typedef struct TrGraphClaim TrGraphClaim;

struct TrGraphEdge {
	TrGraphNode *from, *to; /* from is the origin */
	guint64 seq;
	gint64 born; /* monotonic µs at which the statement's age was 0 */
	guint32 weight;
	guint32 options;
	TrGraphEndpoint address;
	gboolean alive;
};

struct TrGraphClaim {
	TrPrefix prefix;
	TrGraphNode *origin, *owner;
	guint64 seq, since;
	gint64 born;
	guint8 kind;
	gboolean alive;
	gboolean accepted;
	TrGraphClaim *beaten_by; /* why it is refused: the better claim, or NULL */
	TrGraphClaim *outside;   /* ... or the pool it intrudes on */
};

/*
 * A hub speaks for its clients (their addresses and subnets are its claims),
 * so the per-origin limits grow with the pool it announces: per address of
 * its pools (counted up to TR_GRAPH_POOL_COUNTED) TR_GRAPH_POOL_STATEMENTS
 * more statements (an IPv4 and an IPv6 address, or a subnet, or the
 * withdrawn claim of the client before), and 1/TR_GRAPH_POOL_RATE_DIV more
 * new versions a second (clients that come and go).
 */
#define TR_GRAPH_POOL_COUNTED    (1u << 18)
#define TR_GRAPH_POOL_STATEMENTS 2u
#define TR_GRAPH_POOL_RATE_DIV   64u

struct TrGraphNode {
	char *name;
	GPtrArray *edges;  /* TrGraphEdge *, from == this node: its statements */
	GPtrArray *claims; /* TrGraphClaim *, origin == this node */
	GPtrArray *owned;  /* TrGraphClaim * others made for it (NULL: none) */
	guint index;       /* in TrGraph.order */
	guint refs;        /* others' statements naming it (edges to it, claims for it) */
	guint64 bye_seq;   /* statements up to this version are void (BYE) */
	guint32 options;   /* TrGraphEdgeOptions from its newest edge */
	gint64 heard;      /* when a statement by or about it last changed here */
	double tokens;     /* rate of new versions (token bucket) */
	gint64 tokens_at;
	guint64 pool_addrs; /* addresses in its own alive pool claims, at most
	                     * TR_GRAPH_POOL_COUNTED: its limits grow with them */
	/* Shortest paths (paths.c) */
	TrGraphNode *nexthop, *via;
	TrGraphEdge *prevedge;
	guint64 distance;
	guint hops;
	gint heap;
	gboolean reachable;
	gboolean counted;  /* counted in TrGraph.unreachable */
	gboolean indirect; /* reached only through an indirect edge */
	gboolean visited;
	gint64 unreachable_since;
};

typedef struct {
	TrGraphNode *peer;
	TrGraphLinkFlags flags;
	TrGraphEndpoint address;
	guint32 weight;
	gboolean partial;    /* the peer is a leaf and gets a partial view */
	GHashTable *watched; /* partial: TrGraphNode * -> the nodes it is told about */
	GPtrArray *sample;   /* partial: the random part of them */
	gint64 view_turn_at; /* partial: when the random part changes */
} TrGraphLink;

struct TrGraph {
	TrGraphConfig config;
	char *self_name;
	TrGraphNode *self;
	guint64 seq;          /* our last version number */
	GHashTable *nodes;    /* name -> TrGraphNode * */
	GPtrArray *order;     /* the same nodes, for picking at random */
	GHashTable *edges;    /* TrGraphEdge * (by from, to) */
	GHashTable *claims;   /* TrGraphClaim * (by origin, owner, prefix) */
	GTree *by_prefix;     /* TrGraphClaim * ordered by address: overlap queries */
	GHashTable *pools;    /* claims that were made pools (a few, one per hub): rule 1 */
	GPtrArray *links;     /* TrGraphLink *, index = link id; [0] unused */
	gboolean paths_dirty; /* every path is computed anew */
	GHashTable *leaves;   /* ... or only these leaves' (their claims changed) */
	GHashTable *changed;  /* TrPrefix * (owned): tr_graph_take_changes() */
	gboolean changed_all; /* ... or everything may have changed */
	guint64 generation;   /* tr_graph_generation() */
	guint unreachable;    /* nodes known but not reachable (paths.c) */
	gint64 dirty_at;      /* when the first change since the last computation came */
	gint64 now;           /* the latest time a caller gave */
	gint64 next_refresh;
	gint64 next_expiry;
	GRand *rand;
	TrGraphStats stats;
	guint length_count[3][129]; /* claims per family (v4, v6, MAC) and length */
};

/* store.c */
void tr_graph_store_init(TrGraph *graph);
void tr_graph_store_clear(TrGraph *graph);
TrGraphNode *tr_graph_node_get(TrGraph *graph, const char *name, gboolean create);
void tr_graph_node_unref(TrGraph *graph, TrGraphNode *node);
TrGraphEdge *tr_graph_edge_find(TrGraph *graph, TrGraphNode *from, TrGraphNode *to);
TrGraphEdge *tr_graph_edge_add(TrGraph *graph, TrGraphNode *from, TrGraphNode *to);
void tr_graph_edge_remove(TrGraph *graph, TrGraphEdge *edge);
TrGraphClaim *tr_graph_claim_find(TrGraph *graph, TrGraphNode *origin, TrGraphNode *owner,
                                  const TrPrefix *prefix);
TrGraphClaim *tr_graph_claim_add(TrGraph *graph, TrGraphNode *origin, TrGraphNode *owner,
                                 const TrPrefix *prefix);
void tr_graph_claim_remove(TrGraph *graph, TrGraphClaim *claim);
/* Sets what @claim is (TrGraphClaimKind); the pools are also kept apart. */
void tr_graph_claim_set_kind(TrGraph *graph, TrGraphClaim *claim, guint8 kind);
/* Counts @node's pool addresses again (one of its pool claims came, changed or went). */
void tr_graph_node_count_pools(TrGraphNode *node);
/* The statements @origin may have, and its token bucket's rate and burst. */
guint64 tr_graph_origin_max(const TrGraph *graph, const TrGraphNode *origin);
double tr_graph_origin_rate(const TrGraph *graph, const TrGraphNode *origin);
double tr_graph_origin_burst(const TrGraph *graph, const TrGraphNode *origin);
/* Drops everything @node said; the node itself goes once nothing names it. */
void tr_graph_node_forget(TrGraph *graph, TrGraphNode *node);
guint32 tr_graph_age(gint64 born, gint64 now);

/* paths.c: shortest paths from self, reachability, next hops. They are
 * recomputed after a change before anything reads them; a node that became
 * unreachable counts as such from the change's time. */
void tr_graph_mark_dirty(TrGraph *graph);
/* Only @node's path may have changed: a leaf (no edges of its own) whose
 * claims did, or a node that came or goes. Its path is computed alone,
 * unless every path is due anyway. */
void tr_graph_mark_leaf_dirty(TrGraph *graph, TrGraphNode *node);
/* @node is about to be freed (nothing names it, it has no edges). */
void tr_graph_paths_node_gone(TrGraph *graph, TrGraphNode *node);
void tr_graph_paths_update(TrGraph *graph);
void tr_graph_paths_ensure(TrGraph *graph);
/* For tr_graph_take_changes(): what a route to @prefix reads may have changed. */
void tr_graph_note_change(TrGraph *graph, const TrPrefix *prefix);

/* claims.c: ownership. Recomputes who is accepted around @prefix. */
void tr_graph_claims_resolve(TrGraph *graph, const TrPrefix *prefix);
/* Why @claim is refused, for logs and status. */
char *tr_graph_claim_reason(const TrGraphClaim *claim);
gboolean tr_prefix_overlap(const TrPrefix *a, const TrPrefix *b);
gboolean tr_prefix_within(const TrPrefix *inner, const TrPrefix *outer);
/* Appends every claim (alive or not) whose prefix overlaps @prefix. */
void tr_graph_claims_overlapping(TrGraph *graph, const TrPrefix *prefix, GPtrArray *out);
/* Appends every claim (alive or not) of exactly @prefix. */
void tr_graph_claims_exact(TrGraph *graph, const TrPrefix *prefix, GPtrArray *out);

/* view.c: what a link is told. */
gboolean tr_graph_view_wants_edge(TrGraph *graph, TrGraphLink *link, const TrGraphEdge *edge);
gboolean tr_graph_view_wants_claim(TrGraph *graph, TrGraphLink *link, const TrGraphClaim *claim);
void tr_graph_view_start(TrGraph *graph, TrGraphLink *link, gint64 now);
void tr_graph_view_turn(TrGraph *graph, TrGraphLink *link, gint64 now);
void tr_graph_view_watch(TrGraph *graph, TrGraphLink *link, TrGraphNode *node);
void tr_graph_view_adjust(TrGraph *graph, TrGraphLink *link, gint64 now);

/* flood.c: sending statements. */
void tr_graph_send_edge(TrGraph *graph, guint link, const TrGraphEdge *edge, gint64 now);
void tr_graph_send_claim(TrGraph *graph, guint link, const TrGraphClaim *claim, gint64 now);
/* All @node said; @owned: also the claims others made for it. */
void tr_graph_send_node(TrGraph *graph, guint link, TrGraphNode *node, gboolean owned, gint64 now);
/* Announces (or withdraws) our edge to a link's peer to every link but @skip. */
void tr_graph_own_edge(TrGraph *graph, TrGraphLink *link, gboolean alive, guint skip, gint64 now);
void tr_graph_refresh_own(TrGraph *graph, gint64 now);
