/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/*
 * The shared key (--shared-key / --shared-key-file): text both sides hold,
 * stretched into the TLS 1.3 PSK (docs/PROTOCOL.md, "Authentication"):
 *
 *   PSK = PBKDF2-HMAC-SHA256(KEY, "trellis shared key v2 " + NETWORK,
 *                            200000 rounds, 32 bytes)
 *
 * where NETWORK is the network magic as 8 hex digits, so that one guess
 * computed for one network is worth nothing on another. A passive observer
 * of one handshake can test guesses of the key offline, so only a random
 * key is safe: `trellis genkey` makes one ("trk1-" and 43 base64url
 * characters, 256 bits); 64 hex digits are accepted as just as strong.
 * Anything else is a passphrase, still accepted (at least 8 characters)
 * but warned about at every start.
 */
#define TR_SHARED_KEY_PREFIX  "trk1-"
#define TR_SHARED_KEY_MIN_LEN 8
#define TR_SHARED_KEY_PSK_LEN 32

/* A new random 256-bit key in the genkey format. */
char *tr_shared_key_generate(void);

/* Whether @key is a genkey key or 64 hex digits (256 random bits). */
gboolean tr_shared_key_is_strong(const char *key);

/* The PSK for @key in the network @network (the magic as text). */
gboolean tr_shared_key_derive(const char *key, const char *network,
                              uint8_t out[TR_SHARED_KEY_PSK_LEN], GError **error);

/* The daemons' warning, at every start, about a key that is not of
 * genkey's strength (NULL: no shared key, nothing to say). */
void tr_shared_key_warn_if_weak(const char *key);

G_END_DECLS
