/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the hub sends a packet: every session's assigned addresses and
 * claimed subnets (and this node's own addresses, pushed routes and claimed
 * subnets, as the local device) form one routing table; with the switch
 * table and the mode they make the forwarding snapshot (common/fwd.h),
 * rebuilt whenever a session comes or goes. Packets are never sent back to
 * the session they came from; TCP SYNs are clamped to the tunnel MTU both
 * ways, and a packet too big for it is answered with ICMP "packet too big".
 */
#include "server/hub-private.h"

#include "common/addr.h"
#include "common/error.h"

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

static void
claim(TrHub *hub, const TrPrefix *prefix, uint32_t id, const char *who, TrRouteOrigin origin)
{
	g_autoptr(GError) error = NULL;
	char buf[TR_PREFIX_STRLEN];
	TrRouteAdd result;
	uint32_t other = 0;

	if (!tr_route_builder_add(hub->routes, prefix, id, origin, &result, &other, &error)) {
		g_warning("%s: cannot route %s: %s", who, tr_prefix_to_string(prefix, buf, sizeof(buf)),
			  error->message);
		return;
	}
	if ((result == TR_ROUTE_SHADOWED || result == TR_ROUTE_TAKES_OVER) &&
	    !(other == TR_PEER_LOCAL && result == TR_ROUTE_TAKES_OVER && origin == TR_ROUTE_CLAIMED)) {
		Client *o = other < hub->by_id->len ? hub->by_id->pdata[other] : NULL;
		g_message("%s claims %s, which %s also claims: %s keeps it", who,
			  tr_prefix_to_string(prefix, buf, sizeof(buf)),
			  other == TR_PEER_LOCAL ? "this node" : o ? o->identity : "another session",
			  result == TR_ROUTE_SHADOWED ? "the earlier claim" : "the assigned address");
	}
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
	tr_fwd_free(hub->fwd);
	hub->fwd = fwd;
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
	hub->copy = g_new(TrPacket, 1);

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
	g_clear_pointer(&hub->fwd, tr_fwd_free);
	g_clear_pointer(&hub->routes, tr_route_builder_free);
	g_clear_pointer(&hub->sw, tr_switch_unref);
	g_clear_pointer(&hub->by_id, g_ptr_array_unref);
	g_clear_pointer(&hub->copy, g_free);
}

void
hub_register(Client *c)
{
	TrHub *hub = c->hub;

	g_hash_table_insert(hub->by_index, GUINT_TO_POINTER(c->rx_index), c);
	if (c->id == 0) {
		for (guint i = 1; i < hub->by_id->len; i++) {
			if (hub->by_id->pdata[i] == NULL) {
				c->id = i;
				break;
			}
		}
		if (c->id == 0 && hub->by_id->len <= MAX_SESSIONS) {
			c->id = hub->by_id->len;
			g_ptr_array_add(hub->by_id, NULL);
		}
		if (c->id == 0) {
			g_warning("%s: no forwarding id left", c->identity);
			return;
		}
		hub->by_id->pdata[c->id] = c;
	}
	for (guint i = 0; i < c->n_addrs; i++) {
		TrPrefix a = host_route(&c->addrs[i]);
		claim(hub, &a, c->id, c->identity, TR_ROUTE_ASSIGNED);
	}
	for (guint i = 0; i < c->n_subnets; i++)
		claim(hub, &c->subnets[i], c->id, c->identity, TR_ROUTE_CLAIMED);
	rebuild(hub);
	hub_changed(hub);
}

void
hub_unregister(Client *c)
{
	TrHub *hub = c->hub;

	if (c->rx_index && g_hash_table_lookup(hub->by_index, GUINT_TO_POINTER(c->rx_index)) == c)
		g_hash_table_remove(hub->by_index, GUINT_TO_POINTER(c->rx_index));
	if (c->id && hub->by_id && c->id < hub->by_id->len && hub->by_id->pdata[c->id] == c) {
		tr_route_builder_remove_peer(hub->routes, c->id);
		tr_switch_forget_peer(hub->sw, c->id);
		hub->by_id->pdata[c->id] = NULL;
		rebuild(hub);
	}
	c->id = 0;
	if (c->identity && g_hash_table_lookup(hub->by_identity, c->identity) == c) {
		g_hash_table_remove(hub->by_identity, c->identity);
		if (!c->is_peer && hub->pool)
			tr_pool_release(hub->pool, c->identity);
	}
}

static void
send_to(TrHub *hub, Client *dst, TrPacket *pkt, gboolean copy)
{
	if (dst == NULL || dst->state != CLIENT_ACTIVE)
		return;
	/* Encryption works in place: each of several receivers gets a copy. */
	if (copy) {
		tr_packet_reset(hub->copy);
		memcpy(tr_packet_data(hub->copy), tr_packet_data(pkt), pkt->len);
		hub->copy->len = pkt->len;
		pkt = hub->copy;
	}
	tr_link_send(dst->link, pkt);
}

static void
to_device(TrHub *hub, TrPacket *pkt)
{
	if (tr_device_write(hub->dev, 0, tr_packet_data(pkt), pkt->len) < 0)
		hub->tun_drops++;
}

/* Too big for the tunnel: tell the sender, as a router would. */
static gboolean
too_big(TrHub *hub, Client *from, TrPacket *pkt)
{
	uint8_t reply[TR_PTB_MAX];
	TrFrameType type = (TrFrameType)hub->cfg.dev_type;
	unsigned overhead = type == TR_FRAME_ETHERNET ? 14 : 0;
	size_t n;

	if (pkt->len <= hub->cfg.mtu + overhead)
		return FALSE;
	n = tr_mangle_build_ptb(tr_packet_data(pkt), pkt->len, type, hub->cfg.mtu, reply,
				sizeof(reply));
	if (n > 0) {
		if (from == NULL) {
			if (tr_device_write(hub->dev, 0, reply, n) < 0)
				hub->tun_drops++;
		} else {
			tr_packet_reset(hub->copy);
			memcpy(tr_packet_data(hub->copy), reply, n);
			hub->copy->len = (uint32_t)n;
			tr_link_send(from->link, hub->copy);
		}
	}
	return TRUE;
}

void
hub_forward(TrHub *hub, Client *from, TrPacket *pkt)
{
	uint32_t ingress = from ? from->id : TR_PEER_LOCAL;
	gboolean c2c = hub->cfg.client_to_client;
	TrFwdResult res;

	if (from && from->id == 0)
		return;
	if (too_big(hub, from, pkt))
		return;
	tr_mangle_clamp_mss(tr_packet_data(pkt), pkt->len, (TrFrameType)hub->cfg.dev_type,
			    hub->cfg.mtu);
	switch (tr_fwd_decide(hub->fwd, tr_packet_data(pkt), pkt->len, ingress,
			      g_get_monotonic_time(), &res)) {
	case TR_FWD_LOCAL:
		to_device(hub, pkt);
		return;
	case TR_FWD_PEER:
		if (from && !c2c) {
			hub->fwd_drops[TR_FWD_DROP_NO_ROUTE]++;
			return;
		}
		send_to(hub, res.peer < hub->by_id->len ? hub->by_id->pdata[res.peer] : NULL, pkt,
			FALSE);
		return;
	case TR_FWD_FLOOD:
		if (from == NULL || c2c) {
			for (guint i = 1; i < hub->by_id->len; i++) {
				if (i != res.flood_except)
					send_to(hub, hub->by_id->pdata[i], pkt, TRUE);
			}
		}
		if (res.flood_local)
			to_device(hub, pkt);
		return;
	case TR_FWD_DROP:
		hub->fwd_drops[res.drop]++;
		return;
	}
}
