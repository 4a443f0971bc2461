/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The OS-independent half of a device: argument checks, the undo journal and
 * the dispatch to the backend's table of operations.
 */
#include "platform/device-ops.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
	CHANGE_UP,
	CHANGE_ADDRESS,
	CHANGE_ROUTE,
} ChangeKind;

struct TrChange {
	ChangeKind kind;
	TrPrefix prefix;
};

int
tr_plat_error_set(TrPlatError *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (errnum <= 0)
		errnum = EIO;
	if (err) {
		err->code = -errnum;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return -errnum;
}

void
tr_plat_error_prefix(TrPlatError *err, const char *fmt, ...)
{
	char both[2 * TR_PLAT_ERRMSG_MAX + 2];
	size_t n;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(both, TR_PLAT_ERRMSG_MAX, fmt, ap);
	va_end(ap);
	n = strlen(both);
	memcpy(both + n, ": ", 2);
	memcpy(both + n + 2, err->message, strnlen(err->message, TR_PLAT_ERRMSG_MAX - 1) + 1);
	both[n + 2 + strnlen(err->message, TR_PLAT_ERRMSG_MAX - 1)] = '\0';
	memcpy(err->message, both, TR_PLAT_ERRMSG_MAX - 1);
	err->message[TR_PLAT_ERRMSG_MAX - 1] = '\0';
}

/* RFC 5952 text: the longest run of two or more zero groups becomes "::". */
static void
ipv6_str(const uint8_t *a, char *buf, size_t size)
{
	int best = -1, best_len = 0, off = 0;

	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && a[2 * j] == 0 && a[2 * j + 1] == 0)
			j++;
		if (j - i > best_len && j - i >= 2) {
			best = i;
			best_len = j - i;
		}
		i = j > i ? j : i + 1;
	}
	buf[0] = '\0';
	for (int i = 0; i < 8 && off < (int)size; i++) {
		if (i == best) {
			off += snprintf(buf + off, size - (size_t)off, "::");
			i += best_len - 1;
			continue;
		}
		off += snprintf(buf + off, size - (size_t)off, "%s%x",
		                i > 0 && i != best + best_len ? ":" : "",
		                a[2 * i] << 8 | a[2 * i + 1]);
	}
}

const char *
tr_plat_prefix_str(const TrPrefix *p, char *buf, size_t size)
{
	char addr[48];

	if (p->family == TR_ADDR_IPV4)
		snprintf(addr, sizeof(addr), "%u.%u.%u.%u", p->addr[0], p->addr[1], p->addr[2],
		         p->addr[3]);
	else if (p->family == TR_ADDR_IPV6)
		ipv6_str(p->addr, addr, sizeof(addr));
	else
		snprintf(addr, sizeof(addr), "(family %u)", p->family);
	snprintf(buf, size, "%s/%u", addr, p->len);
	return buf;
}

int
tr_plat_prefix_check(const TrPrefix *p, TrPlatError *err)
{
	char buf[64];

	if (!p)
		return tr_plat_error_set(err, EINVAL, "no address given");
	if (p->family != TR_ADDR_IPV4 && p->family != TR_ADDR_IPV6)
		return tr_plat_error_set(err, EAFNOSUPPORT,
		                         "only IPv4 and IPv6 addresses can be set on a device");
	if (p->len > (p->family == TR_ADDR_IPV4 ? 32 : 128))
		return tr_plat_error_set(err, EINVAL, "prefix length %u is too long for %s", p->len,
		                         tr_plat_prefix_str(p, buf, sizeof(buf)));
	return 0;
}

static TrDevice *
device_new(const TrDeviceOps *ops, TrDeviceType type, unsigned n_queues, TrPlatError *err)
{
	TrDevice *dev;

	if (type != TR_DEVICE_TUN && type != TR_DEVICE_TAP) {
		tr_plat_error_set(err, EINVAL, "unknown device type %d", (int)type);
		return NULL;
	}
	if (n_queues < 1 || n_queues > TR_DEVICE_MAX_QUEUES) {
		tr_plat_error_set(err, EINVAL, "%u queues asked for; a device has 1 to %u",
		                  n_queues, TR_DEVICE_MAX_QUEUES);
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		tr_plat_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	dev->ops = ops;
	dev->type = type;
	dev->n_queues = n_queues;
	for (unsigned i = 0; i < TR_DEVICE_MAX_QUEUES; i++)
		dev->fds[i] = -1;
	return dev;
}

TrDevice *
tr_device_open_with(const TrDeviceOps *ops, TrDeviceType type, const char *name, const char *path,
                    unsigned n_queues, unsigned flags, TrPlatError *err)
{
	TrDevice *dev = device_new(ops, type, n_queues, err);

	if (!dev)
		return NULL;
	dev->open_flags = flags;
	if (!name || !*name)
		name = TR_DEVICE_NAME_DEFAULT;
	if (strlen(name) >= TR_IFNAME_MAX) {
		tr_plat_error_set(err, ENAMETOOLONG, "device name %s is too long", name);
		free(dev);
		return NULL;
	}
	if (ops->open(dev, name, path, err) < 0) {
		free(dev);
		return NULL;
	}
	return dev;
}

/* The OS backend, or the test device for a "udp:" path (platform/test/socketpair.c). */
static const TrDeviceOps *
backend_for(const char *path)
{
	return path && strncmp(path, "udp:", 4) == 0 ? &tr_device_test_ops : &tr_device_os_ops;
}

TrDevice *
tr_device_open(TrDeviceType type, const char *name, const char *path, unsigned n_queues,
               TrPlatError *err)
{
	return tr_device_open_with(backend_for(path), type, name, path, n_queues, 0, err);
}

TrDevice *
tr_device_open_ex(TrDeviceType type, const char *name, const char *path, unsigned n_queues,
                  unsigned flags, TrPlatError *err)
{
	return tr_device_open_with(backend_for(path), type, name, path, n_queues, flags, err);
}

static int
journal_add(TrDevice *dev, ChangeKind kind, const TrPrefix *prefix, TrPlatError *err)
{
	struct TrChange *c;

	if (dev->n_changes == dev->cap_changes) {
		size_t cap = dev->cap_changes ? dev->cap_changes * 2 : 8;
		c = realloc(dev->changes, cap * sizeof(*c));
		if (!c)
			return tr_plat_error_set(err, ENOMEM, "out of memory");
		dev->changes = c;
		dev->cap_changes = cap;
	}
	c = &dev->changes[dev->n_changes++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	if (prefix)
		c->prefix = *prefix;
	return 0;
}

static bool
prefix_same(const TrPrefix *a, const TrPrefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       memcmp(a->addr, b->addr, a->family == TR_ADDR_IPV4 ? 4 : 16) == 0;
}

/* Forgets the newest matching change (it was undone by hand). */
static void
journal_forget(TrDevice *dev, ChangeKind kind, const TrPrefix *prefix)
{
	for (size_t i = dev->n_changes; i-- > 0;) {
		struct TrChange *c = &dev->changes[i];
		if (c->kind != kind || (prefix && !prefix_same(&c->prefix, prefix)))
			continue;
		memmove(c, c + 1, (dev->n_changes - i - 1) * sizeof(*c));
		dev->n_changes--;
		return;
	}
}

/* Keeps the first error for the caller, logs nothing: close goes on regardless. */
static void
keep_first(int rc, const TrPlatError *now, int *first, TrPlatError *err)
{
	if (rc >= 0 || *first < 0)
		return;
	*first = rc;
	if (err)
		*err = *now;
}

int
tr_device_close(TrDevice *dev, TrPlatError *err)
{
	TrPlatError now;
	int first = 0;

	if (!dev)
		return 0;
	if (dev->ifdown) {
		keep_first(dev->ops->run_hook(dev, dev->ifdown, &now), &now, &first, err);
		free(dev->ifdown);
	}
	if (dev->dns_set)
		keep_first(dev->ops->clear_dns(dev, &now), &now, &first, err);
	for (size_t i = dev->n_changes; i-- > 0;) {
		const struct TrChange *c = &dev->changes[i];
		int rc = 0;

		switch (c->kind) {
		case CHANGE_UP:
			rc = dev->ops->set_up(dev, false, &now);
			break;
		case CHANGE_ADDRESS:
			rc = dev->ops->address(dev, false, &c->prefix, &now);
			break;
		case CHANGE_ROUTE:
			rc = dev->ops->route(dev, false, &c->prefix, &now);
			break;
		}
		/* Already gone is undone: taking the link down drops its IPv6
		 * addresses and the routes through it. */
		if (c->kind != CHANGE_UP && (rc == -EADDRNOTAVAIL || rc == -ESRCH || rc == -ENOENT))
			rc = 0;
		keep_first(rc, &now, &first, err);
	}
	if (dev->mtu_saved)
		keep_first(dev->ops->set_mtu(dev, dev->saved_mtu, &now), &now, &first, err);
	free(dev->changes);
	dev->ops->close(dev);
	free(dev);
	return first;
}

const char *
tr_device_ifname(const TrDevice *dev)
{
	return dev->ifname;
}

TrDeviceType
tr_device_type(const TrDevice *dev)
{
	return dev->type;
}

unsigned
tr_device_n_queues(const TrDevice *dev)
{
	return dev->n_queues;
}

unsigned
tr_device_ifindex(const TrDevice *dev)
{
	return dev->ifindex;
}

intptr_t
tr_device_queue_fd(const TrDevice *dev, unsigned queue)
{
	return queue < dev->n_queues ? dev->fds[queue] : -1;
}

int
tr_device_express_program(TrDeviceType type, unsigned n_queues, unsigned max_len, TrPlatError *err)
{
	if (tr_device_os_ops.express_program == NULL)
		return tr_plat_error_set(err, EOPNOTSUPP,
		                         "an express queue needs Linux multi-queue tun/tap devices "
		                         "(%s has none)",
		                         tr_device_os_ops.name);
	return tr_device_os_ops.express_program(type, n_queues, max_len, err);
}

int
tr_device_set_express_queue(TrDevice *dev, int program, unsigned n_queues, TrPlatError *err)
{
	if (dev->ops->set_express_queue == NULL)
		return tr_plat_error_set(err, EOPNOTSUPP,
		                         "%s: an express queue needs a Linux "
		                         "multi-queue tun/tap device",
		                         dev->ifname);
	if (program < 0 || n_queues != dev->n_queues)
		return tr_plat_error_set(err, EINVAL,
		                         "%s: the express queue was made for %u queues, the device "
		                         "has %u",
		                         dev->ifname, n_queues, dev->n_queues);
	return dev->ops->set_express_queue(dev, program, err);
}

ssize_t
tr_device_read(TrDevice *dev, unsigned queue, void *buf, size_t size)
{
	if (queue >= dev->n_queues)
		return -EINVAL;
	return dev->ops->read(dev, queue, buf, size);
}

ssize_t
tr_device_write(TrDevice *dev, unsigned queue, const void *buf, size_t len)
{
	if (queue >= dev->n_queues)
		return -EINVAL;
	return dev->ops->write(dev, queue, buf, len);
}

int
tr_device_read_batch(TrDevice *dev, unsigned queue, TrDevPacket *pkts, unsigned n)
{
	unsigned i;

	if (queue >= dev->n_queues || n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		ssize_t r = dev->ops->read(dev, queue, pkts[i].data, pkts[i].size);
		if (r == -EMSGSIZE || r == -EPROTO) {
			/* dropped by the read (too big, or an offload super-packet
			 * that is not one packet): the next one may do */
			pkts[i].len = 0;
			i--;
			n--;
			continue;
		}
		if (r < 0)
			return i > 0 ? (int)i : (int)r;
		pkts[i].len = (size_t)r;
	}
	return (int)i;
}

int
tr_device_write_batch(TrDevice *dev, unsigned queue, const TrDevPacket *pkts, unsigned n)
{
	unsigned i;

	if (queue >= dev->n_queues)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		ssize_t r = dev->ops->write(dev, queue, pkts[i].data, pkts[i].len);
		if (r < 0)
			return i > 0 ? (int)i : (int)r;
	}
	return (int)i;
}

unsigned
tr_device_offloads(const TrDevice *dev)
{
	return dev->offloads;
}

ssize_t
tr_device_read_gso(TrDevice *dev, unsigned queue, void *buf, size_t size, TrGso *gso)
{
	TrGso scratch;

	if (queue >= dev->n_queues)
		return -EINVAL;
	if (!gso)
		gso = &scratch;
	if (dev->offloads && dev->ops->read_gso)
		return dev->ops->read_gso(dev, queue, buf, size, gso);
	memset(gso, 0, sizeof(*gso));
	return dev->ops->read(dev, queue, buf, size);
}

/* Whether the device took the offloads @gso asks for. */
static bool
gso_supported(const TrDevice *dev, const TrGso *gso)
{
	switch (gso->type) {
	case TR_GSO_NONE:
		return !gso->needs_csum || (dev->offloads & TR_OFFLOAD_CSUM);
	case TR_GSO_TCPV4:
	case TR_GSO_TCPV6:
		return (dev->offloads & TR_OFFLOAD_TSO) != 0;
	case TR_GSO_UDP_L4:
		return (dev->offloads & TR_OFFLOAD_USO) != 0;
	default:
		return false;
	}
}

ssize_t
tr_device_write_gso(TrDevice *dev, unsigned queue, const TrGso *gso, const void *buf, size_t len)
{
	static const TrGso plain;

	if (queue >= dev->n_queues)
		return -EINVAL;
	if (!gso)
		gso = &plain;
	if (!gso_supported(dev, gso))
		return -EINVAL;
	if (dev->offloads && dev->ops->write_gso)
		return dev->ops->write_gso(dev, queue, gso, buf, len);
	return dev->ops->write(dev, queue, buf, len);
}

int
tr_device_get_mtu(TrDevice *dev, unsigned *mtu, TrPlatError *err)
{
	return dev->ops->get_mtu(dev, mtu, err);
}

int
tr_device_set_mtu(TrDevice *dev, unsigned mtu, TrPlatError *err)
{
	unsigned old;
	int rc;

	if (mtu < 68 || mtu > 65535)
		return tr_plat_error_set(err, EINVAL, "MTU %u is out of range (68 to 65535)", mtu);
	if (!dev->mtu_saved) {
		rc = dev->ops->get_mtu(dev, &old, err);
		if (rc < 0)
			return rc;
	}
	rc = dev->ops->set_mtu(dev, mtu, err);
	if (rc < 0)
		return rc;
	if (!dev->mtu_saved) {
		dev->mtu_saved = true;
		dev->saved_mtu = old;
	}
	return 0;
}

int
tr_device_set_up(TrDevice *dev, bool up, TrPlatError *err)
{
	bool was_up = false;
	int rc;

	for (size_t i = 0; i < dev->n_changes; i++)
		was_up |= dev->changes[i].kind == CHANGE_UP;
	rc = dev->ops->set_up(dev, up, err);
	if (rc < 0)
		return rc;
	if (up && !was_up) {
		rc = journal_add(dev, CHANGE_UP, NULL, err);
		if (rc < 0)
			dev->ops->set_up(dev, false, NULL);
		return rc;
	}
	if (!up)
		journal_forget(dev, CHANGE_UP, NULL);
	return 0;
}

static int
change_prefix(TrDevice *dev, ChangeKind kind, bool add, const TrPrefix *p, TrPlatError *err)
{
	int rc = tr_plat_prefix_check(p, err);

	if (rc < 0)
		return rc;
	if (add && (rc = journal_add(dev, kind, p, err)) < 0)
		return rc;
	rc = kind == CHANGE_ROUTE ? dev->ops->route(dev, add, p, err)
	                          : dev->ops->address(dev, add, p, err);
	if (rc < 0) {
		if (add)
			dev->n_changes--;
		return rc;
	}
	if (!add)
		journal_forget(dev, kind, p);
	return 0;
}

int
tr_device_add_address(TrDevice *dev, const TrPrefix *addr, TrPlatError *err)
{
	return change_prefix(dev, CHANGE_ADDRESS, true, addr, err);
}

int
tr_device_remove_address(TrDevice *dev, const TrPrefix *addr, TrPlatError *err)
{
	return change_prefix(dev, CHANGE_ADDRESS, false, addr, err);
}

int
tr_device_add_route(TrDevice *dev, const TrPrefix *prefix, TrPlatError *err)
{
	return change_prefix(dev, CHANGE_ROUTE, true, prefix, err);
}

int
tr_device_remove_route(TrDevice *dev, const TrPrefix *prefix, TrPlatError *err)
{
	return change_prefix(dev, CHANGE_ROUTE, false, prefix, err);
}

int
tr_device_set_dns(TrDevice *dev, const TrDnsConfig *dns, TrPlatError *err)
{
	int rc;

	if (!dns || (dns->n_servers && !dns->servers) || (dns->n_domains && !dns->domains))
		return tr_plat_error_set(err, EINVAL, "no DNS settings given");
	if (dns->method < TR_DNS_AUTO || dns->method > TR_DNS_FILE)
		return tr_plat_error_set(err, EINVAL, "unknown DNS method %d", (int)dns->method);
	if (dev->dns_set) {
		rc = dev->ops->clear_dns(dev, err);
		if (rc < 0)
			return rc;
		dev->dns_set = false;
	}
	rc = dev->ops->set_dns(dev, dns, err);
	if (rc < 0)
		return rc;
	dev->dns_set = true;
	return 0;
}

int
tr_device_run_hook(TrDevice *dev, const char *command, TrPlatError *err)
{
	if (!command || !*command)
		return tr_plat_error_set(err, EINVAL, "empty command");
	return dev->ops->run_hook(dev, command, err);
}

int
tr_device_ifup(TrDevice *dev, const char *ifup, const char *ifdown, TrPlatError *err)
{
	char *copy = NULL;
	int rc;

	if (ifdown && *ifdown) {
		copy = strdup(ifdown);
		if (!copy)
			return tr_plat_error_set(err, ENOMEM, "out of memory");
	}
	if (ifup && *ifup) {
		rc = tr_device_run_hook(dev, ifup, err);
		if (rc < 0) {
			tr_plat_error_prefix(err, "ifup");
			free(copy);
			return rc;
		}
	}
	free(dev->ifdown);
	dev->ifdown = copy;
	return 0;
}
