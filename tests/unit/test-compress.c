/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/compress.h"
#include "common/datapath/packet.h"

#include <errno.h>
#include <lzo/lzo1x.h>
#include <string.h>

static void
fill_text(uint8_t *buf, size_t len)
{
	static const char text[] = "GET /index.html HTTP/1.1\r\nHost: trellis.example\r\n";

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)text[i % (sizeof(text) - 1)];
}

static void
test_compress_roundtrip(void)
{
	g_autoptr(TrCompressScratch) s = tr_compress_scratch_new();
	g_autoptr(TrCompressScratch) d = tr_compress_scratch_new();
	static uint8_t in[TR_PACKET_PAYLOAD_MAX], copy[TR_PACKET_PAYLOAD_MAX];
	static const size_t sizes[] = {200, 512, 1400, 9000, TR_PACKET_PAYLOAD_MAX};

	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		const uint8_t *out, *back;
		ssize_t n, m;

		fill_text(in, sizes[i]);
		n = tr_compress(TR_COMPRESS_LZO, s, in, sizes[i], &out);
		g_assert_cmpint(n, >, 0);
		g_assert_cmpint(n, <, (ssize_t)sizes[i]);
		memcpy(copy, out, (size_t)n);
		m = tr_decompress(TR_COMPRESS_LZO, d, copy, (size_t)n, sizes[i], &back);
		g_assert_cmpint(m, ==, (ssize_t)sizes[i]);
		g_assert_cmpmem(back, (size_t)m, in, sizes[i]);
		/* One byte less room than needed: refused, never written past. */
		g_assert_cmpint(
		        tr_decompress(TR_COMPRESS_LZO, d, copy, (size_t)n, sizes[i] - 1, &back), ==,
		        -EILSEQ);
	}
	g_assert_cmpint(tr_compress(TR_COMPRESS_LZO, s, in, TR_PACKET_PAYLOAD_MAX + 1,
	                            &(const uint8_t *){NULL}),
	                ==, -EMSGSIZE);
	g_assert_cmpint(tr_compress(TR_COMPRESS_NONE, s, in, 10, &(const uint8_t *){NULL}), ==,
	                -EINVAL);
}

static void
test_compress_incompressible(void)
{
	g_autoptr(TrCompressScratch) s = tr_compress_scratch_new();
	g_autoptr(GRand) rand = g_rand_new_with_seed(1);
	uint8_t in[1400];
	const uint8_t *out;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)g_rand_int(rand);
	g_assert_cmpint(tr_compress(TR_COMPRESS_LZO, s, in, sizeof(in), &out), ==, 0);
}

/* A bomb: 1 MB of zeros compresses to a few KB; the cap stops it. */
static void
test_decompress_bounded(void)
{
	g_autoptr(TrCompressScratch) s = tr_compress_scratch_new();
	size_t big = 1 << 20;
	g_autofree uint8_t *zeros = g_malloc0(big);
	g_autofree uint8_t *packed = g_malloc(big + big / 16 + 64 + 3);
	g_autofree uint8_t *work = g_malloc(LZO1X_1_MEM_COMPRESS);
	lzo_uint packed_len = big + big / 16 + 64 + 3;
	const uint8_t *out;

	g_assert_cmpint(lzo_init(), ==, LZO_E_OK);
	g_assert_cmpint(lzo1x_1_compress(zeros, big, packed, &packed_len, work), ==, LZO_E_OK);
	g_assert_cmpuint(packed_len, <, 8192);
	g_assert_cmpint(tr_decompress(TR_COMPRESS_LZO, s, packed, packed_len, big, &out), ==,
	                -EILSEQ);
	/* Garbage and truncations are refused, not crashed on. */
	for (size_t len = 0; len < packed_len; len += 7)
		g_assert_cmpint(
		        tr_decompress(TR_COMPRESS_LZO, s, packed, len, TR_PACKET_PAYLOAD_MAX, &out),
		        <, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/compress/roundtrip", test_compress_roundtrip);
	g_test_add_func("/compress/incompressible", test_compress_incompressible);
	g_test_add_func("/compress/decompress-bounded", test_decompress_bounded);
	return g_test_run();
}
