/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The link object: its TLS control connection and the messages that come
 * over it (dispatched to keys.c, path.c, liveness.c or the owner), its
 * session in the data plane and that session's events, closing, status.
 */
#include "common/link/private.h"

#include "common/base/addr.h"
#include "common/base/json-writer.h"

#include <string.h>

gboolean
tr_link_send_msg(TrLink *link, const TrMsg *msg, GError **error)
{
	link->last_ctrl_tx = g_get_monotonic_time();
	return tr_ctrl_send(link->ctrl, msg, error);
}

gboolean
tr_link_send_frame(TrLink *link, const uint8_t *frame, size_t len, GError **error)
{
	link->last_ctrl_tx = g_get_monotonic_time();
	return tr_ctrl_send_frame(link->ctrl, frame, len, error);
}

gboolean
tr_link_send_relay(TrLink *link, const uint8_t *frame, size_t len)
{
	return !link->closing && tr_ctrl_send_relay(link->ctrl, frame, len);
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
	case TR_MSG_PING:
		link_liveness_ping(link, msg);
		return;
	case TR_MSG_PONG:
		link_liveness_pong(link, msg);
		return;
	case TR_MSG_DATA:
		/* Opened by the worker that owns the session's replay window. */
		if (link->dp_session && msg->data_len <= TR_PACKET_PAYLOAD_MAX + TR_DC_OVERHEAD)
			tr_dp_session_inject(link->dp, link->dp_session, msg->data, msg->data_len);
		return;
	case TR_MSG_REKEY:
	case TR_MSG_REKEY_ACK:
		link_keys_message(link, msg);
		return;
	case TR_MSG_PATH:
		link_path_message(link, msg);
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

	link_liveness_stop(link);
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
tr_link_set_handshake_pool(TrLink *link, TrHandshakePool *pool)
{
	tr_ctrl_set_handshake_pool(link->ctrl, pool);
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
	link_liveness_stop(link);
	tr_ctrl_abort(link->ctrl);
	tr_ctrl_unref(link->ctrl);
	if (link->dp_session)
		tr_dataplane_remove_session(link->dp, link->dp_session); /* frees the TrDc */
	g_free(link);
}

static void
on_dp_event(TrDpSession *session, unsigned events, gpointer p)
{
	TrLink *link = p;

	if (link->closing)
		return;
	if (events & TR_DP_EVENT_ROAMED)
		link_path_roamed(link);
	if (events & TR_DP_EVENT_TOO_BIG)
		link_pmtu_too_big(link);
	if (events & TR_DP_EVENT_UDP_HEARD)
		link_path_udp_heard(link);
	if ((events & TR_DP_EVENT_FORWARDED) && link->cb.forwarded) {
		TrDpForward to[TR_DP_FORWARD_TARGETS];
		unsigned n = tr_dp_session_forwarded_take(session, to);

		for (unsigned i = 0; i < n && !link->closing; i++)
			link->cb.forwarded(link, to[i].to,
			                   to[i].dst.family != TR_ADDR_NONE ? &to[i].dst : NULL,
			                   link->user_data);
	}
	if (events & TR_DP_EVENT_CLOSED) {
		g_message("%s: peer closed the session", tr_link_peer(link));
		tr_link_close(link, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN, NULL);
	}
}

static void
on_dp_tcp_send(TrDpSession *peer, const uint8_t *data, size_t len, gpointer p)
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
	if (link->dp_session)
		tr_dataplane_set_session_id(link->dp, link->dp_session, id);
}

void
tr_link_leave_dataplane(TrLink *link)
{
	if (link->dp_session == NULL)
		return;
	link_liveness_stop(link);
	tr_dataplane_remove_session(link->dp, link->dp_session); /* frees the TrDc */
	link->dp_session = NULL;
	link->dc = NULL;
	link->dp = NULL;
	link->tx_path = TR_PATH_NONE;
}

gboolean
tr_link_activate(TrLink *link, const TrDcConfig *dc_config, const TrLinkTiming *timing,
                 const struct sockaddr *endpoint, socklen_t endpoint_len, GError **error)
{
	static const TrDpSessionCallbacks dp_callbacks = {
	        .event = on_dp_event,
	        .tcp_send = on_dp_tcp_send,
	};
	TrDcConfig dcc = *dc_config;

	g_return_val_if_fail(link->dc == NULL, FALSE);
	g_return_val_if_fail(link->dp != NULL, FALSE);

	/* Every worker sends on its lane, the control plane on the last. */
	dcc.lanes = tr_dataplane_config(link->dp)->n_workers + 1;
	dcc.defer_activation = TRUE;
	dcc.last_lane_on_demand = TRUE; /* TR_DP_CONTROL_LANE: this thread's, rarely used */
	link->dc = tr_dc_new(&dcc, error);
	if (link->dc == NULL)
		return FALSE;
	if (!link_install_epoch(link, 0, error)) {
		g_clear_pointer(&link->dc, tr_dc_free);
		return FALSE;
	}
	link->timing = *timing;
	if (link->timing.keepalive_sec == 0)
		link->timing.keepalive_sec = 10;
	if (link->timing.peer_timeout_sec == 0)
		link->timing.peer_timeout_sec = 60;
	link->dp_session = tr_dataplane_add_session(link->dp, link->dc, link->forward_id, endpoint,
	                                            endpoint_len, &dp_callbacks, link);
	link_sync_endpoint(link);
	link->last_rx = g_get_monotonic_time();
	link->last_ctrl_tx = link->last_rx;
	link->established = g_get_real_time() / G_USEC_PER_SEC;
	link_set_tx_path(link);
	link_liveness_start(link);
	/* Probe right away so UDP takes over within a round trip. */
	if (link->timing.udp_enabled && link->endpoint_len > 0) {
		link_send_ping(link);
		link->last_ping_tx = g_get_monotonic_time();
		link_pmtu_tick(link, link->last_ping_tx);
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
	link_liveness_stop(link);
	/* A refusal travels over TLS only, with its reason; a plain goodbye
	 * also goes over UDP in case the TLS stream is stuck. */
	link_sync_endpoint(link);
	if (type == TR_MSG_CLOSE && link->dp_session && link->endpoint_len > 0 &&
	    link->timing.udp_enabled)
		tr_dp_session_send_control(link->dp, link->dp_session, TR_DC_CLOSE, NULL, 0);
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

TrDpSession *
tr_link_get_dp_session(TrLink *link)
{
	return link->dp_session;
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

	link_sync_endpoint(link);
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
	if (link->dp_session)
		tr_json_key_uint(out, first, "peer_mtu",
		                 tr_dp_session_mtu(link->dp, link->dp_session));
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
