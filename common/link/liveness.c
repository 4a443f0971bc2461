/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A link's liveness and its timer: every 250 ms the link looks at the time
 * since it last heard the peer (anything over TLS, authenticated UDP) and
 * drops a peer silent for the peer timeout; it sends a control-channel PING
 * when it has sent nothing for the keepalive interval, and runs the path,
 * path MTU and key housekeeping.
 *
 * One timer serves every link of the process, a wheel of TICK_SLOTS slots
 * turning one slot every TICK_MS: a link ticks every TICK_SLOTS * TICK_MS =
 * 250 ms, and the main loop holds one timer source however many sessions
 * there are (with one each, GLib's every iteration walked them all). Links
 * live on the main context, as their timers always did.
 */
#include "common/link/private.h"

#include <gnutls/crypto.h>
#include <string.h>

static gboolean
on_tick(gpointer user_data)
{
	TrLink *link = user_data;
	gint64 now = g_get_monotonic_time();
	gint64 ka = (gint64)link->timing.keepalive_sec * G_USEC_PER_SEC;

	if (link->dc == NULL || link->closing)
		return G_SOURCE_CONTINUE;
	link->last_udp_rx = MAX(link->last_udp_rx, tr_dp_session_last_udp_rx(link->dp_session));
	link->last_rx = MAX(link->last_rx, link->last_udp_rx);

	if (now - link->last_rx > (gint64)link->timing.peer_timeout_sec * G_USEC_PER_SEC) {
		g_message("%s: no sign of life for %u s, dropping the session", tr_link_peer(link),
		          link->timing.peer_timeout_sec);
		tr_link_close(link, TR_MSG_CLOSE, TR_REFUSE_TIMEOUT, "peer timed out");
		return G_SOURCE_CONTINUE;
	}
	if (link->timing.udp_enabled) {
		link_path_tick(link, now);
		link_pmtu_tick(link, now);
	}
	if (now - link->last_ctrl_tx >= ka) {
		g_auto(TrMsg) ping = {0};
		uint8_t salt[SALT_LEN];

		tr_msg_init(&ping, TR_MSG_PING);
		gnutls_rnd(GNUTLS_RND_NONCE, salt, sizeof(salt));
		tr_msg_set_salt(&ping, salt, sizeof(salt));
		if (tr_link_send_msg(link, &ping, NULL)) {
			G_STATIC_ASSERT(sizeof(link->ping_salt) <= sizeof(salt));
			memcpy(link->ping_salt, salt, sizeof(link->ping_salt));
			link->ping_tx = now;
		}
	}
	link_keys_tick(link, now);
	return G_SOURCE_CONTINUE;
}

#define TICK_SLOTS 25
#define TICK_MS    10

static struct {
	TrLink *slots[TICK_SLOTS];
	guint next_slot; /* the next slot turned */
	guint new_slot;  /* where the next link goes: links spread over the slots */
	guint links;
	guint source;
	TrLink *cursor; /* the next link of the slot being turned */
} wheel;

static gboolean
on_wheel(gpointer user_data)
{
	guint slot = wheel.next_slot;

	(void)user_data;
	wheel.next_slot = (slot + 1) % TICK_SLOTS;
	/* A tick may take links off the wheel (its own or others'): the cursor moves
	 * past a link that leaves. */
	for (TrLink *link = wheel.slots[slot]; link; link = wheel.cursor) {
		wheel.cursor = link->tick_next;
		on_tick(link);
	}
	wheel.cursor = NULL;
	return G_SOURCE_CONTINUE;
}

void
link_liveness_start(TrLink *link)
{
	if (link->ticking)
		return;
	link->ticking = TRUE;
	link->tick_slot = wheel.new_slot;
	wheel.new_slot = (wheel.new_slot + 1) % TICK_SLOTS;
	link->tick_prev = NULL;
	link->tick_next = wheel.slots[link->tick_slot];
	if (link->tick_next)
		link->tick_next->tick_prev = link;
	wheel.slots[link->tick_slot] = link;
	if (wheel.links++ == 0)
		wheel.source = g_timeout_add(TICK_MS, on_wheel, NULL);
}

void
link_liveness_stop(TrLink *link)
{
	g_clear_handle_id(&link->pmtu_timer, g_source_remove);
	if (!link->ticking)
		return;
	link->ticking = FALSE;
	if (wheel.cursor == link)
		wheel.cursor = link->tick_next;
	if (link->tick_prev)
		link->tick_prev->tick_next = link->tick_next;
	else
		wheel.slots[link->tick_slot] = link->tick_next;
	if (link->tick_next)
		link->tick_next->tick_prev = link->tick_prev;
	link->tick_prev = link->tick_next = NULL;
	if (--wheel.links == 0)
		g_clear_handle_id(&wheel.source, g_source_remove);
}

void
link_liveness_pong(TrLink *link, const TrMsg *msg)
{
	gint64 rtt;

	if (link->ping_tx == 0 || msg->salt_len < sizeof(link->ping_salt) ||
	    memcmp(msg->salt, link->ping_salt, sizeof(link->ping_salt)) != 0)
		return;
	rtt = MAX(g_get_monotonic_time() - link->ping_tx, 1);
	link->ping_tx = 0;
	rtt = MIN(rtt, (gint64)G_MAXUINT32);
	/* Smoothed as TCP's SRTT: 7/8 of the old, 1/8 of the new. */
	link->rtt_us = link->rtt_us ? (guint32)(((guint64)link->rtt_us * 7 + (guint64)rtt) / 8)
	                            : (guint32)rtt;
}

guint32
tr_link_get_rtt(TrLink *link)
{
	return link->rtt_us;
}

void
link_liveness_ping(TrLink *link, const TrMsg *msg)
{
	g_auto(TrMsg) pong = {0};

	tr_msg_init(&pong, TR_MSG_PONG);
	if (msg->salt_len)
		tr_msg_set_salt(&pong, msg->salt, msg->salt_len);
	tr_link_send_msg(link, &pong, NULL);
}
