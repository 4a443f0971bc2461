/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * platform/udp.h on loopback (127.0.0.1, ::1, ephemeral ports, no root):
 * batches, UDP_SEGMENT send and its fallback, UDP_GRO receive, reuseport
 * steering, the poller and the wakeup. Every wait is bounded.
 */
#include "platform/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 2000

static socklen_t
loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	in6->sin6_addr = in6addr_loopback;
	return sizeof(*in6);
}

/* Opens a socket on loopback (port 0: any); NULL-safe error check. */
static int
open_on(int family, uint16_t port, unsigned flags)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	TrPlatError err = {0};
	int fd = tr_udp_open((struct sockaddr *)&ss, len, flags, 1 << 20, &err);

	if (fd < 0)
		g_error("tr_udp_open: %s", err.message);
	return fd;
}

static uint16_t
port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&ss, &len), ==, 0);
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                                     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static bool
ipv6_loopback_works(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET6, 0, &ss);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&ss, len) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool
readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

/* Fills @msgs' buffers from @store (@n buffers of @size bytes). */
static void
msgs_init(TrUdpMsg *msgs, unsigned n, uint8_t *store, size_t size)
{
	for (unsigned i = 0; i < n; i++)
		msgs[i] = (TrUdpMsg){.data = store + i * size, .size = size};
}

/*
 * Receives until @want datagrams (coalesced runs counted by their segments)
 * or WAIT_MS pass; appends each datagram to @out as length-prefixed records.
 * Returns the number of datagrams; *@coalesced tells if any run had more.
 */
static unsigned
recv_datagrams(int fd, unsigned want, GByteArray *out, bool *coalesced,
               struct sockaddr_storage *from)
{
	static uint8_t store[8][65536];
	TrUdpMsg msgs[8];
	unsigned got = 0;
	gint64 end = g_get_monotonic_time() + WAIT_MS * 1000;

	while (got < want && g_get_monotonic_time() < end) {
		int r;

		msgs_init(msgs, 8, &store[0][0], sizeof(store[0]));
		r = tr_udp_recv_batch(fd, msgs, 8);
		if (r == -EAGAIN) {
			readable(fd, 50);
			continue;
		}
		g_assert_cmpint(r, >=, 1);
		for (int i = 0; i < r; i++) {
			size_t seg = msgs[i].segment ? msgs[i].segment : msgs[i].len;
			size_t off = 0;

			if (msgs[i].segment && coalesced)
				*coalesced = true;
			if (from)
				*from = msgs[i].addr;
			do {
				size_t n = MIN(seg, msgs[i].len - off);
				uint32_t len32 = (uint32_t)n;

				g_byte_array_append(out, (uint8_t *)&len32, 4);
				g_byte_array_append(out, msgs[i].data + off, (guint)n);
				off += n;
				got++;
			} while (off < msgs[i].len);
		}
	}
	return got;
}

/* The records recv_datagrams makes for datagrams cut from @data by @segment. */
static GByteArray *
expected(const uint8_t *data, size_t len, size_t segment)
{
	GByteArray *a = g_byte_array_new();
	size_t off = 0;

	do {
		size_t n = MIN(segment, len - off);
		uint32_t len32 = (uint32_t)n;

		g_byte_array_append(a, (uint8_t *)&len32, 4);
		g_byte_array_append(a, data + off, (guint)n);
		off += n;
	} while (off < len);
	return a;
}

static void
assert_same(GByteArray *got, GByteArray *want)
{
	g_assert_cmpmem(got->data, got->len, want->data, want->len);
	g_byte_array_unref(got);
	g_byte_array_unref(want);
}

static void
fill(uint8_t *data, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + seed + i / 251);
}

static void
batch(int family)
{
	int rx = open_on(family, 0, 0), tx = open_on(family, 0, 0);
	uint8_t payload[5][100];
	TrUdpMsg msgs[5];
	struct sockaddr_storage from;
	GByteArray *got = g_byte_array_new(), *want = g_byte_array_new();

	for (unsigned i = 0; i < 5; i++) {
		size_t len = 20 + i * 17;
		uint32_t len32 = (uint32_t)len;

		fill(payload[i], len, i);
		msgs[i] = (TrUdpMsg){.data = payload[i], .size = sizeof(payload[i]), .len = len};
		msgs[i].addr_len = loopback(family, port_of(rx), &msgs[i].addr);
		g_byte_array_append(want, (uint8_t *)&len32, 4);
		g_byte_array_append(want, payload[i], (guint)len);
	}
	g_assert_cmpint(tr_udp_send_batch(tx, msgs, 5), ==, 5);
	g_assert_cmpuint(recv_datagrams(rx, 5, got, NULL, &from), ==, 5);
	assert_same(got, want);
	/* the source is the sender's address */
	g_assert_cmpint(from.ss_family, ==, family);
	if (family == AF_INET)
		g_assert_cmpuint(ntohs(((struct sockaddr_in *)&from)->sin_port), ==, port_of(tx));
	else
		g_assert_cmpuint(ntohs(((struct sockaddr_in6 *)&from)->sin6_port), ==, port_of(tx));
	{
		TrUdpMsg one;
		uint8_t b[16];
		msgs_init(&one, 1, b, sizeof(b));
		g_assert_cmpint(tr_udp_recv_batch(rx, &one, 1), ==, -EAGAIN);
		g_assert_cmpint(tr_udp_recv_batch(rx, &one, 0), ==, -EINVAL);
	}
	close(rx);
	close(tx);
}

static void
test_batch_v4(void)
{
	batch(AF_INET);
}

static void
test_batch_v6(void)
{
	if (!ipv6_loopback_works()) {
		g_test_skip("no IPv6 loopback");
		return;
	}
	batch(AF_INET6);
}

/* An IPv6 wildcard socket takes IPv4 too (IPV6_V6ONLY off). */
static void
test_dual_stack(void)
{
	struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
	TrPlatError err = {0};
	int rx, tx = open_on(AF_INET, 0, 0);
	TrUdpMsg m;
	uint8_t data[4] = {1, 2, 3, 4};
	struct sockaddr_storage from;
	GByteArray *got = g_byte_array_new();

	if (!ipv6_loopback_works()) {
		g_test_skip("no IPv6");
		close(tx);
		g_byte_array_unref(got);
		return;
	}
	rx = tr_udp_open((struct sockaddr *)&any, sizeof(any), 0, 0, &err);
	g_assert_cmpint(rx, >=, 0);
	m = (TrUdpMsg){.data = data, .size = 4, .len = 4};
	m.addr_len = loopback(AF_INET, port_of(rx), &m.addr);
	g_assert_cmpint(tr_udp_send_batch(tx, &m, 1), ==, 1);
	g_assert_cmpuint(recv_datagrams(rx, 1, got, NULL, &from), ==, 1);
	g_assert_cmpint(from.ss_family, ==, AF_INET6);
	g_assert_true(IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&from)->sin6_addr));
	g_byte_array_unref(got);
	close(rx);
	close(tx);
}

static void
test_gso_send(void)
{
	static uint8_t a[5300], b[100 * 100], c[700];
	int rx = open_on(AF_INET, 0, 0), tx = open_on(AF_INET, 0, 0);
	TrUdpMsg msgs[3] = {
	        {.data = a, .size = sizeof(a), .len = sizeof(a), .segment = 1000},
	        /* 100 segments: more than one UDP_SEGMENT send may carry */
	        {.data = b, .size = sizeof(b), .len = sizeof(b), .segment = 100},
	        /* a segment larger than the message: one datagram */
	        {.data = c, .size = sizeof(c), .len = sizeof(c), .segment = 1400},
	};
	GByteArray *got = g_byte_array_new(), *want, *more;

	g_assert_true(tr_udp_has_gso(tx));
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	fill(c, sizeof(c), 3);
	want = expected(a, sizeof(a), 1000);
	more = expected(b, sizeof(b), 100);
	g_byte_array_append(want, more->data, more->len);
	g_byte_array_unref(more);
	more = expected(c, sizeof(c), sizeof(c));
	g_byte_array_append(want, more->data, more->len);
	g_byte_array_unref(more);
	for (unsigned i = 0; i < 3; i++)
		msgs[i].addr_len = loopback(AF_INET, port_of(rx), &msgs[i].addr);

	g_assert_cmpint(tr_udp_send_batch(tx, msgs, 3), ==, 3);
	/* a plain receiver sees each segment as its own datagram: 6 + 100 + 1 */
	g_assert_cmpuint(recv_datagrams(rx, 107, got, NULL, NULL), ==, 107);
	assert_same(got, want);
	g_assert_true(tr_udp_has_gso(tx));
	close(rx);
	close(tx);
}

/* SO_NO_CHECK makes the kernel refuse UDP_SEGMENT (EINVAL): the fallback. */
static void
test_gso_fallback(void)
{
	static uint8_t a[3500];
	int rx = open_on(AF_INET, 0, 0), tx = open_on(AF_INET, 0, 0), one = 1;
	TrUdpMsg m = {.data = a, .size = sizeof(a), .len = sizeof(a), .segment = 1000};
	GByteArray *got = g_byte_array_new(), *want;

	fill(a, sizeof(a), 9);
	want = expected(a, sizeof(a), 1000);
	m.addr_len = loopback(AF_INET, port_of(rx), &m.addr);
	g_assert_cmpint(setsockopt(tx, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)), ==, 0);
	g_assert_true(tr_udp_has_gso(tx));
	g_assert_cmpint(tr_udp_send_batch(tx, &m, 1), ==, 1);
	g_assert_false(tr_udp_has_gso(tx));
	g_assert_cmpuint(recv_datagrams(rx, 4, got, NULL, NULL), ==, 4);
	assert_same(got, want);

	/* and it stays off for that fd, yet works */
	got = g_byte_array_new();
	want = expected(a, sizeof(a), 1000);
	g_assert_cmpint(tr_udp_send_batch(tx, &m, 1), ==, 1);
	g_assert_cmpuint(recv_datagrams(rx, 4, got, NULL, NULL), ==, 4);
	assert_same(got, want);
	close(tx);

	/* a new socket on that fd number starts afresh */
	tx = open_on(AF_INET, 0, 0);
	g_assert_true(tr_udp_has_gso(tx));
	close(rx);
	close(tx);
}

static void
test_gro(void)
{
	static uint8_t a[10 * 1200 + 500];
	int rx = open_on(AF_INET, 0, TR_UDP_GRO), tx = open_on(AF_INET, 0, 0);
	TrUdpMsg m = {.data = a, .size = sizeof(a), .len = sizeof(a), .segment = 1200};
	GByteArray *got = g_byte_array_new(), *want;
	bool coalesced = false;

	g_assert_true(tr_udp_has_gro(rx));
	g_assert_false(tr_udp_has_gro(tx));
	fill(a, sizeof(a), 5);
	want = expected(a, sizeof(a), 1200);
	m.addr_len = loopback(AF_INET, port_of(rx), &m.addr);
	g_assert_cmpint(tr_udp_send_batch(tx, &m, 1), ==, 1);
	g_assert_cmpuint(recv_datagrams(rx, 11, got, &coalesced, NULL), ==, 11);
	assert_same(got, want);
	g_test_message("GRO on loopback: the kernel %s the GSO send",
	               coalesced ? "delivered one coalesced run for" : "did not coalesce");
	close(rx);
	close(tx);
}

/* TR_UDP_TIMESTAMP: when the kernel queued each datagram (what CoDel measures the wait
 * from); without it, 0. */
static void
test_rx_time(void)
{
	uint8_t buf[64] = {1, 2, 3};
	int rx = open_on(AF_INET, 0, TR_UDP_TIMESTAMP), plain = open_on(AF_INET, 0, 0);
	int tx = open_on(AF_INET, 0, 0);
	TrUdpMsg m = {.data = buf, .size = sizeof(buf), .len = 3};
	TrUdpMsg in[2] = {{.data = buf, .size = sizeof(buf)}, {.data = buf, .size = sizeof(buf)}};
	int64_t before, after;
	int tries = 0;

	m.addr_len = loopback(AF_INET, port_of(rx), &m.addr);
#ifdef __linux__
	/* The kernel turns its receive timestamps on, for the first socket that asks,
	 * through a deferred work item; until that has run, a datagram is stamped when it
	 * is read, not when it was queued. Wait (bounded) for one stamped when queued. */
	for (; tries < 200; tries++) {
		int64_t mid;

		g_assert_cmpint(tr_udp_send_batch(tx, &m, 1), ==, 1);
		g_usleep(2000);
		mid = g_get_real_time();
		g_assert_cmpint(tr_udp_recv_batch(rx, in, 2), ==, 1);
		if (in[0].rx_usec != 0 && in[0].rx_usec < mid)
			break;
	}
	g_assert_cmpint(tries, <, 200);
#endif
	before = g_get_real_time();
	g_assert_cmpint(tr_udp_send_batch(tx, &m, 1), ==, 1);
	m.addr_len = loopback(AF_INET, port_of(plain), &m.addr);
	g_assert_cmpint(tr_udp_send_batch(tx, &m, 1), ==, 1);
	g_usleep(20000);
	after = g_get_real_time();
	g_assert_cmpint(tr_udp_recv_batch(rx, in, 2), ==, 1);
	g_assert_cmpuint(in[0].len, ==, 3);
#ifdef __linux__
	g_assert_cmpint(in[0].rx_usec, >=, before - 1000);
	g_assert_cmpint(in[0].rx_usec, <=, after - 19000); /* it waited the 20 ms */
#else
	g_assert_cmpint(in[0].rx_usec, ==, 0);
#endif
	in[0].rx_usec = 42;
	g_assert_cmpint(tr_udp_recv_batch(plain, in, 2), ==, 1);
	g_assert_cmpint(in[0].rx_usec, ==, 0);
	close(rx);
	close(plain);
	close(tx);
}

static void
test_steer(void)
{
	enum { N = 4, K = 16 };
	int fds[N], tx = open_on(AF_INET, 0, 0);
	uint16_t port;
	uint8_t data[K][12], shortd[11] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
	TrUdpMsg msgs[K + 2];
	TrPlatError err = {0};
	unsigned counts[N] = {0};

	fds[0] = open_on(AF_INET, 0, TR_UDP_REUSEPORT);
	port = port_of(fds[0]);
	for (unsigned i = 1; i < N; i++)
		fds[i] = open_on(AF_INET, port, TR_UDP_REUSEPORT);
	g_assert_cmpint(tr_udp_steer(fds, N, 8, &err), ==, 0);

	for (unsigned k = 0; k < K; k++) {
		uint32_t be = htonl(k * 5 + 1); /* lands on (5k + 1) % 4 */

		memset(data[k], 0xee, 8);
		memcpy(data[k] + 8, &be, 4);
		msgs[k] = (TrUdpMsg){.data = data[k], .size = 12, .len = 12};
		msgs[k].addr_len = loopback(AF_INET, port, &msgs[k].addr);
	}
	/* too short for the field (11 bytes, and 3): socket 0 */
	msgs[K] = (TrUdpMsg){.data = shortd, .size = 11, .len = 11};
	msgs[K + 1] = (TrUdpMsg){.data = shortd, .size = 3, .len = 3};
	for (unsigned i = K; i < K + 2; i++)
		msgs[i].addr_len = loopback(AF_INET, port, &msgs[i].addr);
	g_assert_cmpint(tr_udp_send_batch(tx, msgs, K + 2), ==, K + 2);

	for (unsigned s = 0; s < N; s++) {
		uint8_t b[8][64];
		TrUdpMsg in[8];
		gint64 end = g_get_monotonic_time() + 300 * 1000;

		while (g_get_monotonic_time() < end) {
			int r;
			msgs_init(in, 8, &b[0][0], 64);
			r = tr_udp_recv_batch(fds[s], in, 8);
			if (r == -EAGAIN) {
				readable(fds[s], 50);
				continue;
			}
			g_assert_cmpint(r, >=, 1);
			for (int i = 0; i < r; i++) {
				uint32_t be;
				counts[s]++;
				if (in[i].len < 12) {
					g_assert_cmpuint(s, ==, 0);
					continue;
				}
				memcpy(&be, in[i].data + 8, 4);
				g_assert_cmpuint(ntohl(be) % N, ==, s);
			}
		}
	}
	/* k * 5 + 1 for k < 16 covers each residue 4 times; socket 0 also the 2 short */
	g_assert_cmpuint(counts[0], ==, K / N + 2);
	for (unsigned s = 1; s < N; s++)
		g_assert_cmpuint(counts[s], ==, K / N);

	/* sockets not in one group are refused */
	{
		int other[2] = {fds[0], tx};
		g_assert_cmpint(tr_udp_steer(other, 2, 8, &err), ==, -EINVAL);
		g_assert_nonnull(strstr(err.message, "not bound where socket 0 is"));
		g_assert_cmpint(tr_udp_steer(fds, 0, 8, &err), ==, -EINVAL);
	}
	for (unsigned i = 0; i < N; i++)
		close(fds[i]);
	close(tx);
}

static void
test_open_errors(void)
{
	TrPlatError err = {0};
	struct sockaddr_storage ss;
	socklen_t len;
	int a = open_on(AF_INET, 0, 0);

	g_assert_cmpint(tr_udp_open(NULL, 0, 0, 0, &err), ==, -EINVAL);
	len = loopback(AF_INET, port_of(a), &ss);
	g_assert_cmpint(tr_udp_open((struct sockaddr *)&ss, len, 0, 0, &err), ==, -EADDRINUSE);
	g_assert_nonnull(strstr(err.message, "cannot bind UDP to 127.0.0.1:"));
	g_assert_cmpint(err.code, ==, -EADDRINUSE);
	close(a);
}

static void
test_poller(void)
{
	TrPlatError err = {0};
	TrPoller *p = tr_poller_new(&err);
	int a = open_on(AF_INET, 0, 0), b = open_on(AF_INET, 0, 0);
	TrPollEvent ev[4];
	TrUdpMsg m = {.data = (uint8_t *)"ping", .size = 4, .len = 4};
	uint8_t buf[16];

	g_assert_nonnull(p);
	g_assert_cmpint(tr_poller_add(p, a, 7, TR_POLL_IN), ==, 0);
	g_assert_cmpint(tr_poller_add(p, b, 9, TR_POLL_IN), ==, 0);
	g_assert_cmpint(tr_poller_add(p, b, 9, TR_POLL_IN), ==, -EEXIST);
	g_assert_cmpint(tr_poller_wait(p, ev, 4, 30), ==, 0);

	m.addr_len = loopback(AF_INET, port_of(b), &m.addr);
	g_assert_cmpint(tr_udp_send_batch(a, &m, 1), ==, 1);
	g_assert_cmpint(tr_poller_wait(p, ev, 4, WAIT_MS), ==, 1);
	g_assert_cmpuint(ev[0].tag, ==, 9);
	g_assert_cmpuint(ev[0].events, ==, TR_POLL_IN);

	/* a UDP socket can always write */
	g_assert_cmpint(tr_poller_mod(p, a, 8, TR_POLL_IN | TR_POLL_OUT), ==, 0);
	g_assert_cmpint(tr_poller_wait(p, ev, 4, WAIT_MS), ==, 2);
	for (unsigned i = 0; i < 2; i++) {
		if (ev[i].tag == 8)
			g_assert_cmpuint(ev[i].events, ==, TR_POLL_OUT);
		else
			g_assert_cmpuint(ev[i].tag, ==, 9);
	}
	g_assert_cmpint(tr_poller_wait(p, ev, 1, WAIT_MS), ==, 1);

	g_assert_cmpint(tr_poller_del(p, a), ==, 0);
	g_assert_cmpint(tr_poller_del(p, a), ==, -ENOENT);
	g_assert_cmpint(recv(b, buf, sizeof(buf), 0), ==, 4);
	g_assert_cmpint(tr_poller_wait(p, ev, 4, 30), ==, 0);
	g_assert_cmpint(tr_poller_wait(p, ev, 0, 30), ==, -EINVAL);
	tr_poller_free(p);
	tr_poller_free(NULL);
	close(a);
	close(b);
}

static gpointer
signal_later(gpointer data)
{
	g_usleep(50 * 1000);
	tr_wakeup_signal(data);
	return NULL;
}

static void
test_wakeup(void)
{
	TrPlatError err = {0};
	TrWakeup w;
	TrPoller *p = tr_poller_new(&err);
	TrPollEvent ev[2];
	GThread *t;
	gint64 start;

	g_assert_cmpint(tr_wakeup_open(&w, &err), ==, 0);
	g_assert_cmpint(tr_poller_add(p, w.rfd, 1, TR_POLL_IN), ==, 0);
	g_assert_cmpint(tr_poller_wait(p, ev, 2, 20), ==, 0);
	tr_wakeup_signal(&w);
	tr_wakeup_signal(&w);
	g_assert_cmpint(tr_poller_wait(p, ev, 2, WAIT_MS), ==, 1);
	g_assert_cmpuint(ev[0].tag, ==, 1);
	tr_wakeup_clear(&w);
	g_assert_cmpint(tr_poller_wait(p, ev, 2, 20), ==, 0);
	tr_wakeup_clear(&w); /* nothing to clear: fine */

	/* from another thread, while waiting */
	start = g_get_monotonic_time();
	t = g_thread_new("wake", signal_later, &w);
	g_assert_cmpint(tr_poller_wait(p, ev, 2, 5000), ==, 1);
	g_assert_cmpint(g_get_monotonic_time() - start, <, 4000 * 1000);
	g_thread_join(t);
	tr_wakeup_clear(&w);

	tr_poller_free(p);
	tr_wakeup_close(&w);
	g_assert_cmpint(w.rfd, ==, -1);
	tr_wakeup_close(&w);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/udp/batch-v4", test_batch_v4);
	g_test_add_func("/udp/batch-v6", test_batch_v6);
	g_test_add_func("/udp/dual-stack", test_dual_stack);
	g_test_add_func("/udp/gso-send", test_gso_send);
	g_test_add_func("/udp/gso-fallback", test_gso_fallback);
	g_test_add_func("/udp/gro", test_gro);
	g_test_add_func("/udp/rx-time", test_rx_time);
	g_test_add_func("/udp/steer", test_steer);
	g_test_add_func("/udp/open-errors", test_open_errors);
	g_test_add_func("/udp/poller", test_poller);
	g_test_add_func("/udp/wakeup", test_wakeup);
	return g_test_run();
}
