/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/link/link.h"

#include "common/base/addr.h"
#include "common/datapath/dataplane.h"
#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "common/datapath/pmtu.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

/* RFC 8446 7.5 exporter label; the context is epoch(u32 BE) || direction. */
#define KEY_LABEL "EXPORTER-trellis data key"
#define SALT_LEN  16

struct _TrLink {
	TrCtrl *ctrl;
	TrDc *dc;
	gboolean is_tls_server;
	TrLinkCallbacks cb;
	gpointer user_data;
	TrLinkTiming timing;

	struct sockaddr_storage endpoint; /* the data plane's, as last read */
	socklen_t endpoint_len;

	TrPath tx_path;          /* where we send data */
	gboolean peer_hears_udp; /* the peer's last PATH said UDP */
	gboolean we_hear_udp;    /* what we last told the peer */
	gint64 last_udp_rx;      /* authenticated UDP from the peer */
	gint64 last_ping_tx;     /* our last UDP probe */
	gint64 last_rx;          /* anything from the peer */
	gint64 last_ctrl_tx;     /* our last control message */
	uint32_t rekey_pending;  /* epoch we asked for, 0 = none */
	gint64 established;      /* wall clock, when activated */
	TrDataplane *dp;         /* the workers carry the data */
	TrDpPeer *dp_peer;
	uint32_t forward_id;
	guint tick_id;
	gboolean closing;
	TrLinkStats stats;
	/* Path MTU discovery toward the endpoint. */
	TrPmtu pmtu;
	gboolean pmtu_on;
	unsigned pmtu_ip; /* IP and UDP headers on the endpoint's path: 28 or 48 */
	unsigned mtu;     /* the tunnel MTU in force toward the peer */
	guint pmtu_timer; /* a round in flight is looked at sooner than the tick */
};

gboolean
tr_link_derive_keys(TrTls *tls, gboolean is_tls_server, uint32_t epoch, uint8_t *tx_key,
                    uint8_t *rx_key, GError **error)
{
	uint8_t ctx[7] = {(uint8_t)(epoch >> 24), (uint8_t)(epoch >> 16), (uint8_t)(epoch >> 8),
	                  (uint8_t)epoch};
	uint8_t c2s[TR_CIPHER_KEY_LEN], s2c[TR_CIPHER_KEY_LEN];

	memcpy(ctx + 4, "c2s", 3);
	if (!tr_tls_export(tls, KEY_LABEL, ctx, sizeof(ctx), c2s, sizeof(c2s), error))
		return FALSE;
	memcpy(ctx + 4, "s2c", 3);
	if (!tr_tls_export(tls, KEY_LABEL, ctx, sizeof(ctx), s2c, sizeof(s2c), error)) {
		gnutls_memset(c2s, 0, sizeof(c2s));
		return FALSE;
	}
	memcpy(tx_key, is_tls_server ? s2c : c2s, TR_CIPHER_KEY_LEN);
	memcpy(rx_key, is_tls_server ? c2s : s2c, TR_CIPHER_KEY_LEN);
	gnutls_memset(c2s, 0, sizeof(c2s));
	gnutls_memset(s2c, 0, sizeof(s2c));
	return TRUE;
}

/* The workers keep the endpoint (they see roaming first). */
static void
sync_endpoint(TrLink *link)
{
	if (link->dp_peer)
		link->endpoint_len = tr_dp_peer_endpoint(link->dp_peer, &link->endpoint);
}

/* Key changes: with workers sending and receiving, only while they are stopped. */
static void
quiesce(TrLink *link)
{
	if (link->dp_peer)
		tr_dataplane_quiesce(link->dp);
}

static void
resume(TrLink *link)
{
	if (link->dp_peer)
		tr_dataplane_resume(link->dp);
}

static gboolean
install_epoch(TrLink *link, uint32_t epoch, GError **error)
{
	uint8_t tx[TR_CIPHER_KEY_LEN], rx[TR_CIPHER_KEY_LEN];
	gboolean ok;

	if (!tr_link_derive_keys(tr_ctrl_get_tls(link->ctrl), link->is_tls_server, epoch, tx, rx,
	                         error))
		return FALSE;
	quiesce(link);
	ok = tr_dc_install_keys(link->dc, epoch, tx, rx, g_get_monotonic_time(), error);
	resume(link);
	gnutls_memset(tx, 0, sizeof(tx));
	gnutls_memset(rx, 0, sizeof(rx));
	return ok;
}

static void
activate_next(TrLink *link)
{
	quiesce(link);
	tr_dc_activate_next(link->dc, g_get_monotonic_time());
	resume(link);
}

static void
set_tx_path(TrLink *link)
{
	TrPath path = TR_PATH_TCP;

	sync_endpoint(link);
	if (link->timing.udp_enabled && link->peer_hears_udp && link->endpoint_len > 0)
		path = TR_PATH_UDP;
	if (link->dp_peer)
		tr_dp_peer_set_path(link->dp_peer, path);
	if (path == link->tx_path)
		return;
	link->tx_path = path;
	link->stats.udp_path_changes++;
	if (link->cb.path_changed)
		link->cb.path_changed(link, path, link->user_data);
}

gboolean
tr_link_send_msg(TrLink *link, const TrMsg *msg, GError **error)
{
	link->last_ctrl_tx = g_get_monotonic_time();
	return tr_ctrl_send(link->ctrl, msg, error);
}

static void
tell_path(TrLink *link, gboolean hear_udp)
{
	g_auto(TrMsg) msg = {0};

	link->we_hear_udp = hear_udp;
	tr_msg_init(&msg, TR_MSG_PATH);
	msg.path = hear_udp ? 0 : 1;
	tr_msg_set(&msg, TR_ATTR_PATH);
	tr_link_send_msg(link, &msg, NULL);
}

/* A data-channel PING over UDP: the peer answers with a PONG, and hears us. */
static void
send_ping(TrLink *link)
{
	uint8_t salt[SALT_LEN];

	gnutls_rnd(GNUTLS_RND_NONCE, salt, SALT_LEN);
	tr_dp_peer_send_control(link->dp, link->dp_peer, TR_DC_PING, salt, SALT_LEN);
}

/* ---- Path MTU discovery ---------------------------------------------------------- */

#define TR_LINK_PMTU_POLL_MS 10

/* IP and UDP headers toward the endpoint: IPv4 (also as a v4-mapped IPv6 address) or IPv6. */
static unsigned
endpoint_ip_overhead(const TrLink *link)
{
	return tr_sockaddr_is_ipv6((const struct sockaddr *)&link->endpoint) ? 40 + 8 : 20 + 8;
}

/* What a tunnel packet gains on the way out, besides the IP and UDP headers. */
static unsigned
tunnel_overhead(const TrLink *link)
{
	const TrDpConfig *cfg = tr_dataplane_config(link->dp);

	return TR_DC_HEADER_LEN + (unsigned)tr_cipher_tag_len(tr_dc_get_config(link->dc)->cipher) +
	       (cfg->frame == TR_FRAME_ETHERNET ? 14u : 0u);
}

/* (Re)starts the search for the endpoint's family: from its minimum to a full tunnel packet. */
static void
pmtu_start(TrLink *link)
{
	unsigned ip = endpoint_ip_overhead(link);
	unsigned ceiling = tr_dataplane_config(link->dp)->mtu + tunnel_overhead(link) + ip;
	unsigned floor = ip == 48 ? 1280 : 576;

	if (!link->pmtu_on)
		tr_pmtu_init(&link->pmtu, floor, ceiling, g_get_monotonic_time());
	else
		tr_pmtu_set_range(&link->pmtu, floor, ceiling, g_get_monotonic_time());
	link->pmtu_on = TRUE;
	link->pmtu_ip = ip;
}

static void
pmtu_apply(TrLink *link)
{
	unsigned pmtu = tr_pmtu_get(&link->pmtu);
	unsigned dev = tr_dataplane_config(link->dp)->mtu;
	unsigned over = link->pmtu_ip + tunnel_overhead(link);
	unsigned mtu = pmtu > over ? MIN(pmtu - over, dev) : dev;

	if (mtu == link->mtu)
		return;
	if (mtu < dev)
		g_message("%s: path MTU %u: packets to it are sized to a tunnel MTU of %u (the "
		          "device's is %u)",
		          tr_link_peer(link), pmtu, mtu, dev);
	else if (link->mtu)
		g_message("%s: path MTU %u: the device's tunnel MTU of %u fits again",
		          tr_link_peer(link), pmtu, dev);
	link->mtu = mtu;
	tr_dp_peer_set_mtu(link->dp_peer, mtu < dev ? mtu : 0);
}

static void pmtu_tick(TrLink *link, gint64 now);

static gboolean
on_pmtu_timer(gpointer p)
{
	TrLink *link = p;

	link->pmtu_timer = 0;
	if (!link->closing && link->dp_peer)
		pmtu_tick(link, g_get_monotonic_time());
	return G_SOURCE_REMOVE;
}

static void
pmtu_tick(TrLink *link, gint64 now)
{
	unsigned sizes[TR_PMTU_PROBES], round = 0, n;
	bool changed;

	if (!link->pmtu_on) {
		sync_endpoint(link);
		if (link->endpoint_len == 0)
			return;
		pmtu_start(link);
	} else if (endpoint_ip_overhead(link) != link->pmtu_ip) {
		pmtu_start(link); /* the peer moved to the other address family */
	}
	if (link->pmtu.round_active) {
		unsigned len = tr_dp_peer_probe_ack(link->dp_peer, link->pmtu.round);
		if (len)
			tr_pmtu_acked(&link->pmtu, link->pmtu.round, len + link->pmtu_ip, now);
	}
	n = tr_pmtu_tick(&link->pmtu, now, &round, sizes, &changed);
	for (unsigned i = 0; i < n; i++)
		(void)tr_dp_peer_send_probe(link->dp, link->dp_peer, round,
		                            sizes[i] - link->pmtu_ip);
	if (changed)
		pmtu_apply(link);
	/* Until the path is known, packets larger than it are lost: a search runs at round-trip
	 * pace. */
	if (link->pmtu.round_active && link->pmtu_timer == 0)
		link->pmtu_timer = g_timeout_add(TR_LINK_PMTU_POLL_MS, on_pmtu_timer, link);
}

static void
start_rekey(TrLink *link)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) msg = {0};
	uint32_t epoch;

	if (!tr_dc_current_epoch(link->dc, &epoch))
		return;
	epoch++;
	if (!install_epoch(link, epoch, &error)) {
		g_warning("%s: rekey to epoch %u failed: %s", tr_link_peer(link), epoch,
		          error->message);
		return;
	}
	link->rekey_pending = epoch;
	tr_msg_init(&msg, TR_MSG_REKEY);
	msg.epoch = epoch;
	tr_msg_set(&msg, TR_ATTR_EPOCH);
	tr_link_send_msg(link, &msg, NULL);
	g_debug("%s: rekey to epoch %u started", tr_link_peer(link), epoch);
}

static gboolean
on_tick(gpointer user_data)
{
	TrLink *link = user_data;
	gint64 now = g_get_monotonic_time();
	gint64 ka = (gint64)link->timing.keepalive_sec * G_USEC_PER_SEC;

	if (link->dc == NULL || link->closing)
		return G_SOURCE_CONTINUE;
	link->last_udp_rx = MAX(link->last_udp_rx, tr_dp_peer_last_udp_rx(link->dp_peer));
	link->last_rx = MAX(link->last_rx, link->last_udp_rx);

	if (now - link->last_rx > (gint64)link->timing.peer_timeout_sec * G_USEC_PER_SEC) {
		g_message("%s: no sign of life for %u s, dropping the session", tr_link_peer(link),
		          link->timing.peer_timeout_sec);
		tr_link_close(link, TR_MSG_CLOSE, TR_REFUSE_TIMEOUT, "peer timed out");
		return G_SOURCE_CONTINUE;
	}

	if (link->timing.udp_enabled) {
		gboolean hear =
		        link->last_udp_rx > 0 && now - link->last_udp_rx < ka + 2 * G_USEC_PER_SEC;

		if (now - link->last_udp_rx >= ka / 2 &&
		    now - link->last_ping_tx >= G_USEC_PER_SEC && link->endpoint_len > 0) {
			send_ping(link);
			link->last_ping_tx = now;
			link->stats.udp_probes_sent++;
		}
		if (hear != link->we_hear_udp) {
			g_message("%s: UDP from the peer %s", tr_link_peer(link),
			          hear ? "works" : "stopped; asking for data over TLS");
			tell_path(link, hear);
		}
	}

	if (link->timing.udp_enabled)
		pmtu_tick(link, now);

	if (now - link->last_ctrl_tx >= ka) {
		g_auto(TrMsg) ping = {0};
		tr_msg_init(&ping, TR_MSG_PING);
		gnutls_rnd(GNUTLS_RND_NONCE, ping.salt, SALT_LEN);
		ping.salt_len = SALT_LEN;
		tr_msg_set(&ping, TR_ATTR_SALT);
		tr_link_send_msg(link, &ping, NULL);
	}

	if (link->rekey_pending == 0 && tr_dc_wants_rekey(link->dc, now))
		start_rekey(link);
	if (tr_dc_activation_due(link->dc))
		activate_next(link);
	if (tr_dc_expire_due(link->dc, now)) {
		quiesce(link);
		tr_dc_expire(link->dc, now);
		resume(link);
	}
	return G_SOURCE_CONTINUE;
}

static void
handle_rekey(TrLink *link, const TrMsg *msg)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) ack = {0};
	uint32_t current = 0;

	tr_dc_current_epoch(link->dc, &current);
	if (msg->epoch == link->rekey_pending) {
		/* Both sides started the same rekey: ours is theirs. */
		activate_next(link);
		link->rekey_pending = 0;
	} else if (msg->epoch > current) {
		if (!install_epoch(link, msg->epoch, &error)) {
			g_warning("%s: cannot install epoch %u: %s", tr_link_peer(link), msg->epoch,
			          error->message);
			tr_link_close(link, TR_MSG_ERROR, TR_REFUSE_PROTOCOL, "rekey failed");
			return;
		}
		activate_next(link);
	}
	link->stats.rekeys++;
	tr_msg_init(&ack, TR_MSG_REKEY_ACK);
	ack.epoch = msg->epoch;
	tr_msg_set(&ack, TR_ATTR_EPOCH);
	tr_link_send_msg(link, &ack, NULL);
}

static void
on_ctrl_message(TrCtrl *ctrl, TrMsg *msg, gpointer user_data)
{
	TrLink *link = user_data;

	link->last_rx = g_get_monotonic_time();
	/* Before the configuration handshake only its own messages make sense:
	 * the owner refuses anything else. */
	if (link->dc == NULL && msg->type != TR_MSG_PING && msg->type != TR_MSG_PONG) {
		if (link->cb.message)
			link->cb.message(link, msg, link->user_data);
		return;
	}
	switch (msg->type) {
	case TR_MSG_PING: {
		g_auto(TrMsg) pong = {0};
		tr_msg_init(&pong, TR_MSG_PONG);
		memcpy(pong.salt, msg->salt, msg->salt_len);
		pong.salt_len = msg->salt_len;
		if (msg->salt_len)
			tr_msg_set(&pong, TR_ATTR_SALT);
		tr_link_send_msg(link, &pong, NULL);
		return;
	}
	case TR_MSG_PONG:
		return;
	case TR_MSG_DATA:
		/* Opened by the worker that owns the session's replay window. */
		if (link->dp_peer && msg->data_len <= TR_PACKET_PAYLOAD_MAX + TR_DC_OVERHEAD)
			tr_dp_peer_inject(link->dp, link->dp_peer, msg->data, msg->data_len);
		return;
	case TR_MSG_REKEY:
		if (link->dc && tr_msg_has(msg, TR_ATTR_EPOCH))
			handle_rekey(link, msg);
		return;
	case TR_MSG_REKEY_ACK:
		if (link->dc && msg->epoch == link->rekey_pending) {
			activate_next(link);
			link->rekey_pending = 0;
			link->stats.rekeys++;
		}
		return;
	case TR_MSG_PATH:
		if (tr_msg_has(msg, TR_ATTR_PATH)) {
			link->peer_hears_udp = msg->path == 0;
			set_tx_path(link);
		}
		return;
	default:
		if (link->cb.message)
			link->cb.message(link, msg, link->user_data);
	}
}

static void
on_ctrl_established(TrCtrl *ctrl, gpointer user_data)
{
	TrLink *link = user_data;

	link->last_rx = g_get_monotonic_time();
	if (link->cb.established)
		link->cb.established(link, link->user_data);
}

static void
on_ctrl_closed(TrCtrl *ctrl, const GError *error, gpointer user_data)
{
	TrLink *link = user_data;

	g_clear_handle_id(&link->tick_id, g_source_remove);
	g_clear_handle_id(&link->pmtu_timer, g_source_remove);
	link->closing = TRUE;
	if (link->cb.closed)
		link->cb.closed(link, error, link->user_data);
}

static const TrCtrlCallbacks link_ctrl_callbacks = {
        .established = on_ctrl_established,
        .message = on_ctrl_message,
        .closed = on_ctrl_closed,
};

TrLink *
tr_link_new(int fd, TrTlsCreds *creds, const char *server_name, const char *peer_desc,
            gboolean is_tls_server, const TrLinkCallbacks *callbacks, gpointer user_data,
            GError **error)
{
	TrLink *link = g_new0(TrLink, 1);

	link->ctrl =
	        tr_ctrl_new(creds, fd, server_name, peer_desc, &link_ctrl_callbacks, link, error);
	if (link->ctrl == NULL) {
		g_free(link);
		return NULL;
	}
	link->is_tls_server = is_tls_server;
	link->cb = *callbacks;
	link->user_data = user_data;
	link->last_rx = g_get_monotonic_time();
	return link;
}

void
tr_link_start(TrLink *link, guint handshake_timeout_ms)
{
	tr_ctrl_start(link->ctrl, handshake_timeout_ms);
}

void
tr_link_free(TrLink *link)
{
	if (link == NULL)
		return;
	g_clear_handle_id(&link->tick_id, g_source_remove);
	g_clear_handle_id(&link->pmtu_timer, g_source_remove);
	tr_ctrl_abort(link->ctrl);
	tr_ctrl_unref(link->ctrl);
	if (link->dp_peer)
		tr_dataplane_remove_peer(link->dp, link->dp_peer); /* frees the TrDc */
	g_free(link);
}

static void
on_dp_event(TrDpPeer *peer, unsigned events, gpointer p)
{
	TrLink *link = p;

	if (link->closing)
		return;
	if (events & TR_DP_EVENT_ROAMED) {
		char a[80], b[80];
		struct sockaddr_storage old = link->endpoint;
		socklen_t old_len = link->endpoint_len;

		sync_endpoint(link);
		if (old_len > 0) {
			g_message("%s: endpoint moved from %s to %s", tr_link_peer(link),
			          tr_sockaddr_to_string((struct sockaddr *)&old, a, sizeof(a)),
			          tr_sockaddr_to_string((struct sockaddr *)&link->endpoint, b,
			                                sizeof(b)));
			link->stats.roams++;
		}
		set_tx_path(link);
		/* A new path: its MTU may differ. */
		if (link->pmtu_on)
			tr_pmtu_restart(&link->pmtu, g_get_monotonic_time());
	}
	if ((events & TR_DP_EVENT_TOO_BIG) && link->pmtu_on &&
	    link->pmtu.state != TR_PMTU_SEARCHING) {
		tr_pmtu_restart(&link->pmtu, g_get_monotonic_time());
		pmtu_tick(link, g_get_monotonic_time());
	}
	if (events & TR_DP_EVENT_UDP_HEARD) {
		link->last_udp_rx = MAX(link->last_udp_rx, tr_dp_peer_last_udp_rx(peer));
		link->last_rx = MAX(link->last_rx, link->last_udp_rx);
		if (!link->we_hear_udp && link->timing.udp_enabled) {
			g_message("%s: UDP from the peer works", tr_link_peer(link));
			tell_path(link, TRUE);
		}
	}
	if (events & TR_DP_EVENT_SWITCHED && tr_dc_activation_due(link->dc))
		activate_next(link);
	if (events & TR_DP_EVENT_CLOSED) {
		g_message("%s: peer closed the session", tr_link_peer(link));
		tr_link_close(link, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN, NULL);
	}
}

static void
on_dp_tcp_send(TrDpPeer *peer, const uint8_t *data, size_t len, gpointer p)
{
	TrLink *link = p;

	if (link->closing)
		return;
	if (tr_ctrl_send_data(link->ctrl, data, len))
		link->stats.tcp_data_sent++;
	else
		link->stats.tcp_data_dropped++;
}

void
tr_link_use_dataplane(TrLink *link, TrDataplane *dp, uint32_t forward_id)
{
	g_return_if_fail(link->dc == NULL);
	link->dp = dp;
	link->forward_id = forward_id;
}

void
tr_link_set_forward_id(TrLink *link, uint32_t id)
{
	link->forward_id = id;
	if (link->dp_peer)
		tr_dataplane_set_peer_id(link->dp, link->dp_peer, id);
}

void
tr_link_leave_dataplane(TrLink *link)
{
	if (link->dp_peer == NULL)
		return;
	g_clear_handle_id(&link->tick_id, g_source_remove);
	g_clear_handle_id(&link->pmtu_timer, g_source_remove);
	tr_dataplane_remove_peer(link->dp, link->dp_peer); /* frees the TrDc */
	link->dp_peer = NULL;
	link->dc = NULL;
	link->dp = NULL;
	link->tx_path = TR_PATH_NONE;
}

gboolean
tr_link_activate(TrLink *link, const TrDcConfig *dc_config, const TrLinkTiming *timing,
                 const struct sockaddr *endpoint, socklen_t endpoint_len, GError **error)
{
	static const TrDpPeerCallbacks dp_callbacks = {
	        .peer_event = on_dp_event,
	        .tcp_send = on_dp_tcp_send,
	};
	TrDcConfig dcc = *dc_config;

	g_return_val_if_fail(link->dc == NULL, FALSE);
	g_return_val_if_fail(link->dp != NULL, FALSE);

	/* Every worker sends on its lane, the control plane on the last. */
	dcc.lanes = tr_dataplane_config(link->dp)->n_workers + 1;
	dcc.defer_activation = TRUE;
	link->dc = tr_dc_new(&dcc, error);
	if (link->dc == NULL)
		return FALSE;
	if (!install_epoch(link, 0, error)) {
		g_clear_pointer(&link->dc, tr_dc_free);
		return FALSE;
	}
	link->timing = *timing;
	if (link->timing.keepalive_sec == 0)
		link->timing.keepalive_sec = 10;
	if (link->timing.peer_timeout_sec == 0)
		link->timing.peer_timeout_sec = 60;
	link->dp_peer = tr_dataplane_add_peer(link->dp, link->dc, link->forward_id, endpoint,
	                                      endpoint_len, &dp_callbacks, link);
	sync_endpoint(link);
	link->last_rx = g_get_monotonic_time();
	link->last_ctrl_tx = link->last_rx;
	link->established = g_get_real_time() / G_USEC_PER_SEC;
	set_tx_path(link);
	link->tick_id = g_timeout_add(250, on_tick, link);
	/* Probe right away so UDP takes over within a round trip. */
	if (link->timing.udp_enabled && link->endpoint_len > 0) {
		send_ping(link);
		link->last_ping_tx = g_get_monotonic_time();
		pmtu_tick(link, link->last_ping_tx);
	}
	return TRUE;
}

gboolean
tr_link_is_active(TrLink *link)
{
	return link->dc != NULL && !link->closing;
}

void
tr_link_close(TrLink *link, TrMsgType type, TrRefusal code, const char *reason)
{
	if (link->closing)
		return;
	link->closing = TRUE;
	g_clear_handle_id(&link->tick_id, g_source_remove);
	g_clear_handle_id(&link->pmtu_timer, g_source_remove);
	/* A refusal travels over TLS only, with its reason; a plain goodbye
	 * also goes over UDP in case the TLS stream is stuck. */
	sync_endpoint(link);
	if (type == TR_MSG_CLOSE && link->dp_peer && link->endpoint_len > 0 &&
	    link->timing.udp_enabled)
		tr_dp_peer_send_control(link->dp, link->dp_peer, TR_DC_CLOSE, NULL, 0);
	tr_ctrl_close(link->ctrl, type, code, reason);
}

TrTls *
tr_link_get_tls(TrLink *link)
{
	return tr_ctrl_get_tls(link->ctrl);
}

int
tr_link_get_fd(TrLink *link)
{
	return tr_ctrl_get_fd(link->ctrl);
}

TrDc *
tr_link_get_dc(TrLink *link)
{
	return link->dc;
}

TrDpPeer *
tr_link_get_dp_peer(TrLink *link)
{
	return link->dp_peer;
}

TrPath
tr_link_get_path(TrLink *link)
{
	return link->tx_path;
}

const char *
tr_link_peer(TrLink *link)
{
	return tr_ctrl_peer(link->ctrl);
}

const struct sockaddr *
tr_link_endpoint(TrLink *link, socklen_t *len)
{
	sync_endpoint(link);
	*len = link->endpoint_len;
	return link->endpoint_len ? (const struct sockaddr *)&link->endpoint : NULL;
}

gint64
tr_link_last_rx(TrLink *link)
{
	return link->last_rx;
}

const TrLinkStats *
tr_link_get_stats(TrLink *link)
{
	return &link->stats;
}

void
tr_link_stats_json(TrLink *link, GString *out, gboolean *first)
{
	char ep[80];
	uint32_t epoch = 0;

	sync_endpoint(link);
	tr_json_key_string(out, first, "path", tr_path_name(link->tx_path));
	tr_json_key_string(
	        out, first, "endpoint",
	        link->endpoint_len
	                ? tr_sockaddr_to_string((struct sockaddr *)&link->endpoint, ep, sizeof(ep))
	                : NULL);
	tr_json_key_uint(out, first, "established", (guint64)link->established);
	if (link->pmtu_on) {
		/* the outer packet size that gets through (0: not known yet), and the tunnel MTU
		 * used */
		tr_json_key_uint(out, first, "path_mtu", tr_pmtu_get(&link->pmtu));
		tr_json_key_string(out, first, "path_mtu_search",
		                   tr_pmtu_state_name(link->pmtu.state));
	}
	if (link->dp_peer)
		tr_json_key_uint(out, first, "peer_mtu", tr_dp_peer_mtu(link->dp, link->dp_peer));
	tr_json_key_uint(out, first, "last_rx_age_sec",
	                 (guint64)((g_get_monotonic_time() - link->last_rx) / G_USEC_PER_SEC));
	if (link->dc) {
		const TrDcConfig *cfg = tr_dc_get_config(link->dc);
		TrDcStats stats, *st = &stats;
		gboolean f = TRUE;

		tr_dc_stats_copy(link->dc, &stats);
		tr_dc_current_epoch(link->dc, &epoch);
		tr_json_key_string(out, first, "cipher", tr_cipher_name(cfg->cipher));
		tr_json_key_string(out, first, "compression", tr_compress_name(cfg->compress));
		tr_json_key_uint(out, first, "epoch", epoch);
		tr_json_key_uint(out, first, "tx_packets", st->tx_packets);
		tr_json_key_uint(out, first, "tx_bytes", st->tx_bytes);
		tr_json_key_uint(out, first, "rx_packets", st->rx_packets);
		tr_json_key_uint(out, first, "rx_bytes", st->rx_bytes);
		tr_json_key(out, first, "rx_drops");
		g_string_append_c(out, '{');
		for (unsigned i = 0; i < TR_DC_DROP_COUNT; i++)
			tr_json_key_uint(out, &f, tr_dc_drop_name((TrDcDrop)i), st->rx_drops[i]);
		g_string_append_c(out, '}');
	}
	tr_json_key_uint(out, first, "rekeys", link->stats.rekeys);
	tr_json_key_uint(out, first, "roams", link->stats.roams);
	tr_json_key_uint(out, first, "path_changes", link->stats.udp_path_changes);
	tr_json_key_uint(out, first, "tcp_data_sent", link->stats.tcp_data_sent);
	tr_json_key_uint(out, first, "tcp_data_dropped", link->stats.tcp_data_dropped);
}
