/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "server/pairs.h"

#include "common/base/error.h"
#include "common/ctrl/msg.h"
#include "common/mesh/relay.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include "platform/net.h"
#include <string.h>

typedef struct {
	uint32_t id;
	gpointer member[2];
	double relay_tokens; /* bytes */
	gint64 relay_at;
	double tls_tokens;
	gint64 tls_at;
} Pair;

typedef struct {
	struct sockaddr_storage addr;
	socklen_t len;
	GPtrArray *pairs; /* Pair *, not owned */
} Member;

struct _TrHubPairs {
	TrMagic magic;
	TrHubPairsLimits limits;
	GHashTable *by_id;   /* uint32 id -> Pair * (owned) */
	GHashTable *members; /* member -> Member * (owned) */
	TrHubPairsCounters counters;
};

static void
member_free(gpointer data)
{
	Member *m = data;

	g_ptr_array_unref(m->pairs);
	g_free(m);
}

TrHubPairs *
tr_hub_pairs_new(const TrMagic *magic, const TrHubPairsLimits *limits)
{
	TrHubPairs *pairs = g_new0(TrHubPairs, 1);

	pairs->magic = *magic;
	pairs->limits = *limits;
	if (pairs->limits.burst == 0)
		pairs->limits.burst = MAX(pairs->limits.rate / 4, 64 * 1024);
	if (pairs->limits.per_member == 0)
		pairs->limits.per_member = TR_HUB_PAIRS_PER_MEMBER;
	pairs->by_id = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	pairs->members = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, member_free);
	return pairs;
}

void
tr_hub_pairs_free(TrHubPairs *pairs)
{
	if (pairs == NULL)
		return;
	g_hash_table_unref(pairs->by_id);
	g_hash_table_unref(pairs->members);
	g_free(pairs);
}

static Member *
member_get(TrHubPairs *pairs, gpointer member, gboolean create)
{
	Member *m = g_hash_table_lookup(pairs->members, member);

	if (m == NULL && create) {
		m = g_new0(Member, 1);
		m->pairs = g_ptr_array_new();
		g_hash_table_insert(pairs->members, member, m);
	}
	return m;
}

static Pair *
find_pair(TrHubPairs *pairs, gpointer a, gpointer b)
{
	Member *m = member_get(pairs, a, FALSE);

	for (guint i = 0; m && i < m->pairs->len; i++) {
		Pair *p = m->pairs->pdata[i];

		if (p->member[0] == b || p->member[1] == b)
			return p;
	}
	return NULL;
}

static uint32_t
new_id(TrHubPairs *pairs)
{
	uint32_t id = 0;

	/* Random, so an id says nothing about other pairs; never 0 nor all ones. */
	while (id == 0 || id == UINT32_MAX ||
	       g_hash_table_contains(pairs->by_id, GUINT_TO_POINTER(id))) {
		if (gnutls_rnd(GNUTLS_RND_NONCE, &id, sizeof(id)) < 0)
			id = g_random_int();
	}
	return id;
}

static Pair *
lookup(TrHubPairs *pairs, uint32_t id)
{
	return g_hash_table_lookup(pairs->by_id, GUINT_TO_POINTER(id));
}

static gboolean
over_limit(TrHubPairs *pairs, Member *m)
{
	return m->pairs->len >= pairs->limits.per_member;
}

static Pair *
add_pair(TrHubPairs *pairs, uint32_t id, gpointer a, gpointer b, gint64 now)
{
	Pair *p = g_new0(Pair, 1);

	p->id = id;
	p->member[0] = a;
	p->member[1] = b;
	p->relay_tokens = (double)pairs->limits.burst;
	p->relay_at = now;
	p->tls_tokens = TR_HUB_PAIR_TLS_BUCKET;
	p->tls_at = now;
	g_hash_table_insert(pairs->by_id, GUINT_TO_POINTER(p->id), p);
	g_ptr_array_add(member_get(pairs, a, TRUE)->pairs, p);
	g_ptr_array_add(member_get(pairs, b, TRUE)->pairs, p);
	return p;
}

uint32_t
tr_hub_pairs_open(TrHubPairs *pairs, gpointer a, gpointer b, gint64 now, gboolean *is_new,
                  GError **error)
{
	Member *ma, *mb;
	Pair *p;

	*is_new = FALSE;
	if (a == b || a == NULL || b == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "a pair needs two different clients");
		return 0;
	}
	p = find_pair(pairs, a, b);
	if (p != NULL)
		return p->id;
	ma = member_get(pairs, a, TRUE);
	mb = member_get(pairs, b, TRUE);
	if (over_limit(pairs, ma) || over_limit(pairs, mb)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "%s client is in %u pair sessions already, the most one may have",
		            over_limit(pairs, ma) ? "the asking" : "the other",
		            pairs->limits.per_member);
		return 0;
	}
	p = add_pair(pairs, new_id(pairs), a, b, now);
	*is_new = TRUE;
	return p->id;
}

uint32_t
tr_hub_pairs_join(TrHubPairs *pairs, uint32_t id, gpointer a, gpointer b, gboolean limit_a,
                  gint64 now, GError **error)
{
	Member *ma;

	if (a == b || a == NULL || b == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "a pair needs two different members");
		return 0;
	}
	if (id == 0)
		id = new_id(pairs);
	else if (id == UINT32_MAX || lookup(pairs, id) != NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "pair id %08x is taken here already (or not a pair id)", id);
		return 0;
	}
	ma = member_get(pairs, a, FALSE);
	if (limit_a && ma != NULL && over_limit(pairs, ma)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "the client is in %u pair sessions already, the most one may have",
		            pairs->limits.per_member);
		return 0;
	}
	return add_pair(pairs, id, a, b, now)->id;
}

gpointer
tr_hub_pairs_other(TrHubPairs *pairs, uint32_t id, gpointer member)
{
	Pair *p = lookup(pairs, id);

	if (p == NULL || member == NULL)
		return NULL;
	if (p->member[0] == member)
		return p->member[1];
	if (p->member[1] == member)
		return p->member[0];
	return NULL;
}

/* A token bucket: @tokens refill at @rate a second up to @cap. */
static gboolean
take(double *tokens, gint64 *at, double rate, double cap, size_t len, gint64 now)
{
	if (now > *at) {
		*tokens = MIN(cap, *tokens + rate * (double)(now - *at) / G_USEC_PER_SEC);
		*at = now;
	}
	if (*tokens < (double)len)
		return FALSE;
	*tokens -= (double)len;
	return TRUE;
}

gboolean
tr_hub_pairs_tls(TrHubPairs *pairs, uint32_t id, gpointer member, size_t len, gint64 now,
                 GError **error)
{
	Pair *p = lookup(pairs, id);

	if (tr_hub_pairs_other(pairs, id, member) == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "PAIR_TLS for pair %08x, which this client is not in", id);
		return FALSE;
	}
	if (!take(&p->tls_tokens, &p->tls_at, TR_HUB_PAIR_TLS_RATE, TR_HUB_PAIR_TLS_BUCKET, len,
	          now)) {
		g_set_error(
		        error, TR_ERROR, TR_ERROR_PROTOCOL,
		        "pair %08x sent more TLS bytes than a handshake takes (%u at once, then "
		        "%u a second)",
		        id, TR_HUB_PAIR_TLS_BUCKET, TR_HUB_PAIR_TLS_RATE);
		return FALSE;
	}
	return TRUE;
}

static void
unlink_pair(TrHubPairs *pairs, Pair *p)
{
	for (unsigned i = 0; i < 2; i++) {
		Member *m = member_get(pairs, p->member[i], FALSE);

		if (m != NULL) {
			g_ptr_array_remove_fast(m->pairs, p);
			if (m->pairs->len == 0 && m->len == 0)
				g_hash_table_remove(pairs->members, p->member[i]);
		}
	}
	g_hash_table_remove(pairs->by_id, GUINT_TO_POINTER(p->id));
}

gboolean
tr_hub_pairs_close(TrHubPairs *pairs, uint32_t id)
{
	Pair *p = lookup(pairs, id);

	if (p == NULL)
		return FALSE;
	unlink_pair(pairs, p);
	return TRUE;
}

void
tr_hub_pairs_of(TrHubPairs *pairs, gpointer member, GArray *ids, GPtrArray *others)
{
	Member *m = member_get(pairs, member, FALSE);

	for (guint i = 0; m != NULL && i < m->pairs->len; i++) {
		Pair *p = m->pairs->pdata[i];

		g_array_append_val(ids, p->id);
		g_ptr_array_add(others, p->member[0] == member ? p->member[1] : p->member[0]);
	}
}

void
tr_hub_pairs_member_gone(TrHubPairs *pairs, gpointer member, GArray *ids, GPtrArray *others)
{
	Member *m = member_get(pairs, member, FALSE);

	while (m != NULL && m->pairs->len > 0) {
		Pair *p = m->pairs->pdata[m->pairs->len - 1];
		uint32_t id = p->id;
		gpointer other = p->member[0] == member ? p->member[1] : p->member[0];

		if (ids)
			g_array_append_val(ids, id);
		if (others)
			g_ptr_array_add(others, other);
		g_ptr_array_remove_fast(m->pairs, p);
		{
			Member *o = member_get(pairs, other, FALSE);

			if (o != NULL) {
				g_ptr_array_remove_fast(o->pairs, p);
				if (o->pairs->len == 0 && o->len == 0)
					g_hash_table_remove(pairs->members, other);
			}
		}
		g_hash_table_remove(pairs->by_id, GUINT_TO_POINTER(id));
	}
	g_hash_table_remove(pairs->members, member);
}

void
tr_hub_pairs_set_endpoint(TrHubPairs *pairs, gpointer member, const struct sockaddr *addr,
                          socklen_t len)
{
	Member *m = member_get(pairs, member, addr != NULL);

	if (m == NULL)
		return;
	if (addr == NULL || len == 0 || (size_t)len > sizeof(m->addr)) {
		m->len = 0;
		if (m->pairs->len == 0)
			g_hash_table_remove(pairs->members, member);
		return;
	}
	memset(&m->addr, 0, sizeof(m->addr));
	memcpy(&m->addr, addr, len);
	m->len = len;
}

/* Address and port equal (IPv4 and IPv6; an IPv4-mapped source equals its IPv4 form). */
static gboolean
same_endpoint(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	uint8_t aa[16], ba[16];
	in_port_t ap, bp;
	unsigned al, bl;

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;
		memcpy(aa, &in->sin_addr, 4), al = 4, ap = in->sin_port;
	} else if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			memcpy(aa, in6->sin6_addr.s6_addr + 12, 4), al = 4;
		else
			memcpy(aa, &in6->sin6_addr, 16), al = 16;
		ap = in6->sin6_port;
	} else {
		return FALSE;
	}
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)b;
		memcpy(ba, &in->sin_addr, 4), bl = 4, bp = in->sin_port;
	} else if (b->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)b;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			memcpy(ba, in6->sin6_addr.s6_addr + 12, 4), bl = 4;
		else
			memcpy(ba, &in6->sin6_addr, 16), bl = 16;
		bp = in6->sin6_port;
	} else {
		return FALSE;
	}
	return al == bl && ap == bp && memcmp(aa, ba, al) == 0;
}

int
tr_hub_pairs_relay(TrHubPairs *pairs, const uint8_t *frame, size_t len, const struct sockaddr *from,
                   gpointer from_member, gint64 now, TrHubRelayDest *dest)
{
	const uint8_t *inner;
	size_t inner_len;
	uint32_t id;
	Pair *p;
	int rc, sender = -1;
	Member *to;

	rc = tr_relay_parse(frame, len, &pairs->magic, &id, &inner, &inner_len);
	if (rc < 0) {
		pairs->counters.malformed++;
		return rc;
	}
	if (!pairs->limits.relay) {
		pairs->counters.disabled++;
		return -EACCES;
	}
	p = lookup(pairs, id);
	if (p == NULL) {
		pairs->counters.unknown++;
		return -ESRCH;
	}
	for (int i = 0; i < 2; i++) {
		Member *m = member_get(pairs, p->member[i], FALSE);

		if (from_member != NULL ? p->member[i] == from_member
		                        : (from != NULL && m != NULL && m->len > 0 &&
		                           same_endpoint(&m->addr, from)))
			sender = i;
	}
	if (sender < 0) {
		pairs->counters.stranger++;
		return -EPERM;
	}
	if (pairs->limits.rate > 0 &&
	    !take(&p->relay_tokens, &p->relay_at, (double)pairs->limits.rate,
	          (double)pairs->limits.burst, len, now)) {
		pairs->counters.limited++;
		return -ENOBUFS;
	}
	dest->member = p->member[1 - sender];
	to = member_get(pairs, dest->member, FALSE);
	dest->addr_len = to != NULL ? to->len : 0;
	if (dest->addr_len > 0)
		memcpy(&dest->addr, &to->addr, sizeof(dest->addr));
	pairs->counters.relayed++;
	pairs->counters.relayed_bytes += len;
	return 0;
}

guint
tr_hub_pairs_count(const TrHubPairs *pairs)
{
	return g_hash_table_size(pairs->by_id);
}

void
tr_hub_pairs_counters(const TrHubPairs *pairs, TrHubPairsCounters *out)
{
	*out = pairs->counters;
}

uint32_t
tr_hub_link_pairs_feature(gboolean pairs, gboolean masked)
{
	return pairs && !masked ? TR_FEATURE_PAIRS_ACROSS : 0;
}

void
tr_hub_link_pairs_init(TrHubLinkPairs *lp, uint32_t features)
{
	lp->takes = (features & TR_FEATURE_PAIRS_ACROSS) != 0;
	lp->told = FALSE;
}

gboolean
tr_hub_link_pairs_may(TrHubLinkPairs *lp, gboolean *tell)
{
	*tell = !lp->takes && !lp->told;
	lp->told |= *tell;
	return lp->takes;
}
