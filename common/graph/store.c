/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The graph's records: nodes, edges and claims, and their indexes. */
#include "common/graph/store.h"

#include "common/base/addr.h"

#include <string.h>

static guint
edge_hash(gconstpointer p)
{
	const TrGraphEdge *e = p;

	return g_direct_hash(e->from) * 31u ^ g_direct_hash(e->to);
}

static gboolean
edge_equal(gconstpointer a, gconstpointer b)
{
	const TrGraphEdge *x = a, *y = b;

	return x->from == y->from && x->to == y->to;
}

static unsigned
prefix_bytes(const TrPrefix *p)
{
	return p->family == TR_ADDR_IPV4 ? 4 : p->family == TR_ADDR_IPV6 ? 16 : 6;
}

/* The changes kept for tr_graph_take_changes(): masked prefixes. */
static guint
prefix_hash(gconstpointer p)
{
	const TrPrefix *x = p;
	guint h = x->family * 257u + x->len;

	for (unsigned i = 0; i < prefix_bytes(x); i++)
		h = h * 31u + x->addr[i];
	return h;
}

static gboolean
prefix_equal(gconstpointer a, gconstpointer b)
{
	return tr_prefix_equal(a, b);
}

static guint
claim_hash(gconstpointer p)
{
	const TrGraphClaim *c = p;
	guint h = g_direct_hash(c->origin) * 31u ^ g_direct_hash(c->owner);

	h = h * 31u + c->prefix.family * 257u + c->prefix.len;
	for (unsigned i = 0; i < prefix_bytes(&c->prefix); i++)
		h = h * 31u + c->prefix.addr[i];
	return h;
}

static gboolean
claim_equal(gconstpointer a, gconstpointer b)
{
	const TrGraphClaim *x = a, *y = b;

	return x->origin == y->origin && x->owner == y->owner &&
	       x->prefix.family == y->prefix.family && x->prefix.len == y->prefix.len &&
	       memcmp(x->prefix.addr, y->prefix.addr, sizeof(x->prefix.addr)) == 0;
}

/* By family, address, length, then owner and origin: the claims inside a
 * prefix are one run of this order. */
static gint
claim_order(gconstpointer a, gconstpointer b, gpointer unused)
{
	const TrGraphClaim *x = a, *y = b;
	int d;

	(void)unused;
	if (x->prefix.family != y->prefix.family)
		return x->prefix.family < y->prefix.family ? -1 : 1;
	d = memcmp(x->prefix.addr, y->prefix.addr, sizeof(x->prefix.addr));
	if (d)
		return d;
	if (x->prefix.len != y->prefix.len)
		return x->prefix.len < y->prefix.len ? -1 : 1;
	/* Search keys have no owner: they sort before every real claim. */
	if (!x->owner || !y->owner)
		return x->owner ? 1 : y->owner ? -1 : 0;
	d = strcmp(x->owner->name, y->owner->name);
	if (d)
		return d;
	return strcmp(x->origin->name, y->origin->name);
}

static void
node_free(gpointer p)
{
	TrGraphNode *n = p;

	g_ptr_array_unref(n->edges);
	g_ptr_array_unref(n->claims);
	if (n->owned)
		g_ptr_array_unref(n->owned);
	g_free(n->name);
	g_free(n);
}

TrGraphNode *
tr_graph_node_get(TrGraph *graph, const char *name, gboolean create)
{
	TrGraphNode *n = g_hash_table_lookup(graph->nodes, name);

	if (n || !create)
		return n;
	if (g_hash_table_size(graph->nodes) >= graph->config.max_nodes)
		return NULL;
	n = g_new0(TrGraphNode, 1);
	n->name = g_strdup(name);
	n->edges = g_ptr_array_new();
	n->claims = g_ptr_array_new();
	n->tokens = graph->config.origin_burst;
	n->tokens_at = G_MININT64;
	n->heap = -1;
	n->unreachable_since = G_MININT64;
	n->index = graph->order->len;
	g_ptr_array_add(graph->order, n);
	g_hash_table_insert(graph->nodes, n->name, n);
	/* Unreachable until an edge or a claim for it says otherwise. */
	tr_graph_mark_leaf_dirty(graph, n);
	return n;
}

/* A node that says nothing and that nothing names is gone, unless it is us
 * or a neighbour. */
static gboolean
node_is_linked(TrGraph *graph, TrGraphNode *node)
{
	for (guint i = 1; i < graph->links->len; i++) {
		TrGraphLink *l = g_ptr_array_index(graph->links, i);

		if (l && l->peer == node)
			return TRUE;
	}
	return FALSE;
}

void
tr_graph_node_unref(TrGraph *graph, TrGraphNode *node)
{
	if (node->refs)
		node->refs--;
	if (node->refs || node->edges->len || node->claims->len || node == graph->self ||
	    node->reachable || node_is_linked(graph, node))
		return;
	for (guint i = 1; i < graph->links->len; i++) {
		TrGraphLink *l = g_ptr_array_index(graph->links, i);

		if (l && l->watched)
			g_hash_table_remove(l->watched, node);
		if (l && l->sample)
			g_ptr_array_remove(l->sample, node);
	}
	{
		TrGraphNode *last = g_ptr_array_index(graph->order, graph->order->len - 1);

		last->index = node->index;
		g_ptr_array_remove_index_fast(graph->order, node->index);
	}
	g_hash_table_remove(graph->nodes, node->name);
	/* With no edges and nothing naming it, it was on no one's path. */
	tr_graph_paths_node_gone(graph, node);
	node_free(node);
}

TrGraphEdge *
tr_graph_edge_find(TrGraph *graph, TrGraphNode *from, TrGraphNode *to)
{
	TrGraphEdge key = {.from = from, .to = to};

	return g_hash_table_lookup(graph->edges, &key);
}

TrGraphEdge *
tr_graph_edge_add(TrGraph *graph, TrGraphNode *from, TrGraphNode *to)
{
	TrGraphEdge *e = g_new0(TrGraphEdge, 1);

	e->from = from;
	e->to = to;
	to->refs++;
	g_ptr_array_add(from->edges, e);
	g_hash_table_add(graph->edges, e);
	tr_graph_mark_dirty(graph);
	return e;
}

void
tr_graph_edge_remove(TrGraph *graph, TrGraphEdge *edge)
{
	TrGraphNode *to = edge->to;

	g_hash_table_remove(graph->edges, edge);
	g_ptr_array_remove_fast(edge->from->edges, edge);
	if (to->prevedge == edge)
		to->prevedge = NULL;
	g_free(edge);
	tr_graph_mark_dirty(graph);
	tr_graph_node_unref(graph, to);
}

static unsigned
family_index(uint8_t family)
{
	return family == TR_ADDR_IPV4 ? 0 : family == TR_ADDR_IPV6 ? 1 : 2;
}

TrGraphClaim *
tr_graph_claim_find(TrGraph *graph, TrGraphNode *origin, TrGraphNode *owner, const TrPrefix *prefix)
{
	TrGraphClaim key = {.prefix = *prefix, .origin = origin, .owner = owner};

	return g_hash_table_lookup(graph->claims, &key);
}

TrGraphClaim *
tr_graph_claim_add(TrGraph *graph, TrGraphNode *origin, TrGraphNode *owner, const TrPrefix *prefix)
{
	TrGraphClaim *c = g_new0(TrGraphClaim, 1);

	c->prefix = *prefix;
	c->origin = origin;
	c->owner = owner;
	if (owner != origin) {
		owner->refs++;
		if (!owner->owned)
			owner->owned = g_ptr_array_new();
		g_ptr_array_add(owner->owned, c);
	}
	g_ptr_array_add(origin->claims, c);
	g_hash_table_add(graph->claims, c);
	g_tree_insert(graph->by_prefix, c, c);
	graph->length_count[family_index(prefix->family)][prefix->len]++;
	return c;
}

void
tr_graph_claim_set_kind(TrGraph *graph, TrGraphClaim *claim, guint8 kind)
{
	claim->kind = kind;
	/* Once a pool, always in the set: readers check the kind. */
	if (kind == TR_GRAPH_CLAIM_POOL)
		g_hash_table_add(graph->pools, claim);
}

void
tr_graph_node_count_pools(TrGraphNode *node)
{
	guint64 n = 0;

	for (guint i = 0; i < node->claims->len && n < TR_GRAPH_POOL_COUNTED; i++) {
		const TrGraphClaim *c = g_ptr_array_index(node->claims, i);
		guint bits;

		if (!c->alive || c->kind != TR_GRAPH_CLAIM_POOL || c->owner != node)
			continue;
		bits = tr_addr_family_bytes((TrAddrFamily)c->prefix.family) * 8;
		if (c->prefix.len > bits)
			continue;
		n += bits - c->prefix.len >= 18 ? TR_GRAPH_POOL_COUNTED
		                                : G_GUINT64_CONSTANT(1) << (bits - c->prefix.len);
	}
	n = MIN(n, TR_GRAPH_POOL_COUNTED);
	/* A larger bucket, filled by what it grew: the statements for the new pool
	 * usually follow it at once. */
	if (n > node->pool_addrs)
		node->tokens += (double)TR_GRAPH_POOL_STATEMENTS * (double)(n - node->pool_addrs);
	node->pool_addrs = n;
}

guint64
tr_graph_origin_max(const TrGraph *graph, const TrGraphNode *origin)
{
	return graph->config.max_per_origin + TR_GRAPH_POOL_STATEMENTS * origin->pool_addrs;
}

double
tr_graph_origin_rate(const TrGraph *graph, const TrGraphNode *origin)
{
	return graph->config.origin_rate + (double)origin->pool_addrs / TR_GRAPH_POOL_RATE_DIV;
}

double
tr_graph_origin_burst(const TrGraph *graph, const TrGraphNode *origin)
{
	/* All of an origin's statements at once (when it first connects). */
	return graph->config.origin_burst + (double)TR_GRAPH_POOL_STATEMENTS * origin->pool_addrs;
}

void
tr_graph_claim_remove(TrGraph *graph, TrGraphClaim *claim)
{
	TrGraphNode *owner = claim->owner, *origin = claim->origin;
	TrPrefix prefix = claim->prefix;

	g_hash_table_remove(graph->claims, claim);
	g_tree_remove(graph->by_prefix, claim);
	g_hash_table_remove(graph->pools, claim);
	g_ptr_array_remove_fast(origin->claims, claim);
	if (claim->kind == TR_GRAPH_CLAIM_POOL && owner == origin)
		tr_graph_node_count_pools(origin);
	if (owner != origin) {
		g_ptr_array_remove_fast(owner->owned, claim);
		if (!owner->owned->len)
			g_clear_pointer(&owner->owned, g_ptr_array_unref);
	}
	graph->length_count[family_index(prefix.family)][prefix.len]--;
	/* Nothing may keep pointing at it: only claims that overlap it do. */
	{
		g_autoptr(GPtrArray) nearby = g_ptr_array_new();

		tr_graph_claims_overlapping(graph, &prefix, nearby);
		for (guint i = 0; i < nearby->len; i++) {
			TrGraphClaim *o = g_ptr_array_index(nearby, i);

			if (o->beaten_by == claim)
				o->beaten_by = NULL;
			if (o->outside == claim)
				o->outside = NULL;
		}
	}
	/* A leaf reached through it looks for another way. */
	if (claim->alive && claim->accepted && owner != origin)
		tr_graph_mark_leaf_dirty(graph, owner);
	g_free(claim);
	tr_graph_claims_resolve(graph, &prefix);
	if (owner != origin)
		tr_graph_node_unref(graph, owner);
}

void
tr_graph_node_forget(TrGraph *graph, TrGraphNode *node)
{
	g_autoptr(GPtrArray) claims = g_ptr_array_copy(node->claims, NULL, NULL);

	/* Keep the node alive while its statements go. */
	node->refs++;
	while (node->edges->len)
		tr_graph_edge_remove(graph, g_ptr_array_index(node->edges, node->edges->len - 1));
	for (guint i = 0; i < claims->len; i++)
		tr_graph_claim_remove(graph, g_ptr_array_index(claims, i));
	/* Claims others made for it (a hub's for its client) go too: the owner
	 * is unreachable, so they route nowhere. */
	while (node->owned)
		tr_graph_claim_remove(graph, g_ptr_array_index(node->owned, node->owned->len - 1));
	node->reachable = FALSE;
	tr_graph_node_unref(graph, node);
}

guint32
tr_graph_age(gint64 born, gint64 now)
{
	gint64 s = (now - born) / G_USEC_PER_SEC;

	return s < 0 ? 0 : s > G_MAXUINT32 ? G_MAXUINT32 : (guint32)s;
}

void
tr_graph_store_init(TrGraph *graph)
{
	graph->nodes = g_hash_table_new(g_str_hash, g_str_equal);
	graph->order = g_ptr_array_new();
	graph->edges = g_hash_table_new(edge_hash, edge_equal);
	graph->claims = g_hash_table_new(claim_hash, claim_equal);
	graph->by_prefix = g_tree_new_full(claim_order, NULL, NULL, NULL);
	graph->pools = g_hash_table_new(NULL, NULL);
	graph->leaves = g_hash_table_new(NULL, NULL);
	graph->changed = g_hash_table_new_full(prefix_hash, prefix_equal, g_free, NULL);
}

void
tr_graph_store_clear(TrGraph *graph)
{
	GHashTableIter it;
	gpointer key;

	g_clear_pointer(&graph->by_prefix, g_tree_destroy);
	g_clear_pointer(&graph->pools, g_hash_table_destroy);
	g_clear_pointer(&graph->leaves, g_hash_table_destroy);
	g_clear_pointer(&graph->changed, g_hash_table_destroy);
	g_hash_table_iter_init(&it, graph->claims);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_free(key);
	g_clear_pointer(&graph->claims, g_hash_table_destroy);
	g_hash_table_iter_init(&it, graph->edges);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_free(key);
	g_clear_pointer(&graph->edges, g_hash_table_destroy);
	g_clear_pointer(&graph->order, g_ptr_array_unref);
	g_hash_table_iter_init(&it, graph->nodes);
	while (g_hash_table_iter_next(&it, NULL, &key))
		node_free(key);
	g_clear_pointer(&graph->nodes, g_hash_table_destroy);
}
