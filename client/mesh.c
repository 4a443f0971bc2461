/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client's side of pair sessions (docs/PROTOCOL.md, "Pair sessions"):
 * the hub introduces us to another client (PAIR_START), the two of us run a
 * TLS 1.3 handshake end to end through the hub (PAIR_TLS, common/mesh/pair.h),
 * each verifying the other, and agree on keys of our own. The table of pairs
 * (their state, the peer's addresses, idle and handshake limits) is
 * client/pairs.c.
 *
 * The pair's data channel is not wired yet: packets to the peer still take
 * the hub session. Pairs end on the hub's PAIR_END, on a failed handshake
 * (PAIR_END to the hub with the reason, logged once), when their handshake
 * takes longer than TR_CLIENT_PAIR_HANDSHAKE_USEC, after
 * TR_CLIENT_PAIR_IDLE_USEC, and with the hub session.
 */
#include "client/client-private.h"

#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "common/mesh/pair.h"

#include <gnutls/crypto.h>
#include <string.h>

/* What hangs off a TrClientPair (its data). */
typedef struct {
	TrClient *client;
	uint32_t id;
	TrPair *pair;
	gint64 established; /* monotonic; 0: not yet */
	uint32_t rx_index;
} PairData;

static void
pair_data_free(PairData *d)
{
	if (d == NULL)
		return;
	tr_pair_free(d->pair);
	g_free(d);
}

/* Ends pair @id here (its data first, then the table entry). */
static void
end_pair(TrClient *client, uint32_t id)
{
	TrClientPair *p = tr_client_pairs_get(client->pairs, id);

	if (p == NULL)
		return;
	pair_data_free(p->data);
	p->data = NULL;
	tr_client_pairs_end(client->pairs, id);
}

static void
send_end(TrClient *client, uint32_t id, TrRefusal code, const char *reason)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) m = {0};

	if (client->link == NULL)
		return;
	tr_msg_init(&m, TR_MSG_PAIR_END);
	tr_msg_set_u32(&m, TR_ATTR_PAIR_ID, id);
	tr_msg_set_u16(&m, TR_ATTR_ERROR_CODE, (uint16_t)code);
	if (reason)
		tr_msg_set_string(&m, TR_ATTR_REASON, reason);
	if (!tr_link_send_msg(client->link, &m, &error))
		g_debug("cannot send PAIR_END: %s", error->message);
}

/* The pair's TLS bytes, to the hub for the peer. */
static void
on_pair_send(const uint8_t *bytes, size_t len, gpointer p)
{
	PairData *d = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) b = g_bytes_new(bytes, len);
	g_auto(TrMsg) m = {0};

	if (d->client->link == NULL)
		return;
	tr_msg_init(&m, TR_MSG_PAIR_TLS);
	tr_msg_set_u32(&m, TR_ATTR_PAIR_ID, d->id);
	tr_msg_set_bytes(&m, TR_ATTR_PAIR_TLS, b);
	if (!tr_link_send_msg(d->client->link, &m, &error))
		g_debug("pair %08x: cannot send PAIR_TLS: %s", d->id, error->message);
}

/* Messages on the pair's stream after its HELLO (REKEY... once the data channel is wired). */
static void
on_pair_message(const TrMsg *msg, gpointer p)
{
	PairData *d = p;

	g_debug("pair %08x: %s ignored (no pair data channel yet)", d->id,
	        tr_msg_type_to_string(msg->type));
}

/* The pair failed here: tell the hub (and so the peer), log once, forget it. */
static void
pair_failed(TrClient *client, TrClientPair *p, const char *why)
{
	g_warning("pair with %s failed: %s", p->peer, why);
	send_end(client, p->id, TR_REFUSE_AUTH, why);
	end_pair(client, p->id);
}

/* TLS and HELLO done: the keys of epoch 0 can be derived. */
static gboolean
pair_established(TrClient *client, TrClientPair *p, GError **error)
{
	PairData *d = p->data;
	uint8_t tx[TR_PAIR_KEY_LEN], rx[TR_PAIR_KEY_LEN];
	gboolean ok = tr_pair_derive_keys(d->pair, 0, tx, rx, error);

	gnutls_memset(tx, 0, sizeof(tx));
	gnutls_memset(rx, 0, sizeof(rx));
	if (!ok)
		return FALSE;
	d->established = g_get_monotonic_time();
	tr_client_pairs_up(client->pairs, p->id, d->established);
	g_message("pair with %s established (%s, cipher %s, MTU %u): keys agreed end to end; "
	          "its data still goes through the hub",
	          p->peer, tr_pair_auth(d->pair), tr_cipher_name((TrCipher)tr_pair_cipher(d->pair)),
	          tr_pair_mtu(d->pair));
	return TRUE;
}

static TrTlsCreds *
creds_for(TrClient *client, TrPairRole role, GError **error)
{
	if (client->pair_creds[role] == NULL)
		client->pair_creds[role] = tr_pair_creds_new(&client->cfg.tls, role, error);
	return client->pair_creds[role];
}

static void
handle_start(TrClient *client, const TrMsg *msg)
{
	g_autoptr(GError) error = NULL;
	TrClientPair *p = tr_client_pairs_start(client->pairs, msg, g_get_monotonic_time(), &error);
	uint8_t ciphers[G_N_ELEMENTS(client->cfg.ciphers)];
	TrPairConfig pc = {0};
	TrTlsCreds *creds;
	PairData *d;

	if (p == NULL) {
		g_warning("the hub's PAIR_START was refused: %s", error->message);
		if (tr_msg_has(msg, TR_ATTR_PAIR_ID) && msg->pair_id != 0 &&
		    tr_client_pairs_get(client->pairs, msg->pair_id) == NULL)
			send_end(client, msg->pair_id, TR_REFUSE_PROTOCOL, error->message);
		return;
	}
	creds = creds_for(client, (TrPairRole)p->role, &error);
	d = g_new0(PairData, 1);
	d->client = client;
	d->id = p->id;
	p->data = d;
	if (creds == NULL) {
		pair_failed(client, p, error->message);
		return;
	}
	for (guint i = 0; i < client->cfg.n_ciphers; i++)
		ciphers[i] = (uint8_t)client->cfg.ciphers[i];
	gnutls_rnd(GNUTLS_RND_NONCE, &d->rx_index, sizeof(d->rx_index));
	d->rx_index |= 1; /* never 0 */
	pc.role = (TrPairRole)p->role;
	pc.peer_identity = p->peer;
	pc.peer_node_key = p->node_key;
	pc.node_key = client->node_key;
	pc.own_name = client->cfg.tls.psk_identity;
	pc.rx_index = d->rx_index;
	pc.ciphers = ciphers;
	pc.n_ciphers = client->cfg.n_ciphers;
	pc.mtu = (uint16_t)client->settings.mtu;
	g_message("pair with %s: the hub introduced us (pair %08x, we are the TLS %s)", p->peer,
	          p->id, p->role == TR_PAIR_ROLE_CLIENT ? "client" : "server");
	d->pair = tr_pair_new(creds, &pc, on_pair_send, on_pair_message, d, &error);
	if (d->pair == NULL || !tr_pair_start(d->pair, &error))
		pair_failed(client, p, error->message);
}

static void
handle_tls(TrClient *client, const TrMsg *msg)
{
	g_autoptr(GError) error = NULL;
	TrClientPair *p = tr_msg_has(msg, TR_ATTR_PAIR_ID)
	                          ? tr_client_pairs_get(client->pairs, msg->pair_id)
	                          : NULL;
	PairData *d = p ? p->data : NULL;
	gboolean was_up;

	if (d == NULL || d->pair == NULL || msg->pair_tls == NULL) {
		g_debug("PAIR_TLS for no pair of ours (%08x)", msg->pair_id);
		return;
	}
	was_up = tr_pair_state(d->pair) == TR_PAIR_ESTABLISHED;
	if (!tr_pair_receive(d->pair, g_bytes_get_data(msg->pair_tls, NULL),
	                     g_bytes_get_size(msg->pair_tls), &error)) {
		pair_failed(client, p, error->message);
		return;
	}
	if (!was_up && tr_pair_state(d->pair) == TR_PAIR_ESTABLISHED &&
	    !pair_established(client, p, &error))
		pair_failed(client, p, error->message);
}

static void
handle_end(TrClient *client, const TrMsg *msg)
{
	TrClientPair *p = tr_msg_has(msg, TR_ATTR_PAIR_ID)
	                          ? tr_client_pairs_get(client->pairs, msg->pair_id)
	                          : NULL;
	const char *reason = msg->reason ? msg->reason : tr_refusal_to_string(msg->error_code);

	if (p == NULL) {
		g_message("the hub refused a pair: %s", reason);
		return;
	}
	g_message("pair with %s ended: %s", p->peer, reason);
	end_pair(client, p->id);
}

gboolean
client_mesh_message(TrClient *client, const TrMsg *msg)
{
	g_autoptr(GError) error = NULL;

	switch (msg->type) {
	case TR_MSG_PAIR_START:
		handle_start(client, msg);
		return TRUE;
	case TR_MSG_PAIR_TLS:
		handle_tls(client, msg);
		return TRUE;
	case TR_MSG_PAIR_END:
		handle_end(client, msg);
		return TRUE;
	case TR_MSG_CANDIDATES:
		if (tr_client_pairs_candidates(client->pairs, msg, &error) == NULL)
			g_debug("CANDIDATES: %s", error->message);
		return TRUE;
	default:
		return FALSE;
	}
}

/* Handshakes that take too long, pairs idle too long. */
static gboolean
on_pairs_tick(gpointer p)
{
	TrClient *client = p;
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));

	tr_client_pairs_due(client->pairs, g_get_monotonic_time(), ids);
	for (guint i = 0; i < ids->len; i++) {
		uint32_t id = g_array_index(ids, uint32_t, i);
		TrClientPair *pair = tr_client_pairs_get(client->pairs, id);
		const char *why = pair->state == TR_CLIENT_PAIR_UP ? "idle" : "handshake timed out";

		g_message("pair with %s ended: %s", pair->peer, why);
		send_end(client, id,
		         pair->state == TR_CLIENT_PAIR_UP ? TR_REFUSE_NONE : TR_REFUSE_TIMEOUT,
		         why);
		end_pair(client, id);
	}
	return G_SOURCE_CONTINUE;
}

void
client_mesh_start(TrClient *client)
{
	client_mesh_stop(client);
	client->pairs = tr_client_pairs_new();
	client->pairs_timer = g_timeout_add_seconds(1, on_pairs_tick, client);
}

void
client_mesh_stop(TrClient *client)
{
	g_clear_handle_id(&client->pairs_timer, g_source_remove);
	if (client->pairs) {
		g_autoptr(GPtrArray) all = tr_client_pairs_list(client->pairs);

		for (guint i = 0; i < all->len; i++) {
			TrClientPair *p = all->pdata[i];
			pair_data_free(p->data);
			p->data = NULL;
		}
	}
	g_clear_pointer(&client->pairs, tr_client_pairs_free);
}

void
client_mesh_free(TrClient *client)
{
	client_mesh_stop(client);
	for (guint i = 0; i < G_N_ELEMENTS(client->pair_creds); i++)
		g_clear_pointer(&client->pair_creds[i], tr_tls_creds_unref);
}

void
client_mesh_stats_json(TrClient *client, GString *out, gboolean *first)
{
	g_autoptr(GPtrArray) all = client->pairs ? tr_client_pairs_list(client->pairs) : NULL;
	gint64 now = g_get_monotonic_time();

	tr_json_key(out, first, "pairs");
	g_string_append_c(out, '[');
	for (guint i = 0; all && i < all->len; i++) {
		TrClientPair *p = all->pdata[i];
		PairData *d = p->data;
		gboolean f = TRUE;
		char a[TR_PREFIX_STRLEN];
		char idbuf[9];

		if (i)
			g_string_append_c(out, ',');
		g_string_append_c(out, '{');
		g_snprintf(idbuf, sizeof(idbuf), "%08x", p->id);
		tr_json_key_string(out, &f, "id", idbuf);
		tr_json_key_string(out, &f, "peer", p->peer);
		tr_json_key_string(out, &f, "state",
		                   p->state == TR_CLIENT_PAIR_UP ? "established" : "handshake");
		tr_json_key_string(out, &f, "role",
		                   p->role == TR_PAIR_ROLE_CLIENT ? "tls-client" : "tls-server");
		tr_json_key(out, &f, "addresses");
		g_string_append_c(out, '[');
		for (guint j = 0; j < p->n_prefixes; j++) {
			if (j)
				g_string_append_c(out, ',');
			tr_json_string(out, tr_prefix_to_string(&p->prefixes[j], a, sizeof(a)));
		}
		g_string_append_c(out, ']');
		/* Until the pair's data channel is wired, its data takes the hub session. */
		tr_json_key_string(out, &f, "path", "hub");
		if (d && d->established) {
			tr_json_key_string(out, &f, "auth", tr_pair_auth(d->pair));
			tr_json_key_string(out, &f, "cipher",
			                   tr_cipher_name((TrCipher)tr_pair_cipher(d->pair)));
			tr_json_key_uint(out, &f, "last_handshake_age_sec",
			                 (guint64)((now - d->established) / G_USEC_PER_SEC));
		}
		g_string_append_c(out, '}');
	}
	g_string_append_c(out, ']');
}
