/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/base/watch.h"

G_BEGIN_DECLS

/*
 * Sockets that come by the thousand (a hub's control connections), watched
 * by the default main context at a cost that does not grow with their number.
 *
 * On Linux they share one epoll set behind one GSource: the main loop polls
 * one descriptor and walks one source per iteration, whatever the number of
 * sockets, and a dispatch takes up to a batch of ready ones (level-triggered,
 * in the order epoll gives them: a socket that stays ready goes to the back).
 * Elsewhere each socket has a source of its own (common/base/watch.h), as
 * poll() and Windows' events need.
 *
 * The callback gets what is ready (0 after a kick alone); its return value is
 * ignored (the watch stays until freed). It may free any watch, itself too.
 */
typedef struct TrIoWatch TrIoWatch;

/* Watches @fd for @events on the default main context. */
TrIoWatch *tr_io_watch_new(int fd, GIOCondition events, TrWatchFunc func, gpointer user_data);
void tr_io_watch_modify(TrIoWatch *w, GIOCondition events);
/* Calls the callback at the next iteration even when nothing is ready (once). */
void tr_io_watch_kick(TrIoWatch *w);
/* Stops watching (before @fd is closed) and frees @w; its callback is not called again. */
void tr_io_watch_free(TrIoWatch *w);

G_END_DECLS
