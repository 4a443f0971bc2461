/* SPDX-License-Identifier: GPL-2.0-or-later */
/* platform/net.h on Windows: Winsock 2, its error codes mapped to errno. */
#include "platform/net.h"
#include "platform/windows/windows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static INIT_ONCE net_once = INIT_ONCE_STATIC_INIT;
static int net_status;

static BOOL CALLBACK
net_start(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
	WSADATA data;

	(void)once;
	(void)param;
	(void)ctx;
	net_status = WSAStartup(MAKEWORD(2, 2), &data);
	return TRUE;
}

int
tr_net_init(TrPlatError *err)
{
	char ebuf[256];

	InitOnceExecuteOnce(&net_once, net_start, NULL, NULL);
	if (net_status != 0)
		return tr_plat_error_set(err, EIO, "cannot start Winsock: %s",
		                         tr_win_strerror((DWORD)net_status, ebuf, sizeof(ebuf)));
	return 0;
}

int
tr_win_sock_errno(int wsa)
{
	switch (wsa) {
	case WSAEWOULDBLOCK:
	case WSAEINPROGRESS:
		return EAGAIN;
	case WSAEMSGSIZE:
		return EMSGSIZE;
	case WSAECONNRESET:
	case WSAECONNABORTED:
		return ECONNRESET;
	case WSAECONNREFUSED:
		return ECONNREFUSED;
	case WSAENETUNREACH:
		return ENETUNREACH;
	case WSAEHOSTUNREACH:
		return EHOSTUNREACH;
	case WSAEADDRINUSE:
		return EADDRINUSE;
	case WSAEADDRNOTAVAIL:
		return EADDRNOTAVAIL;
	case WSAEAFNOSUPPORT:
		return EAFNOSUPPORT;
	case WSAEACCES:
		return EACCES;
	case WSAEINVAL:
		return EINVAL;
	case WSAENOBUFS:
		return ENOBUFS;
	case WSAENOTSOCK:
		return ENOTSOCK;
	case WSAENOTCONN:
		return ENOTCONN;
	case WSAETIMEDOUT:
		return ETIMEDOUT;
	case WSAEOPNOTSUPP:
		return EOPNOTSUPP;
	default:
		return EIO;
	}
}

void
tr_sock_close(int fd)
{
	if (fd >= 0)
		closesocket((SOCKET)fd);
}

int
tr_sock_errno(void)
{
	return tr_win_sock_errno(WSAGetLastError());
}

int
tr_sock_set_nonblocking(int fd, TrPlatError *err)
{
	u_long on = 1;
	char ebuf[256];

	if (ioctlsocket((SOCKET)fd, FIONBIO, &on) != 0)
		return tr_plat_error_set(
		        err, tr_sock_errno(), "cannot make socket non-blocking: %s",
		        tr_win_strerror((DWORD)WSAGetLastError(), ebuf, sizeof(ebuf)));
	return 0;
}

int
tr_sock_dup(int fd, TrPlatError *err)
{
	WSAPROTOCOL_INFOW info;
	SOCKET s;
	char ebuf[256];

	if (WSADuplicateSocketW((SOCKET)fd, GetCurrentProcessId(), &info) != 0 ||
	    (s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0,
	                    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT)) == INVALID_SOCKET)
		return tr_plat_error_set(
		        err, tr_sock_errno(), "cannot duplicate a socket: %s",
		        tr_win_strerror((DWORD)WSAGetLastError(), ebuf, sizeof(ebuf)));
	return (int)s;
}

ssize_t
tr_sock_sendto(int fd, const void *buf, size_t len, const struct sockaddr *to, socklen_t to_len)
{
	int r = sendto((SOCKET)fd, buf, (int)len, 0, to, to_len);

	return r == SOCKET_ERROR ? -tr_sock_errno() : r;
}

ssize_t
tr_sock_recv(int fd, void *buf, size_t size)
{
	int r = recv((SOCKET)fd, buf, (int)size, 0);

	if (r == SOCKET_ERROR) {
		int e = WSAGetLastError();
		/* a UDP "port unreachable" seen earlier: not this socket's problem */
		if (e == WSAECONNRESET)
			return -EAGAIN;
		return -tr_win_sock_errno(e);
	}
	if (r == 0 && size > 0)
		return -EPIPE;
	return r;
}

void
tr_sock_wait_writable(int fd, int timeout_ms)
{
	WSAPOLLFD p = {.fd = (SOCKET)fd, .events = POLLWRNORM};

	(void)WSAPoll(&p, 1, timeout_ms);
}

/* Turns off WSAECONNRESET on a UDP socket after an ICMP port unreachable. */
void
tr_win_udp_no_connreset(SOCKET s)
{
	BOOL off = FALSE;
	DWORD n;

	WSAIoctl(s, SIO_UDP_CONNRESET, &off, sizeof(off), NULL, 0, &n, NULL, NULL);
}

static SOCKET
loopback_udp(struct sockaddr_in *sa, int *len)
{
	SOCKET s =
	        WSASocketW(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);

	if (s == INVALID_SOCKET)
		return s;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*len = sizeof(*sa);
	if (bind(s, (struct sockaddr *)sa, *len) != 0 ||
	    getsockname(s, (struct sockaddr *)sa, len) != 0) {
		closesocket(s);
		return INVALID_SOCKET;
	}
	tr_win_udp_no_connreset(s);
	return s;
}

int
tr_sock_dgram_pair(int fds[2], TrPlatError *err)
{
	struct sockaddr_in a, b;
	int alen, blen;
	SOCKET sa, sb;
	char ebuf[256];
	int rc = tr_net_init(err);

	if (rc < 0)
		return rc;
	sa = loopback_udp(&a, &alen);
	sb = sa == INVALID_SOCKET ? INVALID_SOCKET : loopback_udp(&b, &blen);
	if (sb == INVALID_SOCKET || connect(sa, (struct sockaddr *)&b, blen) != 0 ||
	    connect(sb, (struct sockaddr *)&a, alen) != 0) {
		rc = tr_plat_error_set(
		        err, tr_sock_errno(), "cannot create a pair of loopback UDP sockets: %s",
		        tr_win_strerror((DWORD)WSAGetLastError(), ebuf, sizeof(ebuf)));
		if (sa != INVALID_SOCKET)
			closesocket(sa);
		if (sb != INVALID_SOCKET)
			closesocket(sb);
		return rc;
	}
	fds[0] = (int)sa;
	fds[1] = (int)sb;
	return tr_sock_set_nonblocking(fds[0], err);
}

int
tr_sock_listen_tcp(const struct sockaddr *addr, socklen_t addr_len, int backlog, bool share_port,
                   TrPlatError *err)
{
	char ebuf[256];
	SOCKET s;
	DWORD off = 0;
	BOOL on = TRUE;
	int rc = tr_net_init(err);

	if (rc < 0)
		return rc;
	s = WSASocketW(addr->sa_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
	               WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
	if (s == INVALID_SOCKET)
		return tr_plat_error_set(
		        err, tr_sock_errno(), "socket: %s",
		        tr_win_strerror((DWORD)WSAGetLastError(), ebuf, sizeof(ebuf)));
	/* Windows' SO_REUSEADDR lets other sockets bind the port too: only when
	 * asked; otherwise SO_EXCLUSIVEADDRUSE, what POSIX's plain bind() means. */
	setsockopt(s, SOL_SOCKET, share_port ? SO_REUSEADDR : SO_EXCLUSIVEADDRUSE,
	           (const char *)&on, sizeof(on));
	if (addr->sa_family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&off, sizeof(off));
	if (bind(s, addr, addr_len) != 0)
		rc = tr_plat_error_set(
		        err, tr_sock_errno(), "bind: %s",
		        tr_win_strerror((DWORD)WSAGetLastError(), ebuf, sizeof(ebuf)));
	else if (listen(s, backlog) != 0)
		rc = tr_plat_error_set(
		        err, tr_sock_errno(), "listen: %s",
		        tr_win_strerror((DWORD)WSAGetLastError(), ebuf, sizeof(ebuf)));
	else if ((rc = tr_sock_set_nonblocking((int)s, err)) == 0)
		return (int)s;
	closesocket(s);
	return rc;
}

int
tr_sock_accept(int fd, struct sockaddr *from, socklen_t *from_len)
{
	SOCKET s = accept((SOCKET)fd, from, from_len);

	if (s == INVALID_SOCKET)
		return -tr_sock_errno();
	/* accept() copies the listening socket's properties; said again, to be sure. */
	SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
	if (tr_sock_set_nonblocking((int)s, NULL) < 0) {
		closesocket(s);
		return -EIO;
	}
	return (int)s;
}

/* Whether adapter @a is the one named @name (its friendly name, in UTF-8, or its GUID). */
static int
adapter_named(const IP_ADAPTER_ADDRESSES *a, const char *name)
{
	char friendly[256];

	if (_stricmp(a->AdapterName, name) == 0)
		return 1;
	return a->FriendlyName &&
	       WideCharToMultiByte(CP_UTF8, 0, a->FriendlyName, -1, friendly, sizeof(friendly),
	                           NULL, NULL) > 0 &&
	       strcmp(friendly, name) == 0;
}

int
tr_net_local_addresses(const char *skip_ifname, struct sockaddr_storage *out, int max,
                       TrPlatError *err)
{
	const ULONG flags =
	        GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER;
	IP_ADAPTER_ADDRESSES *list = NULL;
	ULONG size = 16384, r = ERROR_BUFFER_OVERFLOW;
	char ebuf[256];
	int n = 0;

	for (int tries = 0; tries < 4 && r == ERROR_BUFFER_OVERFLOW; tries++) {
		free(list);
		list = malloc(size);
		if (list == NULL)
			return tr_plat_error_set(err, ENOMEM,
			                         "cannot list the interfaces' addresses: "
			                         "out of memory");
		r = GetAdaptersAddresses(AF_UNSPEC, flags, NULL, list, &size);
	}
	if (r == ERROR_NO_DATA) {
		free(list);
		return 0;
	}
	if (r != NO_ERROR) {
		free(list);
		return tr_plat_error_set(err, tr_win_errno(r),
		                         "cannot list the interfaces' addresses: %s",
		                         tr_win_strerror(r, ebuf, sizeof(ebuf)));
	}
	for (IP_ADAPTER_ADDRESSES *a = list; a && n < max; a = a->Next) {
		if (a->OperStatus != IfOperStatusUp || a->IfType == IF_TYPE_SOFTWARE_LOOPBACK ||
		    (skip_ifname && adapter_named(a, skip_ifname)))
			continue;
		for (IP_ADAPTER_UNICAST_ADDRESS *u = a->FirstUnicastAddress; u && n < max;
		     u = u->Next) {
			const struct sockaddr *sa = u->Address.lpSockaddr;
			size_t len = sa && sa->sa_family == AF_INET    ? sizeof(struct sockaddr_in)
			             : sa && sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
			                                               : 0;

			if (len == 0 || (int)len > u->Address.iSockaddrLength)
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			memcpy(&out[n], sa, len);
			if (sa->sa_family == AF_INET)
				((struct sockaddr_in *)&out[n])->sin_port = 0;
			else
				((struct sockaddr_in6 *)&out[n])->sin6_port = 0;
			n++;
		}
	}
	free(list);
	return n;
}
