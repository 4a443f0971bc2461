/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hub's side of pair sessions (docs/PROTOCOL.md, "Pair sessions"): when
 * its data plane forwards a client's packet to another client and the two
 * have no pair, it introduces them (PAIR_START to both at once), then
 * carries their handshake (PAIR_TLS, forwarded unchanged to the other member
 * and to nobody else) and their PAIR_END, and ends their pairs when one of
 * them leaves. It never holds a pair's keys. It relays a pair's sealed
 * datagrams unchanged: relay frames over UDP, and RELAY messages on the TLS
 * stream of a member UDP does not reach. The bookkeeping (ids, members, the
 * handshake budget, the relay's routing and rate) is server/pairs.c.
 *
 * Only clients that said they take part (TR_FEATURE_PAIRS in their HELLO)
 * are introduced, and only with client-to-client traffic on and without --no-mesh.
 *
 * A member may be a hub link (pairs across hubs: server/mesh-hubs.c introduces
 * them); the messages and relay frames of a pair go to its other member by id,
 * unchanged, whoever that is.
 */
#include "server/mesh-private.h"

#include "common/base/addr.h"
#include "common/base/candidate.h"
#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "common/mesh/pair.h"
#include "server/node.h"

#include <errno.h>
#include <string.h>

/*
 * Two clients whose pair failed (a refused certificate, a handshake that timed
 * out) are not introduced again on their next traffic, every
 * TR_DP_FORWARD_NOTE_USEC, but after a pause that doubles with each failure
 * in a row, from MESH_BACKOFF_MIN_USEC up to MESH_BACKOFF_MAX_USEC. A pair
 * that ends otherwise (idle, a member left) clears it. Keyed by the two
 * identities (sessions come and go); at most MESH_BACKOFF_MAX entries.
 */
#define MESH_BACKOFF_MIN_USEC (G_GINT64_CONSTANT(20) * G_USEC_PER_SEC)
#define MESH_BACKOFF_MAX_USEC (G_GINT64_CONSTANT(900) * G_USEC_PER_SEC)
#define MESH_BACKOFF_MAX      4096u

typedef struct {
	guint failures;
	gint64 not_before; /* monotonic */
} MeshBackoff;

static char *
backoff_key(const Session *a, const Session *b)
{
	return g_strcmp0(a->identity, b->identity) < 0
	               ? g_strdup_printf("%s\n%s", a->identity, b->identity)
	               : g_strdup_printf("%s\n%s", b->identity, a->identity);
}

/* The pair of the two members named by @key ended: failed (back off longer) or not
 * (forget). */
void
mesh_backoff_note_key(TrHub *hub, const char *key, gboolean failed, gint64 now)
{
	MeshBackoff *bo;

	if (!failed) {
		g_hash_table_remove(hub->pair_backoff, key);
		return;
	}
	bo = g_hash_table_lookup(hub->pair_backoff, key);
	if (bo == NULL) {
		if (g_hash_table_size(hub->pair_backoff) >= MESH_BACKOFF_MAX)
			g_hash_table_remove_all(hub->pair_backoff); /* crude, and bounded */
		bo = g_new0(MeshBackoff, 1);
		g_hash_table_insert(hub->pair_backoff, g_strdup(key), bo);
	}
	bo->failures++;
	bo->not_before = now + MIN(MESH_BACKOFF_MIN_USEC << MIN(bo->failures - 1, 10u),
	                           MESH_BACKOFF_MAX_USEC);
}

static void
backoff_note(TrHub *hub, Session *a, Session *b, gboolean failed, gint64 now)
{
	g_autofree char *key = backoff_key(a, b);

	mesh_backoff_note_key(hub, key, failed, now);
}

/* Until when the members named by @key are not introduced again (0: they may be now). */
gint64
mesh_backoff_until_key(TrHub *hub, const char *key, gint64 now)
{
	MeshBackoff *bo = g_hash_table_lookup(hub->pair_backoff, key);

	return bo && bo->not_before > now ? bo->not_before : 0;
}

static gint64
backoff_until(TrHub *hub, Session *a, Session *b, gint64 now)
{
	g_autofree char *key = backoff_key(a, b);

	return mesh_backoff_until_key(hub, key, now);
}

/* Pair @id of @a and @b ended (@failed: refused or timed out). */
static void
pair_done(TrHub *hub, uint32_t id, Session *a, Session *b, gboolean failed)
{
	tr_hub_pairs_close(hub->pairs, id);
	if (hub_session_is_node(a) || hub_session_is_node(b))
		mesh_cross_forget(hub, id, failed);
	else
		backoff_note(hub, a, b, failed, g_get_monotonic_time());
}

void
hub_mesh_init(TrHub *hub)
{
	TrHubPairsLimits limits = {.relay = hub->cfg.relay, .rate = hub->cfg.relay_rate};

	if (!hub->cfg.mesh || !hub->cfg.client_to_client)
		return;
	hub->pairs = tr_hub_pairs_new(&hub->cfg.magic, &limits);
	hub->pair_backoff = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	mesh_hubs_init(hub);
}

void
hub_mesh_free(TrHub *hub)
{
	g_clear_pointer(&hub->pairs, tr_hub_pairs_free);
	g_clear_pointer(&hub->pair_backoff, g_hash_table_unref);
	mesh_hubs_free(hub);
}

/* An interface address (198.19.0.2/24) as the host it is (198.19.0.2/32). */
static TrPrefix
host_of(const TrPrefix *a)
{
	TrPrefix p = *a;

	p.len = (uint8_t)(tr_addr_family_bytes((TrAddrFamily)a->family) * 8);
	return p;
}

/* @peer's candidates for @to: its own (host, mapped), then the reflexive one (where its
 * UDP comes from). None when either side wants no direct path (--no-direct): nobody
 * probes. */
static void
add_candidates(TrMsg *m, Session *to, Session *peer)
{
	TrDpSession *dps = tr_link_get_dp_session(peer->link);
	struct sockaddr_storage ep;
	TrCandidate c;

	if (to->no_direct || peer->no_direct || hub_session_is_node(peer))
		return;
	for (guint i = 0; peer->candidates && i < peer->candidates->n; i++)
		tr_msg_add_candidate(m, &peer->candidates->items[i]);
	if (dps && tr_dp_session_endpoint(dps, &ep) > 0 &&
	    tr_candidate_from_sockaddr(TR_CANDIDATE_REFLEXIVE, (struct sockaddr *)&ep, &c) &&
	    tr_candidate_usable(&c))
		tr_msg_add_candidate(m, &c);
}

/* PAIR_START for @to (a client, or a hub link) about @peer, a client of ours. */
void
mesh_send_start(TrHub *hub, Session *to, Session *peer, uint32_t id, TrPairRole role,
                const TrPrefix *target, gboolean relay)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) m = {0};

	tr_msg_init(&m, TR_MSG_PAIR_START);
	tr_msg_set_u32(&m, TR_ATTR_PAIR_ID, id);
	tr_msg_set_string(&m, TR_ATTR_PEER, peer->identity);
	tr_msg_set_u8(&m, TR_ATTR_ROLE, (uint8_t)role);
	/* Over UDP, or over the TLS stream of a member UDP does not reach (RELAY messages). */
	tr_msg_set_u8(&m, TR_ATTR_RELAY, relay ? 1 : 0);
	if (target) {
		tr_msg_set_prefix(&m, TR_ATTR_TARGET, target);
		/* Whom the target's hub settles two introductions of the same two by. */
		if (peer->graph_name)
			tr_msg_set_string(&m, TR_ATTR_NODE_NAME, peer->graph_name);
	}
	add_candidates(&m, to, peer);
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
		g_warning("%s: cannot send PAIR_START: %s", hub_session_name(to), error->message);
}

/* CANDIDATES for pair @id to @to: @about's candidates (add_candidates). */
static void
send_candidates(Session *to, Session *about, uint32_t id)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) m = {0};

	tr_msg_init(&m, TR_MSG_CANDIDATES);
	tr_msg_set_u32(&m, TR_ATTR_PAIR_ID, id);
	add_candidates(&m, to, about);
	if (!tr_link_send_msg(to->link, &m, &error))
		g_debug("client %s: cannot send CANDIDATES: %s", to->identity, error->message);
}

/* @s's candidates changed (a new network, a new mapping): to the peers it has pairs
 * with, so a relayed pair tries the new ones at once. With @both (@s roamed: its
 * reflexive candidate changed, which it cannot see itself) @s gets its peers' too, so
 * both sides probe at once. */
static void
resend_candidates(TrHub *hub, Session *s, gboolean both)
{
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	g_autoptr(GPtrArray) others = g_ptr_array_new();

	tr_hub_pairs_of(hub->pairs, s, ids, others);
	for (guint i = 0; i < ids->len; i++) {
		uint32_t id = g_array_index(ids, uint32_t, i);

		send_candidates(others->pdata[i], s, id);
		/* A member behind a hub link: its own hub sends its candidates. */
		if (both && !hub_session_is_node(others->pdata[i]))
			send_candidates(s, others->pdata[i], id);
	}
}

/* @s's UDP endpoint, as the pairs' relay takes frames from it; none while its data
 * goes over its TLS stream (its frames then go there too, as RELAY messages). */
void
mesh_note_endpoint(TrHub *hub, Session *s)
{
	TrDpSession *dps = s->link ? tr_link_get_dp_session(s->link) : NULL;
	struct sockaddr_storage ep;
	socklen_t len = dps && tr_link_get_path(s->link) == TR_PATH_UDP
	                        ? tr_dp_session_endpoint(dps, &ep)
	                        : 0;

	tr_hub_pairs_set_endpoint(hub->pairs, s, len ? (struct sockaddr *)&ep : NULL, len);
}

/* A relay frame, unchanged: over UDP from our own port, or in a RELAY message on the
 * TLS stream of a member UDP does not reach. */
static void
relay_out(TrHub *hub, const TrHubRelayDest *dest, const uint8_t *frame, size_t len)
{
	Session *to = dest->member;

	if (dest->addr_len > 0)
		(void)tr_sock_sendto(hub->udp_fd, frame, len, (struct sockaddr *)&dest->addr,
		                     dest->addr_len);
	else if (to->link)
		(void)tr_link_send_relay(to->link, frame, len); /* dropped when backed up */
}

void
hub_mesh_relay(const uint8_t *frame, size_t len, const struct sockaddr *from, socklen_t from_len,
               gpointer p)
{
	TrHub *hub = p;
	gint64 now = g_get_monotonic_time();
	TrHubRelayDest dest;
	int r;

	if (hub->pairs == NULL)
		return;
	r = tr_hub_pairs_relay(hub->pairs, frame, len, from, NULL, now, &dest);
	if (r == -EPERM) {
		/* A member may have roamed since: take every client's endpoint again. */
		GHashTableIter it;
		gpointer k;

		g_hash_table_iter_init(&it, hub->sessions);
		while (g_hash_table_iter_next(&it, &k, NULL))
			if ((((Session *)k)->mesh || hub_session_is_node(k)) &&
			    ((Session *)k)->state == SESSION_ACTIVE)
				mesh_note_endpoint(hub, k);
		r = tr_hub_pairs_relay(hub->pairs, frame, len, from, NULL, now, &dest);
	}
	if (r == 0)
		relay_out(hub, &dest, frame, len); /* refusals are counted by the table */
}

/* Whether @s is a client that takes part in pairs and is up. */
gboolean
mesh_pairable(Session *s)
{
	return s && s->state == SESSION_ACTIVE && s->mesh && s->identity;
}

void
hub_mesh_forwarded(Session *s, uint32_t to, const TrPrefix *dst)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	Session *peer;
	gboolean is_new = FALSE;
	gint64 now = g_get_monotonic_time(), until;
	uint32_t id;

	if (hub->pairs == NULL || to == 0 || to >= hub->by_id->len)
		return;
	peer = hub->by_id->pdata[to];
	if (peer && dst && hub_session_is_node(peer) && peer->state == SESSION_ACTIVE) {
		mesh_introduce_across(hub, s, peer, dst);
		return;
	}
	if (!mesh_pairable(s) || !mesh_pairable(peer) || peer == s)
		return;
	/* Relayed only, and the hub relays nothing: the pair could carry nothing. */
	if (!hub->cfg.relay && (s->no_direct || peer->no_direct))
		return;
	until = backoff_until(hub, s, peer, now);
	if (until) {
		g_debug("no pair for %s and %s for %" G_GINT64_FORMAT " s: their last one failed",
		        s->identity, peer->identity, (until - now) / G_USEC_PER_SEC);
		return;
	}
	id = tr_hub_pairs_open(hub->pairs, s, peer, now, &is_new, &error);
	if (id == 0) {
		if (tr_log_limit(&hub->pair_log, "pair refusals", 10, 60))
			g_message("no pair for %s and %s: %s", s->identity, peer->identity,
			          error->message);
		return;
	}
	if (!is_new)
		return;
	g_message("pair %08x: introducing %s and %s", id, s->identity, peer->identity);
	mesh_note_endpoint(hub, s);
	mesh_note_endpoint(hub, peer);
	mesh_send_start(hub, s, peer, id, TR_PAIR_ROLE_CLIENT, NULL, hub->cfg.relay);
	mesh_send_start(hub, peer, s, id, TR_PAIR_ROLE_SERVER, NULL, hub->cfg.relay);
}

/* PAIR_END for pair @id to @to. */
void
mesh_send_end(Session *to, uint32_t id, TrRefusal code, const char *reason)
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

/* A parsed message on to @to, unchanged. */
void
mesh_pass_on(Session *to, const TrMsg *msg)
{
	g_autoptr(GError) error = NULL;

	if (!tr_link_send_msg(to->link, msg, &error))
		g_debug("%s: cannot pass %s on: %s", hub_session_name(to),
		        tr_msg_type_to_string(msg->type), error->message);
}

gboolean
hub_mesh_message(Session *s, TrMsg *msg)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	Session *other;

	if (hub_session_is_node(s)) {
		if (mesh_link_message(s, msg))
			return TRUE;
		/* Pair messages a hub without pairs (--no-mesh) never asked for: ignored. */
		if (hub->pairs == NULL)
			return msg->type == TR_MSG_PAIR_TLS || msg->type == TR_MSG_PAIR_END ||
			       msg->type == TR_MSG_RELAY;
	}
	switch (msg->type) {
	case TR_MSG_PAIR_TLS:
	case TR_MSG_PAIR_END:
		break;
	case TR_MSG_RELAY: {
		/* A relay frame over the TLS stream (UDP does not reach us from @s). */
		TrHubRelayDest dest;

		if (hub->pairs && tr_hub_pairs_relay(hub->pairs, msg->data, msg->data_len, NULL, s,
		                                     g_get_monotonic_time(), &dest) == 0)
			relay_out(hub, &dest, msg->data, msg->data_len);
		return TRUE;
	}
	case TR_MSG_CANDIDATES:
		/* Its own; kept for the pairs it will be in (usable ones only, in order). */
		if (s->candidates == NULL)
			s->candidates = g_new0(TrCandidateList, 1);
		memset(s->candidates, 0, sizeof(*s->candidates));
		for (guint i = 0; i < msg->n_candidates; i++)
			if (msg->candidates[i].kind != TR_CANDIDATE_REFLEXIVE)
				tr_candidate_list_add(s->candidates, &msg->candidates[i]);
		if (hub->pairs)
			resend_candidates(hub, s, FALSE);
		return TRUE;
	default:
		return FALSE;
	}
	if (hub->pairs == NULL || !tr_msg_has(msg, TR_ATTR_PAIR_ID))
		return FALSE;
	other = tr_hub_pairs_other(hub->pairs, msg->pair_id, s);
	if (other == NULL) {
		/* A pair that just ended (the other side left, or ended it): nothing to do. */
		g_debug("%s: %s for pair %08x, which it is not in", hub_session_name(s),
		        tr_msg_type_to_string(msg->type), msg->pair_id);
		return TRUE;
	}
	if (msg->type == TR_MSG_PAIR_END) {
		const char *reason =
		        msg->reason ? msg->reason : tr_refusal_to_string(msg->error_code);
		gboolean failed =
		        msg->error_code != TR_REFUSE_NONE && msg->error_code != TR_REFUSE_SHUTDOWN;

		gboolean tell = mesh_knows_pair(hub, msg->pair_id, other);

		g_message("pair %08x of %s and %s ended by %s: %s", msg->pair_id, s->identity,
		          other->identity, s->identity, reason);
		pair_done(hub, msg->pair_id, s, other, failed);
		if (tell)
			mesh_send_end(other, msg->pair_id, (TrRefusal)msg->error_code, msg->reason);
		return TRUE;
	}
	if (msg->pair_tls == NULL ||
	    !tr_hub_pairs_tls(hub->pairs, msg->pair_id, s, g_bytes_get_size(msg->pair_tls),
	                      g_get_monotonic_time(), &error)) {
		const char *why = error ? error->message : "PAIR_TLS without TLS bytes";
		g_message("pair %08x of %s and %s: %s; ending it", msg->pair_id, s->identity,
		          other->identity, why);
		pair_done(hub, msg->pair_id, s, other, TRUE);
		mesh_send_end(s, msg->pair_id, TR_REFUSE_PROTOCOL, why);
		mesh_send_end(other, msg->pair_id, TR_REFUSE_PROTOCOL, why);
		return TRUE;
	}
	/* Unchanged, to the other member only. */
	mesh_pass_on(other, msg);
	return TRUE;
}

/* Ends every pair of @s, telling the other members @why. */
static void
end_pairs_of(Session *s, TrRefusal code, const char *why)
{
	TrHub *hub = s->hub;
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	g_autoptr(GPtrArray) others = g_ptr_array_new();

	tr_hub_pairs_member_gone(hub->pairs, s, ids, others);
	for (guint i = 0; i < ids->len; i++) {
		uint32_t id = g_array_index(ids, uint32_t, i);
		gboolean tell = mesh_knows_pair(hub, id, others->pdata[i]);

		mesh_cross_forget(hub, id, FALSE);
		if (tell)
			mesh_send_end(others->pdata[i], id, code, why);
	}
}

void
hub_mesh_path_changed(Session *s, TrPath path)
{
	/* Its pairs' relay frames go where its data goes: to its UDP endpoint, or over its
	 * TLS stream. The pairs stay. */
	if (s->hub->pairs != NULL && (s->mesh || hub_session_is_node(s)))
		mesh_note_endpoint(s->hub, s);
}

void
hub_mesh_roamed(Session *s)
{
	TrHub *hub = s->hub;

	if (hub->pairs == NULL || !(s->mesh || hub_session_is_node(s)))
		return;
	mesh_note_endpoint(hub, s);
	if (s->mesh)
		resend_candidates(hub, s, TRUE);
}

void
hub_mesh_gone(Session *s)
{
	g_autofree char *why = NULL;

	if (s->hub->pairs == NULL)
		return;
	why = g_strdup_printf("%s left", s->identity);
	end_pairs_of(s, TR_REFUSE_SHUTDOWN, why);
}

void
hub_mesh_stats_json(TrHub *hub, GString *out, gboolean *first)
{
	TrHubPairsCounters c;
	gboolean f = TRUE;

	if (hub->pairs == NULL)
		return;
	tr_hub_pairs_counters(hub->pairs, &c);
	tr_json_key(out, first, "mesh");
	g_string_append_c(out, '{');
	tr_json_key_uint(out, &f, "pairs", tr_hub_pairs_count(hub->pairs));
	tr_json_key_uint(out, &f, "across_hubs", g_hash_table_size(hub->cross_pairs));
	tr_json_key_uint(out, &f, "relayed", c.relayed);
	tr_json_key_uint(out, &f, "relayed_bytes", c.relayed_bytes);
	tr_json_key_uint(out, &f, "relay_malformed", c.malformed);
	tr_json_key_uint(out, &f, "relay_unknown", c.unknown);
	tr_json_key_uint(out, &f, "relay_stranger", c.stranger);
	tr_json_key_uint(out, &f, "relay_limited", c.limited);
	tr_json_key_uint(out, &f, "relay_disabled", c.disabled);
	g_string_append_c(out, '}');
}
