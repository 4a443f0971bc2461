/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Direct links between symmetric nodes (issue 19; docs/MESH.md, "Symmetric
 * nodes"). A node without a hub learns of the other nodes through the graph
 * of the nodes it is connected to: A --connect B and C --connect B, and A
 * knows C from B's edge B -> C, with C's address as B sees it and the port C
 * listens on. A then dials C there itself, as if C were a --connect target,
 * once: a node becomes a peer (a session, routes to its addresses) only after
 * this direct contact, never from hearsay, so dead nodes are not kept alive
 * by others' news. A contact that fails waits longer each time (backoff up to
 * CONTACT_BACKOFF_MAX_S) and is tried again only while the graph still says
 * the node is there; both sides dialling at once end with one session (the
 * node with the smaller name's, node.c). Hubs do not do this: their links
 * are planned (--connect), their clients reach each other through them.
 */
#include "common/base/addr.h"
#include "common/ctrl/dialer.h"
#include "server/hub-private.h"
#include "server/node.h"

#include <string.h>
#include "platform/net.h"

#define CONTACT_SYNC_MS       20 /* a burst of graph messages: one look */
#define CONTACT_BACKOFF_MAX_S 300
/* Contacts at once at most (dialling or in session): a large network of
 * symmetric nodes does not become a full mesh of TCP sessions; the nodes
 * beyond it are reached through their next hop. */
#define CONTACTS_MAX 64u

typedef struct {
	Connector *k;      /* dialling or in session; NULL: none */
	gboolean over;     /* k's contact ended: dropped at the next look */
	guint failures;    /* in a row */
	gint64 not_before; /* monotonic µs: no new contact before */
} Contact;

gboolean
hub_node_shares_port(TrHub *hub)
{
	return hub->pool == NULL && hub->cfg.node_name != NULL;
}

void
hub_contact_endpoint(Session *s, TrGraphEndpoint *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = tr_link_get_fd(s->link);

	memset(out, 0, sizeof(*out));
	if (s->node_port == 0 || fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		out->family = TR_ADDR_IPV4;
		memcpy(out->addr, &in->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			out->family = TR_ADDR_IPV4;
			memcpy(out->addr, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			out->family = TR_ADDR_IPV6;
			memcpy(out->addr, &in6->sin6_addr, 16);
		}
	} else {
		return;
	}
	out->port = s->node_port;
}

/* "198.18.0.1:3210" or "[fd00::1]:3210". */
static gboolean
endpoint_target(const TrGraphEndpoint *ep, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if ((ep->family != TR_ADDR_IPV4 && ep->family != TR_ADDR_IPV6) || ep->port == 0 ||
	    !tr_addr_to_string((TrAddrFamily)ep->family, ep->addr, a, sizeof(a)))
		return FALSE;
	g_snprintf(buf, size, ep->family == TR_ADDR_IPV6 ? "[%s]:%u" : "%s:%u", a, ep->port);
	return TRUE;
}

static gboolean
has_session(TrHub *hub, const char *node)
{
	g_autofree char *identity = g_strdup_printf("node:%s", node);

	return g_hash_table_contains(hub->by_identity, identity);
}

typedef struct {
	TrHub *hub;
	gint64 now;
	GHashTable *seen; /* names the graph still knows */
	guint active;     /* contacts dialling or in session */
} LookCtx;

static void
look_at(const char *name, const TrGraphNodeInfo *info, gpointer p)
{
	LookCtx *ctx = p;
	TrHub *hub = ctx->hub;
	Contact *c = g_hash_table_lookup(hub->contacts, name);
	char target[INET6_ADDRSTRLEN + 8];

	g_hash_table_add(ctx->seen, (gpointer)name);
	/* Nodes two or more links away that relay (symmetric nodes, not hubs or
	 * clients), at an address the graph has. */
	if (!info->reachable || info->hops < 2 || !info->relay || info->hub ||
	    !endpoint_target(&info->address, target, sizeof(target)) || has_session(hub, name))
		return;
	if (c == NULL) {
		c = g_new0(Contact, 1);
		g_hash_table_insert(hub->contacts, g_strdup(name), c);
	}
	if (c->k || ctx->now < c->not_before)
		return;
	if (ctx->active >= CONTACTS_MAX) {
		if (!hub->contacts_full)
			g_message("node %s: not contacted directly, %u contacts are up already; "
			          "reached through %s",
			          name, CONTACTS_MAX, info->nexthop);
		hub->contacts_full = TRUE;
		return;
	}
	ctx->active++;
	g_message("node %s: known through %s, contacting it directly at %s", name, info->nexthop,
	          target);
	c->k = hub_connector_contact(hub, name, target);
}

static gboolean
on_look(gpointer p)
{
	TrHub *hub = p;
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	LookCtx ctx = {hub, g_get_monotonic_time(), seen, 0};
	GHashTableIter it;
	gpointer k, v;

	hub->contacts_look = 0;
	/* Contacts that ended go first: a new one may follow. */
	g_hash_table_iter_init(&it, hub->contacts);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		Contact *c = v;

		if (c->over && c->k) {
			hub_connector_drop(c->k);
			c->k = NULL;
			c->over = FALSE;
		}
	}
	g_hash_table_iter_init(&it, hub->contacts);
	while (g_hash_table_iter_next(&it, NULL, &v))
		ctx.active += ((Contact *)v)->k != NULL;
	tr_graph_foreach_node(hub->graph, look_at, &ctx);
	/* Room again: the next time the cap is reached is said again. */
	if (ctx.active < CONTACTS_MAX)
		hub->contacts_full = FALSE;
	/* Nodes the graph forgot: their contacts' history goes too. */
	g_hash_table_iter_init(&it, hub->contacts);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		Contact *c = v;

		if (c->k == NULL && !g_hash_table_contains(seen, k))
			g_hash_table_iter_remove(&it);
	}
	return G_SOURCE_REMOVE;
}

void
hub_contacts_sync_soon(TrHub *hub)
{
	/* Only nodes without a hub's pool make contacts. */
	if (hub->pool || hub->graph == NULL || hub->cfg.node_name == NULL ||
	    hub->connectors == NULL || hub->contacts_look)
		return;
	if (hub->contacts == NULL)
		hub->contacts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	hub->contacts_look = g_timeout_add(CONTACT_SYNC_MS, on_look, hub);
}

void
hub_contact_over(TrHub *hub, const char *node, gboolean connected)
{
	Contact *c = hub->contacts ? g_hash_table_lookup(hub->contacts, node) : NULL;

	if (c == NULL)
		return;
	c->over = TRUE;
	if (connected) {
		c->failures = 0;
		c->not_before = 0;
	} else {
		c->not_before =
		        g_get_monotonic_time() +
		        (gint64)tr_backoff_next(c->failures++, CONTACT_BACKOFF_MAX_S) * 1000;
	}
	hub_contacts_sync_soon(hub);
}

void
hub_contact_crossed(TrHub *hub, const char *node)
{
	Contact *c = hub->contacts ? g_hash_table_lookup(hub->contacts, node) : NULL;

	if (c == NULL)
		return;
	c->over = TRUE;
	c->failures = 0;
	c->not_before = g_get_monotonic_time() + (gint64)hub->cfg.handshake_timeout_ms * 1000;
	hub_contacts_sync_soon(hub);
}

void
hub_contacts_free(TrHub *hub)
{
	/* The connectors are the hub's (hub_connectors_free). */
	g_clear_handle_id(&hub->contacts_look, g_source_remove);
	g_clear_pointer(&hub->contacts, g_hash_table_unref);
}
