/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/route.h"

#include "common/base/addr.h"
#include "common/base/error.h"

#include <string.h>

typedef struct {
	TrPrefix prefix; /* masked; bytes beyond the family's are zero */
	uint32_t peer;
	uint8_t origin;
	uint64_t seq; /* order of arrival: the earlier claim wins a tie */
} Claim;

struct TrRouteBuilder {
	GArray *claims; /* Claim */
	uint64_t next_seq;
};

/* One (family, length): a hash table of entries[first .. first + mask]. */
typedef struct {
	uint8_t len;
	uint32_t first;
	uint32_t mask;
} Group;

typedef struct {
	uint8_t key[16]; /* the masked address, zero padded */
	uint32_t peer;
	uint32_t used;
} Entry;

#define N_FAMILIES 3

struct TrRouteTable {
	uint32_t n_routes;
	uint32_t fam_first[N_FAMILIES], fam_count[N_FAMILIES]; /* groups, longest first */
	Group *groups;
	Entry *entries;
};

static int
family_index(unsigned family)
{
	switch (family) {
	case TR_ADDR_IPV4:
		return 0;
	case TR_ADDR_IPV6:
		return 1;
	case TR_ADDR_MAC:
		return 2;
	default:
		return -1;
	}
}

/* @addr's first @len bits, zero padded to 16 bytes. */
static void
mask_key(uint8_t key[16], const uint8_t *addr, unsigned len)
{
	memset(key, 0, 16);
	memcpy(key, addr, len / 8);
	if (len % 8)
		key[len / 8] = addr[len / 8] & (uint8_t)(0xff00u >> (len % 8));
}

static uint32_t
key_hash(const uint8_t key[16])
{
	uint64_t a, b, h;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	h = a * UINT64_C(0x9e3779b97f4a7c15) ^
	    (b + UINT64_C(0x632be59bd9b4e019)) * UINT64_C(0xc2b2ae3d27d4eb4f);
	h ^= h >> 29;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 32;
	return (uint32_t)h;
}

static bool
same_prefix(const TrPrefix *a, const TrPrefix *b)
{
	return a->family == b->family && a->len == b->len && memcmp(a->addr, b->addr, 16) == 0;
}

static bool
claim_beats(const Claim *a, const Claim *b)
{
	if (a->origin != b->origin)
		return a->origin > b->origin;
	return a->seq < b->seq;
}

/* Sorting order: family, length (longest first), address, then the winner first. */
static int
claim_cmp(gconstpointer pa, gconstpointer pb)
{
	const Claim *a = *(const Claim *const *)pa, *b = *(const Claim *const *)pb;
	int c;

	if (a->prefix.family != b->prefix.family)
		return family_index(a->prefix.family) - family_index(b->prefix.family);
	if (a->prefix.len != b->prefix.len)
		return (int)b->prefix.len - (int)a->prefix.len;
	c = memcmp(a->prefix.addr, b->prefix.addr, 16);
	if (c != 0)
		return c;
	return claim_beats(a, b) ? -1 : claim_beats(b, a) ? 1 : 0;
}

static GPtrArray *
sorted_claims(const TrRouteBuilder *b)
{
	GPtrArray *v = g_ptr_array_sized_new(b->claims->len);

	for (guint i = 0; i < b->claims->len; i++)
		g_ptr_array_add(v, &g_array_index(b->claims, Claim, i));
	g_ptr_array_sort(v, claim_cmp);
	return v;
}

TrRouteBuilder *
tr_route_builder_new(void)
{
	TrRouteBuilder *b = g_new0(TrRouteBuilder, 1);

	b->claims = g_array_new(FALSE, FALSE, sizeof(Claim));
	return b;
}

void
tr_route_builder_free(TrRouteBuilder *b)
{
	if (!b)
		return;
	g_array_unref(b->claims);
	g_free(b);
}

unsigned
tr_route_builder_size(const TrRouteBuilder *b)
{
	return b->claims->len;
}

/* The winning claim of @p, or NULL. */
static const Claim *
winner(const TrRouteBuilder *b, const TrPrefix *p)
{
	const Claim *best = NULL;

	for (guint i = 0; i < b->claims->len; i++) {
		const Claim *c = &g_array_index(b->claims, Claim, i);

		if (same_prefix(&c->prefix, p) && (!best || claim_beats(c, best)))
			best = c;
	}
	return best;
}

gboolean
tr_route_builder_add(TrRouteBuilder *b, const TrPrefix *prefix, uint32_t peer, TrRouteOrigin origin,
                     TrRouteAdd *result, uint32_t *other, GError **error)
{
	unsigned bytes = tr_addr_family_bytes((TrAddrFamily)prefix->family);
	const Claim *w;
	uint32_t before = 0, after;
	bool had_owner, existed = false;
	Claim nc = {0};
	TrRouteAdd res;

	if (bytes == 0 || prefix->len > bytes * 8) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "route: bad prefix (family %u, length %u)", prefix->family,
		            prefix->len);
		return FALSE;
	}
	nc.prefix.family = prefix->family;
	nc.prefix.len = prefix->len;
	mask_key(nc.prefix.addr, prefix->addr, prefix->len);
	nc.peer = peer;
	nc.origin = origin <= TR_ROUTE_ASSIGNED ? (uint8_t)origin : TR_ROUTE_CLAIMED;

	w = winner(b, &nc.prefix);
	had_owner = w != NULL;
	if (w)
		before = w->peer;
	for (guint i = 0; i < b->claims->len; i++) {
		Claim *c = &g_array_index(b->claims, Claim, i);

		if (c->peer == peer && same_prefix(&c->prefix, &nc.prefix)) {
			existed = true;
			if (nc.origin > c->origin)
				c->origin = nc.origin; /* an assignment outranks the same peer's
				                          claim */
		}
	}
	if (!existed) {
		if (b->claims->len >= TR_ROUTE_MAX) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "route: more than %u routes",
			            TR_ROUTE_MAX);
			return FALSE;
		}
		nc.seq = b->next_seq++;
		g_array_append_val(b->claims, nc);
	}
	after = winner(b, &nc.prefix)->peer;

	if (existed)
		res = had_owner && before != peer && after == peer ? TR_ROUTE_TAKES_OVER
		                                                   : TR_ROUTE_EXISTS;
	else if (!had_owner)
		res = TR_ROUTE_ADDED;
	else if (after == peer)
		res = TR_ROUTE_TAKES_OVER;
	else
		res = TR_ROUTE_SHADOWED;
	if (result)
		*result = res;
	if (other)
		*other = res == TR_ROUTE_SHADOWED ? after : before;
	return TRUE;
}

bool
tr_route_builder_remove(TrRouteBuilder *b, const TrPrefix *prefix, uint32_t peer)
{
	unsigned bytes = tr_addr_family_bytes((TrAddrFamily)prefix->family);
	TrPrefix p = {.family = prefix->family, .len = prefix->len};

	if (bytes == 0 || prefix->len > bytes * 8)
		return false;
	mask_key(p.addr, prefix->addr, prefix->len);
	for (guint i = 0; i < b->claims->len; i++) {
		const Claim *c = &g_array_index(b->claims, Claim, i);

		if (c->peer == peer && same_prefix(&c->prefix, &p)) {
			g_array_remove_index(b->claims, i);
			return true;
		}
	}
	return false;
}

unsigned
tr_route_builder_remove_peer(TrRouteBuilder *b, uint32_t peer)
{
	unsigned n = 0;

	for (guint i = b->claims->len; i-- > 0;) {
		if (g_array_index(b->claims, Claim, i).peer == peer) {
			g_array_remove_index(b->claims, i);
			n++;
		}
	}
	return n;
}

unsigned
tr_route_builder_foreach_conflict(const TrRouteBuilder *b, TrRouteConflictFunc func,
                                  void *user_data)
{
	g_autoptr(GPtrArray) v = sorted_claims(b);
	const Claim *w = NULL;
	unsigned n = 0;

	for (guint i = 0; i < v->len; i++) {
		const Claim *c = v->pdata[i];

		if (w && same_prefix(&w->prefix, &c->prefix)) {
			n++;
			if (func)
				func(&c->prefix, w->peer, c->peer, user_data);
		} else {
			w = c;
		}
	}
	return n;
}

/* The end of the run of @wins with the family and length of wins[@i]. */
static guint
group_end(const GPtrArray *wins, guint i)
{
	const Claim *c = wins->pdata[i];
	guint j;

	for (j = i + 1; j < wins->len; j++) {
		const Claim *d = wins->pdata[j];

		if (d->prefix.family != c->prefix.family || d->prefix.len != c->prefix.len)
			break;
	}
	return j;
}

/* At most half full, so every probe ends at an empty entry. */
static uint32_t
group_capacity(guint n)
{
	uint32_t cap = 2;

	while (cap < 2 * n)
		cap <<= 1;
	return cap;
}

TrRouteTable *
tr_route_table_build(const TrRouteBuilder *b)
{
	g_autoptr(GPtrArray) v = sorted_claims(b);
	g_autoptr(GPtrArray) wins = g_ptr_array_sized_new(v->len);
	uint32_t n_groups = 0, n_entries = 0, gi = 0;
	size_t off_groups, off_entries;
	TrRouteTable *t;
	guint i, j;

	/* Winners only (the first of each run of equal prefixes), still sorted. */
	for (i = 0; i < v->len; i++) {
		const Claim *c = v->pdata[i];

		if (i == 0 || !same_prefix(&((const Claim *)v->pdata[i - 1])->prefix, &c->prefix))
			g_ptr_array_add(wins, (gpointer)c);
	}
	/* Size the groups: one per (family, length), capacity a power of two >= 2n. */
	for (i = 0; i < wins->len; i = j) {
		j = group_end(wins, i);
		n_groups++;
		n_entries += group_capacity(j - i);
	}

	off_groups = (sizeof(TrRouteTable) + 15) & ~(size_t)15;
	off_entries = (off_groups + n_groups * sizeof(Group) + 15) & ~(size_t)15;
	t = g_malloc0(off_entries + (size_t)n_entries * sizeof(Entry));
	t->groups = (Group *)((uint8_t *)t + off_groups);
	t->entries = (Entry *)((uint8_t *)t + off_entries);
	t->n_routes = wins->len;

	n_entries = 0;
	for (i = 0; i < wins->len; i = j) {
		const Claim *c = wins->pdata[i];
		int fi = family_index(c->prefix.family);
		Group *g = &t->groups[gi];
		uint32_t cap;

		j = group_end(wins, i);
		cap = group_capacity(j - i);
		if (t->fam_count[fi]++ == 0)
			t->fam_first[fi] = gi;
		g->len = c->prefix.len;
		g->first = n_entries;
		g->mask = cap - 1;
		for (guint k = i; k < j; k++) {
			const Claim *d = wins->pdata[k];
			uint32_t h = key_hash(d->prefix.addr) & g->mask;

			while (t->entries[g->first + h].used)
				h = (h + 1) & g->mask;
			memcpy(t->entries[g->first + h].key, d->prefix.addr, 16);
			t->entries[g->first + h].peer = d->peer;
			t->entries[g->first + h].used = 1;
		}
		n_entries += cap;
		gi++;
	}
	return t;
}

void
tr_route_table_free(TrRouteTable *t)
{
	g_free(t);
}

unsigned
tr_route_table_size(const TrRouteTable *t)
{
	return t->n_routes;
}

bool
tr_route_lookup(const TrRouteTable *t, TrAddrFamily family, const uint8_t *addr, uint32_t *peer,
                unsigned *plen)
{
	int fi = family_index(family);

	if (fi < 0 || !t)
		return false;
	for (uint32_t n = 0; n < t->fam_count[fi]; n++) {
		const Group *g = &t->groups[t->fam_first[fi] + n];
		uint8_t key[16];
		uint32_t h;

		mask_key(key, addr, g->len);
		h = key_hash(key) & g->mask;
		for (;;) {
			const Entry *e = &t->entries[g->first + h];

			if (!e->used)
				break;
			if (memcmp(e->key, key, 16) == 0) {
				*peer = e->peer;
				if (plen)
					*plen = g->len;
				return true;
			}
			h = (h + 1) & g->mask;
		}
	}
	return false;
}
