/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/cipher.h"

#include "common/base/error.h"
#ifdef TR_HAVE_OPENSSL_AEAD
#include "common/datapath/cipher-openssl.h"
#endif

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

static const struct {
	const char *name;
	TrCipher cipher;
} cipher_names[] = {
        {"aes256-gcm", TR_CIPHER_AES256_GCM},
        {"chacha20-poly1305", TR_CIPHER_CHACHA20_POLY1305},
        {"plaintext", TR_CIPHER_NONE},
        /* vpncloud's names, and the obvious one for no cipher */
        {"aes256", TR_CIPHER_AES256_GCM},
        {"chacha20", TR_CIPHER_CHACHA20_POLY1305},
        {"none", TR_CIPHER_NONE},
};

/*
 * Each method runs where it is fastest: AES-256-GCM in GnuTLS (its AES-NI and
 * PCLMUL code beats OpenSSL 3.0's on the machines measured), ChaCha20-Poly1305
 * in OpenSSL's libcrypto when the build has it (-Dopenssl; vectorized, four
 * to seven times GnuTLS's), else in GnuTLS. bench/bench-datachannel compares
 * the candidates. (libgcrypt's AES-256-GCM is 16-28 % faster still on the
 * machine measured, but its handle takes 1,989 bytes against GnuTLS's 752,
 * and a hub keeps two per session: 2.4 KiB more per idle session, over issue
 * 24's 16 KiB; docs/PERFORMANCE.md, eighth round.)
 *
 * Plaintext mode is not unauthenticated: it is AES-256-GCM over no
 * plaintext, with the header and the payload as associated data (GMAC). The
 * payload travels in the clear, but a corrupted or forged packet is dropped
 * like any other, so one flipped bit cannot, say, move the replay window.
 */
struct TrAead {
	gnutls_aead_cipher_hd_t hd; /* GnuTLS's methods */
#ifdef TR_HAVE_OPENSSL_AEAD
	TrOsslAead *ossl; /* ChaCha20-Poly1305 through OpenSSL, else NULL */
#endif
	gboolean auth_only; /* TR_CIPHER_NONE: GMAC over header and payload */
};

gboolean
tr_cipher_parse(const char *text, TrCipher *out, GError **error)
{
	for (size_t i = 0; i < G_N_ELEMENTS(cipher_names); i++) {
		if (g_ascii_strcasecmp(text, cipher_names[i].name) == 0) {
			*out = cipher_names[i].cipher;
			return TRUE;
		}
	}
	g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
	            "cipher '%s': expected aes256-gcm, chacha20-poly1305 or plaintext", text);
	return FALSE;
}

gboolean
tr_cipher_parse_list(const char *const *texts, TrCipher *out, guint max, guint *n,
                     gboolean *plaintext, GError **error)
{
	*n = 0;
	for (guint i = 0; texts && texts[i]; i++) {
		g_auto(GStrv) names = g_strsplit(texts[i], ",", -1);

		for (guint j = 0; names[j]; j++) {
			if (*n == max) {
				g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
				            "more than %u ciphers", max);
				return FALSE;
			}
			if (!tr_cipher_parse(g_strstrip(names[j]), &out[*n], error))
				return FALSE;
			if (plaintext && out[*n] == TR_CIPHER_NONE)
				*plaintext = TRUE;
			(*n)++;
		}
	}
	if (*n == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "no cipher given");
		return FALSE;
	}
	return TRUE;
}

const char *
tr_cipher_name(TrCipher cipher)
{
	for (size_t i = 0; i < G_N_ELEMENTS(cipher_names); i++) {
		if (cipher_names[i].cipher == cipher)
			return cipher_names[i].name;
	}
	return "unknown";
}

static gnutls_cipher_algorithm_t
gnutls_algorithm(TrCipher cipher)
{
	switch (cipher) {
	case TR_CIPHER_AES256_GCM:
		return GNUTLS_CIPHER_AES_256_GCM;
	case TR_CIPHER_CHACHA20_POLY1305:
		return GNUTLS_CIPHER_CHACHA20_POLY1305;
	default:
		return GNUTLS_CIPHER_UNKNOWN;
	}
}

size_t
tr_cipher_tag_len(TrCipher cipher)
{
	return TR_CIPHER_TAG_MAX;
}

TrAead *
tr_aead_new(TrCipher cipher, const uint8_t key[TR_CIPHER_KEY_LEN], GError **error)
{
	g_autoptr(TrAead) aead = g_new0(TrAead, 1);
	gnutls_cipher_algorithm_t alg = gnutls_algorithm(cipher);
	gnutls_datum_t datum = {.data = (unsigned char *)key, .size = TR_CIPHER_KEY_LEN};
	int ret;

#ifdef TR_HAVE_OPENSSL_AEAD
	if (cipher == TR_CIPHER_CHACHA20_POLY1305) {
		aead->ossl = tr_ossl_aead_new(key, error);
		return aead->ossl ? g_steal_pointer(&aead) : NULL;
	}
#endif
	if (cipher == TR_CIPHER_NONE) {
		aead->auth_only = TRUE;
		alg = GNUTLS_CIPHER_AES_256_GCM;
	}
	if (alg == GNUTLS_CIPHER_UNKNOWN) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "unknown cipher %d", (int)cipher);
		return NULL;
	}
	ret = gnutls_aead_cipher_init(&aead->hd, alg, &datum);
	if (ret < 0) {
		aead->hd = NULL;
		g_set_error(error, TR_ERROR, TR_ERROR_UNSUPPORTED, "%s: %s", tr_cipher_name(cipher),
		            gnutls_strerror(ret));
		return NULL;
	}
	return g_steal_pointer(&aead);
}

void
tr_aead_free(TrAead *aead)
{
	if (aead == NULL)
		return;
	/* gnutls_aead_cipher_deinit() wipes the key schedule. */
	if (aead->hd)
		gnutls_aead_cipher_deinit(aead->hd);
#ifdef TR_HAVE_OPENSSL_AEAD
	tr_ossl_aead_free(aead->ossl);
#endif
	g_free(aead);
}

static inline void
make_nonce(uint8_t nonce[TR_CIPHER_NONCE_LEN], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (56 - 8 * i));
}

int
tr_aead_seal(TrAead *aead, uint64_t counter, const uint8_t *ad, size_t ad_len, uint8_t *data,
             size_t len)
{
	uint8_t nonce[TR_CIPHER_NONCE_LEN];
	size_t out_len = len + TR_CIPHER_TAG_MAX;

	make_nonce(nonce, counter);
#ifdef TR_HAVE_OPENSSL_AEAD
	if (aead->ossl)
		return tr_ossl_aead_seal(aead->ossl, nonce, ad, ad_len, data, len, data);
#endif
	if (aead->auth_only) {
		giovec_t auth[2] = {{(void *)ad, ad_len}, {data, len}};
		size_t tag_len = TR_CIPHER_TAG_MAX;

		if (gnutls_aead_cipher_encryptv2(aead->hd, nonce, sizeof(nonce), auth, 2, NULL, 0,
		                                 data + len, &tag_len) < 0)
			return -EIO;
		return 0;
	}
	/* In place: GnuTLS (nettle and its x86 code) allows ctext == ptext. */
	if (gnutls_aead_cipher_encrypt(aead->hd, nonce, sizeof(nonce), ad, ad_len,
	                               TR_CIPHER_TAG_MAX, data, len, data, &out_len) < 0)
		return -EIO;
	return 0;
}

int
tr_aead_open(TrAead *aead, uint64_t counter, const uint8_t *ad, size_t ad_len, uint8_t *data,
             size_t len)
{
	uint8_t nonce[TR_CIPHER_NONCE_LEN];
	size_t out_len;

	if (len < TR_CIPHER_TAG_MAX)
		return -EBADMSG;
	out_len = len - TR_CIPHER_TAG_MAX;
	make_nonce(nonce, counter);
#ifdef TR_HAVE_OPENSSL_AEAD
	if (aead->ossl)
		return tr_ossl_aead_open(aead->ossl, nonce, ad, ad_len, data, out_len, data) < 0
		               ? -EBADMSG
		               : (int)out_len;
#endif
	if (aead->auth_only) {
		giovec_t auth[2] = {{(void *)ad, ad_len}, {data, out_len}};

		if (gnutls_aead_cipher_decryptv2(aead->hd, nonce, sizeof(nonce), auth, 2, NULL, 0,
		                                 data + out_len, TR_CIPHER_TAG_MAX) < 0)
			return -EBADMSG;
		return (int)out_len;
	}
	if (gnutls_aead_cipher_decrypt(aead->hd, nonce, sizeof(nonce), ad, ad_len,
	                               TR_CIPHER_TAG_MAX, data, len, data, &out_len) < 0)
		return -EBADMSG;
	return (int)out_len;
}

int
tr_aead_seal_to(TrAead *aead, uint64_t counter, const uint8_t *ad, size_t ad_len, const uint8_t *in,
                size_t len, uint8_t *out)
{
	uint8_t nonce[TR_CIPHER_NONCE_LEN];
	size_t out_len = len + TR_CIPHER_TAG_MAX;

	if (aead->auth_only) {
		memcpy(out, in, len);
		return tr_aead_seal(aead, counter, ad, ad_len, out, len);
	}
	make_nonce(nonce, counter);
#ifdef TR_HAVE_OPENSSL_AEAD
	if (aead->ossl)
		return tr_ossl_aead_seal(aead->ossl, nonce, ad, ad_len, in, len, out);
#endif
	if (gnutls_aead_cipher_encrypt(aead->hd, nonce, sizeof(nonce), ad, ad_len,
	                               TR_CIPHER_TAG_MAX, in, len, out, &out_len) < 0)
		return -EIO;
	return 0;
}

int
tr_aead_open_to(TrAead *aead, uint64_t counter, const uint8_t *ad, size_t ad_len, const uint8_t *in,
                size_t len, uint8_t *out)
{
	uint8_t nonce[TR_CIPHER_NONCE_LEN];
	size_t out_len;

	if (len < TR_CIPHER_TAG_MAX)
		return -EBADMSG;
	if (aead->auth_only) {
		memcpy(out, in, len);
		return tr_aead_open(aead, counter, ad, ad_len, out, len);
	}
	out_len = len - TR_CIPHER_TAG_MAX;
	make_nonce(nonce, counter);
#ifdef TR_HAVE_OPENSSL_AEAD
	if (aead->ossl)
		return tr_ossl_aead_open(aead->ossl, nonce, ad, ad_len, in, out_len, out) < 0
		               ? -EBADMSG
		               : (int)out_len;
#endif
	if (gnutls_aead_cipher_decrypt(aead->hd, nonce, sizeof(nonce), ad, ad_len,
	                               TR_CIPHER_TAG_MAX, in, len, out, &out_len) < 0)
		return -EBADMSG;
	return (int)out_len;
}

const char *
tr_cipher_implementation(TrCipher cipher)
{
#ifdef TR_HAVE_OPENSSL_AEAD
	if (cipher == TR_CIPHER_CHACHA20_POLY1305)
		return tr_ossl_version();
#endif
	return "GnuTLS " GNUTLS_VERSION;
}

guint
tr_cipher_default_list(TrCipher *out, guint max)
{
	out[0] = tr_cipher_default();
	if (max < 2)
		return 1;
	out[1] =
	        out[0] == TR_CIPHER_AES256_GCM ? TR_CIPHER_CHACHA20_POLY1305 : TR_CIPHER_AES256_GCM;
	return 2;
}

double
tr_cipher_measure(TrCipher cipher, size_t packet_len, int64_t usec)
{
	static const uint8_t key[TR_CIPHER_KEY_LEN] = {1};
	g_autoptr(TrAead) aead = NULL;
	g_autofree uint8_t *buf = NULL;
	uint8_t ad[20] = {0};
	uint64_t counter = 0, bytes = 0;
	int64_t start, elapsed;

	if (cipher == TR_CIPHER_NONE || (aead = tr_aead_new(cipher, key, NULL)) == NULL)
		return -1;
	buf = g_malloc0(packet_len + TR_CIPHER_TAG_MAX);
	start = g_get_monotonic_time();
	do {
		/* Check the clock every 64 packets: it is not free either. */
		for (int i = 0; i < 64; i++) {
			if (tr_aead_seal(aead, counter++, ad, sizeof(ad), buf, packet_len) < 0)
				return -1;
			bytes += packet_len;
		}
		elapsed = g_get_monotonic_time() - start;
	} while (elapsed < usec);
	return (double)bytes / (double)MAX(elapsed, 1);
}

static gpointer
measure_default(gpointer unused)
{
	/* 3 ms each, twice, alternating, so a burst of other load hits both. */
	double aes = 0, chacha = 0;

	for (int round = 0; round < 2; round++) {
		aes += tr_cipher_measure(TR_CIPHER_AES256_GCM, 1400, 3000);
		chacha += tr_cipher_measure(TR_CIPHER_CHACHA20_POLY1305, 1400, 3000);
	}
	return GINT_TO_POINTER(aes >= chacha ? TR_CIPHER_AES256_GCM : TR_CIPHER_CHACHA20_POLY1305);
}

TrCipher
tr_cipher_default(void)
{
	static GOnce once = G_ONCE_INIT;

	return (TrCipher)GPOINTER_TO_INT(g_once(&once, measure_default, NULL));
}
