/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ownership of prefixes. Whether a claim is accepted depends only on the
 * claims a node holds, never on the order they arrived in, so every node
 * that holds the same claims decides the same (docs/PROTOCOL.md, "Who owns
 * what"):
 *
 *   1. A hub's pool is refused when it overlaps the pool of another hub that
 *      ranks before it.
 *   2. Any other claim that overlaps an accepted pool of another node must
 *      lie inside it and be made by that pool's hub (the hub speaks for the
 *      addresses it gives out); otherwise it is refused.
 *   3. Of the remaining claims that overlap and have different owners, the
 *      one that ranks first is accepted and the others refused.
 *
 * Rank: the older claim (smaller `since`, the origin's version number when
 * it first made the claim) first; on a tie, the smaller owner name.
 */
#include "common/graph/store.h"

#include <string.h>

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/log.h"

gboolean
tr_prefix_within(const TrPrefix *inner, const TrPrefix *outer)
{
	return inner->family == outer->family && inner->len >= outer->len &&
	       tr_prefix_contains(outer, inner->family, inner->addr);
}

gboolean
tr_prefix_overlap(const TrPrefix *a, const TrPrefix *b)
{
	return tr_prefix_within(a, b) || tr_prefix_within(b, a);
}

static unsigned
family_index(uint8_t family)
{
	return family == TR_ADDR_IPV4 ? 0 : family == TR_ADDR_IPV6 ? 1 : 2;
}

static void
append_exact(TrGraph *graph, const TrPrefix *p, GPtrArray *out)
{
	TrGraphClaim key = {.prefix = *p};
	GTreeNode *t;

	for (t = g_tree_lower_bound(graph->by_prefix, &key); t; t = g_tree_node_next(t)) {
		TrGraphClaim *c = g_tree_node_key(t);

		if (c->prefix.family != p->family || c->prefix.len != p->len ||
		    memcmp(c->prefix.addr, p->addr, sizeof(p->addr)) != 0)
			break;
		g_ptr_array_add(out, c);
	}
}

void
tr_graph_claims_exact(TrGraph *graph, const TrPrefix *prefix, GPtrArray *out)
{
	append_exact(graph, prefix, out);
}

void
tr_graph_claims_overlapping(TrGraph *graph, const TrPrefix *prefix, GPtrArray *out)
{
	const guint *counts = graph->length_count[family_index(prefix->family)];
	unsigned max = tr_addr_family_bytes(prefix->family) * 8;
	TrGraphClaim key = {.prefix = *prefix};
	GTreeNode *t;

	/* The prefix itself and every shorter one that contains it. */
	for (unsigned len = 0; len <= prefix->len; len++) {
		TrPrefix p = *prefix;

		if (!counts[len])
			continue;
		p.len = (uint8_t)len;
		tr_prefix_mask(&p);
		append_exact(graph, &p, out);
	}
	if (prefix->len >= max)
		return;
	/* The longer ones inside it: one run of the order, from its address. */
	key.prefix.len = (uint8_t)(prefix->len + 1);
	for (t = g_tree_lower_bound(graph->by_prefix, &key); t; t = g_tree_node_next(t)) {
		TrGraphClaim *c = g_tree_node_key(t);

		if (c->prefix.family != prefix->family ||
		    !tr_prefix_contains(prefix, prefix->family, c->prefix.addr))
			break;
		g_ptr_array_add(out, c);
	}
}

static gboolean
ranks_before(const TrGraphClaim *a, const TrGraphClaim *b)
{
	if (a->since != b->since)
		return a->since < b->since;
	return strcmp(a->owner->name, b->owner->name) < 0;
}

/* Rule 1. Only the other pools count: they are looked at apart, since a
 * hub's pool holds every one of its clients' claims (a scan of the claims
 * inside it on each client's arrival made a hub's handshakes quadratic). */
static void
resolve_pool(TrGraph *graph, TrGraphClaim *pool)
{
	GHashTableIter it;
	gpointer key;

	pool->accepted = TRUE;
	pool->beaten_by = pool->outside = NULL;
	g_hash_table_iter_init(&it, graph->pools);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		TrGraphClaim *o = key;

		if (!o->alive || o->kind != TR_GRAPH_CLAIM_POOL || o->owner == pool->owner ||
		    !tr_prefix_overlap(&o->prefix, &pool->prefix))
			continue;
		if (ranks_before(o, pool) &&
		    (!pool->beaten_by || ranks_before(o, pool->beaten_by))) {
			pool->accepted = FALSE;
			pool->beaten_by = o;
		}
	}
}

/* Rule 2: the accepted pool of another hub that @claim intrudes on, or NULL. */
static TrGraphClaim *
intrudes_on(TrGraph *graph, const TrGraphClaim *claim)
{
	g_autoptr(GPtrArray) nearby = g_ptr_array_new();

	tr_graph_claims_overlapping(graph, &claim->prefix, nearby);
	for (guint i = 0; i < nearby->len; i++) {
		TrGraphClaim *p = g_ptr_array_index(nearby, i);

		if (!p->alive || p->kind != TR_GRAPH_CLAIM_POOL || !p->accepted ||
		    p->owner == claim->owner)
			continue;
		if (!tr_prefix_within(&claim->prefix, &p->prefix) || claim->origin != p->owner)
			return p;
	}
	return NULL;
}

/* Rule 3 (after rule 2). */
static void
resolve_other(TrGraph *graph, TrGraphClaim *claim)
{
	g_autoptr(GPtrArray) nearby = g_ptr_array_new();

	claim->beaten_by = NULL;
	claim->outside = intrudes_on(graph, claim);
	claim->accepted = claim->outside == NULL;
	if (!claim->accepted)
		return;
	tr_graph_claims_overlapping(graph, &claim->prefix, nearby);
	for (guint i = 0; i < nearby->len; i++) {
		TrGraphClaim *o = g_ptr_array_index(nearby, i);

		if (!o->alive || o->kind == TR_GRAPH_CLAIM_POOL || o->owner == claim->owner)
			continue;
		if (!ranks_before(o, claim) ||
		    (claim->beaten_by && !ranks_before(o, claim->beaten_by)))
			continue;
		if (intrudes_on(graph, o))
			continue;
		claim->accepted = FALSE;
		claim->beaten_by = o;
	}
}

char *
tr_graph_claim_reason(const TrGraphClaim *claim)
{
	char a[TR_PREFIX_STRLEN], b[TR_PREFIX_STRLEN];

	tr_prefix_to_string(&claim->prefix, a, sizeof(a));
	if (claim->outside) {
		tr_prefix_to_string(&claim->outside->prefix, b, sizeof(b));
		return g_strdup_printf(
		        "%s of '%s' (said by '%s') overlaps %s, the pool of hub '%s'; "
		        "only that hub gives out its addresses",
		        a, claim->owner->name, claim->origin->name, b, claim->outside->owner->name);
	}
	if (claim->beaten_by) {
		const TrGraphClaim *w = claim->beaten_by;

		tr_prefix_to_string(&w->prefix, b, sizeof(b));
		return g_strdup_printf(
		        "%s %s of '%s' (since %" G_GUINT64_FORMAT
		        ") overlaps %s %s of '%s', claimed earlier (since %" G_GUINT64_FORMAT ")%s",
		        tr_graph_claim_kind_name(claim->kind), a, claim->owner->name, claim->since,
		        tr_graph_claim_kind_name(w->kind), b, w->owner->name, w->since,
		        w->since == claim->since ? ", same time: the smaller name wins" : "");
	}
	if (!claim->alive)
		return g_strdup_printf("%s of '%s' was withdrawn", a, claim->owner->name);
	return NULL;
}

static void
report(TrGraph *graph, TrGraphClaim *claim, gboolean was_accepted, gboolean was_known)
{
	static TrLogLimit limit;
	g_autofree char *reason = NULL;
	char p[TR_PREFIX_STRLEN];

	if (!claim->alive || (was_known && was_accepted == claim->accepted) ||
	    (!was_known && claim->accepted))
		return;
	if (!tr_log_limit(&limit, "graph ownership decisions", 20, 10))
		return;
	tr_prefix_to_string(&claim->prefix, p, sizeof(p));
	if (claim->accepted) {
		g_message("graph: %s of '%s' is accepted now", p, claim->owner->name);
		return;
	}
	reason = tr_graph_claim_reason(claim);
	if (claim->owner == graph->self || claim->origin == graph->self)
		g_warning("graph: our claim is refused: %s", reason);
	else
		g_warning("graph: refused: %s", reason);
}

/* Adds the claims overlapping @prefix to @set, remembering how each stood. */
static void
gather(TrGraph *graph, const TrPrefix *prefix, GPtrArray *set, GHashTable *seen, GArray *before)
{
	g_autoptr(GPtrArray) nearby = g_ptr_array_new();

	tr_graph_claims_overlapping(graph, prefix, nearby);
	for (guint i = 0; i < nearby->len; i++) {
		TrGraphClaim *c = g_ptr_array_index(nearby, i);
		/* bit 0: was accepted; bit 1: had been decided before */
		guint8 b = (guint8)((c->accepted ? 1 : 0) |
		                    (c->beaten_by || c->outside || c->accepted ? 2 : 0));

		if (!g_hash_table_add(seen, c))
			continue;
		g_ptr_array_add(set, c);
		g_array_append_val(before, b);
	}
}

void
tr_graph_claims_resolve(TrGraph *graph, const TrPrefix *prefix)
{
	g_autoptr(GPtrArray) set = g_ptr_array_new();
	g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
	g_autoptr(GArray) before = g_array_new(FALSE, FALSE, sizeof(guint8));

	graph->generation++;
	tr_graph_note_change(graph, prefix);
	gather(graph, prefix, set, seen, before);
	/* Pools first: the others' decisions read theirs. A pool that changed
	 * (or was decided anew) changes what may lie inside it. */
	for (guint i = 0, n = set->len; i < n; i++) {
		TrGraphClaim *c = g_ptr_array_index(set, i);
		gboolean was = g_array_index(before, guint8, i) & 1;

		if (c->kind != TR_GRAPH_CLAIM_POOL)
			continue;
		if (c->alive)
			resolve_pool(graph, c);
		else
			c->accepted = FALSE;
		if (was != c->accepted || tr_prefix_equal(&c->prefix, prefix))
			gather(graph, &c->prefix, set, seen, before);
	}
	for (guint i = 0; i < set->len; i++) {
		TrGraphClaim *c = g_ptr_array_index(set, i);

		if (c->kind != TR_GRAPH_CLAIM_POOL && c->alive)
			resolve_other(graph, c);
		else if (!c->alive)
			c->accepted = FALSE;
	}
	for (guint i = 0; i < set->len; i++) {
		guint8 b = g_array_index(before, guint8, i);
		TrGraphClaim *c = g_ptr_array_index(set, i);

		if ((b & 1) != c->accepted) {
			tr_graph_note_change(graph, &c->prefix);
			/* A leaf is reachable through the hub whose claim for it stands. */
			if (c->owner != c->origin)
				tr_graph_mark_leaf_dirty(graph, c->owner);
		}
		report(graph, c, b & 1, (b & 2) != 0);
	}
}

/* The pools are apart (graph->pools): a pool holds every one of its hub's
 * clients' claims, which an overlap scan would walk at each hub link. Of
 * several pools in the way, the one that ranks first is named. */
gboolean
tr_graph_check_pool(TrGraph *graph, const char *peer, const TrPrefix *prefix, GError **error)
{
	TrGraphClaim *in_way = NULL;
	GHashTableIter it;
	gpointer key;
	char a[TR_PREFIX_STRLEN], b[TR_PREFIX_STRLEN];

	g_hash_table_iter_init(&it, graph->pools);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		TrGraphClaim *c = key;

		/* An entry whose kind changed since is no pool. */
		if (!c->alive || c->kind != TR_GRAPH_CLAIM_POOL ||
		    strcmp(c->owner->name, peer) == 0 || !tr_prefix_overlap(&c->prefix, prefix))
			continue;
		if (in_way == NULL || ranks_before(c, in_way))
			in_way = c;
	}
	if (in_way == NULL)
		return TRUE;
	tr_prefix_to_string(prefix, a, sizeof(a));
	tr_prefix_to_string(&in_way->prefix, b, sizeof(b));
	g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
	            "address pool %s of hub '%s' overlaps pool %s of hub '%s' (known to "
	            "'%s'); give each hub its own slice (docs/MESH.md, \"Many hubs\")",
	            a, peer, b, in_way->owner->name, graph->self_name);
	return FALSE;
}
