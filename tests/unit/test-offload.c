/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/offload.h"

#include "tests/unit/pkt-build.h"

#include <errno.h>

#define ACK 0x10u
#define PSH 0x08u
#define FIN 0x01u
#define SYN 0x02u
#define RST 0x04u
#define CWR 0x80u
#define ECE 0x40u

#define ACK_NO 0x01020304u
#define SEQ0   0xfffff000u /* the sequence numbers wrap inside the tests */
#define MSS    1448u
#define BIG    (65536u + 64u)

/* NOP, NOP, timestamps: what every Linux data segment carries. */
static const uint8_t TS_OPTS[12] = {1, 1, 8, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0};

/* The byte a flow carries at sequence number @seq: payloads are checkable by position. */
static uint8_t
stream_byte(uint32_t seq)
{
	return (uint8_t)(seq * 131u + (seq >> 8) * 7u + 1u);
}

typedef struct {
	int version;
	uint8_t flags;
	const uint8_t *opts;
	size_t optlen;
	uint32_t seq;
	size_t plen;
	uint16_t sport;
} Tcp;

/* A TCP/IP packet with correct checksums (IPv4 with DF, id 0x1234); returns its length. */
static size_t
mk_tcp(uint8_t *p, const Tcp *t)
{
	g_autofree uint8_t *seg = g_malloc(BIG);
	size_t h = 20 + t->optlen, n = pb_tcp(seg, t->flags, t->opts, t->optlen, t->plen);

	pb_put16(seg, t->sport ? t->sport : 40000);
	pb_put32(seg + 4, t->seq);
	pb_put32(seg + 8, ACK_NO);
	for (size_t i = 0; i < t->plen; i++)
		seg[h + i] = stream_byte(t->seq + (uint32_t)i);
	if (t->version == 4)
		n = pb_ip4(p, "198.19.0.2", "10.2.0.1", 6, true, seg, n);
	else
		n = pb_ip6(p, "fd00::2", "fd00:2::1", 6, seg, n);
	pb_tcp_fix(p);
	return n;
}

/* The folded pseudo-header sum, not complemented: what needs_csum leaves in the field. */
static uint16_t
pseudo_seed(const uint8_t *ip, uint8_t proto)
{
	uint32_t s = pb_pseudo(ip, (uint32_t)(pb_iplen(ip) - pb_iphlen(ip)), proto);

	return (uint16_t)~pb_fold(s);
}

/* A super-packet as a tun device hands it out with TSO: checksum left partial. */
static size_t
mk_super(uint8_t *p, const Tcp *t, TrGso *gso, uint16_t gso_size)
{
	size_t n = mk_tcp(p, t), iphl = pb_iphlen(p);

	pb_put16(p + iphl + 16, pseudo_seed(p, 6));
	*gso = (TrGso){
	        .type = t->version == 4 ? TR_GSO_TCPV4 : TR_GSO_TCPV6,
	        .needs_csum = true,
	        .hdr_len = (uint16_t)(iphl + 20 + t->optlen),
	        .gso_size = gso_size,
	        .csum_start = (uint16_t)iphl,
	        .csum_offset = 16,
	};
	return n;
}

typedef struct {
	TrPacket *pkts;
	TrPacket *ptrs[96];
	unsigned n;
} Pkts;

static void
pkts_init(Pkts *ps, unsigned n)
{
	g_assert_cmpuint(n, <=, G_N_ELEMENTS(ps->ptrs));
	ps->pkts = g_new0(TrPacket, n);
	ps->n = n;
	for (unsigned i = 0; i < n; i++) {
		ps->ptrs[i] = &ps->pkts[i];
		tr_packet_reset(ps->ptrs[i]);
	}
}

static void
pkts_clear(Pkts *ps)
{
	g_free(ps->pkts);
}

/* Puts a built packet into @pkt. */
static TrPacket *
load(TrPacket *pkt, const uint8_t *p, size_t n)
{
	tr_packet_reset(pkt);
	memcpy(tr_packet_data(pkt), p, n);
	pkt->len = (uint32_t)n;
	return pkt;
}

static void
assert_ip4_hdr_ok(const uint8_t *ip)
{
	g_assert_cmphex(pb_fold(pb_sum(ip, 20, 0)), ==, 0);
}

/* ---- Checksums --------------------------------------------------------------- */

static void
test_csum_partial(void)
{
	g_autofree uint8_t *buf = g_malloc(70000 + 8);
	GRand *r = g_rand_new_with_seed(1071);

	for (size_t i = 0; i < 70000 + 8; i++)
		buf[i] = (uint8_t)g_rand_int(r);
	/* Every alignment and odd and even lengths, against the byte-wise sum. */
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len < 300; len++)
			g_assert_cmphex(tr_csum_fold(tr_csum_partial(buf + off, len, 0x1234)), ==,
			                (uint16_t)~pb_fold(pb_sum(buf + off, len, 0x1234)));
	g_assert_cmphex(tr_csum_fold(tr_csum_partial(buf + 3, 70001, 0)), ==,
	                (uint16_t)~pb_fold(pb_sum(buf + 3, 70001, 0)));
	/* All ones: every add carries. */
	memset(buf, 0xff, 65536);
	g_assert_cmphex(tr_csum_fold(tr_csum_partial(buf, 65536, 0xffffffffu)), ==, 0xffff);
	g_assert_cmphex(tr_csum_fold(tr_csum_partial(buf, 65535, 0xffffffffu)), ==, 0xff00);
	/* A big running sum plus more data stays congruent. */
	g_assert_cmphex(tr_csum_fold(tr_csum_partial(buf + 1, 9, 0xfffffff0u)), ==,
	                (uint16_t)~pb_fold(pb_sum(buf + 1, 9, 0) + 0xfff0u + 0xffffu));
	/* Pieces of even length chain. */
	g_assert_cmphex(
	        tr_csum_fold(tr_csum_partial(buf + 100, 77, tr_csum_partial(buf + 50, 50, 0))), ==,
	        tr_csum_fold(tr_csum_partial(buf + 50, 127, 0)));
	/* Zero data sums to zero; fold is not complemented. */
	memset(buf, 0, 64);
	g_assert_cmphex(tr_csum_partial(buf, 64, 0), ==, 0);
	g_assert_cmphex(tr_csum_fold(0), ==, 0);
	g_assert_cmphex(tr_csum_fold(0x1fffeu), ==, 0xffff);
	g_assert_cmphex(tr_csum_fold(0xffffffffu), ==, 0xffff);
	g_assert_cmphex(tr_csum_fold(0x12345u), ==, 0x2346);
	g_rand_free(r);
}

/* ---- Segmentation ------------------------------------------------------------ */

/*
 * Checks the segments of a split TCP super-packet against the super-packet,
 * field by field, with checksums recomputed from scratch.
 */
static void
assert_tcp_segments(const uint8_t *super, size_t len, const TrGso *gso, Pkts *ps, int n)
{
	size_t iphl = pb_iphlen(super), payload = len - gso->hdr_len;
	unsigned expect = (unsigned)((payload + gso->gso_size - 1) / gso->gso_size);
	uint8_t sflags = super[iphl + 13];

	g_assert_cmpint(n, ==, (int)(expect ? expect : 1));
	for (int i = 0; i < n; i++) {
		const uint8_t *o = tr_packet_data(ps->ptrs[i]);
		size_t plen = MIN(gso->gso_size, payload - (size_t)i * gso->gso_size);
		const uint8_t *th = o + iphl;
		uint8_t flags = sflags;

		g_assert_cmpuint(ps->ptrs[i]->off, ==, TR_PACKET_HEADROOM);
		g_assert_cmpuint(ps->ptrs[i]->len, ==, gso->hdr_len + plen);
		g_assert_cmpuint(pb_iplen(o), ==, gso->hdr_len + plen);
		if (iphl == 20) {
			g_assert_cmphex(pb_get16(o + 4), ==, (uint16_t)(0x1234 + i));
			assert_ip4_hdr_ok(o);
		}
		g_assert_cmphex(pb_get32(th + 4), ==,
		                pb_get32(super + iphl + 4) + (uint32_t)i * gso->gso_size);
		if (i > 0)
			flags &= (uint8_t)~CWR;
		if (i < n - 1)
			flags &= (uint8_t) ~(FIN | PSH);
		g_assert_cmphex(th[13], ==, flags);
		g_assert_cmphex(pb_get16(th + 16), ==, pb_l4_csum(o, 6, 16));
		g_assert_true(pb_l4_ok(o, 6));
		/* Everything else of the headers is the super-packet's. */
		if (iphl == 20) {
			g_assert_cmpmem(o, 2, super, 2);
			g_assert_cmpmem(o + 6, 4, super + 6, 4);
			g_assert_cmpmem(o + 12, 8, super + 12, 8);
		} else {
			g_assert_cmpmem(o, 4, super, 4);
			g_assert_cmpmem(o + 6, 34, super + 6, 34);
		}
		g_assert_cmpmem(th, 4, super + iphl, 4);
		g_assert_cmpmem(th + 8, 5, super + iphl + 8, 5);
		g_assert_cmpmem(th + 14, 2, super + iphl + 14, 2);
		g_assert_cmpmem(th + 18, gso->hdr_len - iphl - 18, super + iphl + 18,
		                gso->hdr_len - iphl - 18);
		g_assert_cmpmem(o + gso->hdr_len, plen,
		                super + gso->hdr_len + (size_t)i * gso->gso_size, plen);
	}
}

/*
 * Cutting in place gives, segment by segment, the packets tr_gso_split()
 * makes (checked against it): each one is read before the next is asked for,
 * as the data path does, since the next one's headers overwrite its end.
 */
static void
assert_cut_like_split(const uint8_t *p, size_t n, const TrGso *gso)
{
	g_autofree uint8_t *q = g_memdup2(p, n);
	TrPacket *pkts = g_new0(TrPacket, 96);
	TrPacket *ptrs[96];
	TrGsoCut cut;
	uint8_t *seg;
	size_t seg_len;
	int k, i = 0;

	for (unsigned j = 0; j < G_N_ELEMENTS(ptrs); j++)
		ptrs[j] = &pkts[j];
	k = tr_gso_split(gso, p, n, ptrs, G_N_ELEMENTS(ptrs));
	g_assert_cmpint(k, >, 0);
	g_assert_cmpint(tr_gso_cut_begin(&cut, gso, q, n), ==, k);
	while ((seg = tr_gso_cut_next(&cut, &seg_len)) != NULL) {
		g_assert_cmpint(i, <, k);
		g_assert_true(seg >= q && seg + seg_len <= q + n);
		g_assert_cmpmem(seg, seg_len, tr_packet_data(ptrs[i]), ptrs[i]->len);
		i++;
	}
	g_assert_cmpint(i, ==, k);
	g_assert_null(tr_gso_cut_next(&cut, &seg_len));
	g_free(pkts);
}

static void
test_split_tcp4(void)
{
	g_autofree uint8_t *p = g_malloc(BIG);
	Tcp t = {.version = 4,
	         .flags = ACK | PSH | FIN | CWR | ECE,
	         .opts = TS_OPTS,
	         .optlen = sizeof(TS_OPTS),
	         .seq = SEQ0,
	         .plen = 5 * MSS + 100};
	TrGso gso;
	size_t n = mk_super(p, &t, &gso, MSS);
	Pkts ps;
	int rc;

	pkts_init(&ps, 8);
	rc = tr_gso_split(&gso, p, n, ps.ptrs, ps.n);
	assert_tcp_segments(p, n, &gso, &ps, rc);
	g_assert_cmpint(rc, ==, 6);
	assert_cut_like_split(p, n, &gso);
	/* The last one: 100 bytes, FIN and PSH, no CWR; the first: CWR, no FIN/PSH. */
	g_assert_cmphex(tr_packet_data(ps.ptrs[0])[20 + 13], ==, ACK | CWR | ECE);
	g_assert_cmphex(tr_packet_data(ps.ptrs[5])[20 + 13], ==, ACK | PSH | FIN | ECE);
	g_assert_cmpuint(ps.ptrs[5]->len, ==, 20 + 32 + 100);

	/* Exactly enough room; one short of it. */
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, 6), ==, 6);
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, 5), ==, -ENOBUFS);
	pkts_clear(&ps);
}

static void
test_split_tcp6(void)
{
	g_autofree uint8_t *p = g_malloc(BIG);
	Tcp t = {.version = 6, .flags = ACK | PSH, .seq = SEQ0, .plen = 45 * 1400};
	TrGso gso;
	size_t n = mk_super(p, &t, &gso, 1400);
	Pkts ps;
	int rc;

	pkts_init(&ps, 64);
	rc = tr_gso_split(&gso, p, n, ps.ptrs, ps.n);
	g_assert_cmpint(rc, ==, 45);
	assert_tcp_segments(p, n, &gso, &ps, rc);
	assert_cut_like_split(p, n, &gso);
	/* A checksum left complete (no needs_csum) makes no difference. */
	gso.needs_csum = false;
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, ps.n), ==, 45);
	assert_tcp_segments(p, n, &gso, &ps, rc);
	pkts_clear(&ps);
}

static void
test_split_one_segment(void)
{
	g_autofree uint8_t *p = g_malloc(BIG);
	Tcp t = {.version = 4, .flags = ACK | PSH, .seq = 7, .plen = MSS};
	TrGso gso;
	size_t n = mk_super(p, &t, &gso, MSS);
	Pkts ps;

	pkts_init(&ps, 1);
	/* Exactly hdr_len + gso_size: one segment with its checksum completed. */
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, 1), ==, 1);
	assert_tcp_segments(p, n, &gso, &ps, 1);
	g_assert_cmphex(tr_packet_data(ps.ptrs[0])[33], ==, ACK | PSH);
	assert_cut_like_split(p, n, &gso);

	/* Headers alone. */
	t.plen = 0;
	t.version = 6;
	n = mk_super(p, &t, &gso, MSS);
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, 1), ==, 1);
	g_assert_cmpuint(ps.ptrs[0]->len, ==, 60);
	g_assert_true(pb_l4_ok(tr_packet_data(ps.ptrs[0]), 6));
	assert_cut_like_split(p, n, &gso);
	pkts_clear(&ps);
}

static void
assert_udp_segments(const uint8_t *super, size_t len, const TrGso *gso, Pkts *ps, int n)
{
	size_t iphl = pb_iphlen(super), payload = len - gso->hdr_len;

	g_assert_cmpint(n, ==, (int)((payload + gso->gso_size - 1) / gso->gso_size));
	for (int i = 0; i < n; i++) {
		const uint8_t *o = tr_packet_data(ps->ptrs[i]);
		size_t plen = MIN(gso->gso_size, payload - (size_t)i * gso->gso_size);

		g_assert_cmpuint(ps->ptrs[i]->len, ==, iphl + 8 + plen);
		g_assert_cmpuint(pb_iplen(o), ==, iphl + 8 + plen);
		g_assert_cmpuint(pb_get16(o + iphl + 4), ==, 8 + plen);
		if (iphl == 20) {
			g_assert_cmphex(pb_get16(o + 4), ==, (uint16_t)(0x1234 + i));
			assert_ip4_hdr_ok(o);
		}
		g_assert_cmphex(pb_get16(o + iphl + 6), !=, 0);
		g_assert_true(pb_l4_ok(o, 17));
		g_assert_cmpmem(o + iphl, 4, super + iphl, 4);
		g_assert_cmpmem(o + iphl + 8, plen, super + iphl + 8 + (size_t)i * gso->gso_size,
		                plen);
	}
}

static void
test_split_udp(void)
{
	g_autofree uint8_t *seg = g_malloc(BIG);
	g_autofree uint8_t *p = g_malloc(BIG);
	Pkts ps;

	pkts_init(&ps, 16);
	for (int v = 4; v <= 6; v += 2) {
		size_t n = pb_udp(seg, 10 * 1200 + 1), iphl = v == 4 ? 20 : 40;
		TrGso gso = {.type = TR_GSO_UDP_L4,
		             .needs_csum = true,
		             .hdr_len = (uint16_t)(iphl + 8),
		             .gso_size = 1200,
		             .csum_start = (uint16_t)iphl,
		             .csum_offset = 6};

		for (size_t i = 8; i < n; i++)
			seg[i] = stream_byte((uint32_t)i);
		if (v == 4)
			n = pb_ip4(p, "198.19.0.2", "10.2.0.1", 17, false, seg, n);
		else
			n = pb_ip6(p, "fd00::2", "fd00:2::1", 17, seg, n);
		pb_put16(p + iphl + 6, pseudo_seed(p, 17));
		int rc = tr_gso_split(&gso, p, n, ps.ptrs, ps.n);
		g_assert_cmpint(rc, ==, 11);
		assert_udp_segments(p, n, &gso, &ps, rc);
		g_assert_cmpuint(ps.ptrs[10]->len, ==, iphl + 8 + 1);
		assert_cut_like_split(p, n, &gso);

		/*
		 * A datagram whose sum comes to -0: UDP sends 0xffff, since 0
		 * means "no checksum". Two payload bytes make the sum so.
		 */
		n = iphl + 8 + 100;
		pb_put16(p + (v == 4 ? 2 : 4), (uint16_t)(v == 4 ? n : n - 40));
		if (v == 4) {
			pb_put16(p + 10, 0);
			pb_put16(p + 10, pb_fold(pb_sum(p, 20, 0)));
		}
		pb_put16(p + iphl + 4, 108);
		pb_put16(p + iphl + 6, 0);
		pb_put16(p + iphl + 8, 0);
		/* Adding the checksum it would have makes the sum -0. */
		pb_put16(p + iphl + 8, pb_l4_csum(p, 17, 6));
		g_assert_cmphex(pb_l4_csum(p, 17, 6), ==, 0);
		pb_put16(p + iphl + 6, pseudo_seed(p, 17));
		g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, ps.n), ==, 1);
		g_assert_cmphex(pb_get16(tr_packet_data(ps.ptrs[0]) + iphl + 6), ==, 0xffff);
		g_assert_true(pb_l4_ok(tr_packet_data(ps.ptrs[0]), 17));
		/* And so does completing a partial checksum. */
		gso.type = TR_GSO_NONE;
		g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, ps.n), ==, 1);
		g_assert_cmphex(pb_get16(tr_packet_data(ps.ptrs[0]) + iphl + 6), ==, 0xffff);
	}
	pkts_clear(&ps);
}

static void
test_split_none(void)
{
	uint8_t seg[256], p[300];
	size_t n = pb_udp(seg, 101);
	TrGso gso = {.type = TR_GSO_NONE, .needs_csum = true, .csum_start = 20, .csum_offset = 6};
	Pkts ps;

	pkts_init(&ps, 1);
	n = pb_ip4(p, "198.19.0.2", "10.2.0.1", 17, false, seg, n);
	pb_put16(p + 26, pseudo_seed(p, 17));
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, 1), ==, 1);
	g_assert_cmpuint(ps.ptrs[0]->len, ==, n);
	g_assert_true(pb_l4_ok(tr_packet_data(ps.ptrs[0]), 17));
	g_assert_cmphex(pb_get16(tr_packet_data(ps.ptrs[0]) + 26), ==, pb_l4_csum(p, 17, 6));
	g_assert_cmpmem(tr_packet_data(ps.ptrs[0]), 26, p, 26);

	/* In place, the same. */
	g_assert_cmpint(tr_gso_complete_csum(&gso, p, n), ==, 0);
	g_assert_cmpmem(tr_packet_data(ps.ptrs[0]), n, p, n);

	/* Without needs_csum: a copy, whatever the bytes. */
	gso.needs_csum = false;
	p[26] ^= 0x55;
	g_assert_cmpint(tr_gso_split(&gso, p, 7, ps.ptrs, 1), ==, 1);
	g_assert_cmpmem(tr_packet_data(ps.ptrs[0]), 7, p, 7);
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, 1), ==, 1);
	g_assert_cmpmem(tr_packet_data(ps.ptrs[0]), n, p, n);
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, 0), ==, -ENOBUFS);

	/* The checksum field must lie inside the packet, at an even offset. */
	gso.needs_csum = true;
	gso.csum_start = (uint16_t)(n - 1);
	gso.csum_offset = 0;
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, 1), ==, -EPROTO);
	g_assert_cmpint(tr_gso_complete_csum(&gso, p, n), ==, -EPROTO);
	gso.csum_start = 20;
	gso.csum_offset = 0xfffe;
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, 1), ==, -EPROTO);
	gso.csum_offset = 7;
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, 1), ==, -EPROTO);
	pkts_clear(&ps);
}

/* Segments shorter than their headers cannot be cut in place: the caller splits. */
static void
test_cut_short_segments(void)
{
	g_autofree uint8_t *p = g_malloc(BIG);
	Tcp t = {.version = 6, .flags = ACK, .seq = 9, .plen = 200};
	TrGso gso;
	size_t n = mk_super(p, &t, &gso, 50); /* 60 bytes of headers */
	TrGsoCut cut;

	g_assert_cmpint(tr_gso_cut_begin(&cut, &gso, p, n), ==, -ENOSPC);
	/* One segment has nothing to overwrite. */
	t.plen = 50;
	n = mk_super(p, &t, &gso, 50);
	assert_cut_like_split(p, n, &gso);
	/* As long as the headers: the next headers take exactly the last bytes. */
	t.plen = 600;
	n = mk_super(p, &t, &gso, 60);
	assert_cut_like_split(p, n, &gso);
}

static void
test_split_hostile(void)
{
	g_autofree uint8_t *p = g_malloc(BIG);
	g_autofree uint8_t *q = g_malloc(BIG);
	Tcp t = {.version = 4,
	         .flags = ACK,
	         .opts = TS_OPTS,
	         .optlen = 12,
	         .seq = 1,
	         .plen = 3 * MSS};
	TrGso good, gso;
	size_t n = mk_super(p, &t, &good, MSS);
	Pkts ps;

	pkts_init(&ps, 4);
	g_assert_cmpint(tr_gso_split(&good, p, n, ps.ptrs, 4), ==, 3);

#define REFUSED(g, buf, len)                                                                       \
	do {                                                                                       \
		TrGsoCut cut_;                                                                     \
		g_assert_cmpint(tr_gso_split(&(g), (buf), (len), ps.ptrs, 4), ==, -EPROTO);        \
		g_assert_cmpint(tr_gso_cut_begin(&cut_, &(g), (buf), (len)), ==, -EPROTO);         \
	} while (0)

	gso = good, gso.hdr_len = (uint16_t)(n + 1); /* beyond the packet */
	REFUSED(gso, p, n);
	gso = good, gso.hdr_len = 52 - 4; /* not the headers' length */
	REFUSED(gso, p, n);
	gso = good, gso.hdr_len = 52 + 4;
	REFUSED(gso, p, n);
	gso = good, gso.gso_size = 0;
	REFUSED(gso, p, n);
	gso = good, gso.type = TR_GSO_TCPV6; /* an IPv4 packet */
	REFUSED(gso, p, n);
	gso = good, gso.type = TR_GSO_UDP_L4; /* a TCP packet */
	REFUSED(gso, p, n);
	gso = good, gso.type = 9;
	REFUSED(gso, p, n);
	gso = good, gso.csum_start = 24; /* the device means some other layout */
	REFUSED(gso, p, n);
	gso = good, gso.csum_offset = 6;
	REFUSED(gso, p, n);
	/* Truncated: inside the IP header, inside the TCP header, short of the IP length. */
	REFUSED(good, p, 10);
	REFUSED(good, p, 30);
	REFUSED(good, p, 0);
	REFUSED(good, p, n - 1);
	/* A TCP data offset below 5 words. */
	memcpy(q, p, n);
	q[32] = 0x40;
	gso = good, gso.hdr_len = 36;
	REFUSED(gso, q, n);
	/* A fragment. */
	memcpy(q, p, n);
	q[6] = 0x20;
	REFUSED(good, q, n);
	/* Not IP at all. */
	memcpy(q, p, n);
	q[0] = 0x55;
	REFUSED(good, q, n);
	/* IPv4 with options (4 bytes of NOP/EOL), hdr_len matching them. */
	memcpy(q, p, 20);
	memcpy(q + 24, p + 20, n - 20);
	q[0] = 0x46;
	memset(q + 20, 0, 4);
	pb_put16(q + 2, (uint16_t)(n + 4));
	gso = good, gso.hdr_len = 56, gso.csum_start = 24;
	REFUSED(gso, q, n + 4);
	/* IPv6 with a next header that is not TCP (an extension header). */
	t.version = 6;
	n = mk_super(p, &t, &good, MSS);
	g_assert_cmpint(tr_gso_split(&good, p, n, ps.ptrs, 4), ==, 3);
	memcpy(q, p, n);
	q[6] = 0; /* hop-by-hop */
	REFUSED(good, q, n);
	REFUSED(good, p, 39);
	/* An IPv6 payload length that is not the packet's. */
	memcpy(q, p, n);
	pb_put16(q + 4, (uint16_t)(n - 40 + 1));
	REFUSED(good, q, n);
	/* Too many segments: refused as a whole, nothing half done. */
	g_assert_cmpint(tr_gso_split(&good, p, n, ps.ptrs, 2), ==, -ENOBUFS);
	gso = good, gso.gso_size = 1;
	g_assert_cmpint(tr_gso_split(&gso, p, n, ps.ptrs, 4), ==, -ENOBUFS);
#undef REFUSED
	pkts_clear(&ps);
}

/* ---- Coalescing -------------------------------------------------------------- */

/*
 * Completes a merged item's checksum as the kernel does for CHECKSUM_PARTIAL
 * (the sum from csum_start on, the seed in the field included, complemented)
 * and checks the result from scratch.
 */
static void
assert_partial_csum_completes(const TrGroItem *it)
{
	g_autofree uint8_t *c = g_memdup2(tr_packet_data(it->pkt), it->pkt->len);
	size_t field = (size_t)it->gso.csum_start + it->gso.csum_offset;

	g_assert_cmphex(pb_get16(c + field), ==, pseudo_seed(c, 6));
	pb_put16(c + field,
	         pb_fold(pb_sum(c + it->gso.csum_start, it->pkt->len - it->gso.csum_start, 0)));
	g_assert_true(pb_l4_ok(c, 6));
}

/* The item holds @n segments of the flow from @seq: headers of @first, payload in order. */
static void
assert_merged(const TrGroItem *it, const uint8_t *first, unsigned n, size_t plen, uint32_t seq)
{
	const uint8_t *o = tr_packet_data(it->pkt);
	size_t iphl = pb_iphlen(first), hl = iphl + (size_t)(first[iphl + 12] >> 4) * 4;

	g_assert_cmpuint(it->n_segs, ==, n);
	g_assert_cmpuint(it->gso.type, ==, iphl == 20 ? TR_GSO_TCPV4 : TR_GSO_TCPV6);
	g_assert_true(it->gso.needs_csum);
	g_assert_cmpuint(it->gso.hdr_len, ==, hl);
	g_assert_cmpuint(it->gso.gso_size, ==, pb_iplen(first) - hl);
	g_assert_cmpuint(it->gso.csum_start, ==, iphl);
	g_assert_cmpuint(it->gso.csum_offset, ==, 16);
	g_assert_cmpuint(it->pkt->len, ==, hl + plen);
	g_assert_cmpuint(pb_iplen(o), ==, hl + plen);
	if (iphl == 20)
		assert_ip4_hdr_ok(o);
	g_assert_cmphex(pb_get32(o + iphl + 4), ==, seq);
	for (size_t i = 0; i < plen; i++)
		if (o[hl + i] != stream_byte(seq + (uint32_t)i))
			g_assert_cmphex(o[hl + i], ==, stream_byte(seq + (uint32_t)i));
	assert_partial_csum_completes(it);
}

typedef struct {
	TrGro gro;
	Pkts ps;
	uint8_t *buf;
	unsigned used;
} GroFix;

static void
fix_init(GroFix *f, unsigned n_pkts)
{
	tr_gro_init(&f->gro, true);
	pkts_init(&f->ps, n_pkts);
	f->buf = g_malloc(BIG);
	f->used = 0;
}

static void
fix_clear(GroFix *f)
{
	pkts_clear(&f->ps);
	g_free(f->buf);
}

/* Builds @t into the next free packet and offers it. */
static bool
offer(GroFix *f, const Tcp *t)
{
	size_t n = mk_tcp(f->buf, t);

	g_assert_cmpuint(f->used, <, f->ps.n);
	return tr_gro_add(&f->gro, load(f->ps.ptrs[f->used++], f->buf, n));
}

/* Offers a packet built by the caller. */
static bool
offer_raw(GroFix *f, const uint8_t *p, size_t n)
{
	g_assert_cmpuint(f->used, <, f->ps.n);
	return tr_gro_add(&f->gro, load(f->ps.ptrs[f->used++], p, n));
}

static void
test_gro_merge(void)
{
	for (int v = 4; v <= 6; v += 2) {
		Tcp t = {.version = v,
		         .flags = ACK,
		         .opts = TS_OPTS,
		         .optlen = 12,
		         .seq = SEQ0,
		         .plen = MSS};
		uint8_t first[2000];
		size_t first_len = mk_tcp(first, &t);
		GroFix f;

		fix_init(&f, 8);
		g_assert_false(offer(&f, &t));
		for (int i = 1; i < 4; i++) {
			t.seq += MSS;
			g_assert_true(offer(&f, &t));
		}
		g_assert_cmpuint(f.gro.n, ==, 1);
		g_assert_true(f.gro.items[0].pkt == f.ps.ptrs[0]);
		tr_gro_finish(&f.gro);
		assert_merged(&f.gro.items[0], first, 4, 4 * MSS, SEQ0);
		g_assert_cmphex(tr_packet_data(f.ps.ptrs[0])[pb_iphlen(first) + 13], ==, ACK);
		g_assert_cmpuint(first_len, ==, pb_iphlen(first) + 32 + MSS);
		/* The same bytes again: finish twice changes nothing. */
		g_autofree uint8_t *once =
		        g_memdup2(tr_packet_data(f.ps.ptrs[0]), f.ps.ptrs[0]->len);
		tr_gro_finish(&f.gro);
		g_assert_cmpmem(tr_packet_data(f.ps.ptrs[0]), f.ps.ptrs[0]->len, once,
		                f.ps.ptrs[0]->len);

		/* The next batch starts afresh. */
		tr_gro_reset(&f.gro);
		g_assert_cmpuint(f.gro.n, ==, 0);
		fix_clear(&f);
	}
}

static void
assert_gso_eq(const TrGso *a, const TrGso *b)
{
	g_assert_cmpuint(a->type, ==, b->type);
	g_assert_cmpuint(a->needs_csum, ==, b->needs_csum);
	g_assert_cmpuint(a->ecn, ==, b->ecn);
	g_assert_cmpuint(a->hdr_len, ==, b->hdr_len);
	g_assert_cmpuint(a->gso_size, ==, b->gso_size);
	g_assert_cmpuint(a->csum_start, ==, b->csum_start);
	g_assert_cmpuint(a->csum_offset, ==, b->csum_offset);
}

/* The super-packet both round trips start from: 21 segments, PSH on the last. */
static size_t
mk_round_trip_super(uint8_t *p, int version, TrGso *gso)
{
	Tcp t = {.version = version,
	         .flags = ACK | PSH,
	         .opts = TS_OPTS,
	         .optlen = 12,
	         .seq = SEQ0,
	         .plen = 20 * MSS + 333};

	return mk_super(p, &t, gso, MSS);
}

/* The coalescer gave back the very packet the device gave, checksum seed and all,
 * and its metadata. */
static void
assert_round_trip(TrGro *gro, const uint8_t *p, size_t n, const TrGso *gso)
{
	tr_gro_finish(gro);
	g_assert_cmpuint(gro->n, ==, 1);
	g_assert_cmpuint(gro->items[0].pkt->len, ==, n);
	g_assert_cmpmem(tr_packet_data(gro->items[0].pkt), n, p, n);
	assert_gso_eq(&gro->items[0].gso, gso);
}

static void
test_gro_round_trip(void)
{
	for (int v = 4; v <= 6; v += 2) {
		g_autofree uint8_t *p = g_malloc(BIG);
		TrGso gso;
		size_t n = mk_round_trip_super(p, v, &gso);
		TrGro gro;
		Pkts ps;
		int rc;

		pkts_init(&ps, 32);
		rc = tr_gso_split(&gso, p, n, ps.ptrs, ps.n);
		g_assert_cmpint(rc, ==, 21);
		tr_gro_init(&gro, true);
		for (int i = 0; i < rc; i++)
			g_assert_true(tr_gro_add(&gro, ps.ptrs[i]) == (i > 0));
		assert_round_trip(&gro, p, n, &gso);
		pkts_clear(&ps);
	}
}

/* ---- Checksums left partial (TR_PACKET_CSUM_PARTIAL) ------------------------- */

/*
 * A super-packet cut with its checksums left partial: every segment is the
 * one tr_gso_split() makes but for the TCP checksum field, which holds the
 * segment's pseudo-header sum; tr_csum_partial_finish() then makes it
 * byte-identical. On the receiving side those segments, whatever a peer put
 * in the field, merge back (tr_csum_partial_prepare(), then the coalescer)
 * into the very super-packet the device gave.
 */
static void
test_partial_round_trip(void)
{
	for (int v = 4; v <= 6; v += 2) {
		g_autofree uint8_t *p = g_malloc(BIG);
		TrGso gso;
		size_t n = mk_round_trip_super(p, v, &gso);
		g_autofree uint8_t *q = g_memdup2(p, n);
		Pkts split, rx;
		TrGsoCut cut;
		TrGro gro;
		uint8_t *seg;
		size_t seg_len;
		int k, i = 0;

		pkts_init(&split, 32);
		pkts_init(&rx, 32);
		k = tr_gso_split(&gso, p, n, split.ptrs, split.n);
		g_assert_cmpint(k, ==, 21);
		g_assert_cmpint(tr_gso_cut_begin(&cut, &gso, q, n), ==, k);
		g_assert_true(tr_gso_cut_leave_partial(&cut));
		tr_gro_init(&gro, true);
		while ((seg = tr_gso_cut_next(&cut, &seg_len)) != NULL) {
			const uint8_t *want = tr_packet_data(split.ptrs[i]);
			size_t field = pb_iphlen(want) + 16;
			uint8_t c[2000];
			unsigned iphl = 0;
			TrPacket *r = rx.ptrs[i];

			g_assert_cmpuint(seg_len, ==, split.ptrs[i]->len);
			g_assert_cmpmem(seg, field, want, field);
			g_assert_cmpmem(seg + field + 2, seg_len - field - 2, want + field + 2,
			                seg_len - field - 2);
			g_assert_cmphex(pb_get16(seg + field), ==, pseudo_seed(seg, 6));
			memcpy(c, seg, seg_len);
			g_assert_cmpint(tr_csum_partial_finish(c, seg_len), ==, 0);
			g_assert_cmpmem(c, seg_len, want, seg_len);

			/* Received: any value in the field; the data channel's flag. */
			load(r, seg, seg_len);
			pb_put16(tr_packet_data(r) + field, (uint16_t)(0x5a5a + i));
			r->flags = TR_PACKET_CSUM_PARTIAL;
			g_assert_cmpint(tr_csum_partial_prepare(tr_packet_data(r), r->len, &iphl),
			                ==, 0);
			g_assert_cmpuint(iphl, ==, pb_iphlen(want));
			g_assert_cmphex(pb_get16(tr_packet_data(r) + field), ==,
			                pseudo_seed(seg, 6));
			g_assert_true(tr_gro_add(&gro, r) == (i > 0));
			i++;
		}
		g_assert_cmpint(i, ==, k);
		assert_round_trip(&gro, p, n, &gso);
		pkts_clear(&split);
		pkts_clear(&rx);
	}
}

/*
 * Without the flag a segment with a wrong checksum joins nothing (the kernel
 * would trust the merged sum); with it, the field is not checked, and one
 * left alone is written as CHECKSUM_PARTIAL for the device to complete.
 */
static void
test_partial_gro(void)
{
	for (int v = 4; v <= 6; v += 2) {
		Tcp t = {.version = v, .flags = ACK, .seq = SEQ0, .plen = MSS};
		uint8_t b[2000];
		size_t n = mk_tcp(b, &t), field = pb_iphlen(b) + 16;
		unsigned iphl;
		GroFix f;

		fix_init(&f, 8);
		g_assert_false(offer(&f, &t));
		t.seq += MSS;
		n = mk_tcp(b, &t);
		pb_put16(b + field, (uint16_t)(pb_get16(b + field) ^ 0x0101));
		g_assert_false(offer_raw(&f, b, n)); /* refused: bad checksum */
		g_assert_cmpuint(f.gro.n, ==, 2);

		tr_gro_reset(&f.gro);
		f.used = 0;
		g_assert_false(offer(&f, &t)); /* seq + MSS, right checksum */
		load(f.ps.ptrs[f.used], b, n);
		f.ps.ptrs[f.used]->flags = TR_PACKET_CSUM_PARTIAL;
		g_assert_cmpint(
		        tr_csum_partial_prepare(tr_packet_data(f.ps.ptrs[f.used]), n, &iphl), ==,
		        0);
		/* the same sequence number again: a new item of its own, alone */
		g_assert_false(tr_gro_add(&f.gro, f.ps.ptrs[f.used++]));
		g_assert_cmpuint(f.gro.n, ==, 2);
		tr_gro_finish(&f.gro);
		g_assert_cmpuint(f.gro.items[0].gso.type, ==, TR_GSO_NONE);
		g_assert_false(f.gro.items[0].gso.needs_csum);
		g_assert_cmpuint(f.gro.items[1].gso.type, ==, TR_GSO_NONE);
		g_assert_true(f.gro.items[1].gso.needs_csum);
		g_assert_cmpuint(f.gro.items[1].gso.csum_start, ==, pb_iphlen(b));
		g_assert_cmpuint(f.gro.items[1].gso.csum_offset, ==, 16);
		assert_partial_csum_completes(&f.gro.items[1]);
		/* completed for a device without checksum offload: right in full */
		g_assert_cmpint(tr_gso_complete_csum(&f.gro.items[1].gso,
		                                     tr_packet_data(f.gro.items[1].pkt), n),
		                ==, 0);
		g_assert_true(pb_l4_ok(tr_packet_data(f.gro.items[1].pkt), 6));
		fix_clear(&f);
	}
}

/* Only the shape a TSO segment has is taken as partial. */
static void
test_partial_hostile(void)
{
	Tcp t = {.version = 4, .flags = ACK, .seq = 1, .plen = 100};
	uint8_t b[2000], udp[64];
	size_t n = mk_tcp(b, &t);
	unsigned iphl;

	g_assert_cmpint(tr_csum_partial_prepare(b, n, &iphl), ==, 0);
	g_assert_cmpint(tr_csum_partial_prepare(b, n - 1, &iphl), ==, -EPROTO); /* length */
	g_assert_cmpint(tr_csum_partial_finish(b, n + 1), ==, -EPROTO);
	g_assert_cmpint(tr_csum_partial_prepare(b, 19, &iphl), ==, -EPROTO);
	g_assert_cmpint(tr_csum_partial_prepare(b, 0, &iphl), ==, -EPROTO);
	b[0] = 0x46; /* IPv4 options */
	g_assert_cmpint(tr_csum_partial_prepare(b, n, &iphl), ==, -EPROTO);
	b[0] = 0x45;
	b[6] |= 0x20; /* a fragment */
	g_assert_cmpint(tr_csum_partial_prepare(b, n, &iphl), ==, -EPROTO);
	b[6] &= (uint8_t)~0x20;
	b[20 + 12] = 0x40; /* TCP header shorter than 20 */
	g_assert_cmpint(tr_csum_partial_finish(b, n), ==, -EPROTO);
	n = pb_ip4(b, "198.19.0.2", "10.2.0.1", 17, true, udp, pb_udp(udp, 20));
	g_assert_cmpint(tr_csum_partial_prepare(b, n, &iphl), ==, -EPROTO); /* UDP */
	t.version = 6;
	n = mk_tcp(b, &t);
	g_assert_cmpint(tr_csum_partial_finish(b, n), ==, 0);
	g_assert_true(pb_l4_ok(b, 6));
	b[6] = 0; /* an extension header */
	g_assert_cmpint(tr_csum_partial_prepare(b, n, &iphl), ==, -EPROTO);
	b[0] = 0x55;
	g_assert_cmpint(tr_csum_partial_prepare(b, n, &iphl), ==, -EPROTO);
}

/* A segment that must not join the one before it: @mutate changes the second. */
typedef void (*Mutate)(uint8_t *p, size_t *n, Tcp *t);

static size_t
tcp_off(const uint8_t *p)
{
	return pb_iphlen(p);
}

static void
mut_gap(uint8_t *p, size_t *n, Tcp *t)
{
	t->seq += 1;
	*n = mk_tcp(p, t);
}

static void
mut_behind(uint8_t *p, size_t *n, Tcp *t)
{
	t->seq -= 1000; /* a retransmission of the first */
	*n = mk_tcp(p, t);
}

static void
mut_port(uint8_t *p, size_t *n, Tcp *t)
{
	t->sport = 40001;
	*n = mk_tcp(p, t);
}

static void
mut_ack(uint8_t *p, size_t *n, Tcp *t)
{
	pb_put32(p + tcp_off(p) + 8, ACK_NO + 1);
	pb_tcp_fix(p);
}

static void
mut_window(uint8_t *p, size_t *n, Tcp *t)
{
	pb_put16(p + tcp_off(p) + 14, 1000);
	pb_tcp_fix(p);
}

/* Recomputes an IPv4 header checksum after a change. */
static void
ip4_fix(uint8_t *p)
{
	pb_put16(p + 10, 0);
	pb_put16(p + 10, pb_fold(pb_sum(p, 20, 0)));
}

static void
mut_flags(uint8_t *p, uint8_t flags)
{
	p[tcp_off(p) + 13] = flags;
	pb_tcp_fix(p);
}

static void
mut_csum(uint8_t *p, size_t *n, Tcp *t)
{
	p[tcp_off(p) + 16] ^= 1;
}

static void
mut_payload_csum(uint8_t *p, size_t *n, Tcp *t)
{
	p[*n - 1] ^= 0x80; /* data damaged in flight, header intact */
}

static void
mut_payload_csum_mid(uint8_t *p, size_t *n, Tcp *t)
{
	p[*n - 501] ^= 0x04; /* the same in the middle, far from the last bytes */
}

static void
mut_ip_csum(uint8_t *p, size_t *n, Tcp *t)
{
	if (p[0] >> 4 == 4)
		p[10] ^= 1;
	else
		p[7] = 3; /* IPv6 has no header checksum: a hop limit instead */
}

static void
mut_opts(uint8_t *p, size_t *n, Tcp *t)
{
	p[tcp_off(p) + 20 + 7] += 1; /* a newer timestamp */
	pb_tcp_fix(p);
}

static void
mut_no_opts(uint8_t *p, size_t *n, Tcp *t)
{
	t->opts = NULL;
	t->optlen = 0;
	*n = mk_tcp(p, t);
}

static void
mut_pure_ack(uint8_t *p, size_t *n, Tcp *t)
{
	t->plen = 0;
	*n = mk_tcp(p, t);
}

static void
mut_bigger(uint8_t *p, size_t *n, Tcp *t)
{
	t->plen = 1001;
	*n = mk_tcp(p, t);
}

static void
mut_tos(uint8_t *p, size_t *n, Tcp *t)
{
	if (p[0] >> 4 == 4) {
		p[1] = 0x03; /* CE */
		ip4_fix(p);
	} else {
		p[1] = 0x30; /* traffic class 0x03: CE */
	}
}

static void
mut_ttl(uint8_t *p, size_t *n, Tcp *t)
{
	if (p[0] >> 4 == 4) {
		p[8] = 63;
		ip4_fix(p);
	} else {
		p[7] = 63;
	}
}

static void
mut_df_or_label(uint8_t *p, size_t *n, Tcp *t)
{
	if (p[0] >> 4 == 4) {
		p[6] = 0; /* no DF: the id matters, and we do not track it */
		ip4_fix(p);
	} else {
		p[3] = 0x42; /* another flow label */
	}
}

static void
mut_dst(uint8_t *p, size_t *n, Tcp *t)
{
	if (p[0] >> 4 == 4) {
		p[19] ^= 1;
		ip4_fix(p);
	} else {
		p[39] ^= 1;
	}
	pb_tcp_fix(p);
}

static void
mut_trailing(uint8_t *p, size_t *n, Tcp *t)
{
	p[(*n)++] = 0; /* a byte beyond the IP length */
}

static const struct {
	const char *name;
	Mutate mutate;
	uint8_t flags; /* without @mutate: the second segment's TCP flags */
} NO_MERGE[] = {
        {"gap", mut_gap, 0},
        {"behind", mut_behind, 0},
        {"other-flow", mut_port, 0},
        {"other-dst", mut_dst, 0},
        {"ack", mut_ack, 0},
        {"window", mut_window, 0},
        {"syn", NULL, ACK | SYN},
        {"fin", NULL, ACK | FIN},
        {"rst", NULL, ACK | RST},
        {"cwr", NULL, ACK | CWR},
        {"ece", NULL, ACK | ECE},
        {"no-ack", NULL, PSH},
        {"bad-csum", mut_csum, 0},
        {"bad-payload", mut_payload_csum, 0},
        {"bad-payload-middle", mut_payload_csum_mid, 0},
        {"ip-csum-or-hop", mut_ip_csum, 0},
        {"options", mut_opts, 0},
        {"no-options", mut_no_opts, 0},
        {"pure-ack", mut_pure_ack, 0},
        {"bigger", mut_bigger, 0},
        {"tos", mut_tos, 0},
        {"ttl", mut_ttl, 0},
        {"df-or-label", mut_df_or_label, 0},
        {"trailing", mut_trailing, 0},
};

static void
assert_no_merge(unsigned k, int version)
{
	Tcp t = {.version = version,
	         .flags = ACK,
	         .opts = TS_OPTS,
	         .optlen = 12,
	         .seq = 1000,
	         .plen = 1000};
	uint8_t p[2000];
	size_t n;
	GroFix f;

	fix_init(&f, 4);
	g_assert_false(offer(&f, &t));
	t.seq += 1000;
	n = mk_tcp(p, &t);
	if (NO_MERGE[k].mutate)
		NO_MERGE[k].mutate(p, &n, &t);
	else
		mut_flags(p, NO_MERGE[k].flags);
	g_assert_false(offer_raw(&f, p, n));
	g_assert_cmpuint(f.gro.n, ==, 2);
	tr_gro_finish(&f.gro);
	/* Both pass through as they came. */
	for (unsigned i = 0; i < 2; i++) {
		g_assert_cmpuint(f.gro.items[i].gso.type, ==, TR_GSO_NONE);
		g_assert_false(f.gro.items[i].gso.needs_csum);
	}
	g_assert_cmpmem(tr_packet_data(f.gro.items[1].pkt), n, p, n);
	fix_clear(&f);
}

static void
test_gro_no_merge(gconstpointer data)
{
	unsigned i = GPOINTER_TO_UINT(data);

	assert_no_merge(i, 4);
	assert_no_merge(i, 6);
}

/* The first segment's checksum is bad: nothing joins it (its damage would be hidden). */
static void
test_gro_bad_first(void)
{
	Tcp t = {.version = 4, .flags = ACK, .seq = 1, .plen = 1000};
	uint8_t p[2000];
	size_t n = mk_tcp(p, &t);
	GroFix f;

	fix_init(&f, 4);
	p[n - 1] ^= 1;
	g_assert_false(offer_raw(&f, p, n));
	t.seq += 1000;
	g_assert_false(offer(&f, &t));
	/* ...but the next one joins the good second. */
	t.seq += 1000;
	g_assert_true(offer(&f, &t));
	g_assert_cmpuint(f.gro.n, ==, 2);
	tr_gro_finish(&f.gro);
	g_assert_cmpuint(f.gro.items[0].gso.type, ==, TR_GSO_NONE);
	g_assert_cmpmem(tr_packet_data(f.gro.items[0].pkt), n, p, n);
	g_assert_cmpuint(f.gro.items[1].n_segs, ==, 2);
	fix_clear(&f);
}

/* A packet of the flow that cannot join stops later ones from joining items before it. */
static void
test_gro_no_reorder(void)
{
	Tcp t = {.version = 6, .flags = ACK, .seq = 1, .plen = 1000};
	uint8_t p[2000];
	size_t n;
	GroFix f;

	fix_init(&f, 4);
	g_assert_false(offer(&f, &t));
	t.seq += 1000;
	n = mk_tcp(p, &t);
	p[n - 1] ^= 1; /* damaged: passes alone */
	g_assert_false(offer_raw(&f, p, n));
	/* Its good retransmission continues the first item by number, but comes after. */
	g_assert_false(offer(&f, &t));
	g_assert_cmpuint(f.gro.n, ==, 3);
	fix_clear(&f);
}

static void
test_gro_short_closes(void)
{
	Tcp t = {.version = 4, .flags = ACK, .seq = 1, .plen = 1000};
	uint8_t first[2000];
	GroFix f;

	mk_tcp(first, &t);
	fix_init(&f, 4);
	g_assert_false(offer(&f, &t));
	t.seq += 1000;
	t.plen = 500;
	g_assert_true(offer(&f, &t));
	t.seq += 500;
	t.plen = 1000;
	g_assert_false(offer(&f, &t));
	g_assert_cmpuint(f.gro.n, ==, 2);
	tr_gro_finish(&f.gro);
	assert_merged(&f.gro.items[0], first, 2, 1500, 1);
	g_assert_cmpuint(f.gro.items[1].gso.type, ==, TR_GSO_NONE);
	fix_clear(&f);
}

static void
test_gro_psh_closes(void)
{
	Tcp t = {.version = 6,
	         .flags = ACK,
	         .opts = TS_OPTS,
	         .optlen = 12,
	         .seq = SEQ0,
	         .plen = 1000};
	uint8_t first[2000];
	GroFix f;

	mk_tcp(first, &t);
	fix_init(&f, 4);
	g_assert_false(offer(&f, &t));
	t.seq += 1000;
	g_assert_true(offer(&f, &t));
	t.seq += 1000;
	t.flags = ACK | PSH;
	g_assert_true(offer(&f, &t));
	t.seq += 1000;
	t.flags = ACK;
	g_assert_false(offer(&f, &t));
	g_assert_cmpuint(f.gro.n, ==, 2);
	tr_gro_finish(&f.gro);
	assert_merged(&f.gro.items[0], first, 3, 3000, SEQ0);
	g_assert_cmphex(tr_packet_data(f.gro.items[0].pkt)[40 + 13], ==, ACK | PSH);

	/* A PSH segment on its own starts nothing either. */
	tr_gro_reset(&f.gro);
	f.used = 0;
	t.flags = ACK | PSH;
	g_assert_false(offer(&f, &t));
	t.seq += 1000;
	t.flags = ACK;
	g_assert_false(offer(&f, &t));
	g_assert_cmpuint(f.gro.n, ==, 2);
	fix_clear(&f);
}

static void
test_gro_max_len(void)
{
	Tcp t = {.version = 4, .flags = ACK, .seq = 1, .plen = 1000};
	GroFix f;

	fix_init(&f, 80);
	f.gro.max_len = 3000;
	for (int i = 0; i < 3; i++, t.seq += 1000)
		g_assert_true(offer(&f, &t) == (i == 1));
	g_assert_cmpuint(f.gro.n, ==, 2);
	g_assert_cmpuint(f.gro.items[0].pkt->len, ==, 2040);

	/* The default: what an IP length field holds. 65 segments of 1000 fit in 65535. */
	tr_gro_init(&f.gro, true);
	f.used = 0;
	t.seq = 1;
	for (int i = 0; i < 70; i++, t.seq += 1000)
		offer(&f, &t);
	g_assert_cmpuint(f.gro.n, ==, 2);
	g_assert_cmpuint(f.gro.items[0].n_segs, ==, 65);
	g_assert_cmpuint(f.gro.items[0].pkt->len, ==, 65040);
	g_assert_cmpuint(f.gro.items[1].n_segs, ==, 5);

	/* IPv6: the payload length field is the limit's, 40 header bytes less. */
	tr_gro_init(&f.gro, true);
	f.used = 0;
	t.version = 6;
	t.plen = 1495;
	for (int i = 0; i < 44; i++, t.seq += 1495)
		offer(&f, &t);
	tr_gro_finish(&f.gro);
	g_assert_cmpuint(f.gro.items[0].pkt->len, ==, 60 + 43 * 1495);
	g_assert_cmpuint(f.gro.items[0].pkt->len, <=, 65535);
	g_assert_cmpuint(pb_get16(tr_packet_data(f.gro.items[0].pkt) + 4), ==, 20 + 43 * 1495);
	g_assert_cmpuint(f.gro.n, ==, 2);
	fix_clear(&f);
}

static void
test_gro_interleaved(void)
{
	Tcp a = {.version = 4, .flags = ACK, .seq = 1, .plen = 1000, .sport = 1111};
	Tcp b = {.version = 6, .flags = ACK, .seq = 5, .plen = 700, .sport = 2222};
	Tcp c = {.version = 4, .flags = ACK, .seq = 9, .plen = 800, .sport = 3333};
	uint8_t fa[2000], fb[2000], fc[2000];
	GroFix f;

	mk_tcp(fa, &a);
	mk_tcp(fb, &b);
	mk_tcp(fc, &c);
	fix_init(&f, 16);
	for (int i = 0; i < 4; i++) {
		g_assert_true(offer(&f, &a) == (i > 0));
		g_assert_true(offer(&f, &b) == (i > 0));
		g_assert_true(offer(&f, &c) == (i > 0));
		a.seq += 1000, b.seq += 700, c.seq += 800;
	}
	g_assert_cmpuint(f.gro.n, ==, 3);
	tr_gro_finish(&f.gro);
	assert_merged(&f.gro.items[0], fa, 4, 4000, 1);
	assert_merged(&f.gro.items[1], fb, 4, 2800, 5);
	assert_merged(&f.gro.items[2], fc, 4, 3200, 9);
	fix_clear(&f);
}

static void
test_gro_passthrough(void)
{
	Tcp t = {.version = 4, .flags = ACK, .seq = 1, .plen = 1000};
	uint8_t udp[64], p[128], opt[2000], tmp[2000];
	size_t n;
	GroFix f;

	fix_init(&f, 16);
	f.gro.enabled = false;
	for (int i = 0; i < 3; i++, t.seq += 1000)
		g_assert_false(offer(&f, &t));
	g_assert_cmpuint(f.gro.n, ==, 3);
	tr_gro_finish(&f.gro);
	for (unsigned i = 0; i < 3; i++)
		g_assert_cmpuint(f.gro.items[i].gso.type, ==, TR_GSO_NONE);

	/* Enabled: what is not TCP, or has IPv4 options, passes as it is. */
	tr_gro_init(&f.gro, true);
	f.used = 0;
	n = pb_ip4(p, "198.19.0.2", "10.2.0.1", 17, true, udp, pb_udp(udp, 20));
	g_assert_false(offer_raw(&f, p, n));
	g_assert_false(offer_raw(&f, p, n));
	g_assert_false(offer_raw(&f, p, 3));
	g_assert_false(offer_raw(&f, p, 0));
	for (int i = 0; i < 2; i++, t.seq += 1000) {
		n = mk_tcp(tmp, &t);
		memcpy(opt, tmp, 20);
		memset(opt + 20, 1, 4); /* four NOP options */
		memcpy(opt + 24, tmp + 20, n - 20);
		opt[0] = 0x46;
		pb_put16(opt + 2, (uint16_t)(n + 4));
		pb_put16(opt + 10, 0);
		pb_put16(opt + 10, pb_fold(pb_sum(opt, 24, 0)));
		pb_tcp_fix(opt);
		g_assert_false(offer_raw(&f, opt, n + 4));
	}
	g_assert_cmpuint(f.gro.n, ==, 6);
	tr_gro_finish(&f.gro);
	for (unsigned i = 0; i < f.gro.n; i++)
		g_assert_cmpuint(f.gro.items[i].gso.type, ==, TR_GSO_NONE);
	g_assert_cmpmem(tr_packet_data(f.gro.items[5].pkt), n + 4, opt, n + 4);
	fix_clear(&f);
}

/* A packet whose data sits late in its buffer takes only what its tailroom holds. */
static void
test_gro_tailroom(void)
{
	Tcp t = {.version = 4, .flags = ACK, .seq = 1, .plen = 1000};
	uint8_t p[2000];
	size_t n = mk_tcp(p, &t);
	GroFix f;

	fix_init(&f, 4);
	f.ps.ptrs[0]->off = (uint32_t)(TR_PACKET_BUFSIZE - n - 999);
	memcpy(tr_packet_data(f.ps.ptrs[0]), p, n);
	f.ps.ptrs[0]->len = (uint32_t)n;
	g_assert_false(tr_gro_add(&f.gro, f.ps.ptrs[0]));
	f.used = 1;
	t.seq += 1000;
	g_assert_false(offer(&f, &t));
	g_assert_cmpuint(f.gro.n, ==, 2);
	/* One byte more room and it fits. */
	tr_gro_reset(&f.gro);
	f.ps.ptrs[0]->off--;
	memcpy(tr_packet_data(f.ps.ptrs[0]), p, n);
	g_assert_false(tr_gro_add(&f.gro, f.ps.ptrs[0]));
	g_assert_true(tr_gro_add(&f.gro, f.ps.ptrs[1]));
	g_assert_cmpuint(tr_packet_tailroom(f.ps.ptrs[0]), ==, 0);
	tr_gro_finish(&f.gro);
	assert_merged(&f.gro.items[0], p, 2, 2000, 1);
	fix_clear(&f);
}

/* A full batch takes no more items (the caller flushes first) and writes nothing past it. */
static void
test_gro_full(void)
{
	uint8_t p[64], udp[32];
	size_t n = pb_ip4(p, "198.19.0.2", "10.2.0.1", 17, true, udp, pb_udp(udp, 4));
	TrPacket *pkt = g_new(TrPacket, 1);
	TrGro gro;

	tr_gro_init(&gro, true);
	load(pkt, p, n);
	for (unsigned i = 0; i < TR_GRO_MAX; i++)
		g_assert_false(tr_gro_add(&gro, pkt));
	g_assert_cmpuint(gro.n, ==, TR_GRO_MAX);
	g_assert_false(tr_gro_add(&gro, pkt));
	g_assert_cmpuint(gro.n, ==, TR_GRO_MAX);
	g_free(pkt);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/offload/csum", test_csum_partial);
	g_test_add_func("/offload/split/tcp4", test_split_tcp4);
	g_test_add_func("/offload/split/tcp6", test_split_tcp6);
	g_test_add_func("/offload/split/one-segment", test_split_one_segment);
	g_test_add_func("/offload/split/udp", test_split_udp);
	g_test_add_func("/offload/split/none", test_split_none);
	g_test_add_func("/offload/split/hostile", test_split_hostile);
	g_test_add_func("/offload/cut/short-segments", test_cut_short_segments);
	g_test_add_func("/offload/partial/round-trip", test_partial_round_trip);
	g_test_add_func("/offload/partial/gro", test_partial_gro);
	g_test_add_func("/offload/partial/hostile", test_partial_hostile);
	g_test_add_func("/offload/gro/merge", test_gro_merge);
	g_test_add_func("/offload/gro/round-trip", test_gro_round_trip);
	for (unsigned i = 0; i < G_N_ELEMENTS(NO_MERGE); i++) {
		g_autofree char *path =
		        g_strdup_printf("/offload/gro/no-merge/%s", NO_MERGE[i].name);
		g_test_add_data_func(path, GUINT_TO_POINTER(i), test_gro_no_merge);
	}
	g_test_add_func("/offload/gro/bad-first", test_gro_bad_first);
	g_test_add_func("/offload/gro/no-reorder", test_gro_no_reorder);
	g_test_add_func("/offload/gro/short-closes", test_gro_short_closes);
	g_test_add_func("/offload/gro/psh-closes", test_gro_psh_closes);
	g_test_add_func("/offload/gro/max-len", test_gro_max_len);
	g_test_add_func("/offload/gro/interleaved", test_gro_interleaved);
	g_test_add_func("/offload/gro/passthrough", test_gro_passthrough);
	g_test_add_func("/offload/gro/tailroom", test_gro_tailroom);
	g_test_add_func("/offload/gro/full", test_gro_full);
	return g_test_run();
}
