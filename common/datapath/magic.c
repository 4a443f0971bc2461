/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/magic.h"

#include "common/base/error.h"

#include <gnutls/crypto.h>
#include <string.h>

#define HASH_PREFIX "hash:"

gboolean
tr_magic_parse(const char *text, TrMagic *out, GError **error)
{
	g_return_val_if_fail(text != NULL && out != NULL, FALSE);

	if (g_str_has_prefix(text, HASH_PREFIX)) {
		const char *seed = text + strlen(HASH_PREFIX);
		uint8_t digest[32];

		if (gnutls_hash_fast(GNUTLS_DIG_SHA256, seed, strlen(seed), digest) < 0) {
			g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "magic '%s': SHA-256 failed",
			            text);
			return FALSE;
		}
		memcpy(out->bytes, digest, sizeof(out->bytes));
		return TRUE;
	}
	if (strlen(text) != 2 * sizeof(out->bytes)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "magic '%s': expected 8 hex digits or hash:TEXT", text);
		return FALSE;
	}
	for (size_t i = 0; i < sizeof(out->bytes); i++) {
		int hi = g_ascii_xdigit_value(text[2 * i]),
		    lo = g_ascii_xdigit_value(text[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "magic '%s': '%c' is not a hex digit", text,
			            hi < 0 ? text[2 * i] : text[2 * i + 1]);
			return FALSE;
		}
		out->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	return TRUE;
}

char *
tr_magic_to_string(const TrMagic *magic, char buf[TR_MAGIC_STRLEN])
{
	g_snprintf(buf, TR_MAGIC_STRLEN, "%02x%02x%02x%02x", magic->bytes[0], magic->bytes[1],
	           magic->bytes[2], magic->bytes[3]);
	return buf;
}
