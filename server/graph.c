/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hub's place in the network graph (issue 19; docs/PROTOCOL.md, "The
 * graph"): hubs that --connect each other state their pools, each checks
 * them against every pool it knows before the link counts (a collision is
 * refused with code 14 on both sides), and from then on the graph's messages
 * travel over their control connections. The hub claims its own pools; the
 * graph itself (common/graph/) floods, keeps versions and computes paths.
 *
 * What lies behind hubs further away is routed here too: after every change
 * of the graph, each standing claim of a node that is not linked to us (a
 * hub two links away, a client behind it) is routed to the session of the
 * next hop toward its owner; the claims of linked hubs are their sessions'
 * own (hub_graph_take_pools). A link that goes moves them to another path,
 * or drops them when the owner is unreachable.
 */
#include "common/auth/identity.h"
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "common/graph/graph.h"
#include "server/hub-private.h"
#include "server/node.h"

#include <string.h>

#define GRAPH_WEIGHT_DEFAULT_US 1000 /* until the link's round trip is measured (PING/PONG) */
#define GRAPH_SYNC_MS           10   /* a burst of graph messages: one sync of the routes */

/* A claim behind another hub, routed to the session of the next hop. */
typedef struct {
	TrPrefix prefix;
	Session *via;
} LearntRoute;

static void sync_soon(TrHub *hub);

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
	sync_soon(hub);
	hub_contacts_sync_soon(hub);
}

static const TrPrefix *
own_pool(TrHub *hub, guint i)
{
	const TrPrefix *p = i == 0 ? &hub->cfg.pool4 : &hub->cfg.pool6;

	return hub->pool && p->family != TR_ADDR_NONE ? p : NULL;
}

/* ---- Routes to what lies behind other hubs ------------------------------------ */

typedef struct {
	TrHub *hub;
	GHashTable *by_name; /* linked peer's name -> Session */
	GHashTable *want;    /* "PREFIX" -> LearntRoute (owned) */
	GHashTable *keys;    /* "PREFIX": the prefixes that changed */
} SyncCtx;

/* Whether @p is already @s's own: a subnet or pool it stated, or one of its
 * addresses (a host route). */
static gboolean
session_claims(Session *s, const TrPrefix *p)
{
	for (guint i = 0; i < s->n_subnets; i++)
		if (tr_prefix_equal(&s->subnets[i], p))
			return TRUE;
	/* A linked node's own addresses are its session's host routes. */
	for (guint i = 0; i < s->n_addrs; i++) {
		TrPrefix a = s->addrs[i];

		a.len = (uint8_t)(tr_addr_family_bytes((TrAddrFamily)a.family) * 8);
		if (tr_prefix_equal(&a, p))
			return TRUE;
	}
	return FALSE;
}

static void
want_claim(const TrGraphClaimInfo *c, gpointer p)
{
	SyncCtx *ctx = p;
	TrGraphNodeInfo info;
	char key[TR_PREFIX_STRLEN];
	LearntRoute *r;
	Session *s;

	if (!tr_graph_node_info(ctx->hub->graph, c->owner, &info) || !info.reachable ||
	    info.hops == 0)
		return;
	s = g_hash_table_lookup(ctx->by_name, info.nexthop);
	/* Our own clients' claims are their sessions'; a linked hub's pools too. */
	if (s == NULL || s->id == 0 || s->state != SESSION_ACTIVE || session_claims(s, &c->prefix))
		return;
	tr_prefix_to_string(&c->prefix, key, sizeof(key));
	/* Two owners of one prefix cannot both stand (ownership rules). */
	if (g_hash_table_contains(ctx->want, key))
		return;
	r = g_new0(LearntRoute, 1);
	r->prefix = c->prefix;
	r->via = s;
	g_hash_table_insert(ctx->want, g_strdup(key), r);
}

/* A prefix whose claims or owner's path changed: what it wants now. */
static void
want_prefix(const TrPrefix *prefix, gpointer p)
{
	SyncCtx *ctx = p;
	char key[TR_PREFIX_STRLEN];

	tr_prefix_to_string(prefix, key, sizeof(key));
	g_hash_table_add(ctx->keys, g_strdup(key));
	if (g_hash_table_size(ctx->by_name) > 0)
		tr_graph_foreach_claim_of(ctx->hub->graph, prefix, want_claim, ctx);
}

/* The learnt route @key as @w says (NULL: none); TRUE if it changed. */
static gboolean
apply_route(TrHub *hub, const char *key, LearntRoute *w)
{
	LearntRoute *have = g_hash_table_lookup(hub->graph_routes, key);

	if (have && w && w->via == have->via)
		return FALSE;
	if (have) {
		hub_route_learnt(have->via, &have->prefix, FALSE);
		g_debug("graph: %s no longer through %s", key, hub_session_name(have->via));
		g_hash_table_remove(hub->graph_routes, key);
	}
	if (w && hub_route_learnt(w->via, &w->prefix, TRUE)) {
		g_debug("graph: %s through %s", key, hub_session_name(w->via));
		g_hash_table_insert(hub->graph_routes, g_strdup(key), g_memdup2(w, sizeof(*w)));
		return TRUE;
	}
	return have != NULL;
}

/*
 * The learnt routes follow the graph: what moved or went is taken out, what
 * is new goes in, and the forwarding snapshot is rebuilt once. Only the
 * prefixes the graph says changed are looked at (a client arriving on any
 * hub is one), unless anything may have moved (a link came or went, a
 * session's own prefixes changed): then every claim.
 */
static void
sync_routes(TrHub *hub)
{
	g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) want = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GHashTable) keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	SyncCtx ctx = {hub, by_name, want, keys};
	GHashTableIter it;
	gpointer k, v;
	gboolean changed = FALSE;

	hub->graph_synced = tr_graph_generation(hub->graph);
	g_hash_table_iter_init(&it, hub->graph_links);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_hash_table_insert(by_name, (gpointer)hub_session_name(v), v);
	if (tr_graph_take_changes(hub->graph, want_prefix, &ctx) && !hub->graph_resync) {
		g_hash_table_iter_init(&it, keys);
		while (g_hash_table_iter_next(&it, &k, NULL))
			changed |= apply_route(hub, k, g_hash_table_lookup(want, k));
		if (changed)
			hub_routes_commit(hub);
		return;
	}
	hub->graph_resync = FALSE;
	g_hash_table_remove_all(want);
	/* Without a linked hub nothing is wanted: the walk of every claim is
	 * skipped. */
	if (g_hash_table_size(by_name) > 0)
		tr_graph_foreach_claim(hub->graph, want_claim, &ctx);

	g_hash_table_iter_init(&it, hub->graph_routes);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		LearntRoute *have = v, *w = g_hash_table_lookup(want, k);

		if (w && w->via == have->via) {
			g_hash_table_remove(want, k);
			continue;
		}
		hub_route_learnt(have->via, &have->prefix, FALSE);
		g_debug("graph: %s no longer through %s", (char *)k, hub_session_name(have->via));
		g_hash_table_iter_remove(&it);
		changed = TRUE;
	}
	g_hash_table_iter_init(&it, want);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		LearntRoute *w = v;

		if (!hub_route_learnt(w->via, &w->prefix, TRUE))
			continue;
		g_debug("graph: %s through %s", (char *)k, hub_session_name(w->via));
		g_hash_table_iter_steal(&it);
		g_hash_table_insert(hub->graph_routes, k, w);
		changed = TRUE;
	}
	if (changed)
		hub_routes_commit(hub);
}

/*
 * A client's subnet may lose later: two hubs that were apart each accepted a
 * claim of it, and once they are linked the earlier claim wins on every node.
 * The loser is disconnected with the graph's reason (as it would have been
 * refused at connect); its claims go with it.
 */
static void
drop_refused_clients(TrHub *hub)
{
	const char *self = hub->cfg.node_name ? hub->cfg.node_name : "hub";
	g_autoptr(GPtrArray) losers = g_ptr_array_new();
	GHashTableIter it;
	gpointer k;

	/* Only clients with subnets can lose: addresses come from our pool. */
	g_hash_table_iter_init(&it, hub->graph_subnet_clients);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		Session *s = k;

		if (s->state == SESSION_ACTIVE && s->graph_name && s->n_subnets)
			g_ptr_array_add(losers, s);
	}
	for (guint i = 0; i < losers->len; i++) {
		Session *s = losers->pdata[i];

		for (guint j = 0; j < s->n_subnets; j++) {
			g_autofree char *reason = NULL, *why = NULL;

			if (tr_graph_claim_accepted(hub->graph, self, s->graph_name, &s->subnets[j],
			                            &reason))
				continue;
			why = g_strdup_printf("the network refuses the claim: %s", reason);
			g_message("client %s: disconnecting: %s", s->identity, why);
			hub_unregister(s);
			tr_link_close(s->link, TR_MSG_ERROR, TR_REFUSE_SETTINGS, why);
			break;
		}
	}
}

static gboolean
on_sync(gpointer p)
{
	TrHub *hub = p;

	hub->graph_sync = 0;
	if (tr_graph_generation(hub->graph) != hub->graph_synced) {
		sync_routes(hub);
		drop_refused_clients(hub);
	}
	return G_SOURCE_REMOVE;
}

static void
sync_soon(TrHub *hub)
{
	if (hub->graph && hub->graph_sync == 0 &&
	    tr_graph_generation(hub->graph) != hub->graph_synced)
		hub->graph_sync = g_timeout_add(GRAPH_SYNC_MS, on_sync, hub);
}

/* Drops the learnt routes through @s (or, @prefix set, those of that prefix). */
static void
drop_learnt(TrHub *hub, Session *s, const TrPrefix *prefix)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, hub->graph_routes);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		LearntRoute *r = v;

		if ((s && r->via != s) || (prefix && !tr_prefix_equal(&r->prefix, prefix)))
			continue;
		hub_route_learnt(r->via, &r->prefix, FALSE);
		g_hash_table_iter_remove(&it);
		/* Whatever remains is routed anew at the next sync. */
		hub->graph_synced = 0;
		hub->graph_resync = TRUE;
	}
}

void
hub_graph_unregistered(Session *s)
{
	if (s->hub->graph_routes == NULL)
		return;
	drop_learnt(s->hub, s, NULL);
	sync_soon(s->hub);
}

/* A node claims its own tunnel addresses (host routes) and subnets (a hub
 * with a pool: the LANs behind it): nodes further away route them to the
 * next hop toward it. */
static gboolean
claim_node_prefixes(TrHub *hub, gint64 now, GError **error)
{
	for (guint i = 0; i < hub->cfg.n_addresses; i++) {
		TrPrefix a = hub->cfg.addresses[i];

		if (a.family != TR_ADDR_IPV4 && a.family != TR_ADDR_IPV6)
			continue;
		a.len = (uint8_t)(tr_addr_family_bytes((TrAddrFamily)a.family) * 8);
		if (!tr_graph_claim(hub->graph, NULL, &a, TR_GRAPH_CLAIM_ADDRESS, now, error))
			return FALSE;
	}
	for (guint i = 0; i < hub->cfg.n_subnets; i++) {
		TrPrefix p = hub->cfg.subnets[i];

		tr_prefix_mask(&p);
		if (!tr_graph_claim(hub->graph, NULL, &p, TR_GRAPH_CLAIM_SUBNET, now, error))
			return FALSE;
	}
	return TRUE;
}

gboolean
hub_graph_init(TrHub *hub, GError **error)
{
	TrGraphConfig gc = {0}; /* the defaults fill only what is zero */
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
	hub->graph_routes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	hub->graph_subnet_clients = g_hash_table_new(NULL, NULL);
	for (guint i = 0; i < 2; i++) {
		const TrPrefix *p = own_pool(hub, i);

		if (p && !tr_graph_claim(hub->graph, NULL, p, TR_GRAPH_CLAIM_POOL, now, error))
			return FALSE;
	}
	/* The LANs behind us and our own addresses outside the pools. */
	if (!claim_node_prefixes(hub, now, error))
		return FALSE;
	hub_graph_schedule(hub);
	return TRUE;
}

void
hub_graph_free(TrHub *hub)
{
	g_clear_handle_id(&hub->graph_timer, g_source_remove);
	g_clear_handle_id(&hub->graph_sync, g_source_remove);
	g_clear_pointer(&hub->graph, tr_graph_free);
	g_clear_pointer(&hub->graph_links, g_hash_table_unref);
	/* The sessions (and their routes) went before. */
	g_clear_pointer(&hub->graph_routes, g_hash_table_unref);
	g_clear_pointer(&hub->graph_subnet_clients, g_hash_table_unref);
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
	/* A session it replaces (both dialled, or it came back before the old
	 * one ended) gives its link up first. */
	{
		GHashTableIter it;
		gpointer v;

		g_hash_table_iter_init(&it, hub->graph_links);
		while (g_hash_table_iter_next(&it, NULL, &v))
			if (v != s && strcmp(hub_session_name(v), peer) == 0) {
				hub_graph_link_down(v);
				break;
			}
	}
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
	/* Another next hop: every route is looked at anew. */
	hub->graph_resync = TRUE;
	hub_graph_schedule(hub);
}

/* The link leaves the graph and the table of sessions it sends through. */
static gboolean
forget_link(Session *s)
{
	TrHub *hub = s->hub;

	if (s->graph_link == 0 || hub->graph == NULL)
		return FALSE;
	g_hash_table_remove(hub->graph_links, GUINT_TO_POINTER(s->graph_link));
	tr_graph_link_down(hub->graph, s->graph_link, g_get_monotonic_time());
	s->graph_link = 0;
	return TRUE;
}

void
hub_graph_link_down(Session *s)
{
	if (!forget_link(s))
		return;
	s->hub->graph_resync = TRUE;
	hub_graph_schedule(s->hub);
}

void
hub_graph_session_freed(Session *s)
{
	/* A session freed without going first (the hub's end frees the
	 * sessions left): the graph must not send through it any more, as
	 * the withdrawals of the clients freed after it would. */
	forget_link(s);
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
	sync_soon(s->hub);
	hub_contacts_sync_soon(s->hub);
	return TRUE;
}

void
hub_graph_take_pools(Session *s, const TrMsg *m)
{
	for (guint i = 0; i < m->n_pools && s->n_subnets < HUB_MAX_SUBNETS; i++) {
		TrPrefix p = m->pools[i];

		tr_prefix_mask(&p);
		*hub_session_next_subnet(s) = p;
		s->n_subnets++;
		/* Linked now: the pool is the session's own, no longer learnt
		 * through another hub. */
		drop_learnt(s->hub, NULL, &p);
	}
	sync_soon(s->hub);
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

/* ---- Clients' addresses and subnets as claims ------------------------------------ */

/*
 * A client's name in the graph: its certificate's name or shared-key name,
 * with ".USER" for a password user ("alice", "laptop.bob"), in the graph's
 * name rule (lower case, a-z 0-9 - _ .). What does not fit (too long, our
 * own name, or the name of a hub or relay the graph knows: its claims would
 * route the client's address to that node) becomes "client-" and a digest
 * of the identity. Kept in the session from claim to withdrawal (the graph
 * may learn of a namesake meanwhile).
 */
static char *
client_node_name(TrHub *hub, const char *identity)
{
	const char *base = g_str_has_prefix(identity, "psk:") ? identity + 4 : identity;
	g_autofree char *name = g_ascii_strdown(base, -1);
	g_autofree char *digest = NULL;
	TrGraphNodeInfo info = {0};

	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '.';
		else if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_' && *c != '.')
			*c = '-';
	if (strlen(name) <= TR_GRAPH_NAME_MAX && tr_identity_validate_name("client", name, NULL) &&
	    g_strcmp0(name, hub->cfg.node_name) != 0 && strcmp(name, "hub") != 0 &&
	    !(tr_graph_node_info(hub->graph, name, &info) && (info.hub || info.relay)))
		return g_steal_pointer(&name);
	digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, identity, -1);
	return g_strdup_printf("client-%.16s", digest);
}

static void
client_claims(Session *s, const char *name, gboolean add)
{
	TrHub *hub = s->hub;
	gint64 now = g_get_monotonic_time();
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < s->n_addrs + s->n_subnets; i++) {
		gboolean addr = i < s->n_addrs;
		TrPrefix p = addr ? s->addrs[i] : s->subnets[i - s->n_addrs];
		TrGraphClaimKind kind = addr ? TR_GRAPH_CLAIM_ADDRESS : TR_GRAPH_CLAIM_SUBNET;

		if (addr)
			p.len = (uint8_t)(tr_addr_family_bytes((TrAddrFamily)p.family) * 8);
		if (!add)
			tr_graph_unclaim(hub->graph, name, &p, now);
		else if (!tr_graph_claim(hub->graph, name, &p, kind, now, &error))
			g_warning("graph: %s: %s", s->identity, error->message);
		g_clear_error(&error);
	}
}

gboolean
hub_graph_client_claims(Session *s, char **why)
{
	TrHub *hub = s->hub;
	const char *name, *self;

	if (hub->graph == NULL || (s->n_addrs == 0 && s->n_subnets == 0))
		return TRUE;
	g_free(s->graph_name);
	s->graph_name = client_node_name(hub, s->identity);
	name = s->graph_name;
	self = hub->cfg.node_name ? hub->cfg.node_name : "hub";
	client_claims(s, name, TRUE);
	/* Its subnets may be someone else's behind another hub: the graph's
	 * ownership rules decide, the same way on every node. */
	for (guint i = 0; i < s->n_subnets; i++) {
		g_autofree char *reason = NULL;

		if (tr_graph_claim_accepted(hub->graph, self, name, &s->subnets[i], &reason))
			continue;
		*why = g_strdup_printf("the network refuses the claim: %s", reason);
		client_claims(s, name, FALSE);
		g_clear_pointer(&s->graph_name, g_free);
		return FALSE;
	}
	if (s->n_subnets)
		g_hash_table_add(hub->graph_subnet_clients, s);
	sync_soon(hub);
	return TRUE;
}

void
hub_graph_client_gone(Session *s)
{
	g_autofree char *name = g_steal_pointer(&s->graph_name);

	if (s->hub->graph == NULL || name == NULL)
		return;
	g_hash_table_remove(s->hub->graph_subnet_clients, s);
	client_claims(s, name, FALSE);
	sync_soon(s->hub);
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
