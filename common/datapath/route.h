/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The routing table of router mode: prefixes (IPv4, IPv6 and MAC, as
 * TrPrefix) mapped to the peer that owns them, with longest-prefix match.
 *
 * The control plane keeps a TrRouteBuilder (subnets claimed by nodes with
 * --subnet, addresses the hub assigned) and builds an immutable TrRouteTable
 * from it whenever it changes; data-path threads read tables without locks
 * (publish them through common/base/rcu.h, usually inside a TrFwd snapshot).
 *
 * Layout: one open-addressing hash table per (family, prefix length) in use,
 * all in one allocation, at most half full; a lookup masks the address to
 * each length in use, longest first, and probes that length's table. Cost:
 * one hash probe per distinct prefix length of the family (typically a
 * handful: /32, /24, /128, /64, ...), no allocation, no pointer chasing.
 *
 * Conflicts: two peers claiming the same prefix (same family, length and
 * network after masking; overlapping prefixes of different lengths are not a
 * conflict, longest match decides) are resolved deterministically:
 *   1. an address assigned by the hub (TR_ROUTE_ASSIGNED) beats a claim,
 *      and a claim beats a route this node merely pushes (TR_ROUTE_FALLBACK);
 *   2. otherwise the earlier claim wins (first come, first served: a node
 *      that connects later cannot take a subnet over; a node that reconnects
 *      queues up again).
 * The losing claim is kept and takes over when the winner's claims are
 * removed. tr_route_builder_add() says who won so the caller can log it, and
 * tr_route_builder_foreach_conflict() lists every standing conflict.
 */
#include <glib.h>

#include "platform/addr-types.h"

#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Most claims one table holds (the builder refuses more: TR_ERROR_INVALID). */
#define TR_ROUTE_MAX (1u << 20)

/* Who wins a prefix claimed twice: the higher origin, then the earlier claim. */
typedef enum {
	TR_ROUTE_FALLBACK = 0, /* a route this node pushes: any node claiming it wins */
	TR_ROUTE_CLAIMED = 1,  /* a subnet a node claims (--subnet, certificate) */
	TR_ROUTE_ASSIGNED = 2, /* an address the hub assigned (a host route) */
} TrRouteOrigin;

typedef enum {
	TR_ROUTE_ADDED,      /* nobody else owns this prefix */
	TR_ROUTE_EXISTS,     /* this peer already had it: nothing changed */
	TR_ROUTE_SHADOWED,   /* another peer owns it and keeps it: this claim waits */
	TR_ROUTE_TAKES_OVER, /* another peer owned it; this claim wins (assigned over claimed) */
} TrRouteAdd;

typedef struct TrRouteBuilder TrRouteBuilder;
typedef struct TrRouteTable TrRouteTable;

TrRouteBuilder *tr_route_builder_new(void);
void tr_route_builder_free(TrRouteBuilder *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrRouteBuilder, tr_route_builder_free)

/*
 * Adds @prefix (host bits are masked off) for @peer. Fails (TR_ERROR_INVALID)
 * for an unknown family, a length beyond the family's, or TR_ROUTE_MAX claims.
 * @result (optional) says how it went; @other (optional) is the other peer for
 * TR_ROUTE_SHADOWED (the owner) and TR_ROUTE_TAKES_OVER (the previous owner).
 */
gboolean tr_route_builder_add(TrRouteBuilder *b, const TrPrefix *prefix, uint32_t peer,
                              TrRouteOrigin origin, TrRouteAdd *result, uint32_t *other,
                              GError **error);

/* Removes @peer's claim of @prefix; false when it had none. */
bool tr_route_builder_remove(TrRouteBuilder *b, const TrPrefix *prefix, uint32_t peer);

/* Removes every claim of @peer (it disconnected); returns how many. */
unsigned tr_route_builder_remove_peer(TrRouteBuilder *b, uint32_t peer);

/* Claims held, winners and losers. */
unsigned tr_route_builder_size(const TrRouteBuilder *b);

/* Called for every losing claim: @prefix is owned by @winner, also claimed by @loser. */
typedef void (*TrRouteConflictFunc)(const TrPrefix *prefix, uint32_t winner, uint32_t loser,
                                    void *user_data);
/* Lists the standing conflicts in a stable order (family, length, address); returns the count. */
unsigned tr_route_builder_foreach_conflict(const TrRouteBuilder *b, TrRouteConflictFunc func,
                                           void *user_data);

/* Builds the immutable table of the winning claims. One allocation. */
TrRouteTable *tr_route_table_build(const TrRouteBuilder *b);
void tr_route_table_free(TrRouteTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrRouteTable, tr_route_table_free)

/* Routes in the table (one per distinct prefix). */
unsigned tr_route_table_size(const TrRouteTable *t);

/*
 * Longest-prefix match of @addr (4, 16 or 6 bytes by @family): the owning
 * peer in *@peer and, when @plen is not NULL, the matched prefix length.
 * Lock-free, no allocation: the packet path calls it.
 */
bool tr_route_lookup(const TrRouteTable *t, TrAddrFamily family, const uint8_t *addr,
                     uint32_t *peer, unsigned *plen);

G_END_DECLS
