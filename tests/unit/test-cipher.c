/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The data channel's AEAD against published vectors, through whichever
 * library this build uses for each method (tr_cipher_implementation()).
 */
#include "common/datapath/cipher.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <string.h>

/* RFC 8439, appendix A.5: its nonce is 4 zero bytes || 0x0102030405060708. */
static const char a5_key[] = "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0";
static const uint64_t a5_counter = 0x0102030405060708ull;
static const char a5_ad[] = "f33388860000000000004e91";
static const char a5_plaintext[] =
        "Internet-Drafts are draft documents valid for a maximum of six months and may be "
        "updated, replaced, or obsoleted by other documents at any time. It is inappropriate "
        "to use Internet-Drafts as reference material or to cite them other than as "
        "/\xe2\x80\x9cwork in progress./\xe2\x80\x9d";
static const char a5_ciphertext[] =
        "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
        "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
        "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
        "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
        "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
        "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
        "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
        "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
        "a6ad5cb4022b02709b";
static const char a5_tag[] = "eead9d67890cbb22392336fea1851f38";

static size_t
unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(g_ascii_xdigit_value(hex[2 * i]) << 4 |
		                   g_ascii_xdigit_value(hex[2 * i + 1]));
	return n;
}

static void
test_rfc8439_a5(void)
{
	uint8_t key[TR_CIPHER_KEY_LEN], ad[12], expect[512], buf[512], out[512];
	size_t len = strlen(a5_plaintext), ad_len;
	g_autoptr(TrAead) aead = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpuint(unhex(a5_key, key), ==, sizeof(key));
	ad_len = unhex(a5_ad, ad);
	g_assert_cmpuint(unhex(a5_ciphertext, expect), ==, len);
	g_assert_cmpuint(unhex(a5_tag, expect + len), ==, TR_CIPHER_TAG_MAX);
	g_test_message("chacha20-poly1305 through %s",
	               tr_cipher_implementation(TR_CIPHER_CHACHA20_POLY1305));
	aead = tr_aead_new(TR_CIPHER_CHACHA20_POLY1305, key, &error);
	g_assert_no_error(error);

	/* In place, then from one buffer into another. */
	memcpy(buf, a5_plaintext, len);
	g_assert_cmpint(tr_aead_seal(aead, a5_counter, ad, ad_len, buf, len), ==, 0);
	g_assert_cmpmem(buf, len + TR_CIPHER_TAG_MAX, expect, len + TR_CIPHER_TAG_MAX);
	memset(out, 0, sizeof(out));
	g_assert_cmpint(tr_aead_seal_to(aead, a5_counter, ad, ad_len, (const uint8_t *)a5_plaintext,
	                                len, out),
	                ==, 0);
	g_assert_cmpmem(out, len + TR_CIPHER_TAG_MAX, expect, len + TR_CIPHER_TAG_MAX);

	g_assert_cmpint(tr_aead_open(aead, a5_counter, ad, ad_len, buf, len + TR_CIPHER_TAG_MAX),
	                ==, (int)len);
	g_assert_cmpmem(buf, len, a5_plaintext, len);
	memset(buf, 0, sizeof(buf));
	g_assert_cmpint(
	        tr_aead_open_to(aead, a5_counter, ad, ad_len, expect, len + TR_CIPHER_TAG_MAX, buf),
	        ==, (int)len);
	g_assert_cmpmem(buf, len, a5_plaintext, len);
}

/*
 * AES-256-GCM: the GCM specification's test cases 13 and 14 (McGrew and
 * Viega; a zero key and a zero nonce, which is 4 zero bytes || counter 0),
 * in place and from one buffer into another.
 */
static void
test_aes256_gcm_vectors(void)
{
	static const uint8_t key[TR_CIPHER_KEY_LEN] = {0};
	uint8_t expect[32], buf[32], out[32];
	g_autoptr(TrAead) aead = NULL;
	g_autoptr(GError) error = NULL;

	g_test_message("aes256-gcm through %s", tr_cipher_implementation(TR_CIPHER_AES256_GCM));
	aead = tr_aead_new(TR_CIPHER_AES256_GCM, key, &error);
	g_assert_no_error(error);

	/* Test case 13: no plaintext, no AD; the tag alone. */
	unhex("530f8afbc74536b9a963b4f1c4cb738b", expect);
	g_assert_cmpint(tr_aead_seal(aead, 0, NULL, 0, buf, 0), ==, 0);
	g_assert_cmpmem(buf, TR_CIPHER_TAG_MAX, expect, TR_CIPHER_TAG_MAX);
	g_assert_cmpint(tr_aead_open(aead, 0, NULL, 0, buf, TR_CIPHER_TAG_MAX), ==, 0);

	/* Test case 14: one zero block. */
	unhex("cea7403d4d606b6e074ec5d3baf39d18"
	      "d0d1c8a799996bf0265b98b5d48ab919",
	      expect);
	memset(buf, 0, sizeof(buf));
	g_assert_cmpint(tr_aead_seal(aead, 0, NULL, 0, buf, 16), ==, 0);
	g_assert_cmpmem(buf, 32, expect, 32);
	memset(buf, 0, sizeof(buf));
	g_assert_cmpint(tr_aead_seal_to(aead, 0, NULL, 0, buf, 16, out), ==, 0);
	g_assert_cmpmem(out, 32, expect, 32);
	g_assert_cmpint(tr_aead_open_to(aead, 0, NULL, 0, expect, 32, out), ==, 16);
	g_assert_cmpmem(out, 16, buf, 16);
	g_assert_cmpint(tr_aead_open(aead, 0, NULL, 0, expect, 32), ==, 16);
	g_assert_cmpmem(expect, 16, buf, 16);
}

/*
 * Each method against GnuTLS's own, both ways, whichever library this build
 * runs it through: a peer built with other libraries (the Windows build has
 * GnuTLS's only) must read every packet. Lengths around blocks and the
 * largest packet, associated data of a data header and none, counters with
 * high bytes set.
 */
static void
test_gnutls_interop(void)
{
	static const TrCipher ciphers[] = {TR_CIPHER_AES256_GCM, TR_CIPHER_CHACHA20_POLY1305};
	static const size_t lens[] = {0, 1, 15, 16, 17, 63, 64, 65, 511, 1400, 1408, 9000};
	static const uint64_t counters[] = {0, 1, 0x0102030405060708ull, UINT64_MAX - 1};
	static uint8_t plain[9000], mine[9000 + 16], theirs[9000 + 16], back[9000 + 16];
	uint8_t key[TR_CIPHER_KEY_LEN], ad[20];

	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(ad); i++)
		ad[i] = (uint8_t)(0xa0 + i);
	for (size_t c = 0; c < G_N_ELEMENTS(ciphers); c++) {
		gnutls_datum_t datum = {key, sizeof(key)};
		gnutls_aead_cipher_hd_t hd;
		g_autoptr(TrAead) aead = NULL;

		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)(c * 64 + i);
		aead = tr_aead_new(ciphers[c], key, NULL);
		g_assert_nonnull(aead);
		g_assert_cmpint(gnutls_aead_cipher_init(&hd,
		                                        ciphers[c] == TR_CIPHER_AES256_GCM
		                                                ? GNUTLS_CIPHER_AES_256_GCM
		                                                : GNUTLS_CIPHER_CHACHA20_POLY1305,
		                                        &datum),
		                ==, 0);
		g_test_message("%s through %s", tr_cipher_name(ciphers[c]),
		               tr_cipher_implementation(ciphers[c]));
		for (size_t l = 0; l < G_N_ELEMENTS(lens); l++) {
			for (size_t k = 0; k < G_N_ELEMENTS(counters); k++) {
				size_t len = lens[l], wire = len + TR_CIPHER_TAG_MAX, out_len;
				size_t ad_len = k % 2 ? sizeof(ad) : 0;
				uint8_t nonce[TR_CIPHER_NONCE_LEN] = {0};

				for (int b = 0; b < 8; b++)
					nonce[4 + b] = (uint8_t)(counters[k] >> (56 - 8 * b));
				g_assert_cmpint(tr_aead_seal_to(aead, counters[k], ad, ad_len,
				                                plain, len, mine),
				                ==, 0);
				out_len = sizeof(theirs);
				g_assert_cmpint(gnutls_aead_cipher_encrypt(hd, nonce, sizeof(nonce),
				                                           ad, ad_len,
				                                           TR_CIPHER_TAG_MAX, plain,
				                                           len, theirs, &out_len),
				                ==, 0);
				g_assert_cmpuint(out_len, ==, wire);
				g_assert_cmpmem(mine, wire, theirs, wire);

				/* Theirs opened here, in place. */
				g_assert_cmpint(
				        tr_aead_open(aead, counters[k], ad, ad_len, theirs, wire),
				        ==, (int)len);
				g_assert_cmpmem(theirs, len, plain, len);
				/* Mine opened by GnuTLS. */
				out_len = sizeof(back);
				g_assert_cmpint(gnutls_aead_cipher_decrypt(hd, nonce, sizeof(nonce),
				                                           ad, ad_len,
				                                           TR_CIPHER_TAG_MAX, mine,
				                                           wire, back, &out_len),
				                ==, 0);
				g_assert_cmpmem(back, out_len, plain, len);
			}
		}
		gnutls_aead_cipher_deinit(hd);
	}
}

/* Any changed bit, in the tag, the ciphertext, the AD or the nonce, is refused. */
static void
test_forgery(void)
{
	static const TrCipher ciphers[] = {TR_CIPHER_AES256_GCM, TR_CIPHER_CHACHA20_POLY1305,
	                                   TR_CIPHER_NONE};
	/* Empty, shorter than a block, block edges and a full packet's payload. */
	static const size_t lens[] = {0, 1, 15, 16, 17, 63, 64, 65, 343, 1400};
	uint8_t key[TR_CIPHER_KEY_LEN] = {7}, ad[20] = {1, 2, 3}, sealed[1500], buf[1500];

	for (size_t c = 0; c < G_N_ELEMENTS(ciphers); c++) {
		g_autoptr(TrAead) aead = tr_aead_new(ciphers[c], key, NULL);

		g_assert_nonnull(aead);
		for (size_t l = 0; l < G_N_ELEMENTS(lens); l++) {
			size_t len = lens[l], wire = len + TR_CIPHER_TAG_MAX;

			for (size_t i = 0; i < len; i++)
				sealed[i] = (uint8_t)(i * 31);
			g_assert_cmpint(tr_aead_seal(aead, 42, ad, sizeof(ad), sealed, len), ==, 0);
			memcpy(buf, sealed, wire);
			g_assert_cmpint(tr_aead_open(aead, 42, ad, sizeof(ad), buf, wire), ==,
			                (int)len);
			for (size_t i = 0; i < len; i++)
				g_assert_cmpuint(buf[i], ==, (uint8_t)(i * 31));

			for (size_t bit = 0; bit < wire * 8; bit += 1 + wire / 3) {
				memcpy(buf, sealed, wire);
				buf[bit / 8] ^= (uint8_t)(1u << bit % 8);
				g_assert_cmpint(tr_aead_open(aead, 42, ad, sizeof(ad), buf, wire),
				                ==, -EBADMSG);
			}
			memcpy(buf, sealed, wire);
			g_assert_cmpint(tr_aead_open(aead, 43, ad, sizeof(ad), buf, wire), ==,
			                -EBADMSG);
			ad[0] ^= 0x80;
			memcpy(buf, sealed, wire);
			g_assert_cmpint(tr_aead_open(aead, 42, ad, sizeof(ad), buf, wire), ==,
			                -EBADMSG);
			ad[0] ^= 0x80;
			g_assert_cmpint(
			        tr_aead_open(aead, 42, ad, sizeof(ad), buf, TR_CIPHER_TAG_MAX - 1),
			        ==, -EBADMSG);
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cipher/rfc8439-a5", test_rfc8439_a5);
	g_test_add_func("/cipher/aes256-gcm-vectors", test_aes256_gcm_vectors);
	g_test_add_func("/cipher/gnutls-interop", test_gnutls_interop);
	g_test_add_func("/cipher/forgery", test_forgery);
	return g_test_run();
}
