/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Data-path UDP where there is no recvmmsg/sendmmsg, UDP_SEGMENT or UDP_GRO
 * (the BSDs, macOS): one system call per datagram, segments sent one by one,
 * no steering. Linux has linux/udp.c.
 */
#include "platform/posix/posix.h"
#include "platform/udp.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

int
tr_udp_open(const struct sockaddr *addr, socklen_t addr_len, unsigned flags, int bufsize,
            TrPlatError *err)
{
	/* TR_UDP_GRO and TR_UDP_TIMESTAMP are ignored: no receive coalescing here, and
	 * receive times are not asked for */
	return tr_posix_udp_socket(
	        addr, addr_len, flags & ~(unsigned)(TR_UDP_GRO | TR_UDP_TIMESTAMP), bufsize, err);
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
	return tr_plat_error_set(err, EOPNOTSUPP,
	                         "steering datagrams among sockets needs Linux (classic BPF)");
}

int
tr_udp_recv_batch(int fd, TrUdpMsg *msgs, unsigned n)
{
	unsigned i;

	if (n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		TrUdpMsg *m = &msgs[i];
		struct iovec iov = {.iov_base = m->data, .iov_len = m->size};
		struct msghdr h = {
		        .msg_name = &m->addr,
		        .msg_namelen = sizeof(m->addr),
		        .msg_iov = &iov,
		        .msg_iovlen = 1,
		};
		ssize_t r;

		do
			r = recvmsg(fd, &h, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return i > 0 ? (int)i : -errno;
		m->len = (h.msg_flags & MSG_TRUNC) ? 0 : (size_t)r; /* did not fit: dropped */
		m->addr_len = h.msg_namelen;
		m->segment = 0;
		m->rx_usec = 0;
	}
	return (int)i;
}

/* One datagram; EINTR retried. */
static int
send_one(int fd, const TrUdpMsg *m, const uint8_t *data, size_t len)
{
	ssize_t r;

	do
		r = sendto(fd, data, len, MSG_DONTWAIT, (const struct sockaddr *)&m->addr,
		           m->addr_len);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/*
 * A message with ->segment goes out as one datagram per segment. One whose
 * send stops partway counts as sent; the rest is lost like any datagram.
 */
int
tr_udp_send_batch(int fd, TrUdpMsg *msgs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		msgs[i].flags = 0;
	for (unsigned i = 0; i < n; i++) {
		const TrUdpMsg *m = &msgs[i];
		size_t seg = m->segment && m->segment < m->len ? m->segment : m->len;
		size_t off = 0;

		do {
			size_t len = m->len - off < seg ? m->len - off : seg;
			int rc = send_one(fd, m, m->data + off, len);

			if (rc < 0) {
				if (off > 0)
					return (int)i + 1;
				return i > 0 ? (int)i : rc;
			}
			off += len;
		} while (off < m->len);
	}
	return (int)n;
}
