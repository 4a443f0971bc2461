/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/auth/shared-key.h"

#include "common/base/error.h"
#include "common/datapath/magic.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define PSK_SALT_PREFIX "trellis shared key v2 "
#define PSK_ITERATIONS  200000
#define KEY_BYTES       32
#define KEY_B64_CHARS   43 /* 32 bytes, base64url without padding */

char *
tr_shared_key_generate(void)
{
	guint8 raw[KEY_BYTES];
	g_autofree char *b64 = NULL;
	char *key;

	if (gnutls_rnd(GNUTLS_RND_KEY, raw, sizeof(raw)) < 0)
		g_error("no random numbers from GnuTLS");
	b64 = g_base64_encode(raw, sizeof(raw));
	explicit_bzero(raw, sizeof(raw));
	/* base64url, no padding: safe in config files, URLs and shells. */
	for (char *p = b64; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	b64[KEY_B64_CHARS] = '\0';
	key = g_strconcat(TR_SHARED_KEY_PREFIX, b64, NULL);
	explicit_bzero(b64, strlen(b64));
	return key;
}

gboolean
tr_shared_key_is_strong(const char *key)
{
	size_t len = strlen(key);

	if (g_str_has_prefix(key, TR_SHARED_KEY_PREFIX) &&
	    len == strlen(TR_SHARED_KEY_PREFIX) + KEY_B64_CHARS) {
		for (const char *p = key + strlen(TR_SHARED_KEY_PREFIX); *p; p++)
			if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_')
				return FALSE;
		return TRUE;
	}
	if (len == 2 * KEY_BYTES) {
		for (const char *p = key; *p; p++)
			if (!g_ascii_isxdigit(*p))
				return FALSE;
		return TRUE;
	}
	return FALSE;
}

gboolean
tr_shared_key_derive(const char *key, const char *network, uint8_t out[TR_SHARED_KEY_PSK_LEN],
                     GError **error)
{
	g_autofree char *salt_text = g_strconcat(
	        PSK_SALT_PREFIX, network && *network ? network : TR_MAGIC_DEFAULT_TEXT, NULL);
	gnutls_datum_t pass = {(unsigned char *)key, (unsigned)strlen(key)};
	gnutls_datum_t salt = {(unsigned char *)salt_text, (unsigned)strlen(salt_text)};
	int rc;

	if (pass.size < TR_SHARED_KEY_MIN_LEN) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "the shared key is too short (at least %d characters; make a strong "
		            "one with: trellis genkey)",
		            TR_SHARED_KEY_MIN_LEN);
		return FALSE;
	}
	rc = gnutls_pbkdf2(GNUTLS_MAC_SHA256, &pass, &salt, PSK_ITERATIONS, out,
	                   TR_SHARED_KEY_PSK_LEN);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "PBKDF2");
	return TRUE;
}

void
tr_shared_key_warn_if_weak(const char *key)
{
	if (key != NULL && !tr_shared_key_is_strong(key))
		g_warning("the shared key is a passphrase, not a random 256-bit key: anyone who "
		          "records one connection attempt can test guesses of it offline; make a "
		          "strong one with 'trellis genkey' and use it on every node");
}
