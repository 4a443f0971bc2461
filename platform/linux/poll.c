/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The poller on epoll and the wakeup on an eventfd. */
#include "platform/posix/posix.h"
#include "platform/udp.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define WAIT_MAX 64 /* events taken per epoll_wait */

struct TrPoller {
	int epfd;
};

TrPoller *
tr_poller_new(TrPlatError *err)
{
	char ebuf[128];
	TrPoller *p = calloc(1, sizeof(*p));

	if (!p) {
		tr_plat_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0) {
		tr_plat_error_set(err, errno, "cannot create an epoll instance: %s",
		                  tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
		free(p);
		return NULL;
	}
	return p;
}

void
tr_poller_free(TrPoller *p)
{
	if (!p)
		return;
	close(p->epfd);
	free(p);
}

static int
ctl(TrPoller *p, int op, int fd, uint32_t tag, uint32_t events)
{
	struct epoll_event e = {.data.u64 = tag};

	if (events & TR_POLL_IN)
		e.events |= EPOLLIN;
	if (events & TR_POLL_OUT)
		e.events |= EPOLLOUT;
	if (events & TR_POLL_EXCLUSIVE)
		e.events |= EPOLLEXCLUSIVE;
	return epoll_ctl(p->epfd, op, fd, &e) == 0 ? 0 : -errno;
}

int
tr_poller_add(TrPoller *p, int fd, uint32_t tag, uint32_t events)
{
	return ctl(p, EPOLL_CTL_ADD, fd, tag, events);
}

int
tr_poller_mod(TrPoller *p, int fd, uint32_t tag, uint32_t events)
{
	return ctl(p, EPOLL_CTL_MOD, fd, tag, events);
}

int
tr_poller_del(TrPoller *p, int fd)
{
	return ctl(p, EPOLL_CTL_DEL, fd, 0, 0);
}

int
tr_poller_wait(TrPoller *p, TrPollEvent *events, unsigned n, int timeout_ms)
{
	struct epoll_event ev[WAIT_MAX];
	int r;

	if (n == 0)
		return -EINVAL;
	r = epoll_wait(p->epfd, ev, n < WAIT_MAX ? (int)n : WAIT_MAX, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno; /* a signal: as a timeout */
	for (int i = 0; i < r; i++) {
		events[i].tag = (uint32_t)ev[i].data.u64;
		events[i].events = 0;
		if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
			events[i].events |= TR_POLL_IN;
		if (ev[i].events & EPOLLOUT)
			events[i].events |= TR_POLL_OUT;
	}
	return r;
}

int
tr_wakeup_open(TrWakeup *w, TrPlatError *err)
{
	char ebuf[128];
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0) {
		w->rfd = w->wfd = -1;
		return tr_plat_error_set(err, errno, "cannot create an eventfd: %s",
		                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
	}
	w->rfd = w->wfd = fd;
	return 0;
}

void
tr_wakeup_close(TrWakeup *w)
{
	if (w->rfd >= 0)
		close(w->rfd);
	w->rfd = w->wfd = -1;
}

void
tr_wakeup_signal(TrWakeup *w)
{
	uint64_t one = 1;

	/* only fails when the counter is about to overflow: readable anyway */
	if (write(w->wfd, &one, sizeof(one)) < 0)
		return;
}

void
tr_wakeup_clear(TrWakeup *w)
{
	uint64_t count;

	if (read(w->rfd, &count, sizeof(count)) < 0)
		return; /* EAGAIN: nothing to clear */
}
