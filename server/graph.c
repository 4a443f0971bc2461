/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hub's place in the network graph (issue 19; docs/PROTOCOL.md, "The
 * graph"): hubs that --connect each other state their pools, each checks
 * them against every pool it knows before the link counts (a collision is
 * refused with code 14 on both sides), and from then on the graph's messages
 * travel over their control connections. The hub claims its own pools; the
 * graph itself (common/graph/) floods, keeps versions and computes paths.
 */
#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "common/graph/graph.h"
#include "server/hub-private.h"
#include "server/node.h"

#include <string.h>

#define GRAPH_WEIGHT_DEFAULT_US 1000 /* until the link's round trip is measured (PING/PONG) */

static void
graph_send(guint link, const uint8_t *frame, size_t len, gpointer user)
{
	TrHub *hub = user;
	Session *s = g_hash_table_lookup(hub->graph_links, GUINT_TO_POINTER(link));
	g_autoptr(GError) error = NULL;

	/* tr_graph_link_up() sends the new peer everything before it returns
	 * the link's id. */
	if (s == NULL)
		s = hub->graph_linking;
	if (s == NULL || s->state == SESSION_GONE)
		return;
	if (!tr_link_send_frame(s->link, frame, len, &error))
		g_debug("graph: to %s: %s", hub_session_name(s), error->message);
}

/* Each hub link weighs its measured round trip (PING/PONG); a change of
 * less than a fifth is not news worth flooding. */
static void
update_weights(TrHub *hub)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, hub->graph_links);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		Session *s = v;
		guint32 rtt = tr_link_get_rtt(s->link);
		guint32 w = s->graph_weight;

		if (rtt == 0 || (w && (rtt > w ? rtt - w : w - rtt) * 5 < w))
			continue;
		s->graph_weight = rtt;
		tr_graph_link_weight(hub->graph, s->graph_link, rtt, g_get_monotonic_time());
	}
}

static gboolean
on_graph_timer(gpointer p)
{
	TrHub *hub = p;

	hub->graph_timer = 0;
	update_weights(hub);
	hub_graph_schedule(hub);
	return G_SOURCE_REMOVE;
}

void
hub_graph_schedule(TrHub *hub)
{
	gint64 now = g_get_monotonic_time();
	gint64 next = tr_graph_tick(hub->graph, now);
	/* At least every few seconds: the links' round trips change. */
	guint ms = next > now ? (guint)MIN((next - now + 999) / 1000, 5000) : 1000;

	g_clear_handle_id(&hub->graph_timer, g_source_remove);
	hub->graph_timer = g_timeout_add(ms, on_graph_timer, hub);
	hub_contacts_sync_soon(hub);
}

static const TrPrefix *
own_pool(TrHub *hub, guint i)
{
	const TrPrefix *p = i == 0 ? &hub->cfg.pool4 : &hub->cfg.pool6;

	return hub->pool && p->family != TR_ADDR_NONE ? p : NULL;
}

gboolean
hub_graph_init(TrHub *hub, GError **error)
{
	TrGraphConfig gc;
	gint64 now = g_get_monotonic_time();

	tr_graph_config_defaults(&gc);
	gc.self = hub->cfg.node_name ? hub->cfg.node_name : "hub";
	gc.relay = TRUE;
	gc.hub = hub->pool != NULL;
	gc.seq_start = (guint64)g_get_real_time();
	gc.seed = g_random_int();
	gc.send = graph_send;
	gc.user = hub;
	hub->graph = tr_graph_new(&gc, error);
	if (hub->graph == NULL)
		return FALSE;
	hub->graph_links = g_hash_table_new(NULL, NULL);
	for (guint i = 0; i < 2; i++) {
		const TrPrefix *p = own_pool(hub, i);

		if (p && !tr_graph_claim(hub->graph, NULL, p, TR_GRAPH_CLAIM_POOL, now, error))
			return FALSE;
	}
	hub_graph_schedule(hub);
	return TRUE;
}

void
hub_graph_free(TrHub *hub)
{
	g_clear_handle_id(&hub->graph_timer, g_source_remove);
	g_clear_pointer(&hub->graph, tr_graph_free);
	g_clear_pointer(&hub->graph_links, g_hash_table_unref);
}

void
hub_graph_close(TrHub *hub)
{
	if (hub->graph)
		tr_graph_close(hub->graph, g_get_monotonic_time());
}

void
hub_graph_describe(TrHub *hub, TrMsg *m)
{
	for (guint i = 0; i < 2; i++) {
		const TrPrefix *p = own_pool(hub, i);

		if (p)
			tr_msg_add_prefix(m, TR_ATTR_POOL, p);
	}
}

gboolean
hub_graph_check_pools(Session *s, const char *peer, const TrMsg *m, char **why)
{
	for (guint i = 0; i < m->n_pools; i++) {
		g_autoptr(GError) error = NULL;
		TrPrefix p = m->pools[i];

		tr_prefix_mask(&p);
		if (!tr_graph_check_pool(s->hub->graph, peer, &p, &error)) {
			*why = g_strdup(error->message);
			return FALSE;
		}
	}
	return TRUE;
}

void
hub_graph_link_up(Session *s, const char *peer)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	TrGraphEndpoint ep;
	guint id;

	/* Where it can be dialled: others make direct contact there (contacts.c). */
	hub_contact_endpoint(s, &ep);
	hub->graph_linking = s;
	id = tr_graph_link_up(hub->graph, peer, TR_GRAPH_LINK_RELAY, ep.family ? &ep : NULL,
	                      GRAPH_WEIGHT_DEFAULT_US, g_get_monotonic_time(), &error);
	hub->graph_linking = NULL;
	if (id == 0) {
		g_warning("graph: no link to %s: %s", peer, error->message);
		return;
	}
	s->graph_link = id;
	g_hash_table_insert(hub->graph_links, GUINT_TO_POINTER(id), s);
	hub_graph_schedule(hub);
}

void
hub_graph_link_down(Session *s)
{
	TrHub *hub = s->hub;

	if (s->graph_link == 0 || hub->graph == NULL)
		return;
	g_hash_table_remove(hub->graph_links, GUINT_TO_POINTER(s->graph_link));
	tr_graph_link_down(hub->graph, s->graph_link, g_get_monotonic_time());
	s->graph_link = 0;
	hub_graph_schedule(hub);
}

gboolean
hub_graph_message(Session *s, TrMsg *msg)
{
	g_autoptr(GError) error = NULL;

	if (!tr_msg_type_is_graph(msg->type) || s->graph_link == 0)
		return FALSE;
	if (!tr_graph_receive(s->hub->graph, s->graph_link, msg->frame, msg->frame_len,
	                      g_get_monotonic_time(), &error)) {
		hub_session_refuse(s, TR_REFUSE_PROTOCOL, error->message, error->message);
		return TRUE;
	}
	hub_contacts_sync_soon(s->hub);
	return TRUE;
}

void
hub_graph_take_pools(Session *s, const TrMsg *m)
{
	for (guint i = 0; i < m->n_pools && s->n_subnets < HUB_MAX_SUBNETS; i++) {
		TrPrefix p = m->pools[i];

		tr_prefix_mask(&p);
		s->subnets[s->n_subnets++] = p;
	}
}

gboolean
hub_graph_in_pools(const TrMsg *m, const TrPrefix *addr)
{
	for (guint i = 0; i < m->n_pools; i++)
		if (m->pools[i].family == addr->family &&
		    tr_prefix_contains(&m->pools[i], (TrAddrFamily)addr->family, addr->addr))
			return TRUE;
	return FALSE;
}

static void
node_json(const char *name, const TrGraphNodeInfo *info, gpointer p)
{
	GString *out = p;
	gboolean f = TRUE;

	if (out->str[out->len - 1] != '[')
		g_string_append_c(out, ',');
	g_string_append_c(out, '{');
	tr_json_key_string(out, &f, "name", name);
	tr_json_key_bool(out, &f, "reachable", info->reachable);
	tr_json_key_bool(out, &f, "hub", info->hub);
	tr_json_key_bool(out, &f, "relay", info->relay);
	if (info->reachable) {
		tr_json_key_string(out, &f, "next_hop", info->nexthop);
		tr_json_key_uint(out, &f, "hops", info->hops);
		tr_json_key_uint(out, &f, "distance_us", info->distance);
	}
	g_string_append_c(out, '}');
}

void
hub_graph_stats_json(TrHub *hub, GString *out, gboolean *first)
{
	g_autofree char *dot = NULL;
	gboolean f = TRUE;

	if (hub->graph == NULL)
		return;
	dot = tr_graph_to_dot(hub->graph);
	tr_json_key(out, first, "graph");
	g_string_append_c(out, '{');
	tr_json_key_string(out, &f, "self", hub->cfg.node_name ? hub->cfg.node_name : "hub");
	tr_json_key(out, &f, "nodes");
	g_string_append_c(out, '[');
	tr_graph_foreach_node(hub->graph, node_json, out);
	g_string_append_c(out, ']');
	tr_json_key_string(out, &f, "dot", dot);
	g_string_append_c(out, '}');
}
