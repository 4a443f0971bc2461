/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DNS on Linux: per link through systemd-resolved when it runs, otherwise
 * through resolvconf, otherwise by rewriting resolv.conf (restored on close).
 */
#include "platform/linux/linux.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
tr_linux_set_dns(TrDevice *dev, const TrDnsConfig *dns, TrPlatError *err)
{
	LinuxDevice *ld = dev->os;
	TrDnsMethod method = dns->method;
	int rc = tr_posix_dns_check(dns, err);

	if (rc < 0)
		return rc;
	if (method == TR_DNS_AUTO) {
		if (tr_resolved_running())
			method = TR_DNS_RESOLVED;
		else if (tr_posix_have_program("resolvconf"))
			method = TR_DNS_RESOLVCONF;
		else
			method = TR_DNS_FILE;
	}
	switch (method) {
	case TR_DNS_RESOLVED:
		rc = tr_resolved_set(dev->ifindex, dev->ifname, dns, err);
		if (rc == 0)
			ld->dns_resolved = true;
		return rc;
	case TR_DNS_RESOLVCONF:
		return tr_posix_dns_resolvconf_set(&ld->dns, dev->ifname, dns, err);
	default:
		return tr_posix_dns_file_set(&ld->dns, dns->resolv_conf, dev->ifname, dns, err);
	}
}

int
tr_linux_clear_dns(TrDevice *dev, TrPlatError *err)
{
	LinuxDevice *ld = dev->os;

	if (ld->dns_resolved) {
		ld->dns_resolved = false;
		return tr_resolved_revert(dev->ifindex, dev->ifname, err);
	}
	return tr_posix_dns_clear(&ld->dns, dev->ifname, err);
}

void
tr_linux_dns_free(LinuxDevice *ld)
{
	free(ld->dns.path);
	free(ld->dns.saved);
	free(ld->dns.backup);
	memset(&ld->dns, 0, sizeof(ld->dns));
}
