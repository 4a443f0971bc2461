/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linux tun/tap: /dev/net/tun with IFF_NO_PI, one descriptor per queue
 * (IFF_MULTI_QUEUE when there is more than one); configuration through
 * rtnetlink (netlink.c), DNS through dns.c. With TR_DEVICE_OFFLOAD a tun
 * also gets IFF_VNET_HDR: every packet is preceded by a virtio_net_hdr and
 * the kernel may hand over (and take) TCP/UDP super-packets and packets
 * whose checksum is left partial.
 */
#include "platform/linux/linux.h"
#include "platform/linux/rtnl.h"
#include "platform/posix/posix.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define TUN_DEFAULT_PATH "/dev/net/tun"

/* Linux 6.2 (Debian 12's headers are 6.1) */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

_Static_assert(sizeof(struct virtio_net_hdr) == 10, "the virtio-net header tun expects");

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

/* Closes whatever queues are open. */
static void
close_queues(TrDevice *dev)
{
	for (unsigned i = 0; i < dev->n_queues; i++) {
		if (dev->fds[i] >= 0)
			close((int)dev->fds[i]);
		dev->fds[i] = -1;
	}
}

/* Opens every queue; @vnet adds IFF_VNET_HDR. Fills ifname and ifindex. */
static int
open_queues(TrDevice *dev, const char *name, const char *path, bool vnet, TrPlatError *err)
{
	struct ifreq ifr;
	int rc;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)(IFF_NO_PI | (dev->type == TR_DEVICE_TUN ? IFF_TUN : IFF_TAP));
	if (dev->n_queues > 1)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	if (vnet)
		ifr.ifr_flags |= IFF_VNET_HDR;
	for (unsigned q = 0; q < dev->n_queues; q++) {
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
	close_queues(dev);
	return rc;
}

/*
 * With IFF_VNET_HDR: the header size, its byte order and the offloads. The
 * header size and TUNSETVNETLE are per device but set through every queue
 * (harmless, and right whichever queue the kernel looks at); TUNSETOFFLOAD
 * once. Returns the TR_OFFLOAD_* accepted, or 0 when none was (then the
 * caller reopens without the header).
 */
static unsigned
setup_offloads(TrDevice *dev, LinuxDevice *ld)
{
	static const unsigned long base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	int hdr_size = (int)sizeof(struct virtio_net_hdr), le = 1;
	bool le_set = true;

	for (unsigned q = 0; q < dev->n_queues; q++) {
		if (ioctl((int)dev->fds[q], TUNSETVNETHDRSZ, &hdr_size) < 0)
			return 0;
		/* little-endian fields on any host (the default is native on
		 * big-endian hosts built without cross-endian support) */
		if (ioctl((int)dev->fds[q], TUNSETVNETLE, &le) < 0)
			le_set = false;
	}
	ld->vnet_native = !le_set && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
	/* USO is Linux 6.2+; older kernels refuse the unknown bits (EINVAL) */
	if (ioctl((int)dev->fds[0], TUNSETOFFLOAD, base | TUN_F_USO4 | TUN_F_USO6) == 0)
		return TR_OFFLOAD_CSUM | TR_OFFLOAD_TSO | TR_OFFLOAD_USO;
	if (ioctl((int)dev->fds[0], TUNSETOFFLOAD, base) == 0)
		return TR_OFFLOAD_CSUM | TR_OFFLOAD_TSO;
	return 0;
}

static int
linux_open(TrDevice *dev, const char *name, const char *path, TrPlatError *err)
{
	LinuxDevice *ld;
	bool vnet = (dev->open_flags & TR_DEVICE_OFFLOAD) && dev->type == TR_DEVICE_TUN;
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
	rc = open_queues(dev, name, path, vnet, err);
	if (vnet && rc == 0)
		dev->offloads = setup_offloads(dev, ld);
	if (vnet && dev->offloads == 0) {
		/* no offloads after all: a plain device, as if asked for without */
		close_queues(dev);
		rc = open_queues(dev, name, path, false, err);
	}
	if (rc < 0) {
		free(ld);
		dev->offloads = 0;
		return rc;
	}
	ld->vnet_hdr = dev->offloads != 0;
	dev->os = ld;
	return 0;
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

static uint16_t
vnet16_get(const LinuxDevice *ld, uint16_t v)
{
	return ld->vnet_native ? v : le16toh(v);
}

static uint16_t
vnet16_put(const LinuxDevice *ld, uint16_t v)
{
	return ld->vnet_native ? v : htole16(v);
}

static ssize_t
linux_read_gso(TrDevice *dev, unsigned queue, void *buf, size_t size, TrGso *gso)
{
	const LinuxDevice *ld = dev->os;
	struct virtio_net_hdr h;
	struct iovec iov[2] = {
	        {.iov_base = &h, .iov_len = sizeof(h)},
	        {.iov_base = buf, .iov_len = size},
	};
	ssize_t r = readv((int)dev->fds[queue], iov, 2);

	if (r < 0)
		return -errno;
	if ((size_t)r < sizeof(h))
		return -EIO;
	r -= (ssize_t)sizeof(h);
	if ((size_t)r > size)
		return -EMSGSIZE;
	memset(gso, 0, sizeof(*gso));
	switch (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		gso->type = TR_GSO_NONE;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		gso->type = TR_GSO_TCPV4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		gso->type = TR_GSO_TCPV6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		gso->type = TR_GSO_UDP_L4;
		break;
	default:
		return -EPROTO; /* UFO or newer: never asked for */
	}
	gso->ecn = (h.gso_type & VIRTIO_NET_HDR_GSO_ECN) != 0;
	gso->needs_csum = (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
	gso->hdr_len = vnet16_get(ld, h.hdr_len);
	gso->gso_size = vnet16_get(ld, h.gso_size);
	gso->csum_start = vnet16_get(ld, h.csum_start);
	gso->csum_offset = vnet16_get(ld, h.csum_offset);
	return r;
}

static ssize_t
linux_write_gso(TrDevice *dev, unsigned queue, const TrGso *gso, const void *buf, size_t len)
{
	static const uint8_t types[] = {
	        [TR_GSO_NONE] = VIRTIO_NET_HDR_GSO_NONE,
	        [TR_GSO_TCPV4] = VIRTIO_NET_HDR_GSO_TCPV4,
	        [TR_GSO_TCPV6] = VIRTIO_NET_HDR_GSO_TCPV6,
	        [TR_GSO_UDP_L4] = VIRTIO_NET_HDR_GSO_UDP_L4,
	};
	const LinuxDevice *ld = dev->os;
	struct virtio_net_hdr h = {0};
	struct iovec iov[2] = {
	        {.iov_base = &h, .iov_len = sizeof(h)},
	        {.iov_base = (void *)buf, .iov_len = len},
	};
	ssize_t r;

	if (gso->type >= sizeof(types))
		return -EINVAL;
	h.gso_type = types[gso->type];
	if (gso->ecn && gso->type != TR_GSO_NONE)
		h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	if (gso->needs_csum)
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.hdr_len = vnet16_put(ld, gso->hdr_len);
	h.gso_size = vnet16_put(ld, gso->gso_size);
	h.csum_start = vnet16_put(ld, gso->csum_start);
	h.csum_offset = vnet16_put(ld, gso->csum_offset);
	r = writev((int)dev->fds[queue], iov, 2);
	if (r < 0)
		return -errno;
	return r >= (ssize_t)sizeof(h) ? r - (ssize_t)sizeof(h) : 0;
}

/*
 * With a virtio-net header, plain reads and writes still work for plain
 * packets: a read drops (-EPROTO) what is not one packet with a complete
 * checksum; a write sends a zero header.
 */
static ssize_t
linux_read(TrDevice *dev, unsigned queue, void *buf, size_t size)
{
	const LinuxDevice *ld = dev->os;
	ssize_t r;

	if (ld->vnet_hdr) {
		TrGso gso;
		r = linux_read_gso(dev, queue, buf, size, &gso);
		if (r >= 0 && (gso.type != TR_GSO_NONE || gso.needs_csum))
			return -EPROTO;
		return r;
	}
	r = read((int)dev->fds[queue], buf, size);
	if (r < 0)
		return -errno;
	/* tun truncates silently and reports the whole length */
	return (size_t)r > size ? -EMSGSIZE : r;
}

static ssize_t
linux_write(TrDevice *dev, unsigned queue, const void *buf, size_t len)
{
	static const TrGso plain;
	const LinuxDevice *ld = dev->os;
	ssize_t r;

	if (ld->vnet_hdr)
		return linux_write_gso(dev, queue, &plain, buf, len);
	r = write((int)dev->fds[queue], buf, len);
	return r < 0 ? -errno : r;
}

const TrDeviceOps tr_device_os_ops = {
        .name = "linux",
        .open = linux_open,
        .close = linux_close,
        .read = linux_read,
        .write = linux_write,
        .read_gso = linux_read_gso,
        .write_gso = linux_write_gso,
        .express_program = tr_linux_express_program,
        .set_express_queue = tr_linux_set_express_queue,
        .get_mtu = tr_nl_get_mtu,
        .set_mtu = tr_nl_set_mtu,
        .set_up = tr_nl_set_up,
        .address = tr_nl_address,
        .route = tr_nl_route,
        .set_dns = tr_linux_set_dns,
        .clear_dns = tr_linux_clear_dns,
        .run_hook = tr_posix_run_hook,
};
