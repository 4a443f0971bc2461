/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the hub sends a packet: every session's assigned addresses and
 * claimed subnets (and this node's own addresses, pushed routes and claimed
 * subnets, as the local device) form one routing table; with the switch
 * table and the mode they make the forwarding snapshot (common/datapath/fwd.h),
 * rebuilt whenever a session comes or goes and handed to the data plane
 * (common/datapath/dataplane.h), whose workers forward by it.
 *
 * The hub's own traffic follows the claims too: each IP subnet a session
 * claims (a LAN behind a client or node) gets a kernel route through the
 * hub's device while some session claims it, so the hub itself reaches that
 * LAN and answers it. Pushed routes nobody claims lead to the hub's own
 * networks and get none (a route into the device would loop back to it).
 */
#include "server/hub-private.h"

#include "common/base/addr.h"
#include "common/base/error.h"

#include <string.h>

#define MAX_SESSIONS 65535u

/* An interface address (host bits set, e.g. 198.19.0.2/24) as a host route. */
static TrPrefix
host_route(const TrPrefix *a)
{
	TrPrefix p = *a;

	p.len = (uint8_t)(tr_addr_family_bytes((TrAddrFamily)a->family) * 8);
	return p;
}

/* Whether two prefixes share any address (one contains the other). */
static gboolean
overlaps(const TrPrefix *a, const TrPrefix *b)
{
	const TrPrefix *wide = a->len <= b->len ? a : b, *narrow = wide == a ? b : a;

	return a->family == b->family &&
	       tr_prefix_contains(wide, (TrAddrFamily)narrow->family, narrow->addr);
}

static gboolean
conflict(const TrPrefix *want, const TrPrefix *owned, const char *owner, char **why)
{
	char a[TR_PREFIX_STRLEN], b[TR_PREFIX_STRLEN];

	if (!overlaps(want, owned))
		return FALSE;
	*why = g_strdup_printf("the claim %s overlaps %s of %s (a claim may not take what "
	                       "someone else has; a certificate can grant it: trellis pki "
	                       "issue NAME --subnet PREFIX)",
	                       tr_prefix_to_string(want, a, sizeof(a)),
	                       tr_prefix_to_string(owned, b, sizeof(b)), owner);
	return TRUE;
}

gboolean
hub_claim_conflict(TrHub *hub, Session *s, const TrPrefix *want, char **why)
{
	GHashTableIter it;
	gpointer k;

	if (hub->cfg.pool4.family && conflict(want, &hub->cfg.pool4, "the hub's address pool", why))
		return TRUE;
	if (hub->cfg.pool6.family && conflict(want, &hub->cfg.pool6, "the hub's address pool", why))
		return TRUE;
	for (guint i = 0; i < hub->cfg.n_routes; i++)
		if (conflict(want, &hub->cfg.routes[i], "the hub's pushed routes", why))
			return TRUE;
	for (guint i = 0; i < hub->cfg.n_subnets; i++)
		if (conflict(want, &hub->cfg.subnets[i], "the hub's own subnets", why))
			return TRUE;
	for (guint i = 0; i < hub->cfg.n_addresses; i++) {
		TrPrefix a = host_route(&hub->cfg.addresses[i]);
		if (conflict(want, &a, "the hub's own address", why))
			return TRUE;
	}
	g_hash_table_iter_init(&it, hub->sessions);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		Session *o = k;

		/* The session this one replaces (same identity) gives its claims up. */
		if (o == s || o->state != SESSION_ACTIVE ||
		    (s->identity && o->identity && strcmp(o->identity, s->identity) == 0))
			continue;
		for (guint i = 0; i < o->n_addrs; i++) {
			TrPrefix a = host_route(&o->addrs[i]);
			if (conflict(want, &a, o->identity, why))
				return TRUE;
		}
		for (guint i = 0; i < o->n_subnets; i++)
			if (conflict(want, &o->subnets[i], o->identity, why))
				return TRUE;
	}
	return FALSE;
}

static void
claim(TrHub *hub, const TrPrefix *prefix, uint32_t id, const char *who, TrRouteOrigin origin)
{
	g_autoptr(GError) error = NULL;
	char buf[TR_PREFIX_STRLEN];
	TrRouteAdd result;
	uint32_t other = 0;

	if (!tr_route_builder_add(hub->routes, prefix, id, origin, &result, &other, &error)) {
		g_warning("%s: cannot route %s: %s", who,
		          tr_prefix_to_string(prefix, buf, sizeof(buf)), error->message);
		return;
	}
	if ((result == TR_ROUTE_SHADOWED || result == TR_ROUTE_TAKES_OVER) &&
	    !(other == TR_PEER_LOCAL && result == TR_ROUTE_TAKES_OVER &&
	      origin == TR_ROUTE_CLAIMED)) {
		Session *o = other < hub->by_id->len ? hub->by_id->pdata[other] : NULL;
		g_message("%s claims %s, which %s also claims: %s keeps it", who,
		          tr_prefix_to_string(prefix, buf, sizeof(buf)),
		          other == TR_PEER_LOCAL ? "this node"
		          : o                    ? o->identity
		                                 : "another session",
		          result == TR_ROUTE_SHADOWED ? "the earlier claim"
		                                      : "the assigned address");
	}
}

static void rebuild(TrHub *hub);
static void kernel_route(TrHub *hub, const TrPrefix *prefix, gboolean add);

/* A learnt route is a claim of @s's like its own: the longest prefix wins,
 * and of two sessions claiming the same one the earlier keeps it. */
gboolean
hub_route_learnt(Session *s, const TrPrefix *prefix, gboolean add)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	char buf[TR_PREFIX_STRLEN];

	if (!add) {
		if (s->id)
			tr_route_builder_remove(hub->routes, prefix, s->id);
		kernel_route(hub, prefix, FALSE);
		return TRUE;
	}
	if (s->id == 0)
		return FALSE;
	if (!tr_route_builder_add(hub->routes, prefix, s->id, TR_ROUTE_CLAIMED, NULL, NULL,
	                          &error)) {
		g_warning("graph: cannot route %s through %s: %s",
		          tr_prefix_to_string(prefix, buf, sizeof(buf)), hub_session_name(s),
		          error->message);
		return FALSE;
	}
	kernel_route(hub, prefix, TRUE);
	return TRUE;
}

void
hub_routes_commit(TrHub *hub)
{
	rebuild(hub);
}

/* ---- Kernel routes for claimed subnets ------------------------------------------- */

typedef struct {
	TrPrefix prefix;
	guint users; /* sessions claiming it */
} KernelRoute;

static void
kernel_route(TrHub *hub, const TrPrefix *prefix, gboolean add)
{
	char key[TR_PREFIX_STRLEN];
	TrPlatError perr = {0};
	KernelRoute *r;

	if (prefix->family == TR_ADDR_MAC || hub->dev == NULL)
		return;
	tr_prefix_to_string(prefix, key, sizeof(key));
	r = g_hash_table_lookup(hub->kernel_routes, key);
	if (add) {
		if (r) {
			r->users++;
			return;
		}
		r = g_new0(KernelRoute, 1);
		r->prefix = *prefix;
		r->users = 1;
		g_hash_table_insert(hub->kernel_routes, g_strdup(key), r);
		if (tr_device_add_route(hub->dev, prefix, &perr) < 0)
			g_warning("cannot route %s through %s: %s; this node will not reach it "
			          "itself",
			          key, tr_device_ifname(hub->dev), perr.message);
		return;
	}
	if (r == NULL || --r->users > 0)
		return;
	if (tr_device_remove_route(hub->dev, prefix, &perr) < 0)
		g_debug("removing the route to %s: %s", key, perr.message);
	g_hash_table_remove(hub->kernel_routes, key);
}

static void
kernel_routes_follow(Session *s, gboolean add)
{
	if (s->routed == add)
		return;
	s->routed = add;
	for (guint i = 0; i < s->n_subnets; i++)
		kernel_route(s->hub, &s->subnets[i], add);
}

/* At exit: the routes go before the device does (a persistent device keeps its routes). */
static void
kernel_routes_clear(TrHub *hub)
{
	GHashTableIter it;
	gpointer value;
	TrPlatError perr = {0};

	g_hash_table_iter_init(&it, hub->kernel_routes);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		if (hub->dev)
			(void)tr_device_remove_route(hub->dev, &((KernelRoute *)value)->prefix,
			                             &perr);
	}
	g_hash_table_remove_all(hub->kernel_routes);
}

/* A new snapshot from the current claims. */
static void
rebuild(TrHub *hub)
{
	g_autoptr(GError) error = NULL;
	TrFwdConfig cfg = {
	        .mode = hub->cfg.mode,
	        .type = (TrFrameType)hub->cfg.dev_type,
	        /* Sessions may only send from what they were given or claim. */
	        .strict_source = TRUE,
	};
	TrFwd *fwd = tr_fwd_new(&cfg, tr_route_table_build(hub->routes), hub->sw, &error);

	if (fwd == NULL) {
		g_warning("forwarding table: %s", error->message);
		return;
	}
	hub->fwd = fwd;
	tr_dataplane_set_fwd(hub->dp, fwd);
}

gboolean
hub_forward_init(TrHub *hub, GError **error)
{
	TrPrefix a;

	if (!tr_fwd_mode_check(hub->cfg.mode, (TrFrameType)hub->cfg.dev_type, error))
		return FALSE;
	hub->routes = tr_route_builder_new();
	hub->sw = tr_switch_new(0, hub->cfg.dst_timeout);
	hub->by_id = g_ptr_array_new();
	g_ptr_array_add(hub->by_id, NULL); /* id 0 is the local device */
	hub->kernel_routes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	/* What lives behind our own device. */
	if (hub->pool && tr_pool_hub_address(hub->pool, TR_ADDR_IPV4, &a)) {
		a = host_route(&a);
		claim(hub, &a, TR_PEER_LOCAL, "this node", TR_ROUTE_ASSIGNED);
	}
	if (hub->pool && tr_pool_hub_address(hub->pool, TR_ADDR_IPV6, &a)) {
		a = host_route(&a);
		claim(hub, &a, TR_PEER_LOCAL, "this node", TR_ROUTE_ASSIGNED);
	}
	for (guint i = 0; i < hub->cfg.n_addresses; i++) {
		a = host_route(&hub->cfg.addresses[i]);
		claim(hub, &a, TR_PEER_LOCAL, "this node", TR_ROUTE_ASSIGNED);
	}
	/* Pushed routes lead here unless a node claims them (a LAN behind a client). */
	for (guint i = 0; i < hub->cfg.n_routes; i++)
		claim(hub, &hub->cfg.routes[i], TR_PEER_LOCAL, "this node", TR_ROUTE_FALLBACK);
	for (guint i = 0; i < hub->cfg.n_subnets; i++)
		claim(hub, &hub->cfg.subnets[i], TR_PEER_LOCAL, "this node", TR_ROUTE_CLAIMED);
	rebuild(hub);
	if (hub->fwd == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "cannot build the forwarding table");
		return FALSE;
	}
	return TRUE;
}

void
hub_forward_free(TrHub *hub)
{
	hub->fwd = NULL; /* the data plane's */
	if (hub->kernel_routes)
		kernel_routes_clear(hub);
	g_clear_pointer(&hub->kernel_routes, g_hash_table_unref);
	g_clear_pointer(&hub->routes, tr_route_builder_free);
	g_clear_pointer(&hub->sw, tr_switch_unref);
	g_clear_pointer(&hub->by_id, g_ptr_array_unref);
}

Session *
hub_route_session(TrHub *hub, const TrPrefix *dst)
{
	const TrRouteTable *t = hub->fwd ? tr_fwd_get_routes(hub->fwd) : NULL;
	uint32_t peer = 0;

	if (t == NULL || !tr_route_lookup(t, (TrAddrFamily)dst->family, dst->addr, &peer, NULL) ||
	    peer == TR_PEER_LOCAL || peer >= hub->by_id->len)
		return NULL;
	return hub->by_id->pdata[peer];
}

void
hub_register(Session *s)
{
	TrHub *hub = s->hub;

	g_hash_table_insert(hub->by_index, GUINT_TO_POINTER(s->rx_index), s);
	if (s->id == 0) {
		for (guint i = 1; i < hub->by_id->len; i++) {
			if (hub->by_id->pdata[i] == NULL) {
				s->id = i;
				break;
			}
		}
		if (s->id == 0 && hub->by_id->len <= MAX_SESSIONS) {
			s->id = hub->by_id->len;
			g_ptr_array_add(hub->by_id, NULL);
		}
		if (s->id == 0) {
			g_warning("%s: no forwarding id left", s->identity);
			return;
		}
		hub->by_id->pdata[s->id] = s;
	}
	tr_link_set_forward_id(s->link, s->id);
	for (guint i = 0; i < s->n_addrs; i++) {
		TrPrefix a = host_route(&s->addrs[i]);
		claim(hub, &a, s->id, s->identity, TR_ROUTE_ASSIGNED);
	}
	for (guint i = 0; i < s->n_subnets; i++)
		claim(hub, &s->subnets[i], s->id, s->identity, TR_ROUTE_CLAIMED);
	rebuild(hub);
	kernel_routes_follow(s, TRUE);
	hub_changed(hub);
}

void
hub_unregister(Session *s)
{
	TrHub *hub = s->hub;

	hub_graph_unregistered(s);
	if (s->rx_index && g_hash_table_lookup(hub->by_index, GUINT_TO_POINTER(s->rx_index)) == s)
		g_hash_table_remove(hub->by_index, GUINT_TO_POINTER(s->rx_index));
	if (s->id && hub->by_id && s->id < hub->by_id->len && hub->by_id->pdata[s->id] == s) {
		tr_route_builder_remove_peer(hub->routes, s->id);
		tr_switch_forget_peer(hub->sw, s->id);
		hub->by_id->pdata[s->id] = NULL;
		rebuild(hub);
	}
	if (hub->kernel_routes)
		kernel_routes_follow(s, FALSE);
	s->id = 0;
	if (s->link)
		tr_link_set_forward_id(s->link, 0);
	if (s->identity && g_hash_table_lookup(hub->by_identity, s->identity) == s) {
		g_hash_table_remove(hub->by_identity, s->identity);
		if (s->kind && s->kind->unregistered)
			s->kind->unregistered(s);
	}
}
