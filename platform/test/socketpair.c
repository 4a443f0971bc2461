/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test device: each queue is one end of a SOCK_SEQPACKET socketpair whose
 * other end the test holds, so the whole stack runs without root or an OS
 * device. Configuration is recorded, not applied.
 */
#include "platform/device-ops.h"
#include "platform/posix/posix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TEST_MAX_ITEMS 64

typedef struct {
	int peers[TR_DEVICE_MAX_QUEUES];
	unsigned mtu;
	bool up;
	TrPrefix addresses[TEST_MAX_ITEMS];
	unsigned n_addresses;
	TrPrefix routes[TEST_MAX_ITEMS];
	unsigned n_routes;
	char dns[1024];
} TestDevice;

static unsigned next_number;

static int
test_open(TrDevice *dev, const char *name, const char *path, TrPlatError *err)
{
	char ebuf[128];
	TestDevice *t = calloc(1, sizeof(*t));
	const char *pct = strstr(name, "%d");

	(void)path;
	if (!t)
		return tr_plat_error_set(err, ENOMEM, "out of memory");
	if (pct)
		snprintf(dev->ifname, sizeof(dev->ifname), "%.*s%u%s", (int)(pct - name), name,
		         __atomic_fetch_add(&next_number, 1, __ATOMIC_RELAXED), pct + 2);
	else
		snprintf(dev->ifname, sizeof(dev->ifname), "%s", name);
	t->mtu = 1500;
	for (unsigned q = 0; q < TR_DEVICE_MAX_QUEUES; q++)
		t->peers[q] = -1;
	for (unsigned q = 0; q < dev->n_queues; q++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
			int e = errno;
			for (unsigned i = 0; i < q; i++) {
				close((int)dev->fds[i]);
				close(t->peers[i]);
			}
			free(t);
			return tr_plat_error_set(err, e,
			                         "cannot create the test device's socketpair: %s",
			                         tr_plat_strerror(e, ebuf, sizeof(ebuf)));
		}
		fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
		dev->fds[q] = sv[0];
		t->peers[q] = sv[1];
	}
	dev->os = t;
	return 0;
}

TrDevice *
tr_device_open_test(TrDeviceType type, const char *name, unsigned n_queues, int *peer_fds,
                    TrPlatError *err)
{
	TrDevice *dev;
	TestDevice *t;

	if (!peer_fds) {
		tr_plat_error_set(err, EINVAL, "the test device needs an array for its peer fds");
		return NULL;
	}
	dev = tr_device_open_with(&tr_device_test_ops, type, name, NULL, n_queues, 0, err);
	if (!dev)
		return NULL;
	t = dev->os;
	for (unsigned q = 0; q < n_queues; q++) {
		peer_fds[q] = t->peers[q];
		t->peers[q] = -1;
	}
	return dev;
}

static void
test_close(TrDevice *dev)
{
	TestDevice *t = dev->os;

	for (unsigned q = 0; q < dev->n_queues; q++) {
		close((int)dev->fds[q]);
		if (t->peers[q] >= 0)
			close(t->peers[q]);
	}
	free(t);
}

static ssize_t
test_read(TrDevice *dev, unsigned queue, void *buf, size_t size)
{
	ssize_t r = recv((int)dev->fds[queue], buf, size, MSG_DONTWAIT | MSG_TRUNC);

	if (r < 0)
		return -errno;
	if (r == 0)
		return -EPIPE; /* the peer end is closed */
	return (size_t)r > size ? -EMSGSIZE : r;
}

static ssize_t
test_write(TrDevice *dev, unsigned queue, const void *buf, size_t len)
{
	ssize_t r = send((int)dev->fds[queue], buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	return r < 0 ? -errno : r;
}

static int
test_get_mtu(TrDevice *dev, unsigned *mtu, TrPlatError *err)
{
	(void)err;
	*mtu = ((TestDevice *)dev->os)->mtu;
	return 0;
}

static int
test_set_mtu(TrDevice *dev, unsigned mtu, TrPlatError *err)
{
	(void)err;
	((TestDevice *)dev->os)->mtu = mtu;
	return 0;
}

static int
test_set_up(TrDevice *dev, bool up, TrPlatError *err)
{
	(void)err;
	((TestDevice *)dev->os)->up = up;
	return 0;
}

/* Adds to or removes from a list, failing as an OS would: EEXIST, ESRCH. */
static int
list_change(TrPrefix *list, unsigned *n, bool add, const TrPrefix *p, const char *what,
            TrPlatError *err)
{
	char buf[64];

	for (unsigned i = 0; i < *n; i++) {
		if (memcmp(&list[i], p, sizeof(*p)) != 0)
			continue;
		if (add)
			return tr_plat_error_set(err, EEXIST, "%s %s exists", what,
			                         tr_plat_prefix_str(p, buf, sizeof(buf)));
		memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof(*p));
		(*n)--;
		return 0;
	}
	if (!add)
		return tr_plat_error_set(err, ESRCH, "no %s %s", what,
		                         tr_plat_prefix_str(p, buf, sizeof(buf)));
	if (*n == TEST_MAX_ITEMS)
		return tr_plat_error_set(err, ENOSPC, "the test device holds %d of each",
		                         TEST_MAX_ITEMS);
	list[(*n)++] = *p;
	return 0;
}

static int
test_address(TrDevice *dev, bool add, const TrPrefix *p, TrPlatError *err)
{
	TestDevice *t = dev->os;
	TrPrefix clean = {.family = p->family, .len = p->len};

	memcpy(clean.addr, p->addr, p->family == TR_ADDR_IPV4 ? 4 : 16);
	return list_change(t->addresses, &t->n_addresses, add, &clean, "address", err);
}

static int
test_route(TrDevice *dev, bool add, const TrPrefix *p, TrPlatError *err)
{
	TestDevice *t = dev->os;
	TrPrefix clean = {.family = p->family, .len = p->len};

	memcpy(clean.addr, p->addr, p->family == TR_ADDR_IPV4 ? 4 : 16);
	return list_change(t->routes, &t->n_routes, add, &clean, "route", err);
}

static int
test_set_dns(TrDevice *dev, const TrDnsConfig *dns, TrPlatError *err)
{
	TestDevice *t = dev->os;
	size_t off = 0;
	int rc = tr_posix_dns_check(dns, err);

	if (rc < 0)
		return rc;
	t->dns[0] = '\0';
	for (size_t i = 0; i < dns->n_servers && off < sizeof(t->dns); i++)
		off += (size_t)snprintf(t->dns + off, sizeof(t->dns) - off, "dns %s\n",
		                        dns->servers[i]);
	for (size_t i = 0; i < dns->n_domains && off < sizeof(t->dns); i++)
		off += (size_t)snprintf(t->dns + off, sizeof(t->dns) - off, "domain %s\n",
		                        dns->domains[i]);
	if (off >= sizeof(t->dns))
		return tr_plat_error_set(err, ENOSPC, "DNS settings are too long");
	return 0;
}

static int
test_clear_dns(TrDevice *dev, TrPlatError *err)
{
	(void)err;
	((TestDevice *)dev->os)->dns[0] = '\0';
	return 0;
}

char *
tr_device_test_state(const TrDevice *dev, char *buf, size_t size)
{
	const TestDevice *t = dev->os;
	char p[64];
	size_t off = 0;

#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (off < size)                                                                    \
			off += (size_t)snprintf(buf + off, size - off, __VA_ARGS__);               \
	} while (0)

	if (size)
		buf[0] = '\0';
	if (dev->ops != &tr_device_test_ops)
		return buf;
	ADD("mtu %u\n", t->mtu);
	if (t->up)
		ADD("up\n");
	for (unsigned i = 0; i < t->n_addresses; i++)
		ADD("address %s\n", tr_plat_prefix_str(&t->addresses[i], p, sizeof(p)));
	for (unsigned i = 0; i < t->n_routes; i++)
		ADD("route %s\n", tr_plat_prefix_str(&t->routes[i], p, sizeof(p)));
	ADD("%s", t->dns);
#undef ADD
	return buf;
}

const TrDeviceOps tr_device_test_ops = {
        .name = "test",
        .open = test_open,
        .close = test_close,
        .read = test_read,
        .write = test_write,
        .get_mtu = test_get_mtu,
        .set_mtu = test_set_mtu,
        .set_up = test_set_up,
        .address = test_address,
        .route = test_route,
        .set_dns = test_set_dns,
        .clear_dns = test_clear_dns,
        .run_hook = tr_posix_run_hook,
};
