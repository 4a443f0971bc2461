/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Data-channel throughput: encrypt + decrypt of 64-, 512- and 1400-byte
 * packets per cipher, with and without compression, beside the raw AEAD speed
 * of the library the data channel uses for that cipher (seal + open of the
 * same sizes through the library directly) measured in the same run. Then
 * the candidate libraries side by side on 1408-byte records: GnuTLS,
 * OpenSSL's libcrypto (EVP), libsodium and libgcrypt, each where the build
 * found it.
 * Not a test: it prints, asserts nothing.
 *
 *   bench-datachannel [SECONDS-PER-CASE]   (default 0.3)
 */
#include "common/datapath/datachannel.h"

#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef TR_BENCH_OPENSSL
#include <openssl/crypto.h>
#include <openssl/evp.h>
#endif
#ifdef TR_BENCH_SODIUM
#include <sodium.h>
#endif
#ifdef TR_BENCH_GCRYPT
#include <gcrypt.h>
#endif

static const size_t sizes[] = {64, 512, 1400};

typedef struct {
	TrCipher cipher;
	size_t size;
	gboolean compressible;
} Case;

/* Text that LZO halves, or random bytes (xorshift64) that it cannot shrink. */
static void
fill(uint8_t *p, size_t len, gboolean compressible, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = compressible ? (uint8_t) "tunnel traffic "[i % 15] : (uint8_t)(x >> 32);
	}
}

typedef enum {
	LIB_GNUTLS,
	LIB_OPENSSL,
	LIB_SODIUM,
	LIB_GCRYPT,
} Lib;

static const char *const lib_names[] = {"gnutls", "openssl", "libsodium", "libgcrypt"};

/* The library behind tr_aead for @cipher in this build. */
static Lib
lib_in_use(TrCipher cipher)
{
	return g_str_has_prefix(tr_cipher_implementation(cipher), "OpenSSL") ? LIB_OPENSSL
	                                                                     : LIB_GNUTLS;
}

/*
 * One seal and one open of @size bytes in place with nonce @n through @lib
 * directly (@state: that library's context). FALSE if it refused.
 */
typedef struct {
	Lib lib;
	TrCipher cipher;
	uint8_t key[32];
	gnutls_aead_cipher_hd_t gnutls;
#ifdef TR_BENCH_OPENSSL
	EVP_CIPHER_CTX *enc, *dec;
#endif
#ifdef TR_BENCH_GCRYPT
	gcry_cipher_hd_t gcrypt;
#endif
} Raw;

static gboolean
raw_init(Raw *r, Lib lib, TrCipher cipher)
{
	gnutls_datum_t datum = {r->key, sizeof(r->key)};

	memset(r, 0, sizeof(*r));
	r->lib = lib;
	r->cipher = cipher;
	r->key[0] = 9;
	switch (lib) {
	case LIB_GNUTLS:
		return gnutls_aead_cipher_init(&r->gnutls,
		                               cipher == TR_CIPHER_AES256_GCM
		                                       ? GNUTLS_CIPHER_AES_256_GCM
		                                       : GNUTLS_CIPHER_CHACHA20_POLY1305,
		                               &datum) >= 0;
	case LIB_OPENSSL:
#ifdef TR_BENCH_OPENSSL
	{
		const EVP_CIPHER *c = cipher == TR_CIPHER_AES256_GCM ? EVP_aes_256_gcm()
		                                                     : EVP_chacha20_poly1305();

		r->enc = EVP_CIPHER_CTX_new();
		r->dec = EVP_CIPHER_CTX_new();
		return EVP_EncryptInit_ex(r->enc, c, NULL, r->key, NULL) == 1 &&
		       EVP_DecryptInit_ex(r->dec, c, NULL, r->key, NULL) == 1;
	}
#else
		return FALSE;
#endif
	case LIB_SODIUM:
#ifdef TR_BENCH_SODIUM
		if (sodium_init() < 0)
			return FALSE;
		return cipher == TR_CIPHER_CHACHA20_POLY1305 ||
		       crypto_aead_aes256gcm_is_available();
#else
		return FALSE;
#endif
	case LIB_GCRYPT:
#ifdef TR_BENCH_GCRYPT
		if (gcry_check_version(NULL) == NULL)
			return FALSE;
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
		return gcry_cipher_open(&r->gcrypt,
		                        cipher == TR_CIPHER_AES256_GCM ? GCRY_CIPHER_AES256
		                                                       : GCRY_CIPHER_CHACHA20,
		                        cipher == TR_CIPHER_AES256_GCM ? GCRY_CIPHER_MODE_GCM
		                                                       : GCRY_CIPHER_MODE_POLY1305,
		                        0) == 0 &&
		       gcry_cipher_setkey(r->gcrypt, r->key, sizeof(r->key)) == 0;
#else
		return FALSE;
#endif
	}
	return FALSE;
}

static void
raw_clear(Raw *r)
{
	if (r->gnutls)
		gnutls_aead_cipher_deinit(r->gnutls);
#ifdef TR_BENCH_OPENSSL
	EVP_CIPHER_CTX_free(r->enc);
	EVP_CIPHER_CTX_free(r->dec);
#endif
#ifdef TR_BENCH_GCRYPT
	if (r->gcrypt)
		gcry_cipher_close(r->gcrypt);
#endif
}

static gboolean
raw_seal_open(Raw *r, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len, uint8_t *buf,
              size_t size)
{
	size_t clen = size + 16, plen = size;

	switch (r->lib) {
	case LIB_GNUTLS:
		return gnutls_aead_cipher_encrypt(r->gnutls, nonce, 12, ad, ad_len, 16, buf, size,
		                                  buf, &clen) >= 0 &&
		       gnutls_aead_cipher_decrypt(r->gnutls, nonce, 12, ad, ad_len, 16, buf, clen,
		                                  buf, &plen) >= 0;
	case LIB_OPENSSL:
#ifdef TR_BENCH_OPENSSL
	{
		int n;

		return EVP_EncryptInit_ex(r->enc, NULL, NULL, NULL, nonce) == 1 &&
		       EVP_EncryptUpdate(r->enc, NULL, &n, ad, (int)ad_len) == 1 &&
		       EVP_EncryptUpdate(r->enc, buf, &n, buf, (int)size) == 1 &&
		       EVP_EncryptFinal_ex(r->enc, buf + size, &n) == 1 &&
		       EVP_CIPHER_CTX_ctrl(r->enc, EVP_CTRL_AEAD_GET_TAG, 16, buf + size) == 1 &&
		       EVP_DecryptInit_ex(r->dec, NULL, NULL, NULL, nonce) == 1 &&
		       EVP_DecryptUpdate(r->dec, NULL, &n, ad, (int)ad_len) == 1 &&
		       EVP_DecryptUpdate(r->dec, buf, &n, buf, (int)size) == 1 &&
		       EVP_CIPHER_CTX_ctrl(r->dec, EVP_CTRL_AEAD_SET_TAG, 16, buf + size) == 1 &&
		       EVP_DecryptFinal_ex(r->dec, buf + size, &n) == 1;
	}
#else
		return FALSE;
#endif
	case LIB_SODIUM:
#ifdef TR_BENCH_SODIUM
	{
		unsigned long long c = 0, p = 0;

		if (r->cipher == TR_CIPHER_AES256_GCM)
			return crypto_aead_aes256gcm_encrypt(buf, &c, buf, size, ad, ad_len, NULL,
			                                     nonce, r->key) == 0 &&
			       crypto_aead_aes256gcm_decrypt(buf, &p, NULL, buf, c, ad, ad_len,
			                                     nonce, r->key) == 0;
		return crypto_aead_chacha20poly1305_ietf_encrypt(buf, &c, buf, size, ad, ad_len,
		                                                 NULL, nonce, r->key) == 0 &&
		       crypto_aead_chacha20poly1305_ietf_decrypt(buf, &p, NULL, buf, c, ad, ad_len,
		                                                 nonce, r->key) == 0;
	}
#else
		return FALSE;
#endif
	case LIB_GCRYPT:
#ifdef TR_BENCH_GCRYPT
		/* In place (input NULL); a new nonce resets the MAC state. */
		return gcry_cipher_setiv(r->gcrypt, nonce, 12) == 0 &&
		       gcry_cipher_authenticate(r->gcrypt, ad, ad_len) == 0 &&
		       gcry_cipher_encrypt(r->gcrypt, buf, size, NULL, 0) == 0 &&
		       gcry_cipher_gettag(r->gcrypt, buf + size, 16) == 0 &&
		       gcry_cipher_setiv(r->gcrypt, nonce, 12) == 0 &&
		       gcry_cipher_authenticate(r->gcrypt, ad, ad_len) == 0 &&
		       gcry_cipher_decrypt(r->gcrypt, buf, size, NULL, 0) == 0 &&
		       gcry_cipher_checktag(r->gcrypt, buf + size, 16) == 0;
#else
		return FALSE;
#endif
	}
	return FALSE;
}

/* MB/s of payload for seal + open through @lib directly, or -1 if it has no @cipher. */
static double
raw_aead(Lib lib, TrCipher cipher, size_t size, int64_t usec)
{
	uint8_t nonce[12] = {0}, ad[TR_DC_HEADER_LEN] = {0};
	uint8_t buf[1408 + 16];
	uint64_t bytes = 0, n = 0;
	int64_t start = g_get_monotonic_time(), elapsed;
	Raw r;

	if (!raw_init(&r, lib, cipher)) {
		raw_clear(&r);
		return -1;
	}
	fill(buf, size, FALSE, 0);
	do {
		for (int i = 0; i < 64; i++, n++) {
			memcpy(nonce + 4, &n, sizeof(n));
			if (!raw_seal_open(&r, nonce, ad, sizeof(ad), buf, size))
				abort();
			bytes += size;
		}
		elapsed = g_get_monotonic_time() - start;
	} while (elapsed < usec);
	raw_clear(&r);
	return (double)bytes / (double)elapsed;
}

/*
 * MB/s of payload for tr_dc_seal + tr_dc_open between two sessions, as the
 * data plane calls them: sealed into a datagram buffer, opened into a packet.
 */
static double
datachannel(TrCipher cipher, TrCompress compress, size_t size, gboolean compressible, int64_t usec)
{
	static TrPacket pkt;
	static uint8_t payload[TR_PACKET_PAYLOAD_MAX], wire[TR_PACKET_PAYLOAD_MAX + TR_DC_OVERHEAD];
	uint8_t k1[TR_CIPHER_KEY_LEN] = {1}, k2[TR_CIPHER_KEY_LEN] = {2};
	g_autoptr(TrCompressScratch) scratch = tr_compress_scratch_new();
	g_autoptr(TrDc) a = NULL;
	g_autoptr(TrDc) b = NULL;
	TrDcConfig cfg;
	uint64_t bytes = 0;
	int64_t start, elapsed;
	TrDcType type;

	tr_dc_config_init(&cfg);
	cfg.cipher = cipher;
	cfg.compress = compress;
	cfg.local_index = cfg.peer_index = 1;
	a = tr_dc_new(&cfg, NULL);
	b = tr_dc_new(&cfg, NULL);
	if (!tr_dc_install_keys(a, 1, k1, k2, 0, NULL) ||
	    !tr_dc_install_keys(b, 1, k2, k1, 0, NULL))
		abort();
	fill(payload, size, compressible, 0);
	start = g_get_monotonic_time();
	do {
		for (int i = 0; i < 64; i++) {
			int n = tr_dc_seal(a, 0, scratch, TR_DC_DATA, payload, size, wire,
			                   sizeof(wire), 0);

			if (n < 0 || tr_dc_open(b, scratch, wire, (size_t)n, &pkt, &type, 0) < 0)
				abort();
			bytes += size;
		}
		elapsed = g_get_monotonic_time() - start;
	} while (elapsed < usec);
	return (double)bytes / (double)elapsed;
}

int
main(int argc, char **argv)
{
	static const TrCipher ciphers[] = {TR_CIPHER_AES256_GCM, TR_CIPHER_CHACHA20_POLY1305};
	double seconds = argc > 1 ? g_ascii_strtod(argv[1], NULL) : 0.3;
	int64_t usec = (int64_t)(seconds * G_USEC_PER_SEC);

	printf("default cipher on this host: %s\n", tr_cipher_name(tr_cipher_default()));
	for (size_t c = 0; c < G_N_ELEMENTS(ciphers); c++)
		printf("%s through %s\n", tr_cipher_name(ciphers[c]),
		       tr_cipher_implementation(ciphers[c]));
	printf("MB/s of payload, seal+open, %.1f s per case\n", seconds);
	printf("%-18s %5s %9s %9s %7s %11s %11s\n", "cipher", "bytes", "raw-aead", "dc", "dc/raw",
	       "dc+lzo(txt)", "dc+lzo(rnd)");
	for (size_t c = 0; c < G_N_ELEMENTS(ciphers); c++) {
		for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
			double raw = 0, dc = 0;

			/* Alternate and keep the best of three: other load hits both alike. */
			for (int round = 0; round < 3; round++) {
				raw = MAX(raw, raw_aead(lib_in_use(ciphers[c]), ciphers[c],
				                        sizes[s], usec / 3));
				dc = MAX(dc, datachannel(ciphers[c], TR_COMPRESS_NONE, sizes[s],
				                         FALSE, usec / 3));
			}
			double lzo_txt =
			        datachannel(ciphers[c], TR_COMPRESS_LZO, sizes[s], TRUE, usec);
			double lzo_rnd =
			        datachannel(ciphers[c], TR_COMPRESS_LZO, sizes[s], FALSE, usec);

			printf("%-18s %5zu %9.0f %9.0f %6.1f%% %11.0f %11.0f\n",
			       tr_cipher_name(ciphers[c]), sizes[s], raw, dc, 100 * dc / raw,
			       lzo_txt, lzo_rnd);
		}
	}

	printf("\ncandidates, raw AEAD, seal+open of 1408-byte records, MB/s of payload\n");
	printf("(gnutls %s", gnutls_check_version(NULL));
#ifdef TR_BENCH_OPENSSL
	printf(", %s", OpenSSL_version(OPENSSL_VERSION));
#endif
#ifdef TR_BENCH_SODIUM
	printf(", libsodium %s", sodium_version_string());
#endif
#ifdef TR_BENCH_GCRYPT
	printf(", libgcrypt %s", gcry_check_version(NULL));
#endif
	printf("; '-': not in this build)\n%-18s", "cipher");
	for (size_t l = 0; l < G_N_ELEMENTS(lib_names); l++)
		printf(" %10s", lib_names[l]);
	printf("\n");
	for (size_t c = 0; c < G_N_ELEMENTS(ciphers); c++) {
		printf("%-18s", tr_cipher_name(ciphers[c]));
		for (size_t l = 0; l < G_N_ELEMENTS(lib_names); l++) {
			double best = -1;

			for (int round = 0; round < 3; round++)
				best = MAX(best, raw_aead((Lib)l, ciphers[c], 1408, usec / 3));
			if (best < 0)
				printf(" %10s", "-");
			else
				printf(" %10.0f", best);
		}
		printf("\n");
	}
	return 0;
}
