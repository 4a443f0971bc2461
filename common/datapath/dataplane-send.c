/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sending: what the device gives (its TSO super-packets cut into segments)
 * is routed to a session, sized to its path (MSS clamping, "packet too
 * big"), and sealed into the worker's arena datagram after datagram, so that
 * runs to one session go out as one UDP_SEGMENT message when the batch is
 * flushed. Data for a session on the TLS path goes to the control plane.
 */
#include "common/datapath/dataplane-private.h"

#include "common/datapath/mangle.h"
#include "common/datapath/offload.h"

#include <errno.h>
#include <string.h>

/* Data for a session whose path is the TLS stream: the slow path, through the main loop. */
static void
dp_to_outbox(Worker *w, TrDpSession *session, const uint8_t *data, size_t len)
{
	TrDataplane *dp = w->dp;
	OutItem *item;

	pthread_mutex_lock(&dp->outbox_lock);
	if (dp->outbox.length >= OUTBOX_MAX) {
		dp->outbox_drops++;
		pthread_mutex_unlock(&dp->outbox_lock);
		WSTAT(w, tx_drops, 1);
		return;
	}
	item = g_malloc(sizeof(*item) + len);
	item->session = dp_session_ref(session);
	item->len = (guint)len;
	memcpy(item->data, data, len);
	g_queue_push_tail(&dp->outbox, item);
	pthread_mutex_unlock(&dp->outbox_lock);
	dp_signal_main(dp);
}

void
dp_relay_to_main(Worker *w, const uint8_t *data, size_t len, const struct sockaddr *from,
                 socklen_t from_len)
{
	TrDataplane *dp = w->dp;
	OutItem *item;

	if (dp->cfg.relay == NULL || (size_t)from_len > sizeof(item->from)) {
		WSTAT(w, rx_drops, 1);
		return;
	}
	pthread_mutex_lock(&dp->outbox_lock);
	if (dp->outbox.length >= OUTBOX_MAX) {
		dp->outbox_drops++;
		pthread_mutex_unlock(&dp->outbox_lock);
		WSTAT(w, rx_drops, 1);
		return;
	}
	item = g_malloc(sizeof(*item) + len);
	item->session = NULL;
	memcpy(&item->from, from, from_len);
	item->from_len = from_len;
	item->len = (guint)len;
	memcpy(item->data, data, len);
	g_queue_push_tail(&dp->outbox, item);
	pthread_mutex_unlock(&dp->outbox_lock);
	dp_signal_main(dp);
}

/*
 * Sends the messages of a flush (@sessions[i]: whom msgs[i] goes to). A path
 * that refuses a size (a run's segment size, or a datagram larger than the
 * path MTU the kernel learnt from ICMP) is reported to the control plane,
 * which searches the path MTU again; the session's runs go one by one until then.
 */
static void
send_msgs(Worker *w, TrUdpMsg *msgs, TrDpSession **sessions, unsigned n)
{
	unsigned done = 0;
	int waits = 0;

	while (done < n) {
		int r = tr_udp_send_batch(w->udp_fd, msgs + done, n - done);

		for (int i = 0; i < r; i++) {
			if (msgs[done + (unsigned)i].flags & TR_UDP_MSG_SPLIT) {
				TrDpSession *session = sessions[done + (unsigned)i];

				WSTAT(w, tx_gso_split, 1);
				if (!atomic_exchange_explicit(&session->split, true,
				                              memory_order_relaxed))
					dp_session_raise(session, TR_DP_EVENT_TOO_BIG);
			}
		}
		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (r == -EMSGSIZE) {
			WSTAT(w, tx_too_big, 1);
			dp_session_raise(sessions[done], TR_DP_EVENT_TOO_BIG);
		}
		if (r == -EAGAIN && waits < 3) {
			/* Socket buffer full: give the kernel a moment, then drop as a network
			 * would. */
			tr_sock_wait_writable(w->udp_fd, SEND_WAIT_MS);
			waits++;
			continue;
		}
		/* Skip the message that failed. */
		WSTAT(w, tx_drops,
		      msgs[done].segment
		              ? (msgs[done].len + msgs[done].segment - 1) / msgs[done].segment
		              : 1);
		done++;
	}
}

/* Sends the sealed datagrams of the arena, runs to one session as one message. */
void
dp_flush_tx(Worker *w)
{
	TrDataplane *dp = w->dp;
	unsigned m = 0, i = 0;
	TrDpSession *last = NULL;
	struct sockaddr_storage ep;
	socklen_t ep_len = 0;

	while (i < w->n_tx) {
		TxItem *it = &w->tx[i];
		TrDpSession *session = it->session;
		unsigned j = i + 1;
		size_t total = it->len;
		TrUdpMsg *msg;

		if (it->tls ||
		    atomic_load_explicit(&session->path, memory_order_relaxed) != TR_PATH_UDP) {
			if (it->tls || atomic_load_explicit(&session->path, memory_order_relaxed) ==
			                       TR_PATH_TCP)
				dp_to_outbox(w, session, w->arena + it->off, it->len);
			else
				WSTAT(w, tx_drops, 1);
			i++;
			continue;
		}
		if (session != last) {
			ep_len = dp_endpoint_read(session, &ep);
			last = session;
		}
		if (ep_len == 0) {
			WSTAT(w, tx_drops, 1);
			i++;
			continue;
		}
		/* A run: same session, equal sizes (the last may be shorter), back to back. */
		if (dp->cfg.udp_gso &&
		    !atomic_load_explicit(&session->split, memory_order_relaxed)) {
			while (j < w->n_tx && w->tx[j].session == session && !w->tx[j].tls &&
			       w->tx[j].len <= it->len &&
			       w->tx[j].off == w->tx[j - 1].off + w->tx[j - 1].len &&
			       j - i < GSO_MAX_SEGS && total + w->tx[j].len <= GSO_MAX_BYTES) {
				total += w->tx[j].len;
				j++;
				if (w->tx[j - 1].len < it->len)
					break;
			}
		}
		w->tx_msg_session[m] = session;
		msg = &w->tx_msgs[m++];
		msg->data = w->arena + it->off;
		msg->len = total;
		msg->size = total;
		msg->segment = j - i > 1 ? (uint16_t)it->len : 0;
		memcpy(&msg->addr, &ep, ep_len);
		msg->addr_len = ep_len;
		if (msg->segment)
			WSTAT(w, tx_gso_runs, 1);
		WSTAT(w, tx_datagrams, j - i);
		i = j;
	}
	if (m) {
		send_msgs(w, w->tx_msgs, w->tx_msg_session, m);
		WSTAT(w, tx_batches, 1);
	}
	w->n_tx = 0;
	w->arena_used = 0;
}

/*
 * Seals @len bytes for @session into the arena (@tls: to go over its TLS stream).
 * A TCP segment with its checksum left partial (@flags TR_PACKET_CSUM_PARTIAL)
 * goes so to a peer that takes it; for another, its checksum is computed here.
 */
static void
dp_stage_tx(Worker *w, TrDpSession *session, uint8_t *data, size_t len, gboolean tls,
            unsigned flags)
{
	unsigned seal = 0;
	int r;

	if (session == NULL)
		return;
	if (flags & TR_PACKET_CSUM_PARTIAL) {
		if (tr_dc_get_config(session->dc)->csum_partial)
			seal = TR_DC_SEAL_CSUM_PARTIAL;
		else if (tr_csum_partial_finish(data, len) < 0) {
			WSTAT(w, tx_drops, 1);
			return;
		}
	}
	if (w->n_tx == TX_MAX || ARENA_SIZE - w->arena_used < len + TR_DC_OVERHEAD)
		dp_flush_tx(w);
	r = tr_dc_seal_flags(session->dc, w->index, w->scratch, TR_DC_DATA, seal, data, len,
	                     w->arena + w->arena_used, ARENA_SIZE - w->arena_used, w->now);
	if (r < 0) {
		WSTAT(w, tx_drops, 1);
		return;
	}
	w->tx[w->n_tx++] = (TxItem){session, (uint32_t)w->arena_used, (uint32_t)r, tls};
	w->arena_used += (size_t)r;
}

gboolean
dp_send_control(TrDpSession *session, const struct sockaddr *to, socklen_t to_len, unsigned lane,
                int fd, TrDcType type, const uint8_t *data, size_t len, gint64 now)
{
	uint8_t buf[TR_DC_OVERHEAD + 64];
	struct sockaddr_storage ep;
	socklen_t ep_len = 0;
	int r;

	if (to && to_len > 0 && (size_t)to_len <= sizeof(ep)) {
		memcpy(&ep, to, to_len);
		ep_len = to_len;
	} else {
		ep_len = dp_endpoint_read(session, &ep);
	}
	if (ep_len == 0 || len > 64)
		return FALSE;
	r = tr_dc_seal(session->dc, lane, NULL, type, data, len, buf, sizeof(buf), now);
	if (r < 0)
		return FALSE;
	return tr_sock_sendto(fd, buf, (size_t)r, (struct sockaddr *)&ep, ep_len) == r;
}

/* The Ethernet header a tap frame carries beyond its IP packet. */
static unsigned
frame_overhead(const TrDataplane *dp)
{
	return dp->cfg.frame == TR_FRAME_ETHERNET ? 14 : 0;
}

/*
 * Tells the sender of a packet larger than @mtu so, as a router would (ICMP
 * "fragmentation needed" or "packet too big"). @from NULL: it came from the
 * device. FALSE when no such answer can be made (IPv4 without DF, IPv6 no
 * larger than 1280, an ICMP error itself, broadcast).
 */
static gboolean
answer_too_big(Worker *w, TrDpSession *from, const uint8_t *data, size_t len, unsigned mtu)
{
	size_t n;

	tr_packet_reset(w->reply);
	n = tr_mangle_build_ptb(data, len, w->dp->cfg.frame, mtu, tr_packet_data(w->reply),
	                        TR_PTB_MAX);
	if (n == 0)
		return FALSE;
	w->reply->len = (uint32_t)n;
	if (from == NULL)
		dp_dev_write(w, w->reply, NULL);
	else
		dp_stage_tx(w, from, tr_packet_data(w->reply), n, FALSE, 0);
	return TRUE;
}

/* Too big for the tunnel: answer as a router would and drop it. */
gboolean
dp_too_big(Worker *w, TrDpSession *from, const uint8_t *data, size_t len)
{
	TrDataplane *dp = w->dp;

	if (len <= dp->cfg.mtu + frame_overhead(dp))
		return FALSE;
	(void)answer_too_big(w, from, data, len, dp->cfg.mtu);
	return TRUE;
}

/*
 * A packet for @session, from the device (@from NULL) or another session. Sized
 * to the session's path: TCP's MSS is clamped to it, and a packet larger than
 * the path takes gets "packet too big" back to its sender; one that cannot
 * be answered so (IPv4 without DF, a dp_flood) goes over the session's TLS stream
 * rather than being lost.
 */
void
dp_to_session(Worker *w, TrDpSession *from, TrDpSession *session, uint8_t *data, size_t len,
              unsigned flags)
{
	TrDataplane *dp = w->dp;
	unsigned mtu;

	if (session == NULL)
		return;
	mtu = dp_session_mtu(dp, session);
	if (mtu == dp->cfg.mtu) {
		dp_stage_tx(w, session, data, len, FALSE, flags);
		return;
	}
	/* (A segment left partial is never a SYN: no MSS option to clamp.) */
	tr_mangle_clamp_mss(data, len, dp->cfg.frame, mtu);
	if (len <= mtu + frame_overhead(dp)) {
		dp_stage_tx(w, session, data, len, FALSE, flags);
		return;
	}
	if (answer_too_big(w, from, data, len, mtu)) {
		WSTAT(w, tx_too_big, 1);
		return;
	}
	WSTAT(w, tx_oversize_tls, 1);
	dp_stage_tx(w, session, data, len, TRUE, flags);
}

void
dp_flood(Worker *w, TrDpSession *from, const TrFwdResult *res, uint8_t *data, size_t len,
         unsigned flags)
{
	const Table *t = w->table;

	/* Rare (a TCP segment to an address not known): completed once for all. */
	if ((flags & TR_PACKET_CSUM_PARTIAL) && tr_csum_partial_finish(data, len) < 0)
		return;
	for (guint i = 1, n = dp_table_n_ids(t); i < n; i++) {
		TrDpSession *to = dp_table_session(t, i);

		if (i != res->flood_except && to)
			dp_to_session(w, from, to, data, len, 0);
	}
}

/* A packet the device gave (@flags: TR_PACKET_CSUM_PARTIAL or 0). */
static void
from_device(Worker *w, uint8_t *data, size_t len, unsigned flags)
{
	TrDataplane *dp = w->dp;
	const Table *t = w->table;
	TrFwdResult res;

	if (dp_too_big(w, NULL, data, len))
		return;
	tr_mangle_clamp_mss(data, len, dp->cfg.frame, dp->cfg.mtu);
	if (!dp->cfg.hub) {
		TrDpSession *to = dp_table_session(t, 1);

		/* A client's pairs (client/mesh.c): their peers' addresses go to them, the
		 * rest to the hub session. */
		if (t->fwd &&
		    tr_fwd_decide_memo(t->fwd->fwd, &w->tx_memo, data, len, TR_PEER_LOCAL, w->now,
		                       &res) == TR_FWD_PEER &&
		    dp_table_session(t, res.peer))
			to = dp_table_session(t, res.peer);
		dp_to_session(w, NULL, to, data, len, flags);
		return;
	}
	if (t->fwd == NULL)
		return;
	switch (tr_fwd_decide_memo(t->fwd->fwd, &w->tx_memo, data, len, TR_PEER_LOCAL, w->now,
	                           &res)) {
	case TR_FWD_PEER:
		dp_to_session(w, NULL, dp_table_session(t, res.peer), data, len, flags);
		break;
	case TR_FWD_FLOOD:
		dp_flood(w, NULL, &res, data, len, flags);
		break;
	case TR_FWD_LOCAL:
		break; /* from the device back to it: a loop */
	case TR_FWD_DROP:
		WSTAT_FWD_DROP(w, res.drop, 1);
		break;
	}
}

void
dp_do_device(Worker *w, unsigned queue, size_t turn)
{
	TrDataplane *dp = w->dp;
	size_t bytes = 0;

	for (unsigned i = 0; i < dp->cfg.batch && bytes < turn; i++) {
		TrPacket *in = w->dev_in;
		TrGsoCut cut;
		TrGso gso;
		ssize_t n;
		int k;

		tr_packet_reset(in);
		n = tr_device_read_gso(dp->cfg.dev, queue, tr_packet_data(in),
		                       TR_PACKET_PAYLOAD_MAX, &gso);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			WSTAT(w, dev_drops, 1);
			continue;
		}
		WSTAT(w, dev_reads, 1);
		bytes += (size_t)n;
		if (gso.type == TR_GSO_NONE) {
			if (tr_gso_complete_csum(&gso, tr_packet_data(in), (size_t)n) < 0)
				WSTAT(w, dev_drops, 1);
			else
				from_device(w, tr_packet_data(in), (size_t)n, 0);
			continue;
		}
		/* Each segment is sealed straight from the super-packet, then the next
		 * one's headers are written over its end. TCP segments keep their
		 * checksum partial, as the device gave it: a peer that takes them so
		 * never needs it (its device fills it in), for another it is
		 * computed when the segment is sealed (dp_stage_tx). */
		k = tr_gso_cut_begin(&cut, &gso, tr_packet_data(in), (size_t)n);
		if (k >= 0) {
			unsigned flags =
			        dp->cfg.frame == TR_FRAME_IP && tr_gso_cut_leave_partial(&cut)
			                ? TR_PACKET_CSUM_PARTIAL
			                : 0;
			uint8_t *seg;
			size_t seg_len;

			WSTAT(w, dev_super_reads, 1);
			while ((seg = tr_gso_cut_next(&cut, &seg_len)) != NULL)
				from_device(w, seg, seg_len, flags);
			continue;
		}
		if (k == -ENOSPC) /* segments shorter than their headers: copied out */
			k = tr_gso_split(&gso, tr_packet_data(in), (size_t)n, w->segs, SEGS_MAX);
		if (k < 0) {
			WSTAT(w, dev_drops, 1);
			continue;
		}
		WSTAT(w, dev_super_reads, 1);
		for (int j = 0; j < k; j++)
			from_device(w, tr_packet_data(w->segs[j]), w->segs[j]->len, 0);
	}
}
