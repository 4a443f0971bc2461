/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hub's side of pair sessions (docs/PROTOCOL.md, "Pair sessions"): when
 * its data plane forwards a client's packet to another client and the two
 * have no pair, it introduces them (PAIR_START to both at once), then
 * carries their handshake (PAIR_TLS, forwarded unchanged to the other member
 * and to nobody else) and their PAIR_END, and ends their pairs when one of
 * them leaves. It never holds a pair's keys. The bookkeeping (ids, members,
 * the handshake budget, the relay) is server/pairs.c.
 *
 * Only clients that said they take part (TR_FEATURE_PAIRS in their HELLO)
 * are introduced, and only with --mesh and client-to-client traffic on.
 */
#include "server/hub-private.h"

#include "common/base/addr.h"
#include "common/base/candidate.h"
#include "common/base/error.h"
#include "common/mesh/pair.h"

#include <string.h>

void
hub_mesh_init(TrHub *hub)
{
	TrHubPairsLimits limits = {.relay = hub->cfg.relay};

	if (!hub->cfg.mesh || !hub->cfg.client_to_client)
		return;
	hub->pairs = tr_hub_pairs_new(&hub->cfg.magic, &limits);
}

void
hub_mesh_free(TrHub *hub)
{
	g_clear_pointer(&hub->pairs, tr_hub_pairs_free);
}

/* An interface address (198.19.0.2/24) as the host it is (198.19.0.2/32). */
static TrPrefix
host_of(const TrPrefix *a)
{
	TrPrefix p = *a;

	p.len = (uint8_t)(tr_addr_family_bytes((TrAddrFamily)a->family) * 8);
	return p;
}

/* PAIR_START for @to about @peer. */
static void
send_start(TrHub *hub, Session *to, Session *peer, uint32_t id, TrPairRole role)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) m = {0};
	TrDpSession *dps = tr_link_get_dp_session(peer->link);
	struct sockaddr_storage ep;
	TrCandidate c;

	tr_msg_init(&m, TR_MSG_PAIR_START);
	tr_msg_set_u32(&m, TR_ATTR_PAIR_ID, id);
	tr_msg_set_string(&m, TR_ATTR_PEER, peer->identity);
	tr_msg_set_u8(&m, TR_ATTR_ROLE, (uint8_t)role);
	tr_msg_set_u8(&m, TR_ATTR_RELAY, hub->cfg.relay ? 1 : 0);
	/* The reflexive candidate: where the peer's UDP comes from. */
	if (dps && tr_dp_session_endpoint(dps, &ep) > 0 &&
	    tr_candidate_from_sockaddr(TR_CANDIDATE_REFLEXIVE, (struct sockaddr *)&ep, &c) &&
	    tr_candidate_usable(&c))
		tr_msg_add_candidate(&m, &c);
	for (guint i = 0; i < peer->n_addrs; i++) {
		TrPrefix a = host_of(&peer->addrs[i]);
		if (a.family != TR_ADDR_MAC)
			tr_msg_add_prefix(&m, TR_ATTR_ADDRESS, &a);
	}
	for (guint i = 0; i < peer->n_subnets; i++)
		if (peer->subnets[i].family != TR_ADDR_MAC)
			tr_msg_add_prefix(&m, TR_ATTR_SUBNET, &peer->subnets[i]);
	if (hub->names && g_str_has_prefix(peer->cert_identity, "psk:")) {
		GBytes *key = tr_names_lookup(hub->names, peer->cert_identity + 4);
		if (key)
			tr_msg_set_bytes(&m, TR_ATTR_NODE_KEY, key);
	}
	if (!tr_link_send_msg(to->link, &m, &error))
		g_warning("client %s: cannot send PAIR_START: %s", to->identity, error->message);
}

/* Whether @s is a client that takes part in pairs and is up. */
static gboolean
pairable(Session *s)
{
	return s && s->state == SESSION_ACTIVE && s->mesh && s->identity;
}

void
hub_mesh_forwarded(Session *s, uint32_t to)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	Session *peer;
	gboolean is_new = FALSE;
	uint32_t id;

	if (hub->pairs == NULL || to == 0 || to >= hub->by_id->len)
		return;
	peer = hub->by_id->pdata[to];
	if (!pairable(s) || !pairable(peer) || peer == s)
		return;
	id = tr_hub_pairs_open(hub->pairs, s, peer, g_get_monotonic_time(), &is_new, &error);
	if (id == 0) {
		if (tr_log_limit(&hub->pair_log, "pair refusals", 10, 60))
			g_message("no pair for %s and %s: %s", s->identity, peer->identity,
			          error->message);
		return;
	}
	if (!is_new)
		return;
	g_message("pair %08x: introducing %s and %s", id, s->identity, peer->identity);
	send_start(hub, s, peer, id, TR_PAIR_ROLE_CLIENT);
	send_start(hub, peer, s, id, TR_PAIR_ROLE_SERVER);
}

/* PAIR_END for pair @id to @to. */
static void
send_end(Session *to, uint32_t id, TrRefusal code, const char *reason)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) m = {0};

	tr_msg_init(&m, TR_MSG_PAIR_END);
	tr_msg_set_u32(&m, TR_ATTR_PAIR_ID, id);
	tr_msg_set_u16(&m, TR_ATTR_ERROR_CODE, (uint16_t)code);
	if (reason)
		tr_msg_set_string(&m, TR_ATTR_REASON, reason);
	if (!tr_link_send_msg(to->link, &m, &error))
		g_debug("client %s: cannot send PAIR_END: %s", to->identity, error->message);
}

gboolean
hub_mesh_message(Session *s, TrMsg *msg)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	Session *other;

	switch (msg->type) {
	case TR_MSG_PAIR_TLS:
	case TR_MSG_PAIR_END:
		break;
	default:
		return FALSE;
	}
	if (hub->pairs == NULL || !tr_msg_has(msg, TR_ATTR_PAIR_ID))
		return FALSE;
	other = tr_hub_pairs_other(hub->pairs, msg->pair_id, s);
	if (other == NULL) {
		/* A pair that just ended (the other side left, or ended it): nothing to do. */
		g_debug("client %s: %s for pair %08x, which it is not in", s->identity,
		        tr_msg_type_to_string(msg->type), msg->pair_id);
		return TRUE;
	}
	if (msg->type == TR_MSG_PAIR_END) {
		const char *reason =
		        msg->reason ? msg->reason : tr_refusal_to_string(msg->error_code);
		g_message("pair %08x of %s and %s ended by %s: %s", msg->pair_id, s->identity,
		          other->identity, s->identity, reason);
		tr_hub_pairs_close(hub->pairs, msg->pair_id);
		send_end(other, msg->pair_id, (TrRefusal)msg->error_code, msg->reason);
		return TRUE;
	}
	if (msg->pair_tls == NULL ||
	    !tr_hub_pairs_tls(hub->pairs, msg->pair_id, s, g_bytes_get_size(msg->pair_tls),
	                      g_get_monotonic_time(), &error)) {
		const char *why = error ? error->message : "PAIR_TLS without TLS bytes";
		g_message("pair %08x of %s and %s: %s; ending it", msg->pair_id, s->identity,
		          other->identity, why);
		tr_hub_pairs_close(hub->pairs, msg->pair_id);
		send_end(s, msg->pair_id, TR_REFUSE_PROTOCOL, why);
		send_end(other, msg->pair_id, TR_REFUSE_PROTOCOL, why);
		return TRUE;
	}
	/* Unchanged, to the other member only. */
	if (!tr_link_send_msg(other->link, msg, &error))
		g_debug("client %s: cannot forward PAIR_TLS: %s", other->identity, error->message);
	return TRUE;
}

void
hub_mesh_gone(Session *s)
{
	TrHub *hub = s->hub;
	g_autoptr(GArray) ids = NULL;
	g_autoptr(GPtrArray) others = NULL;

	if (hub->pairs == NULL)
		return;
	ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	others = g_ptr_array_new();
	tr_hub_pairs_member_gone(hub->pairs, s, ids, others);
	for (guint i = 0; i < ids->len; i++) {
		Session *o = others->pdata[i];
		g_autofree char *why = g_strdup_printf("%s left", s->identity);

		send_end(o, g_array_index(ids, uint32_t, i), TR_REFUSE_SHUTDOWN, why);
	}
}
