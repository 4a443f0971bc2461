/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where a link's data goes: each side tells the other, with PATH, whether
 * it hears it over UDP; data goes over UDP when the peer said so, else over
 * the TLS stream. UDP is probed with data-channel PINGs (answered with
 * PONGs by the peer's data plane) whenever it has been quiet for half the
 * keepalive interval, so a UDP path that stops working falls back to TLS
 * within keepalive + 2 s, and returns when it works again. Roaming: the
 * data plane moves the endpoint on an authenticated datagram from a new
 * address; the link logs it and chooses the path again.
 */
#include "common/link/private.h"

#include "common/base/addr.h"
#include "common/base/log.h"

#include <gnutls/crypto.h>
#include <string.h>

void
link_sync_endpoint(TrLink *link)
{
	struct sockaddr_storage ep;
	socklen_t len;

	if (link->dp_session == NULL)
		return;
	len = tr_dp_session_endpoint(link->dp_session, &ep);
	link->endpoint_len = len > 0 && (size_t)len <= sizeof(link->endpoint) ? len : 0;
	memcpy(&link->endpoint, &ep, (size_t)link->endpoint_len);
}

void
link_set_tx_path(TrLink *link)
{
	TrPath path = TR_PATH_TCP;

	link_sync_endpoint(link);
	if (link->timing.udp_enabled && link->peer_hears_udp && link->endpoint_len > 0)
		path = TR_PATH_UDP;
	if (link->dp_session)
		tr_dp_session_set_path(link->dp_session, path);
	if (path == link->tx_path)
		return;
	link->tx_path = path;
	link->stats.udp_path_changes++;
	if (link->cb.path_changed)
		link->cb.path_changed(link, path, link->user_data);
}

static void
tell_path(TrLink *link, gboolean hear_udp)
{
	g_auto(TrMsg) msg = {0};

	link->we_hear_udp = hear_udp;
	tr_msg_init(&msg, TR_MSG_PATH);
	tr_msg_set_u8(&msg, TR_ATTR_PATH, hear_udp ? 0 : 1);
	tr_link_send_msg(link, &msg, NULL);
}

void
link_send_ping(TrLink *link)
{
	uint8_t salt[SALT_LEN];

	gnutls_rnd(GNUTLS_RND_NONCE, salt, SALT_LEN);
	tr_dp_session_send_control(link->dp, link->dp_session, TR_DC_PING, salt, SALT_LEN);
}

void
link_path_message(TrLink *link, const TrMsg *msg)
{
	if (tr_msg_has(msg, TR_ATTR_PATH)) {
		link->peer_hears_udp = msg->path == 0;
		link_set_tx_path(link);
	}
}

void
link_path_tick(TrLink *link, gint64 now)
{
	gint64 ka = (gint64)link->timing.keepalive_sec * G_USEC_PER_SEC;
	gboolean hear = link->last_udp_rx > 0 && now - link->last_udp_rx < ka + 2 * G_USEC_PER_SEC;

	if (now - link->last_udp_rx >= ka / 2 && now - link->last_ping_tx >= G_USEC_PER_SEC &&
	    link->endpoint_len > 0) {
		link_send_ping(link);
		link->last_ping_tx = now;
		link->stats.udp_probes_sent++;
	}
	if (hear != link->we_hear_udp) {
		g_message("%s: UDP from the peer %s", tr_link_peer(link),
		          hear ? "works" : "stopped; asking for data over TLS");
		tell_path(link, hear);
	}
}

void
link_path_roamed(TrLink *link)
{
	char a[80], b[80];
	LinkEndpoint old = link->endpoint;
	socklen_t old_len = link->endpoint_len;

	link_sync_endpoint(link);
	if (old_len > 0) {
		g_message("%s: endpoint moved from %s to %s", tr_link_peer(link),
		          tr_sockaddr_to_string((struct sockaddr *)&old, a, sizeof(a)),
		          tr_sockaddr_to_string((struct sockaddr *)&link->endpoint, b, sizeof(b)));
		link->stats.roams++;
	}
	link_set_tx_path(link);
	link_pmtu_path_changed(link);
	if (old_len > 0 && link->cb.roamed)
		link->cb.roamed(link, link->user_data);
}

void
link_path_udp_heard(TrLink *link)
{
	link->last_udp_rx = MAX(link->last_udp_rx, tr_dp_session_last_udp_rx(link->dp_session));
	link->last_rx = MAX(link->last_rx, link->last_udp_rx);
	if (!link->we_hear_udp && link->timing.udp_enabled) {
		if (tr_log_enabled(G_LOG_LEVEL_MESSAGE))
			g_message("%s: UDP from the peer works", tr_link_peer(link));
		tell_path(link, TRUE);
	}
}
