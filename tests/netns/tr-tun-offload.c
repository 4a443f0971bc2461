/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tun offloads on a real device (run by test-tun-offload.sh inside a fresh
 * network namespace): opens a tun with TR_DEVICE_OFFLOAD, plays the far end
 * of a TCP connection the kernel makes through it, and checks what crosses:
 *
 *   kernel socket 198.19.77.1 --connect--> 198.19.77.2:5001 (this program,
 *   answering through the tun with hand-made packets)
 *
 * - the SYN comes with a partial checksum (needs_csum, TUN_F_CSUM);
 * - 64 KiB sent on the socket come as TCPv4 super-packets (gso_size > 0,
 *   longer than the MTU), whose bytes reassemble to what was sent;
 * - a TCPv4 super-packet written with write_gso reaches the socket whole;
 * - a UDP super-packet (USO, where the kernel has it) reaches a UDP socket
 *   as separate datagrams; a partial-checksum UDP packet is accepted;
 * - plain read drops a partial-checksum packet with -EPROTO;
 * - a tap opened with the flag gets no offloads; a 2-queue tun gets them.
 *
 * Prints "ok N - what" lines and "# observed ..." notes; "FAIL: why" and exit 1
 * on failure. Every wait is bounded.
 */
#include "platform/device.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOCAL     "198.19.77.1" /* the tun's address: the kernel's end */
#define PEER      "198.19.77.2" /* this program's end, behind the tun */
#define TCP_PORT  5001
#define UDP_PORT  6000
#define PEER_PORT 6001
#define MTU       1500
#define TOTAL     65536 /* bytes the kernel sends */
#define ISN       1000u /* this end's initial sequence number */

static TrDevice *dev;
static int n_ok;
static uint8_t pkt[70000];

static void __attribute__((format(printf, 1, 2), noreturn)) fail(const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	tr_device_close(dev, NULL);
	exit(1);
}

static void
ok(const char *what)
{
	printf("ok %d - %s\n", ++n_ok, what);
	fflush(stdout);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t
sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t
pseudo_sum(const uint8_t *ip, uint8_t proto, size_t l4_len)
{
	return sum16(ip + 12, 8, 0) + proto + (uint32_t)l4_len;
}

/* An IPv4 header PEER -> LOCAL for @total bytes, with its checksum. */
static void
ipv4_header(uint8_t *ip, uint8_t proto, size_t total)
{
	static uint16_t id = 1;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)total);
	put16(ip + 4, id++);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	inet_pton(AF_INET, PEER, ip + 12);
	inet_pton(AF_INET, LOCAL, ip + 16);
	put16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
}

/* L4 checksum at @off in a packet of @len: complete, or (partial) the
 * pseudo-header sum the device is to finish, as TrGso describes. */
static void
l4_checksum(uint8_t *ip, size_t len, uint8_t proto, size_t off, bool partial)
{
	size_t l4_len = len - 20;

	put16(ip + 20 + off, 0);
	if (partial)
		put16(ip + 20 + off, fold(pseudo_sum(ip, proto, l4_len)));
	else
		put16(ip + 20 + off,
		      (uint16_t)~fold(sum16(ip + 20, l4_len, pseudo_sum(ip, proto, l4_len))));
}

/* A TCP segment PEER:TCP_PORT -> LOCAL:@dport (20-byte header, or 24 with MSS). */
static size_t
tcp_packet(uint8_t *ip, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
           const uint8_t *data, size_t data_len, bool partial)
{
	uint8_t *th = ip + 20;
	size_t thl = (flags & 0x02) ? 24 : 20, len = 20 + thl + data_len;

	ipv4_header(ip, IPPROTO_TCP, len);
	memset(th, 0, thl);
	put16(th, TCP_PORT);
	put16(th + 2, dport);
	put32(th + 4, seq);
	put32(th + 8, ack);
	th[12] = (uint8_t)(thl / 4 << 4);
	th[13] = flags;
	put16(th + 14, 65535);
	if (thl == 24) { /* MSS 1460 */
		th[20] = 2;
		th[21] = 4;
		put16(th + 22, MTU - 40);
	}
	if (data_len)
		memcpy(th + thl, data, data_len);
	l4_checksum(ip, len, IPPROTO_TCP, 16, partial);
	return len;
}

static void
wait_fd(int fd, short events, long deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	long left = deadline - now_ms();

	if (left <= 0 || poll(&p, 1, (int)left) != 1)
		fail("timed out waiting on fd %d", fd);
}

/* The next packet of the kernel's TCP connection to PEER:TCP_PORT, by read_gso. */
static ssize_t
read_tcp(TrGso *gso, long deadline)
{
	int fd = (int)tr_device_queue_fd(dev, 0);

	for (;;) {
		ssize_t r = tr_device_read_gso(dev, 0, pkt, sizeof(pkt), gso);

		if (r == -EAGAIN) {
			wait_fd(fd, POLLIN, deadline);
			continue;
		}
		if (r < 0)
			fail("read_gso: %s", strerror((int)-r));
		if (r >= 40 && pkt[0] == 0x45 && pkt[9] == IPPROTO_TCP &&
		    ((uint32_t)pkt[22] << 8 | pkt[23]) == TCP_PORT)
			return r;
	}
}

static void
expect_wrote(ssize_t r, size_t len, const char *what)
{
	if (r != (ssize_t)len)
		fail("%s: wrote %zd of %zu (%s)", what, r, len, r < 0 ? strerror((int)-r) : "");
}

static int
tcp_socket(void)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(TCP_PORT)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	inet_pton(AF_INET, PEER, &to.sin_addr);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EINPROGRESS))
		fail("connect: %s", strerror(errno));
	return fd;
}

/* Handshake: returns the socket; *@next is the kernel's next sequence number. */
static int
handshake(uint16_t *port, uint32_t *next)
{
	TrGso gso;
	long deadline = now_ms() + 5000;
	int fd = tcp_socket();
	size_t len;

	read_tcp(&gso, deadline);
	if (!(pkt[33] & 0x02))
		fail("first TCP packet is not a SYN (flags %#x)", pkt[33]);
	if (!gso.needs_csum || gso.type != TR_GSO_NONE || gso.csum_start != 20 ||
	    gso.csum_offset != 16)
		fail("SYN: needs_csum %d type %u csum_start %u csum_offset %u", gso.needs_csum,
		     gso.type, gso.csum_start, gso.csum_offset);
	ok("SYN read with read_gso: partial checksum (needs_csum, csum_start 20, offset 16)");
	*port = (uint16_t)(pkt[20] << 8 | pkt[21]);
	*next = get32(pkt + 24) + 1;
	/* SYN-ACK through plain tr_device_write: a zero header goes in front */
	len = tcp_packet(pkt, *port, ISN, *next, 0x12, NULL, 0, false);
	expect_wrote(tr_device_write(dev, 0, pkt, len), len, "SYN-ACK");
	wait_fd(fd, POLLOUT, deadline);
	{
		int e = 0;
		socklen_t el = sizeof(e);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e)
			fail("connect: %s", strerror(e));
	}
	ok("SYN-ACK written with tr_device_write on an offload device: connected");
	return fd;
}

/* The kernel sends TOTAL bytes; we ACK what we read and reassemble it. */
static void
receive_bulk(int fd, uint16_t port, uint32_t *next)
{
	static uint8_t sent[TOTAL], got[TOTAL];
	long deadline = now_ms() + 10000;
	size_t queued = 0, have = 0, max_len = 0;
	unsigned reads = 0, supers = 0, max_gso = 0;
	uint32_t base = *next;
	int tun = (int)tr_device_queue_fd(dev, 0);

	for (size_t i = 0; i < TOTAL; i++)
		sent[i] = (uint8_t)(i * 13 + i / 256);
	while (have < TOTAL) {
		struct pollfd p[2] = {{.fd = tun, .events = POLLIN},
		                      {.fd = fd, .events = queued < TOTAL ? POLLOUT : 0}};
		long left = deadline - now_ms();
		TrGso gso;
		ssize_t r;

		if (left <= 0)
			fail("bulk: %zu of %d bytes after 10 s", have, TOTAL);
		if (poll(p, 2, (int)left) <= 0)
			continue;
		if (p[1].revents & POLLOUT) {
			r = send(fd, sent + queued, TOTAL - queued, MSG_DONTWAIT);
			if (r > 0)
				queued += (size_t)r;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		r = tr_device_read_gso(dev, 0, pkt, sizeof(pkt), &gso);
		if (r == -EAGAIN)
			continue;
		if (r < 0)
			fail("bulk read_gso: %s", strerror((int)-r));
		if (r < 40 || pkt[0] != 0x45 || pkt[9] != IPPROTO_TCP)
			continue;
		{
			/* the header's hdr_len is the kernel's linear part, not
			 * always the headers: take them from the packet */
			size_t hl = 20 + (size_t)(pkt[32] >> 4) * 4, data = (size_t)r - hl;
			uint32_t off = get32(pkt + 24) - base;
			size_t ack_len;

			reads++;
			if (gso.type == TR_GSO_TCPV4 && gso.gso_size > 0) {
				supers++;
				if (gso.gso_size > max_gso)
					max_gso = gso.gso_size;
			} else if (gso.type != TR_GSO_NONE) {
				fail("bulk: gso type %u on a TCPv4 packet", gso.type);
			}
			if ((size_t)r > max_len)
				max_len = (size_t)r;
			if (data == 0)
				continue; /* a pure ACK: answering it would look like a dup ACK */
			if (off <= TOTAL && data <= TOTAL - off) {
				memcpy(got + off, pkt + hl, data);
				if (off + data > have && off <= have)
					have = off + data;
			}
			ack_len = tcp_packet(pkt, port, ISN + 1, base + (uint32_t)have, 0x10, NULL,
			                     0, false);
			expect_wrote(tr_device_write_gso(dev, 0, NULL, pkt, ack_len), ack_len,
			             "ACK");
		}
	}
	*next = base + TOTAL;
	printf("# observed: %u TCP reads for %d bytes, %u super-packets, largest read %zu "
	       "bytes, largest gso_size %u\n",
	       reads, TOTAL, supers, max_len, max_gso);
	if (supers == 0 || max_len <= MTU)
		fail("no TCPv4 super-packet (gso_size > 0, longer than the MTU) in %u reads",
		     reads);
	if (memcmp(got, sent, TOTAL) != 0)
		fail("the super-packets do not reassemble to the bytes sent");
	ok("64 KiB from a socket came as TCPv4 super-packets and reassemble exactly");
}

/* We send a 4000-byte TCPv4 super-packet (gso_size 1000); the socket gets it all. */
static void
send_super(int fd, uint16_t port, uint32_t next)
{
	uint8_t data[4000], in[4000];
	TrGso gso = {.type = TR_GSO_TCPV4,
	             .needs_csum = true,
	             .hdr_len = 40,
	             .gso_size = 1000,
	             .csum_start = 20,
	             .csum_offset = 16};
	long deadline = now_ms() + 5000;
	size_t len, have = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	len = tcp_packet(pkt, port, ISN + 1, next, 0x18, data, sizeof(data), true);
	expect_wrote(tr_device_write_gso(dev, 0, &gso, pkt, len), len, "TSO write");
	while (have < sizeof(in)) {
		ssize_t r = recv(fd, in + have, sizeof(in) - have, MSG_DONTWAIT);

		if (r > 0) {
			have += (size_t)r;
			continue;
		}
		if (r == 0)
			fail("TSO write: the connection closed");
		wait_fd(fd, POLLIN, deadline);
	}
	if (memcmp(in, data, sizeof(data)) != 0)
		fail("TSO write: the socket read other bytes");
	ok("a TCPv4 super-packet written with write_gso reached the socket whole");

	/* the kernel ACKs it with a partial checksum: plain read drops that */
	for (;;) {
		ssize_t r = tr_device_read(dev, 0, pkt, sizeof(pkt));

		if (r == -EPROTO)
			break;
		if (r == -EAGAIN) {
			wait_fd((int)tr_device_queue_fd(dev, 0), POLLIN, deadline);
			continue;
		}
		if (r < 0)
			fail("plain read: %s", strerror((int)-r));
	}
	ok("plain tr_device_read drops a partial-checksum packet with -EPROTO");
}

static int
udp_socket(void)
{
	struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(UDP_PORT)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	inet_pton(AF_INET, LOCAL, &at.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&at, sizeof(at)) < 0)
		fail("UDP bind: %s", strerror(errno));
	return fd;
}

static size_t
udp_packet(uint8_t *ip, const uint8_t *data, size_t data_len)
{
	size_t len = 28 + data_len;

	ipv4_header(ip, IPPROTO_UDP, len);
	put16(ip + 20, PEER_PORT);
	put16(ip + 22, UDP_PORT);
	put16(ip + 24, (uint16_t)(8 + data_len));
	memcpy(ip + 28, data, data_len);
	l4_checksum(ip, len, IPPROTO_UDP, 6, true);
	return len;
}

static void
expect_datagram(int fd, const uint8_t *want, size_t len, long deadline)
{
	uint8_t in[2048];
	ssize_t r;

	while ((r = recv(fd, in, sizeof(in), MSG_DONTWAIT)) < 0 && errno == EAGAIN)
		wait_fd(fd, POLLIN, deadline);
	if (r != (ssize_t)len || memcmp(in, want, len) != 0)
		fail("UDP: got %zd bytes, want %zu", r, len);
}

static void
udp_offloads(void)
{
	uint8_t data[1300];
	TrGso csum = {.needs_csum = true, .csum_start = 20, .csum_offset = 6};
	TrGso uso = {.type = TR_GSO_UDP_L4,
	             .needs_csum = true,
	             .hdr_len = 28,
	             .gso_size = 500,
	             .csum_start = 20,
	             .csum_offset = 6};
	long deadline = now_ms() + 5000;
	int fd = udp_socket();
	size_t len;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 3 + 1);
	len = udp_packet(pkt, data, 200);
	expect_wrote(tr_device_write_gso(dev, 0, &csum, pkt, len), len, "UDP partial checksum");
	expect_datagram(fd, data, 200, deadline);
	ok("a UDP packet with a partial checksum written with write_gso reached its socket");

	if (!(tr_device_offloads(dev) & TR_OFFLOAD_USO)) {
		printf("# USO not accepted by this kernel: UDP super-packet not tried\n");
		len = udp_packet(pkt, data, sizeof(data));
		if (tr_device_write_gso(dev, 0, &uso, pkt, len) != -EINVAL)
			fail("USO write without USO: not -EINVAL");
		ok("USO write refused where the device has no USO");
		close(fd);
		return;
	}
	len = udp_packet(pkt, data, sizeof(data));
	expect_wrote(tr_device_write_gso(dev, 0, &uso, pkt, len), len, "USO write");
	expect_datagram(fd, data, 500, deadline);
	expect_datagram(fd, data + 500, 500, deadline);
	expect_datagram(fd, data + 1000, 300, deadline);
	ok("a UDP super-packet (USO) written with write_gso arrived as 3 datagrams");
	close(fd);
}

static void
tap_without(void)
{
	TrPlatError err = {0};
	TrDevice *tap = tr_device_open_ex(TR_DEVICE_TAP, "tro%d", NULL, 1, TR_DEVICE_OFFLOAD, &err);
	TrGso tso = {.type = TR_GSO_TCPV4, .gso_size = 1000};

	if (!tap)
		fail("tap: %s", err.message);
	if (tr_device_offloads(tap) != 0)
		fail("tap: offloads %#x", tr_device_offloads(tap));
	if (tr_device_write_gso(tap, 0, &tso, pkt, 100) != -EINVAL)
		fail("tap: write_gso with TSO not refused");
	tr_device_close(tap, NULL);
	ok("a tap opened with TR_DEVICE_OFFLOAD has no offloads and refuses metadata");

	tap = tr_device_open_ex(TR_DEVICE_TUN, "trm%d", NULL, 2, TR_DEVICE_OFFLOAD, &err);
	if (!tap)
		fail("multi-queue tun: %s", err.message);
	if ((tr_device_offloads(tap) & (TR_OFFLOAD_CSUM | TR_OFFLOAD_TSO)) !=
	    (TR_OFFLOAD_CSUM | TR_OFFLOAD_TSO))
		fail("multi-queue tun: offloads %#x", tr_device_offloads(tap));
	tr_device_close(tap, NULL);
	ok("a 2-queue tun takes the offloads too");
}

int
main(void)
{
	TrPlatError err = {0};
	TrPrefix addr = {.family = TR_ADDR_IPV4, .len = 24};
	unsigned off;
	uint16_t port;
	uint32_t next;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dev = tr_device_open_ex(TR_DEVICE_TUN, "tro%d", NULL, 1, TR_DEVICE_OFFLOAD, &err);
	if (!dev)
		fail("open: %s", err.message);
	off = tr_device_offloads(dev);
	printf("# observed: %s accepted offloads%s%s%s\n", tr_device_ifname(dev),
	       off & TR_OFFLOAD_CSUM ? " CSUM" : "", off & TR_OFFLOAD_TSO ? " TSO" : "",
	       off & TR_OFFLOAD_USO ? " USO" : "");
	if ((off & (TR_OFFLOAD_CSUM | TR_OFFLOAD_TSO)) != (TR_OFFLOAD_CSUM | TR_OFFLOAD_TSO))
		fail("offloads %#x lack CSUM or TSO", off);
	ok("tun opened with TR_DEVICE_OFFLOAD: checksum and TSO accepted");
	inet_pton(AF_INET, LOCAL, addr.addr);
	if (tr_device_set_mtu(dev, MTU, &err) < 0 || tr_device_add_address(dev, &addr, &err) < 0 ||
	    tr_device_set_up(dev, true, &err) < 0)
		fail("configure: %s", err.message);

	fd = handshake(&port, &next);
	receive_bulk(fd, port, &next);
	send_super(fd, port, next);
	close(fd);
	udp_offloads();
	tap_without();
	if (tr_device_close(dev, &err) < 0)
		fail("close: %s", err.message);
	dev = NULL;
	printf("1..%d\n", n_ok);
	return 0;
}
