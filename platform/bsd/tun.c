/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BSD tun/tap: /dev/tunN and /dev/tapN, the first free N (or the given device
 * path). tun packets carry a 4-byte address family header where the OS uses
 * one (OpenBSD always; FreeBSD and NetBSD once TUNSIFHEAD is set, which we do
 * so that IPv6 works). A name pattern other than tunN/tapN is applied with
 * SIOCSIFNAME where the OS has it. One queue.
 */
#include "platform/bsd/bsd.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_UNITS 256

static int
open_unit(TrDevice *dev, const char *path, char *name, size_t namelen, TrPlatError *err)
{
	const char *kind = dev->type == TR_DEVICE_TUN ? "tun" : "tap";
	char node[64], ebuf[128];
	int last = ENOENT;

	if (path) {
		const char *base = strrchr(path, '/');
		int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			goto fail_path;
		snprintf(name, namelen, "%s", base ? base + 1 : path);
		return fd;
	fail_path:
		last = errno;
		if (last == EBUSY)
			return tr_plat_error_set(err, EBUSY, "device %s is taken (in use)", path);
		if (last == EACCES || last == EPERM)
			return tr_plat_error_set(
			        err, last, "permission denied: cannot open %s (needs root)", path);
		return tr_plat_error_set(err, last, "cannot open %s: %s", path,
		                         tr_plat_strerror(last, ebuf, sizeof(ebuf)));
	}
	for (unsigned unit = 0; unit < MAX_UNITS; unit++) {
		int fd;

		snprintf(node, sizeof(node), "/dev/%s%u", kind, unit);
		fd = open(node, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0) {
			snprintf(name, namelen, "%s%u", kind, unit);
			return fd;
		}
		last = errno;
		if (last != EBUSY)
			break;
	}
	if (last == EBUSY)
		return tr_plat_error_set(err, EBUSY, "all %s devices (/dev/%s0..%d) are in use",
		                         kind, kind, MAX_UNITS - 1);
	if (last == EACCES || last == EPERM)
		return tr_plat_error_set(err, last,
		                         "permission denied: creating %s devices needs root", kind);
	if (last == ENOENT || last == ENXIO || last == ENODEV)
		return tr_plat_error_set(err, last, "cannot open %s: %s (is the %s driver loaded?)",
		                         node, tr_plat_strerror(last, ebuf, sizeof(ebuf)), kind);
	return tr_plat_error_set(err, last, "cannot open %s: %s", node,
	                         tr_plat_strerror(last, ebuf, sizeof(ebuf)));
}

/* Gives the interface the asked-for name, where the OS allows renaming. */
static int
rename_if(TrDevice *dev, const char *name, TrPlatError *err)
{
	char ebuf[128], want[IFNAMSIZ];
	const char *pct = strstr(name, "%d");

	if (pct)
		snprintf(want, sizeof(want), "%.*s%s%s", (int)(pct - name), name,
		         dev->ifname + strcspn(dev->ifname, "0123456789"), pct + 2);
	else
		snprintf(want, sizeof(want), "%s", name);
	if (strcmp(want, dev->ifname) == 0)
		return 0;
#ifdef SIOCSIFNAME
	{
		struct ifreq ifr;
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev->ifname);
		ifr.ifr_data = want;
		if (s < 0 || ioctl(s, SIOCSIFNAME, &ifr) < 0) {
			int e = errno;
			rc = e == EEXIST
			             ? tr_plat_error_set(err, e, "device name %s is taken", want)
			             : tr_plat_error_set(err, e, "cannot rename %s to %s: %s",
			                                 dev->ifname, want,
			                                 tr_plat_strerror(e, ebuf, sizeof(ebuf)));
		}
		if (s >= 0)
			close(s);
		if (rc == 0)
			snprintf(dev->ifname, sizeof(dev->ifname), "%s", want);
		return rc;
	}
#else
	(void)ebuf;
	return tr_plat_error_set(err, ENOTSUP,
	                         "this system names %s devices itself (%s); it cannot be %s",
	                         dev->type == TR_DEVICE_TUN ? "tun" : "tap", dev->ifname, want);
#endif
}

static int
bsd_open(TrDevice *dev, const char *name, const char *path, TrPlatError *err)
{
	BsdDevice *bd;
	int fd, rc;

	if (dev->n_queues != 1)
		return tr_plat_error_set(err, EINVAL, "BSD tun/tap devices have one queue, not %u",
		                         dev->n_queues);
	bd = calloc(1, sizeof(*bd));
	if (!bd)
		return tr_plat_error_set(err, ENOMEM, "out of memory");
	fd = open_unit(dev, path, dev->ifname, sizeof(dev->ifname), err);
	if (fd < 0) {
		free(bd);
		return fd;
	}
	dev->fds[0] = fd;
	dev->os = bd;
	if (dev->type == TR_DEVICE_TUN) {
		int on = 1;
#ifdef TUNSIFMODE
		int mode = IFF_BROADCAST | IFF_MULTICAST;
		ioctl(fd, TUNSIFMODE, &mode); /* addresses with a prefix, not point-to-point */
#endif
#ifdef TUNSIFHEAD
		bd->af_header = ioctl(fd, TUNSIFHEAD, &on) == 0;
#else
		(void)on;
		bd->af_header = true; /* OpenBSD: always */
#endif
	}
	rc = rename_if(dev, name, err);
	if (rc == 0 && (dev->ifindex = if_nametoindex(dev->ifname)) == 0)
		rc = tr_plat_error_set(err, ENODEV, "device %s vanished", dev->ifname);
	if (rc < 0) {
		close(fd);
		free(bd);
		dev->fds[0] = -1;
		dev->os = NULL;
	}
	return rc;
}

static void
bsd_close(TrDevice *dev)
{
	BsdDevice *bd = dev->os;

	close((int)dev->fds[0]);
	free(bd->dns.path);
	free(bd->dns.saved);
	free(bd->dns.backup);
	free(bd);
}

static ssize_t
bsd_read(TrDevice *dev, unsigned queue, void *buf, size_t size)
{
	BsdDevice *bd = dev->os;
	uint32_t af;
	struct iovec iov[2] = {{&af, sizeof(af)}, {buf, size}};
	ssize_t r;

	if (!bd->af_header) {
		r = read((int)dev->fds[queue], buf, size);
		return r < 0 ? -errno : r;
	}
	r = readv((int)dev->fds[queue], iov, 2);
	if (r < 0)
		return -errno;
	if (r < (ssize_t)sizeof(af))
		return -EPROTO;
	return r - (ssize_t)sizeof(af);
}

static ssize_t
bsd_write(TrDevice *dev, unsigned queue, const void *buf, size_t len)
{
	BsdDevice *bd = dev->os;
	uint32_t af;
	struct iovec iov[2] = {{&af, sizeof(af)}, {(void *)buf, len}};
	ssize_t r;

	if (!bd->af_header) {
		r = write((int)dev->fds[queue], buf, len);
		return r < 0 ? -errno : r;
	}
	if (len < 1)
		return -EINVAL;
	af = htonl((((const uint8_t *)buf)[0] >> 4) == 6 ? AF_INET6 : AF_INET);
	r = writev((int)dev->fds[queue], iov, 2);
	if (r < 0)
		return -errno;
	return r - (ssize_t)sizeof(af);
}

static int
bsd_set_dns(TrDevice *dev, const TrDnsConfig *dns, TrPlatError *err)
{
	BsdDevice *bd = dev->os;
	int rc = tr_posix_dns_check(dns, err);

	if (rc < 0)
		return rc;
	if (dns->method == TR_DNS_RESOLVED)
		return tr_plat_error_set(err, ENOTSUP, "systemd-resolved is Linux-only");
	if (dns->method == TR_DNS_RESOLVCONF ||
	    (dns->method == TR_DNS_AUTO && tr_posix_have_program("resolvconf")))
		return tr_posix_dns_resolvconf_set(&bd->dns, dev->ifname, dns, err);
	return tr_posix_dns_file_set(&bd->dns, dns->resolv_conf, dev->ifname, dns, err);
}

static int
bsd_clear_dns(TrDevice *dev, TrPlatError *err)
{
	return tr_posix_dns_clear(&((BsdDevice *)dev->os)->dns, dev->ifname, err);
}

const TrDeviceOps tr_device_os_ops = {
        .name = "bsd",
        .open = bsd_open,
        .close = bsd_close,
        .read = bsd_read,
        .write = bsd_write,
        .get_mtu = tr_bsd_get_mtu,
        .set_mtu = tr_bsd_set_mtu,
        .set_up = tr_bsd_set_up,
        .address = tr_bsd_address,
        .route = tr_bsd_route,
        .set_dns = bsd_set_dns,
        .clear_dns = bsd_clear_dns,
        .run_hook = tr_posix_run_hook,
};
