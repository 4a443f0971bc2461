/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Sockets (and wakeups, platform/udp.h) watched by the GLib main loop, the
 * same on every OS: level-triggered, as poll() is. On POSIX these are
 * GLib's unix-fd calls. On Windows, where GLib polls event handles, a socket
 * gets an event through WSAEventSelect and its readiness is asked of WSAPoll
 * before each wait; a wakeup already is an event.
 */
typedef gboolean (*TrWatchFunc)(int fd, GIOCondition condition, gpointer user_data);

/* Watches @fd for @events as part of @source: the source dispatches when it is ready. */
gpointer tr_watch_add(GSource *source, int fd, GIOCondition events);
void tr_watch_modify(GSource *source, gpointer tag, GIOCondition events);
/* What is ready, in the source's dispatch. */
GIOCondition tr_watch_query(GSource *source, gpointer tag);

/* A source of its own for @fd, attached to the default context (as g_unix_fd_add). */
guint tr_watch_fd(int fd, GIOCondition events, TrWatchFunc func, gpointer user_data);

G_END_DECLS
