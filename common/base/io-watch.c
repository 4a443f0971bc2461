/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/io-watch.h"

#ifdef __linux__

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#define BATCH 64 /* sockets served per dispatch */

struct TrIoWatch {
	int fd;
	GIOCondition events;
	TrWatchFunc func;
	gpointer user_data;
	gboolean dead; /* freed during a dispatch: goes when the dispatch ends */
	gboolean kicked;
	GList kick_link; /* in the set's kicks while kicked */
	guint64 stamp;   /* the dispatch that last took it */
};

/* Every watch of the process: one epoll set, one source on the default context. */
typedef struct {
	GSource source;
	int epfd;
	gpointer tag;
	guint n; /* live watches */
	GQueue kicks;
	GPtrArray *dead;
	guint depth; /* dispatches under way (a callback may run a nested loop) */
	guint64 serial;
} WatchSet;

static WatchSet *watch_set;

static gboolean
set_prepare(GSource *source, gint *timeout)
{
	*timeout = -1;
	return ((WatchSet *)source)->kicks.length > 0;
}

static gboolean
set_check(GSource *source)
{
	WatchSet *set = (WatchSet *)source;

	return set->kicks.length > 0 || (g_source_query_unix_fd(source, set->tag) & G_IO_IN);
}

static GIOCondition
from_epoll(uint32_t ev)
{
	return (ev & EPOLLIN ? G_IO_IN : 0) | (ev & EPOLLOUT ? G_IO_OUT : 0) |
	       (ev & EPOLLPRI ? G_IO_PRI : 0) | (ev & EPOLLHUP ? G_IO_HUP : 0) |
	       (ev & EPOLLERR ? G_IO_ERR : 0);
}

static uint32_t
to_epoll(GIOCondition cond)
{
	return (cond & G_IO_IN ? EPOLLIN : 0) | (cond & G_IO_OUT ? EPOLLOUT : 0) |
	       (cond & G_IO_PRI ? EPOLLPRI : 0);
}

static void
unkick(WatchSet *set, TrIoWatch *w)
{
	if (w->kicked) {
		g_queue_unlink(&set->kicks, &w->kick_link);
		w->kicked = FALSE;
	}
}

static void
set_free_dead(WatchSet *set)
{
	g_ptr_array_set_size(set->dead, 0);
	if (set->n == 0) {
		/* The last watch went: so does the set (GLib holds the source
		 * until its dispatch returns). */
		watch_set = NULL;
		g_source_destroy(&set->source);
		g_source_unref(&set->source);
	}
}

static gboolean
set_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	WatchSet *set = (WatchSet *)source;
	struct epoll_event ev[BATCH];
	struct {
		TrIoWatch *w;
		GIOCondition cond;
	} due[2 * BATCH];
	guint n_due = 0, n_kicks = 0;
	int n;

	(void)callback;
	(void)user_data;
	set->depth++;
	set->serial++;
	n = epoll_wait(set->epfd, ev, BATCH, 0);
	for (int i = 0; i < n; i++) {
		TrIoWatch *w = ev[i].data.ptr;

		unkick(set, w);
		w->stamp = set->serial;
		due[n_due].w = w;
		due[n_due++].cond = from_epoll(ev[i].events);
	}
	/* Kicks queued before this dispatch, a batch of them; later ones wait. */
	while (set->kicks.length > 0 && n_kicks++ < BATCH) {
		TrIoWatch *w = set->kicks.head->data;

		unkick(set, w);
		if (w->stamp == set->serial)
			continue; /* served above */
		due[n_due].w = w;
		due[n_due++].cond = 0;
	}
	/* No watch is freed before the end (see tr_io_watch_free): the pointers hold. */
	for (guint i = 0; i < n_due; i++)
		if (!due[i].w->dead)
			due[i].w->func(due[i].w->fd, due[i].cond, due[i].w->user_data);
	if (--set->depth == 0)
		set_free_dead(set);
	return G_SOURCE_CONTINUE;
}

static void
set_finalize(GSource *source)
{
	WatchSet *set = (WatchSet *)source;

	g_ptr_array_unref(set->dead);
	close(set->epfd);
}

static GSourceFuncs set_funcs = {
        .prepare = set_prepare,
        .check = set_check,
        .dispatch = set_dispatch,
        .finalize = set_finalize,
};

static WatchSet *
set_get(void)
{
	WatchSet *set;
	int epfd;

	if (watch_set)
		return watch_set;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		g_error("cannot create an epoll set: %s", g_strerror(errno));
	set = (WatchSet *)g_source_new(&set_funcs, sizeof(WatchSet));
	set->epfd = epfd;
	set->tag = g_source_add_unix_fd(&set->source, epfd, G_IO_IN);
	g_queue_init(&set->kicks);
	set->dead = g_ptr_array_new_with_free_func(g_free);
	g_source_set_name(&set->source, "trellis-io-watch");
	/* A callback running a nested loop must not stall every other socket. */
	g_source_set_can_recurse(&set->source, TRUE);
	g_source_attach(&set->source, NULL);
	watch_set = set;
	return set;
}

TrIoWatch *
tr_io_watch_new(int fd, GIOCondition events, TrWatchFunc func, gpointer user_data)
{
	WatchSet *set = set_get();
	TrIoWatch *w = g_new0(TrIoWatch, 1);
	struct epoll_event e = {.events = to_epoll(events), .data.ptr = w};

	w->fd = fd;
	w->events = events;
	w->func = func;
	w->user_data = user_data;
	w->kick_link.data = w;
	/* Only for lack of memory or of fs.epoll.max_user_watches: the socket is
	 * never ready, and its owner's timeout ends it. */
	if (epoll_ctl(set->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		g_warning("cannot watch descriptor %d: %s", fd, g_strerror(errno));
	set->n++;
	return w;
}

void
tr_io_watch_modify(TrIoWatch *w, GIOCondition events)
{
	struct epoll_event e = {.events = to_epoll(events), .data.ptr = w};

	if (w->events == events)
		return; /* the common case: a message queued behind another */
	w->events = events;
	if (epoll_ctl(watch_set->epfd, EPOLL_CTL_MOD, w->fd, &e) < 0)
		g_warning("cannot change the watch of descriptor %d: %s", w->fd, g_strerror(errno));
}

void
tr_io_watch_kick(TrIoWatch *w)
{
	if (w->kicked)
		return;
	w->kicked = TRUE;
	/* (the main thread's: the next iteration's prepare sees it) */
	g_queue_push_tail_link(&watch_set->kicks, &w->kick_link);
}

void
tr_io_watch_free(TrIoWatch *w)
{
	WatchSet *set = watch_set;

	if (w == NULL)
		return;
	epoll_ctl(set->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	unkick(set, w);
	set->n--;
	if (set->depth > 0) {
		w->dead = TRUE;
		g_ptr_array_add(set->dead, w);
		return;
	}
	g_free(w);
	set_free_dead(set);
}

#else /* not Linux: a source per socket */

struct TrIoWatch {
	GSource source;
	gpointer tag;
	int fd;
	TrWatchFunc func;
	gpointer user_data;
};

static gboolean
watch_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	TrIoWatch *w = (TrIoWatch *)source;

	(void)callback;
	(void)user_data;
	g_source_set_ready_time(source, -1);
	w->func(w->fd, tr_watch_query(source, w->tag), w->user_data);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_funcs = {
        .dispatch = watch_dispatch,
};

TrIoWatch *
tr_io_watch_new(int fd, GIOCondition events, TrWatchFunc func, gpointer user_data)
{
	TrIoWatch *w = (TrIoWatch *)g_source_new(&watch_funcs, sizeof(TrIoWatch));

	w->fd = fd;
	w->func = func;
	w->user_data = user_data;
	w->tag = tr_watch_add(&w->source, fd, events);
	g_source_set_name(&w->source, "trellis-io-watch");
	/*
	 * GLib blocks a source that cannot recurse for the time of its dispatch
	 * by taking its descriptor out of the context's poll list and putting it
	 * back afterwards; both walk that list, which holds one entry per socket.
	 * No callback runs a nested loop on its own socket.
	 */
	g_source_set_can_recurse(&w->source, TRUE);
	g_source_attach(&w->source, NULL);
	return w;
}

void
tr_io_watch_modify(TrIoWatch *w, GIOCondition events)
{
	tr_watch_modify(&w->source, w->tag, events);
}

void
tr_io_watch_kick(TrIoWatch *w)
{
	g_source_set_ready_time(&w->source, 0);
}

void
tr_io_watch_free(TrIoWatch *w)
{
	if (w == NULL)
		return;
	g_source_destroy(&w->source);
	g_source_unref(&w->source);
}

#endif
