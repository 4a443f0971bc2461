/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A worker thread and its loop: it sleeps in its poller on its device
 * queue, its socket, its wakeup and the express queue (shared by all the
 * workers, which wakes one of them), and handles each wakeup as one batch
 * (the express queue's short packets, sent at once; handed-over datagrams,
 * the socket, the device, then both flushes) with its gate held and the
 * table read once. On the main loop, the other side:
 * data for the TLS path and the sessions' events, delivered to the control
 * plane.
 */
#include "common/datapath/dataplane-private.h"

#include "common/base/error.h"
#include "platform/process.h"

#include <string.h>

static void
wait_if_quiescing(TrDataplane *dp)
{
	if (atomic_load_explicit(&dp->quiesce_req, memory_order_acquire)) {
		pthread_mutex_lock(&dp->quiesce_lock);
		pthread_mutex_unlock(&dp->quiesce_lock);
	}
}

gpointer
dp_worker_main(gpointer p)
{
	Worker *w = p;
	TrDataplane *dp = w->dp;

	while (!atomic_load_explicit(&dp->stop, memory_order_acquire)) {
		TrPollEvent ev[4];
		gboolean tun = FALSE, udp = FALSE, express = FALSE;
		int n = tr_poller_wait(w->poller, ev, G_N_ELEMENTS(ev), 250);

		if (atomic_load_explicit(&dp->stop, memory_order_acquire))
			break;
		/* The daemon dropped privileges after this thread started: follow. */
		if (tr_process_privileges_generation() != w->privileges) {
			w->privileges = tr_process_privileges_generation();
			tr_process_adopt_privileges();
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].tag == TAG_TUN)
				tun = TRUE;
			else if (ev[i].tag == TAG_UDP)
				udp = TRUE;
			else if (ev[i].tag == TAG_EXPRESS)
				express = TRUE;
			else
				tr_wakeup_clear(&w->wake);
		}
		wait_if_quiescing(dp);
		pthread_mutex_lock(&w->gate);
		w->table = tr_rcu_read_begin(w->reader);
		w->now = g_get_monotonic_time();
		tr_fwd_memo_reset(&w->rx_memo);
		tr_fwd_memo_reset(&w->tx_memo);
		if (w->table) {
			if (express) { /* a ping, an ACK, a call's audio: out before any bulk */
				dp_do_device(w, (unsigned)dp->cfg.express_queue,
				             EXPRESS_TURN_BYTES);
				dp_flush_tx(w);
			}
			dp_do_inbox(w);
			if (udp)
				dp_do_udp(w);
			dp_flush_dev(w); /* what came in leaves before the other way's turn */
			if (tun)
				dp_do_device(w, w->index, TURN_BYTES);
			dp_flush_tx(w);
			dp_flush_dev(w);
		}
		tr_rcu_read_end(w->reader);
		w->table = NULL;
		pthread_mutex_unlock(&w->gate);
	}
	return NULL;
}

gboolean
dp_on_main_wake(gint fd, GIOCondition cond, gpointer p)
{
	TrDataplane *dp = p;
	GPtrArray *raised;
	GQueue q;
	OutItem *item;

	tr_wakeup_clear(&dp->main_wake);
	atomic_store_explicit(&dp->main_signaled, false, memory_order_release);

	pthread_mutex_lock(&dp->outbox_lock);
	q = dp->outbox;
	g_queue_init(&dp->outbox);
	pthread_mutex_unlock(&dp->outbox_lock);
	while ((item = g_queue_pop_head(&q)) != NULL) {
		if (item->session == NULL) {
			dp->cfg.relay(item->data, item->len, (struct sockaddr *)&item->from,
			              item->from_len, dp->cfg.relay_data);
			g_free(item);
			continue;
		}
		if (!item->session->removed && item->session->cb.tcp_send)
			item->session->cb.tcp_send(item->session, item->data, item->len,
			                           item->session->user_data);
		dp_session_unref(item->session);
		g_free(item);
	}
	/* The sessions that raised events since the last look (callbacks may
	 * remove sessions, themselves or others: each is held by a reference). */
	pthread_mutex_lock(&dp->outbox_lock);
	raised = g_steal_pointer(&dp->raised);
	dp->raised = g_ptr_array_new_with_free_func((GDestroyNotify)dp_session_unref);
	pthread_mutex_unlock(&dp->outbox_lock);
	for (guint i = 0; i < raised->len; i++) {
		TrDpSession *session = raised->pdata[i];
		unsigned ev = atomic_exchange_explicit(&session->events, 0, memory_order_acq_rel);

		if (ev && !session->removed && session->cb.event)
			session->cb.event(session, ev, session->user_data);
	}
	g_ptr_array_free(raised, TRUE);
	return G_SOURCE_CONTINUE;
}

gboolean
dp_worker_init(TrDataplane *dp, Worker *w, unsigned index, GError **error)
{
	TrPlatError perr = {0};

	w->dp = dp;
	w->index = index;
	pthread_mutex_init(&w->gate, NULL);
	pthread_mutex_init(&w->inbox_lock, NULL);
	g_queue_init(&w->inbox);
	w->wake.rfd = w->wake.wfd = -1;
	w->udp_fd = dp->cfg.udp_fds[dp->cfg.n_udp > 1 ? index : 0];
	w->udp_rx = dp->cfg.n_udp > 1 || index == 0;
	w->reader = tr_rcu_reader_new(dp->rcu, error);
	if (w->reader == NULL)
		return FALSE;
	w->poller = tr_poller_new(&perr);
	if (w->poller == NULL || tr_wakeup_open(&w->wake, &perr) < 0 ||
	    tr_poller_add(w->poller, w->wake.rfd, TAG_WAKE, TR_POLL_IN) < 0 ||
	    tr_poller_add(w->poller, (int)tr_device_queue_fd(dp->cfg.dev, index), TAG_TUN,
	                  TR_POLL_IN) < 0 ||
	    (w->udp_rx && tr_poller_add(w->poller, w->udp_fd, TAG_UDP, TR_POLL_IN) < 0) ||
	    (dp->cfg.express_queue >= 0 &&
	     tr_poller_add(w->poller,
	                   (int)tr_device_queue_fd(dp->cfg.dev, (unsigned)dp->cfg.express_queue),
	                   TAG_EXPRESS, TR_POLL_IN | TR_POLL_EXCLUSIVE) < 0)) {
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "data-plane worker %u: %s", index,
		            perr.message[0] ? perr.message : "cannot poll its descriptors");
		return FALSE;
	}
	w->scratch = tr_compress_scratch_new();
	w->dev_in = g_new(TrPacket, 1);
	w->reply = g_new(TrPacket, 1);
	for (unsigned i = 0; i < SEGS_MAX; i++)
		w->segs[i] = g_new(TrPacket, 1);
	for (unsigned i = 0; i < RX_POOL; i++)
		w->pool[i] = g_new(TrPacket, 1);
	w->n_free = RX_POOL;
	tr_gro_init(&w->gro, dp->cfg.tun_offload && dp->cfg.coalesce);
	w->rx_bufs = g_malloc(RX_MSGS * RX_MSG_SIZE);
	for (unsigned i = 0; i < RX_MSGS; i++) {
		w->rx_msgs[i].data = w->rx_bufs + i * RX_MSG_SIZE;
		w->rx_msgs[i].size = RX_MSG_SIZE;
	}
	w->arena = g_malloc(ARENA_SIZE);
	tr_codel_init(&w->codel, dp->cfg.queue_target_us,
	              (int64_t)dp->cfg.queue_target_us * TR_DP_QUEUE_INTERVAL_FACTOR);
	return TRUE;
}

void
dp_worker_clear(Worker *w)
{
	InboxItem *item;

	if (w->reader)
		tr_rcu_reader_free(w->reader);
	if (w->poller)
		tr_poller_free(w->poller);
	if (w->wake.rfd >= 0)
		tr_wakeup_close(&w->wake);
	if (w->scratch)
		tr_compress_scratch_free(w->scratch);
	g_free(w->dev_in);
	g_free(w->reply);
	for (unsigned i = 0; i < SEGS_MAX; i++)
		g_free(w->segs[i]);
	/* The pool holds every packet buffer again once the worker stopped. */
	for (unsigned i = 0; i < w->n_free; i++)
		g_free(w->pool[i]);
	g_free(w->rx_bufs);
	g_free(w->arena);
	while ((item = g_queue_pop_head(&w->inbox)) != NULL) {
		dp_session_unref(item->session);
		g_free(item);
	}
	pthread_mutex_destroy(&w->gate);
	pthread_mutex_destroy(&w->inbox_lock);
}
