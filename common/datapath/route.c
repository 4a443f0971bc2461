/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/route.h"

#include "common/base/addr.h"
#include "common/base/cow-array.h"
#include "common/base/error.h"

#include <string.h>

/*
 * The builder keeps its claims indexed both ways, so that taking one claim in
 * or out costs the same with ten claims as with a million: by prefix (a Slot:
 * the prefix and every peer's claim of it) and by peer (the slots it claims).
 */
typedef struct {
	uint32_t peer;
	uint8_t origin;
	uint64_t seq; /* order of arrival: the earlier claim wins a tie */
} Claim;

typedef struct {
	TrPrefix prefix; /* masked; bytes beyond the family's are zero; the key */
	GArray *claims;  /* Claim, usually one */
} Slot;

/*
 * It also keeps the table of the winners up to date claim by claim (live), so
 * that a build is a snapshot of it: its entries are in chunks copied on write
 * (common/base/cow-array.h), so a build copies the header, the groups and a
 * directory of chunks, and a claim taken in or out copies one chunk. Only a
 * new (family, length) or a group more than half full makes the next build
 * lay the table out anew.
 */
struct TrRouteBuilder {
	GHashTable *by_prefix; /* TrPrefix * (in its Slot) -> Slot *, owned */
	GHashTable *by_peer;   /* peer -> GPtrArray of Slot * */
	unsigned n_claims;
	uint64_t next_seq;
	TrRouteTable *live; /* NULL: laid out anew at the next build */
};

/* One (family, length): a hash table of entries[first .. first + mask]. */
typedef struct {
	uint8_t len;
	uint32_t first;
	uint32_t mask;
	uint32_t count; /* entries used */
} Group;

typedef struct {
	uint8_t key[16]; /* the masked address, zero padded */
	uint32_t peer;
	uint32_t used;
} Entry;

#define N_FAMILIES 3

struct TrRouteTable {
	size_t size; /* of the one allocation: this header and the groups */
	uint32_t n_routes;
	uint32_t fam_first[N_FAMILIES], fam_count[N_FAMILIES]; /* groups, longest first */
	Group *groups;
	TrCowArray entries; /* Entry */
};

static const Entry *
entry_at(const TrRouteTable *t, uint32_t i)
{
	return tr_cow_array_at(&t->entries, i);
}

/* Entry @i of the live table, to change (its chunk is copied when a built table shares it). */
static Entry *
entry_write(TrRouteTable *t, uint32_t i)
{
	return tr_cow_array_write(&t->entries, i);
}

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

static guint
prefix_hash(gconstpointer p)
{
	const TrPrefix *a = p;

	return key_hash(a->addr) ^ ((guint)a->family << 8 | a->len) * 0x9e3779b1u;
}

static gboolean
prefix_equal(gconstpointer a, gconstpointer b)
{
	return same_prefix(a, b);
}

static bool
claim_beats(const Claim *a, const Claim *b)
{
	if (a->origin != b->origin)
		return a->origin > b->origin;
	return a->seq < b->seq;
}

/* The winning claim of @s (it has at least one). */
static const Claim *
slot_winner(const Slot *s)
{
	const Claim *best = &g_array_index(s->claims, Claim, 0);

	for (guint i = 1; i < s->claims->len; i++) {
		const Claim *c = &g_array_index(s->claims, Claim, i);

		if (claim_beats(c, best))
			best = c;
	}
	return best;
}

static void
slot_free(gpointer p)
{
	Slot *s = p;

	g_array_unref(s->claims);
	g_free(s);
}

TrRouteBuilder *
tr_route_builder_new(void)
{
	TrRouteBuilder *b = g_new0(TrRouteBuilder, 1);

	b->by_prefix = g_hash_table_new_full(prefix_hash, prefix_equal, NULL, slot_free);
	b->by_peer = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
	                                   (GDestroyNotify)g_ptr_array_unref);
	return b;
}

void
tr_route_builder_free(TrRouteBuilder *b)
{
	if (!b)
		return;
	g_hash_table_unref(b->by_peer);
	g_hash_table_unref(b->by_prefix);
	tr_route_table_free(b->live);
	g_free(b);
}

unsigned
tr_route_builder_size(const TrRouteBuilder *b)
{
	return b->n_claims;
}

/* @prefix with its host bits cleared; false for a bad family or length. */
static bool
masked(const TrPrefix *prefix, TrPrefix *out)
{
	unsigned bytes = tr_addr_family_bytes((TrAddrFamily)prefix->family);

	if (bytes == 0 || prefix->len > bytes * 8)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = prefix->family;
	out->len = prefix->len;
	mask_key(out->addr, prefix->addr, prefix->len);
	return true;
}

/* ---- The live table ---------------------------------------------------------------- */

static Group *
live_group(TrRouteTable *t, const TrPrefix *p)
{
	int fi = family_index(p->family);

	for (uint32_t n = 0; n < t->fam_count[fi]; n++)
		if (t->groups[t->fam_first[fi] + n].len == p->len)
			return &t->groups[t->fam_first[fi] + n];
	return NULL;
}

/* The entry of @p in @g, or the empty one where it would go. */
static uint32_t
live_slot(const TrRouteTable *t, const Group *g, const TrPrefix *p)
{
	uint32_t h = key_hash(p->addr) & g->mask;

	while (entry_at(t, g->first + h)->used &&
	       memcmp(entry_at(t, g->first + h)->key, p->addr, 16))
		h = (h + 1) & g->mask;
	return h;
}

/* @p (masked) is now owned by @peer. */
static void
live_put(TrRouteBuilder *b, const TrPrefix *p, uint32_t peer)
{
	Group *g;
	Entry *e;

	if (b->live == NULL)
		return;
	g = live_group(b->live, p);
	if (g == NULL || 2 * (g->count + 1) > g->mask + 1) {
		g_clear_pointer(&b->live, tr_route_table_free); /* a new length, or full enough */
		return;
	}
	e = entry_write(b->live, g->first + live_slot(b->live, g, p));
	if (!e->used) {
		memcpy(e->key, p->addr, 16);
		e->used = 1;
		g->count++;
		b->live->n_routes++;
	}
	e->peer = peer;
}

/* Nobody owns @p (masked) any more: linear probing's deletion, moving back
 * the entries after it that could not take their own place. */
static void
live_del(TrRouteBuilder *b, const TrPrefix *p)
{
	TrRouteTable *t = b->live;
	Group *g;
	uint32_t i, j;

	if (t == NULL)
		return;
	g = live_group(t, p);
	if (g == NULL || !entry_at(t, g->first + (i = live_slot(t, g, p)))->used) {
		g_clear_pointer(&b->live, tr_route_table_free); /* not there: cannot happen */
		return;
	}
	entry_write(t, g->first + i)->used = 0;
	for (j = (i + 1) & g->mask; entry_at(t, g->first + j)->used; j = (j + 1) & g->mask) {
		uint32_t k = key_hash(entry_at(t, g->first + j)->key) & g->mask;

		/* Entry j stays when its home k lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		*entry_write(t, g->first + i) = *entry_at(t, g->first + j);
		entry_write(t, g->first + j)->used = 0;
		i = j;
	}
	g->count--;
	t->n_routes--;
}

gboolean
tr_route_builder_add(TrRouteBuilder *b, const TrPrefix *prefix, uint32_t peer, TrRouteOrigin origin,
                     TrRouteAdd *result, uint32_t *other, GError **error)
{
	uint32_t before = 0, after;
	bool had_owner, existed = false;
	TrPrefix p;
	Claim nc = {0};
	Slot *s;
	TrRouteAdd res;

	if (!masked(prefix, &p)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "route: bad prefix (family %u, length %u)", prefix->family,
		            prefix->len);
		return FALSE;
	}
	nc.peer = peer;
	nc.origin = origin <= TR_ROUTE_ASSIGNED ? (uint8_t)origin : TR_ROUTE_CLAIMED;

	s = g_hash_table_lookup(b->by_prefix, &p);
	had_owner = s != NULL;
	if (s) {
		before = slot_winner(s)->peer;
		for (guint i = 0; i < s->claims->len; i++) {
			Claim *c = &g_array_index(s->claims, Claim, i);

			if (c->peer == peer) {
				existed = true;
				if (nc.origin > c->origin)
					c->origin = nc.origin; /* an assignment outranks the same
					                          peer's claim */
			}
		}
	}
	if (!existed) {
		GPtrArray *mine;

		if (b->n_claims >= TR_ROUTE_MAX) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "route: more than %u routes",
			            TR_ROUTE_MAX);
			return FALSE;
		}
		if (s == NULL) {
			s = g_new0(Slot, 1);
			s->prefix = p;
			s->claims = g_array_sized_new(FALSE, FALSE, sizeof(Claim), 1);
			g_hash_table_insert(b->by_prefix, &s->prefix, s);
		}
		nc.seq = b->next_seq++;
		g_array_append_val(s->claims, nc);
		b->n_claims++;
		mine = g_hash_table_lookup(b->by_peer, GUINT_TO_POINTER(peer));
		if (mine == NULL) {
			mine = g_ptr_array_sized_new(2);
			g_hash_table_insert(b->by_peer, GUINT_TO_POINTER(peer), mine);
		}
		g_ptr_array_add(mine, s);
	}
	after = slot_winner(s)->peer;
	if (!had_owner || after != before)
		live_put(b, &p, after);

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

/* Takes @peer's claim out of @s, and @s out of the builder when it was the last. */
static void
slot_drop(TrRouteBuilder *b, Slot *s, uint32_t peer)
{
	uint32_t before = slot_winner(s)->peer;

	for (guint i = 0; i < s->claims->len; i++) {
		if (g_array_index(s->claims, Claim, i).peer == peer) {
			g_array_remove_index(s->claims, i);
			b->n_claims--;
			break;
		}
	}
	if (s->claims->len == 0) {
		live_del(b, &s->prefix);
		g_hash_table_remove(b->by_prefix, &s->prefix);
	} else if (slot_winner(s)->peer != before) {
		live_put(b, &s->prefix, slot_winner(s)->peer);
	}
}

bool
tr_route_builder_remove(TrRouteBuilder *b, const TrPrefix *prefix, uint32_t peer)
{
	GPtrArray *mine = g_hash_table_lookup(b->by_peer, GUINT_TO_POINTER(peer));
	TrPrefix p;

	if (mine == NULL || !masked(prefix, &p))
		return false;
	for (guint i = 0; i < mine->len; i++) {
		Slot *s = mine->pdata[i];

		if (same_prefix(&s->prefix, &p)) {
			g_ptr_array_remove_index_fast(mine, i);
			if (mine->len == 0)
				g_hash_table_remove(b->by_peer, GUINT_TO_POINTER(peer));
			slot_drop(b, s, peer);
			return true;
		}
	}
	return false;
}

unsigned
tr_route_builder_remove_peer(TrRouteBuilder *b, uint32_t peer)
{
	GPtrArray *mine = NULL;
	unsigned n;

	if (!g_hash_table_steal_extended(b->by_peer, GUINT_TO_POINTER(peer), NULL,
	                                 (gpointer *)&mine))
		return 0;
	n = mine->len;
	for (guint i = 0; i < mine->len; i++)
		slot_drop(b, mine->pdata[i], peer);
	g_ptr_array_unref(mine);
	return n;
}

/* Stable order: family, length (longest first), address. */
static int
slot_cmp(gconstpointer pa, gconstpointer pb)
{
	const Slot *a = *(const Slot *const *)pa, *b = *(const Slot *const *)pb;

	if (a->prefix.family != b->prefix.family)
		return family_index(a->prefix.family) - family_index(b->prefix.family);
	if (a->prefix.len != b->prefix.len)
		return (int)b->prefix.len - (int)a->prefix.len;
	return memcmp(a->prefix.addr, b->prefix.addr, 16);
}

/* Losers in the order they would take over: the best first. */
static int
claim_cmp(gconstpointer pa, gconstpointer pb)
{
	const Claim *a = pa, *b = pb;

	return claim_beats(a, b) ? -1 : claim_beats(b, a) ? 1 : 0;
}

unsigned
tr_route_builder_foreach_conflict(const TrRouteBuilder *b, TrRouteConflictFunc func,
                                  void *user_data)
{
	g_autoptr(GPtrArray) v = g_ptr_array_new();
	GHashTableIter it;
	gpointer value;
	unsigned n = 0;

	g_hash_table_iter_init(&it, b->by_prefix);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (((Slot *)value)->claims->len > 1)
			g_ptr_array_add(v, value);
	g_ptr_array_sort(v, slot_cmp);
	for (guint i = 0; i < v->len; i++) {
		const Slot *s = v->pdata[i];
		g_autoptr(GArray) c = g_array_copy(s->claims);

		g_array_sort(c, claim_cmp);
		for (guint k = 1; k < c->len; k++) {
			n++;
			if (func)
				func(&s->prefix, g_array_index(c, Claim, 0).peer,
				     g_array_index(c, Claim, k).peer, user_data);
		}
	}
	return n;
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

#define N_LENGTHS 129 /* 0 .. 128 bits */

/* Room to grow claim by claim before the next layout: a third full at most. */
static guint
with_room(guint n)
{
	return n + n / 2 + 8;
}

/*
 * One pass over the prefixes to count the winners per (family, length), one
 * to place them: no sorting, so a build costs in proportion to the claims
 * with a small constant (the hub builds one per session that comes or goes).
 */
static TrRouteTable *
table_layout(const TrRouteBuilder *b)
{
	uint32_t count[N_FAMILIES][N_LENGTHS] = {{0}}, group_of[N_FAMILIES][N_LENGTHS];
	uint32_t n_groups = 0, n_entries = 0;
	size_t off_groups;
	GHashTableIter it;
	gpointer value;
	TrRouteTable *t;

	g_hash_table_iter_init(&it, b->by_prefix);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const Slot *s = value;

		count[family_index(s->prefix.family)][s->prefix.len]++;
	}
	for (int fi = 0; fi < N_FAMILIES; fi++) {
		for (int len = N_LENGTHS - 1; len >= 0; len--) {
			if (count[fi][len] == 0)
				continue;
			n_groups++;
			n_entries += group_capacity(with_room(count[fi][len]));
		}
	}

	off_groups = (sizeof(TrRouteTable) + 15) & ~(size_t)15;
	t = g_malloc0(off_groups + n_groups * sizeof(Group));
	t->size = off_groups + n_groups * sizeof(Group);
	t->groups = (Group *)((uint8_t *)t + off_groups);
	tr_cow_array_init(&t->entries, sizeof(Entry), n_entries);
	t->n_routes = g_hash_table_size(b->by_prefix);

	/* Groups of a family together, longest first. */
	n_groups = n_entries = 0;
	for (int fi = 0; fi < N_FAMILIES; fi++) {
		t->fam_first[fi] = n_groups;
		for (int len = N_LENGTHS - 1; len >= 0; len--) {
			Group *g = &t->groups[n_groups];
			uint32_t cap;

			if (count[fi][len] == 0)
				continue;
			cap = group_capacity(with_room(count[fi][len]));
			g->len = (uint8_t)len;
			g->first = n_entries;
			g->mask = cap - 1;
			group_of[fi][len] = n_groups++;
			t->fam_count[fi]++;
			n_entries += cap;
		}
	}

	g_hash_table_iter_init(&it, b->by_prefix);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const Slot *s = value;
		const Group *g =
		        &t->groups[group_of[family_index(s->prefix.family)][s->prefix.len]];
		uint32_t h = key_hash(s->prefix.addr) & g->mask;

		Entry *e;

		while (entry_at(t, g->first + h)->used)
			h = (h + 1) & g->mask;
		e = entry_write(t, g->first + h);
		memcpy(e->key, s->prefix.addr, 16);
		e->peer = slot_winner(s)->peer;
		e->used = 1;
		t->groups[group_of[family_index(s->prefix.family)][s->prefix.len]].count++;
	}
	return t;
}

/* A snapshot of the live table (laid out anew first when it has to be): its
 * header and groups copied, its entries' chunks shared. The builder is
 * logically const: the live table is a cache of its claims. */
TrRouteTable *
tr_route_table_build(const TrRouteBuilder *b)
{
	TrRouteBuilder *mb = (TrRouteBuilder *)b;
	TrRouteTable *t;

	if (mb->live == NULL)
		mb->live = table_layout(b);
	t = g_memdup2(b->live, b->live->size);
	t->groups = (Group *)((uint8_t *)t + ((uint8_t *)b->live->groups - (uint8_t *)b->live));
	tr_cow_array_snapshot(&b->live->entries, &t->entries);
	return t;
}

void
tr_route_table_free(TrRouteTable *t)
{
	if (t == NULL)
		return;
	tr_cow_array_clear(&t->entries);
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
			const Entry *e = entry_at(t, g->first + h);

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
