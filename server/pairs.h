/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The pair sessions a hub introduced (docs/PROTOCOL.md, "Pair sessions"):
 * which two of its clients each pair id joins, how much of their handshake
 * it has carried, and the relay of their sealed datagrams. The hub never
 * holds a pair's keys: it forwards PAIR_TLS bytes and relay frames unchanged.
 *
 * Members are the hub's client sessions, as opaque pointers. A member's UDP
 * endpoint is the endpoint of its authenticated hub session (set by the hub
 * whenever it moves); a relay frame over UDP is taken only from the
 * endpoint of one of the pair's two members and goes, unchanged, to the
 * other's endpoint, or over its TLS connection when it has none. No
 * locking: one thread (the main loop, or one worker per pair id) uses it.
 */
#include "common/datapath/magic.h"

#include <glib.h>

#include <stdint.h>
#include "platform/net.h"

G_BEGIN_DECLS

#define TR_HUB_PAIRS_PER_MEMBER 64u
/* PAIR_TLS bytes: a handshake fits in the bucket; afterwards (rekeying,
 * closing) a pair's TLS stream is a trickle. */
#define TR_HUB_PAIR_TLS_BUCKET (64u * 1024u)
#define TR_HUB_PAIR_TLS_RATE   1024u /* bytes a second */

typedef struct {
	gboolean relay;   /* relay frames at all (PAIR_START says so to the clients) */
	guint64 rate;     /* relayed bytes a second per pair, both ways together; 0: no limit */
	guint64 burst;    /* bytes the pair may send at once; 0: rate / 4, at least 64 KiB */
	guint per_member; /* pairs one client may be in; 0: TR_HUB_PAIRS_PER_MEMBER */
} TrHubPairsLimits;

typedef struct {
	gpointer member;              /* where the frame goes */
	struct sockaddr_storage addr; /* its UDP endpoint */
	socklen_t addr_len;           /* 0: it has none; send a RELAY message on its TLS */
} TrHubRelayDest;

typedef struct {
	guint64 relayed, relayed_bytes;
	guint64 malformed; /* tr_relay_parse() refused it */
	guint64 unknown;   /* no such pair */
	guint64 stranger;  /* not from a member of the pair */
	guint64 limited;   /* over the pair's rate */
	guint64 disabled;  /* the hub relays nothing */
} TrHubPairsCounters;

typedef struct _TrHubPairs TrHubPairs;

TrHubPairs *tr_hub_pairs_new(const TrMagic *magic, const TrHubPairsLimits *limits);
void tr_hub_pairs_free(TrHubPairs *pairs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrHubPairs, tr_hub_pairs_free)

/*
 * The pair of @a and @b (in either order): an existing one (*@is_new FALSE),
 * or a new one with a fresh random id, in which @a is the TLS client (the
 * sender of the packet that started it, or the client that asked). 0 with @error when either member
 * is in too many pairs already, or @a is @b.
 */
uint32_t tr_hub_pairs_open(TrHubPairs *pairs, gpointer a, gpointer b, gint64 now, gboolean *is_new,
                           GError **error);

/*
 * Pair @id (0: a fresh random id) of @a and @b, which may be links to other hubs
 * (docs/PROTOCOL.md, "Pairs across hubs"): the id is the introducing hub's, kept on
 * every hop. No search for an existing pair of the two (many pairs share a link);
 * with @limit_a, @a (a client) may be in no more than the per-member limit. Returns
 * the id, or 0 with @error: the id is taken here, @a is over its limit, @a is @b.
 */
uint32_t tr_hub_pairs_join(TrHubPairs *pairs, uint32_t id, gpointer a, gpointer b, gboolean limit_a,
                           gint64 now, GError **error);

/* The other member of pair @id, or NULL unless @member is in it. */
gpointer tr_hub_pairs_other(TrHubPairs *pairs, uint32_t id, gpointer member);

/*
 * @member sent @len bytes of PAIR_TLS for pair @id: FALSE with @error when
 * it is not in the pair or the pair's TLS bucket is empty (a handshake
 * larger than TR_HUB_PAIR_TLS_BUCKET, or a stream that never stops): the
 * hub then ends the pair.
 */
gboolean tr_hub_pairs_tls(TrHubPairs *pairs, uint32_t id, gpointer member, size_t len, gint64 now,
                          GError **error);

/* Ends pair @id (PAIR_END from a member). FALSE if there was none. */
gboolean tr_hub_pairs_close(TrHubPairs *pairs, uint32_t id);

/* The pairs @member is in: their ids to @ids, the other members to @others. */
void tr_hub_pairs_of(TrHubPairs *pairs, gpointer member, GArray *ids, GPtrArray *others);

/*
 * @member left: ends every pair it was in. Appends, for each, the pair id to
 * @ids and the other member to @others (either may be NULL), so the hub can
 * send them PAIR_END.
 */
void tr_hub_pairs_member_gone(TrHubPairs *pairs, gpointer member, GArray *ids, GPtrArray *others);

/* @member's UDP endpoint (NULL: none, it is on the TLS fallback). */
void tr_hub_pairs_set_endpoint(TrHubPairs *pairs, gpointer member, const struct sockaddr *addr,
                               socklen_t len);

/*
 * Where a relay frame goes. Over UDP pass the source address @from (and
 * NULL @from_member); over TLS pass the member whose connection carried it
 * (and NULL @from). Returns 0 with *@dest filled, or a negative errno:
 * what tr_relay_parse() refuses, -ESRCH (no such pair), -EPERM (not from a
 * member of the pair), -ENOBUFS (over the pair's rate), -EACCES (the hub
 * relays nothing). Each refusal is counted.
 */
int tr_hub_pairs_relay(TrHubPairs *pairs, const uint8_t *frame, size_t len,
                       const struct sockaddr *from, gpointer from_member, gint64 now,
                       TrHubRelayDest *dest);

guint tr_hub_pairs_count(const TrHubPairs *pairs);
void tr_hub_pairs_counters(const TrHubPairs *pairs, TrHubPairsCounters *out);

/*
 * Pairs across hubs on one hub link (docs/PROTOCOL.md, "Pairs across hubs"): a hub
 * starts or passes on a PAIR_START with a target (and so the pair's other messages)
 * only on a link whose peer announced TR_FEATURE_PAIRS_ACROSS in its HELLO or CONFIG;
 * a hub built before pairs across hubs drops the link on such a message. When the next
 * hop takes none, no pair is introduced (the clients' traffic goes on hop by hop
 * through the hubs) and that is logged once for the link, not per packet.
 */
typedef struct {
	gboolean takes; /* its peer announced TR_FEATURE_PAIRS_ACROSS */
	gboolean told;  /* that it takes none was logged */
} TrHubLinkPairs;

/* The bit a hub announces on its hub links: with pairs (not --no-mesh), unless @masked
 * (tests: TRELLIS_TEST_NO_PAIRS_ACROSS, docs/TESTING.md). */
uint32_t tr_hub_link_pairs_feature(gboolean pairs, gboolean masked);
/* From the features of the peer's HELLO or CONFIG (0 when it stated none). */
void tr_hub_link_pairs_init(TrHubLinkPairs *lp, uint32_t features);
/* Whether a pair may be started or passed on over the link. FALSE with *@tell TRUE the
 * first time only: the caller logs it then. */
gboolean tr_hub_link_pairs_may(TrHubLinkPairs *lp, gboolean *tell);

G_END_DECLS
