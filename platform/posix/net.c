/* SPDX-License-Identifier: GPL-2.0-or-later */
/* platform/net.h on POSIX: the plain calls. */
#include "platform/net.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

int
tr_net_init(TrPlatError *err)
{
	(void)err;
	return 0;
}

void
tr_sock_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

int
tr_sock_errno(void)
{
	return errno;
}

int
tr_sock_set_nonblocking(int fd, TrPlatError *err)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return tr_plat_error_set(err, errno, "cannot make socket %d non-blocking: %s", fd,
		                         strerror(errno));
	return 0;
}

int
tr_sock_dup(int fd, TrPlatError *err)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (copy < 0)
		return tr_plat_error_set(err, errno, "cannot duplicate socket %d: %s", fd,
		                         strerror(errno));
	return copy;
}

ssize_t
tr_sock_sendto(int fd, const void *buf, size_t len, const struct sockaddr *to, socklen_t to_len)
{
	ssize_t r = sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, to, to_len);

	return r < 0 ? -errno : r;
}

ssize_t
tr_sock_recv(int fd, void *buf, size_t size)
{
	ssize_t r = recv(fd, buf, size, MSG_DONTWAIT | MSG_TRUNC);

	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (r == 0)
		return -EPIPE;
	return (size_t)r > size ? -EMSGSIZE : r;
}

void
tr_sock_wait_writable(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};

	(void)poll(&pfd, 1, timeout_ms);
}

int
tr_sock_dgram_pair(int fds[2], TrPlatError *err)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return tr_plat_error_set(err, errno, "cannot create a socketpair: %s",
		                         strerror(errno));
	if (tr_sock_set_nonblocking(fds[0], err) < 0) {
		close(fds[0]);
		close(fds[1]);
		return err ? err->code : -EIO;
	}
	return 0;
}

int
tr_sock_listen_tcp(const struct sockaddr *addr, socklen_t addr_len, int backlog, bool share_port,
                   TrPlatError *err)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0, rc;

	if (fd < 0)
		return tr_plat_error_set(err, errno, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (share_port)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, addr, addr_len) < 0)
		rc = tr_plat_error_set(err, errno, "bind: %s", strerror(errno));
	else if (listen(fd, backlog) < 0)
		rc = tr_plat_error_set(err, errno, "listen: %s", strerror(errno));
	else
		return fd;
	close(fd);
	return rc;
}

int
tr_sock_accept(int fd, struct sockaddr *from, socklen_t *from_len)
{
	int cfd = accept4(fd, from, from_len, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (cfd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return cfd;
}

int
tr_net_local_addresses(const char *skip_ifname, struct sockaddr_storage *out, int max,
                       TrPlatError *err)
{
	struct ifaddrs *list = NULL;
	int n = 0;

	if (getifaddrs(&list) < 0)
		return tr_plat_error_set(err, errno, "cannot list the interfaces' addresses: %s",
		                         strerror(errno));
	for (struct ifaddrs *i = list; i && n < max; i = i->ifa_next) {
		size_t len;

		if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK) ||
		    (skip_ifname && strcmp(i->ifa_name, skip_ifname) == 0))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			len = sizeof(struct sockaddr_in);
		else if (i->ifa_addr->sa_family == AF_INET6)
			len = sizeof(struct sockaddr_in6);
		else
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n], i->ifa_addr, len);
		if (i->ifa_addr->sa_family == AF_INET)
			((struct sockaddr_in *)&out[n])->sin_port = 0;
		else
			((struct sockaddr_in6 *)&out[n])->sin6_port = 0;
		n++;
	}
	freeifaddrs(list);
	return n;
}
