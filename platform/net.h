/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Sockets on every OS: the system headers (BSD sockets, or Winsock 2 on
 * Windows) and the few calls whose spelling differs. Descriptors are ints
 * everywhere: a Winsock SOCKET fits (its value is a kernel handle, which
 * Windows keeps below 2^31 for 32-bit interoperability). Plain C, no GLib;
 * 0 (or a count) or a negative errno, as in device.h.
 */
#include "platform/device.h"

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
typedef USHORT in_port_t; /* POSIX's, which Winsock lacks */
#else
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the socket library once per process (WSAStartup); a no-op on POSIX. */
int tr_net_init(TrPlatError *err);

/* close() or closesocket(); a negative @fd is ignored. */
void tr_sock_close(int fd);

/* The positive errno of the last failed socket call on this thread. */
int tr_sock_errno(void);

int tr_sock_set_nonblocking(int fd, TrPlatError *err);

/* A second descriptor for the same open socket (dup; WSADuplicateSocket). */
int tr_sock_dup(int fd, TrPlatError *err);

/* A datagram without blocking: its length, or -EAGAIN, -EMSGSIZE, another -errno. */
ssize_t tr_sock_sendto(int fd, const void *buf, size_t len, const struct sockaddr *to,
                       socklen_t to_len);

/*
 * Receives one datagram without blocking: its length, -EAGAIN when none is
 * waiting, -EMSGSIZE when it did not fit (it is dropped), -EPIPE when a
 * connected stream or pair was closed by the other end.
 */
ssize_t tr_sock_recv(int fd, void *buf, size_t size);

/* Waits up to @timeout_ms until @fd can be written to. */
void tr_sock_wait_writable(int fd, int timeout_ms);

/*
 * A TCP socket listening on @addr (SO_REUSEADDR; an IPv6 one takes IPv4 too),
 * non-blocking and not inherited by child processes: its descriptor, or
 * -errno with @err saying which step failed (-EAFNOSUPPORT: no such family).
 * @share_port: other sockets of this process may bind the same port
 * (SO_REUSEPORT; on Windows, which has none, its SO_REUSEADDR).
 */
int tr_sock_listen_tcp(const struct sockaddr *addr, socklen_t addr_len, int backlog,
                       bool share_port, TrPlatError *err);

/* A connection waiting on the listening @fd, non-blocking and not inherited:
 * its descriptor, -EAGAIN when none is waiting, or another -errno. */
int tr_sock_accept(int fd, struct sockaddr *from, socklen_t *from_len);

/*
 * Two connected, non-blocking datagram sockets that keep packet boundaries:
 * a SOCK_SEQPACKET socketpair on POSIX, two UDP sockets on the loopback
 * connected to each other on Windows (which has no such socketpair).
 */
int tr_sock_dgram_pair(int fds[2], TrPlatError *err);

/*
 * The unicast addresses of this host's interfaces that are up, IPv4 and IPv6,
 * but loopback and those of the interface named @skip_ifname (NULL: none; on
 * Windows the adapter's friendly name or its GUID): up to @max into @out, with
 * port 0. How many, or a negative errno. getifaddrs on POSIX,
 * GetAdaptersAddresses on Windows.
 */
int tr_net_local_addresses(const char *skip_ifname, struct sockaddr_storage *out, int max,
                           TrPlatError *err);

#ifdef __cplusplus
}
#endif
