/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The meta graph at scale, in one process: HUBS hubs (a ring with chords:
 * hub i links to i+1 and i+10) and CLIENTS clients spread over them, each
 * node a TrGraph, links queues of frames delivered in rounds, time a number.
 * No devices, no sockets: the graph and message code driven directly.
 * It measures
 *
 *   - convergence after a hub-to-hub link goes down and comes back, and
 *     after a client fails over to another hub: rounds (one round = every
 *     frame in flight delivered once, i.e. one hop everywhere) and the CPU
 *     time of processing them at all nodes together, shortest paths at every
 *     hub included;
 *   - control bytes per node and second at steady state (refreshes and
 *     partial views turning), over two refresh intervals of simulated time;
 *   - memory per known node: a fresh graph fed everything one hub knows,
 *     measured with mallinfo2(), and the same for a client's partial view.
 *
 * Not a test: it prints, asserts only that the network converged.
 *
 *   bench-graph [CLIENTS [HUBS]]   (default 10000 100)
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/graph/graph.h"

#define SEC G_USEC_PER_SEC

typedef struct {
	int peer;        /* node index */
	guint peer_link; /* the link's id at the peer */
} Link;

typedef struct {
	char name[24];
	TrGraph *graph;
	GArray *links; /* Link, index = link id */
	guint64 bytes_out;
} Node;

typedef struct {
	int from;
	guint link; /* the sender's: the receiver is looked up on delivery */
	guint16 len;
	uint8_t data[];
} Frame;

static Node *nodes;
static int n_nodes, n_hubs;
static GPtrArray *inflight, *next_round;
static gint64 now = 1000 * SEC;
static GPtrArray *capture; /* frames sent on a link nobody holds: for the memory figures */

static void
on_send(guint link, const uint8_t *frame, size_t len, gpointer user)
{
	Node *n = user;
	Frame *f;

	n->bytes_out += len;
	if (capture) {
		g_ptr_array_add(capture, g_bytes_new(frame, len));
		return;
	}
	f = g_malloc(sizeof(Frame) + len);
	f->from = (int)(n - nodes);
	f->link = link;
	f->len = (guint16)len;
	memcpy(f->data, frame, len);
	g_ptr_array_add(next_round, f);
}

/* Delivers round after round until nothing is in flight; returns rounds. */
static unsigned
converge(guint64 *delivered)
{
	unsigned rounds = 0;

	while (next_round->len) {
		GPtrArray *t = inflight;

		inflight = next_round;
		next_round = t;
		rounds++;
		for (guint i = 0; i < inflight->len; i++) {
			Frame *f = g_ptr_array_index(inflight, i);
			GArray *links = nodes[f->from].links;
			Link *l =
			        f->link < links->len ? &g_array_index(links, Link, f->link) : NULL;
			Node *to = l && l->peer >= 0 ? &nodes[l->peer] : NULL;
			g_autoptr(GError) error = NULL;

			/* Frames in flight on a link that closed are lost with it. */
			if (!to) {
				g_free(f);
				continue;
			}
			if (!tr_graph_receive(to->graph, l->peer_link, f->data, f->len, now,
			                      &error)) {
				fprintf(stderr, "%s: %s\n", to->name, error->message);
				exit(1);
			}
			if (delivered)
				(*delivered)++;
			g_free(f);
		}
		g_ptr_array_set_size(inflight, 0);
		if (rounds > 10000) {
			fprintf(stderr, "no convergence after 10000 rounds\n");
			exit(1);
		}
	}
	return rounds;
}

static void
set_link(Node *n, guint id, int peer, guint peer_link)
{
	Link none = {.peer = -1};

	while (n->links->len <= id)
		g_array_append_val(n->links, none);
	g_array_index(n->links, Link, id).peer = peer;
	g_array_index(n->links, Link, id).peer_link = peer_link;
}

static void
connect_pair(int a, int b, guint32 weight)
{
	Node *na = &nodes[a], *nb = &nodes[b];
	TrGraphEndpoint ea = {
	        .family = 4, .port = 3210, .addr = {198, 18, (uint8_t)(a >> 8), (uint8_t)a}};
	TrGraphEndpoint eb = {
	        .family = 4, .port = 3210, .addr = {198, 18, (uint8_t)(b >> 8), (uint8_t)b}};
	g_autoptr(GError) error = NULL;
	guint la, lb;

	/* Frames queued now find their receiver on delivery, after both ends
	 * hold the link, as after a handshake. */
	la = tr_graph_link_up(na->graph, nb->name, b < n_hubs ? TR_GRAPH_LINK_RELAY : 0, &eb,
	                      weight, now, &error);
	g_assert_no_error(error);
	lb = tr_graph_link_up(nb->graph, na->name, a < n_hubs ? TR_GRAPH_LINK_RELAY : 0, &ea,
	                      weight, now, &error);
	g_assert_no_error(error);
	set_link(na, la, b, lb);
	set_link(nb, lb, a, la);
}

static guint
link_to(int a, int b)
{
	for (guint i = 1; i < nodes[a].links->len; i++)
		if (g_array_index(nodes[a].links, Link, i).peer == b)
			return i;
	return 0;
}

static void
disconnect_pair(int a, int b)
{
	guint la = link_to(a, b), lb = link_to(b, a);

	tr_graph_link_down(nodes[a].graph, la, now);
	tr_graph_link_down(nodes[b].graph, lb, now);
	g_array_index(nodes[a].links, Link, la).peer = -1;
	g_array_index(nodes[b].links, Link, lb).peer = -1;
}

static TrGraph *
make_graph(Node *n, int index, gboolean hub)
{
	TrGraphConfig config = {
	        .self = n->name,
	        .relay = hub,
	        .hub = hub,
	        .seq_start = 1 + (guint64)index * 1000000,
	        .seed = (guint32)index,
	        .send = on_send,
	        .user = n,
	};
	g_autoptr(GError) error = NULL;
	TrGraph *g = tr_graph_new(&config, &error);

	g_assert_no_error(error);
	return g;
}

static TrPrefix
pool_of(int hub)
{
	/* 198.19.0.0/16 in /23 slices: 512 addresses per hub, 128 hubs at most. */
	TrPrefix p = {.family = 4, .len = 23, .addr = {198, 19, (uint8_t)(hub * 2), 0}};

	return p;
}

static TrPrefix
address_of(int hub, int nth)
{
	TrPrefix p = pool_of(hub);

	p.len = 32;
	p.addr[2] = (uint8_t)(p.addr[2] + (nth + 2) / 256);
	p.addr[3] = (uint8_t)((nth + 2) % 256);
	return p;
}

/* CPU time of the process in µs: the machine may be shared, and what the
 * graph costs is its CPU time (the simulation is one thread). */
static gint64
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (gint64)ts.tv_sec * SEC + ts.tv_nsec / 1000;
}

static double
seconds_since(gint64 t0)
{
	return (double)(cpu_now() - t0) / SEC;
}

/* Shortest paths at every hub (what a change costs before traffic sees it). */
static double
paths_everywhere(void)
{
	gint64 t0 = cpu_now();

	for (int i = 0; i < n_hubs; i++) {
		TrGraphStats st;

		tr_graph_stats(nodes[i].graph, &st);
	}
	return seconds_since(t0);
}

static const char *
nexthop_at(int at, const char *name, gboolean *reachable)
{
	static TrGraphNodeInfo info;

	*reachable = tr_graph_node_info(nodes[at].graph, name, &info) && info.reachable;
	return info.nexthop;
}

/* Memory of a fresh graph told everything @from would tell a new link of
 * kind @relay: total bytes and nodes. */
static void
memory_of_view(int from, gboolean relay, size_t *bytes, guint *known)
{
	g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	Node probe = {.links = g_array_new(FALSE, TRUE, sizeof(Link))};
	guint id;
	struct mallinfo2 m0, m1;
	TrGraphStats st;

	g_snprintf(probe.name, sizeof(probe.name), "probe-%s", relay ? "hub" : "client");
	/* The hub's side: what it sends a new link (and floods about it to the
	 * others, which is dropped: they need not hear of the probe). */
	capture = frames;
	id = tr_graph_link_up(nodes[from].graph, probe.name, relay ? TR_GRAPH_LINK_RELAY : 0, NULL,
	                      1000, now, NULL);
	g_assert_cmpuint(id, >, 0);
	capture = NULL;
	tr_graph_link_down(nodes[from].graph, id, now);
	for (guint i = 0; i < next_round->len; i++)
		g_free(g_ptr_array_index(next_round, i));
	g_ptr_array_set_size(next_round, 0);

	malloc_trim(0);
	m0 = mallinfo2();
	probe.graph = make_graph(&probe, n_nodes + 1, relay);
	capture = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref); /* its own sends */
	id = tr_graph_link_up(probe.graph, nodes[from].name, TR_GRAPH_LINK_RELAY, NULL, 1000, now,
	                      NULL);
	for (guint i = 0; i < frames->len; i++) {
		gsize len;
		const uint8_t *d = g_bytes_get_data(g_ptr_array_index(frames, i), &len);

		tr_graph_receive(probe.graph, id, d, len, now, NULL);
	}
	tr_graph_stats(probe.graph, &st);
	g_clear_pointer(&capture, g_ptr_array_unref);
	m1 = mallinfo2();
	*bytes = m1.uordblks - m0.uordblks;
	*known = st.nodes;
	tr_graph_free(probe.graph);
	g_array_unref(probe.links);
}

int
main(int argc, char **argv)
{
	int clients = argc > 1 ? atoi(argv[1]) : 10000;
	gint64 t0;
	unsigned rounds;
	guint64 delivered = 0, bytes0, bytes1;
	double cpu, paths;
	int moved;
	gboolean ok;
	TrGraphStats st;

	setvbuf(stdout, NULL, _IOLBF, 0); /* each figure as soon as it is measured */
	n_hubs = argc > 2 ? atoi(argv[2]) : 100;
	if (n_hubs < 21 || n_hubs > 128 || clients < 1) {
		fprintf(stderr, "usage: bench-graph [CLIENTS [HUBS (21..128)]]\n");
		return 2;
	}
	g_log_set_handler(NULL, G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
	                  (GLogFunc)g_log_default_handler, NULL);
	n_nodes = n_hubs + clients;
	nodes = g_new0(Node, (gsize)n_nodes);
	inflight = g_ptr_array_new();
	next_round = g_ptr_array_new();
	for (int i = 0; i < n_nodes; i++) {
		Node *n = &nodes[i];
		Link none = {.peer = -1};

		if (i < n_hubs)
			g_snprintf(n->name, sizeof(n->name), "hub-%03d", i);
		else
			g_snprintf(n->name, sizeof(n->name), "client-%05d", i - n_hubs);
		n->links = g_array_new(FALSE, TRUE, sizeof(Link));
		g_array_append_val(n->links, none); /* ids start at 1 */
		n->graph = make_graph(n, i, i < n_hubs);
	}
	printf("bench-graph: %d hubs (ring + chords, 4 links each), %d clients, %d nodes\n", n_hubs,
	       clients, n_nodes);

	/* Build: hubs and their pools, then clients one hub round at a time. */
	t0 = cpu_now();
	for (int i = 0; i < n_hubs; i++) {
		TrPrefix p = pool_of(i);

		tr_graph_claim(nodes[i].graph, NULL, &p, TR_GRAPH_CLAIM_POOL, now, NULL);
	}
	for (int i = 0; i < n_hubs; i++) {
		connect_pair(i, (i + 1) % n_hubs, 1000 + 37 * (guint32)i);
		connect_pair(i, (i + 10) % n_hubs, 5000);
	}
	converge(&delivered);
	for (int c = 0; c < clients; c++) {
		int hub = c % n_hubs;
		TrPrefix a = address_of(hub, c / n_hubs);

		connect_pair(n_hubs + c, hub, 20000);
		tr_graph_claim(nodes[hub].graph, nodes[n_hubs + c].name, &a, TR_GRAPH_CLAIM_ADDRESS,
		               now, NULL);
		if (c % n_hubs == n_hubs - 1 || c == clients - 1)
			converge(&delivered);
	}
	paths = paths_everywhere();
	tr_graph_stats(nodes[0].graph, &st);
	printf("build: %.1f s CPU, %" G_GUINT64_FORMAT " frames delivered; hub-000 knows %u nodes, "
	       "%u reachable, %u edges, %u claims (%u refused)\n",
	       seconds_since(t0), delivered, st.nodes, st.reachable, st.edges, st.claims,
	       st.refused_claims);
	if (st.reachable != (guint)n_nodes || st.refused_claims) {
		fprintf(stderr, "did not converge\n");
		return 1;
	}
	printf("shortest paths at all %d hubs: %.3f s (%.2f ms per hub of %u nodes)\n", n_hubs,
	       paths, paths * 1000 / n_hubs, st.nodes);

	/* Steady state: two refresh intervals of simulated time, ticking every
	 * 10 s; everything sent counts (refreshes, views turning). */
	{
		const int span = 3600, step = 10;
		guint64 hub_bytes = 0, client_bytes = 0, max_hub = 0;
		guint64 hub_in = 0, client_in = 0, max_client_in = 0, *in0;

		for (int i = 0; i < n_nodes; i++)
			tr_graph_tick(nodes[i].graph, now); /* timers start */
		converge(NULL);
		in0 = g_new0(guint64, (gsize)n_nodes);
		for (int i = 0; i < n_nodes; i++) {
			nodes[i].bytes_out = 0;
			tr_graph_stats(nodes[i].graph, &st);
			in0[i] = st.bytes_in;
		}
		t0 = cpu_now();
		for (int s = 0; s < span; s += step) {
			now += step * SEC;
			for (int i = 0; i < n_nodes; i++)
				tr_graph_tick(nodes[i].graph, now);
			converge(NULL);
		}
		for (int i = 0; i < n_nodes; i++) {
			tr_graph_stats(nodes[i].graph, &st);
			if (i < n_hubs) {
				hub_bytes += nodes[i].bytes_out;
				max_hub = MAX(max_hub, nodes[i].bytes_out);
				hub_in += st.bytes_in - in0[i];
			} else {
				client_bytes += nodes[i].bytes_out;
				client_in += st.bytes_in - in0[i];
				max_client_in = MAX(max_client_in, st.bytes_in - in0[i]);
			}
		}
		g_free(in0);
		bytes0 = hub_bytes + client_bytes;
		printf("steady state over %d s simulated (%.1f s CPU): %.1f bytes/s per node on "
		       "average (sent = received);\n"
		       "  hubs send %.0f bytes/s each on average (%.0f at most) and receive %.0f;\n"
		       "  clients send %.2f bytes/s each and receive %.1f on average (%.1f at "
		       "most)\n",
		       span, seconds_since(t0), (double)bytes0 / n_nodes / span,
		       (double)hub_bytes / n_hubs / span, (double)max_hub / span,
		       (double)hub_in / n_hubs / span, (double)client_bytes / clients / span,
		       (double)client_in / clients / span, (double)max_client_in / span);
		tr_graph_stats(nodes[n_hubs].graph, &st);
		printf("a client (client-00000) knows %u nodes (%u reachable), %u edges\n",
		       st.nodes, st.reachable, st.edges);
		tr_graph_stats(nodes[0].graph, &st);
		if (st.reachable != (guint)n_nodes) {
			fprintf(stderr, "lost nodes at steady state: %u of %d\n", st.reachable,
			        n_nodes);
			return 1;
		}
	}

	/* A hub-to-hub link goes down and comes back. */
	{
		gboolean r;

		bytes0 = 0;
		for (int i = 0; i < n_nodes; i++)
			bytes0 += nodes[i].bytes_out;
		delivered = 0;
		t0 = cpu_now();
		disconnect_pair(0, 1);
		rounds = converge(&delivered);
		paths = paths_everywhere();
		cpu = seconds_since(t0);
		nexthop_at(1, "hub-000", &r);
		bytes1 = 0;
		for (int i = 0; i < n_nodes; i++)
			bytes1 += nodes[i].bytes_out;
		printf("link hub-000 -- hub-001 down: converged in %u rounds, %.3f s CPU (paths "
		       "%.3f s), "
		       "%" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT " bytes; hub-001 reaches "
		       "hub-000 %s via %s\n",
		       rounds, cpu, paths, delivered, bytes1 - bytes0, r ? "still" : "NOT",
		       nexthop_at(1, "hub-000", &r));
		bytes0 = bytes1;
		delivered = 0;
		t0 = cpu_now();
		connect_pair(0, 1, 1000);
		rounds = converge(&delivered);
		paths = paths_everywhere();
		cpu = seconds_since(t0);
		bytes1 = 0;
		for (int i = 0; i < n_nodes; i++)
			bytes1 += nodes[i].bytes_out;
		printf("link hub-000 -- hub-001 up again: converged in %u rounds, %.3f s CPU "
		       "(paths "
		       "%.3f s), %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
		       " bytes (the two "
		       "hubs exchange all they know); hub-001 reaches hub-000 via %s\n",
		       rounds, cpu, paths, delivered, bytes1 - bytes0,
		       nexthop_at(1, "hub-000", &ok));
	}

	/* A client fails over: its hub's link drops, it comes up at the next
	 * hub with an address from that hub's pool. */
	{
		int c = n_hubs + 5, from = 5, to = 6;
		TrPrefix old = address_of(from, 0), fresh = address_of(to, 200);
		const char *owner;

		delivered = 0;
		t0 = cpu_now();
		disconnect_pair(c, from);
		tr_graph_unclaim(nodes[from].graph, nodes[c].name, &old, now);
		rounds = converge(&delivered);
		paths_everywhere();
		cpu = seconds_since(t0);
		nexthop_at(n_hubs / 2, nodes[c].name, &ok);
		printf("client %s loses hub-%03d: converged in %u rounds, %.3f s CPU, "
		       "%" G_GUINT64_FORMAT " frames; hub-%03d sees it %s\n",
		       nodes[c].name, from, rounds, cpu, delivered, n_hubs / 2,
		       ok ? "REACHABLE" : "unreachable");
		delivered = 0;
		t0 = cpu_now();
		connect_pair(c, to, 20000);
		tr_graph_claim(nodes[to].graph, nodes[c].name, &fresh, TR_GRAPH_CLAIM_ADDRESS, now,
		               NULL);
		rounds = converge(&delivered);
		paths_everywhere();
		cpu = seconds_since(t0);
		owner = tr_graph_route(nodes[n_hubs / 2].graph, fresh.family, fresh.addr);
		printf("... and comes up at hub-%03d: converged in %u rounds, %.3f s CPU, "
		       "%" G_GUINT64_FORMAT
		       " frames; hub-%03d routes its new address to %s, next hop %s\n",
		       to, rounds, cpu, delivered, n_hubs / 2, owner ? owner : "nobody",
		       nexthop_at(n_hubs / 2, nodes[c].name, &ok));
		moved = ok && owner && strcmp(owner, nodes[c].name) == 0;
		if (!moved) {
			fprintf(stderr, "the failed-over client is not found\n");
			return 1;
		}
	}

	/* Memory per known node. */
	{
		size_t bytes;
		guint known;

		memory_of_view(0, TRUE, &bytes, &known);
		printf("memory: a hub's graph of %u nodes holds %.1f MiB: %.0f bytes per known "
		       "node\n",
		       known, bytes / 1048576.0, (double)bytes / known);
		memory_of_view(0, FALSE, &bytes, &known);
		printf("memory: a client's partial view of %u nodes holds %.1f KiB: %.0f bytes per "
		       "known node\n",
		       known, bytes / 1024.0, (double)bytes / known);
	}

	for (int i = 0; i < n_nodes; i++) {
		tr_graph_free(nodes[i].graph);
		g_array_unref(nodes[i].links);
	}
	g_free(nodes);
	g_ptr_array_unref(inflight);
	g_ptr_array_unref(next_round);
	return 0;
}
