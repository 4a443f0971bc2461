/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers every POSIX backend shares. */
#include "platform/device-ops.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* strerror_r is the GNU one on glibc with _GNU_SOURCE, the XSI one elsewhere. */
static const char *
from_gnu(const char *msg, char *buf)
{
	(void)buf;
	return msg ? msg : "unknown error";
}

static const char *
from_xsi(int rc, char *buf)
{
	return rc == 0 ? buf : "unknown error";
}

const char *
tr_plat_strerror(int errnum, char *buf, size_t size)
{
	buf[0] = '\0';
	return _Generic(strerror_r(errnum, buf, size), char *: from_gnu, int: from_xsi)(
		strerror_r(errnum, buf, size), buf);
}

const char *
tr_plat_prefix_str(const TrPrefix *p, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	int af = p->family == TR_ADDR_IPV4 ? AF_INET : AF_INET6;

	if ((p->family != TR_ADDR_IPV4 && p->family != TR_ADDR_IPV6) ||
	    !inet_ntop(af, p->addr, addr, sizeof(addr)))
		snprintf(addr, sizeof(addr), "(family %u)", p->family);
	snprintf(buf, size, "%s/%u", addr, p->len);
	return buf;
}
