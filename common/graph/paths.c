/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shortest paths from this node (tinc's sssp, weighted): Dijkstra over the
 * edges that both ends announce (an edge counts only with its reverse, so
 * one side cannot invent a connection), by the sum of weights, then by hop
 * count. Each node gets the neighbour to send through (next hop), the last
 * node on the way that is reachable directly (via: after an indirect edge,
 * packets go to the node before it) and whether it is reachable at all.
 */
#include "common/graph/store.h"

/* A binary heap of nodes keyed by (distance, hops). */
typedef struct {
	GPtrArray *a;
} Heap;

static gboolean
less(const TrGraphNode *x, const TrGraphNode *y)
{
	return x->distance != y->distance ? x->distance < y->distance : x->hops < y->hops;
}

static void
heap_swap(Heap *h, guint i, guint j)
{
	TrGraphNode *x = g_ptr_array_index(h->a, i), *y = g_ptr_array_index(h->a, j);

	h->a->pdata[i] = y;
	h->a->pdata[j] = x;
	y->heap = (gint)i;
	x->heap = (gint)j;
}

static void
heap_up(Heap *h, guint i)
{
	while (i > 0 && less(g_ptr_array_index(h->a, i), g_ptr_array_index(h->a, (i - 1) / 2))) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(Heap *h, guint i)
{
	for (;;) {
		guint l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->a->len && less(g_ptr_array_index(h->a, l), g_ptr_array_index(h->a, m)))
			m = l;
		if (r < h->a->len && less(g_ptr_array_index(h->a, r), g_ptr_array_index(h->a, m)))
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

static void
heap_push_or_raise(Heap *h, TrGraphNode *n)
{
	if (n->heap < 0) {
		n->heap = (gint)h->a->len;
		g_ptr_array_add(h->a, n);
	}
	heap_up(h, (guint)n->heap);
}

static TrGraphNode *
heap_pop(Heap *h)
{
	TrGraphNode *top = g_ptr_array_index(h->a, 0);

	heap_swap(h, 0, h->a->len - 1);
	g_ptr_array_set_size(h->a, h->a->len - 1);
	if (h->a->len)
		heap_down(h, 0);
	top->heap = -1;
	return top;
}

static gboolean
has_edges(const TrGraphNode *n)
{
	for (guint i = 0; i < n->edges->len; i++)
		if (((TrGraphEdge *)g_ptr_array_index(n->edges, i))->alive)
			return TRUE;
	return FALSE;
}

/*
 * Leaves without a graph of their own (clients that do not speak it) state
 * no edges; the hub that claims their addresses speaks for them. Such a
 * node is reachable through the nearest reachable node whose claim for it
 * stands, one hop beyond it. Reads only the paths of nodes reached by edges,
 * so one leaf can be done alone while those stand.
 */
static void
reach_leaf(TrGraph *graph, TrGraphNode *n)
{
	TrGraphNode *best = NULL;

	if (n->visited || !n->owned || has_edges(n))
		return;
	for (guint i = 0; i < n->owned->len; i++) {
		const TrGraphClaim *c = g_ptr_array_index(n->owned, i);
		TrGraphNode *o = c->origin;

		/* Only origins on a path of edges (not another leaf). */
		if (!c->alive || !c->accepted || !o->visited || (o != graph->self && !o->prevedge))
			continue;
		if (!best || o->distance < best->distance ||
		    (o->distance == best->distance && o->hops < best->hops))
			best = o;
	}
	if (!best)
		return;
	n->visited = TRUE;
	n->distance = best->distance;
	n->hops = best->hops + 1;
	n->nexthop = best == graph->self ? n : best->nexthop;
	n->via = best == graph->self ? n : best->via;
}

static void
reset_path(TrGraphNode *n)
{
	n->visited = FALSE;
	n->distance = G_MAXUINT64;
	n->hops = G_MAXUINT;
	n->nexthop = n->via = NULL;
	n->prevedge = NULL;
	n->indirect = FALSE;
	n->heap = -1;
}

/* The outcome for one node: reachable or not since when, and the count. */
static void
settle(TrGraph *graph, TrGraphNode *n)
{
	if (n->counted != !n->visited) {
		n->counted = !n->visited;
		if (n->counted)
			graph->unreachable++;
		else
			graph->unreachable--;
	}
	/* Learnt while unreachable: the forget timer starts now. */
	if (!n->visited && n->unreachable_since == G_MININT64)
		n->unreachable_since = graph->now;
	if (n->visited == n->reachable)
		return;
	n->reachable = n->visited;
	if (n->reachable) {
		n->unreachable_since = G_MININT64;
		g_debug("graph: node '%s' became reachable through '%s'", n->name,
		        n->nexthop->name);
	} else {
		n->unreachable_since = graph->dirty_at;
		g_debug("graph: node '%s' became unreachable", n->name);
	}
}

/* What a route to one of @n's prefixes reads moved: they are noted. */
static void
note_owner(TrGraph *graph, TrGraphNode *n)
{
	for (guint i = 0; n->owned && i < n->owned->len; i++)
		tr_graph_note_change(graph,
		                     &((TrGraphClaim *)g_ptr_array_index(n->owned, i))->prefix);
	for (guint i = 0; i < n->claims->len; i++) {
		TrGraphClaim *c = g_ptr_array_index(n->claims, i);

		if (c->owner == n)
			tr_graph_note_change(graph, &c->prefix);
	}
}

/* One leaf's path alone (the others stand). */
static void
update_leaf(TrGraph *graph, TrGraphNode *n)
{
	TrGraphNode *nexthop = n->nexthop;
	gboolean reachable = n->reachable;
	guint hops = n->hops;

	/* A node reached by edges (or left unreachable by them) is Dijkstra's. */
	if (n == graph->self || has_edges(n))
		return;
	reset_path(n);
	reach_leaf(graph, n);
	settle(graph, n);
	if (n->reachable != reachable || n->nexthop != nexthop || n->hops != hops)
		note_owner(graph, n);
}

void
tr_graph_paths_update(TrGraph *graph)
{
	Heap h = {g_ptr_array_sized_new(64)};
	GHashTableIter it;
	gpointer value;
	TrGraphNode *self = graph->self;

	g_hash_table_iter_init(&it, graph->nodes);
	while (g_hash_table_iter_next(&it, NULL, &value))
		reset_path(value);
	self->distance = 0;
	self->hops = 0;
	self->nexthop = self->via = self;
	heap_push_or_raise(&h, self);

	while (h.a->len) {
		TrGraphNode *n = heap_pop(&h);

		n->visited = TRUE;
		for (guint i = 0; i < n->edges->len; i++) {
			TrGraphEdge *e = g_ptr_array_index(n->edges, i), *rev;
			TrGraphNode *to = e->to;
			guint64 d;

			if (!e->alive || to->visited)
				continue;
			rev = tr_graph_edge_find(graph, to, n);
			if (!rev || !rev->alive)
				continue;
			d = n->distance + e->weight;
			if (d > to->distance || (d == to->distance && n->hops + 1 >= to->hops))
				continue;
			to->distance = d;
			to->hops = n->hops + 1;
			to->prevedge = e;
			to->nexthop = n == self ? to : n->nexthop;
			to->indirect =
			        (n != self && n->indirect) || (e->options & TR_GRAPH_EDGE_INDIRECT);
			to->via = to->indirect ? n->via : to;
			heap_push_or_raise(&h, to);
		}
	}
	g_ptr_array_unref(h.a);

	g_hash_table_iter_init(&it, graph->nodes);
	while (g_hash_table_iter_next(&it, NULL, &value))
		reach_leaf(graph, value);
	g_hash_table_iter_init(&it, graph->nodes);
	while (g_hash_table_iter_next(&it, NULL, &value))
		settle(graph, value);
	graph->paths_dirty = FALSE;
	g_hash_table_remove_all(graph->leaves);
	/* Anything may have moved: routes are looked at anew. */
	graph->changed_all = TRUE;
	g_hash_table_remove_all(graph->changed);
	graph->stats.path_updates++;
}

void
tr_graph_mark_dirty(TrGraph *graph)
{
	graph->generation++;
	if (!graph->paths_dirty && !g_hash_table_size(graph->leaves))
		graph->dirty_at = graph->now;
	graph->paths_dirty = TRUE;
}

void
tr_graph_mark_leaf_dirty(TrGraph *graph, TrGraphNode *node)
{
	graph->generation++;
	if (graph->paths_dirty)
		return;
	if (!g_hash_table_size(graph->leaves))
		graph->dirty_at = graph->now;
	g_hash_table_add(graph->leaves, node);
}

void
tr_graph_paths_node_gone(TrGraph *graph, TrGraphNode *node)
{
	graph->generation++;
	g_hash_table_remove(graph->leaves, node);
	if (node->counted)
		graph->unreachable--;
}

void
tr_graph_paths_ensure(TrGraph *graph)
{
	GHashTableIter it;
	gpointer key;

	if (graph->paths_dirty) {
		tr_graph_paths_update(graph);
		return;
	}
	if (!g_hash_table_size(graph->leaves))
		return;
	g_hash_table_iter_init(&it, graph->leaves);
	while (g_hash_table_iter_next(&it, &key, NULL))
		update_leaf(graph, key);
	g_hash_table_remove_all(graph->leaves);
}
