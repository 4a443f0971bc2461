/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/cipher-gcrypt.h"

#include "common/base/error.h"

#include <errno.h>
#include <gcrypt.h>

#define TAG_LEN 16

/* The oldest libgcrypt with the AES-GCM code this was measured with. */
#define GCRY_VERSION_MIN "1.9.0"

/*
 * libgcrypt wants its version checked once before any other call, and told
 * when the process has finished initializing it. Another user in the process
 * (libsecret in the tray app) may have done both already; then it is left as
 * that user set it. No secure memory is asked for: the keys live in ordinary
 * cipher handles, which libgcrypt wipes when they are closed, as GnuTLS's
 * and OpenSSL's contexts are.
 */
static gpointer
init_gcrypt(gpointer unused)
{
	const char *version;

	if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P))
		return (gpointer)gcry_check_version(NULL);
	version = gcry_check_version(GCRY_VERSION_MIN);
	if (version != NULL)
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	return (gpointer)version;
}

static const char *
gcrypt_version(void)
{
	static GOnce once = G_ONCE_INIT;

	return g_once(&once, init_gcrypt, NULL);
}

TrGcryAead *
tr_gcry_aead_new(const uint8_t key[32], GError **error)
{
	gcry_cipher_hd_t hd = NULL;
	gcry_error_t err;

	if (gcrypt_version() == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_UNSUPPORTED,
		            "aes256-gcm: libgcrypt %s is older than " GCRY_VERSION_MIN,
		            gcry_check_version(NULL));
		return NULL;
	}
	/* In FIPS mode libgcrypt restricts GCM with a nonce given from outside. */
	if (gcry_fips_mode_active()) {
		g_set_error(error, TR_ERROR, TR_ERROR_UNSUPPORTED,
		            "aes256-gcm: libgcrypt is in FIPS mode");
		return NULL;
	}
	err = gcry_cipher_open(&hd, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, 0);
	if (err == 0)
		err = gcry_cipher_setkey(hd, key, 32);
	if (err != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_UNSUPPORTED,
		            "aes256-gcm: libgcrypt refused the key: %s", gcry_strerror(err));
		gcry_cipher_close(hd);
		return NULL;
	}
	return hd;
}

void
tr_gcry_aead_free(TrGcryAead *hd)
{
	/* Wipes the key schedule before freeing it; NULL is ignored. */
	gcry_cipher_close(hd);
}

/* A new nonce (resetting GCM's state: no allocation) and the associated data. */
static gboolean
start(gcry_cipher_hd_t hd, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len)
{
	return gcry_cipher_setiv(hd, nonce, 12) == 0 &&
	       (ad_len == 0 || gcry_cipher_authenticate(hd, ad, ad_len) == 0);
}

int
tr_gcry_aead_seal(TrGcryAead *hd, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                  const uint8_t *in, size_t len, uint8_t *out)
{
	/* In place when @in is @out: libgcrypt takes a NULL input for that. */
	if (!start(hd, nonce, ad, ad_len) ||
	    gcry_cipher_encrypt(hd, out, len, in == out ? NULL : in, in == out ? 0 : len) != 0 ||
	    gcry_cipher_gettag(hd, out + len, TAG_LEN) != 0)
		return -EIO;
	return 0;
}

int
tr_gcry_aead_open(TrGcryAead *hd, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                  const uint8_t *in, size_t len, uint8_t *out)
{
	if (!start(hd, nonce, ad, ad_len) ||
	    gcry_cipher_decrypt(hd, out, len, in == out ? NULL : in, in == out ? 0 : len) != 0 ||
	    gcry_cipher_checktag(hd, in + len, TAG_LEN) != 0)
		return -EBADMSG;
	return 0;
}

const char *
tr_gcry_version(void)
{
	static char text[64];
	static gsize done;

	if (g_once_init_enter(&done)) {
		g_snprintf(text, sizeof(text), "libgcrypt %s", gcry_check_version(NULL));
		g_once_init_leave(&done, 1);
	}
	return text;
}
