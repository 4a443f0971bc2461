/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The graph's life: configuration, links, timers and what others may ask. */
#include "common/graph/store.h"

#include <string.h>

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/auth/identity.h"

#define TICK_MAX_USEC G_USEC_PER_SEC

void
tr_graph_config_defaults(TrGraphConfig *c)
{
#define DEFAULT(field, value)                                                                      \
	if (!c->field)                                                                             \
		c->field = (value);
	DEFAULT(lifetime_s, 3600);
	DEFAULT(refresh_s, 1800);
	DEFAULT(forget_s, 60);
	DEFAULT(full_view_max, 100);
	DEFAULT(view_size, 20);
	DEFAULT(view_refresh_s, 300);
	DEFAULT(max_nodes, 100000);
	DEFAULT(max_per_origin, 16384);
	DEFAULT(origin_rate, 20);
	DEFAULT(origin_burst, 16384);
	DEFAULT(seq_start, 1);
#undef DEFAULT
}

TrGraph *
tr_graph_new(const TrGraphConfig *config, GError **error)
{
	TrGraph *graph;

	if (!tr_identity_validate_name("graph node name", config->self, error))
		return NULL;
	if (!config->send) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID, "graph: no send callback");
		return NULL;
	}
	graph = g_new0(TrGraph, 1);
	graph->config = *config;
	tr_graph_config_defaults(&graph->config);
	if (graph->config.refresh_s >= graph->config.lifetime_s)
		graph->config.refresh_s = graph->config.lifetime_s / 2;
	graph->self_name = g_strdup(config->self);
	graph->config.self = graph->self_name;
	graph->seq = graph->config.seq_start;
	graph->rand = g_rand_new_with_seed(config->seed);
	graph->links = g_ptr_array_new();
	g_ptr_array_add(graph->links, NULL); /* ids start at 1 */
	tr_graph_store_init(graph);
	graph->self = tr_graph_node_get(graph, graph->self_name, TRUE);
	graph->self->options = (graph->config.relay ? TR_GRAPH_EDGE_RELAY : 0) |
	                       (graph->config.hub ? TR_GRAPH_EDGE_HUB : 0);
	graph->self->reachable = TRUE;
	graph->next_refresh = G_MININT64;
	graph->next_expiry = G_MININT64;
	graph->now = G_MININT64 / 2;
	tr_graph_mark_dirty(graph);
	return graph;
}

static void
link_free(TrGraphLink *link)
{
	if (!link)
		return;
	g_clear_pointer(&link->watched, g_hash_table_unref);
	g_clear_pointer(&link->sample, g_ptr_array_unref);
	g_free(link);
}

void
tr_graph_free(TrGraph *graph)
{
	if (!graph)
		return;
	for (guint i = 1; i < graph->links->len; i++)
		link_free(g_ptr_array_index(graph->links, i));
	g_ptr_array_unref(graph->links);
	tr_graph_store_clear(graph);
	g_rand_free(graph->rand);
	g_free(graph->self_name);
	g_free(graph);
}

guint
tr_graph_link_up(TrGraph *graph, const char *peer, TrGraphLinkFlags flags,
                 const TrGraphEndpoint *address, guint32 weight_us, gint64 now, GError **error)
{
	TrGraphLink *link;
	TrGraphNode *node;
	guint id;

	graph->now = now;
	if (!tr_identity_validate_name("peer name", peer, error))
		return 0;
	if (strcmp(peer, graph->self_name) == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "graph: a link from '%s' to itself",
		            peer);
		return 0;
	}
	if (!(node = tr_graph_node_get(graph, peer, TRUE))) {
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "graph: more than %u nodes",
		            graph->config.max_nodes);
		return 0;
	}
	for (id = 1; id < graph->links->len; id++) {
		TrGraphLink *l = g_ptr_array_index(graph->links, id);

		if (l && l->peer == node) {
			g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
			            "graph: '%s' is linked already", peer);
			return 0;
		}
	}
	link = g_new0(TrGraphLink, 1);
	link->peer = node;
	link->flags = flags;
	link->weight = MAX(weight_us, 1u);
	if (address)
		link->address = *address;
	/* A leaf gets a partial view if the network is large when it comes. */
	link->partial = graph->config.relay && !(flags & TR_GRAPH_LINK_RELAY) &&
	                g_hash_table_size(graph->nodes) > graph->config.full_view_max;
	link->watched = g_hash_table_new(NULL, NULL);
	link->sample = g_ptr_array_new();
	for (id = 1; id < graph->links->len && g_ptr_array_index(graph->links, id); id++)
		;
	if (id == graph->links->len)
		g_ptr_array_add(graph->links, link);
	else
		graph->links->pdata[id] = link;
	/* The others hear of the new edge; the new peer, of everything. */
	tr_graph_own_edge(graph, link, TRUE, id, now);
	tr_graph_view_start(graph, link, now);
	return id;
}

static TrGraphLink *
link_get(TrGraph *graph, guint id)
{
	return id > 0 && id < graph->links->len ? g_ptr_array_index(graph->links, id) : NULL;
}

void
tr_graph_link_down(TrGraph *graph, guint id, gint64 now)
{
	TrGraphLink *link = link_get(graph, id);
	TrGraphNode *peer;

	graph->now = now;
	if (!link)
		return;
	graph->links->pdata[id] = NULL;
	peer = link->peer;
	tr_graph_own_edge(graph, link, FALSE, 0, now);
	link_free(link);
	peer->refs++;
	tr_graph_node_unref(graph, peer);
}

void
tr_graph_link_weight(TrGraph *graph, guint id, guint32 weight_us, gint64 now)
{
	TrGraphLink *link = link_get(graph, id);
	guint32 w = MAX(weight_us, 1u);

	if (!link)
		return;
	if ((guint64)w * 4 > (guint64)link->weight * 5 ||
	    (guint64)w * 4 < (guint64)link->weight * 3) {
		link->weight = w;
		tr_graph_own_edge(graph, link, TRUE, 0, now);
	}
}

/* Statements nobody refreshed for a lifetime go (their origin is gone or
 * cut off); so do forgotten nodes' tombstones. */
static void
expire(TrGraph *graph, gint64 now)
{
	gint64 old = now - (gint64)graph->config.lifetime_s * G_USEC_PER_SEC;
	g_autoptr(GPtrArray) edges = g_ptr_array_new();
	g_autoptr(GPtrArray) claims = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, graph->edges);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		TrGraphEdge *e = key;

		if (e->from != graph->self && e->born <= old)
			g_ptr_array_add(edges, e);
	}
	g_hash_table_iter_init(&it, graph->claims);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		TrGraphClaim *c = key;

		if (c->origin != graph->self && c->born <= old)
			g_ptr_array_add(claims, c);
	}
	for (guint i = 0; i < edges->len; i++)
		tr_graph_edge_remove(graph, g_ptr_array_index(edges, i));
	for (guint i = 0; i < claims->len; i++)
		tr_graph_claim_remove(graph, g_ptr_array_index(claims, i));
}

static void
forget_unreachable(TrGraph *graph, gint64 now)
{
	gint64 limit = now - (gint64)graph->config.forget_s * G_USEC_PER_SEC;
	g_autoptr(GPtrArray) gone = g_ptr_array_new();

	tr_graph_paths_ensure(graph);
	for (guint i = 0; i < graph->order->len; i++) {
		TrGraphNode *n = g_ptr_array_index(graph->order, i);

		if (!n->reachable && n != graph->self && n->unreachable_since != G_MININT64 &&
		    n->unreachable_since <= limit)
			g_ptr_array_add(gone, n);
	}
	if (!gone->len)
		return;
	/* Withdrawn edges toward them go too (ours among them): they would keep
	 * the names alive. Before the nodes, which may go with the last ref. */
	{
		g_autoptr(GHashTable) set = g_hash_table_new(NULL, NULL);
		g_autoptr(GPtrArray) dead = g_ptr_array_new();
		GHashTableIter it;
		gpointer key;

		for (guint i = 0; i < gone->len; i++)
			g_hash_table_add(set, g_ptr_array_index(gone, i));
		g_hash_table_iter_init(&it, graph->edges);
		while (g_hash_table_iter_next(&it, &key, NULL)) {
			TrGraphEdge *e = key;

			if (!e->alive && g_hash_table_contains(set, e->to))
				g_ptr_array_add(dead, e);
		}
		for (guint i = 0; i < gone->len; i++)
			((TrGraphNode *)g_ptr_array_index(gone, i))->refs++;
		for (guint i = 0; i < dead->len; i++)
			tr_graph_edge_remove(graph, g_ptr_array_index(dead, i));
	}
	for (guint i = 0; i < gone->len; i++) {
		TrGraphNode *n = g_ptr_array_index(gone, i);

		g_debug("graph: forgetting '%s' (unreachable for %u s)", n->name,
		        graph->config.forget_s);
		n->unreachable_since = G_MININT64;
		n->refs--; /* node_forget takes its own and lets go at the end */
		tr_graph_node_forget(graph, n);
	}
	tr_graph_paths_ensure(graph);
}

static gint
by_heard(gconstpointer a, gconstpointer b)
{
	const TrGraphNode *x = *(TrGraphNode *const *)a, *y = *(TrGraphNode *const *)b;

	return x->heard < y->heard ? -1 : x->heard > y->heard;
}

/* A leaf holds at most full_view_max other leaves: what partial views
 * brought in and nobody refreshes any more goes, oldest news first, with
 * every edge toward it (a leaf relays nothing, so it owes nobody these). */
static void
evict_leaves(TrGraph *graph)
{
	g_autoptr(GPtrArray) others = g_ptr_array_new();
	g_autoptr(GHashTable) victims = g_hash_table_new(NULL, NULL);
	g_autoptr(GPtrArray) edges = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;
	guint excess;

	for (guint i = 0; i < graph->order->len; i++) {
		TrGraphNode *n = g_ptr_array_index(graph->order, i);
		gboolean linked = FALSE;

		for (guint j = 1; j < graph->links->len && !linked; j++) {
			TrGraphLink *l = g_ptr_array_index(graph->links, j);

			linked = l && l->peer == n;
		}
		if (n != graph->self && !(n->options & TR_GRAPH_EDGE_RELAY) && !linked)
			g_ptr_array_add(others, n);
	}
	if (others->len <= graph->config.full_view_max)
		return;
	g_ptr_array_sort(others, by_heard);
	excess = others->len - graph->config.full_view_max;
	for (guint i = 0; i < excess; i++) {
		TrGraphNode *n = g_ptr_array_index(others, i);

		g_hash_table_add(victims, n);
		n->refs++; /* held until its edges and statements are gone */
	}
	g_hash_table_iter_init(&it, graph->edges);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		TrGraphEdge *e = key;

		if (g_hash_table_contains(victims, e->to) &&
		    !g_hash_table_contains(victims, e->from))
			g_ptr_array_add(edges, e);
	}
	for (guint i = 0; i < edges->len; i++)
		tr_graph_edge_remove(graph, g_ptr_array_index(edges, i));
	for (guint i = 0; i < excess; i++) {
		TrGraphNode *n = g_ptr_array_index(others, i);

		n->refs--;
		tr_graph_node_forget(graph, n);
	}
}

gint64
tr_graph_tick(TrGraph *graph, gint64 now)
{
	gint64 next = now + TICK_MAX_USEC;

	graph->now = now;
	/* Refreshes are spread over the second half of the interval, so the
	 * nodes of a network started together do not all refresh at once. */
	if (graph->next_refresh == G_MININT64 || now >= graph->next_refresh) {
		gint64 period = (gint64)graph->config.refresh_s * G_USEC_PER_SEC;

		if (graph->next_refresh != G_MININT64)
			tr_graph_refresh_own(graph, now);
		graph->next_refresh = now + period / 2 +
		                      (gint64)(g_rand_double(graph->rand) * (double)(period / 2));
	}
	/* Expiry needs no precision: a sixtieth of a lifetime late at most. */
	if (now >= graph->next_expiry) {
		expire(graph, now);
		graph->next_expiry =
		        now +
		        MAX((gint64)graph->config.lifetime_s * G_USEC_PER_SEC / 60, G_USEC_PER_SEC);
	}
	if (!graph->config.relay)
		evict_leaves(graph);
	tr_graph_paths_ensure(graph);
	if (graph->unreachable)
		forget_unreachable(graph, now);
	for (guint i = 1; i < graph->links->len; i++) {
		TrGraphLink *l = g_ptr_array_index(graph->links, i);

		if (!l)
			continue;
		tr_graph_view_adjust(graph, l, now);
		if (l->partial && now >= l->view_turn_at)
			tr_graph_view_turn(graph, l, now);
	}
	return MIN(next, graph->next_refresh);
}

static void
fill_info(TrGraphNode *n, TrGraphNodeInfo *info)
{
	memset(info, 0, sizeof(*info));
	info->known = TRUE;
	info->reachable = n->reachable;
	info->relay = (n->options & TR_GRAPH_EDGE_RELAY) != 0;
	info->hub = (n->options & TR_GRAPH_EDGE_HUB) != 0;
	if (n->reachable) {
		g_strlcpy(info->nexthop, n->nexthop->name, sizeof(info->nexthop));
		g_strlcpy(info->via, n->via->name, sizeof(info->via));
		info->distance = n->distance;
		info->hops = n->hops;
		if (n->prevedge)
			info->address = n->prevedge->address;
	}
}

gboolean
tr_graph_node_info(TrGraph *graph, const char *name, TrGraphNodeInfo *info)
{
	TrGraphNode *n = tr_graph_node_get(graph, name, FALSE);

	memset(info, 0, sizeof(*info));
	if (!n)
		return FALSE;
	/* Paths are recomputed after a change before anything reads them. */
	tr_graph_paths_ensure(graph);
	fill_info(n, info);
	return TRUE;
}

static gint
by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
tr_graph_foreach_node(TrGraph *graph, TrGraphNodeFunc fn, gpointer user)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();

	tr_graph_paths_ensure(graph);
	for (guint i = 0; i < graph->order->len; i++)
		g_ptr_array_add(names, ((TrGraphNode *)g_ptr_array_index(graph->order, i))->name);
	g_ptr_array_sort(names, by_name);
	for (guint i = 0; i < names->len; i++) {
		TrGraphNodeInfo info;

		fill_info(tr_graph_node_get(graph, g_ptr_array_index(names, i), FALSE), &info);
		fn(g_ptr_array_index(names, i), &info, user);
	}
}

const char *
tr_graph_route(TrGraph *graph, TrAddrFamily family, const uint8_t *addr)
{
	TrPrefix host = {.family = (uint8_t)family,
	                 .len = (uint8_t)(tr_addr_family_bytes(family) * 8)};
	g_autoptr(GPtrArray) nearby = g_ptr_array_new();
	const TrGraphClaim *best = NULL;

	memcpy(host.addr, addr, tr_addr_family_bytes(family));
	tr_graph_claims_overlapping(graph, &host, nearby);
	for (guint i = 0; i < nearby->len; i++) {
		const TrGraphClaim *c = g_ptr_array_index(nearby, i);

		if (!c->alive || !c->accepted)
			continue;
		/* A pool routes to its hub only for addresses no client holds. */
		if (!best || c->prefix.len > best->prefix.len)
			best = c;
	}
	return best ? best->owner->name : NULL;
}

guint64
tr_graph_generation(TrGraph *graph)
{
	return graph->generation;
}

static void
call_standing(GPtrArray *standing, TrGraphClaimFunc fn, gpointer user)
{
	for (guint i = 0; i < standing->len; i++) {
		const TrGraphClaim *c = g_ptr_array_index(standing, i);
		TrGraphClaimInfo info = {
		        .origin = c->origin->name,
		        .owner = c->owner->name,
		        .prefix = c->prefix,
		        .kind = (TrGraphClaimKind)c->kind,
		};

		fn(&info, user);
	}
}

void
tr_graph_foreach_claim_of(TrGraph *graph, const TrPrefix *prefix, TrGraphClaimFunc fn,
                          gpointer user)
{
	g_autoptr(GPtrArray) all = g_ptr_array_new();
	g_autoptr(GPtrArray) standing = g_ptr_array_new();
	TrPrefix p = *prefix;

	tr_prefix_mask(&p);
	tr_graph_claims_exact(graph, &p, all);
	/* Collected first: @fn may call back into the graph (node_info). */
	for (guint i = 0; i < all->len; i++) {
		TrGraphClaim *c = g_ptr_array_index(all, i);

		if (c->alive && c->accepted)
			g_ptr_array_add(standing, c);
	}
	call_standing(standing, fn, user);
}

/* More changes than this kept between two takes: a daemon that does not
 * take them (no linked hub) goes through everything at its next take. */
#define CHANGES_MAX 65536

void
tr_graph_note_change(TrGraph *graph, const TrPrefix *prefix)
{
	if (graph->changed_all)
		return;
	if (g_hash_table_size(graph->changed) >= CHANGES_MAX) {
		graph->changed_all = TRUE;
		g_hash_table_remove_all(graph->changed);
		return;
	}
	if (!g_hash_table_contains(graph->changed, prefix))
		g_hash_table_add(graph->changed, g_memdup2(prefix, sizeof(*prefix)));
}

gboolean
tr_graph_take_changes(TrGraph *graph, TrGraphPrefixFunc fn, gpointer user)
{
	g_autoptr(GPtrArray) taken = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer key;

	/* The leaves' paths first: they note what moved. */
	tr_graph_paths_ensure(graph);
	if (graph->changed_all) {
		graph->changed_all = FALSE;
		g_hash_table_remove_all(graph->changed);
		return FALSE;
	}
	/* Taken first: @fn may call back into the graph. */
	g_hash_table_iter_init(&it, graph->changed);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		g_hash_table_iter_steal(&it);
		g_ptr_array_add(taken, key);
	}
	for (guint i = 0; i < taken->len; i++)
		fn(g_ptr_array_index(taken, i), user);
	return TRUE;
}

void
tr_graph_foreach_claim(TrGraph *graph, TrGraphClaimFunc fn, gpointer user)
{
	g_autoptr(GPtrArray) standing = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;

	/* Collected first: @fn may call back into the graph (node_info). */
	g_hash_table_iter_init(&it, graph->claims);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		TrGraphClaim *c = key;

		if (c->alive && c->accepted)
			g_ptr_array_add(standing, c);
	}
	call_standing(standing, fn, user);
}

gboolean
tr_graph_claim_accepted(TrGraph *graph, const char *origin, const char *owner,
                        const TrPrefix *prefix, char **reason)
{
	TrGraphNode *on = tr_graph_node_get(graph, owner, FALSE);
	TrGraphNode *og = origin ? tr_graph_node_get(graph, origin, FALSE) : on;
	TrGraphClaim *c = on && og ? tr_graph_claim_find(graph, og, on, prefix) : NULL;

	if (reason)
		*reason = NULL;
	if (!c) {
		if (reason)
			*reason = g_strdup("not known");
		return FALSE;
	}
	if (c->alive && c->accepted)
		return TRUE;
	if (reason)
		*reason = tr_graph_claim_reason(c);
	return FALSE;
}

void
tr_graph_stats(TrGraph *graph, TrGraphStats *stats)
{
	GHashTableIter it;
	gpointer key;

	tr_graph_paths_ensure(graph);
	*stats = graph->stats;
	stats->nodes = g_hash_table_size(graph->nodes);
	stats->reachable = 0;
	for (guint i = 0; i < graph->order->len; i++)
		stats->reachable += ((TrGraphNode *)g_ptr_array_index(graph->order, i))->reachable;
	stats->edges = 0;
	g_hash_table_iter_init(&it, graph->edges);
	while (g_hash_table_iter_next(&it, &key, NULL))
		stats->edges += ((TrGraphEdge *)key)->alive;
	stats->claims = stats->refused_claims = 0;
	g_hash_table_iter_init(&it, graph->claims);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		TrGraphClaim *c = key;

		stats->claims += c->alive;
		stats->refused_claims += c->alive && !c->accepted;
	}
	stats->links = 0;
	for (guint i = 1; i < graph->links->len; i++)
		stats->links += g_ptr_array_index(graph->links, i) != NULL;
}
