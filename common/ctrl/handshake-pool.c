/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/ctrl/handshake-pool.h"

#include "common/base/error.h"
#include "common/base/watch.h"

#include <pthread.h>

#define THREADS_MAX 64

/*
 * Who touches what. The pool's thread (the one whose context hears the ends)
 * owns the pool, the jobs' bookkeeping (owed, ended, cancelled) and the
 * workers' load. A worker owns its context, the jobs it drives and their
 * sources. They talk through two kinds of mailbox: a worker's inbox (start a
 * job, cancel it, stop) and the pool's outbox (a job ended, a cancel was
 * seen). A job lives until every message about it has come back to the pool's
 * thread (owed), so no thread ever looks at a freed job; sessions and sockets
 * are freed by their owner on the pool's thread, never by a worker.
 */

typedef enum {
	MSG_START,   /* to a worker */
	MSG_CANCEL,  /* to a worker */
	MSG_STOP,    /* to a worker */
	MSG_END,     /* to the pool: the handshake ended (rc, error) */
	MSG_RELEASE, /* to the pool: a cancel was seen */
} MsgKind;

typedef struct Worker Worker;

struct TrHandshakeJob {
	TrHandshakePool *pool;
	Worker *worker;
	TrTls *tls;
	int fd;
	TrHandshakeDone done;
	gpointer user_data;
	/* The pool's thread only. */
	guint owed; /* messages about it still to come back */
	gboolean ended;
	gboolean cancelled;
	/* Its worker only. */
	GSource *source; /* while it drives the handshake */
	gpointer tag;
	/* Set by the worker before MSG_END, read by the pool after. */
	int rc;
	GError *error;
};

typedef struct {
	MsgKind kind;
	TrHandshakeJob *job;
} Msg;

/* Messages one thread posts and another's context takes, in order. A POSIX
 * mutex, as the data plane's: ThreadSanitizer sees what it orders (GLib's
 * own, on futexes, it cannot). */
typedef struct {
	GSource source;
	GMainContext *ctx;
	pthread_mutex_t lock;
	GQueue msgs;
	gint n; /* msgs.length, for prepare and check without the lock */
	void (*handle)(gpointer owner, Msg *msg);
	gpointer owner;
	/* At most this many messages and this long (µs) per dispatch, the rest
	 * at the next iteration (0: all at once). */
	guint budget;
	gint64 budget_us;
} Mailbox;

struct Worker {
	TrHandshakePool *pool;
	GMainContext *ctx;
	Mailbox *inbox;
	GThread *thread;
	GHashTable *active; /* the worker's: jobs it drives */
	gboolean stop;      /* the worker's */
	guint load;         /* the pool thread's: jobs given to it, not yet ended */
};

struct TrHandshakePool {
	GMainContext *ctx; /* where the ends are reported */
	Mailbox *outbox;
	Worker *workers;
	guint n_workers;
	GHashTable *jobs; /* every job not yet freed */
	gboolean stopping;
};

static gboolean
mailbox_ready(GSource *source, gint *timeout)
{
	if (timeout)
		*timeout = -1;
	return g_atomic_int_get(&((Mailbox *)source)->n) > 0;
}

static gboolean
mailbox_check(GSource *source)
{
	return mailbox_ready(source, NULL);
}

static gboolean
mailbox_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	Mailbox *mb = (Mailbox *)source;
	gint64 start = mb->budget_us ? g_get_monotonic_time() : 0;
	GQueue msgs = G_QUEUE_INIT;
	Msg *m;

	(void)callback;
	(void)user_data;
	pthread_mutex_lock(&mb->lock);
	if (mb->budget == 0 || mb->msgs.length <= mb->budget) {
		msgs = mb->msgs;
		g_queue_init(&mb->msgs);
	} else {
		for (guint i = 0; i < mb->budget; i++)
			g_queue_push_tail(&msgs, g_queue_pop_head(&mb->msgs));
	}
	g_atomic_int_set(&mb->n, (gint)mb->msgs.length);
	pthread_mutex_unlock(&mb->lock);
	while ((m = g_queue_pop_head(&msgs)) != NULL) {
		mb->handle(mb->owner, m);
		g_free(m);
		if (mb->budget_us && msgs.length && g_get_monotonic_time() - start > mb->budget_us)
			break;
	}
	if (msgs.length) { /* over time: back to the front, in order */
		pthread_mutex_lock(&mb->lock);
		while ((m = g_queue_pop_tail(&msgs)) != NULL)
			g_queue_push_head(&mb->msgs, m);
		g_atomic_int_set(&mb->n, (gint)mb->msgs.length);
		pthread_mutex_unlock(&mb->lock);
	}
	return G_SOURCE_CONTINUE;
}

static void
mailbox_finalize(GSource *source)
{
	Mailbox *mb = (Mailbox *)source;

	g_queue_clear_full(&mb->msgs, g_free);
	pthread_mutex_destroy(&mb->lock);
}

static GSourceFuncs mailbox_funcs = {
        .prepare = mailbox_ready,
        .check = mailbox_check,
        .dispatch = mailbox_dispatch,
        .finalize = mailbox_finalize,
};

static Mailbox *
mailbox_new(GMainContext *ctx, void (*handle)(gpointer, Msg *), gpointer owner)
{
	Mailbox *mb = (Mailbox *)g_source_new(&mailbox_funcs, sizeof(Mailbox));

	mb->ctx = ctx;
	pthread_mutex_init(&mb->lock, NULL);
	g_queue_init(&mb->msgs);
	mb->handle = handle;
	mb->owner = owner;
	g_source_set_name(&mb->source, "trellis-handshake-mailbox");
	g_source_attach(&mb->source, ctx);
	return mb;
}

static void
mailbox_post(Mailbox *mb, MsgKind kind, TrHandshakeJob *job)
{
	Msg *m = g_new(Msg, 1);
	gboolean was_empty;

	m->kind = kind;
	m->job = job;
	pthread_mutex_lock(&mb->lock);
	was_empty = mb->msgs.length == 0;
	g_queue_push_tail(&mb->msgs, m);
	g_atomic_int_set(&mb->n, (gint)mb->msgs.length);
	pthread_mutex_unlock(&mb->lock);
	if (was_empty)
		g_main_context_wakeup(mb->ctx);
}

static void
mailbox_free(Mailbox *mb)
{
	g_source_destroy(&mb->source);
	g_source_unref(&mb->source);
}

/* --- a worker --- */

/* The handshake ended (or was cancelled, @rc 0): the job goes back. */
static void
job_end(TrHandshakeJob *job, int rc, GError *error)
{
	job->rc = rc;
	job->error = error;
	g_hash_table_remove(job->worker->active, job);
	g_source_destroy(job->source);
	g_clear_pointer(&job->source, g_source_unref);
	mailbox_post(job->pool->outbox, MSG_END, job);
}

static void
job_step(TrHandshakeJob *job)
{
	GError *error = NULL;
	int rc = tr_tls_handshake(job->tls, &error);

	if (rc == 0) {
		tr_watch_modify(job->source, job->tag,
		                tr_tls_wants_write(job->tls) ? G_IO_OUT : G_IO_IN);
		return;
	}
	job_end(job, rc, error);
}

typedef struct {
	GSource source;
	TrHandshakeJob *job;
} JobSource;

static gboolean
job_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	(void)callback;
	(void)user_data;
	job_step(((JobSource *)source)->job);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs job_funcs = {
        .dispatch = job_dispatch,
};

static void
job_start(Worker *w, TrHandshakeJob *job)
{
	job->source = g_source_new(&job_funcs, sizeof(JobSource));
	((JobSource *)job->source)->job = job;
	job->tag = tr_watch_add(job->source, job->fd, G_IO_IN);
	g_source_set_name(job->source, "trellis-handshake");
	/* As common/base/io-watch.c: no walk of the poll list per dispatch. */
	g_source_set_can_recurse(job->source, TRUE);
	g_source_attach(job->source, w->ctx);
	g_hash_table_add(w->active, job);
	job_step(job); /* a client speaks first */
}

static void
worker_handle(gpointer p, Msg *m)
{
	Worker *w = p;

	switch (m->kind) {
	case MSG_START:
		job_start(w, m->job);
		break;
	case MSG_CANCEL:
		if (m->job->source != NULL)
			job_end(m->job, 0, NULL);
		mailbox_post(w->pool->outbox, MSG_RELEASE, m->job);
		break;
	case MSG_STOP:
		w->stop = TRUE;
		break;
	default:
		g_assert_not_reached();
	}
}

static gpointer
worker_main(gpointer p)
{
	Worker *w = p;
	GHashTableIter it;
	gpointer k;

	g_main_context_push_thread_default(w->ctx);
	while (!w->stop)
		g_main_context_iteration(w->ctx, TRUE);
	/* Stopped with handshakes unfinished: the pool reports them cancelled. */
	g_hash_table_iter_init(&it, w->active);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		TrHandshakeJob *job = k;

		g_source_destroy(job->source);
		g_clear_pointer(&job->source, g_source_unref);
		g_hash_table_iter_remove(&it);
	}
	g_main_context_pop_thread_default(w->ctx);
	return NULL;
}

/* --- the pool's thread --- */

static void
job_report(TrHandshakeJob *job)
{
	int rc = job->cancelled ? 0 : job->rc;
	GError *error = g_steal_pointer(&job->error);

	if (job->ended) {
		g_clear_error(&error);
		return;
	}
	job->ended = TRUE;
	if (rc >= 0)
		g_clear_error(&error);
	else if (error == NULL)
		error = g_error_new_literal(TR_ERROR, TR_ERROR_FAILED, "TLS handshake failed");
	job->done(rc, error, job->user_data);
}

static void
job_free(TrHandshakePool *pool, TrHandshakeJob *job)
{
	g_hash_table_remove(pool->jobs, job);
	g_clear_error(&job->error);
	g_free(job);
}

static void
pool_handle(gpointer p, Msg *m)
{
	TrHandshakePool *pool = p;
	TrHandshakeJob *job = m->job;

	if (m->kind == MSG_END) {
		job->worker->load--;
		job_report(job);
	}
	if (--job->owed == 0)
		job_free(pool, job);
}

TrHandshakePool *
tr_handshake_pool_new(guint n_threads)
{
	TrHandshakePool *pool = g_new0(TrHandshakePool, 1);

	if (n_threads == 0)
		n_threads = g_get_num_processors();
	pool->n_workers = CLAMP(n_threads, 1, THREADS_MAX);
	pool->jobs = g_hash_table_new(NULL, NULL);
	pool->ctx = g_main_context_ref_thread_default();
	pool->outbox = mailbox_new(pool->ctx, pool_handle, pool);
	pool->outbox->budget = TR_HANDSHAKE_POOL_ENDS_PER_DISPATCH;
	pool->outbox->budget_us = TR_HANDSHAKE_POOL_DISPATCH_US;
	pool->workers = g_new0(Worker, pool->n_workers);
	for (guint i = 0; i < pool->n_workers; i++) {
		Worker *w = &pool->workers[i];
		g_autofree char *name = g_strdup_printf("trellis-hs%u", i);

		w->pool = pool;
		w->ctx = g_main_context_new();
		w->active = g_hash_table_new(NULL, NULL);
		w->inbox = mailbox_new(w->ctx, worker_handle, w);
		w->thread = g_thread_new(name, worker_main, w);
	}
	return pool;
}

guint
tr_handshake_pool_threads(TrHandshakePool *pool)
{
	return pool->n_workers;
}

guint
tr_handshake_pool_waiting(TrHandshakePool *pool)
{
	return (guint)g_atomic_int_get(&pool->outbox->n);
}

void
tr_handshake_pool_free(TrHandshakePool *pool)
{
	GList *jobs;

	if (pool == NULL)
		return;
	pool->stopping = TRUE;
	for (guint i = 0; i < pool->n_workers; i++)
		mailbox_post(pool->workers[i].inbox, MSG_STOP, NULL);
	for (guint i = 0; i < pool->n_workers; i++) {
		Worker *w = &pool->workers[i];

		g_thread_join(w->thread);
		mailbox_free(w->inbox);
		g_hash_table_unref(w->active);
		g_main_context_unref(w->ctx);
	}
	/* The workers are gone: what they had, and what was on its way, ends here. */
	mailbox_free(pool->outbox);
	jobs = g_hash_table_get_keys(pool->jobs);
	for (GList *l = jobs; l; l = l->next) {
		TrHandshakeJob *job = l->data;

		job->cancelled = TRUE;
		job_report(job);
		job_free(pool, job);
	}
	g_list_free(jobs);
	g_hash_table_unref(pool->jobs);
	g_main_context_unref(pool->ctx);
	g_free(pool->workers);
	g_free(pool);
}

TrHandshakeJob *
tr_handshake_pool_run(TrHandshakePool *pool, TrTls *tls, int fd, TrHandshakeDone done,
                      gpointer user_data)
{
	TrHandshakeJob *job;
	Worker *w = &pool->workers[0];

	g_return_val_if_fail(!pool->stopping, NULL);
	job = g_new0(TrHandshakeJob, 1);
	for (guint i = 1; i < pool->n_workers; i++)
		if (pool->workers[i].load < w->load)
			w = &pool->workers[i];
	job->pool = pool;
	job->worker = w;
	job->tls = tls;
	job->fd = fd;
	job->done = done;
	job->user_data = user_data;
	job->owed = 1;
	w->load++;
	g_hash_table_add(pool->jobs, job);
	mailbox_post(w->inbox, MSG_START, job);
	return job;
}

void
tr_handshake_job_cancel(TrHandshakeJob *job)
{
	if (job->ended || job->cancelled)
		return;
	job->cancelled = TRUE;
	if (job->pool->stopping)
		return;
	job->owed++;
	mailbox_post(job->worker->inbox, MSG_CANCEL, job);
}
