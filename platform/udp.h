/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * UDP sockets for the data path: batched receive and send (recvmmsg and
 * sendmmsg on Linux, a loop elsewhere), UDP segmentation offload on send
 * (UDP_SEGMENT: one buffer of equal-sized datagrams handed to the kernel in
 * one call) and receive coalescing (UDP_GRO: one buffer holding several
 * datagrams of one sender), SO_REUSEPORT groups with a steering program that
 * picks the socket from a 32-bit field of the datagram, and a poller.
 *
 * Plain C, no GLib, no allocation or logging on the packet path (the batch
 * calls). Functions return 0 (or a count) or a negative errno. Windows has
 * its own implementation (platform/windows/udp.c): no offloads, one socket.
 */
#include "platform/device.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "platform/net.h"

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One datagram buffer of a batch. */
typedef struct {
	uint8_t *data;
	size_t size; /* room at @data */
	size_t len;  /* bytes in use */
	/*
	 * Send: 0 sends @len bytes as one datagram; N > 0 sends them as
	 * consecutive datagrams of N bytes each (the last may be shorter) in one
	 * call (UDP_SEGMENT; emulated by one datagram per segment where the
	 * socket cannot). Receive: 0 for one datagram; N > 0 when the kernel
	 * coalesced several datagrams of N bytes each (the last may be shorter).
	 */
	uint16_t segment;
	/* Receive, with TR_UDP_TIMESTAMP: when the kernel queued it for the socket
	 * (CLOCK_REALTIME, microseconds); 0 when not known. */
	int64_t rx_usec;
	/* Send, set by tr_udp_send_batch: TR_UDP_MSG_* bits. */
	uint8_t flags;
	struct sockaddr_storage addr; /* receive: the source; send: the destination */
	socklen_t addr_len;
} TrUdpMsg;

/* ->flags after a send. */
#define TR_UDP_MSG_SPLIT 1u /* the path refused its segment size: sent one datagram at a time */

typedef enum {
	TR_UDP_REUSEPORT = 1 << 0, /* join the SO_REUSEPORT group bound to that address */
	TR_UDP_GRO = 1 << 1,       /* ask for receive coalescing (ignored where unsupported) */
	TR_UDP_TIMESTAMP = 1 << 2, /* receive times in ->rx_usec (Linux; ignored elsewhere) */
} TrUdpFlags;

/*
 * A non-blocking, close-on-exec UDP socket bound to @addr (an IPv6 wildcard
 * also takes IPv4: IPV6_V6ONLY off) that never fragments what it sends
 * (Don't Fragment set on IPv4, no local fragmentation on IPv6: path MTU
 * discovery, IP_PMTUDISC_DO, where the platform has it), with receive and send buffers of
 * @bufsize bytes (SO_RCVBUFFORCE/SO_SNDBUFFORCE when permitted, so root is not
 * held to net.core.rmem_max; the plain options otherwise). Returns the fd.
 */
int tr_udp_open(const struct sockaddr *addr, socklen_t addr_len, unsigned flags, int bufsize,
                TrPlatError *err);

/* What a socket can do, probed once per socket: */
bool tr_udp_has_gso(int fd); /* UDP_SEGMENT accepted */
bool tr_udp_has_gro(int fd); /* UDP_GRO enabled on this socket */

/*
 * Steers datagrams among the @n sockets of one SO_REUSEPORT group (all bound
 * to the same address, in this order): a datagram goes to socket
 * (big-endian u32 at byte @offset of the UDP payload) % @n; a datagram too
 * short for the field goes to socket 0. Linux: a classic BPF program
 * (SO_ATTACH_REUSEPORT_CBPF) attached to fds[0]. -EOPNOTSUPP elsewhere.
 * The kernel numbers a group's sockets in the order they were bound, and
 * closing one moves the last into its place: steer again after a change.
 */
int tr_udp_steer(const int *fds, unsigned n, unsigned offset, TrPlatError *err);

/*
 * Receives up to @n datagrams (or coalesced runs, see ->segment) into
 * @msgs, setting len, segment, addr and addr_len. Returns how many (>= 1),
 * -EAGAIN when none is waiting, or another negative errno. One that did not
 * fit its buffer is dropped and comes back with len 0 (with TR_UDP_GRO, give
 * 64 KiB buffers).
 */
int tr_udp_recv_batch(int fd, TrUdpMsg *msgs, unsigned n);

/*
 * Sends @n messages. Returns how many were sent (the rest were not, e.g.
 * -EAGAIN on the first: the socket buffer is full), or a negative errno
 * when the first failed (-EMSGSIZE: larger than the path MTU the kernel
 * knows; the sockets set Don't Fragment, see tr_udp_open). A message whose
 * segment size its path refuses (EMSGSIZE) is sent again as separate
 * datagrams and gets TR_UDP_MSG_SPLIT in ->flags; the other messages keep
 * UDP_SEGMENT. When the socket itself cannot segment (EIO: no checksum
 * offload on the route's device; EINVAL), it stops using UDP_SEGMENT for
 * every message. A message cut short partway through its
 * segments counts as sent; the segments not sent are lost, as datagrams are.
 */
int tr_udp_send_batch(int fd, TrUdpMsg *msgs, unsigned n);

/* ---- Poller: epoll on Linux, poll() elsewhere --------------------------------- */

typedef struct TrPoller TrPoller;

#define TR_POLL_IN  1u
#define TR_POLL_OUT 2u
/* With TR_POLL_IN on a descriptor several pollers wait on: wake one of them, not all
 * (Linux EPOLLEXCLUSIVE; elsewhere all wake, and the others find nothing to read). */
#define TR_POLL_EXCLUSIVE 4u

typedef struct {
	uint32_t tag;    /* what was given to tr_poller_add */
	uint32_t events; /* TR_POLL_IN / TR_POLL_OUT (errors and hangups show as IN) */
} TrPollEvent;

TrPoller *tr_poller_new(TrPlatError *err);
void tr_poller_free(TrPoller *p);
int tr_poller_add(TrPoller *p, int fd, uint32_t tag, uint32_t events);
int tr_poller_mod(TrPoller *p, int fd, uint32_t tag, uint32_t events);
int tr_poller_del(TrPoller *p, int fd);
/*
 * Waits up to @timeout_ms (-1: forever). Returns the number of events, 0 on
 * timeout or when a signal interrupted the wait.
 */
int tr_poller_wait(TrPoller *p, TrPollEvent *events, unsigned n, int timeout_ms);

/* ---- Wakeup: an eventfd on Linux, a pipe elsewhere --------------------------- */

typedef struct {
	int rfd, wfd; /* the same fd for an eventfd */
} TrWakeup;

int tr_wakeup_open(TrWakeup *w, TrPlatError *err);
void tr_wakeup_close(TrWakeup *w);
/* Makes rfd readable (async-signal-safe, any thread). */
void tr_wakeup_signal(TrWakeup *w);
/* Empties it. */
void tr_wakeup_clear(TrWakeup *w);

#ifdef __cplusplus
}
#endif
