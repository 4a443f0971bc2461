/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Addresses, routes and MTU through the IP Helper API, on the adapter's LUID. */
#include "platform/windows/windows.h"

#include <errno.h>
#include <netioapi.h>
#include <stdio.h>
#include <string.h>

static void
fill_sockaddr(SOCKADDR_INET *sa, const TrPrefix *p)
{
	memset(sa, 0, sizeof(*sa));
	if (p->family == TR_ADDR_IPV4) {
		sa->Ipv4.sin_family = AF_INET;
		memcpy(&sa->Ipv4.sin_addr, p->addr, 4);
	} else {
		sa->Ipv6.sin6_family = AF_INET6;
		memcpy(&sa->Ipv6.sin6_addr, p->addr, 16);
	}
}

static int
iphlp_error(DWORD rc, const char *what, const TrPrefix *p, TrDevice *dev, TrPlatError *err)
{
	char ebuf[256], pbuf[64];

	return tr_plat_error_set(err, tr_win_errno(rc), "cannot %s %s on %s: %s", what,
	                         p ? tr_plat_prefix_str(p, pbuf, sizeof(pbuf)) : "", dev->ifname,
	                         tr_win_strerror(rc, ebuf, sizeof(ebuf)));
}

int
tr_win_address(TrDevice *dev, bool add, const TrPrefix *p, TrPlatError *err)
{
	WinDevice *w = dev->os;
	MIB_UNICASTIPADDRESS_ROW row;
	DWORD rc;

	InitializeUnicastIpAddressEntry(&row);
	row.InterfaceLuid = w->luid;
	fill_sockaddr(&row.Address, p);
	row.OnLinkPrefixLength = p->len;
	row.DadState = IpDadStatePreferred;
	rc = add ? CreateUnicastIpAddressEntry(&row) : DeleteUnicastIpAddressEntry(&row);
	if (rc != NO_ERROR)
		return iphlp_error(rc, add ? "add address" : "remove address", p, dev, err);
	return 0;
}

int
tr_win_route(TrDevice *dev, bool add, const TrPrefix *p, TrPlatError *err)
{
	WinDevice *w = dev->os;
	MIB_IPFORWARD_ROW2 row;
	DWORD rc;

	InitializeIpForwardEntry(&row);
	row.InterfaceLuid = w->luid;
	fill_sockaddr(&row.DestinationPrefix.Prefix, p);
	row.DestinationPrefix.PrefixLength = p->len;
	/* on-link: the next hop is the unspecified address of the family */
	row.NextHop.si_family = p->family == TR_ADDR_IPV4 ? AF_INET : AF_INET6;
	row.Protocol = MIB_IPPROTO_NETMGMT;
	row.Metric = 0;
	rc = add ? CreateIpForwardEntry2(&row) : DeleteIpForwardEntry2(&row);
	if (rc != NO_ERROR)
		return iphlp_error(rc, add ? "add route" : "remove route", p, dev, err);
	return 0;
}

int
tr_win_get_mtu(TrDevice *dev, unsigned *mtu, TrPlatError *err)
{
	WinDevice *w = dev->os;
	MIB_IPINTERFACE_ROW row;
	DWORD rc;

	InitializeIpInterfaceEntry(&row);
	row.Family = AF_INET;
	row.InterfaceLuid = w->luid;
	rc = GetIpInterfaceEntry(&row);
	if (rc != NO_ERROR)
		return iphlp_error(rc, "read the MTU", NULL, dev, err);
	*mtu = row.NlMtu;
	return 0;
}

int
tr_win_set_mtu(TrDevice *dev, unsigned mtu, TrPlatError *err)
{
	WinDevice *w = dev->os;
	static const ADDRESS_FAMILY families[] = {AF_INET, AF_INET6};

	for (size_t i = 0; i < 2; i++) {
		MIB_IPINTERFACE_ROW row;
		DWORD rc;

		InitializeIpInterfaceEntry(&row);
		row.Family = families[i];
		row.InterfaceLuid = w->luid;
		rc = GetIpInterfaceEntry(&row);
		if (rc == ERROR_NOT_FOUND && families[i] == AF_INET6)
			continue; /* IPv6 unbound from this adapter */
		if (rc == NO_ERROR) {
			row.NlMtu = mtu;
			row.SitePrefixLength = 0; /* must be 0 for IPv4 in a Set */
			rc = SetIpInterfaceEntry(&row);
		}
		if (rc != NO_ERROR)
			return iphlp_error(rc, "set the MTU", NULL, dev, err);
	}
	return 0;
}

/*
 * The interface metric of both families: a low fixed one while the tunnel is
 * up, so that its routes and DNS servers win over the physical adapters'
 * equal ones; the automatic metric again on close (the adapter keeps its
 * settings in the registry otherwise).
 */
int
tr_win_set_metric(TrDevice *dev, unsigned metric, TrPlatError *err)
{
	WinDevice *w = dev->os;
	static const ADDRESS_FAMILY families[] = {AF_INET, AF_INET6};

	for (size_t i = 0; i < 2; i++) {
		MIB_IPINTERFACE_ROW row;
		DWORD rc;

		InitializeIpInterfaceEntry(&row);
		row.Family = families[i];
		row.InterfaceLuid = w->luid;
		rc = GetIpInterfaceEntry(&row);
		if (rc == ERROR_NOT_FOUND && families[i] == AF_INET6)
			continue;
		if (rc == NO_ERROR) {
			row.UseAutomaticMetric = metric == 0;
			row.Metric = metric;
			row.SitePrefixLength = 0;
			rc = SetIpInterfaceEntry(&row);
		}
		if (rc != NO_ERROR)
			return iphlp_error(rc, "set the interface metric", NULL, dev, err);
	}
	return 0;
}
