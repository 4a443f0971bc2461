/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BSD interface configuration with ioctls: SIOCGIFMTU/SIOCSIFMTU,
 * SIOCGIFFLAGS/SIOCSIFFLAGS, SIOCAIFADDR/SIOCDIFADDR for IPv4 and
 * SIOCAIFADDR_IN6/SIOCDIFADDR_IN6 for IPv6.
 */
#include "platform/bsd/bsd.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet6/in6_var.h>
#include <netinet6/nd6.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Runs one ioctl on a throwaway socket of @family; -errno on failure. */
static int
if_ioctl(int family, unsigned long request, void *arg)
{
	int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, request, arg) < 0)
		rc = -errno;
	close(s);
	return rc;
}

static int
fail(TrDevice *dev, int rc, const char *what, TrPlatError *err)
{
	char ebuf[128];

	return tr_plat_error_set(err, -rc, "cannot %s %s: %s", what, dev->ifname,
	                         tr_plat_strerror(-rc, ebuf, sizeof(ebuf)));
}

int
tr_bsd_get_mtu(TrDevice *dev, unsigned *mtu, TrPlatError *err)
{
	struct ifreq ifr;
	int rc;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev->ifname);
	rc = if_ioctl(AF_INET, SIOCGIFMTU, &ifr);
	if (rc < 0)
		return fail(dev, rc, "read the MTU of", err);
	*mtu = (unsigned)ifr.ifr_mtu;
	return 0;
}

int
tr_bsd_set_mtu(TrDevice *dev, unsigned mtu, TrPlatError *err)
{
	struct ifreq ifr;
	int rc;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev->ifname);
	ifr.ifr_mtu = (int)mtu;
	rc = if_ioctl(AF_INET, SIOCSIFMTU, &ifr);
	return rc < 0 ? fail(dev, rc, "set the MTU of", err) : 0;
}

int
tr_bsd_set_up(TrDevice *dev, bool up, TrPlatError *err)
{
	struct ifreq ifr;
	int rc;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev->ifname);
	rc = if_ioctl(AF_INET, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		if (up)
			ifr.ifr_flags |= IFF_UP;
		else
			ifr.ifr_flags &= ~IFF_UP;
		rc = if_ioctl(AF_INET, SIOCSIFFLAGS, &ifr);
	}
	return rc < 0 ? fail(dev, rc, up ? "bring up" : "bring down", err) : 0;
}

static void
mask_bytes(uint8_t *mask, size_t bytes, unsigned len)
{
	memset(mask, 0, bytes);
	for (unsigned bit = 0; bit < len; bit++)
		mask[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
}

static int
address4(TrDevice *dev, bool add, const TrPrefix *p)
{
	struct sockaddr_in *a, *m;

	if (!add) {
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev->ifname);
		a = (struct sockaddr_in *)&ifr.ifr_addr;
		a->sin_len = sizeof(*a);
		a->sin_family = AF_INET;
		memcpy(&a->sin_addr, p->addr, 4);
		return if_ioctl(AF_INET, SIOCDIFADDR, &ifr);
	}
	struct ifaliasreq ifra;
	memset(&ifra, 0, sizeof(ifra));
	snprintf(ifra.ifra_name, sizeof(ifra.ifra_name), "%s", dev->ifname);
	a = (struct sockaddr_in *)&ifra.ifra_addr;
	m = (struct sockaddr_in *)&ifra.ifra_mask;
	a->sin_len = m->sin_len = sizeof(*a);
	a->sin_family = m->sin_family = AF_INET;
	memcpy(&a->sin_addr, p->addr, 4);
	mask_bytes((uint8_t *)&m->sin_addr, 4, p->len);
	return if_ioctl(AF_INET, SIOCAIFADDR, &ifra);
}

static int
address6(TrDevice *dev, bool add, const TrPrefix *p)
{
	if (!add) {
		struct in6_ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev->ifname);
		ifr.ifr_addr.sin6_len = sizeof(ifr.ifr_addr);
		ifr.ifr_addr.sin6_family = AF_INET6;
		memcpy(&ifr.ifr_addr.sin6_addr, p->addr, 16);
		return if_ioctl(AF_INET6, SIOCDIFADDR_IN6, &ifr);
	}
	struct in6_aliasreq ifra;
	memset(&ifra, 0, sizeof(ifra));
	snprintf(ifra.ifra_name, sizeof(ifra.ifra_name), "%s", dev->ifname);
	ifra.ifra_addr.sin6_len = ifra.ifra_prefixmask.sin6_len = sizeof(struct sockaddr_in6);
	ifra.ifra_addr.sin6_family = ifra.ifra_prefixmask.sin6_family = AF_INET6;
	memcpy(&ifra.ifra_addr.sin6_addr, p->addr, 16);
	mask_bytes(ifra.ifra_prefixmask.sin6_addr.s6_addr, 16, p->len);
	ifra.ifra_lifetime.ia6t_vltime = ND6_INFINITE_LIFETIME;
	ifra.ifra_lifetime.ia6t_pltime = ND6_INFINITE_LIFETIME;
	ifra.ifra_flags = IN6_IFF_NODAD;
	return if_ioctl(AF_INET6, SIOCAIFADDR_IN6, &ifra);
}

int
tr_bsd_address(TrDevice *dev, bool add, const TrPrefix *p, TrPlatError *err)
{
	char ebuf[128], pbuf[64];
	int rc = p->family == TR_ADDR_IPV4 ? address4(dev, add, p) : address6(dev, add, p);

	if (rc < 0)
		return tr_plat_error_set(
		        err, -rc, "cannot %s address %s %s %s: %s", add ? "add" : "remove",
		        tr_plat_prefix_str(p, pbuf, sizeof(pbuf)), add ? "to" : "from", dev->ifname,
		        tr_plat_strerror(-rc, ebuf, sizeof(ebuf)));
	return 0;
}
