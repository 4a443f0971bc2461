/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The graph messages: every byte a neighbour sends about the graph goes
 * through tr_graph_msg_parse() and then into the graph. Each frame that
 * parses must encode and parse back the same; the frames are then fed to a
 * graph (through a relay link and a leaf link, alternately), and whatever
 * the graph sends in answer must parse too.
 */
#include <string.h>

#include "common/graph/graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_sent(guint link, const uint8_t *frame, size_t len, gpointer user)
{
	TrGraphMsg m;

	(void)link;
	(void)user;
	if (!tr_graph_msg_parse(frame, len, &m, NULL))
		__builtin_trap();
}

static void
roundtrip(const uint8_t *frame, size_t len)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	TrGraphMsg m, again;

	if (!tr_graph_msg_parse(frame, len, &m, NULL))
		return;
	if (!tr_graph_msg_encode(&m, out, NULL) ||
	    !tr_graph_msg_parse(out->data, out->len, &again, NULL) || again.type != m.type ||
	    again.seq != m.seq || strcmp(again.origin, m.origin) != 0 ||
	    strcmp(again.peer, m.peer) != 0 || again.since != m.since)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TrGraphConfig config = {
	        .self = "fuzz-hub",
	        .relay = TRUE,
	        .hub = TRUE,
	        .full_view_max = 4,
	        .view_size = 2,
	        .max_nodes = 64,
	        .max_per_origin = 32,
	        .send = check_sent,
	};
	g_autoptr(TrGraph) graph = tr_graph_new(&config, NULL);
	TrPrefix pool = {.family = 4, .len = 20, .addr = {198, 19, 16, 0}};
	guint links[2];
	size_t off = 0;
	gint64 now = 1000000;
	unsigned n = 0;

	if (!graph)
		__builtin_trap();
	tr_graph_claim(graph, NULL, &pool, TR_GRAPH_CLAIM_POOL, now, NULL);
	links[0] = tr_graph_link_up(graph, "hub-a", TR_GRAPH_LINK_RELAY, NULL, 100, now, NULL);
	links[1] = tr_graph_link_up(graph, "hub-a", 0, NULL, 100, now, NULL); /* refused: twice */
	links[1] = tr_graph_link_up(graph, "leaf-b", 0, NULL, 100, now, NULL);
	if (!links[0] || !links[1])
		__builtin_trap();

	while (off < size) {
		int len = tr_graph_msg_frame_length(data + off, size - off);

		if (len <= 0)
			break;
		roundtrip(data + off, (size_t)len);
		tr_graph_receive(graph, links[n++ % 2], data + off, (size_t)len, now, NULL);
		now += 700000;
		off += (size_t)len;
	}
	{
		g_autofree char *dot = tr_graph_to_dot(graph);
		TrGraphStats stats;

		if (!g_str_has_prefix(dot, "graph trellis {\n"))
			__builtin_trap();
		tr_graph_tick(graph, now + (gint64)3700 * G_USEC_PER_SEC);
		tr_graph_stats(graph, &stats);
		if (stats.nodes > config.max_nodes)
			__builtin_trap();
	}
	tr_graph_link_down(graph, links[0], now);
	tr_graph_close(graph, now);
	return 0;
}
