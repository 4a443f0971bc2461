/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pairs across hubs (docs/PROTOCOL.md, "Pairs across hubs"): two clients of
 * different hubs are paired like two clients of one (server/mesh.c), and a hub
 * link is a pair member like a client. A client's packet for a client of
 * another hub goes to a hub link, and the data plane notes its destination
 * (a transit session: TrDpForward). The client's hub picks the pair id and sends
 * a PAIR_START with a target (that address) on the link; each hub on the way
 * routes it as its data plane routes the address and keeps (id: link in, link
 * or client out); the hub of the target's client introduces it and answers
 * along the same hops. From then on PAIR_TLS, PAIR_END, CANDIDATES and relay
 * frames of that id travel the same hops unchanged (server/mesh.c passes them
 * on by id, whoever the members are). Two introductions of the same two that
 * cross on the links are settled by the target's hub.
 *
 * The hubs of the two clients keep a CrossPair per pair (whom it joins, by
 * what name, whether the client has its PAIR_START); a hub in between keeps
 * only the pair table's entry (server/pairs.c).
 */
#include "server/mesh-private.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/graph/graph.h"
#include "server/node.h"

#include <stdarg.h>
#include <string.h>

/*
 * A pair with a member behind another hub, at the hubs of its two clients (a hub in
 * between keeps only the pairs table's entry).
 */
typedef struct {
	Session *client;   /* our member */
	char *peer;        /* the other member: its identity, or (until the answer) its node name */
	char *key;         /* "CLIENT\nPEER'S NODE NAME": in hub->cross_by_key; the backoff's */
	gboolean ours;     /* we introduced it: a failure backs off here */
	gboolean answered; /* our client has its PAIR_START (ours: once the answer came) */
} CrossPair;

static void
cross_pair_free(gpointer p)
{
	CrossPair *cp = p;

	g_free(cp->peer);
	g_free(cp->key);
	g_free(cp);
}

static CrossPair *
cross_get(TrHub *hub, uint32_t id)
{
	return g_hash_table_lookup(hub->cross_pairs, GUINT_TO_POINTER(id));
}

/* The key of a cross pair: our client's identity and the other's node name. */
static char *
cross_key(Session *client, const char *peer_name)
{
	return g_strdup_printf("%s\n%s", client->identity, peer_name);
}

static void
cross_add(TrHub *hub, uint32_t id, Session *client, const char *peer_name, const char *peer,
          gboolean ours)
{
	CrossPair *cp = g_new0(CrossPair, 1);

	cp->client = client;
	cp->peer = g_strdup(peer);
	cp->key = cross_key(client, peer_name);
	cp->ours = ours;
	cp->answered = !ours;
	g_hash_table_insert(hub->cross_by_key, cp->key, GUINT_TO_POINTER(id));
	g_hash_table_insert(hub->cross_pairs, GUINT_TO_POINTER(id), cp);
}

/* Pair @id is over here: forgotten, and (introduced by us and @failed) backed off. */
void
mesh_cross_forget(TrHub *hub, uint32_t id, gboolean failed)
{
	CrossPair *cp = cross_get(hub, id);

	if (cp == NULL)
		return;
	if (cp->ours)
		mesh_backoff_note_key(hub, cp->key, failed, g_get_monotonic_time());
	g_hash_table_remove(hub->cross_by_key, cp->key);
	g_hash_table_remove(hub->cross_pairs, GUINT_TO_POINTER(id));
}

/* Whether @member knows of pair @id: not a client of ours whose introduction across
 * hubs was not answered (it never got a PAIR_START; the hubs logged why). */
gboolean
mesh_knows_pair(TrHub *hub, uint32_t id, Session *member)
{
	CrossPair *cp = cross_get(hub, id);

	return cp == NULL || cp->client != member || cp->answered;
}

/* A PAIR_START or CANDIDATES from a hub link, for client @to: without what is for hubs
 * only, and without candidates for a client that wants no direct path. */
static void
deliver(Session *to, TrMsg *msg)
{
	msg->present &= ~((uint64_t)1 << TR_ATTR_TARGET);
	if (to->no_direct) {
		msg->n_candidates = 0;
		msg->present &= ~((uint64_t)1 << TR_ATTR_CANDIDATE);
	}
	mesh_pass_on(to, msg);
}

/*
 * Whether a pair may be started or passed on over hub link @link: its hub announced
 * pairs across hubs (TrHubLinkPairs). When not, that is said once for the link.
 */
static gboolean
link_takes_pairs(Session *link)
{
	gboolean tell;

	if (tr_hub_link_pairs_may(hub_node_link_pairs(link), &tell))
		return TRUE;
	if (tell)
		g_message("%s takes no pairs across hubs (it announced none: an older version, or "
		          "--no-mesh): clients whose traffic crosses it get no pair, their traffic "
		          "goes on hop by hop through the hubs",
		          hub_session_name(link));
	return FALSE;
}

/*
 * Client @s sent a packet for @dst through @link, to another hub. The owner of @dst in
 * the graph (a client of a hub further on, reached through @link) and @s are
 * introduced: a PAIR_START with the target @dst goes along the hops to its hub, which
 * answers. Two hubs that introduce the same two at once are settled by the target's
 * hub (start_here).
 */
void
mesh_introduce_across(TrHub *hub, Session *s, Session *link, const TrPrefix *dst)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *key = NULL;
	char addr[TR_PREFIX_STRLEN];
	TrGraphNodeInfo info;
	const char *owner;
	gint64 now = g_get_monotonic_time(), until;
	uint32_t id;

	if (!mesh_pairable(s) || hub->graph == NULL || s->graph_name == NULL ||
	    (!hub->cfg.relay && s->no_direct) || hub->cfg.no_pairs_across)
		return;
	owner = tr_graph_route(hub->graph, (TrAddrFamily)dst->family, dst->addr);
	/* A client behind a hub further on: not a hub, nor a node linked to us itself. */
	if (owner == NULL || !tr_graph_node_info(hub->graph, owner, &info) || !info.reachable ||
	    info.hub || info.relay || info.hops < 2 ||
	    strcmp(info.nexthop, hub_session_name(link)) != 0 || !link_takes_pairs(link))
		return;
	key = cross_key(s, owner);
	if (g_hash_table_contains(hub->cross_by_key, key))
		return;
	until = mesh_backoff_until_key(hub, key, now);
	if (until) {
		g_debug("no pair for %s and %s for %" G_GINT64_FORMAT " s: their last one failed",
		        s->identity, owner, (until - now) / G_USEC_PER_SEC);
		return;
	}
	id = tr_hub_pairs_join(hub->pairs, 0, s, link, TRUE, now, &error);
	if (id == 0) {
		if (tr_log_limit(&hub->pair_log, "pair refusals", 10, 60))
			g_message("no pair for %s and %s: %s", s->identity, owner, error->message);
		return;
	}
	cross_add(hub, id, s, owner, owner, TRUE);
	g_message("pair %08x: introducing %s to %s (%s, through %s)", id, s->identity, owner,
	          tr_prefix_to_string(dst, addr, sizeof(addr)), hub_session_name(link));
	mesh_note_endpoint(hub, s);
	mesh_note_endpoint(hub, link);
	mesh_send_start(hub, link, s, id, TR_PAIR_ROLE_SERVER, dst, hub->cfg.relay);
}

/* A PAIR_START from hub link @from that this hub cannot carry: PAIR_END back. */
static void G_GNUC_PRINTF(4, 5)
        refuse_start(Session *from, uint32_t id, TrRefusal code, const char *fmt, ...)
{
	g_autofree char *why = NULL;
	va_list ap;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_message("pair %08x from %s: %s", id, hub_session_name(from), why);
	mesh_send_end(from, id, code, why);
}

/*
 * A new pair for @t and the client named @name in @msg, while pair @old of the two is
 * here already: both hubs introduced them at once (their clients sent to each other),
 * or the two have a pair. Of two introductions, the one made for the client whose
 * node name sorts first stands, on both hubs alike: ours ends (no failure: no backoff)
 * or theirs is refused (code 0). TRUE: go on with the new one.
 */
static gboolean
settle_crossing(TrHub *hub, Session *from, Session *t, const char *name, TrMsg *msg, uint32_t old)
{
	CrossPair *cp = cross_get(hub, old);
	Session *via = tr_hub_pairs_other(hub->pairs, old, t);

	if (cp == NULL || via == NULL || !cp->ours || cp->answered ||
	    strcmp(name, t->graph_name ? t->graph_name : "") >= 0) {
		refuse_start(from, msg->pair_id, TR_REFUSE_NONE, "%s and %s have a pair already",
		             t->identity, msg->peer);
		return FALSE;
	}
	g_message("pair %08x: %s and %s were introduced from both sides; pair %08x stands", old,
	          t->identity, msg->peer, msg->pair_id);
	tr_hub_pairs_close(hub->pairs, old);
	mesh_cross_forget(hub, old, FALSE);
	mesh_send_end(via, old, TR_REFUSE_NONE, "introduced from both sides");
	return TRUE;
}

/* The target's hub: @t, a client of ours, is introduced to the one in @msg. */
static void
start_here(TrHub *hub, Session *from, Session *t, TrMsg *msg)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *key = NULL;
	uint32_t id = msg->pair_id, old;
	char addr[TR_PREFIX_STRLEN];
	/* The node name of the client that asks (its identity from an older hub). */
	const char *name = msg->node_name ? msg->node_name : msg->peer;

	if (!mesh_pairable(t)) {
		refuse_start(from, id, TR_REFUSE_ROLE, "%s takes no part in pair sessions",
		             tr_prefix_to_string(&msg->target, addr, sizeof(addr)));
		return;
	}
	if (!msg->relay && t->no_direct) {
		refuse_start(from, id, TR_REFUSE_SETTINGS,
		             "%s wants only relayed pairs, and a hub on the way relays nothing",
		             t->identity);
		return;
	}
	key = cross_key(t, name);
	old = GPOINTER_TO_UINT(g_hash_table_lookup(hub->cross_by_key, key));
	if (old != 0 && !settle_crossing(hub, from, t, name, msg, old))
		return;
	if (tr_hub_pairs_join(hub->pairs, id, t, from, TRUE, g_get_monotonic_time(), &error) == 0) {
		refuse_start(from, id, TR_REFUSE_SETTINGS, "%s", error->message);
		return;
	}
	cross_add(hub, id, t, name, msg->peer, FALSE);
	g_message("pair %08x: introducing %s and %s (through %s)", id, t->identity, msg->peer,
	          hub_session_name(from));
	mesh_note_endpoint(hub, t);
	mesh_note_endpoint(hub, from);
	deliver(t, msg);
	/* The answer, along the same hops: @t for the other client. */
	mesh_send_start(hub, from, t, id,
	                msg->role == TR_PAIR_ROLE_SERVER ? TR_PAIR_ROLE_CLIENT
	                                                 : TR_PAIR_ROLE_SERVER,
	                NULL, msg->relay);
}

/* A PAIR_START from hub link @from: a new pair on its way to its target, or the answer
 * to one on its way back. */
static void
start_from_link(TrHub *hub, Session *from, TrMsg *msg)
{
	g_autoptr(GError) error = NULL;
	char addr[TR_PREFIX_STRLEN];
	uint32_t id = msg->pair_id;
	Session *other, *t;

	if (!tr_msg_require(msg, &error, TR_ATTR_PAIR_ID, TR_ATTR_PEER, TR_ATTR_ROLE, TR_ATTR_RELAY,
	                    0) ||
	    id == 0 || id == UINT32_MAX || msg->role > 1) {
		g_message("%s: malformed PAIR_START: %s", hub_session_name(from),
		          error ? error->message : "pair id 0 or ffffffff, or a role beyond 1");
		if (tr_msg_has(msg, TR_ATTR_PAIR_ID))
			mesh_send_end(from, id, TR_REFUSE_PROTOCOL, "malformed PAIR_START");
		return;
	}
	if (hub->pairs == NULL) {
		mesh_send_end(from, id, TR_REFUSE_ROLE, "a hub on the way takes no part in pairs");
		return;
	}
	/* Relayed on every hop, or not at all. */
	msg->relay = msg->relay && hub->cfg.relay;
	if (!tr_msg_has(msg, TR_ATTR_TARGET)) {
		/* The answer (it has no target), on its way back by id. */
		CrossPair *cp = cross_get(hub, id);

		other = tr_hub_pairs_other(hub->pairs, id, from);
		if (other == NULL) {
			g_debug("%s: PAIR_START answering pair %08x, which is over here",
			        hub_session_name(from), id);
			return;
		}
		if (hub_session_is_node(other)) {
			mesh_pass_on(other, msg);
			return;
		}
		if (cp == NULL || cp->client != other)
			return;
		g_message("pair %08x: %s answered for %s; introducing them", id, msg->peer,
		          other->identity);
		g_free(cp->peer);
		cp->peer = g_strdup(msg->peer);
		cp->answered = TRUE;
		deliver(other, msg);
		return;
	}
	t = hub_route_session(hub, &msg->target);
	if (t == NULL || t == from || t->state != SESSION_ACTIVE) {
		refuse_start(from, id, TR_REFUSE_SETTINGS, "no route to %s here",
		             tr_prefix_to_string(&msg->target, addr, sizeof(addr)));
		return;
	}
	if (!hub_session_is_node(t)) {
		start_here(hub, from, t, msg);
		return;
	}
	/* On toward the target's hub, if the next one takes pairs across hubs (else the
	 * introducing hub backs off, as from any refusal). */
	if (!link_takes_pairs(t)) {
		g_autofree char *why =
		        g_strdup_printf("%s takes no pairs across hubs", hub_session_name(t));

		mesh_send_end(from, id, TR_REFUSE_ROLE, why);
		return;
	}
	if (tr_hub_pairs_join(hub->pairs, id, from, t, FALSE, g_get_monotonic_time(), &error) ==
	    0) {
		refuse_start(from, id, TR_REFUSE_SETTINGS, "%s", error->message);
		return;
	}
	mesh_note_endpoint(hub, from);
	mesh_note_endpoint(hub, t);
	mesh_pass_on(t, msg);
}

/* What a hub link sends about pairs; TRUE when it was that. */
gboolean
mesh_link_message(Session *s, TrMsg *msg)
{
	TrHub *hub = s->hub;
	Session *other;

	switch (msg->type) {
	case TR_MSG_PAIR_START:
		start_from_link(hub, s, msg);
		return TRUE;
	case TR_MSG_CANDIDATES:
		/* A member's candidates, changed, on toward the other member. */
		other = hub->pairs && tr_msg_has(msg, TR_ATTR_PAIR_ID)
		                ? tr_hub_pairs_other(hub->pairs, msg->pair_id, s)
		                : NULL;
		if (other && hub_session_is_node(other))
			mesh_pass_on(other, msg);
		else if (other)
			deliver(other, msg);
		return TRUE;
	case TR_MSG_PAIR_TLS:
	case TR_MSG_PAIR_END:
	case TR_MSG_RELAY:
		return FALSE; /* as from a client */
	default:
		return FALSE;
	}
}

void
mesh_hubs_init(TrHub *hub)
{
	hub->cross_by_key = g_hash_table_new(g_str_hash, g_str_equal);
	hub->cross_pairs =
	        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, cross_pair_free);
}

void
mesh_hubs_free(TrHub *hub)
{
	g_clear_pointer(&hub->cross_by_key, g_hash_table_unref);
	g_clear_pointer(&hub->cross_pairs, g_hash_table_unref);
}
