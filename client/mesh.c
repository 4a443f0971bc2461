/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client's side of pair sessions (docs/PROTOCOL.md, "Pair sessions"):
 * the hub introduces us to another client (PAIR_START), the two of us run a
 * TLS 1.3 handshake end to end through the hub (PAIR_TLS, common/mesh/pair.h),
 * each verifying the other, and agree on keys of our own. The table of pairs
 * (their state, the peer's addresses, idle and handshake limits) is
 * client/pairs.c.
 *
 * Once the keys are agreed the pair gets a data-channel session of its own in
 * the data plane's workers (same batching and offloads as the hub session),
 * under a small forwarding id (2, 3, ...). Both sides probe the peer's
 * candidates from PAIR_START with PINGs sealed under the pair's keys, every
 * TR_MESH_PROBE_USEC for a burst of TR_MESH_BURST_USEC (again every
 * TR_MESH_RETRY_USEC while it has not worked): the first authenticated
 * datagram from the peer opens the direct path, and from then on the peer's
 * addresses route to the pair (tun). A direct path is kept alive with a PING
 * every TR_MESH_KEEPALIVE_USEC; silent for TR_MESH_DEAD_USEC, the pair's
 * addresses go back to the hub session (decrypted by the hub, as without the
 * mesh) and probing starts again. Each change is logged once, with its
 * reason. Until a direct path works (and for pairs that never punch), the
 * pair's sealed datagrams go through the hub in relay frames
 * (common/mesh/relay.h): over UDP to the hub's port, or, when UDP does not
 * reach the hub, as RELAY messages on the hub session's TLS stream; the hub
 * forwards them unchanged and cannot open them.
 *
 * Pairs end on the hub's PAIR_END, on a failed handshake
 * (PAIR_END to the hub with the reason, logged once), when their handshake
 * takes longer than TR_CLIENT_PAIR_HANDSHAKE_USEC, after
 * TR_CLIENT_PAIR_IDLE_USEC, and with the hub session.
 */
#include "client/client-private.h"

#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "common/mesh/pair.h"
#include "common/mesh/path.h"
#include "common/mesh/relay.h"
#include "platform/net.h"

G_STATIC_ASSERT(TR_RELAY_TYPE == TR_DP_RELAY_TYPE);
G_STATIC_ASSERT(TR_RELAY_HEADER_LEN == TR_DP_RELAY_HEADER_LEN);

#include <gnutls/crypto.h>
#include <string.h>

/* The timing of common/mesh/path.h; the probe interval, the retry and the keepalive
 * are options (--punch-interval, --punch-retry, --pair-keepalive). */
#define PROBE_USEC(c)     ((gint64)(c)->cfg.punch_interval_ms * 1000)
#define RETRY_USEC(c)     ((gint64)(c)->cfg.punch_retry_sec * G_USEC_PER_SEC)
#define KEEPALIVE_USEC(c) ((gint64)(c)->cfg.pair_keepalive_sec * G_USEC_PER_SEC)
/* The pairs' timer: probes, keepalives, rechecks of a suspect path. */
#define TICK_MS(c) MIN((c)->cfg.punch_interval_ms, (guint)(TR_PATH_RECHECK_USEC / 2000))

/* What hangs off a TrClientPair (its data). */
typedef struct {
	TrClient *client;
	uint32_t id;
	TrPair *pair;
	gint64 established; /* monotonic; 0: not yet */
	uint32_t rx_index;
	/* The pair's data channel (once established). */
	TrDpSession *dps;
	uint32_t dp_id;         /* its forwarding id on our data plane (2, 3, ...) */
	TrPairPath path;        /* which way its datagrams go (common/mesh/path.c) */
	gboolean direct;        /* as applied: direct, its addresses route to the pair */
	gboolean relayed;       /* as applied: relayed through the hub (PAIR_START said it may) */
	TrPath relay_over;      /* how relay frames reach the hub (UDP, or its TLS stream) */
	guint64 tx_seen;        /* datagrams sent, when last looked at */
	gint64 rx_seen;         /* the session's last UDP datagram, when last looked at */
	gint64 keyed_at;        /* when the keys in use were agreed (handshake or rekey) */
	guint64 data_bytes;     /* payload bytes both ways when last seen (PINGs carry none) */
	uint32_t rekey_pending; /* the epoch of our REKEY not yet acknowledged (0: none) */
	guint64 rekeys;
	const char *broken; /* set inside tr_pair_receive(): the pair fails once it returns */
} PairData;

static void rebuild_routes(TrClient *client);
static void send_candidates(TrClient *client, gboolean only_if_changed);
static gboolean in_tunnel(TrClient *client, const TrCandidate *c);

static void
pair_data_free(TrClient *client, PairData *d)
{
	if (d == NULL)
		return;
	if (d->dps && client->dp)
		tr_dataplane_remove_session(client->dp, d->dps); /* frees its TrDc */
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
	PairData *d = p->data;

	p->data = NULL;
	tr_client_pairs_end(client->pairs, id);
	if (d && (d->direct || d->relayed))
		d->direct = d->relayed = FALSE, rebuild_routes(client);
	if (d && d->dp_id && client->pair_macs)
		tr_switch_forget_peer(client->pair_macs, d->dp_id);
	pair_data_free(client, d);
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

/* ---- The pair's keys: rekeyed like a hub session's (common/link/keys.c's rule) ----
 * Either side starts a rekey when its data channel wants one (age or packets):
 * it installs epoch N+1 from the pair's exporter and sends REKEY(N+1) inside
 * the pair's TLS stream; the other installs and switches, answers REKEY_ACK,
 * and the initiator switches on the ACK (or on the first packet under the new
 * key). Key changes happen with the workers quiesced. */

/* Epoch @epoch's keys into the pair's data channel (next slot). */
static gboolean
pair_install(TrClient *client, PairData *d, uint32_t epoch, GError **error)
{
	uint8_t tx[TR_PAIR_KEY_LEN], rx[TR_PAIR_KEY_LEN];
	gboolean ok = tr_pair_derive_keys(d->pair, epoch, tx, rx, error);

	if (ok) {
		tr_dataplane_quiesce(client->dp);
		ok = tr_dc_install_keys(tr_dp_session_dc(d->dps), epoch, tx, rx,
		                        g_get_monotonic_time(), error);
		tr_dataplane_resume(client->dp);
	}
	gnutls_memset(tx, 0, sizeof(tx));
	gnutls_memset(rx, 0, sizeof(rx));
	return ok;
}

/* Switches to the installed next key (the workers quiesced). */
static void
pair_switch(TrClient *client, PairData *d)
{
	d->keyed_at = g_get_monotonic_time();
	tr_dataplane_quiesce(client->dp);
	tr_dc_activate_next(tr_dp_session_dc(d->dps), g_get_monotonic_time());
	tr_dataplane_resume(client->dp);
}

static void
pair_send_epoch(TrClient *client, PairData *d, TrMsgType type, uint32_t epoch)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) m = {0};

	tr_msg_init(&m, type);
	tr_msg_set_u32(&m, TR_ATTR_EPOCH, epoch);
	if (!tr_pair_send(d->pair, &m, &error))
		g_debug("pair %08x: cannot send %s: %s", d->id, tr_msg_type_to_string(type),
		        error->message);
}

/* Our data channel wants new keys, a packet under the next key arrived, old keys expire. */
static void
pair_keys_tick(TrClient *client, PairData *d, gint64 now)
{
	TrDc *dc = tr_dp_session_dc(d->dps);
	g_autoptr(GError) error = NULL;
	uint32_t epoch;

	if (d->rekey_pending == 0 && tr_dc_wants_rekey(dc, now) &&
	    tr_dc_current_epoch(dc, &epoch)) {
		if (!pair_install(client, d, epoch + 1, &error)) {
			g_warning("pair %08x: rekey to epoch %u failed: %s", d->id, epoch + 1,
			          error->message);
			return;
		}
		d->rekey_pending = epoch + 1;
		pair_send_epoch(client, d, TR_MSG_REKEY, epoch + 1);
	}
	if (tr_dc_activation_due(dc))
		pair_switch(client, d);
	if (tr_dc_expire_due(dc, now)) {
		tr_dataplane_quiesce(client->dp);
		tr_dc_expire(dc, now);
		tr_dataplane_resume(client->dp);
	}
}

/* The peer's REKEY: install its epoch and switch, or ours crossed it; acknowledge. */
static void
pair_rekey(TrClient *client, PairData *d, uint32_t epoch)
{
	g_autoptr(GError) error = NULL;
	uint32_t current = 0;

	tr_dc_current_epoch(tr_dp_session_dc(d->dps), &current);
	if (epoch == d->rekey_pending) {
		pair_switch(client, d); /* both started the same rekey */
		d->rekey_pending = 0;
	} else if (epoch > current) {
		if (!pair_install(client, d, epoch, &error)) {
			g_warning("pair %08x: cannot install epoch %u: %s", d->id, epoch,
			          error->message);
			d->broken = "rekey failed";
			return;
		}
		pair_switch(client, d);
	}
	d->rekeys++;
	pair_send_epoch(client, d, TR_MSG_REKEY_ACK, epoch);
}

/* Messages on the pair's stream after its HELLO: REKEY, REKEY_ACK. */
static void
on_pair_message(const TrMsg *msg, gpointer p)
{
	PairData *d = p;

	if (d->dps == NULL || !tr_msg_has(msg, TR_ATTR_EPOCH)) {
		g_debug("pair %08x: %s ignored", d->id, tr_msg_type_to_string(msg->type));
		return;
	}
	if (msg->type == TR_MSG_REKEY) {
		pair_rekey(d->client, d, msg->epoch);
	} else if (msg->type == TR_MSG_REKEY_ACK && msg->epoch == d->rekey_pending) {
		pair_switch(d->client, d);
		d->rekey_pending = 0;
		d->rekeys++;
	}
}

/* The pair failed here: tell the hub (and so the peer), log once, forget it. */
static void
pair_failed(TrClient *client, TrClientPair *p, const char *why)
{
	g_warning("pair with %s failed: %s", p->peer, why);
	send_end(client, p->id, TR_REFUSE_AUTH, why);
	end_pair(client, p->id);
}

/*
 * The routes of the pairs with a path (direct or relayed), as the data plane's
 * snapshot: their peers' addresses and subnets to their sessions, the rest to
 * the hub's. tun: routed by those (router mode). tap: switched by the MACs
 * learnt behind each pair (docs/MESH.md, "Tap mode"), from the pair's frames
 * and from the hub session's frames whose source is one of those addresses
 * (tr_fwd_learn_by_source()); what no pair has learnt, broadcast and
 * multicast go to the hub. A pair without a path forgets its MACs.
 */
static void
rebuild_routes(TrClient *client)
{
	g_autoptr(TrRouteBuilder) b = tr_route_builder_new();
	g_autoptr(GPtrArray) all = NULL;
	g_autoptr(GError) error = NULL;
	gboolean tap = client->cfg.dev_type == TR_DEVICE_TAP;
	TrFwdConfig cfg = {
	        .mode = tap ? TR_FWD_MODE_SWITCH : TR_FWD_MODE_ROUTER,
	        .type = tap ? TR_FRAME_ETHERNET : TR_FRAME_IP,
	        .strict_source = !tap, /* tun: a pair sends from its peer's addresses only */
	};
	TrFwd *fwd;

	if (client->dp == NULL || client->pairs == NULL)
		return;
	if (tap && client->pair_macs == NULL)
		client->pair_macs = tr_switch_new(0, 0);
	all = tr_client_pairs_list(client->pairs);
	for (guint i = 0; i < all->len; i++) {
		TrClientPair *p = all->pdata[i];
		PairData *d = p->data;

		if (d && d->dp_id && tap && !(d->direct || d->relayed))
			tr_switch_forget_peer(client->pair_macs, d->dp_id);
		if (d == NULL || !(d->direct || d->relayed))
			continue;
		for (guint j = 0; j < p->n_prefixes; j++) {
			TrRouteAdd result;
			uint32_t other;

			if (!tr_route_builder_add(b, &p->prefixes[j], d->dp_id, p->origins[j],
			                          &result, &other, &error)) {
				g_debug("pair with %s: %s", p->peer, error->message);
				g_clear_error(&error);
			}
		}
	}
	fwd = tr_fwd_new(&cfg, tr_route_table_build(b), client->pair_macs, &error);
	if (fwd == NULL) {
		g_warning("the pairs' routes: %s", error->message);
		return;
	}
	tr_dataplane_set_fwd(client->dp, fwd);
}

/* A forwarding id no pair has (the hub session is 1). */
static uint32_t
new_dp_id(TrClient *client)
{
	g_autoptr(GPtrArray) all = tr_client_pairs_list(client->pairs);
	uint32_t id = 2;

	for (gboolean taken = TRUE; taken; id += taken) {
		taken = FALSE;
		for (guint i = 0; i < all->len && !taken; i++) {
			PairData *d = ((TrClientPair *)all->pdata[i])->data;
			taken = d && d->dp_id == id;
		}
	}
	return id;
}

/* How relay frames reach the hub: where the hub session's data goes. */
static TrPath
relay_path(TrClient *client)
{
	return client->link && tr_link_get_path(client->link) == TR_PATH_UDP ? TR_PATH_UDP
	                                                                     : TR_PATH_TCP;
}

/* "direct", "relayed" (relay frames over UDP), "tcp" (over the hub's TLS stream), "hub"
 * (no pair path: the hub session carries it, decrypted by the hub). */
static const char *
path_name(const PairData *d)
{
	return d->direct                      ? "direct"
	       : !d->relayed                  ? "hub"
	       : d->relay_over == TR_PATH_UDP ? "relayed"
	                                      : "tcp";
}

static const char *
relayed_how(TrPath over)
{
	return over == TR_PATH_UDP ? "relayed through the hub" : "relayed through the hub over TCP";
}

/* What the path selector chose, applied: the endpoint, the data plane's path, the
 * routes; logged once, with its reason. */
static void
apply_path(TrClient *client, TrClientPair *p)
{
	PairData *d = p->data;
	TrPairPathKind kind = tr_path_kind(&d->path);
	const TrPairPathCandidate *cur = tr_path_current(&d->path);
	gboolean direct = kind == TR_PAIR_PATH_DIRECT && cur != NULL;
	gboolean relayed = kind == TR_PAIR_PATH_RELAYED || kind == TR_PAIR_PATH_TCP;
	struct sockaddr_storage ss;
	char where[64] = "?";

	if (direct) {
		socklen_t len = tr_candidate_to_sockaddr(&cur->cand, &ss);

		tr_dp_session_set_endpoint(d->dps, (struct sockaddr *)&ss, len);
		tr_sockaddr_to_string((struct sockaddr *)&ss, where, sizeof(where));
	}
	/* Relayed: the workers hand its datagrams to on_pair_tcp_send (the slow path). */
	tr_dp_session_set_path(d->dps, direct ? TR_PATH_UDP : relayed ? TR_PATH_TCP : TR_PATH_NONE);
	d->relay_over = relay_path(client);
	if (direct != d->direct || relayed != d->relayed) {
		d->direct = direct;
		d->relayed = relayed;
		rebuild_routes(client);
	}
	if (direct)
		g_message("pair with %s: direct to %s (%s)", p->peer, where,
		          tr_path_reason(&d->path));
	else
		g_message("pair with %s: %s (%s)", p->peer,
		          relayed ? relayed_how(d->relay_over) : "through the hub session",
		          tr_path_reason(&d->path));
}

/* The peer's candidates, less those our tunnel routes, to the path selector. */
static void
path_candidates(TrClient *client, TrClientPair *p, gint64 now)
{
	PairData *d = p->data;
	TrCandidateList list = {0};

	for (guint i = 0; i < p->candidates.n; i++)
		if (!in_tunnel(client, &p->candidates.items[i]))
			tr_candidate_list_add(&list, &p->candidates.items[i]);
	tr_path_set_candidates(&d->path, &list, now);
}

static void
on_pair_dp_event(TrDpSession *session, unsigned events, gpointer p)
{
	PairData *d = p;
	TrClientPair *pair = d->client->pairs ? tr_client_pairs_get(d->client->pairs, d->id) : NULL;

	if (pair == NULL || pair->data != d)
		return;
	if (events & TR_DP_EVENT_CLOSED)
		g_debug("pair with %s: the peer closed its data channel", pair->peer);
}

/* A sealed datagram of a relayed pair, in a relay frame: to the hub's UDP port, or in
 * a RELAY message on the hub session's TLS stream when UDP does not reach the hub. */
static void
on_pair_tcp_send(TrDpSession *session, const uint8_t *data, size_t len, gpointer p)
{
	PairData *d = p;
	TrClient *client = d->client;
	TrDpSession *hub = client->link ? tr_link_get_dp_session(client->link) : NULL;
	struct sockaddr_storage ep;
	socklen_t ep_len = 0;
	uint8_t frame[TR_RELAY_MAX];

	if (hub == NULL || len > sizeof(frame) - TR_RELAY_HEADER_LEN)
		return;
	tr_relay_write_header(frame, &client->cfg.magic, d->id);
	memcpy(frame + TR_RELAY_HEADER_LEN, data, len);
	if (relay_path(client) == TR_PATH_UDP)
		ep_len = tr_dp_session_endpoint(hub, &ep);
	if (ep_len > 0)
		(void)tr_sock_sendto(client->udp_fd, frame, TR_RELAY_HEADER_LEN + len,
		                     (struct sockaddr *)&ep, ep_len);
	else
		(void)tr_link_send_relay(client->link, frame, TR_RELAY_HEADER_LEN + len);
}

/* A relay frame the hub sent over its TLS stream: the inner datagram to the pair's
 * session, opened by its worker like one that came over UDP from no endpoint. */
static void
handle_relay(TrClient *client, const TrMsg *msg)
{
	TrClientPair *p;
	const uint8_t *inner;
	size_t inner_len;
	uint32_t id;
	int r = tr_relay_parse(msg->data, msg->data_len, &client->cfg.magic, &id, &inner,
	                       &inner_len);

	if (r < 0) {
		g_debug("RELAY from the hub refused: %s", tr_relay_error_name(r));
		return;
	}
	p = tr_client_pairs_get(client->pairs, id);
	if (p && p->data && ((PairData *)p->data)->dps)
		(void)tr_dp_session_inject(client->dp, ((PairData *)p->data)->dps, inner,
		                           inner_len);
}

/* The pair's data channel: a session of our data plane under the pair's keys. */
static gboolean
pair_data_channel(TrClient *client, TrClientPair *p, const uint8_t *tx, const uint8_t *rx,
                  GError **error)
{
	static const TrDpSessionCallbacks cb = {
	        .event = on_pair_dp_event,
	        .tcp_send = on_pair_tcp_send,
	};
	PairData *d = p->data;
	gint64 now = g_get_monotonic_time();
	TrDcConfig dcc;
	TrDc *dc;

	if (client->dp == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "no data plane");
		return FALSE;
	}
	tr_dc_config_init(&dcc);
	dcc.magic = client->cfg.magic;
	dcc.cipher = (TrCipher)tr_pair_cipher(d->pair);
	dcc.local_index = d->rx_index;
	dcc.peer_index = tr_pair_peer_rx_index(d->pair);
	dcc.lanes = tr_dataplane_config(client->dp)->n_workers + 1;
	dcc.defer_activation = TRUE;
	dcc.rekey_after_usec = (gint64)client->cfg.pair_rekey_sec * G_USEC_PER_SEC;
	dcc.reject_after_usec = 3 * dcc.rekey_after_usec; /* as the hub does for its sessions */
	dc = tr_dc_new(&dcc, error);
	if (dc == NULL)
		return FALSE;
	if (!tr_dc_install_keys(dc, 0, tx, rx, g_get_monotonic_time(), error)) {
		tr_dc_free(dc);
		return FALSE;
	}
	d->dp_id = new_dp_id(client);
	d->dps = tr_dataplane_add_session(client->dp, dc, d->dp_id, NULL, 0, &cb, d);
	/* The path selector chooses the endpoint; the workers note what answers. */
	tr_dp_session_pin_endpoint(d->dps, TRUE);
	tr_path_init(&d->path, client->cfg.direct, p->relay);
	d->path.probe_interval = PROBE_USEC(client);
	d->path.retry = RETRY_USEC(client);
	d->path.keepalive = KEEPALIVE_USEC(client);
	tr_path_set_relay_udp(&d->path, relay_path(client) == TR_PATH_UDP, now);
	path_candidates(client, p, now);
	tr_path_start(&d->path, now);
	apply_path(client, p); /* relayed meanwhile, where the hub relays */
	return TRUE;
}

/* TLS and HELLO done: the keys of epoch 0, the pair's data channel. */
static gboolean
pair_established(TrClient *client, TrClientPair *p, GError **error)
{
	PairData *d = p->data;
	uint8_t tx[TR_PAIR_KEY_LEN], rx[TR_PAIR_KEY_LEN];
	gboolean ok = tr_pair_derive_keys(d->pair, 0, tx, rx, error) &&
	              pair_data_channel(client, p, tx, rx, error);

	gnutls_memset(tx, 0, sizeof(tx));
	gnutls_memset(rx, 0, sizeof(rx));
	if (!ok)
		return FALSE;
	d->established = d->keyed_at = g_get_monotonic_time();
	tr_client_pairs_up(client->pairs, p->id, d->established);
	g_message("pair with %s established (%s, cipher %s, MTU %u): keys agreed end to end; "
	          "probing %u candidate%s",
	          p->peer, tr_pair_auth(d->pair), tr_cipher_name((TrCipher)tr_pair_cipher(d->pair)),
	          tr_pair_mtu(d->pair), p->candidates.n, p->candidates.n == 1 ? "" : "s");
	return TRUE;
}

/*
 * Whether @c lies where our tunnel leads (the hub's pushed routes, our tunnel
 * addresses' networks, any pair's addresses and subnets): probing it would send
 * the pair's datagrams into the tunnel itself. E.g. a peer's LAN address in a
 * subnet it claims is reached through the tunnel from everywhere but that LAN.
 */
static gboolean
in_tunnel(TrClient *client, const TrCandidate *c)
{
	g_autoptr(GPtrArray) all = tr_client_pairs_list(client->pairs);
	TrAddrFamily family = (TrAddrFamily)c->family;

	for (guint i = 0; i < client->settings.n_routes; i++)
		if (tr_prefix_contains(&client->settings.routes[i], family, c->addr))
			return TRUE;
	for (guint i = 0; i < client->settings.n_addresses; i++)
		if (tr_prefix_contains(&client->settings.addresses[i], family, c->addr))
			return TRUE;
	for (guint i = 0; i < all->len; i++) {
		TrClientPair *p = all->pdata[i];
		for (guint j = 0; j < p->n_prefixes; j++)
			if (tr_prefix_contains(&p->prefixes[j], family, c->addr))
				return TRUE;
	}
	return FALSE;
}

/*
 * The path selector's clock: what the workers noted (PONGs to our probes, datagrams
 * from endpoints other than the one in use), what we sent, whether UDP reaches the
 * hub; then its probes (PINGs whose payload is the probe id and 12 random bytes, to
 * the candidate it names) and, when it changed its mind, the new path.
 */
static void
path_tick(TrClient *client, TrClientPair *p, gint64 now, const TrDcStats *st)
{
	PairData *d = p->data;
	TrDpNote notes[TR_DP_NOTES];
	TrPairPathProbe probes[8];
	gboolean foreign = FALSE, changed = FALSE;
	bool ch = false;
	gint64 rx = tr_dp_session_last_udp_rx(d->dps);
	guint n = tr_dp_session_take_notes(d->dps, notes, G_N_ELEMENTS(notes));

	for (guint i = 0; i < n; i++) {
		TrCandidate c;

		if (!tr_candidate_from_sockaddr(TR_CANDIDATE_PEER_REFLEXIVE,
		                                (struct sockaddr *)&notes[i].from, &c))
			continue;
		if (notes[i].pong) {
			changed |= tr_path_answered(&d->path, &c, tr_load_be32(notes[i].payload),
			                            notes[i].at);
		} else {
			foreign = TRUE;
			changed |= tr_path_heard(&d->path, &c, notes[i].at);
		}
	}
	/* Datagrams from the endpoint in use (the workers note only the others). */
	if (rx > d->rx_seen) {
		const TrPairPathCandidate *cur = tr_path_current(&d->path);

		d->rx_seen = rx;
		if (cur && !foreign)
			tr_path_heard(&d->path, &cur->cand, rx);
	}
	if (st->tx_packets != d->tx_seen) {
		d->tx_seen = st->tx_packets;
		if (tr_path_kind(&d->path) == TR_PAIR_PATH_DIRECT)
			tr_path_sent(&d->path, now);
	}
	if ((relay_path(client) == TR_PATH_UDP) != d->path.relay_udp) {
		TrPairPathKind before = tr_path_kind(&d->path);

		tr_path_set_relay_udp(&d->path, relay_path(client) == TR_PATH_UDP, now);
		changed |= tr_path_kind(&d->path) != before;
	}
	n = tr_path_tick(&d->path, now, probes, G_N_ELEMENTS(probes), &ch);
	for (guint i = 0; i < n; i++) {
		const TrCandidate *c = &d->path.c[probes[i].cand].cand;
		struct sockaddr_storage ss;
		socklen_t len = tr_candidate_to_sockaddr(c, &ss);
		uint8_t payload[16];

		if (len == 0 || in_tunnel(client, c))
			continue;
		tr_store_be32(payload, probes[i].id);
		gnutls_rnd(GNUTLS_RND_NONCE, payload + 4, sizeof(payload) - 4);
		tr_dp_session_send_control_to(client->dp, d->dps, TR_DC_PING, payload,
		                              sizeof(payload), (struct sockaddr *)&ss, len);
	}
	if (changed || ch)
		apply_path(client, p);
}

/* Keys, traffic for the idle limit, the path. */
static void
pair_tick(TrClient *client, TrClientPair *p, gint64 now)
{
	PairData *d = p->data;
	TrDcStats st;

	if (d == NULL || d->dps == NULL)
		return;
	pair_keys_tick(client, d, now);
	tr_dc_stats_copy(tr_dp_session_dc(d->dps), &st);
	if (st.tx_bytes + st.rx_bytes != d->data_bytes) {
		d->data_bytes = st.tx_bytes + st.rx_bytes;
		tr_client_pairs_touch(client->pairs, p->id, now);
	}
	path_tick(client, p, now, &st);
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
	if (d->broken) {
		pair_failed(client, p, d->broken);
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

/* The peer's candidates changed: a pair that is not direct probes them at once. */
static void
handle_candidates(TrClient *client, const TrMsg *msg)
{
	g_autoptr(GError) error = NULL;
	TrClientPair *before = tr_msg_has(msg, TR_ATTR_PAIR_ID)
	                               ? tr_client_pairs_get(client->pairs, msg->pair_id)
	                               : NULL;
	TrCandidateList old = before ? before->candidates : (TrCandidateList){0};
	TrClientPair *p = tr_client_pairs_candidates(client->pairs, msg, &error);
	PairData *d = p ? p->data : NULL;
	gboolean changed;

	if (p == NULL) {
		g_debug("CANDIDATES: %s", error->message);
		return;
	}
	if (d == NULL || d->dps == NULL || !client->cfg.direct)
		return;
	/* Compared as sets: the same endpoints in another order are no change. */
	changed = old.n != p->candidates.n;
	for (guint i = 0; !changed && i < p->candidates.n; i++) {
		gboolean known = FALSE;

		for (guint j = 0; !known && j < old.n; j++)
			known = tr_candidate_same_endpoint(&old.items[j], &p->candidates.items[i]);
		changed = !known;
	}
	/* The same ones again: one of us roamed (the hub saw an endpoint move to an
	 * address the peer had offered already, or ours move), so both probe. */
	g_message("pair with %s: %s; probing %u", p->peer,
	          changed ? "the peer's candidates changed"
	                  : "the hub sent the peer's candidates again (the same ones: one of us "
	                    "moved)",
	          p->candidates.n);
	path_candidates(client, p, g_get_monotonic_time()); /* a burst at once */
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
	case TR_MSG_RELAY:
		handle_relay(client, msg);
		return TRUE;
	case TR_MSG_CANDIDATES:
		handle_candidates(client, msg);
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

	gint64 now = g_get_monotonic_time();
	g_autoptr(GPtrArray) all = tr_client_pairs_list(client->pairs);

	for (guint i = 0; i < all->len; i++)
		pair_tick(client, all->pdata[i], now);
	if (++client->pairs_ticks % MAX(1u, 5000u / TICK_MS(client)) == 0)
		send_candidates(client, TRUE); /* every 5 s: did they change? */
	tr_client_pairs_due(client->pairs, now, ids);
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

/*
 * Our candidates: the addresses of our interfaces but the tunnel's, with our UDP
 * port (a peer on the same LAN reaches us there), and the port a router maps for us
 * (common/portmap), if any.
 */
static void
own_candidates(TrClient *client, TrCandidateList *list)
{
	struct sockaddr_storage mapped;
	socklen_t mapped_len = 0;
	gboolean low = FALSE;
	TrCandidate c;
	const char *tun = client->dev ? tr_device_ifname(client->dev) : NULL;
	struct sockaddr_storage addrs[32]; /* more than the list keeps: some are not usable */
	TrPlatError err = {0};
	int n = tr_net_local_addresses(tun, addrs, G_N_ELEMENTS(addrs), &err);

	if (n < 0)
		g_debug("no interface-address candidates: %s", err.message);
	for (int i = 0; i < n; i++) {
		tr_sockaddr_set_port((struct sockaddr *)&addrs[i], client->udp_port);
		if (tr_candidate_from_sockaddr(TR_CANDIDATE_HOST, (struct sockaddr *)&addrs[i], &c))
			tr_candidate_list_add(list, &c);
	}
	if (client->portmap &&
	    tr_portmap_get_endpoint(client->portmap, &mapped, &mapped_len, &low) &&
	    tr_candidate_from_sockaddr(TR_CANDIDATE_MAPPED, (struct sockaddr *)&mapped, &c))
		tr_candidate_list_add(list, &c);
}

/*
 * Our candidates to the hub (CANDIDATES), which hands them to our future peers
 * and to the peers we have pairs with: after CONFIG, and again whenever they
 * changed (roaming, a new network, a new mapping). Only to a hub that said it
 * introduces pairs; never with --no-direct (nobody may know our addresses).
 */
static void
send_candidates(TrClient *client, gboolean only_if_changed)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) m = {0};
	TrCandidateList list = {0};

	if (client->link == NULL || !client->hub_pairs || !client->cfg.direct)
		return;
	own_candidates(client, &list);
	if (only_if_changed && list.n == client->candidates_sent.n &&
	    memcmp(list.items, client->candidates_sent.items, list.n * sizeof(list.items[0])) == 0)
		return;
	if (only_if_changed)
		g_message("our addresses changed: %u candidate%s to the hub for our peers", list.n,
		          list.n == 1 ? "" : "s");
	client->candidates_sent = list;
	tr_msg_init(&m, TR_MSG_CANDIDATES);
	for (guint i = 0; i < list.n; i++)
		tr_msg_add_candidate(&m, &list.items[i]);
	if (!tr_link_send_msg(client->link, &m, &error))
		g_debug("cannot send CANDIDATES: %s", error->message);
}

void
client_mesh_start(TrClient *client)
{
	client_mesh_stop(client);
	client->pairs = tr_client_pairs_new();
	client->pairs_timer = g_timeout_add(TICK_MS(client), on_pairs_tick, client);
	memset(&client->candidates_sent, 0, sizeof(client->candidates_sent));
	send_candidates(client, FALSE);
}

void
client_mesh_stop(TrClient *client)
{
	g_clear_handle_id(&client->pairs_timer, g_source_remove);
	if (client->pairs) {
		g_autoptr(GPtrArray) all = tr_client_pairs_list(client->pairs);

		for (guint i = 0; i < all->len; i++) {
			TrClientPair *p = all->pdata[i];
			PairData *d = p->data;

			p->data = NULL;
			if (d)
				d->direct =
				        FALSE; /* no rebuild: the routes go with the data plane */
			pair_data_free(client, d);
		}
	}
	g_clear_pointer(&client->pairs, tr_client_pairs_free);
	/* Its MACs go with the pairs (the data plane's snapshot holds its own reference). */
	g_clear_pointer(&client->pair_macs, tr_switch_unref);
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
		tr_json_key_string(out, &f, "path", d ? path_name(d) : "hub");
		if (d && d->dps) {
			struct sockaddr_storage ep;
			char where[64];
			TrDcStats st;

			const TrPairPathCandidate *cur = tr_path_current(&d->path);

			if (d->direct && tr_dp_session_endpoint(d->dps, &ep) > 0)
				tr_json_key_string(out, &f, "endpoint",
				                   tr_sockaddr_to_string((struct sockaddr *)&ep,
				                                         where, sizeof(where)));
			if (d->direct && cur && cur->srtt > 0)
				tr_json_key_uint(out, &f, "rtt_us", (guint64)cur->srtt);
			tr_dc_stats_copy(tr_dp_session_dc(d->dps), &st);
			tr_json_key_uint(out, &f, "tx_bytes", st.tx_bytes);
			tr_json_key_uint(out, &f, "rx_bytes", st.rx_bytes);
			tr_json_key_uint(out, &f, "tx_packets", st.tx_packets);
			tr_json_key_uint(out, &f, "rx_packets", st.rx_packets);
		}
		if (d && d->established) {
			tr_json_key_string(out, &f, "auth", tr_pair_auth(d->pair));
			tr_json_key_string(out, &f, "cipher",
			                   tr_cipher_name((TrCipher)tr_pair_cipher(d->pair)));
			uint32_t epoch = 0;

			tr_json_key_uint(out, &f, "last_handshake_age_sec",
			                 (guint64)((now - d->keyed_at) / G_USEC_PER_SEC));
			if (d->dps && tr_dc_current_epoch(tr_dp_session_dc(d->dps), &epoch))
				tr_json_key_uint(out, &f, "epoch", epoch);
			tr_json_key_uint(out, &f, "rekeys", d->rekeys);
		}
		g_string_append_c(out, '}');
	}
	g_string_append_c(out, ']');
}
