/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/compress.h"
#include "common/datapath/cipher.h"
#include "common/base/error.h"
#include "common/datapath/magic.h"

static void
check_magic(const char *text, const char *expect)
{
	g_autoptr(GError) error = NULL;
	char buf[TR_MAGIC_STRLEN];
	TrMagic m;

	g_assert_true(tr_magic_parse(text, &m, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(tr_magic_to_string(&m, buf), ==, expect);
}

static void
test_magic_parse(void)
{
	TrMagic def = TR_MAGIC_DEFAULT, m;

	check_magic("74726c01", "74726c01");
	check_magic("DEADbeef", "deadbeef");
	/* First 4 bytes of SHA-256 (checked against sha256sum). */
	check_magic("hash:office", "5cc3f828");
	check_magic("hash:", "e3b0c442");
	g_assert_true(tr_magic_parse(TR_MAGIC_DEFAULT_TEXT, &m, NULL));
	g_assert_true(tr_magic_equal(&m, &def));

	for (unsigned i = 0; i < 6; i++) {
		static const char *const bad[] = {"",         "74726c0",   "74726c011",
		                                  "74726c0g", " 74726c01", "hash"};
		g_autoptr(GError) error = NULL;

		g_assert_false(tr_magic_parse(bad[i], &m, &error));
		g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	}
}

static void
test_cipher_names(void)
{
	static const struct {
		const char *text;
		TrCipher cipher;
		const char *name;
	} cases[] = {
	        {"aes256-gcm", TR_CIPHER_AES256_GCM, "aes256-gcm"},
	        {"AES256", TR_CIPHER_AES256_GCM, "aes256-gcm"},
	        {"chacha20-poly1305", TR_CIPHER_CHACHA20_POLY1305, "chacha20-poly1305"},
	        {"chacha20", TR_CIPHER_CHACHA20_POLY1305, "chacha20-poly1305"},
	        {"plaintext", TR_CIPHER_NONE, "plaintext"},
	        {"none", TR_CIPHER_NONE, "plaintext"},
	};
	g_autoptr(GError) error = NULL;
	TrCipher c;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_assert_true(tr_cipher_parse(cases[i].text, &c, NULL));
		g_assert_cmpint(c, ==, cases[i].cipher);
		g_assert_cmpstr(tr_cipher_name(c), ==, cases[i].name);
	}
	g_assert_false(tr_cipher_parse("aes128-gcm", &c, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	g_assert_cmpuint(tr_cipher_tag_len(TR_CIPHER_NONE), ==,
	                 16); /* plaintext is authenticated */
	g_assert_cmpuint(tr_cipher_tag_len(TR_CIPHER_AES256_GCM), ==, 16);
}

static void
test_cipher_default(void)
{
	TrCipher c = tr_cipher_default();

	g_assert_true(c == TR_CIPHER_AES256_GCM || c == TR_CIPHER_CHACHA20_POLY1305);
	/* Decided once: the same answer every time. */
	g_assert_cmpint(tr_cipher_default(), ==, c);
	g_assert_cmpfloat(tr_cipher_measure(TR_CIPHER_CHACHA20_POLY1305, 1400, 1000), >, 0);
	g_assert_cmpfloat(tr_cipher_measure(TR_CIPHER_NONE, 1400, 1000), <, 0);
}

static void
test_compress_names(void)
{
	g_autoptr(GError) error = NULL;
	TrCompress c;

	g_assert_true(tr_compress_parse("lzo", &c, NULL));
	g_assert_cmpint(c, ==, TR_COMPRESS_LZO);
	g_assert_true(tr_compress_parse("LZO1X", &c, NULL));
	g_assert_cmpint(c, ==, TR_COMPRESS_LZO);
	g_assert_true(tr_compress_parse("off", &c, NULL));
	g_assert_cmpint(c, ==, TR_COMPRESS_NONE);
	g_assert_cmpstr(tr_compress_name(TR_COMPRESS_LZO), ==, "lzo");
	g_assert_cmpstr(tr_compress_name(TR_COMPRESS_NONE), ==, "none");
	g_assert_false(tr_compress_parse("zstd", &c, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	g_assert_true(tr_compress_supported(TR_COMPRESS_LZO));
	g_assert_false(tr_compress_supported(2));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/magic/parse", test_magic_parse);
	g_test_add_func("/cipher/names", test_cipher_names);
	g_test_add_func("/cipher/default", test_cipher_default);
	g_test_add_func("/compress/names", test_compress_names);
	return g_test_run();
}
