/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The one-line invite token `trellis invite` prints and `trellis join` takes
 * (format in docs/PKI.md, "Invites"):
 *
 *   "trellis1:" base64url(payload || first 4 bytes of SHA-256(payload))
 *
 *   payload = version(u8 = 1) id[8] secret[32] ca_fingerprint[32]
 *             expires(u64 BE, Unix seconds) name_len(u8) name
 *             n_servers(u8) { len(u8) "HOST[:PORT]" }*
 *
 * The checksum catches typos before anything is sent; it is not a MAC (the
 * secret is what authenticates, through the TLS PSK derived from it).
 */
#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define TR_INVITE_TOKEN_PREFIX "trellis1:"
#define TR_INVITE_VERSION      1
#define TR_INVITE_ID_LEN       8
#define TR_INVITE_ID_HEX_LEN   (2 * TR_INVITE_ID_LEN)
#define TR_INVITE_SECRET_LEN   32
#define TR_INVITE_FP_LEN       32 /* SHA-256 of the CA certificate (DER) */
#define TR_INVITE_CHECK_LEN    4
#define TR_INVITE_PSK_LEN      32
#define TR_INVITE_MAX_SERVERS  8
#define TR_INVITE_SERVER_MAX   255
#define TR_INVITE_TOKEN_MAX    4096 /* characters; longer text is refused unread */

/* The TLS PSK identity of an invite is this prefix and the id in hex. */
#define TR_INVITE_PSK_IDENTITY_PREFIX "invite:"

typedef struct {
	guint8 id[TR_INVITE_ID_LEN];
	guint8 secret[TR_INVITE_SECRET_LEN]; /* wiped by tr_invite_token_free() */
	guint8 ca_fingerprint[TR_INVITE_FP_LEN];
	gint64 expires; /* Unix seconds */
	char *name;     /* the certificate's NAME */
	char **servers; /* "HOST[:PORT]", 1..TR_INVITE_MAX_SERVERS */
} TrInviteToken;

void tr_invite_token_free(TrInviteToken *token);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrInviteToken, tr_invite_token_free)

/* The token's text. TR_ERROR_INVALID when a field is out of range. */
char *tr_invite_token_encode(const TrInviteToken *token, GError **error);

/*
 * Parses a token (surrounding white space is ignored). A wrong prefix,
 * alphabet, length or checksum is TR_ERROR_INVALID with a message saying the
 * token is damaged; a checksum that matches over bad fields is "malformed".
 */
TrInviteToken *tr_invite_token_parse(const char *text, GError **error);

/* Whether @now (Unix seconds) is at or past the token's expiry. */
gboolean tr_invite_token_expired(const TrInviteToken *token, gint64 now);

/* The id as TR_INVITE_ID_HEX_LEN lowercase hex digits. */
char *tr_invite_id_to_hex(const guint8 *id);

/* Exactly TR_INVITE_ID_HEX_LEN lowercase hex digits (safe as a file name). */
gboolean tr_invite_id_from_hex(const char *hex, guint8 *id);

/*
 * The TLS PSK both sides use for an invite:
 * HMAC-SHA256(key = secret, "trellis invite psk v1" || id).
 */
gboolean tr_invite_derive_psk(const guint8 *secret, const guint8 *id, guint8 *psk, GError **error);

/* "invite:<id hex>", the PSK identity the joining side presents. */
char *tr_invite_psk_identity(const guint8 *id);

G_END_DECLS
