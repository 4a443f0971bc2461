/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opening a data-path UDP socket, the part Linux and the BSDs share:
 * non-blocking, close-on-exec, SO_REUSEPORT when asked, dual-stack on an IPv6
 * wildcard, never fragmenting, buffer sizes, bind.
 */
#include "platform/posix/posix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* "[2001:db8::1]:443" or "198.18.0.1:443" for messages. */
const char *
tr_posix_sockaddr_str(const struct sockaddr *addr, socklen_t addr_len, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (addr->sa_family == AF_INET && addr_len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
	} else if (addr->sa_family == AF_INET6 &&
	           addr_len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, size, "(address family %d)", addr->sa_family);
	}
	return buf;
}

/* One buffer size: the FORCE option (root, beyond the sysctl cap) where there is one. */
static int
set_buffer(int fd, int force_opt, int opt, int size)
{
	if (force_opt >= 0 && setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) == 0)
		return 0;
	return setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size)) == 0 ? 0 : -errno;
}

/*
 * Never fragment: Don't Fragment on IPv4 and no local fragmentation on IPv6,
 * so a datagram larger than the path is refused (EMSGSIZE when the kernel
 * knows the path MTU from ICMP, dropped on the way when it does not) rather
 * than travelling as fragments. The data plane's path MTU discovery finds
 * what fits and sizes the tunnel's packets to it. Best effort: a platform
 * without the options fragments as before.
 */
static void
never_fragment(int fd, const struct sockaddr *addr)
{
#if defined(IP_MTU_DISCOVER) && defined(IP_PMTUDISC_DO)
	int v4 = IP_PMTUDISC_DO;
	(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof(v4));
#elif defined(IP_DONTFRAG)
	int v4 = 1;
	(void)setsockopt(fd, IPPROTO_IP, IP_DONTFRAG, &v4, sizeof(v4));
#endif
	if (addr->sa_family != AF_INET6)
		return;
#if defined(IPV6_MTU_DISCOVER) && defined(IPV6_PMTUDISC_DO)
	int v6 = IPV6_PMTUDISC_DO;
	(void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof(v6));
#elif defined(IPV6_DONTFRAG)
	int v6 = 1;
	(void)setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &v6, sizeof(v6));
#endif
}

static int
socket_options(int fd, const struct sockaddr *addr, unsigned flags, int bufsize, TrPlatError *err)
{
	char ebuf[128];
	int one = 1, zero = 0, rc;

#ifndef SOCK_CLOEXEC
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return tr_plat_error_set(err, errno, "cannot make the UDP socket non-blocking: %s",
		                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
#endif
	if (flags & TR_UDP_REUSEPORT) {
		/* FreeBSD's SO_REUSEPORT does not spread datagrams; its _LB does */
#ifdef SO_REUSEPORT_LB
		int opt = SO_REUSEPORT_LB;
#else
		int opt = SO_REUSEPORT;
#endif
		if (setsockopt(fd, SOL_SOCKET, opt, &one, sizeof(one)) < 0)
			return tr_plat_error_set(err, errno, "cannot set SO_REUSEPORT: %s",
			                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
	}
	if (addr->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)addr)->sin6_addr)) {
		/* OpenBSD has no dual-stack sockets and refuses: IPv6 only there */
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	never_fragment(fd, addr);
	if (bufsize > 0) {
#if defined(SO_RCVBUFFORCE) && defined(SO_SNDBUFFORCE)
		rc = set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, bufsize);
		if (rc == 0)
			rc = set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, bufsize);
#else
		rc = set_buffer(fd, -1, SO_RCVBUF, bufsize);
		if (rc == 0)
			rc = set_buffer(fd, -1, SO_SNDBUF, bufsize);
#endif
		if (rc < 0)
			return tr_plat_error_set(err, -rc, "cannot set UDP buffers of %d bytes: %s",
			                         bufsize,
			                         tr_plat_strerror(-rc, ebuf, sizeof(ebuf)));
	}
	return 0;
}

int
tr_posix_udp_socket(const struct sockaddr *addr, socklen_t addr_len, unsigned flags, int bufsize,
                    TrPlatError *err)
{
	char ebuf[128], abuf[80];
	int type = SOCK_DGRAM, fd, e, rc;

	if (!addr || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) ||
	    addr_len < (socklen_t)(addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
	                                                      : sizeof(struct sockaddr_in6)))
		return tr_plat_error_set(err, EINVAL, "a UDP socket needs an IPv4 or IPv6 address");
#ifdef SOCK_CLOEXEC
	type |= SOCK_CLOEXEC | SOCK_NONBLOCK;
#endif
	fd = socket(addr->sa_family, type, IPPROTO_UDP);
	if (fd < 0)
		return tr_plat_error_set(err, errno, "cannot open a UDP socket: %s",
		                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
	rc = socket_options(fd, addr, flags, bufsize, err);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	if (bind(fd, addr, addr_len) < 0) {
		e = errno;
		close(fd);
		return tr_plat_error_set(err, e, "cannot bind UDP to %s: %s",
		                         tr_posix_sockaddr_str(addr, addr_len, abuf, sizeof(abuf)),
		                         tr_plat_strerror(e, ebuf, sizeof(ebuf)));
	}
	return fd;
}
