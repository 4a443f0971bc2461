/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A single TCP stream's per-byte work in Trellis's own code, both ends, one
 * 64 KiB TSO super-packet at a time, as the data plane does it:
 *
 *   sender:   a copy of the super-packet (standing for the tun read), cut in
 *             place into segments (common/datapath/offload.c), each sealed
 *             into a datagram (tr_dc_seal_flags);
 *   receiver: each datagram opened into a packet (tr_dc_open), a segment left
 *             partial prepared (tr_csum_partial_prepare), offered to the
 *             coalescer (tr_gro_add), the batch finished (tr_gro_finish).
 *
 * Each with the TCP checksums computed by the sender and checked by the
 * receiver (a peer without feature 256, TR_FEATURE_CSUM_PARTIAL) and left
 * partial (both with it: docs/PROTOCOL.md, "Checksum left partial"). CPU
 * time of this thread (so other load on the machine counts less), best of
 * the rounds, the two ways alternating. No kernel work (tun, UDP) is in it:
 * this is the part of a daemon's time the data path's own code decides.
 * Not a test: it prints, asserts nothing.
 *
 *   bench-superpacket [ROUNDS]   (default 7)
 */
#include "common/datapath/datachannel.h"
#include "common/datapath/offload.h"

#include "tests/unit/pkt-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MTU  1416u                  /* the tunnel's default */
#define MSS  (MTU - 20u - 32u)      /* IPv4, TCP with timestamps */
#define SEGS 47u                    /* 47 * 1364 + 52 <= 65535 */
#define REPS 200                    /* super-packets per round and way */
#define WIRE (MTU + TR_DC_OVERHEAD) /* one datagram's room */

/* NOP, NOP, timestamps. */
static const uint8_t TS_OPTS[12] = {1, 1, 8, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0};

static int64_t
thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A super-packet as a tun device hands it out with TSO: checksum left partial. */
static size_t
make_super(uint8_t *p, TrGso *gso)
{
	static uint8_t seg[TR_PACKET_PAYLOAD_MAX];
	size_t n = pb_tcp(seg, 0x10 /* ACK */, TS_OPTS, sizeof(TS_OPTS), (size_t)SEGS * MSS);

	for (size_t i = 32; i < n; i++)
		seg[i] = (uint8_t)(i * 131u + 7u);
	n = pb_ip4(p, "198.19.0.2", "198.19.0.1", 6, true, seg, n);
	pb_put16(p + 20 + 16, (uint16_t)~pb_fold(pb_pseudo(p, (uint32_t)(n - 20), 6)));
	*gso = (TrGso){.type = TR_GSO_TCPV4,
	               .needs_csum = true,
	               .hdr_len = 20 + 32,
	               .gso_size = MSS,
	               .csum_start = 20,
	               .csum_offset = 16};
	return n;
}

typedef struct {
	TrDc *tx, *rx;
	TrGro gro;
	TrPacket *pkts[SEGS], *plain[SEGS]; /* received; the segments as sent */
	uint8_t *wire;                      /* SEGS datagrams of WIRE bytes */
	size_t wire_len[SEGS];
	uint8_t *super, *work; /* the super-packet as read, and its copy to cut */
	size_t super_len;
	TrGso gso;
} Bench;

static TrDc *
session(gboolean partial, const uint8_t *tx_key, const uint8_t *rx_key)
{
	TrDcConfig cfg;
	TrDc *dc;

	tr_dc_config_init(&cfg);
	cfg.cipher = TR_CIPHER_AES256_GCM;
	cfg.local_index = cfg.peer_index = 1;
	cfg.csum_partial = partial;
	dc = tr_dc_new(&cfg, NULL);
	if (dc == NULL || !tr_dc_install_keys(dc, 1, tx_key, rx_key, 0, NULL))
		abort();
	return dc;
}

/* Sender: ns for REPS super-packets. */
static int64_t
send_side(Bench *b, gboolean partial)
{
	int64_t t0 = thread_ns();

	for (int r = 0; r < REPS; r++) {
		TrGsoCut cut;
		uint8_t *seg;
		size_t seg_len;
		unsigned i = 0;

		memcpy(b->work, b->super, b->super_len);
		if (tr_gso_cut_begin(&cut, &b->gso, b->work, b->super_len) != (int)SEGS)
			abort();
		if (partial && !tr_gso_cut_leave_partial(&cut))
			abort();
		while ((seg = tr_gso_cut_next(&cut, &seg_len)) != NULL) {
			int n = tr_dc_seal_flags(b->tx, 0, NULL, TR_DC_DATA,
			                         partial ? TR_DC_SEAL_CSUM_PARTIAL : 0, seg,
			                         seg_len, b->wire + (size_t)i * WIRE, WIRE, 0);

			if (n < 0)
				abort();
			b->wire_len[i++] = (size_t)n;
		}
	}
	return thread_ns() - t0;
}

/* Receiver: ns for REPS super-packets (the sender's last one, sealed anew each time
 * for the replay window; the sealing is not counted). */
static int64_t
receive_side(Bench *b, gboolean partial)
{
	int64_t spent = 0;

	for (unsigned i = 0; i < SEGS; i++) {
		TrDcType type;

		if (tr_dc_open(b->rx, NULL, b->wire + (size_t)i * WIRE, b->wire_len[i], b->plain[i],
		               &type, 0) < 0)
			abort();
	}
	for (int r = 0; r < REPS; r++) {
		int64_t t0;

		for (unsigned i = 0; i < SEGS; i++) {
			int n = tr_dc_seal_flags(b->tx, 0, NULL, TR_DC_DATA,
			                         partial ? TR_DC_SEAL_CSUM_PARTIAL : 0,
			                         tr_packet_data(b->plain[i]), b->plain[i]->len,
			                         b->wire + (size_t)i * WIRE, WIRE, 0);

			if (n < 0)
				abort();
			b->wire_len[i] = (size_t)n;
		}
		t0 = thread_ns();
		for (unsigned i = 0; i < SEGS; i++) {
			TrPacket *pkt = b->pkts[i];
			TrDcType type;
			unsigned iphl;

			if (tr_dc_open(b->rx, NULL, b->wire + (size_t)i * WIRE, b->wire_len[i], pkt,
			               &type, 0) < 0)
				abort();
			if ((pkt->flags & TR_PACKET_CSUM_PARTIAL) &&
			    tr_csum_partial_prepare(tr_packet_data(pkt), pkt->len, &iphl) < 0)
				abort();
			(void)tr_gro_add(&b->gro, pkt);
		}
		tr_gro_finish(&b->gro);
		if (b->gro.n != 1 || b->gro.items[0].n_segs != SEGS)
			abort(); /* every segment merged: the checksums were right */
		tr_gro_reset(&b->gro);
		spent += thread_ns() - t0;
	}
	return spent;
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	uint8_t k1[TR_CIPHER_KEY_LEN] = {1}, k2[TR_CIPHER_KEY_LEN] = {2};
	int64_t best[2][2] = {{INT64_MAX, INT64_MAX}, {INT64_MAX, INT64_MAX}};
	Bench b[2];

	if (rounds < 1)
		rounds = 1;
	for (int p = 0; p < 2; p++) {
		b[p].tx = session(p, k1, k2);
		b[p].rx = session(p, k2, k1);
		tr_gro_init(&b[p].gro, true);
		for (unsigned i = 0; i < SEGS; i++) {
			b[p].pkts[i] = g_new(TrPacket, 1);
			b[p].plain[i] = g_new(TrPacket, 1);
		}
		b[p].wire = g_malloc((size_t)SEGS * WIRE);
		b[p].super = g_malloc(TR_PACKET_PAYLOAD_MAX);
		b[p].work = g_malloc(TR_PACKET_PAYLOAD_MAX);
		b[p].super_len = make_super(b[p].super, &b[p].gso);
	}
	for (int r = 0; r < rounds; r++) {
		for (int p = 0; p < 2; p++) {
			int64_t tx = send_side(&b[p], p), rx = receive_side(&b[p], p);

			best[p][0] = MIN(best[p][0], tx);
			best[p][1] = MIN(best[p][1], rx);
		}
	}
	printf("one TCP stream through Trellis's own code, AES-256-GCM, MTU %u: "
	       "a %zu-byte TSO super-packet of %u segments;\nthread CPU time, best of %d rounds of "
	       "%d\n",
	       MTU, b[0].super_len, SEGS, rounds, REPS);
	printf("%-34s %12s %12s %12s\n", "checksums", "sender us", "receiver us", "both Gbit/s");
	for (int p = 0; p < 2; p++) {
		double tx = (double)best[p][0] / REPS / 1000, rx = (double)best[p][1] / REPS / 1000;

		printf("%-34s %12.1f %12.1f %12.2f\n",
		       p ? "left partial (feature 256)" : "computed and checked (without)", tx, rx,
		       (double)b[p].super_len * 8 / ((tx + rx) * 1000));
	}
	printf("left partial / computed: sender %.1f %%, receiver %.1f %%\n",
	       100.0 * (double)best[1][0] / (double)best[0][0],
	       100.0 * (double)best[1][1] / (double)best[0][1]);
	for (int p = 0; p < 2; p++) {
		tr_dc_free(b[p].tx);
		tr_dc_free(b[p].rx);
		for (unsigned i = 0; i < SEGS; i++) {
			g_free(b[p].pkts[i]);
			g_free(b[p].plain[i]);
		}
		g_free(b[p].wire);
		g_free(b[p].super);
		g_free(b[p].work);
	}
	return 0;
}
