/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The test device: each queue is one end of a datagram socket pair whose
 * other end the test holds (tr_sock_dgram_pair: a SOCK_SEQPACKET socketpair
 * on POSIX, two loopback UDP sockets on Windows), so the whole stack runs
 * without root or an OS device. Configuration is recorded, not applied.
 *
 * Opened with the path "udp:127.0.0.1:PORT" (or "udp:[::1]:PORT"), as any
 * device through tr_device_open(), its one queue is a UDP socket connected
 * to that loopback port instead: a program that holds the port sees the
 * packets a daemon writes to its device and injects the ones it reads. Wine
 * has no TAP driver; this is how the Windows client carries packets in tests.
 * On opening, the device sends the port an empty datagram, so that its
 * holder knows where to send.
 */
#include "platform/device-ops.h"
#include "platform/net.h"
#ifdef _WIN32
#include "platform/windows/windows.h"
#else
#include "platform/posix/posix.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* "udp:HOST:PORT" with a numeric loopback HOST: one queue, connected there. */
static int
open_udp(TrDevice *dev, const char *path, TrPlatError *err)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
	                         .ai_socktype = SOCK_DGRAM};
	struct addrinfo *ai = NULL;
	char host[64], port[8];
	const char *spec = path + 4, *colon = strrchr(spec, ':');
	int fd, rc;
	bool loopback;

	if (strncmp(path, "udp:", 4) != 0 || !colon || colon == spec ||
	    (size_t)(colon - spec) >= sizeof(host) || strlen(colon + 1) >= sizeof(port))
		return tr_plat_error_set(err, EINVAL,
		                         "test device path '%s': expected udp:HOST:PORT", path);
	if (dev->n_queues != 1)
		return tr_plat_error_set(err, EINVAL, "the udp: test device has one queue, not %u",
		                         dev->n_queues);
	if (spec[0] == '[' && colon[-1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec - 2), spec + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	snprintf(port, sizeof(port), "%s", colon + 1);
	rc = tr_net_init(err);
	if (rc < 0)
		return rc;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
		return tr_plat_error_set(
		        err, EINVAL, "test device path '%s': expected a numeric address and port",
		        path);
	loopback = ai->ai_family == AF_INET
	                   ? ((const struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr ==
	                             htonl(INADDR_LOOPBACK)
	                   : IN6_IS_ADDR_LOOPBACK(
	                             &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
	if (!loopback) {
		freeaddrinfo(ai);
		return tr_plat_error_set(err, EINVAL,
		                         "test device path '%s': the udp: test device talks to "
		                         "127.0.0.1 or ::1 only",
		                         path);
	}
	fd = (int)socket(ai->ai_family, SOCK_DGRAM, IPPROTO_UDP);
	if (fd < 0 || connect(fd, ai->ai_addr, (socklen_t)ai->ai_addrlen) != 0 ||
	    tr_sock_set_nonblocking(fd, NULL) < 0) {
		rc = tr_plat_error_set(err, tr_sock_errno(), "test device: cannot connect to %s",
		                       spec);
		tr_sock_close(fd);
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
#ifdef _WIN32
	tr_win_udp_no_connreset((SOCKET)fd);
#endif
	/* An empty datagram tells the port's holder where the device is. */
	(void)tr_sock_sendto(fd, "", 0, NULL, 0);
	dev->fds[0] = fd;
	return 0;
}

static int
test_open(TrDevice *dev, const char *name, const char *path, TrPlatError *err)
{
	TestDevice *t = calloc(1, sizeof(*t));
	const char *pct = strstr(name, "%d");

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
	if (path) {
		int rc = open_udp(dev, path, err);
		if (rc < 0) {
			free(t);
			return rc;
		}
		dev->os = t;
		return 0;
	}
	for (unsigned q = 0; q < dev->n_queues; q++) {
		int sv[2];
		int rc = tr_sock_dgram_pair(sv, err);

		if (rc < 0) {
			for (unsigned i = 0; i < q; i++) {
				tr_sock_close((int)dev->fds[i]);
				tr_sock_close(t->peers[i]);
			}
			free(t);
			return rc;
		}
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
		tr_sock_close((int)dev->fds[q]);
		tr_sock_close(t->peers[q]);
	}
	free(t);
}

static ssize_t
test_read(TrDevice *dev, unsigned queue, void *buf, size_t size)
{
	return tr_sock_recv((int)dev->fds[queue], buf, size); /* -EPIPE: the peer end is closed */
}

static ssize_t
test_write(TrDevice *dev, unsigned queue, const void *buf, size_t len)
{
	return tr_sock_sendto((int)dev->fds[queue], buf, len, NULL, 0);
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
#ifdef _WIN32
	int rc = tr_win_dns_check(dns, err);
#else
	int rc = tr_posix_dns_check(dns, err);
#endif

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
#ifdef _WIN32
        .run_hook = tr_win_run_hook,
#else
        .run_hook = tr_posix_run_hook,
#endif
};
