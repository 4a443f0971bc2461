/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The packet path allocates nothing: malloc and friends are interposed and
 * counted while sessions seal and open with every cipher, compression
 * on, rekeying in between. Sealing DATA allocates only a sending lane's
 * cipher handle, at the lane's first DATA packet under each key; other packets
 * (keepalives, their answers) allocate only on a lane without a handle.
 * Sanitizer builds bring their own allocator, so there the test skips.
 */
#include "common/datapath/datachannel.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define HAVE_SANITIZER 1
#endif
#endif

#ifndef HAVE_SANITIZER
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

static volatile gsize allocations;

void *
malloc(size_t size)
{
	allocations++;
	return __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
	allocations++;
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
	allocations++;
	return __libc_realloc(p, size);
}

void *
aligned_alloc(size_t align, size_t size)
{
	allocations++;
	return __libc_memalign(align, size);
}

int
posix_memalign(void **out, size_t align, size_t size)
{
	allocations++;
	*out = __libc_memalign(align, size);
	return *out ? 0 : ENOMEM;
}

/* valgrind replaces malloc too (through LD_PRELOAD), so nothing is counted. */
static gboolean
under_valgrind(void)
{
	const char *preload = g_getenv("LD_PRELOAD");
	return preload && strstr(preload, "vgpreload");
}

static void
test_no_allocation(void)
{
	static const TrCipher ciphers[] = {TR_CIPHER_AES256_GCM, TR_CIPHER_CHACHA20_POLY1305,
	                                   TR_CIPHER_NONE};
	g_autoptr(TrCompressScratch) scratch = tr_compress_scratch_new();
	g_autofree TrPacket *pkt = g_new0(TrPacket, 1);
	uint8_t k1[TR_CIPHER_KEY_LEN] = {1}, k2[TR_CIPHER_KEY_LEN] = {2};

	if (under_valgrind()) {
		g_test_skip("valgrind replaces malloc");
		return;
	}
	for (size_t c = 0; c < G_N_ELEMENTS(ciphers); c++) {
		TrDcConfig cfg;
		g_autoptr(TrDc) a = NULL;
		g_autoptr(TrDc) b = NULL;
		gsize other_seals = 0, opens = 0;
		gboolean keyed[3] = {FALSE};

		tr_dc_config_init(&cfg);
		cfg.cipher = ciphers[c];
		cfg.allow_plaintext = TRUE;
		cfg.compress = TR_COMPRESS_LZO;
		cfg.local_index = cfg.peer_index = 7;
		cfg.lanes = 3;
		cfg.last_lane_on_demand = TRUE;
		a = tr_dc_new(&cfg, NULL);
		b = tr_dc_new(&cfg, NULL);
		g_assert_true(tr_dc_install_keys(a, 1, k1, k2, 0, NULL));
		g_assert_true(tr_dc_install_keys(b, 1, k2, k1, 0, NULL));
		g_assert_true(tr_dc_install_keys(b, 2, k2, k1, 0, NULL));
		g_assert_true(tr_dc_install_keys(a, 2, k1, k2, 0, NULL));

		/* The data plane's calls: sealing from one buffer into another on two
		 * workers' lanes (DATA, and now and then an answer to a keepalive) and the
		 * control plane's (keepalives), opening into a packet; a key switch halfway. */
		for (unsigned i = 0; i < 2000; i++) {
			static uint8_t payload[1500], wire[1500 + TR_DC_OVERHEAD];
			size_t len = 64 + i % 1400;
			unsigned lane = i % 3;
			TrDcType sent = lane == 2 || i % 5 == 0 ? TR_DC_PING : TR_DC_DATA;
			TrDcType type;
			gsize before, n_alloc;
			int n;

			if (i == 1000) {
				g_assert_true(tr_dc_activate_next(a, 0));
				memset(keyed, 0, sizeof(keyed));
			}
			memset(payload, i % 2 ? 'x' : (int)i, len);
			before = allocations;
			n = tr_dc_seal(a, lane, scratch, sent, payload, len, wire, sizeof(wire), 0);
			n_alloc = allocations - before;
			if (sent == TR_DC_DATA && !keyed[lane]) {
				/* the lane's first DATA under the key makes its handle */
				keyed[lane] = TRUE;
				g_assert_cmpuint(n_alloc, >, 0);
			} else if (sent == TR_DC_DATA || keyed[lane]) {
				other_seals += n_alloc;
			} else {
				/* no handle on the lane: one for this packet */
				g_assert_cmpuint(n_alloc, >, 0);
			}
			g_assert_cmpint(n, >, 0);
			before = allocations;
			g_assert_cmpint(tr_dc_open(b, scratch, wire, (size_t)n, pkt, &type, 0), ==,
			                0);
			opens += allocations - before;
			g_assert_cmpint(type, ==, sent);
			g_assert_cmpmem(tr_packet_data(pkt), pkt->len, payload, len);
			if (ciphers[c] == TR_CIPHER_NONE)
				continue;
			/* Forged (even i) or replayed (odd i) counters, and a bad tag. */
			wire[TR_DC_HEADER_LEN - 1] ^= 1;
			wire[n - 1] ^= 1;
			before = allocations;
			g_assert_cmpint(tr_dc_open(b, scratch, wire, (size_t)n, pkt, &type, 0), <,
			                0);
			opens += allocations - before;
		}
		g_assert_cmpuint(other_seals, ==, 0);
		g_assert_cmpuint(opens, ==, 0);
		{
			TrDcStats stats;

			tr_dc_stats_copy(b, &stats);
			g_assert_cmpuint(stats.rx_packets, ==, 2000);
		}
	}
	/* The counting works at all. */
	{
		gsize n = allocations;

		g_free(g_malloc(16));
		g_assert_cmpuint(allocations, >, n);
	}
}
#else
static void
skip_sanitizer(void)
{
	g_test_skip("sanitizers replace malloc");
}
#endif

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#ifdef HAVE_SANITIZER
	g_test_add_func("/dc/no-allocation", skip_sanitizer);
#else
	g_test_add_func("/dc/no-allocation", test_no_allocation);
#endif
	return g_test_run();
}
