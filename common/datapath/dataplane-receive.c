/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Receiving: datagrams from the socket (UDP GRO runs split), or handed over
 * by another worker or from the TLS stream, are opened by the worker that
 * owns their session (one writer per replay window), which notes roaming
 * and answers probes; packets go to the device through the coalescer, which
 * merges a TCP flow's segments into super-packets, or on to another session.
 */
#include "common/datapath/dataplane-private.h"

#include "common/datapath/mangle.h"
#include "common/datapath/offload.h"

#include <errno.h>
#include <string.h>

static void
pool_put(Worker *w, TrPacket *pkt)
{
	w->pool[w->n_free++] = pkt;
}

void
dp_dev_write(Worker *w, TrPacket *pkt, const TrGso *gso)
{
	TrDataplane *dp = w->dp;

	/* A packet left for the device to checksum, and a device that cannot: done here. */
	if (gso && gso->type == TR_GSO_NONE && gso->needs_csum &&
	    !(tr_device_offloads(dp->cfg.dev) & TR_OFFLOAD_CSUM)) {
		if (tr_gso_complete_csum(gso, tr_packet_data(pkt), pkt->len) < 0) {
			WSTAT(w, dev_drops, 1);
			return;
		}
		gso = NULL;
	}
	if (tr_device_write_gso(dp->cfg.dev, w->index, gso, tr_packet_data(pkt), pkt->len) < 0)
		WSTAT(w, dev_drops, 1);
	else
		WSTAT(w, dev_writes, 1);
}

void
dp_flush_dev(Worker *w)
{
	TrGro *gro = &w->gro;

	if (gro->n == 0)
		return;
	tr_gro_finish(gro);
	for (unsigned i = 0; i < gro->n; i++) {
		TrGroItem *it = &gro->items[i];
		if (it->gso.type != TR_GSO_NONE)
			WSTAT(w, dev_coalesced, 1);
		dp_dev_write(w, it->pkt,
		             it->gso.type != TR_GSO_NONE || it->gso.needs_csum ? &it->gso : NULL);
		pool_put(w, it->pkt);
	}
	tr_gro_reset(gro);
}

static TrPacket *
pool_get(Worker *w)
{
	if (w->n_free == 0)
		dp_flush_dev(w);
	g_assert(w->n_free > 0);
	return w->pool[--w->n_free];
}

/* A packet for the device: into the coalescer (which keeps or merges it). */
static void
stage_dev(Worker *w, TrPacket *pkt)
{
	if (w->gro.n == TR_GRO_MAX)
		dp_flush_dev(w);
	if (tr_gro_add(&w->gro, pkt))
		pool_put(w, pkt);
}

/* @session's packet went to the session of forwarding id @to: tell the control plane
 * (TR_DP_EVENT_FORWARDED), once per target and TR_DP_FORWARD_NOTE_USEC. A few relaxed
 * loads per packet otherwise. */
static void
note_forward(Worker *w, TrDpSession *session, const TrFwdResult *res, const uint8_t *data)
{
	TrDpSession *target = dp_table_session(w->table, res->peer);
	const TrFrameInfo *info = &res->info;
	TrPrefix dst, *d = NULL;

	/* To a hub link: whom behind it (the IP destination; tr_frame_parse checked the
	 * header is there). */
	if (target && atomic_load_explicit(&target->transit, memory_order_relaxed) &&
	    (info->ip_version == 4 || info->ip_version == 6)) {
		memset(&dst, 0, sizeof(dst));
		dst.family = info->ip_version == 4 ? TR_ADDR_IPV4 : TR_ADDR_IPV6;
		dst.len = info->ip_version == 4 ? 32 : 128;
		memcpy(dst.addr, data + info->l3_off + (info->ip_version == 4 ? 16 : 24),
		       info->ip_version == 4 ? 4 : 16);
		d = &dst;
	}
	if (dp_fwd_note(&session->fwd, res->peer, d, w->now))
		dp_session_raise(session, TR_DP_EVENT_FORWARDED);
}

/* Whether a client's pair session may write this packet to the device (counted if not). */
static gboolean
pair_may_deliver(Worker *w, TrDpSession *session, const uint8_t *data, size_t len)
{
	const Table *t = w->table;
	TrFwdResult res;

	if (t->fwd == NULL) {
		WSTAT_FWD_DROP(w, TR_FWD_DROP_NO_ROUTE, 1);
		return FALSE;
	}
	switch (tr_fwd_decide_memo(t->fwd->fwd, &w->rx_memo, data, len, session->id, w->now,
	                           &res)) {
	case TR_FWD_DROP:
		if (res.drop == TR_FWD_DROP_NO_ROUTE) /* to us: our addresses are not in it */
			return TRUE;
		WSTAT_FWD_DROP(w, res.drop, 1);
		return FALSE;
	case TR_FWD_LOCAL: /* switch (tap): to a MAC of ours; its source MAC was learnt */
		return TRUE;
	case TR_FWD_FLOOD: /* switch: unicast to a MAC not learnt is ours (the device is our only
	                    * port); broadcast and multicast stay on the hub */
		if (!(data[0] & 1))
			return TRUE;
		WSTAT_FWD_DROP(w, TR_FWD_DROP_MULTICAST, 1);
		return FALSE;
	default: /* to another pair: a client forwards nothing */
		WSTAT_FWD_DROP(w, TR_FWD_DROP_INGRESS, 1);
		return FALSE;
	}
}

#define TCP_FLAG_SYN 0x02u

/* Computes the checksum of a segment that came with it partial (shape checked). */
static void
csum_finish(TrPacket *pkt)
{
	(void)tr_csum_partial_finish(tr_packet_data(pkt), pkt->len);
	pkt->flags &= ~(uint32_t)TR_PACKET_CSUM_PARTIAL;
}

/* A packet a session sent (in @pkt, which this function consumes). */
static void
from_session(Worker *w, TrDpSession *session, TrPacket *pkt)
{
	TrDataplane *dp = w->dp;
	const Table *t = w->table;
	uint8_t *data = tr_packet_data(pkt);
	TrFwdResult res;

	/*
	 * A TCP segment its sender left with a partial checksum: of the shape that
	 * promises (or dropped), its field set to the pseudo-header sum whatever the
	 * peer put there, so the device (or the next peer) completes a checksum that
	 * is right. A SYN (its MSS may be clamped below): computed now.
	 */
	if (pkt->flags & TR_PACKET_CSUM_PARTIAL) {
		unsigned iphl;

		if (dp->cfg.frame != TR_FRAME_IP ||
		    tr_csum_partial_prepare(data, pkt->len, &iphl) < 0) {
			WSTAT(w, rx_drops, 1);
			pool_put(w, pkt);
			return;
		}
		if (data[iphl + 13] & TCP_FLAG_SYN)
			csum_finish(pkt);
	}
	if (!dp->cfg.hub) {
		/* A client's pair (forwarding id > 1) may only send from its peer's addresses,
		 * only to us: nothing for the hub session or another pair, no multicast. */
		if (session->id > 1 && !pair_may_deliver(w, session, data, pkt->len)) {
			pool_put(w, pkt);
			return;
		}
		/* tap: the hub session's frames from a pair's peer teach its MAC to the pair. */
		if (session->id == 1 && t->fwd)
			(void)tr_fwd_learn_by_source(t->fwd->fwd, data, pkt->len, w->now);
		/* The answer to a SYN sized for this session's path too (the MSS is clamped both
		 * ways). */
		tr_mangle_clamp_mss(data, pkt->len, dp->cfg.frame, dp_session_mtu(dp, session));
		stage_dev(w, pkt);
		return;
	}
	if (session->id == 0 || t->fwd == NULL || dp_too_big(w, session, data, pkt->len)) {
		pool_put(w, pkt);
		return;
	}
	tr_mangle_clamp_mss(data, pkt->len, dp->cfg.frame, dp_session_mtu(dp, session));
	switch (tr_fwd_decide_memo(t->fwd->fwd, &w->rx_memo, data, pkt->len, session->id, w->now,
	                           &res)) {
	case TR_FWD_LOCAL:
		stage_dev(w, pkt);
		return;
	case TR_FWD_PEER:
		if (dp->cfg.client_to_client) {
			if (dp->cfg.note_forwarding && res.peer != session->id)
				note_forward(w, session, &res, data);
			dp_to_session(w, session, dp_table_session(t, res.peer), data, pkt->len,
			              pkt->flags & TR_PACKET_CSUM_PARTIAL);
		} else
			WSTAT_FWD_DROP(w, TR_FWD_DROP_NO_ROUTE, 1);
		break;
	case TR_FWD_FLOOD:
		/* Rare for a TCP segment: completed once, for every receiver. */
		if (pkt->flags & TR_PACKET_CSUM_PARTIAL)
			csum_finish(pkt);
		if (dp->cfg.client_to_client)
			dp_flood(w, session, &res, data, pkt->len, 0);
		if (res.flood_local) {
			stage_dev(w, pkt);
			return;
		}
		break;
	case TR_FWD_DROP:
		WSTAT_FWD_DROP(w, res.drop, 1);
		break;
	}
	pool_put(w, pkt);
}

/*
 * Queues a sealed datagram for the worker that owns @session (from another
 * worker, or from the TLS stream when @from is NULL) and wakes it. The slow
 * path: a lock and an allocation. FALSE when its inbox is full.
 */
gboolean
dp_inbox_push(TrDataplane *dp, TrDpSession *session, const uint8_t *data, size_t len,
              const struct sockaddr *from, socklen_t from_len)
{
	Worker *owner = &dp->workers[session->owner];
	InboxItem *item;

	pthread_mutex_lock(&owner->inbox_lock);
	if (owner->inbox.length >= INBOX_MAX) {
		pthread_mutex_unlock(&owner->inbox_lock);
		return FALSE;
	}
	item = g_malloc(sizeof(*item) + len);
	item->session = dp_session_ref(session);
	item->tls = from == NULL;
	item->from_len = from && (size_t)from_len <= sizeof(item->from) ? from_len : 0;
	if (item->from_len)
		memcpy(&item->from, from, item->from_len);
	item->len = (guint)len;
	memcpy(item->data, data, len);
	g_queue_push_tail(&owner->inbox, item);
	pthread_mutex_unlock(&owner->inbox_lock);
	tr_wakeup_signal(&owner->wake);
	return TRUE;
}

/* An authenticated datagram from @session over UDP from @from. */
static void
heard(Worker *w, TrDpSession *session, const struct sockaddr *from, socklen_t from_len)
{
	gint64 last = atomic_load_explicit(&session->last_udp_rx, memory_order_relaxed);
	struct sockaddr_storage ep;
	socklen_t ep_len;

	/* A store per 50 ms is plenty for liveness, and keeps the line quiet. */
	if (w->now - last >= 50000) {
		atomic_store_explicit(&session->last_udp_rx, w->now, memory_order_relaxed);
		if (last == 0 || w->now - last >= G_USEC_PER_SEC)
			dp_session_raise(session, TR_DP_EVENT_UDP_HEARD);
	}
	ep_len = dp_endpoint_read(session, &ep);
	if ((size_t)from_len <= sizeof(session->ep_words) &&
	    (ep_len != from_len || memcmp(&ep, from, from_len) != 0)) {
		if (atomic_load_explicit(&session->pinned, memory_order_relaxed)) {
			/* Its control plane chooses the endpoint: tell it, ten times a second. */
			if (w->now - atomic_load_explicit(&session->foreign_at,
			                                  memory_order_relaxed) >=
			    100000) {
				atomic_store_explicit(&session->foreign_at, w->now,
				                      memory_order_relaxed);
				dp_session_note(session, FALSE, NULL, from, from_len, w->now);
			}
			return;
		}
		dp_endpoint_write(session, from, from_len);
		dp_session_raise(session, TR_DP_EVENT_ROAMED);
	}
}

/* Keeps the largest length acknowledged in the latest round. */
static void
probe_acked(TrDpSession *session, uint32_t round, unsigned len)
{
	uint64_t want = (uint64_t)round << 32 | len;
	uint64_t cur = atomic_load_explicit(&session->probe_ack, memory_order_relaxed);

	do {
		uint32_t cur_round = (uint32_t)(cur >> 32);

		/* rounds only grow (a wrap after 2^32 rounds is harmless: one round lost) */
		if (cur_round > round || (cur_round == round && (uint32_t)cur >= len))
			return;
	} while (!atomic_compare_exchange_weak_explicit(
	        &session->probe_ack, &cur, want, memory_order_relaxed, memory_order_relaxed));
}

/*
 * A bulk packet that waited @sojourn us in the socket's receive queue (-1: not known):
 * whether it goes on. While the queue stands above the target, CoDel asks for a signal
 * now and then: ECN CE on a packet whose transport understands it, else a drop.
 */
static gboolean
pass_queue(Worker *w, TrPacket *pkt, int64_t sojourn)
{
	if (sojourn < 0 || pkt->len < CODEL_MIN_LEN ||
	    !tr_codel_signal(&w->codel, sojourn, w->rx_now))
		return TRUE;
	if (tr_mangle_mark_ce(tr_packet_data(pkt), pkt->len, w->dp->cfg.frame)) {
		WSTAT(w, rx_ce_marks, 1);
		return TRUE;
	}
	WSTAT(w, rx_queue_drops, 1);
	return FALSE;
}

/* One sealed datagram for @session (owned by this worker), that waited @sojourn us in the
 * socket (-1: not known, or not from the socket). */
static void
open_datagram(Worker *w, TrDpSession *session, uint8_t *wire, size_t len,
              const struct sockaddr *from, socklen_t from_len, int64_t sojourn)
{
	TrPacket *pkt = pool_get(w);
	TrDcType type;

	if (tr_dc_open(session->dc, w->scratch, wire, len, pkt, &type, w->now) < 0) {
		WSTAT(w, rx_drops, 1);
		pool_put(w, pkt);
		return;
	}
	if (from)
		heard(w, session, from, from_len);
	switch (type) {
	case TR_DC_DATA:
		if (!pass_queue(w, pkt, sojourn))
			break;
		from_session(w, session, pkt);
		return;
	case TR_DC_PING:
		if (from) /* to where it came from (a probe of one of our candidates) */
			dp_send_control(session, from, from_len, w->index, w->udp_fd, TR_DC_PONG,
			                tr_packet_data(pkt), pkt->len, w->now);
		break;
	case TR_DC_PONG:
		/* The answer to a probe: for the control plane that chose where it went. */
		if (from && pkt->len >= 4 &&
		    atomic_load_explicit(&session->pinned, memory_order_relaxed))
			dp_session_note(session, TRUE, tr_packet_data(pkt), from, from_len, w->now);
		break;
	case TR_DC_CLOSE:
		dp_session_raise(session, TR_DP_EVENT_CLOSED);
		break;
	case TR_DC_PROBE:
		/* The answer says how long the probe was when it arrived, in a short datagram. */
		if (from && pkt->len >= 4) {
			uint8_t ack[6];

			memcpy(ack, tr_packet_data(pkt), 4);
			tr_store_be16(ack + 4, (uint16_t)MIN(len, UINT16_MAX));
			dp_send_control(session, NULL, 0, w->index, w->udp_fd, TR_DC_PROBE_ACK, ack,
			                sizeof(ack), w->now);
		}
		break;
	case TR_DC_PROBE_ACK:
		if (pkt->len >= 6)
			probe_acked(session, tr_load_be32(tr_packet_data(pkt)),
			            tr_load_be16(tr_packet_data(pkt) + 4));
		break;
	}
	pool_put(w, pkt);
}

static void
rx_datagram(Worker *w, uint8_t *wire, size_t len, const struct sockaddr *from, socklen_t from_len,
            int64_t sojourn)
{
	TrDcHeader h;
	TrDpSession *session;

	WSTAT(w, rx_datagrams, 1);
	if (len > TR_DP_RELAY_HEADER_LEN && wire[4] == TR_DP_RELAY_TYPE) {
		if (w->dp->cfg.hub) {
			dp_relay_to_main(w, wire, len, from, from_len);
			return;
		}
		/* A pair's datagram the hub relayed: no endpoint of the peer's. */
		wire += TR_DP_RELAY_HEADER_LEN;
		len -= TR_DP_RELAY_HEADER_LEN;
		from = NULL;
		from_len = 0;
	}
	if (tr_dc_peek(&w->dp->cfg.magic, wire, len, &h) < 0) {
		WSTAT(w, rx_drops, 1);
		return;
	}
	session = dp_table_lookup(w->table, h.receiver_index);
	if (session == NULL) {
		WSTAT(w, rx_drops, 1);
		return;
	}
	if (session->owner != w->index) {
		if (dp_inbox_push(w->dp, session, wire, len, from, from_len))
			WSTAT(w, handoffs, 1);
		else
			WSTAT(w, rx_drops, 1);
		return;
	}
	open_datagram(w, session, wire, len, from, from_len, sojourn);
}

void
dp_do_udp(Worker *w)
{
	unsigned budget = w->dp->cfg.batch;
	size_t bytes = 0;

	while (budget > 0 && bytes < TURN_BYTES) {
		unsigned want = MIN(budget, RX_MSGS);
		int n = tr_udp_recv_batch(w->udp_fd, w->rx_msgs, want);
		gint64 real_now;
		gboolean nearly_empty;
		size_t got = 0;

		if (n <= 0)
			break;
		WSTAT(w, rx_batches, 1);
		real_now = g_get_real_time();
		w->rx_now = g_get_monotonic_time();
		for (int i = 0; i < n; i++)
			got += w->rx_msgs[i].len;
		/* This read emptied the socket, and there was little in it: what these waited
		 * was the worker's wakeup, not a queue (RFC 8289: no signal when less than a
		 * packet stays behind). */
		nearly_empty = (unsigned)n < want && got <= CODEL_EMPTY_BYTES;
		for (int i = 0; i < n; i++) {
			TrUdpMsg *m = &w->rx_msgs[i];
			size_t seg = m->segment ? m->segment : m->len;
			/* a clock step makes it negative (not known) or large for a moment */
			int64_t sojourn = m->rx_usec <= 0 ? -1
			                  : nearly_empty  ? 0
			                                  : real_now - m->rx_usec;

			if (m->segment)
				WSTAT(w, rx_gro_runs, 1);
			bytes += m->len;
			for (size_t off = 0; off < m->len; off += seg)
				rx_datagram(w, m->data + off, MIN(seg, m->len - off),
				            (struct sockaddr *)&m->addr, m->addr_len, sojourn);
			m->len = 0;
		}
		budget -= MIN(budget, (unsigned)n);
	}
}

void
dp_do_inbox(Worker *w)
{
	GQueue q = G_QUEUE_INIT;
	InboxItem *item;

	pthread_mutex_lock(&w->inbox_lock);
	q = w->inbox;
	g_queue_init(&w->inbox);
	pthread_mutex_unlock(&w->inbox_lock);
	while ((item = g_queue_pop_head(&q)) != NULL) {
		/* Only while the session is still in the table: it may have gone meanwhile. */
		if (dp_table_lookup(w->table, item->session->rx_index) == item->session)
			open_datagram(w, item->session, item->data, item->len,
			              item->tls ? NULL : (struct sockaddr *)&item->from,
			              item->from_len, -1);
		dp_session_unref(item->session);
		g_free(item);
	}
}
