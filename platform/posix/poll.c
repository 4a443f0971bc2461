/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The poller on poll() and the wakeup on a pipe, where there is no epoll and
 * no eventfd (the BSDs, macOS). Linux has linux/poll.c. A poller is used by
 * one thread at a time.
 */
#include "platform/posix/posix.h"
#include "platform/udp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct TrPoller {
	struct pollfd *fds;
	uint32_t *tags;
	size_t n, cap;
};

TrPoller *
tr_poller_new(TrPlatError *err)
{
	TrPoller *p = calloc(1, sizeof(*p));

	if (!p)
		tr_plat_error_set(err, ENOMEM, "out of memory");
	return p;
}

void
tr_poller_free(TrPoller *p)
{
	if (!p)
		return;
	free(p->fds);
	free(p->tags);
	free(p);
}

static short
to_poll(uint32_t events)
{
	short e = 0;

	if (events & TR_POLL_IN)
		e |= POLLIN;
	if (events & TR_POLL_OUT)
		e |= POLLOUT;
	return e;
}

static size_t
find(const TrPoller *p, int fd)
{
	size_t i;

	for (i = 0; i < p->n && p->fds[i].fd != fd; i++)
		;
	return i;
}

int
tr_poller_add(TrPoller *p, int fd, uint32_t tag, uint32_t events)
{
	if (fd < 0)
		return -EBADF;
	if (find(p, fd) < p->n)
		return -EEXIST;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct pollfd *fds = realloc(p->fds, cap * sizeof(*fds));
		uint32_t *tags;

		if (!fds)
			return -ENOMEM;
		p->fds = fds;
		tags = realloc(p->tags, cap * sizeof(*tags));
		if (!tags)
			return -ENOMEM;
		p->tags = tags;
		p->cap = cap;
	}
	p->fds[p->n] = (struct pollfd){.fd = fd, .events = to_poll(events)};
	p->tags[p->n] = tag;
	p->n++;
	return 0;
}

int
tr_poller_mod(TrPoller *p, int fd, uint32_t tag, uint32_t events)
{
	size_t i = find(p, fd);

	if (i == p->n)
		return -ENOENT;
	p->fds[i].events = to_poll(events);
	p->tags[i] = tag;
	return 0;
}

int
tr_poller_del(TrPoller *p, int fd)
{
	size_t i = find(p, fd);

	if (i == p->n)
		return -ENOENT;
	p->n--;
	p->fds[i] = p->fds[p->n];
	p->tags[i] = p->tags[p->n];
	return 0;
}

int
tr_poller_wait(TrPoller *p, TrPollEvent *events, unsigned n, int timeout_ms)
{
	unsigned k = 0;
	int r;

	if (n == 0)
		return -EINVAL;
	r = poll(p->fds, (nfds_t)p->n, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno; /* a signal: as a timeout */
	for (size_t i = 0; i < p->n && k < n && r > 0; i++) {
		short re = p->fds[i].revents;

		if (!re)
			continue;
		r--;
		events[k].tag = p->tags[i];
		events[k].events = 0;
		if (re & (POLLIN | POLLERR | POLLHUP | POLLNVAL))
			events[k].events |= TR_POLL_IN;
		if (re & POLLOUT)
			events[k].events |= TR_POLL_OUT;
		k++;
	}
	return (int)k;
}

/* pipe2 is missing on macOS: pipe, then the flags. */
int
tr_wakeup_open(TrWakeup *w, TrPlatError *err)
{
	char ebuf[128];
	int fds[2], e;

	w->rfd = w->wfd = -1;
	if (pipe(fds) < 0)
		return tr_plat_error_set(err, errno, "cannot create a pipe: %s",
		                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
	for (int i = 0; i < 2; i++) {
		if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0 ||
		    fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK) < 0) {
			e = errno;
			close(fds[0]);
			close(fds[1]);
			return tr_plat_error_set(err, e, "cannot set up the wakeup pipe: %s",
			                         tr_plat_strerror(e, ebuf, sizeof(ebuf)));
		}
	}
	w->rfd = fds[0];
	w->wfd = fds[1];
	return 0;
}

void
tr_wakeup_close(TrWakeup *w)
{
	if (w->rfd >= 0)
		close(w->rfd);
	if (w->wfd >= 0 && w->wfd != w->rfd)
		close(w->wfd);
	w->rfd = w->wfd = -1;
}

void
tr_wakeup_signal(TrWakeup *w)
{
	char c = 1;

	/* a full pipe is readable already */
	if (write(w->wfd, &c, 1) < 0)
		return;
}

void
tr_wakeup_clear(TrWakeup *w)
{
	char buf[64];

	while (read(w->rfd, buf, sizeof(buf)) > 0)
		;
}
