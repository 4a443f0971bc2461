/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/datachannel.h"
#include "common/base/error.h"
#include "common/datapath/replay.h"

#include <errno.h>
#include <lzo/lzo1x.h>
#include <string.h>

#define INDEX_A 0x0a0a0a0au
#define INDEX_B 0x0b0b0b0bu
#define T0      (G_GINT64_CONSTANT(1000) * G_USEC_PER_SEC)

static const uint8_t key_ab[TR_CIPHER_KEY_LEN] = {0xab, 1, 2, 3};
static const uint8_t key_ba[TR_CIPHER_KEY_LEN] = {0xba, 1, 2, 3};

/* Two ends of one session: a sends with key_ab, b with key_ba. */
typedef struct {
	TrDc *a, *b;
	TrCompressScratch *scratch;
	TrPacket pkt, copy;
} Pair;

static TrDcConfig
make_config(TrCipher cipher, TrCompress compress, uint32_t local, uint32_t peer)
{
	TrDcConfig cfg;

	tr_dc_config_init(&cfg);
	cfg.cipher = cipher;
	cfg.allow_plaintext = cipher == TR_CIPHER_NONE;
	cfg.compress = compress;
	cfg.local_index = local;
	cfg.peer_index = peer;
	return cfg;
}

static void
keys_for(uint32_t epoch, uint8_t ab[TR_CIPHER_KEY_LEN], uint8_t ba[TR_CIPHER_KEY_LEN])
{
	memcpy(ab, key_ab, TR_CIPHER_KEY_LEN);
	memcpy(ba, key_ba, TR_CIPHER_KEY_LEN);
	ab[31] = ba[31] = (uint8_t)epoch;
}

static void
install(Pair *p, TrDc *dc, uint32_t epoch, int64_t now)
{
	g_autoptr(GError) error = NULL;
	uint8_t ab[TR_CIPHER_KEY_LEN], ba[TR_CIPHER_KEY_LEN];

	keys_for(epoch, ab, ba);
	if (dc == p->a)
		g_assert_true(tr_dc_install_keys(dc, epoch, ab, ba, now, &error));
	else
		g_assert_true(tr_dc_install_keys(dc, epoch, ba, ab, now, &error));
	g_assert_no_error(error);
}

static Pair *
pair_new_cfg(const TrDcConfig *cfg_a, const TrDcConfig *cfg_b)
{
	g_autoptr(GError) error = NULL;
	Pair *p = g_new0(Pair, 1);

	p->a = tr_dc_new(cfg_a, &error);
	g_assert_no_error(error);
	p->b = tr_dc_new(cfg_b, &error);
	g_assert_no_error(error);
	p->scratch = tr_compress_scratch_new();
	install(p, p->a, 1, T0);
	install(p, p->b, 1, T0);
	return p;
}

static Pair *
pair_new(TrCipher cipher, TrCompress compress)
{
	TrDcConfig a = make_config(cipher, compress, INDEX_A, INDEX_B);
	TrDcConfig b = make_config(cipher, compress, INDEX_B, INDEX_A);

	return pair_new_cfg(&a, &b);
}

static void
pair_free(Pair *p)
{
	tr_dc_free(p->a);
	tr_dc_free(p->b);
	tr_compress_scratch_free(p->scratch);
	g_free(p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Pair, pair_free)

/* splitmix64: incompressible bytes, reproducible from @x. */
static uint8_t
noise(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (uint8_t)(x ^ (x >> 31));
}

static void
fill(TrPacket *pkt, size_t len, unsigned seed, bool compressible)
{
	tr_packet_reset(pkt);
	pkt->len = (uint32_t)len;
	for (size_t i = 0; i < len; i++)
		pkt->buf[pkt->off + i] = compressible ? (uint8_t)('a' + (i + seed) % 7)
		                                      : noise((uint64_t)seed << 32 | i);
}

/*
 * The tests keep a datagram where a receiver would read it: in a TrPacket,
 * its header in the headroom. These seal @pkt's payload into that place and
 * open it from there, through the data channel's one API (as the data plane
 * calls it: tr_dc_seal into its arena, tr_dc_open into a packet).
 */
static int
seal_pkt(TrDc *dc, TrCompressScratch *scratch, TrPacket *pkt, TrDcType type, int64_t now)
{
	static uint8_t wire[TR_PACKET_BUFSIZE];
	int n;

	if (pkt->off > TR_PACKET_BUFSIZE || pkt->len > TR_PACKET_BUFSIZE - pkt->off)
		return -EMSGSIZE;
	n = tr_dc_seal(dc, 0, scratch, type, tr_packet_data(pkt), pkt->len, wire, sizeof(wire),
	               now);
	if (n < 0)
		return n;
	pkt->off = TR_PACKET_HEADROOM - TR_DC_HEADER_LEN;
	pkt->len = (uint32_t)n;
	memcpy(tr_packet_data(pkt), wire, (size_t)n);
	return 0;
}

static int
open_pkt(TrDc *dc, TrCompressScratch *scratch, TrPacket *pkt, TrDcType *type, int64_t now)
{
	static uint8_t wire[TR_PACKET_BUFSIZE];
	size_t len = pkt->len;

	g_assert_cmpuint(len, <=, sizeof(wire));
	memcpy(wire, tr_packet_data(pkt), len);
	return tr_dc_open(dc, scratch, wire, len, pkt, type, now);
}

/* The counters of @dc, as a copy. */
static TrDcStats
dc_stats(const TrDc *dc)
{
	TrDcStats stats;

	tr_dc_stats_copy(dc, &stats);
	return stats;
}

/* Encrypts a DATA packet of @len bytes from @from into p->pkt. */
static void
send_one(Pair *p, TrDc *from, size_t len, unsigned seed, int64_t now)
{
	fill(&p->pkt, len, seed, true);
	g_assert_cmpint(seal_pkt(from, p->scratch, &p->pkt, TR_DC_DATA, now), ==, 0);
}

static int
receive(Pair *p, TrDc *to, TrPacket *pkt, int64_t now)
{
	TrDcType type;

	return open_pkt(to, p->scratch, pkt, &type, now);
}

static void
check_payload(TrPacket *pkt, size_t len, unsigned seed, bool compressible)
{
	static TrPacket expect;

	fill(&expect, len, seed, compressible);
	g_assert_cmpmem(tr_packet_data(pkt), pkt->len, tr_packet_data(&expect), len);
}

static void
roundtrip_one(Pair *p, TrCipher cipher, TrCompress z, size_t size, TrDcType type, bool compressible,
              unsigned n)
{
	TrDc *from = (n / 4) % 2 ? p->a : p->b, *to = (n / 4) % 2 ? p->b : p->a;
	size_t tag = tr_cipher_tag_len(cipher);
	TrDcType got;

	fill(&p->pkt, size, n, compressible);
	g_assert_cmpint(seal_pkt(from, p->scratch, &p->pkt, type, T0), ==, 0);
	g_assert_cmpuint(p->pkt.off, ==, TR_PACKET_HEADROOM - TR_DC_HEADER_LEN);
	if (z == TR_COMPRESS_NONE || !compressible || type != TR_DC_DATA || size < 64)
		g_assert_cmpuint(p->pkt.len, ==, size + TR_DC_HEADER_LEN + tag);
	else
		g_assert_cmpuint(p->pkt.len, <, size + TR_DC_HEADER_LEN + tag);
	g_assert_cmpint(open_pkt(to, p->scratch, &p->pkt, &got, T0), ==, 0);
	g_assert_cmpint(got, ==, type);
	check_payload(&p->pkt, size, n, compressible);
}

static void
test_roundtrip(void)
{
	static const TrCipher ciphers[] = {TR_CIPHER_AES256_GCM, TR_CIPHER_CHACHA20_POLY1305,
	                                   TR_CIPHER_NONE};
	static const size_t sizes[] = {0, 1, 64, 512, 1400, 9000, TR_PACKET_PAYLOAD_MAX};
	static const TrDcType types[] = {TR_DC_DATA,  TR_DC_PING,  TR_DC_PONG,
	                                 TR_DC_CLOSE, TR_DC_PROBE, TR_DC_PROBE_ACK};

	for (size_t c = 0; c < G_N_ELEMENTS(ciphers); c++) {
		for (TrCompress z = TR_COMPRESS_NONE; z <= TR_COMPRESS_LZO; z++) {
			g_autoptr(Pair) p = pair_new(ciphers[c], z);
			unsigned n = 0;

			for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
				for (int compressible = 0; compressible < 2; compressible++) {
					for (size_t t = 0; t < G_N_ELEMENTS(types); t++) {
						roundtrip_one(p, ciphers[c], z, sizes[s], types[t],
						              compressible, n);
						n++;
					}
				}
			}
			g_assert_cmpuint(dc_stats(p->a).rx_packets + dc_stats(p->b).rx_packets, ==,
			                 n);
			g_assert_cmpuint(dc_stats(p->a).tx_packets + dc_stats(p->b).tx_packets, ==,
			                 n);
		}
	}
}

static void
test_bitflips(void)
{
	/* Plaintext mode too: its payload is in the clear, but authenticated. */
	static const TrCipher ciphers[] = {TR_CIPHER_AES256_GCM, TR_CIPHER_CHACHA20_POLY1305,
	                                   TR_CIPHER_NONE};

	for (size_t c = 0; c < G_N_ELEMENTS(ciphers); c++) {
		g_autoptr(Pair) p = pair_new(ciphers[c], TR_COMPRESS_LZO);

		size_t body_bits;

		send_one(p, p->a, 64, 7, T0);
		body_bits = (p->pkt.len - TR_DC_HEADER_LEN) * 8;
		for (size_t bit = 0; bit < p->pkt.len * 8; bit++) {
			p->copy.off = p->pkt.off;
			p->copy.len = p->pkt.len;
			memcpy(tr_packet_data(&p->copy), tr_packet_data(&p->pkt), p->pkt.len);
			tr_packet_data(&p->copy)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			g_assert_cmpint(receive(p, p->b, &p->copy, T0), <, 0);
		}
		/* Nothing forged moved the window: the original still goes through. */
		g_assert_cmpint(receive(p, p->b, &p->pkt, T0), ==, 0);
		check_payload(&p->pkt, 64, 7, true);
		/* Every flip of ciphertext and tag, and many of the header, fail authentication. */
		g_assert_cmpuint(dc_stats(p->b).rx_drops[TR_DC_DROP_AUTH], >, body_bits);
	}
}

static void
test_truncated(void)
{
	g_autoptr(Pair) p = pair_new(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE);

	send_one(p, p->a, 100, 1, T0);
	for (uint32_t len = 0; len < p->pkt.len; len++) {
		int ret;

		p->copy.off = p->pkt.off;
		p->copy.len = len;
		memcpy(tr_packet_data(&p->copy), tr_packet_data(&p->pkt), len);
		ret = receive(p, p->b, &p->copy, T0);
		if (len < TR_DC_HEADER_LEN + TR_CIPHER_TAG_MAX)
			g_assert_cmpint(ret, ==, -EMSGSIZE);
		else
			g_assert_cmpint(ret, ==, -EBADMSG);
	}
	g_assert_cmpint(receive(p, p->b, &p->pkt, T0), ==, 0);
}

static void
test_replay(void)
{
	g_autoptr(Pair) p = pair_new(TR_CIPHER_CHACHA20_POLY1305, TR_COMPRESS_NONE);
	static TrPacket saved[100];

	/* Reordered inside the window: all 100 accepted, last first. */
	for (unsigned i = 0; i < G_N_ELEMENTS(saved); i++) {
		send_one(p, p->a, 80, i, T0);
		saved[i] = p->pkt;
	}
	for (unsigned i = G_N_ELEMENTS(saved); i-- > 0;) {
		p->copy = saved[i];
		g_assert_cmpint(receive(p, p->b, &p->copy, T0), ==, 0);
		check_payload(&p->copy, 80, i, true);
	}
	/* Duplicates. */
	p->copy = saved[50];
	g_assert_cmpint(receive(p, p->b, &p->copy, T0), ==, -EALREADY);
	/* Too old: push the window past saved[0]. */
	for (unsigned i = 0; i < TR_REPLAY_WINDOW; i++) {
		send_one(p, p->a, 10, i, T0);
		g_assert_cmpint(receive(p, p->b, &p->pkt, T0), ==, 0);
	}
	p->copy = saved[0];
	g_assert_cmpint(receive(p, p->b, &p->copy, T0), ==, -ESTALE);
	g_assert_cmpuint(dc_stats(p->b).rx_drops[TR_DC_DROP_REPLAY], ==, 1);
	g_assert_cmpuint(dc_stats(p->b).rx_drops[TR_DC_DROP_TOO_OLD], ==, 1);
	g_assert_cmpstr(tr_dc_drop_name(tr_dc_drop_from_errno(-ESTALE)), ==, "too-old");
}

static void
test_wrong_header(void)
{
	g_autoptr(Pair) p = pair_new(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE);
	TrDcConfig other = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE, INDEX_B, INDEX_A);
	g_autoptr(TrDc) c = NULL;
	uint8_t ab[TR_CIPHER_KEY_LEN], ba[TR_CIPHER_KEY_LEN];
	TrDcHeader h;

	/* Another network: same keys, different magic. */
	g_assert_true(tr_magic_parse("hash:other", &other.magic, NULL));
	c = tr_dc_new(&other, NULL);
	keys_for(1, ab, ba);
	g_assert_true(tr_dc_install_keys(c, 1, ba, ab, T0, NULL));
	send_one(p, p->a, 64, 0, T0);
	p->copy = p->pkt;
	g_assert_cmpint(receive(p, c, &p->copy, T0), ==, -ENOMSG);

	/* Peek reads the header without keys. */
	g_assert_cmpint(
	        tr_dc_peek(&tr_dc_get_config(p->b)->magic, tr_packet_data(&p->pkt), p->pkt.len, &h),
	        ==, 0);
	g_assert_cmpuint(h.receiver_index, ==, INDEX_B);
	g_assert_cmpuint(h.type, ==, TR_DC_DATA);
	g_assert_cmpuint(h.key_id, ==, 1);
	g_assert_cmpuint(h.counter, ==, 0);

	/* Unknown session index, unknown key id, bad type, reserved bits. */
	static const struct {
		size_t offset;
		uint8_t value;
		int expect;
	} cases[] = {
	        {8, 0x0c, -ESRCH},  {5, 7, -ENOKEY},    {4, 0, -EPROTO}, {4, 7, -EPROTO},
	        {6, 0x10, -EPROTO}, {6, 0x02, -EPROTO}, {7, 1, -EPROTO}, {6, 0x01, -EPROTO},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		p->copy = p->pkt;
		tr_packet_data(&p->copy)[cases[i].offset] = cases[i].value;
		g_assert_cmpint(receive(p, p->b, &p->copy, T0), ==, cases[i].expect);
	}
	g_assert_cmpuint(dc_stats(p->b).rx_drops[TR_DC_DROP_SESSION], ==, 1);
	g_assert_cmpuint(dc_stats(p->b).rx_drops[TR_DC_DROP_KEY], ==, 1);
	g_assert_cmpuint(dc_stats(p->b).rx_drops[TR_DC_DROP_HEADER], ==, 6);
	g_assert_cmpint(receive(p, p->b, &p->pkt, T0), ==, 0);
}

/*
 * The "checksum left partial" flag (TR_DC_SEAL_CSUM_PARTIAL): only for DATA,
 * only on a session that negotiated it, carried in the authenticated header
 * (flipping it fails authentication) and reported by tr_dc_open() in the
 * packet's flags; refused as a bad header by a session that did not.
 */
static void
test_csum_partial(void)
{
	for (int z = 0; z < 2; z++) {
		TrCompress comp = z ? TR_COMPRESS_LZO : TR_COMPRESS_NONE;
		TrDcConfig a = make_config(TR_CIPHER_AES256_GCM, comp, INDEX_A, INDEX_B);
		TrDcConfig b = make_config(TR_CIPHER_AES256_GCM, comp, INDEX_B, INDEX_A);
		static uint8_t wire[TR_PACKET_BUFSIZE];
		g_autoptr(Pair) p = NULL;
		g_autoptr(Pair) old = NULL;
		TrDcType type;
		int n;

		a.csum_partial = b.csum_partial = TRUE;
		p = pair_new_cfg(&a, &b);
		old = pair_new(TR_CIPHER_AES256_GCM, comp);

		for (int flagged = 0; flagged < 2; flagged++) {
			fill(&p->pkt, 1400, 7, z == 1);
			n = tr_dc_seal_flags(p->a, 0, p->scratch, TR_DC_DATA,
			                     flagged ? TR_DC_SEAL_CSUM_PARTIAL : 0,
			                     tr_packet_data(&p->pkt), p->pkt.len, wire,
			                     sizeof(wire), T0);
			g_assert_cmpint(n, >, 0);
			g_assert_cmphex(wire[6] & 0xf0, ==, flagged ? 0x10 : 0);
			/* The flag is authenticated: flipped, the datagram is refused. */
			wire[6] ^= 0x10;
			g_assert_cmpint(
			        tr_dc_open(p->b, p->scratch, wire, (size_t)n, &p->copy, &type, T0),
			        ==, -EBADMSG);
			wire[6] ^= 0x10;
			p->copy.flags = 0xff00;
			g_assert_cmpint(
			        tr_dc_open(p->b, p->scratch, wire, (size_t)n, &p->copy, &type, T0),
			        ==, 0);
			g_assert_cmpuint(type, ==, TR_DC_DATA);
			g_assert_cmpuint(p->copy.flags, ==, flagged ? TR_PACKET_CSUM_PARTIAL : 0);
			check_payload(&p->copy, 1400, 7, z == 1);
		}

		/* Sealing: DATA only, negotiated only, known flags only. */
		g_assert_cmpint(tr_dc_seal_flags(p->a, 0, NULL, TR_DC_PING, TR_DC_SEAL_CSUM_PARTIAL,
		                                 wire, 8, wire + 64, sizeof(wire) - 64, T0),
		                ==, -EINVAL);
		g_assert_cmpint(tr_dc_seal_flags(p->a, 0, NULL, TR_DC_DATA, 2, wire, 8, wire + 64,
		                                 sizeof(wire) - 64, T0),
		                ==, -EINVAL);
		g_assert_cmpint(tr_dc_seal_flags(old->a, 0, NULL, TR_DC_DATA,
		                                 TR_DC_SEAL_CSUM_PARTIAL, wire, 8, wire + 64,
		                                 sizeof(wire) - 64, T0),
		                ==, -EINVAL);

		/* A session that did not negotiate it takes no flagged packet ... */
		fill(&p->pkt, 100, 1, false);
		n = tr_dc_seal_flags(p->a, 0, NULL, TR_DC_DATA, TR_DC_SEAL_CSUM_PARTIAL,
		                     tr_packet_data(&p->pkt), p->pkt.len, wire, sizeof(wire), T0);
		g_assert_cmpint(n, >, 0);
		g_assert_cmpint(tr_dc_open(old->b, NULL, wire, (size_t)n, &p->copy, &type, T0), ==,
		                -EPROTO);
		g_assert_cmpuint(dc_stats(old->b).rx_drops[TR_DC_DROP_HEADER], ==, 1);
		/* ... and a flag on another type is a bad header even where negotiated. */
		n = tr_dc_seal(p->a, 0, NULL, TR_DC_PING, tr_packet_data(&p->pkt), 8, wire,
		               sizeof(wire), T0);
		g_assert_cmpint(n, >, 0);
		wire[6] |= 0x10;
		g_assert_cmpint(tr_dc_open(p->b, NULL, wire, (size_t)n, &p->copy, &type, T0), ==,
		                -EPROTO);
	}
}

static void
test_encrypt_errors(void)
{
	g_autoptr(Pair) p = pair_new(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE);
	TrDcConfig cfg = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE, 1, 2);
	g_autoptr(TrDc) nokeys = tr_dc_new(&cfg, NULL);

	static uint8_t payload[TR_PACKET_PAYLOAD_MAX + 1], wire[TR_PACKET_BUFSIZE];
	const size_t tag = tr_cipher_tag_len(TR_CIPHER_AES256_GCM);

	g_assert_cmpint(
	        tr_dc_seal(nokeys, 0, NULL, TR_DC_DATA, payload, 10, wire, sizeof(wire), T0), ==,
	        -ENOKEY);
	g_assert_cmpint(tr_dc_seal(p->a, 0, NULL, 0, payload, 10, wire, sizeof(wire), T0), ==,
	                -EINVAL);
	g_assert_cmpint(
	        tr_dc_seal(p->a, 0, NULL, TR_DC_TYPE_MAX + 1, payload, 10, wire, sizeof(wire), T0),
	        ==, -EINVAL);
	g_assert_cmpint(tr_dc_seal(p->a, 1, NULL, TR_DC_DATA, payload, 10, wire, sizeof(wire), T0),
	                ==, -EINVAL); /* one lane */
	/* Room for the header and the payload, not the tag. */
	g_assert_cmpint(tr_dc_seal(p->a, 0, NULL, TR_DC_DATA, payload, 10, wire,
	                           TR_DC_HEADER_LEN + 10 + tag - 1, T0),
	                ==, -ENOBUFS);
	g_assert_cmpint(tr_dc_seal(p->a, 0, NULL, TR_DC_DATA, payload, TR_PACKET_PAYLOAD_MAX + 1,
	                           wire, sizeof(wire), T0),
	                ==, -EMSGSIZE);
	g_assert_cmpuint(dc_stats(p->a).tx_refused, ==, 5);
	g_assert_cmpuint(dc_stats(p->a).tx_packets, ==, 0);
}

static void
test_config(void)
{
	TrDcConfig cfg = make_config(TR_CIPHER_NONE, TR_COMPRESS_NONE, 1, 2);
	g_autoptr(GError) error = NULL;
	g_autoptr(TrDc) dc = NULL;

	cfg.allow_plaintext = FALSE;
	dc = tr_dc_new(&cfg, &error);
	g_assert_null(dc);
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	g_clear_error(&error);

	cfg = make_config(TR_CIPHER_AES256_GCM, (TrCompress)9, 1, 2);
	g_assert_null(tr_dc_new(&cfg, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	g_clear_error(&error);

	cfg = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE, 1, 2);
	cfg.reject_after_packets = TR_DC_COUNTER_MAX + 1;
	g_assert_null(tr_dc_new(&cfg, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	g_clear_error(&error);

	/* Zero limits mean the defaults. */
	cfg = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE, 1, 2);
	cfg.rekey_after_packets = cfg.reject_after_packets = 0;
	cfg.rekey_after_usec = cfg.reject_after_usec = 0;
	dc = tr_dc_new(&cfg, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(tr_dc_get_config(dc)->reject_after_packets, ==,
	                 TR_DC_REJECT_AFTER_PACKETS);
	g_assert_cmpint(tr_dc_get_config(dc)->rekey_after_usec, ==, TR_DC_REKEY_AFTER_USEC);
}

static void
test_compress_negotiation(void)
{
	TrDcConfig a = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_LZO, INDEX_A, INDEX_B);
	TrDcConfig b = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE, INDEX_B, INDEX_A);
	g_autoptr(Pair) p = pair_new_cfg(&a, &b);

	/* b never agreed to compression: a compressed packet is refused unopened. */
	send_one(p, p->a, 1000, 0, T0);
	g_assert_cmpint(receive(p, p->b, &p->pkt, T0), ==, -EPROTO);
	/* Without scratch, a sends uncompressed, which b takes. */
	fill(&p->pkt, 1000, 0, true);
	g_assert_cmpint(seal_pkt(p->a, NULL, &p->pkt, TR_DC_DATA, T0), ==, 0);
	g_assert_cmpint(receive(p, p->b, &p->pkt, T0), ==, 0);
	check_payload(&p->pkt, 1000, 0, true);
}

static size_t
send_len(Pair *p, TrDc *from, bool compressible)
{
	fill(&p->pkt, 1000, 3, compressible);
	g_assert_cmpint(seal_pkt(from, p->scratch, &p->pkt, TR_DC_DATA, T0), ==, 0);
	g_assert_cmpint(receive(p, p->b, &p->pkt, T0), ==, 0);
	check_payload(&p->pkt, 1000, 3, compressible);
	return dc_stats(from).tx_compressed;
}

static void
test_compress_adaptive(void)
{
	TrDcConfig a = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_LZO, INDEX_A, INDEX_B);
	TrDcConfig b = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_LZO, INDEX_B, INDEX_A);
	g_autoptr(Pair) p = pair_new_cfg(&a, &b);
	size_t compressed;

	g_assert_cmpuint(send_len(p, p->a, true), ==, 1);
	/* A run of incompressible packets makes the sender stop trying ... */
	for (int i = 0; i < 8; i++)
		send_len(p, p->a, false);
	g_assert_cmpuint(send_len(p, p->a, true), ==, 1);
	/* ... for 512 packets in all, then it tries again. */
	for (int i = 0; i < 510; i++)
		send_len(p, p->a, false);
	g_assert_cmpuint(send_len(p, p->a, true), ==, 1); /* the 512th */
	g_assert_cmpuint(send_len(p, p->a, true), ==, 2);

	/* Not adaptive: it always tries. */
	tr_dc_free(p->a);
	a.compress_adaptive = FALSE;
	p->a = tr_dc_new(&a, NULL);
	install(p, p->a, 1, T0);
	tr_dc_free(p->b);
	p->b = tr_dc_new(&b, NULL);
	install(p, p->b, 1, T0);
	for (int i = 0; i < 20; i++)
		send_len(p, p->a, false);
	compressed = send_len(p, p->a, true);
	g_assert_cmpuint(compressed, ==, 1);
	g_assert_cmpuint(dc_stats(p->b).rx_compressed, ==, 1);
}

/* A peer holding the keys can still send a decompression bomb: it is capped. */
static void
test_decompress_bomb(void)
{
	g_autoptr(Pair) p = pair_new(TR_CIPHER_AES256_GCM, TR_COMPRESS_LZO);
	size_t big = 100000;
	g_autofree uint8_t *zeros = g_malloc0(big);
	g_autofree uint8_t *work = g_malloc(LZO1X_1_MEM_COMPRESS);
	uint8_t ab[TR_CIPHER_KEY_LEN], ba[TR_CIPHER_KEY_LEN];
	g_autoptr(TrAead) aead = NULL;
	lzo_uint packed_len = sizeof(p->pkt.buf) - TR_PACKET_HEADROOM;
	uint8_t *hdr;
	static const uint8_t header[TR_DC_HEADER_LEN] = {0x74, 0x72, 0x6c, 0x01, 1,    1, 1,
	                                                 0,    0x0b, 0x0b, 0x0b, 0x0b, 0};

	keys_for(1, ab, ba);
	aead = tr_aead_new(TR_CIPHER_AES256_GCM, ab, NULL);
	tr_packet_reset(&p->pkt);
	g_assert_cmpint(lzo1x_1_compress(zeros, big, tr_packet_data(&p->pkt), &packed_len, work),
	                ==, LZO_E_OK);
	hdr = tr_packet_data(&p->pkt) - TR_DC_HEADER_LEN;
	memcpy(hdr, header, sizeof(header));
	g_assert_cmpint(
	        tr_aead_seal(aead, 0, hdr, TR_DC_HEADER_LEN, tr_packet_data(&p->pkt), packed_len),
	        ==, 0);
	p->pkt.off -= TR_DC_HEADER_LEN;
	p->pkt.len = (uint32_t)(packed_len + TR_DC_HEADER_LEN + TR_CIPHER_TAG_MAX);
	p->copy = p->pkt;
	g_assert_cmpint(receive(p, p->b, &p->pkt, T0), ==, -EILSEQ);
	g_assert_cmpuint(dc_stats(p->b).rx_drops[TR_DC_DROP_DECOMPRESS], ==, 1);
	/* It was authentic, so its counter is used up. */
	g_assert_cmpint(receive(p, p->b, &p->copy, T0), ==, -EALREADY);
}

/* The test vectors of docs/PROTOCOL.md, computed independently (Python cryptography). */
static const struct {
	TrCipher cipher;
	TrDcType type;
	uint64_t counter;
	const char *payload;
	const char *wire;
} vectors[] = {
        {TR_CIPHER_AES256_GCM, TR_DC_DATA, 0, "trellis data channel",
         "74726c0101010000010203040000000000000000"
         "7aced0b2d945f09d6cc9dd54384ff9f8bc2d333f"
         "08308fab4402b5696b954a449c4559c9"},
        {TR_CIPHER_CHACHA20_POLY1305, TR_DC_DATA, 0x0102, "trellis data channel",
         "74726c0101010000010203040000000000000102"
         "f74aa768486407568a6d617f698c0582b32ef105"
         "534f806ee85b4f6f65256c0903afe11d"},
        {TR_CIPHER_NONE, TR_DC_PING, 1, "ping",
         "74726c010201000001020304000000000000000170696e67"
         "fc1a8fafbea8ce1d50e7c6310f268d8a"},
};

static void
test_vectors(void)
{
	uint8_t key[TR_CIPHER_KEY_LEN];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (size_t v = 0; v < G_N_ELEMENTS(vectors); v++) {
		TrDcConfig cfg =
		        make_config(vectors[v].cipher, TR_COMPRESS_NONE, 0x01020304, 0x01020304);
		g_autoptr(TrDc) dc = tr_dc_new(&cfg, NULL);
		g_autoptr(TrCompressScratch) scratch = tr_compress_scratch_new();
		g_autofree TrPacket *pkt = g_new0(TrPacket, 1);
		g_autofree char *hex = NULL;
		size_t len = strlen(vectors[v].payload);
		TrDcType type;

		/* Sending to ourselves: tx and rx key are the vector's key. */
		g_assert_true(tr_dc_install_keys(dc, 1, key, key, T0, NULL));
		for (uint64_t c = 0; c <= vectors[v].counter; c++) {
			tr_packet_reset(pkt);
			memcpy(tr_packet_data(pkt), vectors[v].payload, len);
			pkt->len = (uint32_t)len;
			g_assert_cmpint(seal_pkt(dc, scratch, pkt, vectors[v].type, T0), ==, 0);
		}
		hex = g_malloc0(pkt->len * 2 + 1);
		for (size_t i = 0; i < pkt->len; i++)
			g_snprintf(hex + 2 * i, 3, "%02x", tr_packet_data(pkt)[i]);
		g_assert_cmpstr(hex, ==, vectors[v].wire);
		g_assert_cmpint(open_pkt(dc, scratch, pkt, &type, T0), ==, 0);
		g_assert_cmpint(type, ==, vectors[v].type);
		g_assert_cmpmem(tr_packet_data(pkt), pkt->len, vectors[v].payload, len);
	}
}

/* ---- Rekeying ---------------------------------------------------------------- */

/* A lossless network that delays and reorders: datagrams wait in a queue. */
#define WIRE_MAX 128
typedef struct {
	uint8_t bytes[WIRE_MAX];
	uint32_t len;
	unsigned age;
} Datagram;

typedef struct {
	Datagram q[64];
	unsigned n;
} Wire;

static void
wire_put(Wire *w, const TrPacket *pkt)
{
	g_assert_cmpuint(w->n, <, G_N_ELEMENTS(w->q));
	g_assert_cmpuint(pkt->len, <=, WIRE_MAX);
	memcpy(w->q[w->n].bytes, pkt->buf + pkt->off, pkt->len);
	w->q[w->n].len = pkt->len;
	w->q[w->n].age = 0;
	w->n++;
}

/* Delivers some datagrams, in random order; every one within 8 steps. */
static void
wire_deliver(Pair *p, Wire *w, TrDc *to, GRand *rand, bool all, int64_t now, bool *seen,
             unsigned nseen)
{
	for (unsigned i = 0; i < w->n;) {
		Datagram *d = &w->q[i];

		if (all || d->age++ >= 8 || g_rand_int_range(rand, 0, 3) == 0) {
			uint32_t seq;

			p->copy.off = TR_PACKET_HEADROOM - TR_DC_HEADER_LEN;
			p->copy.len = d->len;
			memcpy(tr_packet_data(&p->copy), d->bytes, d->len);
			g_assert_cmpint(receive(p, to, &p->copy, now), ==, 0);
			g_assert_cmpuint(p->copy.len, ==, sizeof(seq));
			memcpy(&seq, tr_packet_data(&p->copy), sizeof(seq));
			g_assert_cmpuint(seq, <, nseen);
			g_assert_false(seen[seq]);
			seen[seq] = true;
			*d = w->q[--w->n];
		} else {
			i++;
		}
	}
}

static void
send_seq(Pair *p, TrDc *from, Wire *w, uint32_t seq, int64_t now)
{
	tr_packet_reset(&p->pkt);
	memcpy(tr_packet_data(&p->pkt), &seq, sizeof(seq));
	p->pkt.len = sizeof(seq);
	g_assert_cmpint(seal_pkt(from, p->scratch, &p->pkt, TR_DC_DATA, now), ==, 0);
	wire_put(w, &p->pkt);
}

/*
 * Traffic both ways while keys rotate twice: the responder (b) installs
 * first, the initiator (a) installs and switches when b confirms. The first
 * time b switches on a's first packet under the new key, the second time on
 * its control plane's word. Not one packet may be lost.
 */
static void
test_rotation_under_traffic(void)
{
	g_autoptr(Pair) p = pair_new(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE);
	g_autoptr(GRand) rand = g_rand_new_with_seed(42);
	enum { STEPS = 1000 };
	static bool seen_ab[STEPS], seen_ba[STEPS];
	static Wire ab, ba;
	int64_t now = T0;
	uint32_t epoch;

	for (uint32_t step = 0; step < STEPS; step++, now += 10000) {
		if (step == 300 || step == 600)
			install(p, p->b, step / 300 + 1, now);
		if (step == 310 || step == 610) {
			install(p, p->a, step / 300 + 1, now);
			g_assert_true(tr_dc_activate_next(p->a, now));
		}
		if (step == 320)
			g_assert_true(tr_dc_current_epoch(p->b, &epoch) && epoch == 2);
		if (step == 610) /* b's control plane hears of it before any epoch-3 packet */
			g_assert_true(tr_dc_activate_next(p->b, now));
		send_seq(p, p->a, &ab, step, now);
		send_seq(p, p->b, &ba, step, now);
		wire_deliver(p, &ab, p->b, rand, false, now, seen_ab, STEPS);
		wire_deliver(p, &ba, p->a, rand, false, now, seen_ba, STEPS);
	}
	wire_deliver(p, &ab, p->b, rand, true, now, seen_ab, STEPS);
	wire_deliver(p, &ba, p->a, rand, true, now, seen_ba, STEPS);
	for (unsigned i = 0; i < STEPS; i++)
		g_assert_true(seen_ab[i] && seen_ba[i]);
	g_assert_true(tr_dc_current_epoch(p->a, &epoch) && epoch == 3);
	g_assert_true(tr_dc_current_epoch(p->b, &epoch) && epoch == 3);
	g_assert_cmpuint(dc_stats(p->a).key_activations, ==, 2);
	g_assert_cmpuint(dc_stats(p->b).key_activations, ==, 2);
	g_assert_cmpuint(dc_stats(p->b).rx_packets, ==, STEPS);
}

static void
test_grace_period(void)
{
	g_autoptr(Pair) p = pair_new(TR_CIPHER_CHACHA20_POLY1305, TR_COMPRESS_NONE);
	int64_t now = T0;
	uint32_t epoch;

	send_one(p, p->b, 64, 1, now);
	p->copy = p->pkt; /* b to a, in flight under epoch 1 */
	install(p, p->b, 2, now);
	install(p, p->a, 2, now);
	g_assert_true(tr_dc_activate_next(p->a, now));
	g_assert_false(tr_dc_activate_next(p->a, now));
	g_assert_true(tr_dc_current_epoch(p->b, &epoch) && epoch == 1);
	/* a's first packet under epoch 2 switches b. */
	send_one(p, p->a, 64, 2, now);
	g_assert_cmpint(receive(p, p->b, &p->pkt, now), ==, 0);
	g_assert_true(tr_dc_current_epoch(p->b, &epoch) && epoch == 2);
	send_one(p, p->b, 64, 3, now);
	g_assert_cmpint(receive(p, p->a, &p->pkt, now), ==, 0);
	/* The late epoch-1 packet still opens during a's grace period. */
	p->pkt = p->copy;
	g_assert_cmpint(receive(p, p->a, &p->pkt, now + TR_DC_KEY_GRACE_USEC - 1), ==, 0);
	check_payload(&p->pkt, 64, 1, true);
}

static void
test_grace_expiry(void)
{
	g_autoptr(Pair) p = pair_new(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE);
	int64_t now = T0;

	send_one(p, p->a, 64, 1, now);
	p->copy = p->pkt;
	install(p, p->b, 2, now);
	g_assert_true(tr_dc_activate_next(p->b, now));
	/* Inside the grace period the old key opens packets in flight ... */
	p->pkt = p->copy;
	g_assert_cmpint(receive(p, p->b, &p->pkt, now + TR_DC_KEY_GRACE_USEC - 1), ==, 0);
	send_one(p, p->a, 64, 2, now);
	p->copy = p->pkt;
	/* ... after it, not any more, with or without housekeeping. */
	g_assert_cmpint(receive(p, p->b, &p->pkt, now + TR_DC_KEY_GRACE_USEC), ==, -ENOKEY);
	tr_dc_expire(p->b, now + TR_DC_KEY_GRACE_USEC);
	p->pkt = p->copy;
	g_assert_cmpint(receive(p, p->b, &p->pkt, now + TR_DC_KEY_GRACE_USEC), ==, -ENOKEY);
}

/* Seals on @lane of @from and opens at @to. */
static void
lane_roundtrip(Pair *p, TrDc *from, TrDc *to, unsigned lane, unsigned seed, int64_t now)
{
	static uint8_t wire[TR_PACKET_BUFSIZE];
	TrDcType type;
	int n;

	fill(&p->copy, 200, seed, false);
	n = tr_dc_seal(from, lane, p->scratch, TR_DC_DATA, tr_packet_data(&p->copy), p->copy.len,
	               wire, sizeof(wire), now);
	g_assert_cmpint(n, >, 0);
	g_assert_cmpint(tr_dc_open(to, p->scratch, wire, (size_t)n, &p->pkt, &type, now), ==, 0);
	check_payload(&p->pkt, 200, seed, false);
}

/* last_lane_on_demand: the control plane's lane seals with a handle made per packet,
 * under the current key, while the other lanes keep theirs. */
static void
test_lane_on_demand(void)
{
	TrDcConfig ca = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE, INDEX_A, INDEX_B);
	TrDcConfig cb = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE, INDEX_B, INDEX_A);
	g_autoptr(Pair) p = NULL;
	int64_t now = T0;

	ca.lanes = 3;
	ca.last_lane_on_demand = TRUE;
	p = pair_new_cfg(&ca, &cb);
	lane_roundtrip(p, p->a, p->b, 0, 1, now);
	lane_roundtrip(p, p->a, p->b, 2, 2, now);
	lane_roundtrip(p, p->a, p->b, 2, 3, now + 1);
	lane_roundtrip(p, p->a, p->b, 2, 4, now + 2);
	lane_roundtrip(p, p->a, p->b, 1, 5, now);
	/* Under the next key: made from that key. */
	install(p, p->a, 2, now);
	install(p, p->b, 2, now);
	g_assert_true(tr_dc_activate_next(p->a, now));
	lane_roundtrip(p, p->a, p->b, 2, 6, now + 3);
	lane_roundtrip(p, p->a, p->b, 0, 7, now + 3);
	g_assert_cmpuint(dc_stats(p->a).tx_packets, ==, 7);
}

static void
test_install_rules(void)
{
	g_autoptr(Pair) p = pair_new(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE);
	uint8_t k[TR_CIPHER_KEY_LEN] = {0};
	g_autoptr(GError) error = NULL;
	uint32_t epoch;

	g_assert_false(tr_dc_install_keys(p->a, 1, k, k, T0, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_false(tr_dc_install_keys(p->a, 257, k, k, T0, &error)); /* same key id */
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	/* A next key not yet used may be replaced by a newer one. */
	install(p, p->a, 2, T0);
	install(p, p->a, 3, T0);
	g_assert_false(tr_dc_wants_rekey(p->a, T0 + TR_DC_REKEY_AFTER_USEC));
	g_assert_true(tr_dc_activate_next(p->a, T0));
	g_assert_true(tr_dc_current_epoch(p->a, &epoch));
	g_assert_cmpuint(epoch, ==, 3);
	g_assert_cmpuint(dc_stats(p->a).key_installs, ==, 3);
}

static void
test_counter_limit(void)
{
	TrDcConfig a = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE, INDEX_A, INDEX_B);
	TrDcConfig b = make_config(TR_CIPHER_AES256_GCM, TR_COMPRESS_NONE, INDEX_B, INDEX_A);
	g_autoptr(Pair) p = NULL;

	a.rekey_after_packets = 5;
	a.reject_after_packets = 10;
	a.rekey_after_usec = G_USEC_PER_SEC;
	a.reject_after_usec = 2 * G_USEC_PER_SEC;
	p = pair_new_cfg(&a, &b);

	for (int i = 0; i < 10; i++) {
		g_assert_cmpint(tr_dc_wants_rekey(p->a, T0), ==, i >= 5);
		send_one(p, p->a, 64, (unsigned)i, T0);
		g_assert_cmpint(receive(p, p->b, &p->pkt, T0), ==, 0);
	}
	fill(&p->pkt, 64, 0, true);
	g_assert_cmpint(seal_pkt(p->a, NULL, &p->pkt, TR_DC_DATA, T0), ==, -EKEYEXPIRED);
	install(p, p->b, 2, T0);
	install(p, p->a, 2, T0);
	g_assert_false(tr_dc_wants_rekey(p->a, T0)); /* one is under way */
	g_assert_true(tr_dc_activate_next(p->a, T0));
	g_assert_false(tr_dc_wants_rekey(p->a, T0));
	send_one(p, p->a, 64, 0, T0);
	g_assert_cmpint(receive(p, p->b, &p->pkt, T0), ==, 0);

	/* Age: soft after one second, hard after two. */
	g_assert_true(tr_dc_wants_rekey(p->a, T0 + G_USEC_PER_SEC));
	send_one(p, p->a, 64, 0, T0 + 2 * G_USEC_PER_SEC - 1);
	fill(&p->pkt, 64, 0, true);
	g_assert_cmpint(seal_pkt(p->a, NULL, &p->pkt, TR_DC_DATA, T0 + 2 * G_USEC_PER_SEC), ==,
	                -EKEYEXPIRED);
	g_assert_cmpuint(dc_stats(p->a).tx_refused, ==, 2);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dc/roundtrip", test_roundtrip);
	g_test_add_func("/dc/bitflips", test_bitflips);
	g_test_add_func("/dc/truncated", test_truncated);
	g_test_add_func("/dc/replay", test_replay);
	g_test_add_func("/dc/wrong-header", test_wrong_header);
	g_test_add_func("/dc/csum-partial", test_csum_partial);
	g_test_add_func("/dc/encrypt-errors", test_encrypt_errors);
	g_test_add_func("/dc/config", test_config);
	g_test_add_func("/dc/compress-negotiation", test_compress_negotiation);
	g_test_add_func("/dc/compress-adaptive", test_compress_adaptive);
	g_test_add_func("/dc/decompress-bomb", test_decompress_bomb);
	g_test_add_func("/dc/vectors", test_vectors);
	g_test_add_func("/dc/rekey/rotation-under-traffic", test_rotation_under_traffic);
	g_test_add_func("/dc/rekey/grace-period", test_grace_period);
	g_test_add_func("/dc/rekey/grace-expiry", test_grace_expiry);
	g_test_add_func("/dc/lane-on-demand", test_lane_on_demand);
	g_test_add_func("/dc/rekey/install-rules", test_install_rules);
	g_test_add_func("/dc/rekey/counter-limit", test_counter_limit);
	return g_test_run();
}
