/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/watch.h"

#ifndef G_OS_WIN32

#include <glib-unix.h>

gpointer
tr_watch_add(GSource *source, int fd, GIOCondition events)
{
	return g_source_add_unix_fd(source, fd, events);
}

void
tr_watch_modify(GSource *source, gpointer tag, GIOCondition events)
{
	g_source_modify_unix_fd(source, tag, events);
}

GIOCondition
tr_watch_query(GSource *source, gpointer tag)
{
	return g_source_query_unix_fd(source, tag);
}

guint
tr_watch_fd(int fd, GIOCondition events, TrWatchFunc func, gpointer user_data)
{
	return g_unix_fd_add(fd, events, (GUnixFDSourceFunc)func, user_data);
}

#else /* G_OS_WIN32 */

#include <winsock2.h>
#include <windows.h>

/*
 * One watched descriptor: a child source of the source that watches it (a
 * ready child makes its parent dispatch), or a source of its own.
 */
typedef struct {
	GSource source;
	GPollFD pfd;
	SOCKET sock; /* INVALID_SOCKET: pfd.fd is an event handle */
	GIOCondition events;
	GIOCondition ready;
	int fd;
} Watch;

#define WATCH_EVENTS (FD_READ | FD_WRITE | FD_ACCEPT | FD_CONNECT | FD_CLOSE)

/* What is ready now, without waiting. */
static GIOCondition
watch_poll(Watch *w)
{
	if (w->sock == INVALID_SOCKET) {
		return (w->events & G_IO_IN) &&
		                       WaitForSingleObject((HANDLE)w->pfd.fd, 0) == WAIT_OBJECT_0
		               ? G_IO_IN
		               : 0;
	}
	WSANETWORKEVENTS ne;
	WSAPOLLFD p = {.fd = w->sock,
	               .events = (SHORT)((w->events & G_IO_IN ? POLLRDNORM : 0) |
	                                 (w->events & G_IO_OUT ? POLLWRNORM : 0))};
	GIOCondition c = 0;

	/*
	 * Bind the event again: a socket has one registration, shared by its
	 * duplicates, and another descriptor of it (GIO's, which the dialer
	 * duplicates and closes) may have cancelled ours. Then reset the event:
	 * what it records from here on is new.
	 */
	WSAEventSelect(w->sock, (WSAEVENT)w->pfd.fd, WATCH_EVENTS);
	WSAEnumNetworkEvents(w->sock, (WSAEVENT)w->pfd.fd, &ne);
	if (WSAPoll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & POLLRDNORM)
		c |= G_IO_IN;
	if (p.revents & POLLWRNORM)
		c |= G_IO_OUT;
	if (p.revents & POLLHUP)
		c |= G_IO_HUP;
	if (p.revents & (POLLERR | POLLNVAL))
		c |= G_IO_ERR;
	return c;
}

static gboolean
watch_prepare(GSource *source, gint *timeout)
{
	Watch *w = (Watch *)source;

	*timeout = -1;
	w->ready = watch_poll(w);
	return w->ready != 0;
}

static gboolean
watch_check(GSource *source)
{
	Watch *w = (Watch *)source;

	if (w->pfd.revents)
		w->ready = watch_poll(w);
	return w->ready != 0;
}

static gboolean
watch_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	Watch *w = (Watch *)source;
	GIOCondition ready = w->ready;

	w->ready = 0;
	/* A child of another source: its parent's dispatch does the work. */
	if (callback == NULL)
		return G_SOURCE_CONTINUE;
	return ((TrWatchFunc)(void *)callback)(w->fd, ready, user_data);
}

static void
watch_finalize(GSource *source)
{
	Watch *w = (Watch *)source;

	if (w->sock != INVALID_SOCKET) {
		WSAEventSelect(w->sock, NULL, 0);
		WSACloseEvent((WSAEVENT)w->pfd.fd);
	}
}

static GSourceFuncs watch_funcs = {
        .prepare = watch_prepare,
        .check = watch_check,
        .dispatch = watch_dispatch,
        .finalize = watch_finalize,
};

static Watch *
watch_new(int fd, GIOCondition events)
{
	Watch *w = (Watch *)g_source_new(&watch_funcs, sizeof(Watch));
	int type, len = sizeof(type);

	w->fd = fd;
	w->events = events;
	w->sock = INVALID_SOCKET;
	if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0) {
		WSAEVENT ev = WSACreateEvent();
		w->sock = (SOCKET)fd;
		w->pfd.fd = (gintptr)ev;
		/* (also makes the socket non-blocking, which every caller wants) */
		WSAEventSelect(w->sock, ev, WATCH_EVENTS);
	} else {
		w->pfd.fd = (gintptr)fd; /* an event handle: a wakeup */
	}
	w->pfd.events = G_IO_IN;
	g_source_add_poll(&w->source, &w->pfd);
	g_source_set_name(&w->source, "trellis-watch");
	return w;
}

gpointer
tr_watch_add(GSource *source, int fd, GIOCondition events)
{
	Watch *w = watch_new(fd, events);

	g_source_add_child_source(source, &w->source);
	g_source_unref(&w->source);
	return w;
}

void
tr_watch_modify(GSource *source, gpointer tag, GIOCondition events)
{
	Watch *w = tag;

	(void)source;
	w->events = events;
	/* poll() would report it at once if it is ready already */
	if (watch_poll(w))
		SetEvent((HANDLE)w->pfd.fd);
}

GIOCondition
tr_watch_query(GSource *source, gpointer tag)
{
	Watch *w = tag;

	(void)source;
	return watch_poll(w);
}

guint
tr_watch_fd(int fd, GIOCondition events, TrWatchFunc func, gpointer user_data)
{
	Watch *w = watch_new(fd, events);
	guint id;

	g_source_set_callback(&w->source, (GSourceFunc)(void *)func, user_data, NULL);
	id = g_source_attach(&w->source, NULL);
	g_source_unref(&w->source);
	return id;
}

#endif
