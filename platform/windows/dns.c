/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DNS on the TAP adapter through the IP Helper API: SetInterfaceDnsSettings
 * (Windows 10 version 2004 and later), once for the IPv4 servers and once
 * for the IPv6 ones, each with the search list. What the adapter had before
 * is read first (GetInterfaceDnsSettings) and put back on close.
 *
 * The functions are looked up at run time: older Windows (and wine) lack
 * them, and the mingw-w64 headers do not declare them yet.
 */
#include "platform/windows/windows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* From netioapi.h of the Windows SDK (10.0.19041). */
typedef struct {
	ULONG Version;
	ULONG64 Flags;
	PWSTR Domain;
	PWSTR NameServer;
	PWSTR SearchList;
	ULONG RegistrationEnabled;
	ULONG RegisterAdapterName;
	ULONG EnableLLMNR;
	ULONG QueryAdapterName;
	PWSTR ProfileNameServer;
} TrDnsInterfaceSettings;

#define TR_DNS_SETTINGS_VERSION1  1
#define TR_DNS_SETTING_IPV6       0x0001
#define TR_DNS_SETTING_NAMESERVER 0x0002
#define TR_DNS_SETTING_SEARCHLIST 0x0004

typedef DWORD(WINAPI *SetDnsFn)(GUID, const TrDnsInterfaceSettings *);
typedef DWORD(WINAPI *GetDnsFn)(GUID, TrDnsInterfaceSettings *);
typedef VOID(WINAPI *FreeDnsFn)(TrDnsInterfaceSettings *);

#define DNS_TEXT_MAX 2048

int
tr_win_dns_check(const TrDnsConfig *dns, TrPlatError *err)
{
	for (size_t i = 0; i < dns->n_servers; i++) {
		struct in6_addr a6;
		struct in_addr a4;

		if (inet_pton(AF_INET, dns->servers[i], &a4) != 1 &&
		    inet_pton(AF_INET6, dns->servers[i], &a6) != 1)
			return tr_plat_error_set(
			        err, EINVAL,
			        "DNS server '%.64s' is not a numeric IPv4 or IPv6 address",
			        dns->servers[i]);
	}
	for (size_t i = 0; i < dns->n_domains; i++) {
		const char *d = dns->domains[i];
		size_t n = strlen(d);

		if (n == 0 || n > 253 ||
		    strspn(d, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		              "0123456789-.") != n)
			return tr_plat_error_set(err, EINVAL,
			                         "search domain '%.64s' is not a domain name", d);
	}
	return 0;
}

static HMODULE
iphlpapi(void)
{
	return GetModuleHandleA("iphlpapi.dll");
}

/* Appends @s to the wide list @out (separated by @sep); false when full. */
static bool
append(wchar_t *out, size_t size, const char *s, wchar_t sep)
{
	size_t n = wcslen(out);
	wchar_t w[256];

	if (MultiByteToWideChar(CP_UTF8, 0, s, -1, w, 256) == 0)
		return false;
	if (n + (n ? 1 : 0) + wcslen(w) + 1 > size)
		return false;
	if (n)
		out[n++] = sep;
	wcscpy(out + n, w);
	return true;
}

static wchar_t *
wdup(const wchar_t *s)
{
	return s ? _wcsdup(s) : _wcsdup(L"");
}

static int
dns_error(TrDevice *dev, DWORD rc, const char *what, TrPlatError *err)
{
	char ebuf[256];

	return tr_plat_error_set(err, tr_win_errno(rc), "cannot %s DNS on %s: %s", what,
	                         dev->ifname, tr_win_strerror(rc, ebuf, sizeof(ebuf)));
}

int
tr_win_set_dns(TrDevice *dev, const TrDnsConfig *dns, TrPlatError *err)
{
	WinDevice *w = dev->os;
	SetDnsFn set = (SetDnsFn)(void *)GetProcAddress(iphlpapi(), "SetInterfaceDnsSettings");
	GetDnsFn get = (GetDnsFn)(void *)GetProcAddress(iphlpapi(), "GetInterfaceDnsSettings");
	FreeDnsFn release =
	        (FreeDnsFn)(void *)GetProcAddress(iphlpapi(), "FreeInterfaceDnsSettings");
	wchar_t servers[2][DNS_TEXT_MAX] = {{0}}, search[DNS_TEXT_MAX] = {0};
	GUID guid;
	DWORD rc;
	int r = tr_win_dns_check(dns, err);

	if (r < 0)
		return r;
	if (!set || !get || !release)
		return tr_plat_error_set(err, ENOTSUP,
		                         "setting DNS on %s needs SetInterfaceDnsSettings "
		                         "(Windows 10 version 2004 or later)",
		                         dev->ifname);
	rc = ConvertInterfaceLuidToGuid(&w->luid, &guid);
	if (rc != NO_ERROR)
		return dns_error(dev, rc, "find the adapter for", err);
	for (size_t i = 0; i < dns->n_servers; i++) {
		bool v6 = strchr(dns->servers[i], ':') != NULL;
		if (!append(servers[v6], DNS_TEXT_MAX, dns->servers[i], L','))
			return tr_plat_error_set(err, ENOSPC, "too many DNS servers");
	}
	for (size_t i = 0; i < dns->n_domains; i++)
		if (!append(search, DNS_TEXT_MAX, dns->domains[i], L','))
			return tr_plat_error_set(err, ENOSPC, "too many search domains");

	for (int v6 = 0; v6 < 2; v6++) {
		TrDnsInterfaceSettings old = {.Version = TR_DNS_SETTINGS_VERSION1,
		                              .Flags = v6 ? TR_DNS_SETTING_IPV6 : 0};
		TrDnsInterfaceSettings s = {
		        .Version = TR_DNS_SETTINGS_VERSION1,
		        .Flags = TR_DNS_SETTING_NAMESERVER | TR_DNS_SETTING_SEARCHLIST |
		                 (v6 ? TR_DNS_SETTING_IPV6 : 0),
		        .NameServer = servers[v6],
		        .SearchList = search,
		};

		/* The settings before ours, once: set_dns may be called again. */
		if (!w->dns_saved[v6]) {
			rc = get(guid, &old);
			if (rc != NO_ERROR)
				return dns_error(dev, rc, "read the", err);
			w->saved_servers[v6] = wdup(old.NameServer);
			w->saved_search[v6] = wdup(old.SearchList);
			release(&old);
			w->dns_saved[v6] = true;
		}
		rc = set(guid, &s);
		if (rc != NO_ERROR)
			return dns_error(dev, rc, "set the", err);
	}
	return 0;
}

int
tr_win_clear_dns(TrDevice *dev, TrPlatError *err)
{
	WinDevice *w = dev->os;
	SetDnsFn set = (SetDnsFn)(void *)GetProcAddress(iphlpapi(), "SetInterfaceDnsSettings");
	GUID guid;
	DWORD rc = NO_ERROR;
	int first = 0;

	if (!w->dns_saved[0] && !w->dns_saved[1])
		return 0;
	if (!set || ConvertInterfaceLuidToGuid(&w->luid, &guid) != NO_ERROR)
		first = tr_plat_error_set(err, ENODEV, "cannot restore DNS on %s", dev->ifname);
	for (int v6 = 0; v6 < 2; v6++) {
		if (!w->dns_saved[v6])
			continue;
		if (first == 0) {
			TrDnsInterfaceSettings s = {
			        .Version = TR_DNS_SETTINGS_VERSION1,
			        .Flags = TR_DNS_SETTING_NAMESERVER | TR_DNS_SETTING_SEARCHLIST |
			                 (v6 ? TR_DNS_SETTING_IPV6 : 0),
			        .NameServer = w->saved_servers[v6],
			        .SearchList = w->saved_search[v6],
			};
			rc = set(guid, &s);
			if (rc != NO_ERROR)
				first = dns_error(dev, rc, "restore the", err);
		}
		free(w->saved_servers[v6]);
		free(w->saved_search[v6]);
		w->saved_servers[v6] = w->saved_search[v6] = NULL;
		w->dns_saved[v6] = false;
	}
	return first;
}
