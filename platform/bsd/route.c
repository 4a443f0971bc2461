/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Routes through the BSD routing socket: RTM_ADD/RTM_DELETE with the
 * destination, its netmask and the interface's link-level address as the
 * gateway (an interface route, as "route add -net P -interface IF").
 */
#include "platform/bsd/bsd.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_dl.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SA_ROUNDUP(len)                                                                            \
	((len) > 0 ? (((len) + sizeof(long) - 1) & ~(sizeof(long) - 1)) : sizeof(long))

typedef struct {
	struct rt_msghdr hdr;
	char space[512];
} RtMessage;

/* The interface's AF_LINK address, the gateway of an interface route. */
static int
link_address(const char *ifname, struct sockaddr_dl *out)
{
	struct ifaddrs *list, *i;
	int rc = -ENODEV;

	if (getifaddrs(&list) < 0)
		return -errno;
	for (i = list; i; i = i->ifa_next) {
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_LINK &&
		    strcmp(i->ifa_name, ifname) == 0) {
			memcpy(out, i->ifa_addr, sizeof(*out));
			rc = 0;
			break;
		}
	}
	freeifaddrs(list);
	return rc;
}

static char *
put_sa(char *at, const void *sa, size_t len)
{
	memcpy(at, sa, len);
	return at + SA_ROUNDUP(len);
}

int
tr_bsd_route(TrDevice *dev, bool add, const TrPrefix *p, TrPlatError *err)
{
	char ebuf[128], pbuf[64];
	struct sockaddr_storage dst, mask;
	struct sockaddr_dl gw;
	RtMessage msg;
	size_t salen;
	char *at;
	ssize_t w;
	int s, rc;

	rc = link_address(dev->ifname, &gw);
	if (rc < 0)
		goto fail;
	memset(&dst, 0, sizeof(dst));
	memset(&mask, 0, sizeof(mask));
	if (p->family == TR_ADDR_IPV4) {
		struct sockaddr_in *d = (struct sockaddr_in *)&dst,
		                   *m = (struct sockaddr_in *)&mask;
		salen = sizeof(*d);
		d->sin_len = m->sin_len = (uint8_t)salen;
		d->sin_family = m->sin_family = AF_INET;
		memcpy(&d->sin_addr, p->addr, 4);
		for (unsigned bit = 0; bit < p->len; bit++)
			((uint8_t *)&m->sin_addr)[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	} else {
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&dst,
		                    *m = (struct sockaddr_in6 *)&mask;
		salen = sizeof(*d);
		d->sin6_len = m->sin6_len = (uint8_t)salen;
		d->sin6_family = m->sin6_family = AF_INET6;
		memcpy(&d->sin6_addr, p->addr, 16);
		for (unsigned bit = 0; bit < p->len; bit++)
			m->sin6_addr.s6_addr[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	}
	memset(&msg, 0, sizeof(msg));
	msg.hdr.rtm_version = RTM_VERSION;
	msg.hdr.rtm_type = add ? RTM_ADD : RTM_DELETE;
	msg.hdr.rtm_flags = RTF_UP | RTF_STATIC;
	msg.hdr.rtm_addrs = RTA_DST | RTA_GATEWAY | RTA_NETMASK;
	msg.hdr.rtm_seq = 1;
	msg.hdr.rtm_pid = getpid();
	at = msg.space;
	at = put_sa(at, &dst, salen);
	at = put_sa(at, &gw, gw.sdl_len);
	at = put_sa(at, &mask, salen);
	msg.hdr.rtm_msglen = (unsigned short)(at - (char *)&msg);

	s = socket(PF_ROUTE, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s < 0) {
		rc = -errno;
		goto fail;
	}
	w = write(s, &msg, msg.hdr.rtm_msglen);
	rc = w < 0 ? -errno : 0;
	close(s);
	if (rc == 0)
		return 0;
fail:
	return tr_plat_error_set(err, -rc, "cannot %s route %s %s %s: %s", add ? "add" : "remove",
	                         tr_plat_prefix_str(p, pbuf, sizeof(pbuf)), add ? "via" : "from",
	                         dev->ifname, tr_plat_strerror(-rc, ebuf, sizeof(ebuf)));
}
