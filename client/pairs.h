/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * A client's pair sessions (docs/PROTOCOL.md, "Pair sessions"), as its
 * control plane keeps them: one entry per pair the hub started, its state,
 * the peer's tunnel addresses and claimed subnets (from PAIR_START: what the
 * hub enforces for that client), and when it last carried traffic. The
 * routing side: the prefixes of pairs that are up form a routing table
 * (common/datapath/route.h, the pair id as the peer) that the data plane
 * consults before the hub session; pairs still in their handshake route
 * nothing. The lifetime side: pairs idle for TR_CLIENT_PAIR_IDLE_USEC, and
 * handshakes not done within TR_CLIENT_PAIR_HANDSHAKE_USEC, are ended.
 *
 * The handshake itself (common/mesh/pair.h) and the path (common/mesh/path.h)
 * hang off each entry (TrClientPair.data), owned by the caller.
 */
#include "common/base/candidate.h"
#include "common/ctrl/msg.h"
#include "common/datapath/route.h"

#include <glib.h>

#include <stdint.h>

G_BEGIN_DECLS

#define TR_CLIENT_PAIR_IDLE_USEC      (G_GINT64_CONSTANT(300) * G_USEC_PER_SEC)
#define TR_CLIENT_PAIR_HANDSHAKE_USEC (G_GINT64_CONSTANT(10) * G_USEC_PER_SEC)
#define TR_CLIENT_PAIRS_MAX           256u

typedef enum {
	TR_CLIENT_PAIR_HANDSHAKE, /* PAIR_START seen, keys not yet agreed */
	TR_CLIENT_PAIR_UP,        /* established: its prefixes route to it */
} TrClientPairState;

typedef struct {
	uint32_t id;
	char *peer; /* the peer's identity, as the hub named it */
	uint8_t role;
	gboolean relay; /* the hub relays for this pair */
	TrClientPairState state;
	TrPrefix prefixes[TR_MAX_PREFIXES * 2];
	unsigned n_prefixes;
	TrRouteOrigin origins[TR_MAX_PREFIXES * 2];
	TrCandidateList candidates;
	GBytes *node_key; /* the peer's, as the hub knows it; NULL: none */
	gint64 started, last_active;
	gpointer data; /* the caller's: handshake, path, data-plane session */
} TrClientPair;

typedef struct _TrClientPairs TrClientPairs;

TrClientPairs *tr_client_pairs_new(void);
void tr_client_pairs_free(TrClientPairs *pairs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrClientPairs, tr_client_pairs_free)

/*
 * A PAIR_START from the hub. Checks it (pair id not 0 nor 0xffffffff and not
 * known yet, peer, role 0 or 1, relay; addresses must be host addresses, no
 * prefix may be a default route) and adds the pair in its handshake.
 * Returns it, or NULL with @error (TR_ERROR_PROTOCOL) saying what was wrong.
 */
TrClientPair *tr_client_pairs_start(TrClientPairs *pairs, const TrMsg *start, gint64 now,
                                    GError **error);

TrClientPair *tr_client_pairs_get(TrClientPairs *pairs, uint32_t id);

/* The handshake is done: the pair's prefixes route to it from now on. */
gboolean tr_client_pairs_up(TrClientPairs *pairs, uint32_t id, gint64 now);

/* A CANDIDATES from the hub for one of our pairs: the pair, or NULL with @error. */
TrClientPair *tr_client_pairs_candidates(TrClientPairs *pairs, const TrMsg *msg, GError **error);

/* The pair carried traffic (the data plane's counters moved). */
void tr_client_pairs_touch(TrClientPairs *pairs, uint32_t id, gint64 now);

/* Ends a pair (PAIR_END, a failed handshake). Its data is the caller's to
 * free first. FALSE if there was none. */
gboolean tr_client_pairs_end(TrClientPairs *pairs, uint32_t id);

/*
 * Pairs to end now: idle for TR_CLIENT_PAIR_IDLE_USEC, or in their handshake
 * for TR_CLIENT_PAIR_HANDSHAKE_USEC. Appends their ids to @ids (the caller
 * sends PAIR_END and calls tr_client_pairs_end()). Returns how many.
 */
guint tr_client_pairs_due(TrClientPairs *pairs, gint64 now, GArray *ids);

/* When tr_client_pairs_due() has something to report (G_MAXINT64: never). */
gint64 tr_client_pairs_next_due(TrClientPairs *pairs);

/* Whether the routing table changed since the last tr_client_pairs_build(). */
gboolean tr_client_pairs_changed(const TrClientPairs *pairs);

/* The routing table of the pairs that are up (to publish to the data plane). */
TrRouteTable *tr_client_pairs_build(TrClientPairs *pairs);

guint tr_client_pairs_count(const TrClientPairs *pairs);

/* Every pair, ordered by id (for `trellis status`). */
GPtrArray *tr_client_pairs_list(TrClientPairs *pairs);

G_END_DECLS
