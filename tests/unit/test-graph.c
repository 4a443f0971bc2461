/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The graph between several nodes, in one process: each node is a TrGraph,
 * links are queues of frames, time is a number the test moves. Covers the
 * issue's cases (the A-B-C chain, three hubs in a line losing the middle and
 * healing through a third link, a stolen subnet refused everywhere alike, a
 * pool collision) and flooding, versions, corrections, BYE, expiry, partial
 * views, limits and the dot output.
 */
#include <string.h>

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/graph/graph.h"

#include "tests/unit/assert-message.h"

#define MAX_NODES 40
#define SEC       G_USEC_PER_SEC

typedef struct Net Net;

typedef struct {
	Net *net;
	int index;
	char name[32];
	TrGraph *graph;
	int peer_of_link[64]; /* link id -> node index, -1: none */
	guint link_to[MAX_NODES];
} Node;

typedef struct {
	int from;
	guint from_link; /* the sender's link id, to drop frames of a closed link */
	GBytes *frame;
} Frame;

struct Net {
	Node nodes[MAX_NODES];
	int count;
	GQueue queue;
	gint64 now;
	guint64 delivered;
	gboolean reverse; /* deliver the newest frame first */
};

static void
on_send(guint link, const uint8_t *frame, size_t len, gpointer user)
{
	Node *n = user;
	Frame *f = g_new0(Frame, 1);

	/* The peer is looked up on delivery: during tr_graph_link_up() the
	 * sender does not know the link's id yet. */
	g_assert_cmpuint(link, <, G_N_ELEMENTS(n->peer_of_link));
	f->from = n->index;
	f->from_link = link;
	f->frame = g_bytes_new(frame, len);
	g_queue_push_tail(&n->net->queue, f);
}

static Node *
add_node(Net *net, const char *name, gboolean relay, gboolean hub, TrGraphConfig *extra)
{
	Node *n = &net->nodes[net->count];
	TrGraphConfig config = extra ? *extra : (TrGraphConfig){0};
	g_autoptr(GError) error = NULL;

	memset(n, 0, sizeof(*n));
	n->net = net;
	n->index = net->count++;
	g_strlcpy(n->name, name, sizeof(n->name));
	for (guint i = 0; i < G_N_ELEMENTS(n->peer_of_link); i++)
		n->peer_of_link[i] = -1;
	config.self = n->name;
	config.relay = relay;
	config.hub = hub;
	if (!config.seq_start)
		config.seq_start = 1000 * (guint64)(n->index + 1);
	config.seed = (guint32)n->index;
	config.send = on_send;
	config.user = n;
	n->graph = tr_graph_new(&config, &error);
	g_assert_no_error(error);
	return n;
}

static void
free_frame(gpointer p)
{
	Frame *f = p;

	g_bytes_unref(f->frame);
	g_free(f);
}

/* Delivers frames until none is left (bounded: a loop would show). */
static void
run(Net *net)
{
	guint64 budget = 1000000;

	while (!g_queue_is_empty(&net->queue)) {
		Frame *f = net->reverse ? g_queue_pop_tail(&net->queue)
		                        : g_queue_pop_head(&net->queue);
		Node *from = &net->nodes[f->from];
		int peer = from->peer_of_link[f->from_link];
		Node *to = peer >= 0 ? &net->nodes[peer] : NULL;
		g_autoptr(GError) error = NULL;
		gsize len;
		const uint8_t *data = g_bytes_get_data(f->frame, &len);

		g_assert_cmpuint(budget--, >, 0);
		/* Frames in flight on a link that closed are lost with it. */
		if (to && to->graph && to->link_to[f->from]) {
			g_assert_true(tr_graph_receive(to->graph, to->link_to[f->from], data, len,
			                               net->now, &error));
			g_assert_no_error(error);
			net->delivered++;
		}
		free_frame(f);
	}
}

static TrGraphLinkFlags
flags_for(const Node *peer)
{
	return strncmp(peer->name, "client", 6) == 0 || strncmp(peer->name, "leaf", 4) == 0
	               ? 0
	               : TR_GRAPH_LINK_RELAY;
}

static void
connect_nodes(Node *a, Node *b, guint32 weight)
{
	g_autoptr(GError) error = NULL;
	TrGraphEndpoint ea = {.family = TR_ADDR_IPV4, .port = 3210, .addr = {198, 18, 0, 1}};
	TrGraphEndpoint eb = ea;
	guint la, lb;

	ea.addr[3] = (uint8_t)(a->index + 1);
	eb.addr[3] = (uint8_t)(b->index + 1);
	/* Both ends know the link before any frame moves, as after a handshake. */
	la = tr_graph_link_up(a->graph, b->name, flags_for(b), &eb, weight, a->net->now, &error);
	g_assert_no_error(error);
	a->peer_of_link[la] = b->index;
	a->link_to[b->index] = la;
	lb = tr_graph_link_up(b->graph, a->name, flags_for(a), &ea, weight, b->net->now, &error);
	g_assert_no_error(error);
	b->peer_of_link[lb] = a->index;
	b->link_to[a->index] = lb;
	run(a->net);
}

static void
disconnect_nodes(Node *a, Node *b)
{
	guint la = a->link_to[b->index], lb = b->link_to[a->index];

	if (a->graph)
		tr_graph_link_down(a->graph, la, a->net->now);
	if (b->graph)
		tr_graph_link_down(b->graph, lb, b->net->now);
	a->peer_of_link[la] = -1;
	a->link_to[b->index] = 0;
	b->peer_of_link[lb] = -1;
	b->link_to[a->index] = 0;
	run(a->net);
}

/* A node dies: its neighbours see their links go down. */
static void
kill_node(Node *dead)
{
	Net *net = dead->net;

	for (int i = 0; i < net->count; i++) {
		Node *o = &net->nodes[i];

		if (o != dead && dead->link_to[i]) {
			tr_graph_link_down(o->graph, o->link_to[dead->index], net->now);
			o->peer_of_link[o->link_to[dead->index]] = -1;
			o->link_to[dead->index] = 0;
			dead->peer_of_link[dead->link_to[i]] = -1;
			dead->link_to[i] = 0;
		}
	}
	g_clear_pointer(&dead->graph, tr_graph_free);
	run(net);
}

static void
tick_all(Net *net, gint64 advance)
{
	net->now += advance;
	for (int i = 0; i < net->count; i++)
		if (net->nodes[i].graph)
			tr_graph_tick(net->nodes[i].graph, net->now);
	run(net);
}

static void
net_clear(Net *net)
{
	g_queue_clear_full(&net->queue, free_frame);
	for (int i = 0; i < net->count; i++)
		g_clear_pointer(&net->nodes[i].graph, tr_graph_free);
}

static void
net_init(Net *net)
{
	memset(net, 0, sizeof(*net));
	g_queue_init(&net->queue);
	net->now = 100 * SEC;
}

static TrPrefix
prefix(const char *text)
{
	TrPrefix p;

	g_assert_true(tr_prefix_parse(text, TR_PREFIX_ALLOW_HOST_BITS, &p, NULL));
	return p;
}

static gboolean
reachable(Node *n, const char *name, const char *nexthop)
{
	TrGraphNodeInfo info;

	if (!tr_graph_node_info(n->graph, name, &info) || !info.reachable)
		return FALSE;
	if (nexthop)
		g_assert_cmpstr(info.nexthop, ==, nexthop);
	return TRUE;
}

static gboolean
known(Node *n, const char *name)
{
	TrGraphNodeInfo info;

	return tr_graph_node_info(n->graph, name, &info);
}

static const char *
route(Node *n, const char *addr)
{
	TrPrefix p = prefix(addr);

	return tr_graph_route(n->graph, p.family, p.addr);
}

static void
claim(Node *n, const char *owner, const char *text, TrGraphClaimKind kind)
{
	TrPrefix p = prefix(text);
	g_autoptr(GError) error = NULL;

	g_assert_true(tr_graph_claim(n->graph, owner, &p, kind, n->net->now, &error));
	g_assert_no_error(error);
	run(n->net);
}

/* ---- The A-B-C chain: A learns C through B -------------------------------- */

static void
test_chain(void)
{
	Net net;
	Node *a, *b, *c;

	net_init(&net);
	a = add_node(&net, "a", TRUE, FALSE, NULL);
	b = add_node(&net, "b", TRUE, FALSE, NULL);
	c = add_node(&net, "c", TRUE, FALSE, NULL);
	claim(c, NULL, "198.19.3.0/24", TR_GRAPH_CLAIM_SUBNET);
	connect_nodes(a, b, 1000);
	connect_nodes(c, b, 1000);

	g_assert_true(reachable(a, "c", "b"));
	g_assert_true(reachable(c, "a", "b"));
	g_assert_true(reachable(a, "b", "b"));
	g_assert_cmpstr(route(a, "198.19.3.7"), ==, "c");
	g_assert_null(route(a, "198.19.4.7"));
	{
		TrGraphNodeInfo info;

		g_assert_true(tr_graph_node_info(a->graph, "c", &info));
		g_assert_cmpuint(info.hops, ==, 2);
		g_assert_cmpuint(info.distance, ==, 2000);
		/* Where B sees C: what A needs to reach C directly. */
		g_assert_cmpuint(info.address.family, ==, TR_ADDR_IPV4);
		g_assert_cmpuint(info.address.addr[3], ==, 3);
		g_assert_cmpstr(info.via, ==, "c");
	}
	/* A direct link A-C (the mesh punched through) is the shorter path. */
	connect_nodes(a, c, 500);
	g_assert_true(reachable(a, "c", "c"));
	/* It closes again: back through b. */
	disconnect_nodes(a, c);
	g_assert_true(reachable(a, "c", "b"));
	net_clear(&net);
}

/* ---- Three hubs in a line: the middle one dies, a third link heals ------- */

static void
test_line_of_hubs(void)
{
	Net net;
	Node *h1, *h2, *h3, *c1, *c3;
	TrGraphConfig cfg = {.forget_s = 30};

	net_init(&net);
	h1 = add_node(&net, "hub-1", TRUE, TRUE, &cfg);
	h2 = add_node(&net, "hub-2", TRUE, TRUE, &cfg);
	h3 = add_node(&net, "hub-3", TRUE, TRUE, &cfg);
	c1 = add_node(&net, "client-1", FALSE, FALSE, &cfg);
	c3 = add_node(&net, "client-3", FALSE, FALSE, &cfg);
	claim(h1, NULL, "198.19.16.0/20", TR_GRAPH_CLAIM_POOL);
	claim(h2, NULL, "198.19.32.0/20", TR_GRAPH_CLAIM_POOL);
	claim(h3, NULL, "198.19.48.0/20", TR_GRAPH_CLAIM_POOL);
	connect_nodes(h1, h2, 1000);
	connect_nodes(h2, h3, 1000);
	connect_nodes(c1, h1, 2000);
	claim(h1, "client-1", "198.19.16.2/32", TR_GRAPH_CLAIM_ADDRESS);
	connect_nodes(c3, h3, 2000);
	claim(h3, "client-3", "198.19.48.2/32", TR_GRAPH_CLAIM_ADDRESS);

	g_assert_true(reachable(c1, "client-3", "hub-1"));
	g_assert_true(reachable(h1, "client-3", "hub-2"));
	g_assert_cmpstr(route(c1, "198.19.48.2"), ==, "client-3");
	g_assert_cmpstr(route(c3, "198.19.16.2"), ==, "client-1");
	g_assert_cmpstr(route(c1, "198.19.40.9"), ==, "hub-2"); /* the pool: to its hub */

	/* The middle hub dies: the ends cannot reach each other... */
	kill_node(h2);
	g_assert_false(reachable(c1, "client-3", NULL));
	g_assert_false(reachable(h1, "hub-3", NULL));
	g_assert_false(reachable(h3, "client-1", NULL));
	g_assert_true(known(h1, "hub-3"));
	/* ... routes to them stop at once ... */
	g_assert_true(reachable(c1, "hub-1", "hub-1"));
	/* ... and after forget_s they are forgotten, statements and all. */
	tick_all(&net, 20 * SEC);
	g_assert_true(known(h1, "hub-3"));
	tick_all(&net, 11 * SEC);
	g_assert_false(known(h1, "hub-3"));
	g_assert_false(known(h1, "hub-2"));
	g_assert_false(known(h1, "client-3"));
	g_assert_false(known(c1, "client-3"));
	g_assert_null(route(c1, "198.19.48.2"));

	/* A third link restores it. */
	connect_nodes(h1, h3, 3000);
	g_assert_true(reachable(c1, "client-3", "hub-1"));
	g_assert_true(reachable(c3, "client-1", "hub-3"));
	g_assert_true(reachable(h1, "client-3", "hub-3"));
	g_assert_cmpstr(route(c1, "198.19.48.2"), ==, "client-3");
	g_assert_false(known(c1, "hub-2"));
	net_clear(&net);
}

/* ---- What a hub mirrors into its routes: standing claims, generations ---- */

static gint
by_text(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
collect_claim(const TrGraphClaimInfo *c, gpointer p)
{
	char buf[TR_PREFIX_STRLEN];

	g_ptr_array_add(p, g_strdup_printf("%s:%s:%s:%s", c->origin, c->owner,
	                                   tr_prefix_to_string(&c->prefix, buf, sizeof(buf)),
	                                   tr_graph_claim_kind_name(c->kind)));
}

/* The strings of @all (which it takes), sorted, joined by spaces. */
static char *
sorted_text(GPtrArray *all)
{
	g_autoptr(GPtrArray) owned = all;

	g_ptr_array_sort(owned, by_text);
	g_ptr_array_add(owned, NULL);
	return g_strjoinv(" ", (char **)owned->pdata);
}

static char *
standing(Node *n)
{
	GPtrArray *all = g_ptr_array_new_with_free_func(g_free);

	tr_graph_foreach_claim(n->graph, collect_claim, all);
	return sorted_text(all);
}

static void
test_standing_claims(void)
{
	Net net;
	Node *h1, *h2, *h3;
	guint64 g;
	g_autofree char *before = NULL, *after = NULL, *healed = NULL;

	net_init(&net);
	h1 = add_node(&net, "hub-1", TRUE, TRUE, NULL);
	h2 = add_node(&net, "hub-2", TRUE, TRUE, NULL);
	h3 = add_node(&net, "hub-3", TRUE, TRUE, NULL);
	claim(h1, NULL, "198.19.16.0/20", TR_GRAPH_CLAIM_POOL);
	claim(h2, NULL, "198.19.32.0/20", TR_GRAPH_CLAIM_POOL);
	claim(h3, NULL, "198.19.48.0/20", TR_GRAPH_CLAIM_POOL);
	connect_nodes(h1, h2, 1000);
	connect_nodes(h2, h3, 1000);
	claim(h3, "client-3", "198.19.48.2/32", TR_GRAPH_CLAIM_ADDRESS);
	/* Stolen: inside hub-3's pool, said by hub-2. Refused, not listed. */
	claim(h2, "thief", "198.19.48.0/24", TR_GRAPH_CLAIM_SUBNET);

	/* client-3 speaks no graph: reachable through the hub that claims for it. */
	g_assert_true(reachable(h1, "client-3", "hub-2"));
	g_assert_true(reachable(h3, "client-3", "client-3"));
	g_assert_false(reachable(h1, "thief", NULL));
	before = standing(h1);
	g_assert_cmpstr(before, ==,
	                "hub-1:hub-1:198.19.16.0/20:pool hub-2:hub-2:198.19.32.0/20:pool "
	                "hub-3:client-3:198.19.48.2/32:address hub-3:hub-3:198.19.48.0/20:pool");
	g = tr_graph_generation(h1->graph);
	/* Nothing new: the same generation (a refresh changes no route). */
	tick_all(&net, SEC);
	g_assert_cmpuint(tr_graph_generation(h1->graph), ==, g);

	/* The middle hub dies: hub-3 is unreachable, its claims still stand
	 * (until forgotten) but a daemon must look again. */
	kill_node(h2);
	g_assert_cmpuint(tr_graph_generation(h1->graph), >, g);
	g_assert_false(reachable(h1, "hub-3", NULL));
	g = tr_graph_generation(h1->graph);
	tick_all(&net, 61 * SEC);
	g_assert_cmpuint(tr_graph_generation(h1->graph), >, g);
	after = standing(h1);
	g_assert_cmpstr(after, ==, "hub-1:hub-1:198.19.16.0/20:pool");

	connect_nodes(h1, h3, 1000);
	healed = standing(h1);
	g_assert_cmpstr(healed, ==,
	                "hub-1:hub-1:198.19.16.0/20:pool "
	                "hub-3:client-3:198.19.48.2/32:address hub-3:hub-3:198.19.48.0/20:pool");
	net_clear(&net);
}

/* ---- What changed since the last look: a sync that costs what changed ---- */

static void
collect_prefix(const TrPrefix *p, gpointer user)
{
	char text[TR_PREFIX_STRLEN];

	tr_prefix_to_string(p, text, sizeof(text));
	g_ptr_array_add(user, g_strdup(text));
}

/* The prefixes tr_graph_take_changes() gives, sorted, or "all". */
static char *
changes(Node *n)
{
	GPtrArray *all = g_ptr_array_new_with_free_func(g_free);

	if (!tr_graph_take_changes(n->graph, collect_prefix, all)) {
		g_ptr_array_unref(all);
		return g_strdup("all");
	}
	return sorted_text(all);
}

static void
leaf_line(const char *name, const TrGraphNodeInfo *info, gpointer user)
{
	if (g_str_has_prefix(name, "c"))
		g_ptr_array_add(user, g_strdup_printf("%s:%d:%s:%u", name, info->reachable,
		                                      info->reachable ? info->nexthop : "-",
		                                      info->reachable ? info->hops : 0));
}

/* The clients' paths as text (reachable, next hop, hops). */
static char *
leaves(Node *n)
{
	GPtrArray *all = g_ptr_array_new_with_free_func(g_free);

	tr_graph_foreach_node(n->graph, leaf_line, all);
	return sorted_text(all);
}

static guint64
path_updates(Node *n)
{
	TrGraphStats st;

	tr_graph_stats(n->graph, &st);
	return st.path_updates;
}

/* Clients coming and going are the prefixes of their claims, and cost no
 * computation of every path; an edge is "all". The leaves' paths done one
 * by one match what a computation of every path gives. */
static void
test_changes(void)
{
	Net net;
	Node *h1, *h2, *h3;
	guint64 full;
	g_autofree char *incremental = NULL, *recomputed = NULL;

	net_init(&net);
	h1 = add_node(&net, "hub-1", TRUE, TRUE, NULL);
	h2 = add_node(&net, "hub-2", TRUE, TRUE, NULL);
	h3 = add_node(&net, "hub-3", TRUE, TRUE, NULL);
	claim(h1, NULL, "198.19.16.0/20", TR_GRAPH_CLAIM_POOL);
	claim(h2, NULL, "198.19.32.0/20", TR_GRAPH_CLAIM_POOL);
	claim(h3, NULL, "198.19.48.0/20", TR_GRAPH_CLAIM_POOL);
	connect_nodes(h1, h2, 1000);
	{
		g_autofree char *first = changes(h1), *none = changes(h1);

		g_assert_cmpstr(first, ==, "all");
		g_assert_cmpstr(none, ==, "");
	}
	full = path_updates(h1);
	claim(h2, "c2", "198.19.32.2/32", TR_GRAPH_CLAIM_ADDRESS);
	claim(h1, "c1", "198.19.16.2/32", TR_GRAPH_CLAIM_ADDRESS);
	{
		g_autofree char *two = changes(h1);

		g_assert_cmpstr(two, ==, "198.19.16.2/32 198.19.32.2/32");
	}
	g_assert_true(reachable(h1, "c2", "hub-2"));
	g_assert_true(reachable(h1, "c1", "c1"));
	/* A client whose subnet is refused (inside hub-2's pool, said by hub-1):
	 * its prefix is told, it is no one's route and not reachable. */
	claim(h1, "c9", "198.19.33.0/24", TR_GRAPH_CLAIM_SUBNET);
	{
		g_autofree char *refused = changes(h1);

		g_assert_cmpstr(refused, ==, "198.19.33.0/24");
	}
	g_assert_false(reachable(h1, "c9", NULL));
	{
		TrPrefix c2 = prefix("198.19.32.2/32");

		tr_graph_unclaim(h2->graph, "c2", &c2, net.now);
		run(&net);
	}
	{
		g_autofree char *gone = changes(h1);

		g_assert_cmpstr(gone, ==, "198.19.32.2/32");
	}
	g_assert_false(reachable(h1, "c2", NULL));
	claim(h2, "c3", "198.19.32.3/32", TR_GRAPH_CLAIM_ADDRESS);
	/* None of this computed every path again. */
	g_assert_cmpuint(path_updates(h1), ==, full);
	incremental = leaves(h1);
	g_assert_cmpstr(incremental, ==, "c1:1:c1:1 c2:0:-:0 c3:1:hub-2:2 c9:0:-:0");

	/* An edge: every path again, and everything may have moved. */
	connect_nodes(h2, h3, 1000);
	{
		g_autofree char *all = changes(h1);

		g_assert_cmpstr(all, ==, "all");
	}
	g_assert_cmpuint(path_updates(h1), >, full);
	recomputed = leaves(h1);
	g_assert_cmpstr(recomputed, ==, incremental);
	net_clear(&net);
}

/* ---- A node claiming another's subnet: refused on every node alike ------- */

static void
check_same_decision(Net *net, const char *thief_origin, const char *thief, const char *stolen,
                    const char *owner, const char *owned)
{
	TrPrefix ps = prefix(stolen), po = prefix(owned);

	for (int i = 0; i < net->count; i++) {
		Node *n = &net->nodes[i];
		g_autofree char *reason = NULL;

		if (!n->graph)
			continue;
		g_assert_false(
		        tr_graph_claim_accepted(n->graph, thief_origin, thief, &ps, &reason));
		g_assert_nonnull(strstr(reason, owner));
		g_assert_true(tr_graph_claim_accepted(n->graph, NULL, owner, &po, NULL));
	}
}

static void
test_subnet_conflict(void)
{
	Net net;
	Node *a, *b, *c, *d;

	net_init(&net);
	a = add_node(&net, "a", TRUE, FALSE, NULL);
	b = add_node(&net, "b", TRUE, FALSE, NULL);
	c = add_node(&net, "c", TRUE, FALSE, NULL);
	d = add_node(&net, "d", TRUE, FALSE, NULL);
	connect_nodes(a, b, 1000);
	connect_nodes(b, c, 1000);
	connect_nodes(c, d, 1000);
	connect_nodes(d, a, 1000);
	claim(a, NULL, "198.19.5.0/24", TR_GRAPH_CLAIM_SUBNET);
	/* c takes part of a's subnet: refused by all four, c included. */
	claim(c, NULL, "198.19.5.128/25", TR_GRAPH_CLAIM_SUBNET);
	check_same_decision(&net, NULL, "c", "198.19.5.128/25", "a", "198.19.5.0/24");
	g_assert_cmpstr(route(b, "198.19.5.200"), ==, "a");
	g_assert_cmpstr(route(c, "198.19.5.200"), ==, "a");

	/* A newcomer learns everything in another order: the same decision. */
	{
		Node *e = add_node(&net, "e", TRUE, FALSE, NULL);

		net.reverse = TRUE;
		connect_nodes(e, c, 1000);
		connect_nodes(e, a, 1000);
		net.reverse = FALSE;
		check_same_decision(&net, NULL, "c", "198.19.5.128/25", "a", "198.19.5.0/24");
	}
	/* a withdraws: c's claim is the only one now, accepted everywhere. */
	{
		TrPrefix p = prefix("198.19.5.0/24"), q = prefix("198.19.5.128/25");

		tr_graph_unclaim(a->graph, NULL, &p, net.now);
		run(&net);
		for (int i = 0; i < net.count; i++)
			g_assert_true(
			        tr_graph_claim_accepted(net.nodes[i].graph, NULL, "c", &q, NULL));
		g_assert_cmpstr(route(d, "198.19.5.200"), ==, "c");
		g_assert_null(route(d, "198.19.5.10"));
	}
	net_clear(&net);
}

/* Two claims made at the same version: the smaller name wins, everywhere. */
static void
test_conflict_tie(void)
{
	Net net;
	Node *x, *y, *z;
	TrGraphConfig same = {.seq_start = 5000};
	TrPrefix p = prefix("198.19.9.0/24");

	net_init(&net);
	x = add_node(&net, "x", TRUE, FALSE, &same);
	y = add_node(&net, "y", TRUE, FALSE, &same);
	z = add_node(&net, "z", TRUE, FALSE, &same);
	/* Claims made before any link, each at its own first version. */
	claim(y, NULL, "198.19.9.0/24", TR_GRAPH_CLAIM_SUBNET);
	claim(x, NULL, "198.19.9.0/24", TR_GRAPH_CLAIM_SUBNET);
	connect_nodes(x, z, 1000);
	connect_nodes(y, z, 1000);
	/* Both claimed at version 5001: the smaller name wins. */
	for (int i = 0; i < net.count; i++) {
		g_assert_true(tr_graph_claim_accepted(net.nodes[i].graph, NULL, "x", &p, NULL));
		g_assert_false(tr_graph_claim_accepted(net.nodes[i].graph, NULL, "y", &p, NULL));
	}
	net_clear(&net);
}

/* ---- Pools: a collision refused when hubs link; a hub speaks for its pool - */

static void
test_pool_collision(void)
{
	Net net;
	Node *h1, *h2, *h3, *n;
	g_autoptr(GError) error = NULL;
	TrPrefix p1 = prefix("198.19.16.0/20"), p2 = prefix("198.19.24.0/21");
	TrPrefix p3 = prefix("198.19.32.0/20");

	net_init(&net);
	h1 = add_node(&net, "hub-1", TRUE, TRUE, NULL);
	h2 = add_node(&net, "hub-2", TRUE, TRUE, NULL);
	h3 = add_node(&net, "hub-3", TRUE, TRUE, NULL);
	claim(h1, NULL, "198.19.16.0/20", TR_GRAPH_CLAIM_POOL);
	claim(h2, NULL, "198.19.24.0/21", TR_GRAPH_CLAIM_POOL);
	claim(h3, NULL, "198.19.32.0/20", TR_GRAPH_CLAIM_POOL);
	connect_nodes(h1, h3, 1000);

	/* hub-2 comes to hub-3: each checks the other's pool against what it
	 * knows; hub-3 knows hub-1's pool, so both sides refuse, with one text. */
	g_assert_false(tr_graph_check_pool(h3->graph, "hub-2", &p2, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	tr_assert_message_has(error, "address pool 198.19.24.0/21 of hub 'hub-2' overlaps pool "
	                             "198.19.16.0/20 of hub 'hub-1'");
	g_clear_error(&error);
	g_assert_true(tr_graph_check_pool(h2->graph, "hub-3", &p3, &error));
	g_assert_no_error(error);
	/* hub-2 against hub-1 directly: its own pool is the one in the way. */
	g_assert_false(tr_graph_check_pool(h2->graph, "hub-1", &p1, &error));
	tr_assert_message_has(error, "overlaps pool 198.19.24.0/21 of hub 'hub-2'");
	g_clear_error(&error);
	/* A hub's own pool never collides with itself (a reconnect). */
	g_assert_true(tr_graph_check_pool(h3->graph, "hub-1", &p1, NULL));

	/* Inside hub-1's pool, hub-1 gives out addresses; nobody else may. */
	n = add_node(&net, "n", TRUE, FALSE, NULL);
	connect_nodes(n, h3, 1000);
	claim(h1, "client-a", "198.19.16.9/32", TR_GRAPH_CLAIM_ADDRESS);
	claim(n, NULL, "198.19.17.0/24", TR_GRAPH_CLAIM_SUBNET);
	claim(h3, "client-b", "198.19.16.10/32", TR_GRAPH_CLAIM_ADDRESS);
	{
		TrPrefix a = prefix("198.19.16.9/32"), s = prefix("198.19.17.0/24");
		TrPrefix b = prefix("198.19.16.10/32");

		for (int i = 0; i < net.count; i++) {
			g_autofree char *why = NULL, *why2 = NULL;
			TrGraph *g = net.nodes[i].graph;

			if (i == h2->index)
				continue;
			g_assert_true(tr_graph_claim_accepted(g, "hub-1", "client-a", &a, NULL));
			g_assert_false(tr_graph_claim_accepted(g, NULL, "n", &s, &why));
			g_assert_nonnull(strstr(why, "the pool of hub 'hub-1'"));
			g_assert_false(tr_graph_claim_accepted(g, "hub-3", "client-b", &b, &why2));
			g_assert_nonnull(strstr(why2, "only that hub gives out its addresses"));
		}
	}
	net_clear(&net);
}

/* The pool check reads the pools apart from the claims (graph->pools): what
 * that set may hold stale (a withdrawn pool, a pool claimed anew as another
 * kind) counts for nothing, many clients inside a pool change nothing, and
 * of two pools in the way the first-ranked (older) is named. */
static void
test_pool_check_pools_only(void)
{
	Net net;
	Node *h1, *h2, *h3;
	g_autoptr(GError) error = NULL;
	TrPrefix wide = prefix("198.19.0.0/16"), in1 = prefix("198.19.16.128/25");
	TrPrefix in2 = prefix("198.19.64.0/24"), p3 = prefix("198.19.96.0/20");

	net_init(&net);
	h1 = add_node(&net, "hub-1", TRUE, TRUE, NULL);
	h2 = add_node(&net, "hub-2", TRUE, TRUE, NULL);
	h3 = add_node(&net, "hub-3", TRUE, TRUE, NULL);
	claim(h1, NULL, "198.19.16.0/20", TR_GRAPH_CLAIM_POOL);
	claim(h2, NULL, "198.19.64.0/20", TR_GRAPH_CLAIM_POOL);
	claim(h3, NULL, "198.19.96.0/20", TR_GRAPH_CLAIM_POOL);
	connect_nodes(h1, h2, 1000);
	for (int i = 0; i < 300; i++) {
		char owner[16], addr[32];

		g_snprintf(owner, sizeof(owner), "c%d", i);
		g_snprintf(addr, sizeof(addr), "198.19.%d.%d/32", 16 + i / 200, 1 + i % 200);
		claim(h1, owner, addr, TR_GRAPH_CLAIM_ADDRESS);
	}
	claim(h1, NULL, "198.19.200.0/24", TR_GRAPH_CLAIM_SUBNET);

	/* A pool inside hub-1's, among its 300 clients' addresses. */
	g_assert_false(tr_graph_check_pool(h2->graph, "hub-x", &in1, &error));
	tr_assert_message_has(error, "overlaps pool 198.19.16.0/20 of hub 'hub-1'");
	g_clear_error(&error);
	/* Over both pools: hub-1's, claimed first, is named. */
	g_assert_false(tr_graph_check_pool(h2->graph, "hub-x", &wide, &error));
	tr_assert_message_has(error, "overlaps pool 198.19.16.0/20 of hub 'hub-1'");
	g_clear_error(&error);
	/* A subnet is no pool; the peer's own pool is not in its way. */
	{
		TrPrefix sub = prefix("198.19.200.0/25");

		g_assert_true(tr_graph_check_pool(h2->graph, "hub-x", &sub, NULL));
		g_assert_true(tr_graph_check_pool(h2->graph, "hub-1", &in1, NULL));
	}
	/* hub-2's pool claimed anew as a subnet, then withdrawn: no pool then. */
	claim(h2, NULL, "198.19.64.0/20", TR_GRAPH_CLAIM_SUBNET);
	g_assert_true(tr_graph_check_pool(h1->graph, "hub-x", &in2, NULL));
	g_assert_true(tr_graph_check_pool(h2->graph, "hub-x", &in2, NULL));
	claim(h2, NULL, "198.19.64.0/20", TR_GRAPH_CLAIM_POOL);
	g_assert_false(tr_graph_check_pool(h1->graph, "hub-x", &in2, &error));
	tr_assert_message_has(error, "overlaps pool 198.19.64.0/20 of hub 'hub-2'");
	g_clear_error(&error);
	{
		TrPrefix p2 = prefix("198.19.64.0/20");

		tr_graph_unclaim(h2->graph, NULL, &p2, net.now);
		run(&net);
	}
	g_assert_true(tr_graph_check_pool(h1->graph, "hub-x", &in2, NULL));
	/* hub-3's pool is known once it links, and then in the way. */
	g_assert_true(tr_graph_check_pool(h1->graph, "hub-x", &p3, NULL));
	connect_nodes(h3, h2, 1000);
	g_assert_false(tr_graph_check_pool(h1->graph, "hub-x", &p3, &error));
	tr_assert_message_has(error, "overlaps pool 198.19.96.0/20 of hub 'hub-3'");
	net_clear(&net);
}

/* ---- Flooding ends: each version is passed on once by each node --------- */

static void
test_flood_ring(void)
{
	Net net;
	Node *r[6];
	TrGraphStats st;
	guint64 before;

	net_init(&net);
	for (int i = 0; i < 6; i++) {
		char name[8];

		g_snprintf(name, sizeof(name), "r%d", i);
		r[i] = add_node(&net, name, TRUE, FALSE, NULL);
	}
	for (int i = 0; i < 6; i++)
		connect_nodes(r[i], r[(i + 1) % 6], 1000);
	connect_nodes(r[0], r[3], 1000);
	before = net.delivered;
	claim(r[1], NULL, "fd00:1::/64", TR_GRAPH_CLAIM_SUBNET);
	/* 7 links: each node passes it on once to its other neighbours; at most
	 * 2 * links copies in all, and everybody has it. */
	g_assert_cmpuint(net.delivered - before, <=, 14);
	for (int i = 0; i < 6; i++)
		g_assert_cmpstr(route(r[i], "fd00:1::5"), ==, "r1");
	tr_graph_stats(r[4]->graph, &st);
	g_assert_cmpuint(st.duplicates, >, 0);
	g_assert_cmpuint(st.nodes, ==, 6);
	g_assert_cmpuint(st.reachable, ==, 6);
	g_assert_cmpuint(st.edges, ==, 14);
	net_clear(&net);
}

/* ---- Versions: an older copy arriving late changes nothing --------------- */

static void
test_versions_reorder(void)
{
	Net net;
	Node *a, *b;
	TrGraphMsg add = {
	        .type = TR_GRAPH_MSG_ADD_EDGE, .origin = "x", .peer = "y", .seq = 5, .weight = 10};
	TrGraphMsg del = {.type = TR_GRAPH_MSG_DEL_EDGE, .origin = "x", .peer = "y", .seq = 6};
	g_autoptr(GByteArray) fa = g_byte_array_new();
	g_autoptr(GByteArray) fd = g_byte_array_new();
	TrGraphStats st;

	net_init(&net);
	a = add_node(&net, "a", TRUE, FALSE, NULL);
	b = add_node(&net, "b", TRUE, FALSE, NULL);
	connect_nodes(a, b, 1000);
	g_assert_true(tr_graph_msg_encode(&add, fa, NULL));
	g_assert_true(tr_graph_msg_encode(&del, fd, NULL));
	/* The deletion overtakes the addition it deletes. */
	g_assert_true(
	        tr_graph_receive(a->graph, a->link_to[b->index], fd->data, fd->len, net.now, NULL));
	g_assert_true(
	        tr_graph_receive(a->graph, a->link_to[b->index], fa->data, fa->len, net.now, NULL));
	run(&net);
	tr_graph_stats(a->graph, &st);
	g_assert_cmpuint(st.edges, ==, 2); /* a-b both ways; no x -> y */
	g_assert_cmpuint(st.duplicates, >=, 1);
	net_clear(&net);
}

/* ---- Corrections: a statement about ourself we did not make -------------- */

static void
test_correction(void)
{
	Net net;
	Node *a, *b, *c;
	TrGraphMsg forged = {.type = TR_GRAPH_MSG_ADD_SUBNET,
	                     .origin = "a",
	                     .seq = 999999,
	                     .kind = TR_GRAPH_CLAIM_SUBNET,
	                     .since = 1};
	g_autoptr(GByteArray) f = g_byte_array_new();
	TrGraphStats st;

	net_init(&net);
	a = add_node(&net, "a", TRUE, FALSE, NULL);
	b = add_node(&net, "b", TRUE, FALSE, NULL);
	c = add_node(&net, "c", TRUE, FALSE, NULL);
	connect_nodes(a, b, 1000);
	connect_nodes(b, c, 1000);
	forged.prefix = prefix("198.19.66.0/24");
	g_assert_true(tr_graph_msg_encode(&forged, f, NULL));
	/* b hears from c that a claims 198.19.66.0/24 (a stale or forged version). */
	g_assert_true(
	        tr_graph_receive(b->graph, b->link_to[c->index], f->data, f->len, net.now, NULL));
	run(&net);
	/* It reached a, which withdrew it under a newer version, everywhere. */
	tr_graph_stats(a->graph, &st);
	g_assert_cmpuint(st.corrections, ==, 1);
	g_assert_null(route(c, "198.19.66.1"));
	g_assert_null(route(b, "198.19.66.1"));
	net_clear(&net);
}

/* ---- A leaf may not pass on what others said ------------------------------ */

static void
test_leaf_cannot_relay(void)
{
	Net net;
	Node *h, *l;
	TrGraphMsg m = {.type = TR_GRAPH_MSG_ADD_EDGE,
	                .origin = "someone",
	                .peer = "else",
	                .seq = 5,
	                .weight = 10};
	g_autoptr(GByteArray) f = g_byte_array_new();
	g_autoptr(GError) error = NULL;

	net_init(&net);
	h = add_node(&net, "hub", TRUE, TRUE, NULL);
	l = add_node(&net, "leaf-1", FALSE, FALSE, NULL);
	connect_nodes(l, h, 1000);
	g_assert_true(tr_graph_msg_encode(&m, f, NULL));
	g_assert_false(
	        tr_graph_receive(h->graph, h->link_to[l->index], f->data, f->len, net.now, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_PROTOCOL);
	tr_assert_message_has(error, "may only send its own statements");
	net_clear(&net);
}

/* ---- BYE: the closing message --------------------------------------------- */

static void
test_bye(void)
{
	Net net;
	Node *a, *b, *c;

	net_init(&net);
	a = add_node(&net, "a", TRUE, FALSE, NULL);
	b = add_node(&net, "b", TRUE, FALSE, NULL);
	c = add_node(&net, "c", TRUE, FALSE, NULL);
	connect_nodes(a, b, 1000);
	connect_nodes(b, c, 1000);
	claim(c, NULL, "198.19.7.0/24", TR_GRAPH_CLAIM_SUBNET);
	g_assert_cmpstr(route(a, "198.19.7.1"), ==, "c");
	tr_graph_close(c->graph, net.now);
	run(&net);
	/* Before the connection's timeout: a drops c's claims and c at once. */
	g_assert_null(route(a, "198.19.7.1"));
	g_assert_false(reachable(a, "c", NULL));
	net_clear(&net);
}

/* ---- Peer timeout: what nobody refreshes expires; refreshing keeps it ---- */

static void
test_expiry_and_refresh(void)
{
	Net net;
	Node *a, *b, *c;
	TrGraphConfig cfg = {.lifetime_s = 100, .refresh_s = 40};

	net_init(&net);
	a = add_node(&net, "a", TRUE, FALSE, &cfg);
	b = add_node(&net, "b", TRUE, FALSE, &cfg);
	c = add_node(&net, "c", TRUE, FALSE, &cfg);
	connect_nodes(a, b, 1000);
	connect_nodes(b, c, 1000);
	claim(c, NULL, "198.19.8.0/24", TR_GRAPH_CLAIM_SUBNET);
	for (int i = 0; i < 10; i++)
		tick_all(&net, 30 * SEC);
	g_assert_cmpstr(route(a, "198.19.8.1"), ==, "c");
	g_assert_true(reachable(a, "c", "b"));

	/* c stops talking but b's link to it stays up (a stuck peer): c's own
	 * statements expire after a lifetime and c becomes unreachable. */
	{
		Node saved = *c;

		c->graph = NULL;
		for (int i = 0; i < 5; i++)
			tick_all(&net, 30 * SEC);
		g_assert_null(route(a, "198.19.8.1"));
		g_assert_false(reachable(a, "c", NULL));
		c->graph = saved.graph;
	}
	net_clear(&net);
}

/* ---- Partial views beyond full_view_max ---------------------------------- */

static void
test_partial_view(void)
{
	Net net;
	TrGraphConfig cfg = {.full_view_max = 8, .view_size = 3, .view_refresh_s = 60};
	Node *h1, *h2, *late;
	TrGraphStats st;

	net_init(&net);
	h1 = add_node(&net, "hub-1", TRUE, TRUE, &cfg);
	h2 = add_node(&net, "hub-2", TRUE, TRUE, &cfg);
	claim(h1, NULL, "198.19.16.0/20", TR_GRAPH_CLAIM_POOL);
	claim(h2, NULL, "198.19.32.0/20", TR_GRAPH_CLAIM_POOL);
	connect_nodes(h1, h2, 1000);
	for (int i = 0; i < 20; i++) {
		char name[16], addr[32];
		Node *hub = i % 2 ? h2 : h1;
		Node *c;

		g_snprintf(name, sizeof(name), "client-%02d", i);
		c = add_node(&net, name, FALSE, FALSE, &cfg);
		connect_nodes(c, hub, 2000);
		g_snprintf(addr, sizeof(addr), "198.19.%d.%d/32", i % 2 ? 32 : 16, 10 + i);
		claim(hub, name, addr, TR_GRAPH_CLAIM_ADDRESS);
	}
	late = add_node(&net, "client-late", FALSE, FALSE, &cfg);
	connect_nodes(late, h1, 2000);

	/* The hubs know all 23; the late leaf knows the hubs, itself and 3 more. */
	tr_graph_stats(h1->graph, &st);
	g_assert_cmpuint(st.nodes, ==, 23);
	g_assert_cmpuint(st.reachable, ==, 23);
	tr_graph_stats(late->graph, &st);
	g_assert_cmpuint(st.nodes, ==, 3 + 3);
	g_assert_cmpuint(st.reachable, ==, 6);
	g_assert_true(reachable(late, "hub-2", "hub-1"));
	g_assert_cmpstr(route(late, "198.19.33.1"), ==, "hub-2");

	/* It asks about one client (WANT) and learns it, and later changes. */
	if (!known(late, "client-17")) {
		tr_graph_want(late->graph, late->link_to[h1->index], "client-17", NULL);
		run(&net);
	}
	g_assert_true(reachable(late, "client-17", "hub-1"));
	g_assert_cmpstr(route(late, "198.19.32.27"), ==, "client-17");
	{
		TrPrefix p = prefix("198.19.32.99/32");

		tr_graph_want(late->graph, late->link_to[h1->index], NULL, &p);
		run(&net);
	}
	/* The view turns: a new random part. */
	tick_all(&net, 61 * SEC);
	tr_graph_stats(late->graph, &st);
	g_assert_cmpuint(st.nodes, >=, 7);
	/* Turn after turn, the leaf keeps at most full_view_max other leaves
	 * (the oldest news goes), besides the hubs and itself. */
	for (int i = 0; i < 6; i++)
		tick_all(&net, 61 * SEC);
	tick_all(&net, 0); /* the last turn's nodes arrived after the leaf's tick */
	tr_graph_stats(late->graph, &st);
	g_assert_cmpuint(st.nodes, <=, 8 + 2 + 1);
	g_assert_cmpuint(st.nodes, ==, st.reachable);
	g_assert_true(reachable(late, "hub-2", "hub-1"));
	net_clear(&net);
}

/* ---- Limits: the rate of new versions per origin -------------------------- */

static void
test_rate_limit(void)
{
	Net net;
	Node *a, *b;
	TrGraphConfig cfg = {.origin_rate = 1, .origin_burst = 5};
	TrGraphStats st;

	net_init(&net);
	a = add_node(&net, "a", TRUE, FALSE, &cfg);
	b = add_node(&net, "b", TRUE, FALSE, &cfg);
	connect_nodes(a, b, 1000);
	for (int i = 0; i < 20; i++) {
		char text[32];

		g_snprintf(text, sizeof(text), "198.19.100.%d/32", i);
		claim(b, NULL, text, TR_GRAPH_CLAIM_SUBNET);
	}
	tr_graph_stats(a->graph, &st);
	g_assert_cmpuint(st.dropped, >=, 14);
	g_assert_cmpuint(st.claims, <=, 6);
	net_clear(&net);
}

/* ---- Limits grow with a hub's pool: it speaks for its clients ------------- */

static void
test_pool_limits(void)
{
	Net net;
	Node *a, *b, *x;
	TrGraphConfig cfg = {.max_per_origin = 8, .origin_rate = 1, .origin_burst = 8};
	TrGraphStats st;

	net_init(&net);
	a = add_node(&net, "a", TRUE, TRUE, &cfg);
	b = add_node(&net, "b", TRUE, TRUE, &cfg);
	x = add_node(&net, "x", TRUE, FALSE, &cfg);
	connect_nodes(a, b, 1000);
	connect_nodes(a, x, 1000);
	/* b's pool of 64 addresses: 8 + 2 * 64 statements, a burst as large. */
	claim(b, NULL, "198.19.100.0/26", TR_GRAPH_CLAIM_POOL);
	for (int i = 0; i < 100; i++) {
		char owner[16], text[32];

		g_snprintf(owner, sizeof(owner), "c-%d", i);
		g_snprintf(text, sizeof(text), "198.19.100.%d/32", i % 64);
		claim(b, owner, text, TR_GRAPH_CLAIM_ADDRESS);
	}
	tr_graph_stats(a->graph, &st);
	g_assert_cmpuint(st.dropped, ==, 0);
	g_assert_cmpuint(st.claims, ==, 101);
	/* x has no pool: the old limits (8 statements, one of them its edge). */
	for (int i = 0; i < 20; i++) {
		char text[32];

		g_snprintf(text, sizeof(text), "198.19.101.%d/32", i);
		claim(x, NULL, text, TR_GRAPH_CLAIM_SUBNET);
	}
	tr_graph_stats(a->graph, &st);
	g_assert_cmpuint(st.dropped, >=, 13);
	g_assert_cmpuint(st.claims, <=, 101 + 7);
	net_clear(&net);
}

/* ---- Dot ----------------------------------------------------------------- */

static void
test_dot(void)
{
	Net net;
	Node *h, *c, *d;
	g_autofree char *dot = NULL;

	net_init(&net);
	h = add_node(&net, "hub", TRUE, TRUE, NULL);
	c = add_node(&net, "client-1", FALSE, FALSE, NULL);
	d = add_node(&net, "client-2", FALSE, FALSE, NULL);
	connect_nodes(c, h, 2000);
	connect_nodes(d, h, 4000);
	kill_node(d);
	dot = tr_graph_to_dot(h->graph);
	g_assert_cmpstr(
	        dot, ==,
	        "graph trellis {\n"
	        "\t\"client-1\" [shape = ellipse, tooltip = \"next hop client-1, 1 hops\"];\n"
	        "\t\"client-2\" [shape = ellipse, style = dashed, color = grey, fontcolor = "
	        "grey];\n"
	        "\t\"hub\" [shape = box, style = bold];\n"
	        "\t\"client-1\" -- \"hub\" [label = \"2.0 ms\"];\n"
	        "\t\"client-2\" -- \"hub\" [dir = forward, style = dashed];\n"
	        "}\n");
	net_clear(&net);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Refusals are logged as warnings, which these tests cause on purpose. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	g_test_add_func("/graph/chain", test_chain);
	g_test_add_func("/graph/line-of-hubs", test_line_of_hubs);
	g_test_add_func("/graph/standing-claims", test_standing_claims);
	g_test_add_func("/graph/changes", test_changes);
	g_test_add_func("/graph/subnet-conflict", test_subnet_conflict);
	g_test_add_func("/graph/conflict-tie", test_conflict_tie);
	g_test_add_func("/graph/pool-collision", test_pool_collision);
	g_test_add_func("/graph/pool-check-pools-only", test_pool_check_pools_only);
	g_test_add_func("/graph/flood-ring", test_flood_ring);
	g_test_add_func("/graph/versions-reorder", test_versions_reorder);
	g_test_add_func("/graph/correction", test_correction);
	g_test_add_func("/graph/leaf-cannot-relay", test_leaf_cannot_relay);
	g_test_add_func("/graph/bye", test_bye);
	g_test_add_func("/graph/expiry-refresh", test_expiry_and_refresh);
	g_test_add_func("/graph/partial-view", test_partial_view);
	g_test_add_func("/graph/rate-limit", test_rate_limit);
	g_test_add_func("/graph/pool-limits", test_pool_limits);
	g_test_add_func("/graph/dot", test_dot);
	return g_test_run();
}
