/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Setting the data plane up (see dataplane.h for the design): its
 * configuration, starting and stopping the workers, quiescing them for key
 * changes, the counters, and the parts both daemons share (the techniques,
 * the socket group).
 */
#include "common/datapath/dataplane-private.h"

#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "common/base/watch.h"

#include <errno.h>
#include <string.h>

void
tr_dp_config_init(TrDpConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->n_workers = 1;
	cfg->express_queue = -1;
	cfg->magic = TR_MAGIC_DEFAULT;
	cfg->frame = TR_FRAME_IP;
	cfg->mtu = TR_MTU_DEFAULT;
	cfg->client_to_client = TRUE;
	cfg->batch = BATCH_MAX;
	cfg->udp_gso = TRUE;
	cfg->coalesce = TRUE;
}

static gboolean
on_reclaim(gpointer p)
{
	TrDataplane *dp = p;

	tr_rcu_reclaim(dp->rcu);
	return G_SOURCE_CONTINUE;
}

TrDataplane *
tr_dataplane_new(const TrDpConfig *cfg, GError **error)
{
	TrDataplane *dp;
	TrPlatError perr = {0};

	if (cfg->n_workers < 1 || cfg->n_workers > TR_DP_WORKERS_MAX ||
	    cfg->n_workers > tr_device_n_queues(cfg->dev) ||
	    (cfg->express_queue >= 0 &&
	     ((unsigned)cfg->express_queue < cfg->n_workers ||
	      (unsigned)cfg->express_queue >= tr_device_n_queues(cfg->dev))) ||
	    (cfg->n_udp != 1 && cfg->n_udp != cfg->n_workers)) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "data plane: %u workers for %u device queues and %u sockets",
		            cfg->n_workers, tr_device_n_queues(cfg->dev), cfg->n_udp);
		return NULL;
	}
	dp = g_new0(TrDataplane, 1);
	dp->cfg = *cfg;
	if (dp->cfg.batch == 0 || dp->cfg.batch > BATCH_MAX)
		dp->cfg.batch = BATCH_MAX;
	pthread_mutex_init(&dp->quiesce_lock, NULL);
	pthread_mutex_init(&dp->outbox_lock, NULL);
	g_queue_init(&dp->outbox);
	dp->raised = g_ptr_array_new_with_free_func((GDestroyNotify)dp_session_unref);
	dp->rcu = tr_rcu_new(dp_table_free);
	dp->sessions = g_ptr_array_new();
	dp->main_wake.rfd = dp->main_wake.wfd = -1;
	dp->workers = g_new0(Worker, cfg->n_workers);
	if (tr_wakeup_open(&dp->main_wake, &perr) < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "data plane: %s", perr.message);
		tr_dataplane_free(dp);
		return NULL;
	}
	for (unsigned i = 0; i < cfg->n_workers; i++) {
		if (!dp_worker_init(dp, &dp->workers[i], i, error)) {
			tr_dataplane_free(dp);
			return NULL;
		}
	}
	dp_publish(dp);
	g_message("data plane: %u worker%s, %u UDP socket%s%s; device offloads: %s; UDP GSO %s, "
	          "GRO %s",
	          cfg->n_workers, cfg->n_workers == 1 ? "" : "s", cfg->n_udp,
	          cfg->n_udp == 1 ? "" : "s",
	          cfg->express_queue >= 0 ? ", an express queue for short packets" : "",
	          cfg->tun_offload ? (cfg->coalesce ? "TSO, coalescing" : "TSO") : "none",
	          cfg->udp_gso ? "on" : "off", tr_udp_has_gro(cfg->udp_fds[0]) ? "on" : "off");
	dp->main_watch = tr_watch_fd(dp->main_wake.rfd, G_IO_IN, dp_on_main_wake, dp);
	dp->reclaim_id = g_timeout_add(200, on_reclaim, dp);
	for (unsigned i = 0; i < cfg->n_workers; i++) {
		char name[16];
		g_snprintf(name, sizeof(name), "trellis-dp%u", i);
		dp->workers[i].thread = g_thread_new(name, dp_worker_main, &dp->workers[i]);
	}
	return dp;
}

void
tr_dataplane_free(TrDataplane *dp)
{
	OutItem *item;

	if (dp == NULL)
		return;
	atomic_store_explicit(&dp->stop, true, memory_order_release);
	for (unsigned i = 0; i < dp->cfg.n_workers; i++) {
		Worker *w = &dp->workers[i];
		if (w->thread) {
			tr_wakeup_signal(&w->wake);
			g_thread_join(w->thread);
		}
	}
	g_clear_handle_id(&dp->main_watch, g_source_remove);
	g_clear_handle_id(&dp->reclaim_id, g_source_remove);
	for (unsigned i = 0; i < dp->cfg.n_workers; i++)
		dp_worker_clear(&dp->workers[i]);
	g_free(dp->workers);
	while ((item = g_queue_pop_head(&dp->outbox)) != NULL) {
		if (item->session)
			dp_session_unref(item->session);
		g_free(item);
	}
	g_ptr_array_unref(dp->raised);
	for (guint i = 0; i < dp->sessions->len; i++) {
		TrDpSession *session = dp->sessions->pdata[i];
		session->removed = TRUE;
		dp_session_unref(session);
	}
	g_ptr_array_unref(dp->sessions);
	dp_fwd_unref(dp->fwd);
	dp_live_clear(dp);
	tr_rcu_free(dp->rcu);
	if (dp->main_wake.rfd >= 0)
		tr_wakeup_close(&dp->main_wake);
	pthread_mutex_destroy(&dp->quiesce_lock);
	pthread_mutex_destroy(&dp->outbox_lock);
	g_free(dp);
}

const TrDpConfig *
tr_dataplane_config(TrDataplane *dp)
{
	return &dp->cfg;
}

unsigned
tr_dataplane_owner(TrDataplane *dp, uint32_t rx_index)
{
	return dp->cfg.n_udp > 1 ? rx_index % dp->cfg.n_udp : 0;
}

void
tr_dataplane_quiesce(TrDataplane *dp)
{
	atomic_store_explicit(&dp->quiesce_req, true, memory_order_release);
	pthread_mutex_lock(&dp->quiesce_lock);
	for (unsigned i = 0; i < dp->cfg.n_workers; i++)
		pthread_mutex_lock(&dp->workers[i].gate);
}

void
tr_dataplane_resume(TrDataplane *dp)
{
	for (unsigned i = 0; i < dp->cfg.n_workers; i++)
		pthread_mutex_unlock(&dp->workers[i].gate);
	atomic_store_explicit(&dp->quiesce_req, false, memory_order_release);
	pthread_mutex_unlock(&dp->quiesce_lock);
}

void
tr_dataplane_stats(TrDataplane *dp, TrDpStats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->cfg.n_workers; i++) {
		guint64 *dst = (guint64 *)out;

		for (size_t k = 0; k < STATS_WORDS; k++)
			dst[k] += atomic_load_explicit(&dp->workers[i].stats.words[k],
			                               memory_order_relaxed);
	}
}

void
tr_dataplane_stats_json(TrDataplane *dp, GString *out, gboolean *first)
{
	TrDpStats s;
	gboolean f = TRUE;

	tr_dataplane_stats(dp, &s);
	tr_json_key(out, first, "dataplane");
	g_string_append_c(out, '{');
	tr_json_key_uint(out, &f, "workers", dp->cfg.n_workers);
	tr_json_key_uint(out, &f, "rx_datagrams", s.rx_datagrams);
	tr_json_key_uint(out, &f, "rx_batches", s.rx_batches);
	tr_json_key_uint(out, &f, "rx_gro_runs", s.rx_gro_runs);
	tr_json_key_uint(out, &f, "tx_datagrams", s.tx_datagrams);
	tr_json_key_uint(out, &f, "tx_batches", s.tx_batches);
	tr_json_key_uint(out, &f, "tx_gso_runs", s.tx_gso_runs);
	tr_json_key_uint(out, &f, "tx_gso_split", s.tx_gso_split);
	tr_json_key_uint(out, &f, "tx_too_big", s.tx_too_big);
	tr_json_key_uint(out, &f, "tx_oversize_tls", s.tx_oversize_tls);
	tr_json_key_uint(out, &f, "dev_reads", s.dev_reads);
	tr_json_key_uint(out, &f, "dev_super_reads", s.dev_super_reads);
	tr_json_key_uint(out, &f, "dev_writes", s.dev_writes);
	tr_json_key_uint(out, &f, "dev_coalesced", s.dev_coalesced);
	tr_json_key_uint(out, &f, "rx_ce_marks", s.rx_ce_marks);
	tr_json_key_uint(out, &f, "rx_queue_drops", s.rx_queue_drops);
	tr_json_key_uint(out, &f, "rx_drops", s.rx_drops);
	tr_json_key_uint(out, &f, "dev_drops", s.dev_drops);
	tr_json_key_uint(out, &f, "tx_drops", s.tx_drops);
	tr_json_key_uint(out, &f, "handoffs", s.handoffs);
	tr_json_key(out, &f, "fwd_drops");
	g_string_append_c(out, '{');
	{
		gboolean g = TRUE;
		for (unsigned i = 1; i < TR_FWD_DROP_COUNT; i++)
			tr_json_key_uint(out, &g, tr_fwd_drop_name((TrFwdDrop)i), s.fwd_drops[i]);
	}
	g_string_append(out, "}}");
}

void
tr_dp_tuning_init(TrDpTuning *t)
{
	memset(t, 0, sizeof(*t));
	t->tun_offload = TRUE;
	t->coalesce = TRUE;
	t->udp_gso = TRUE;
	t->udp_gro = TRUE;
	t->queue_target_us = TR_DP_QUEUE_TARGET_DEFAULT;
	t->express_len = TR_DP_EXPRESS_DEFAULT;
	t->express_program = -1;
}

guint
tr_dp_tuning_workers(const TrDpTuning *t)
{
	guint n = t->threads ? t->threads : g_get_num_processors();

#ifdef G_OS_WIN32
	/* TAP-Windows6 has one queue, Windows no SO_REUSEPORT groups: one worker. */
	n = 1;
#endif
	return CLAMP(n, 1u, TR_DP_WORKERS_MAX);
}

guint
tr_dp_tuning_queues(const TrDpTuning *t)
{
	return tr_dp_tuning_workers(t) + (t->express_program >= 0 ? 1u : 0u);
}

void
tr_dp_tuning_prepare(TrDpTuning *t, TrDeviceType type)
{
	TrPlatError perr = {0};
	guint n = tr_dp_tuning_workers(t) + 1;

	if (t->express_len == 0 || t->express_program >= 0)
		return;
	t->express_program = tr_device_express_program(type, n, t->express_len, &perr);
	if (t->express_program < 0) {
		t->express_program = -1;
		if (perr.code != -EOPNOTSUPP)
			g_message("no express queue for short packets: %s", perr.message);
	}
}

void
tr_dp_tuning_apply_device(const TrDpTuning *t, TrDevice *dev)
{
	TrPlatError perr = {0};

	if (t->express_program < 0 || tr_device_n_queues(dev) != tr_dp_tuning_queues(t))
		return;
	if (tr_device_set_express_queue(dev, t->express_program, tr_dp_tuning_queues(t), &perr) < 0)
		g_message("%s: no express queue for short packets: %s", tr_device_ifname(dev),
		          perr.message);
}

void
tr_dp_config_setup(TrDpConfig *cfg, const TrDpTuning *t, TrDevice *dev, const int *udp_fds,
                   guint n_udp)
{
	tr_dp_config_init(cfg);
	cfg->dev = dev;
	cfg->n_workers = tr_device_n_queues(dev);
	/* A queue more than the workers: the express queue (tr_dp_tuning_queues()). */
	if (t->express_program >= 0 && cfg->n_workers == tr_dp_tuning_workers(t) + 1) {
		cfg->n_workers--;
		cfg->express_queue = (int)cfg->n_workers;
	}
	cfg->udp_fds = udp_fds;
	cfg->n_udp = n_udp == cfg->n_workers ? n_udp : 1;
	cfg->udp_gso = t->udp_gso;
	cfg->tun_offload = (tr_device_offloads(dev) & TR_OFFLOAD_TSO) != 0;
	cfg->coalesce = t->coalesce;
	cfg->queue_target_us = t->queue_target_us;
}

/* A socket buffer that rides out a burst of a whole batch from every worker. */
#define SOCKET_BUFFER (8 << 20)

int *
tr_dp_open_sockets(const struct sockaddr *addr, socklen_t addr_len, guint n, gboolean gro,
                   gboolean rx_times, guint *n_out, GError **error)
{
	struct sockaddr_storage ss;
	socklen_t sl = addr_len;
	unsigned flags = (n > 1 ? TR_UDP_REUSEPORT : 0) | (gro ? TR_UDP_GRO : 0) |
	                 (rx_times ? TR_UDP_TIMESTAMP : 0);
	int *fds = g_new(int, n);
	TrPlatError perr = {0};
	guint i;

	memcpy(&ss, addr, addr_len);
	for (i = 0; i < n; i++) {
		fds[i] = tr_udp_open((struct sockaddr *)&ss, sl, flags, SOCKET_BUFFER, &perr);
		if (fds[i] < 0)
			break;
		/* The others join the port the first one got. */
		if (i == 0 && getsockname(fds[0], (struct sockaddr *)&ss, &sl) < 0) {
			int e = tr_sock_errno();
			tr_plat_error_set(&perr, e, "getsockname: %s", g_strerror(e));
			tr_sock_close(fds[0]);
			break;
		}
	}
	if (i < n) {
		while (i-- > 0)
			tr_sock_close(fds[i]);
		g_free(fds);
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "UDP: %s", perr.message);
		return NULL;
	}
	if (n > 1 && tr_udp_steer(fds, n, 8 /* the receiver index */, &perr) < 0) {
		g_message("cannot steer datagrams among %u sockets (%s): one socket receives", n,
		          perr.message);
		for (i = 1; i < n; i++)
			tr_sock_close(fds[i]);
		n = 1;
	}
	*n_out = n;
	return fds;
}
