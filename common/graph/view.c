/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Partial views (vpncloud's partial peer lists): in a network larger than
 * full_view_max, a leaf (a client: it relays nothing) is not told about
 * every node. It is told
 *
 *   - the backbone: edges between relays and the relays' claims (pools),
 *     so it knows every hub and how they connect;
 *   - everything about itself;
 *   - view_size nodes chosen at random, a new choice every view_refresh_s;
 *   - the nodes it asked about (WANT), at most WATCH_MAX of them;
 *
 * and afterwards only changes to those. Everything else it reaches through
 * its hub, which knows the whole graph.
 */
#include "common/graph/store.h"

#define WATCH_MAX    256
#define WATCH_SAMPLE GINT_TO_POINTER(1)
#define WATCH_WANTED GINT_TO_POINTER(2)

static gboolean
is_relay(const TrGraphNode *n)
{
	return (n->options & TR_GRAPH_EDGE_RELAY) != 0;
}

static gboolean
watched(const TrGraphLink *link, TrGraphNode *n)
{
	return link->peer == n || g_hash_table_contains(link->watched, n);
}

gboolean
tr_graph_view_wants_edge(TrGraph *graph, TrGraphLink *link, const TrGraphEdge *edge)
{
	(void)graph;
	if (!link->partial)
		return TRUE;
	if (is_relay(edge->from) && is_relay(edge->to))
		return TRUE;
	return watched(link, edge->from) || watched(link, edge->to);
}

gboolean
tr_graph_view_wants_claim(TrGraph *graph, TrGraphLink *link, const TrGraphClaim *claim)
{
	(void)graph;
	if (!link->partial)
		return TRUE;
	return is_relay(claim->owner) || watched(link, claim->owner) ||
	       watched(link, claim->origin);
}

void
tr_graph_view_watch(TrGraph *graph, TrGraphLink *link, TrGraphNode *node)
{
	(void)graph;
	if (!link->partial || g_hash_table_size(link->watched) >= WATCH_MAX)
		return;
	g_hash_table_insert(link->watched, node, WATCH_WANTED);
}

static void
send_backbone(TrGraph *graph, guint id, TrGraphLink *link, gint64 now)
{
	for (guint i = 0; i < graph->order->len; i++) {
		TrGraphNode *n = g_ptr_array_index(graph->order, i);

		if (n == link->peer) {
			tr_graph_send_node(graph, id, n, TRUE, now);
			continue;
		}
		if (!is_relay(n))
			continue;
		for (guint j = 0; j < n->edges->len; j++) {
			TrGraphEdge *e = g_ptr_array_index(n->edges, j);

			if (tr_graph_view_wants_edge(graph, link, e))
				tr_graph_send_edge(graph, id, e, now);
		}
		for (guint j = 0; j < n->claims->len; j++) {
			TrGraphClaim *c = g_ptr_array_index(n->claims, j);

			if (tr_graph_view_wants_claim(graph, link, c))
				tr_graph_send_claim(graph, id, c, now);
		}
	}
}

static guint
link_id(TrGraph *graph, TrGraphLink *link)
{
	for (guint i = 1; i < graph->links->len; i++)
		if (g_ptr_array_index(graph->links, i) == link)
			return i;
	return 0;
}

void
tr_graph_view_turn(TrGraph *graph, TrGraphLink *link, gint64 now)
{
	guint id = link_id(graph, link);
	guint tries = graph->config.view_size * 4;

	/* The old sample is no longer followed (what was asked for stays). */
	for (guint i = 0; i < link->sample->len; i++) {
		TrGraphNode *n = g_ptr_array_index(link->sample, i);

		if (g_hash_table_lookup(link->watched, n) == WATCH_SAMPLE)
			g_hash_table_remove(link->watched, n);
	}
	g_ptr_array_set_size(link->sample, 0);
	tr_graph_paths_ensure(graph);
	while (link->sample->len < graph->config.view_size && tries-- > 0 && graph->order->len) {
		TrGraphNode *n = g_ptr_array_index(
		        graph->order, g_rand_int_range(graph->rand, 0, (gint32)graph->order->len));

		if (n == link->peer || n == graph->self || is_relay(n) || !n->reachable ||
		    g_hash_table_contains(link->watched, n))
			continue;
		g_hash_table_insert(link->watched, n, WATCH_SAMPLE);
		g_ptr_array_add(link->sample, n);
		tr_graph_send_node(graph, id, n, TRUE, now);
	}
	link->view_turn_at = now + (gint64)graph->config.view_refresh_s * G_USEC_PER_SEC;
}

void
tr_graph_view_start(TrGraph *graph, TrGraphLink *link, gint64 now)
{
	guint id = link_id(graph, link);

	/* A leaf tells only its own. */
	if (!graph->config.relay) {
		tr_graph_send_node(graph, id, graph->self, FALSE, now);
		return;
	}
	if (!link->partial) {
		for (guint i = 0; i < graph->order->len; i++)
			tr_graph_send_node(graph, id, g_ptr_array_index(graph->order, i), FALSE,
			                   now);
		return;
	}
	send_backbone(graph, id, link, now);
	tr_graph_view_turn(graph, link, now);
}

/* The network grew past full_view_max: a leaf that had everything gets a
 * partial view from now on (what it holds expires unless it stays in view);
 * it shrank under three quarters of it: the leaf gets everything again. */
void
tr_graph_view_adjust(TrGraph *graph, TrGraphLink *link, gint64 now)
{
	guint n = g_hash_table_size(graph->nodes), max = graph->config.full_view_max;

	if (!graph->config.relay || (link->flags & TR_GRAPH_LINK_RELAY))
		return;
	if (!link->partial && n > max) {
		link->partial = TRUE;
		tr_graph_view_turn(graph, link, now);
	} else if (link->partial && n < max - max / 4) {
		link->partial = FALSE;
		g_hash_table_remove_all(link->watched);
		g_ptr_array_set_size(link->sample, 0);
		tr_graph_view_start(graph, link, now);
	}
}
