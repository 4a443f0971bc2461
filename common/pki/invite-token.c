/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The invite token: a strict base64url codec, a checked reader over the
 * payload, and the PSK an invite's secret turns into.
 */
#include "common/pki/invite-token.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/pki/pki.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define PSK_LABEL "trellis invite psk v1"

/* version, id, secret, fingerprint, expires, name_len, n_servers */
#define PAYLOAD_FIXED_LEN                                                                          \
	(1 + TR_INVITE_ID_LEN + TR_INVITE_SECRET_LEN + TR_INVITE_FP_LEN + 8 + 1 + 1)
#define PAYLOAD_MAX                                                                                \
	(PAYLOAD_FIXED_LEN + TR_PKI_NAME_MAX + TR_INVITE_MAX_SERVERS * (1 + TR_INVITE_SERVER_MAX))

G_STATIC_ASSERT((PAYLOAD_MAX + TR_INVITE_CHECK_LEN) * 4 / 3 + 16 < TR_INVITE_TOKEN_MAX);

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
tr_invite_token_free(TrInviteToken *token)
{
	if (token == NULL)
		return;
	gnutls_memset(token->secret, 0, sizeof(token->secret));
	g_free(token->name);
	g_strfreev(token->servers);
	g_free(token);
}

static void
b64url_encode(const guint8 *data, gsize len, GString *out)
{
	for (gsize i = 0; i < len; i += 3) {
		guint32 v = (guint32)data[i] << 16;
		gsize n = MIN(len - i, 3);

		if (n > 1)
			v |= (guint32)data[i + 1] << 8;
		if (n > 2)
			v |= data[i + 2];
		g_string_append_c(out, b64url[(v >> 18) & 63]);
		g_string_append_c(out, b64url[(v >> 12) & 63]);
		if (n > 1)
			g_string_append_c(out, b64url[(v >> 6) & 63]);
		if (n > 2)
			g_string_append_c(out, b64url[v & 63]);
	}
}

static int
b64url_value(char c)
{
	const char *p = c ? strchr(b64url, c) : NULL;
	return p ? (int)(p - b64url) : -1;
}

/* Strict: only the base64url alphabet, no padding, no impossible length or
 * leftover bits. Returns the number of bytes written to @out, or -1. */
static gssize
b64url_decode(const char *text, gsize len, guint8 *out, gsize out_max)
{
	gsize o = 0;

	if (len % 4 == 1)
		return -1;
	for (gsize i = 0; i < len; i += 4) {
		gsize n = MIN(len - i, 4);
		guint32 v = 0;

		for (gsize j = 0; j < 4; j++) {
			int d = j < n ? b64url_value(text[i + j]) : 0;
			if (d < 0)
				return -1;
			v = v << 6 | (guint32)d;
		}
		if (o + n - 1 > out_max)
			return -1;
		out[o++] = (guint8)(v >> 16);
		if (n > 2)
			out[o++] = (guint8)(v >> 8);
		if (n > 3)
			out[o++] = (guint8)v;
		/* Bits beyond the last byte must be zero (one spelling per token). */
		if ((n == 2 && (v & 0xffff)) || (n == 3 && (v & 0xff)))
			return -1;
	}
	return (gssize)o;
}

static gboolean
checksum(const guint8 *data, gsize len, guint8 *out)
{
	guint8 digest[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, digest) < 0)
		return FALSE;
	memcpy(out, digest, TR_INVITE_CHECK_LEN);
	return TRUE;
}

static gboolean
server_validate(const char *server, GError **error)
{
	g_autofree char *host = NULL;
	guint16 port;
	gsize len = strlen(server);

	if (len == 0 || len > TR_INVITE_SERVER_MAX || !g_str_is_ascii(server)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "hub address '%s': 1 to %d ASCII characters", server,
		            TR_INVITE_SERVER_MAX);
		return FALSE;
	}
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isgraph(server[i])) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "hub address '%s' contains a space or control character",
			            server);
			return FALSE;
		}
	}
	/* Any default port will do: only the syntax is checked here. */
	if (!tr_hostport_parse(server, 1, &host, &port, error)) {
		g_prefix_error(error, "hub address: ");
		return FALSE;
	}
	return TRUE;
}

char *
tr_invite_token_encode(const TrInviteToken *token, GError **error)
{
	g_autoptr(GByteArray) p = g_byte_array_new();
	g_autoptr(GString) out = g_string_new(TR_INVITE_TOKEN_PREFIX);
	guint8 byte, be[8], check[TR_INVITE_CHECK_LEN];
	guint n_servers = token->servers ? g_strv_length(token->servers) : 0;

	if (!tr_pki_name_validate(token->name, error))
		return NULL;
	if (n_servers == 0 || n_servers > TR_INVITE_MAX_SERVERS) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "an invite holds 1 to %d hub addresses", TR_INVITE_MAX_SERVERS);
		return NULL;
	}
	for (guint i = 0; i < n_servers; i++)
		if (!server_validate(token->servers[i], error))
			return NULL;
	if (token->expires <= 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "an invite needs an expiry");
		return NULL;
	}

	byte = TR_INVITE_VERSION;
	g_byte_array_append(p, &byte, 1);
	g_byte_array_append(p, token->id, TR_INVITE_ID_LEN);
	g_byte_array_append(p, token->secret, TR_INVITE_SECRET_LEN);
	g_byte_array_append(p, token->ca_fingerprint, TR_INVITE_FP_LEN);
	for (int i = 0; i < 8; i++)
		be[i] = (guint8)((guint64)token->expires >> (56 - 8 * i));
	g_byte_array_append(p, be, 8);
	byte = (guint8)strlen(token->name);
	g_byte_array_append(p, &byte, 1);
	g_byte_array_append(p, (const guint8 *)token->name, byte);
	byte = (guint8)n_servers;
	g_byte_array_append(p, &byte, 1);
	for (guint i = 0; i < n_servers; i++) {
		byte = (guint8)strlen(token->servers[i]);
		g_byte_array_append(p, &byte, 1);
		g_byte_array_append(p, (const guint8 *)token->servers[i], byte);
	}
	if (!checksum(p->data, p->len, check)) {
		gnutls_memset(p->data, 0, p->len);
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "SHA-256 failed");
		return NULL;
	}
	g_byte_array_append(p, check, sizeof(check));
	b64url_encode(p->data, p->len, out);
	gnutls_memset(p->data, 0, p->len);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* ---- Checked reader over the decoded payload ---------------------------------- */

typedef struct {
	const guint8 *data;
	gsize len;
	gsize off;
} Reader;

static gboolean
read_bytes(Reader *r, void *out, gsize n)
{
	if (n > r->len - r->off)
		return FALSE;
	memcpy(out, r->data + r->off, n);
	r->off += n;
	return TRUE;
}

static gboolean
read_u8(Reader *r, guint8 *out)
{
	return read_bytes(r, out, 1);
}

/* A length-prefixed string of 1..@max printable bytes without NUL. */
static char *
read_string(Reader *r, gsize max)
{
	guint8 n;
	char buf[256];

	G_STATIC_ASSERT(TR_INVITE_SERVER_MAX < sizeof(buf));
	if (!read_u8(r, &n) || n == 0 || n > max || !read_bytes(r, buf, n))
		return NULL;
	if (memchr(buf, '\0', n) != NULL)
		return NULL;
	return g_strndup(buf, n);
}

static gboolean
malformed(GError **error, const char *what)
{
	g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
	            "the invite token is malformed (%s); ask for a new one", what);
	return FALSE;
}

static gboolean
read_payload(Reader *r, TrInviteToken *t, GError **error)
{
	g_autoptr(GPtrArray) servers = g_ptr_array_new_with_free_func(g_free);
	guint8 version, be[8], n_servers;
	g_autoptr(GError) local = NULL;

	if (!read_u8(r, &version))
		return malformed(error, "empty");
	if (version != TR_INVITE_VERSION) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "the invite token has version %u; this trellis reads version %u "
		            "(update trellis on this machine)",
		            version, (unsigned)TR_INVITE_VERSION);
		return FALSE;
	}
	if (!read_bytes(r, t->id, TR_INVITE_ID_LEN) ||
	    !read_bytes(r, t->secret, TR_INVITE_SECRET_LEN) ||
	    !read_bytes(r, t->ca_fingerprint, TR_INVITE_FP_LEN) || !read_bytes(r, be, 8))
		return malformed(error, "too short");
	t->expires = 0;
	for (int i = 0; i < 8; i++)
		t->expires = (gint64)((guint64)t->expires << 8 | be[i]);
	if (t->expires <= 0)
		return malformed(error, "bad expiry");
	t->name = read_string(r, TR_PKI_NAME_MAX);
	if (t->name == NULL || !tr_pki_name_validate(t->name, &local))
		return malformed(error, "bad name");
	if (!read_u8(r, &n_servers) || n_servers == 0 || n_servers > TR_INVITE_MAX_SERVERS)
		return malformed(error, "bad number of hub addresses");
	for (guint i = 0; i < n_servers; i++) {
		char *s = read_string(r, TR_INVITE_SERVER_MAX);

		if (s == NULL)
			return malformed(error, "bad hub address");
		g_ptr_array_add(servers, s);
		if (!server_validate(s, &local))
			return malformed(error, "bad hub address");
	}
	if (r->off != r->len)
		return malformed(error, "trailing bytes");
	g_ptr_array_add(servers, NULL);
	t->servers = (char **)g_ptr_array_free(g_steal_pointer(&servers), FALSE);
	return TRUE;
}

TrInviteToken *
tr_invite_token_parse(const char *text, GError **error)
{
	g_autoptr(TrInviteToken) t = g_new0(TrInviteToken, 1);
	guint8 buf[PAYLOAD_MAX + TR_INVITE_CHECK_LEN + 3];
	guint8 check[TR_INVITE_CHECK_LEN];
	const char *body;
	gsize len;
	gssize n;
	Reader r;
	gboolean ok;

	while (g_ascii_isspace(*text))
		text++;
	len = strlen(text);
	while (len > 0 && g_ascii_isspace(text[len - 1]))
		len--;
	if (len > TR_INVITE_TOKEN_MAX || len < strlen(TR_INVITE_TOKEN_PREFIX) ||
	    strncmp(text, TR_INVITE_TOKEN_PREFIX, strlen(TR_INVITE_TOKEN_PREFIX)) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "this is not an invite token (it starts with '%s'); copy the whole "
		            "line that 'trellis invite' printed",
		            TR_INVITE_TOKEN_PREFIX);
		return NULL;
	}
	body = text + strlen(TR_INVITE_TOKEN_PREFIX);
	len -= strlen(TR_INVITE_TOKEN_PREFIX);
	n = b64url_decode(body, len, buf, sizeof(buf));
	if (n < 0 || (gsize)n < PAYLOAD_FIXED_LEN + TR_INVITE_CHECK_LEN ||
	    (gsize)n > PAYLOAD_MAX + TR_INVITE_CHECK_LEN || !checksum(buf, (gsize)n - 4, check) ||
	    memcmp(check, buf + n - TR_INVITE_CHECK_LEN, TR_INVITE_CHECK_LEN) != 0) {
		gnutls_memset(buf, 0, sizeof(buf));
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "the invite token is damaged (checksum mismatch: a character is wrong, "
		            "missing or extra); copy the whole line again");
		return NULL;
	}
	r = (Reader){buf, (gsize)n - TR_INVITE_CHECK_LEN, 0};
	ok = read_payload(&r, t, error);
	gnutls_memset(buf, 0, sizeof(buf));
	return ok ? g_steal_pointer(&t) : NULL;
}

gboolean
tr_invite_token_expired(const TrInviteToken *token, gint64 now)
{
	return now >= token->expires;
}

char *
tr_invite_id_to_hex(const guint8 *id)
{
	GString *s = g_string_sized_new(TR_INVITE_ID_HEX_LEN);

	for (int i = 0; i < TR_INVITE_ID_LEN; i++)
		g_string_append_printf(s, "%02x", id[i]);
	return g_string_free(s, FALSE);
}

gboolean
tr_invite_id_from_hex(const char *hex, guint8 *id)
{
	static const char digits[] = "0123456789abcdef";

	if (hex == NULL || strlen(hex) != TR_INVITE_ID_HEX_LEN)
		return FALSE;
	for (int i = 0; i < TR_INVITE_ID_LEN; i++) {
		const char *hi = hex[2 * i] ? strchr(digits, hex[2 * i]) : NULL;
		const char *lo = hex[2 * i + 1] ? strchr(digits, hex[2 * i + 1]) : NULL;

		if (hi == NULL || lo == NULL)
			return FALSE;
		id[i] = (guint8)((hi - digits) << 4 | (lo - digits));
	}
	return TRUE;
}

gboolean
tr_invite_derive_psk(const guint8 *secret, const guint8 *id, guint8 *psk, GError **error)
{
	guint8 msg[sizeof(PSK_LABEL) - 1 + TR_INVITE_ID_LEN];
	int rc;

	memcpy(msg, PSK_LABEL, sizeof(PSK_LABEL) - 1);
	memcpy(msg + sizeof(PSK_LABEL) - 1, id, TR_INVITE_ID_LEN);
	rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, TR_INVITE_SECRET_LEN, msg, sizeof(msg),
	                      psk);
	if (rc < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "HMAC-SHA256: %s",
		            gnutls_strerror(rc));
		return FALSE;
	}
	return TRUE;
}

char *
tr_invite_psk_identity(const guint8 *id)
{
	g_autofree char *hex = tr_invite_id_to_hex(id);
	return g_strconcat(TR_INVITE_PSK_IDENTITY_PREFIX, hex, NULL);
}
