/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/mangle.h"

#include "tests/unit/pkt-build.h"

/* MSS 1460, SACK permitted, timestamps, NOP, window scale: a Linux SYN's options. */
static const uint8_t LINUX_OPTS[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
                                       0, 1, 0,    0,    0, 0, 1, 3,  3, 7};
/* NOP first: the MSS value sits at an odd offset (23) in the TCP header. */
static const uint8_t ODD_OPTS[8] = {1, 2, 4, 0x23, 0x28, 1, 1, 0};

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0xa};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0xb};

/* The TCP segment inside @ip: its checksum is right when recomputed from scratch. */
static void
assert_tcp_csum(const uint8_t *ip)
{
	size_t h = pb_iphlen(ip);

	g_assert_cmphex(pb_get16(ip + h + 16), ==, pb_l4_csum(ip, 6, 16));
}

static size_t
syn4(uint8_t *p, uint8_t flags, const uint8_t *opts, size_t optlen, size_t data)
{
	uint8_t seg[1600];
	size_t n = pb_tcp(seg, flags, opts, optlen, data);

	n = pb_ip4(p, "198.19.0.2", "10.2.0.1", 6, true, seg, n);
	pb_tcp_fix(p);
	return n;
}

static size_t
syn6(uint8_t *p, uint8_t flags, const uint8_t *opts, size_t optlen)
{
	uint8_t seg[128];
	size_t n = pb_tcp(seg, flags, opts, optlen, 0);

	n = pb_ip6(p, "fd00::2", "fd00:2::1", 6, seg, n);
	pb_tcp_fix(p);
	return n;
}

static void
test_clamp_v4(void)
{
	uint8_t p[256], before[256];
	size_t n = syn4(p, 0x02, LINUX_OPTS, sizeof(LINUX_OPTS), 0);

	assert_tcp_csum(p);
	memcpy(before, p, n);
	g_assert_true(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1400));
	g_assert_cmpuint(pb_get16(p + 42), ==, 1360);
	assert_tcp_csum(p);
	/* Only the MSS and the checksum changed. */
	for (size_t i = 0; i < n; i++)
		if (i != 36 && i != 37 && i != 42 && i != 43)
			g_assert_cmpuint(p[i], ==, before[i]);
	/* Again: already small enough. */
	g_assert_false(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1400));
	g_assert_false(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1500));

	/* SYN-ACK too; a bare ACK or data segment with the option is left alone. */
	n = syn4(p, 0x12, LINUX_OPTS, sizeof(LINUX_OPTS), 0);
	g_assert_true(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1280));
	g_assert_cmpuint(pb_get16(p + 42), ==, 1240);
	assert_tcp_csum(p);
	n = syn4(p, 0x10, LINUX_OPTS, sizeof(LINUX_OPTS), 100);
	memcpy(before, p, n);
	g_assert_false(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1280));
	g_assert_cmpmem(p, n, before, n);

	/* The odd offset: the checksum update must use the swapped bytes. */
	n = syn4(p, 0x02, ODD_OPTS, sizeof(ODD_OPTS), 0);
	g_assert_true(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1000));
	g_assert_cmpuint(pb_get16(p + 43), ==, 960);
	assert_tcp_csum(p);

	/* No MSS option, not TCP, truncated options: untouched. */
	n = syn4(p, 0x02, NULL, 0, 0);
	g_assert_false(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1000));
	n = syn4(p, 0x02, LINUX_OPTS, sizeof(LINUX_OPTS), 0);
	p[9] = 17;
	g_assert_false(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1000));
	p[9] = 6;
	p[41] = 30; /* the MSS option's length runs past the header */
	g_assert_false(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1000));
	g_assert_false(tr_mangle_clamp_mss(p, n - 1, TR_FRAME_IP, 1000));
	/* An MTU that leaves no room is no clamp. */
	n = syn4(p, 0x02, LINUX_OPTS, sizeof(LINUX_OPTS), 0);
	g_assert_false(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 40));
}

static void
test_clamp_v6(void)
{
	uint8_t p[256];
	size_t n = syn6(p, 0x02, LINUX_OPTS, sizeof(LINUX_OPTS));

	assert_tcp_csum(p);
	g_assert_true(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1400));
	g_assert_cmpuint(pb_get16(p + 62), ==, 1340);
	assert_tcp_csum(p);
	n = syn6(p, 0x12, ODD_OPTS, sizeof(ODD_OPTS));
	g_assert_true(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1280));
	g_assert_cmpuint(pb_get16(p + 63), ==, 1220);
	assert_tcp_csum(p);
	n = syn6(p, 0x10, LINUX_OPTS, sizeof(LINUX_OPTS));
	g_assert_false(tr_mangle_clamp_mss(p, n, TR_FRAME_IP, 1280));
}

static void
test_clamp_tap(void)
{
	uint8_t ip[256], f[300];
	size_t n;

	/* Untagged IPv4 and tagged IPv6, each inside a frame. */
	n = syn4(ip, 0x02, LINUX_OPTS, sizeof(LINUX_OPTS), 0);
	n = pb_eth(f, MAC_B, MAC_A, -1, 0x0800, ip, n);
	g_assert_true(tr_mangle_clamp_mss(f, n, TR_FRAME_ETHERNET, 1400));
	g_assert_cmpuint(pb_get16(f + 14 + 42), ==, 1360);
	assert_tcp_csum(f + 14);
	n = syn6(ip, 0x12, LINUX_OPTS, sizeof(LINUX_OPTS));
	n = pb_eth(f, MAC_B, MAC_A, 7, 0x86dd, ip, n);
	g_assert_true(tr_mangle_clamp_mss(f, n, TR_FRAME_ETHERNET, 1400));
	g_assert_cmpuint(pb_get16(f + 18 + 62), ==, 1340);
	assert_tcp_csum(f + 18);
	/* A frame is not an IP packet. */
	g_assert_false(tr_mangle_clamp_mss(f, n, TR_FRAME_IP, 1000));
}

/* ---- PTB: byte-exact replies, checksums computed apart from the code (see below). ---- */

/*
 * The original: IPv4 198.19.0.2 -> 198.19.0.3, UDP, DF, ID 0x1234, TTL 64,
 * 100 bytes (80 bytes of 'x' after the header).
 */
static const uint8_t ORIG4_HDR[20] = {
        0x45, 0x00, 0x00, 0x64, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11,
        0x9c, 0x29, 0xc6, 0x13, 0x00, 0x02, 0xc6, 0x13, 0x00, 0x03,
};

/*
 * RFC 792/1191 reply for an MTU of 90: IPv4 header (TOS 0xc0, total 128,
 * ID 0, DF, TTL 64, ICMP, checksum 0xad91, from the original destination to
 * its source), then ICMP type 3 code 4, checksum 0x29cf, unused 0, next-hop
 * MTU 90, then the whole 100-byte original. Checksums computed with an
 * independent RFC 1071 implementation (Python struct) from these bytes.
 */
static const uint8_t REPLY4_HDR[28] = {
        0x45, 0xc0, 0x00, 0x80, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0xad, 0x91, 0xc6, 0x13,
        0x00, 0x03, 0xc6, 0x13, 0x00, 0x02, 0x03, 0x04, 0x29, 0xcf, 0x00, 0x00, 0x00, 0x5a,
};

static void
test_ptb_v4_exact(void)
{
	uint8_t orig[100], out[TR_PTB_MAX], f[200];
	size_t n;

	memcpy(orig, ORIG4_HDR, 20);
	memset(orig + 20, 'x', 80);
	n = tr_mangle_build_ptb(orig, sizeof(orig), TR_FRAME_IP, 90, out, sizeof(out));
	g_assert_cmpuint(n, ==, 128);
	g_assert_cmpmem(out, 28, REPLY4_HDR, 28);
	g_assert_cmpmem(out + 28, 100, orig, 100);
	/* From scratch: header and ICMP sums fold to zero. */
	g_assert_cmphex(pb_fold(pb_sum(out, 20, 0)), ==, 0);
	g_assert_cmphex(pb_fold(pb_sum(out + 20, 108, 0)), ==, 0);

	/* Exactly at the MTU: nothing to say. Too small a buffer: nothing written. */
	g_assert_cmpuint(tr_mangle_build_ptb(orig, 100, TR_FRAME_IP, 100, out, sizeof(out)), ==, 0);
	g_assert_cmpuint(tr_mangle_build_ptb(orig, 100, TR_FRAME_IP, 90, out, 127), ==, 0);

	/* Tap, tagged: MACs swapped, the tag kept, the same IP reply after it. */
	n = pb_eth(f, MAC_B, MAC_A, 0x2005, 0x0800, orig, sizeof(orig));
	memset(out, 0, sizeof(out));
	n = tr_mangle_build_ptb(f, n, TR_FRAME_ETHERNET, 90, out, sizeof(out));
	g_assert_cmpuint(n, ==, 18 + 128);
	g_assert_cmpmem(out, 6, MAC_A, 6);
	g_assert_cmpmem(out + 6, 6, MAC_B, 6);
	g_assert_cmpmem(out + 12, 6, f + 12, 6);
	g_assert_cmpmem(out + 18, 28, REPLY4_HDR, 28);
	g_assert_cmpmem(out + 46, 100, orig, 100);

	/* No reply: DF clear, a later fragment, broadcast destination, broadcast MAC. */
	orig[6] = 0x00;
	g_assert_cmpuint(tr_mangle_build_ptb(orig, 100, TR_FRAME_IP, 90, out, sizeof(out)), ==, 0);
	orig[6] = 0x40;
	orig[7] = 0x10;
	g_assert_cmpuint(tr_mangle_build_ptb(orig, 100, TR_FRAME_IP, 90, out, sizeof(out)), ==, 0);
	orig[7] = 0;
	orig[16] = 255, orig[17] = 255, orig[18] = 255, orig[19] = 255;
	g_assert_cmpuint(tr_mangle_build_ptb(orig, 100, TR_FRAME_IP, 90, out, sizeof(out)), ==, 0);
	memcpy(orig, ORIG4_HDR, 20);
	n = pb_eth(f, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", MAC_A, -1, 0x0800, orig, 100);
	g_assert_cmpuint(tr_mangle_build_ptb(f, n, TR_FRAME_ETHERNET, 90, out, sizeof(out)), ==, 0);
}

static void
test_ptb_v4_rules(void)
{
	uint8_t p[2000], icmp[1400] = {8}, out[TR_PTB_MAX];
	size_t n;

	/* A big echo request gets a reply; the quote stops at 548 bytes (576 in all). */
	n = pb_ip4(p, "198.19.0.2", "10.2.0.1", 1, true, icmp, sizeof(icmp));
	n = tr_mangle_build_ptb(p, n, TR_FRAME_IP, 1400, out, sizeof(out));
	g_assert_cmpuint(n, ==, 576);
	g_assert_cmpuint(pb_get16(out + 26), ==, 1400);
	g_assert_cmpmem(out + 28, 548, p, 548);
	g_assert_cmphex(pb_fold(pb_sum(out, 20, 0)), ==, 0);
	g_assert_cmphex(pb_fold(pb_sum(out + 20, n - 20, 0)), ==, 0);
	/* A tiny MTU is reported as 68, the IPv4 minimum. */
	n = pb_ip4(p, "198.19.0.2", "10.2.0.1", 1, true, icmp, 100);
	g_assert_cmpuint(tr_mangle_build_ptb(p, n, TR_FRAME_IP, 50, out, sizeof(out)), >, 0);
	g_assert_cmpuint(pb_get16(out + 26), ==, 68);
	/* Never about an ICMP error. */
	icmp[0] = 3;
	n = pb_ip4(p, "198.19.0.2", "10.2.0.1", 1, true, icmp, sizeof(icmp));
	g_assert_cmpuint(tr_mangle_build_ptb(p, n, TR_FRAME_IP, 1400, out, sizeof(out)), ==, 0);
	/* Nor toward a source that cannot be answered. */
	n = pb_ip4(p, "0.0.0.0", "10.2.0.1", 17, true, icmp, sizeof(icmp));
	g_assert_cmpuint(tr_mangle_build_ptb(p, n, TR_FRAME_IP, 1400, out, sizeof(out)), ==, 0);
	n = pb_ip4(p, "224.0.0.1", "10.2.0.1", 17, true, icmp, sizeof(icmp));
	g_assert_cmpuint(tr_mangle_build_ptb(p, n, TR_FRAME_IP, 1400, out, sizeof(out)), ==, 0);
	/* Malformed: the header says more than there is. */
	g_assert_cmpuint(tr_mangle_build_ptb(p, n - 1, TR_FRAME_IP, 1400, out, sizeof(out)), ==, 0);
}

/*
 * IPv6 fd00::2 -> fd00::3, UDP, 1300 bytes of 'x' (1340 in all), MTU 1280:
 * reply header 60 00 00 00, payload 1240 (0x04d8), next header 58, hop
 * limit 64, from fd00::3 to fd00::2; ICMPv6 type 2 code 0, checksum 0x1113
 * (pseudo-header included), MTU 1280, then the first 1232 bytes of the
 * original (RFC 4443 2.4(c): the reply must fit in 1280).
 */
static const uint8_t REPLY6_FIXED[8] = {0x60, 0x00, 0x00, 0x00, 0x04, 0xd8, 0x3a, 0x40};
static const uint8_t REPLY6_ICMP[8] = {0x02, 0x00, 0x11, 0x13, 0x00, 0x00, 0x05, 0x00};

static void
test_ptb_v6_exact(void)
{
	static uint8_t p[1400], out[TR_PTB_MAX], x[1300];
	uint8_t s6[16], d6[16];
	size_t n;

	memset(x, 'x', sizeof(x));
	n = pb_ip6(p, "fd00::2", "fd00::3", 17, x, sizeof(x));
	n = tr_mangle_build_ptb(p, n, TR_FRAME_IP, 1280, out, sizeof(out));
	g_assert_cmpuint(n, ==, 1280);
	inet_pton(AF_INET6, "fd00::2", s6);
	inet_pton(AF_INET6, "fd00::3", d6);
	g_assert_cmpmem(out, 8, REPLY6_FIXED, 8);
	g_assert_cmpmem(out + 8, 16, d6, 16);
	g_assert_cmpmem(out + 24, 16, s6, 16);
	g_assert_cmpmem(out + 40, 8, REPLY6_ICMP, 8);
	g_assert_cmpmem(out + 48, 1232, p, 1232);
	g_assert_cmphex(pb_fold(pb_sum(out + 40, 1240, pb_pseudo(out, 1240, 58))), ==, 0);

	/* An MTU below 1280 is reported as 1280 ... */
	n = pb_ip6(p, "fd00::2", "fd00::3", 17, x, 1300);
	n = tr_mangle_build_ptb(p, n, TR_FRAME_IP, 1200, out, sizeof(out));
	g_assert_cmpuint(n, ==, 1280);
	g_assert_cmpuint(pb_get16(out + 46), ==, 1280);
	g_assert_cmphex(pb_fold(pb_sum(out + 40, 1240, pb_pseudo(out, 1240, 58))), ==, 0);
	/* ... so a packet no larger than 1280 gets no answer: its sender cannot go lower. */
	n = pb_ip6(p, "fd00::2", "fd00::3", 17, x, 100);
	g_assert_cmpuint(tr_mangle_build_ptb(p, n, TR_FRAME_IP, 120, out, sizeof(out)), ==, 0);

	/* Not about ICMPv6 errors, not toward ::, not from a multicast destination. */
	x[0] = 1;
	n = pb_ip6(p, "fd00::2", "fd00::3", 58, x, 1300);
	g_assert_cmpuint(tr_mangle_build_ptb(p, n, TR_FRAME_IP, 1200, out, sizeof(out)), ==, 0);
	x[0] = 128; /* an echo request is fine */
	n = pb_ip6(p, "fd00::2", "fd00::3", 58, x, 1300);
	g_assert_cmpuint(tr_mangle_build_ptb(p, n, TR_FRAME_IP, 1200, out, sizeof(out)), ==, 1280);
	n = pb_ip6(p, "::", "fd00::3", 17, x, 1300);
	g_assert_cmpuint(tr_mangle_build_ptb(p, n, TR_FRAME_IP, 1200, out, sizeof(out)), ==, 0);
	n = pb_ip6(p, "fd00::2", "ff02::1", 17, x, 1300);
	g_assert_cmpuint(tr_mangle_build_ptb(p, n, TR_FRAME_IP, 1200, out, sizeof(out)), ==, 0);
}

/* ECN CE: set on ECT(0) and ECT(1), IPv4 header checksum kept right; Not-ECT refused. */
static void
test_mark_ce(void)
{
	uint8_t seg[1600], p[1700], f[1800], before[1700];
	size_t n = pb_tcp(seg, 0x10, NULL, 0, 1000), m;

	for (unsigned ecn = 0; ecn < 4; ecn++) {
		m = pb_ip4(p, "198.19.0.2", "198.19.0.1", 6, true, seg, n);
		p[1] = (uint8_t)(0xb8 | ecn); /* DSCP EF kept */
		pb_put16(p + 10, 0);
		pb_put16(p + 10, pb_fold(pb_sum(p, 20, 0)));
		memcpy(before, p, m);
		g_assert_cmpint(tr_mangle_mark_ce(p, m, TR_FRAME_IP), ==, ecn != 0);
		g_assert_cmphex(p[1], ==, ecn ? 0xbbu : 0xb8u);
		g_assert_cmphex(pb_fold(pb_sum(p, 20, 0)), ==, 0); /* header checksum valid */
		for (size_t i = 12; i < m; i++)
			g_assert_cmpuint(p[i], ==, before[i]);
	}
	/* IPv6: traffic class 0xb8 | ecn, flow label kept */
	for (unsigned ecn = 0; ecn < 4; ecn++) {
		m = pb_ip6(p, "fd00::2", "fd00::1", 6, seg, n);
		p[0] = 0x6b;
		p[1] = (uint8_t)((0x8 | ecn) << 4 | 0x5);
		g_assert_cmpint(tr_mangle_mark_ce(p, m, TR_FRAME_IP), ==, ecn != 0);
		g_assert_cmphex(p[0], ==, 0x6b);
		g_assert_cmphex(p[1], ==, ecn ? 0xb5u : 0x85u);
	}
	/* tap: behind an Ethernet header and a VLAN tag */
	m = pb_ip4(p, "198.19.0.2", "198.19.0.1", 6, true, seg, n);
	p[1] = 0x02; /* ECT(0) */
	pb_put16(p + 10, 0);
	pb_put16(p + 10, pb_fold(pb_sum(p, 20, 0)));
	m = pb_eth(f, MAC_A, MAC_B, 7, 0x0800, p, m);
	g_assert_true(tr_mangle_mark_ce(f, m, TR_FRAME_ETHERNET));
	g_assert_cmphex(f[18 + 1], ==, 0x03);
	g_assert_cmphex(pb_fold(pb_sum(f + 18, 20, 0)), ==, 0);
	/* not IP, or malformed: false, untouched */
	memset(p, 0x45, 10);
	g_assert_false(tr_mangle_mark_ce(p, 10, TR_FRAME_IP));
	m = pb_eth(f, MAC_A, MAC_B, -1, 0x0806, seg, 28);
	g_assert_false(tr_mangle_mark_ce(f, m, TR_FRAME_ETHERNET));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mangle/clamp-v4", test_clamp_v4);
	g_test_add_func("/mangle/clamp-v6", test_clamp_v6);
	g_test_add_func("/mangle/clamp-tap", test_clamp_tap);
	g_test_add_func("/mangle/ptb-v4-exact", test_ptb_v4_exact);
	g_test_add_func("/mangle/ptb-v4-rules", test_ptb_v4_rules);
	g_test_add_func("/mangle/ptb-v6-exact", test_ptb_v6_exact);
	g_test_add_func("/mangle/mark-ce", test_mark_ce);
	return g_test_run();
}
