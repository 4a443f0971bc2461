/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linux UDP for the data path: recvmmsg and sendmmsg, UDP_SEGMENT as a
 * control message per message (so one batch may mix sizes), UDP_GRO, and a
 * classic BPF program that steers datagrams within an SO_REUSEPORT group.
 */
#include "platform/posix/posix.h"
#include "platform/udp.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
/* Kernel-internal, yet what some drivers' refusals reach user space as. */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

#define BATCH 64 /* mmsghdr entries per system call */
/*
 * Segments per UDP_SEGMENT send: the kernel's UDP_MAX_SEGMENTS was 64 up to
 * Linux 6.8 and is 128 since; more is -EINVAL.
 */
#define GSO_MAX_SEGMENTS 64
/* The largest UDP payload over IPv4 (IPv6 allows 20 bytes more). */
#define UDP_MAX_PAYLOAD 65507

/*
 * What is known about each socket, indexed by fd (fds past the table are
 * probed on every call instead). Worker threads use different fds, and the
 * flags only ever turn on between opens: relaxed atomics suffice.
 */
#define FD_TABLE 65536
enum {
	FD_GSO_PROBED = 1 << 0,
	FD_GSO_OK = 1 << 1,     /* getsockopt(UDP_SEGMENT) works */
	FD_GSO_BROKEN = 1 << 2, /* a UDP_SEGMENT send was refused: emulate from now on */
	FD_GRO = 1 << 3,        /* UDP_GRO was turned on at open */
};
static _Atomic uint8_t fd_state[FD_TABLE];

static unsigned
state_get(int fd)
{
	return fd >= 0 && fd < FD_TABLE ? atomic_load_explicit(&fd_state[fd], memory_order_relaxed)
	                                : 0;
}

static void
state_add(int fd, unsigned bits)
{
	if (fd >= 0 && fd < FD_TABLE)
		atomic_fetch_or_explicit(&fd_state[fd], (uint8_t)bits, memory_order_relaxed);
}

int
tr_udp_open(const struct sockaddr *addr, socklen_t addr_len, unsigned flags, int bufsize,
            TrPlatError *err)
{
	int fd = tr_posix_udp_socket(addr, addr_len, flags, bufsize, err);
	int one = 1;

	if (fd < 0)
		return fd;
	/* the fd number may have been another socket's */
	if (fd < FD_TABLE)
		atomic_store_explicit(&fd_state[fd], 0, memory_order_relaxed);
	/* Linux 5.0+; without it datagrams simply come one by one */
	if ((flags & TR_UDP_GRO) && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0)
		state_add(fd, FD_GRO);
	/* without it ->rx_usec stays 0: nothing measures the wait */
	if (flags & TR_UDP_TIMESTAMP)
		(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	return fd;
}

bool
tr_udp_has_gso(int fd)
{
	unsigned st = state_get(fd);
	int size;
	socklen_t len = sizeof(size);
	bool ok;

	if (st & FD_GSO_BROKEN)
		return false;
	if (st & FD_GSO_PROBED)
		return (st & FD_GSO_OK) != 0;
	/* Linux 4.18+ knows the option; reading it costs nothing */
	ok = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, &len) == 0;
	state_add(fd, FD_GSO_PROBED | (ok ? FD_GSO_OK : 0));
	return ok;
}

bool
tr_udp_has_gro(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (state_get(fd) & FD_GRO)
		return true;
	/* not opened here or past the table: ask (Linux 5.19+ answers) */
	return getsockopt(fd, SOL_UDP, UDP_GRO, &on, &len) == 0 && on;
}

/*
 * The program runs with the packet starting at the UDP payload (the kernel
 * pulls the UDP header first: reuseport_select_sock's hdr_len). Its result
 * indexes the group's sockets in the order they joined. A load past the end
 * of a short datagram ends a classic BPF program with 0: socket 0, always
 * (an index >= the group size, which this program cannot return, would fall
 * back to the hash).
 */
int
tr_udp_steer(const int *fds, unsigned n, unsigned offset, TrPlatError *err)
{
	struct sock_filter code[] = {
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                 offset),                       /* A = ntohl(*(u32 *)(payload + offset)) */
	        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n), /* A %= n */
	        BPF_STMT(BPF_RET | BPF_A, 0),           /* socket A */
	};
	struct sock_fprog prog;
	struct sockaddr_storage first, other;
	socklen_t first_len = sizeof(first), other_len;
	char ebuf[128];

	if (!fds || n == 0 || n > 65535)
		return tr_plat_error_set(err, EINVAL, "steering needs 1 to 65535 sockets, not %u",
		                         n);
	if (offset > 65535 - 4)
		return tr_plat_error_set(err, EINVAL, "steering offset %u is past any datagram",
		                         offset);
	/* a cheap check that they are one group: the same local address */
	if (getsockname(fds[0], (struct sockaddr *)&first, &first_len) < 0)
		return tr_plat_error_set(err, errno, "steering: socket 0: %s",
		                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
	for (unsigned i = 1; i < n; i++) {
		other_len = sizeof(other);
		if (getsockname(fds[i], (struct sockaddr *)&other, &other_len) < 0 ||
		    other_len != first_len || memcmp(&first, &other, first_len) != 0)
			return tr_plat_error_set(
			        err, EINVAL, "steering: socket %u is not bound where socket 0 is",
			        i);
	}
	memset(&prog, 0, sizeof(prog)); /* the padding after .len too */
	prog.len = sizeof(code) / sizeof(code[0]);
	prog.filter = code;
	if (setsockopt(fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		return tr_plat_error_set(err, errno,
		                         "cannot attach the reuseport steering program: %s",
		                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
	return 0;
}

/* Room for the control messages either direction uses (receive: UDP_GRO's segment size
 * and the receive time). */
typedef union {
	char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct timespec))];
	struct cmsghdr align;
} Control;

int
tr_udp_recv_batch(int fd, TrUdpMsg *msgs, unsigned n)
{
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	Control ctl[BATCH];
	int r;

	if (n == 0)
		return -EINVAL;
	if (n > BATCH)
		n = BATCH;
	memset(mm, 0, n * sizeof(mm[0]));
	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = msgs[i].data;
		iov[i].iov_len = msgs[i].size;
		mm[i].msg_hdr.msg_name = &msgs[i].addr;
		mm[i].msg_hdr.msg_namelen = sizeof(msgs[i].addr);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_control = &ctl[i];
		mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
	}
	r = recvmmsg(fd, mm, n, MSG_DONTWAIT, NULL);
	if (r < 0)
		return -errno;
	for (int i = 0; i < r; i++) {
		TrUdpMsg *m = &msgs[i];
		struct msghdr *h = &mm[i].msg_hdr;

		m->len = mm[i].msg_len;
		m->addr_len = h->msg_namelen;
		m->segment = 0;
		m->rx_usec = 0;
		if (h->msg_flags & MSG_TRUNC) {
			m->len = 0; /* did not fit: dropped */
			continue;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
			int gso;
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
			    c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				m->rx_usec = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
				continue;
			}
			if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
			    c->cmsg_len < CMSG_LEN(sizeof(gso)))
				continue;
			memcpy(&gso, CMSG_DATA(c), sizeof(gso));
			if (gso > 0 && gso <= UINT16_MAX && (size_t)gso < m->len)
				m->segment = (uint16_t)gso;
		}
	}
	return r;
}

/* How many bytes of @m from @off the next entry carries. */
static size_t
entry_bytes(const TrUdpMsg *m, size_t off, bool gso, bool *with_segment)
{
	size_t left = m->len - off, seg = m->segment, most;

	*with_segment = false;
	if (seg == 0 || left <= seg)
		return left;
	if (!gso)
		return seg;
	most = UDP_MAX_PAYLOAD / seg;
	if (most > GSO_MAX_SEGMENTS)
		most = GSO_MAX_SEGMENTS;
	most = most ? most * seg : seg;
	*with_segment = left > seg && most > seg;
	return left < most ? left : most;
}

/*
 * The socket cannot segment at all: EIO, no checksum offload on the route's
 * device (or IPsec); EINVAL, SO_NO_CHECK (and, before Linux 6.x answered
 * EMSGSIZE, a segment larger than the path: GSO then goes off for the socket,
 * which path MTU discovery soon makes moot by sizing packets to the path).
 */
static bool
gso_unsupported(int e)
{
	return e == EIO || e == EINVAL || e == ENOTSUPP || e == EOPNOTSUPP;
}

/* This destination's path cannot take the segment size: larger than its MTU. */
static bool
gso_too_big(int e)
{
	return e == EMSGSIZE;
}

/*
 * Each message becomes one or more entries: one per UDP_SEGMENT run of at
 * most GSO_MAX_SEGMENTS (and 64 KiB), or without GSO one per segment. The
 * cursor (done, off) is the first byte not yet sent.
 */
int
tr_udp_send_batch(int fd, TrUdpMsg *msgs, unsigned n)
{
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	Control ctl[BATCH];
	bool with_segment[BATCH];
	unsigned done = 0, split = n; /* split: the message sent one datagram at a time */
	size_t off = 0;
	bool gso = tr_udp_has_gso(fd);

	for (unsigned i = 0; i < n; i++)
		msgs[i].flags = 0;
	while (done < n) {
		unsigned k = 0, m = done;
		size_t o = off;
		int r, e;

		while (k < BATCH && m < n) {
			TrUdpMsg *msg = &msgs[m];
			struct msghdr *h = &mm[k].msg_hdr;
			size_t bytes = entry_bytes(msg, o, gso && m != split, &with_segment[k]);

			memset(&mm[k], 0, sizeof(mm[k]));
			iov[k].iov_base = msg->data + o;
			iov[k].iov_len = bytes;
			h->msg_name = &msg->addr;
			h->msg_namelen = msg->addr_len;
			h->msg_iov = &iov[k];
			h->msg_iovlen = 1;
			if (with_segment[k]) {
				struct cmsghdr *c;
				uint16_t seg = msg->segment;

				memset(&ctl[k], 0, sizeof(ctl[k])); /* the padding too */
				h->msg_control = &ctl[k];
				h->msg_controllen = CMSG_SPACE(sizeof(seg));
				c = CMSG_FIRSTHDR(h);
				c->cmsg_level = SOL_UDP;
				c->cmsg_type = UDP_SEGMENT;
				c->cmsg_len = CMSG_LEN(sizeof(seg));
				memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			}
			o += bytes;
			if (o >= msg->len) {
				m++;
				o = 0;
			}
			k++;
		}
		r = sendmmsg(fd, mm, k, MSG_DONTWAIT);
		e = errno;
		for (int i = 0; i < r; i++) {
			off += mm[i].msg_len; /* bytes sent: all of the entry's */
			if (off >= msgs[done].len) {
				done++;
				off = 0;
			}
		}
		/* all sent, or stopped at an entry: the next call starts there and
		 * says why (sendmmsg does not tell when it sent some) */
		if (r > 0 || (r < 0 && e == EINTR))
			continue;
		if (r == 0)
			e = EAGAIN; /* not seen; but never spin */
		if (r < 0 && with_segment[0] && gso_too_big(e)) {
			/* this message again, one datagram per segment; the others keep GSO */
			split = done;
			msgs[done].flags |= TR_UDP_MSG_SPLIT;
			continue;
		}
		if (r < 0 && with_segment[0] && gso_unsupported(e)) {
			/* this message again, and every later one, one datagram per segment */
			state_add(fd, FD_GSO_BROKEN);
			gso = false;
			continue;
		}
		if (off > 0) {
			/* partly sent counts as sent; the rest is lost like any datagram */
			done++;
			off = 0;
		}
		return done > 0 ? (int)done : -e;
	}
	return (int)done;
}
