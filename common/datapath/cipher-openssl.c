/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/cipher-openssl.h"

#include "common/base/error.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#define TAG_LEN 16

/*
 * The cipher is fetched from the default provider once and kept for the
 * process: an implicit fetch per key (EVP_chacha20_poly1305()) would look it
 * up under a lock on every rekey.
 */
static gpointer
fetch_cipher(gpointer unused)
{
	return EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

static EVP_CIPHER *
chacha20_poly1305(void)
{
	static GOnce once = G_ONCE_INIT;

	return g_once(&once, fetch_cipher, NULL);
}

/* OpenSSL's first queued error, for messages; clears the queue. */
static const char *
ossl_error(char buf[256])
{
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	if (e == 0)
		return "no detail from OpenSSL";
	ERR_error_string_n(e, buf, 256);
	return buf;
}

TrOsslAead *
tr_ossl_aead_new(const uint8_t key[32], GError **error)
{
	EVP_CIPHER *cipher = chacha20_poly1305();
	EVP_CIPHER_CTX *ctx;
	char buf[256];

	if (cipher == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_UNSUPPORTED,
		            "chacha20-poly1305: OpenSSL's libcrypto has no ChaCha20-Poly1305: %s",
		            ossl_error(buf));
		return NULL;
	}
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL || EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, 1) != 1) {
		g_set_error(error, TR_ERROR, TR_ERROR_UNSUPPORTED,
		            "chacha20-poly1305: OpenSSL refused the key: %s", ossl_error(buf));
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void
tr_ossl_aead_free(TrOsslAead *ctx)
{
	/* Cleans (OPENSSL_cleanse) the key and state before freeing them. */
	EVP_CIPHER_CTX_free(ctx);
}

/*
 * One pass of @len bytes from @in to @out under a new nonce on the kept key
 * (resetting the Poly1305 state; no allocation). Sealing writes the tag at
 * @out + @len; opening checks the one at @in + @len before it finishes.
 */
static gboolean
aead_pass(TrOsslAead *ctx, int enc, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
          const uint8_t *in, size_t len, uint8_t *out)
{
	int n;

	return ad_len <= INT_MAX && len <= INT_MAX &&
	       EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, enc) == 1 &&
	       (ad_len == 0 || EVP_CipherUpdate(ctx, NULL, &n, ad, (int)ad_len) == 1) &&
	       (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1) &&
	       (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN,
	                                   (void *)(in + len)) == 1) &&
	       EVP_CipherFinal_ex(ctx, out + len, &n) == 1 &&
	       (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, out + len) == 1);
}

int
tr_ossl_aead_seal(TrOsslAead *ctx, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                  const uint8_t *in, size_t len, uint8_t *out)
{
	return aead_pass(ctx, 1, nonce, ad, ad_len, in, len, out) ? 0 : -EIO;
}

/*
 * A forged packet leaves nothing in OpenSSL's error queue that needs
 * clearing here: the packet path does not touch the queue (reading or
 * clearing it would allocate its per-thread state), and the queue is a
 * bounded ring that nothing else in the process reads.
 */
int
tr_ossl_aead_open(TrOsslAead *ctx, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                  const uint8_t *in, size_t len, uint8_t *out)
{
	return aead_pass(ctx, 0, nonce, ad, ad_len, in, len, out) ? 0 : -EBADMSG;
}

const char *
tr_ossl_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}
