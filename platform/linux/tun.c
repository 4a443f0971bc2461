/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linux tun/tap: /dev/net/tun with IFF_NO_PI, one descriptor per queue
 * (IFF_MULTI_QUEUE when there is more than one); configuration through
 * rtnetlink (netlink.c), DNS through dns.c.
 */
#include "platform/linux/linux.h"
#include "platform/linux/rtnl.h"
#include "platform/posix/posix.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TUN_DEFAULT_PATH "/dev/net/tun"

static int
open_error(const char *path, int e, TrPlatError *err)
{
	char ebuf[128];
	const char *msg = tr_plat_strerror(e, ebuf, sizeof(ebuf));

	switch (e) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return tr_plat_error_set(err, e, "cannot open %s: %s (is the tun module loaded?)",
		                         path, msg);
	case EACCES:
	case EPERM:
		return tr_plat_error_set(err, e,
		                         "permission denied: cannot open %s (needs root or "
		                         "CAP_NET_ADMIN)",
		                         path);
	default:
		return tr_plat_error_set(err, e, "cannot open %s: %s", path, msg);
	}
}

static int
setiff_error(TrDevice *dev, const char *name, int e, TrPlatError *err)
{
	char ebuf[128];
	const char *kind = dev->type == TR_DEVICE_TUN ? "tun" : "tap";

	switch (e) {
	case EPERM:
	case EACCES:
		return tr_plat_error_set(
		        err, e, "permission denied: creating %s devices needs CAP_NET_ADMIN", kind);
	case EBUSY:
		return tr_plat_error_set(err, e,
		                         "device name %s is taken (a %s device another process "
		                         "has open)",
		                         name, kind);
	case EINVAL:
		if (!strstr(name, "%d") && if_nametoindex(name) != 0)
			return tr_plat_error_set(err, e,
			                         "device name %s is taken (by a device that is not "
			                         "a %s%s device)",
			                         name, dev->n_queues > 1 ? "multi-queue " : "",
			                         kind);
		break;
	default:
		break;
	}
	return tr_plat_error_set(err, e, "cannot create %s device %s: %s", kind, name,
	                         tr_plat_strerror(e, ebuf, sizeof(ebuf)));
}

static int
linux_open(TrDevice *dev, const char *name, const char *path, TrPlatError *err)
{
	LinuxDevice *ld;
	struct ifreq ifr;
	unsigned q;
	int rc;

	if (!path)
		path = TUN_DEFAULT_PATH;
	if (strlen(name) >= IFNAMSIZ)
		return tr_plat_error_set(err, ENAMETOOLONG,
		                         "device name %s is too long (Linux allows %d characters)",
		                         name, IFNAMSIZ - 1);
	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return tr_plat_error_set(err, ENOMEM, "out of memory");
	dev->os = ld;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)(IFF_NO_PI | (dev->type == TR_DEVICE_TUN ? IFF_TUN : IFF_TAP));
	if (dev->n_queues > 1)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	for (q = 0; q < dev->n_queues; q++) {
		int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			rc = open_error(path, errno, err);
			goto fail;
		}
		dev->fds[q] = fd;
		/* the first queue names the device; the others join it by that name */
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			rc = setiff_error(dev, q == 0 ? name : ifr.ifr_name, errno, err);
			goto fail;
		}
	}
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", ifr.ifr_name);
	dev->ifindex = if_nametoindex(dev->ifname);
	if (dev->ifindex == 0) {
		rc = tr_plat_error_set(err, errno ? errno : ENODEV, "device %s vanished",
		                       dev->ifname);
		goto fail;
	}
	return 0;
fail:
	for (unsigned i = 0; i < dev->n_queues; i++) {
		if (dev->fds[i] >= 0)
			close((int)dev->fds[i]);
		dev->fds[i] = -1;
	}
	free(ld);
	dev->os = NULL;
	return rc;
}

static void
linux_close(TrDevice *dev)
{
	LinuxDevice *ld = dev->os;

	for (unsigned q = 0; q < dev->n_queues; q++)
		close((int)dev->fds[q]);
	tr_linux_dns_free(ld);
	free(ld);
}

static ssize_t
linux_read(TrDevice *dev, unsigned queue, void *buf, size_t size)
{
	ssize_t r = read((int)dev->fds[queue], buf, size);

	if (r < 0)
		return -errno;
	/* tun truncates silently and reports the whole length */
	return (size_t)r > size ? -EMSGSIZE : r;
}

static ssize_t
linux_write(TrDevice *dev, unsigned queue, const void *buf, size_t len)
{
	ssize_t r = write((int)dev->fds[queue], buf, len);

	return r < 0 ? -errno : r;
}

const TrDeviceOps tr_device_os_ops = {
        .name = "linux",
        .open = linux_open,
        .close = linux_close,
        .read = linux_read,
        .write = linux_write,
        .get_mtu = tr_nl_get_mtu,
        .set_mtu = tr_nl_set_mtu,
        .set_up = tr_nl_set_up,
        .address = tr_nl_address,
        .route = tr_nl_route,
        .set_dns = tr_linux_set_dns,
        .clear_dns = tr_linux_clear_dns,
        .run_hook = tr_posix_run_hook,
};
