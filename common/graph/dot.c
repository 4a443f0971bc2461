/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The graph in Graphviz dot, what `trellis graph` prints (like `tinc graph`):
 * render it with `trellis graph | dot -Tsvg -o net.svg`. Hubs are boxes,
 * this node is drawn bold, unreachable nodes grey and dashed; an edge both
 * ends announce is one solid line labelled with its weight, an edge only one
 * end announces is a dashed arrow.
 */
#include "common/graph/store.h"

#include <string.h>

static void
node_line(GString *out, TrGraph *graph, TrGraphNode *n)
{
	const char *shape = n->options & TR_GRAPH_EDGE_HUB ? "box" : "ellipse";

	g_string_append_printf(out, "\t\"%s\" [shape = %s", n->name, shape);
	if (n == graph->self)
		g_string_append(out, ", style = bold");
	else if (!n->reachable)
		g_string_append(out, ", style = dashed, color = grey, fontcolor = grey");
	else
		g_string_append_printf(out, ", tooltip = \"next hop %s, %u hops\"",
		                       n->nexthop->name, n->hops);
	g_string_append(out, "];\n");
}

static gint
by_name(gconstpointer a, gconstpointer b)
{
	const TrGraphNode *x = *(TrGraphNode *const *)a, *y = *(TrGraphNode *const *)b;

	return strcmp(x->name, y->name);
}

static gint
edge_by_name(gconstpointer a, gconstpointer b)
{
	const TrGraphEdge *x = *(TrGraphEdge *const *)a, *y = *(TrGraphEdge *const *)b;

	return strcmp(x->to->name, y->to->name);
}

char *
tr_graph_to_dot(TrGraph *graph)
{
	GString *out = g_string_new("graph trellis {\n");
	g_autoptr(GPtrArray) nodes = g_ptr_array_copy(graph->order, NULL, NULL);

	tr_graph_paths_ensure(graph);
	g_ptr_array_sort(nodes, by_name);
	for (guint i = 0; i < nodes->len; i++)
		node_line(out, graph, g_ptr_array_index(nodes, i));
	for (guint i = 0; i < nodes->len; i++) {
		TrGraphNode *n = g_ptr_array_index(nodes, i);
		g_autoptr(GPtrArray) edges = g_ptr_array_copy(n->edges, NULL, NULL);

		g_ptr_array_sort(edges, edge_by_name);
		for (guint j = 0; j < edges->len; j++) {
			TrGraphEdge *e = g_ptr_array_index(edges, j);
			TrGraphEdge *rev = tr_graph_edge_find(graph, e->to, e->from);

			if (!e->alive)
				continue;
			if (rev && rev->alive) {
				/* Once per pair, from the smaller name. */
				if (strcmp(e->from->name, e->to->name) > 0)
					continue;
				g_string_append_printf(
				        out, "\t\"%s\" -- \"%s\" [label = \"%.1f ms\"];\n",
				        e->from->name, e->to->name,
				        (e->weight + rev->weight) / 2000.0);
			} else {
				g_string_append_printf(
				        out,
				        "\t\"%s\" -- \"%s\" [dir = forward, style = dashed];\n",
				        e->from->name, e->to->name);
			}
		}
	}
	g_string_append(out, "}\n");
	return g_string_free(out, FALSE);
}
