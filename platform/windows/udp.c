/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * platform/udp.h on Windows: Winsock UDP sockets (no segmentation offload,
 * no receive coalescing, no SO_REUSEPORT groups: one socket, batches are
 * loops), a poller over sockets and event handles, and a wakeup that is a
 * manual-reset event.
 *
 * The poller is level-triggered like poll(): each wait first asks every
 * socket (WSAPoll with no timeout) and every handle (a zero wait) whether it
 * is ready, and sleeps in WaitForMultipleObjects only when none is; socket
 * activity wakes it through an event bound with WSAEventSelect.
 */
#include "platform/net.h"
#include "platform/udp.h"
#include "platform/windows/windows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
tr_udp_open(const struct sockaddr *addr, socklen_t addr_len, unsigned flags, int bufsize,
            TrPlatError *err)
{
	char ebuf[256];
	SOCKET s;
	DWORD off = 0, on = 1;
	int rc = tr_net_init(err);

	if (rc < 0)
		return rc;
	if (flags & TR_UDP_REUSEPORT)
		return tr_plat_error_set(err, EOPNOTSUPP,
		                         "Windows has no SO_REUSEPORT groups: one UDP socket only");
	s = WSASocketW(addr->sa_family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0,
	               WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
	if (s == INVALID_SOCKET)
		return tr_plat_error_set(
		        err, tr_sock_errno(), "cannot create a UDP socket: %s",
		        tr_win_strerror((DWORD)WSAGetLastError(), ebuf, sizeof(ebuf)));
	if (addr->sa_family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&off, sizeof(off));
	if (bufsize > 0) {
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, (const char *)&bufsize, sizeof(bufsize));
		setsockopt(s, SOL_SOCKET, SO_SNDBUF, (const char *)&bufsize, sizeof(bufsize));
	}
	/* Never fragment: path MTU discovery finds what fits (pmtu.h). */
	setsockopt(s, IPPROTO_IP, IP_DONTFRAGMENT, (const char *)&on, sizeof(on));
	if (addr->sa_family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_DONTFRAG, (const char *)&on, sizeof(on));
	tr_win_udp_no_connreset(s);
	if (bind(s, addr, addr_len) != 0) {
		rc = tr_plat_error_set(
		        err, tr_sock_errno(), "cannot bind the UDP socket: %s",
		        tr_win_strerror((DWORD)WSAGetLastError(), ebuf, sizeof(ebuf)));
		closesocket(s);
		return rc;
	}
	rc = tr_sock_set_nonblocking((int)s, err);
	if (rc < 0) {
		closesocket(s);
		return rc;
	}
	return (int)s;
}

bool
tr_udp_has_gso(int fd)
{
	(void)fd;
	return false;
}

bool
tr_udp_has_gro(int fd)
{
	(void)fd;
	return false;
}

int
tr_udp_steer(const int *fds, unsigned n, unsigned offset, TrPlatError *err)
{
	(void)fds;
	(void)n;
	(void)offset;
	return tr_plat_error_set(err, EOPNOTSUPP, "steering datagrams needs Linux");
}

int
tr_udp_recv_batch(int fd, TrUdpMsg *msgs, unsigned n)
{
	unsigned got = 0;

	while (got < n) {
		TrUdpMsg *m = &msgs[got];
		int len = sizeof(m->addr);
		int r = recvfrom((SOCKET)fd, (char *)m->data, (int)m->size, 0,
		                 (struct sockaddr *)&m->addr, &len);

		m->segment = 0;
		m->rx_usec = 0;
		if (r == SOCKET_ERROR) {
			int e = WSAGetLastError();
			if (e == WSAEMSGSIZE) { /* truncated: dropped, reported with len 0 */
				m->len = 0;
				m->addr_len = len;
				got++;
				continue;
			}
			if (e == WSAECONNRESET)
				continue;
			if (got > 0)
				break;
			return -tr_win_sock_errno(e);
		}
		m->len = (size_t)r;
		m->addr_len = len;
		got++;
	}
	return (int)got;
}

/* Sends one message, segment by segment; 0 or a negative errno. */
static int
send_one(SOCKET s, TrUdpMsg *m)
{
	size_t seg = m->segment ? m->segment : m->len;
	size_t off = 0;

	if (m->len == 0)
		seg = 0;
	do {
		size_t n = m->len - off < seg ? m->len - off : seg;
		int r = sendto(s, (const char *)m->data + off, (int)n, 0,
		               (const struct sockaddr *)&m->addr, m->addr_len);
		if (r == SOCKET_ERROR) {
			/* cut short partway: counts as sent, the rest is lost (udp.h) */
			if (off > 0)
				return 0;
			return -tr_sock_errno();
		}
		off += n;
	} while (off < m->len);
	return 0;
}

int
tr_udp_send_batch(int fd, TrUdpMsg *msgs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int r;

		msgs[i].flags = 0;
		r = send_one((SOCKET)fd, &msgs[i]);
		if (r < 0)
			return i > 0 ? (int)i : r;
	}
	return (int)n;
}

/* ---- Poller -------------------------------------------------------------- */

#define POLLER_MAX (MAXIMUM_WAIT_OBJECTS - 1)

typedef struct {
	intptr_t fd;
	uint32_t tag;
	uint32_t events;
	bool socket;
	HANDLE event; /* sockets: bound with WSAEventSelect; handles: the handle */
} Entry;

struct TrPoller {
	Entry e[POLLER_MAX];
	unsigned n;
};

TrPoller *
tr_poller_new(TrPlatError *err)
{
	TrPoller *p;

	if (tr_net_init(err) < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		tr_plat_error_set(err, ENOMEM, "out of memory");
	return p;
}

static void
entry_clear(Entry *e)
{
	if (e->socket) {
		WSAEventSelect((SOCKET)e->fd, NULL, 0);
		WSACloseEvent(e->event);
	}
}

void
tr_poller_free(TrPoller *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++)
		entry_clear(&p->e[i]);
	free(p);
}

static Entry *
find(TrPoller *p, int fd)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->e[i].fd == (intptr_t)fd)
			return &p->e[i];
	return NULL;
}

int
tr_poller_add(TrPoller *p, int fd, uint32_t tag, uint32_t events)
{
	Entry *e;
	int type;
	int len = sizeof(type);

	if (find(p, fd))
		return -EEXIST;
	if (p->n == POLLER_MAX)
		return -ENOSPC;
	e = &p->e[p->n];
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->tag = tag;
	e->events = events;
	/* A socket, or else an event handle (a device queue, a wakeup). */
	e->socket = getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0;
	if (e->socket) {
		e->event = WSACreateEvent();
		if (e->event == WSA_INVALID_EVENT)
			return -ENOMEM;
		if (WSAEventSelect((SOCKET)fd, e->event, FD_READ | FD_WRITE | FD_CLOSE) != 0) {
			WSACloseEvent(e->event);
			return -tr_sock_errno();
		}
	} else {
		e->event = (HANDLE)(intptr_t)fd;
	}
	p->n++;
	return 0;
}

int
tr_poller_mod(TrPoller *p, int fd, uint32_t tag, uint32_t events)
{
	Entry *e = find(p, fd);

	if (!e)
		return -ENOENT;
	e->tag = tag;
	e->events = events;
	return 0;
}

int
tr_poller_del(TrPoller *p, int fd)
{
	Entry *e = find(p, fd);

	if (!e)
		return -ENOENT;
	entry_clear(e);
	*e = p->e[--p->n];
	return 0;
}

/* What is ready now, without waiting. */
static int
ready(TrPoller *p, TrPollEvent *events, unsigned n)
{
	WSAPOLLFD pfd[POLLER_MAX];
	Entry *sock[POLLER_MAX];
	unsigned ns = 0, got = 0;

	for (unsigned i = 0; i < p->n; i++) {
		Entry *e = &p->e[i];
		if (e->socket) {
			WSANETWORKEVENTS ne;
			/* resets the event: what it records now is new */
			WSAEnumNetworkEvents((SOCKET)e->fd, e->event, &ne);
			pfd[ns].fd = (SOCKET)e->fd;
			pfd[ns].events = (SHORT)((e->events & TR_POLL_IN ? POLLRDNORM : 0) |
			                         (e->events & TR_POLL_OUT ? POLLWRNORM : 0));
			pfd[ns].revents = 0;
			sock[ns++] = e;
		} else if ((e->events & TR_POLL_IN) && got < n &&
		           WaitForSingleObject(e->event, 0) == WAIT_OBJECT_0) {
			events[got].tag = e->tag;
			events[got++].events = TR_POLL_IN;
		}
	}
	if (ns > 0 && WSAPoll(pfd, ns, 0) > 0) {
		for (unsigned i = 0; i < ns && got < n; i++) {
			uint32_t ev = 0;
			if (pfd[i].revents & (POLLRDNORM | POLLERR | POLLHUP | POLLNVAL))
				ev |= TR_POLL_IN;
			if (pfd[i].revents & POLLWRNORM)
				ev |= TR_POLL_OUT;
			ev &= sock[i]->events | TR_POLL_IN;
			if (ev) {
				events[got].tag = sock[i]->tag;
				events[got++].events = ev;
			}
		}
	}
	return (int)got;
}

int
tr_poller_wait(TrPoller *p, TrPollEvent *events, unsigned n, int timeout_ms)
{
	HANDLE handles[POLLER_MAX];
	int got = ready(p, events, n);

	if (got > 0 || timeout_ms == 0 || p->n == 0)
		return got;
	for (unsigned i = 0; i < p->n; i++)
		handles[i] = p->e[i].event;
	if (WaitForMultipleObjects(p->n, handles, FALSE,
	                           timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms) == WAIT_TIMEOUT)
		return 0;
	return ready(p, events, n);
}

/* ---- Wakeup: a manual-reset event; rfd and wfd are its handle ----------------- */

int
tr_wakeup_open(TrWakeup *w, TrPlatError *err)
{
	char ebuf[256];
	HANDLE h = CreateEventA(NULL, TRUE, FALSE, NULL);

	if (!h)
		return tr_plat_error_set(err, ENOMEM, "cannot create an event: %s",
		                         tr_win_strerror(GetLastError(), ebuf, sizeof(ebuf)));
	w->rfd = w->wfd = (int)(intptr_t)h;
	return 0;
}

void
tr_wakeup_close(TrWakeup *w)
{
	if (w->rfd != -1)
		CloseHandle((HANDLE)(intptr_t)w->rfd);
	w->rfd = w->wfd = -1;
}

void
tr_wakeup_signal(TrWakeup *w)
{
	SetEvent((HANDLE)(intptr_t)w->wfd);
}

void
tr_wakeup_clear(TrWakeup *w)
{
	ResetEvent((HANDLE)(intptr_t)w->rfd);
}
