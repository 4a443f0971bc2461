/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/*
 * The data channel's AEAD methods, each through the library that runs it
 * fastest (tr_cipher_implementation()). TR_CIPHER_NONE carries
 * packets in the clear with no tag: neither confidentiality nor integrity. It
 * exists only for an explicitly configured unencrypted mode (both ends must
 * allow it; see TrDcConfig.allow_plaintext).
 */
typedef enum {
	TR_CIPHER_NONE = 0,
	TR_CIPHER_AES256_GCM = 1,
	TR_CIPHER_CHACHA20_POLY1305 = 2,
} TrCipher;

#define TR_CIPHER_KEY_LEN   32u /* every method takes 32-byte keys */
#define TR_CIPHER_NONCE_LEN 12u /* 4 zero bytes || 64-bit counter, big-endian */
#define TR_CIPHER_TAG_MAX   16u

/*
 * Parses a configured method name: "aes256-gcm" (alias "aes256"),
 * "chacha20-poly1305" (alias "chacha20"), "plaintext" (alias "none").
 * Case-insensitive.
 */
gboolean tr_cipher_parse(const char *text, TrCipher *out, GError **error);

/* The canonical config name: "aes256-gcm", "chacha20-poly1305", "plaintext". */
const char *tr_cipher_name(TrCipher cipher);

/*
 * A preference list: each text is one name or a comma-separated list
 * ("aes256-gcm,chacha20-poly1305"). At most @max ciphers; sets *@n and
 * whether plaintext was asked for (*@plaintext may be NULL).
 */
gboolean tr_cipher_parse_list(const char *const *texts, TrCipher *out, guint max, guint *n,
                              gboolean *plaintext, GError **error);

/* Bytes of tag the method appends: 16, or 0 for TR_CIPHER_NONE. */
size_t tr_cipher_tag_len(TrCipher cipher);

/*
 * The default method for this host: the faster of AES-256-GCM and
 * ChaCha20-Poly1305, measured once per process (a few milliseconds on first
 * call, thread-safe) on 1400-byte packets. Never TR_CIPHER_NONE.
 */
TrCipher tr_cipher_default(void);

/*
 * The default preference list of both daemons: tr_cipher_default() first,
 * then the other AEAD (never plaintext). Fills at most @max entries (@max >=
 * 1) and returns how many.
 */
guint tr_cipher_default_list(TrCipher *out, guint max);

/*
 * The library behind @cipher's AEAD in this build, with its version:
 * "GnuTLS 3.7.9", "OpenSSL 3.0.19 27 Jan 2026". For logs and benchmarks.
 */
const char *tr_cipher_implementation(TrCipher cipher);

/*
 * Measures raw AEAD speed of @cipher: seals @packet_len-byte buffers
 * in place for about @usec microseconds and returns MB/s (10^6 bytes of
 * plaintext per second), or a negative value if the method is unavailable.
 */
double tr_cipher_measure(TrCipher cipher, size_t packet_len, int64_t usec);

/*
 * One direction's key of one key epoch. Created (allocates) on key install,
 * used on the packet path (no allocation), freed when the key retires. Not
 * safe for concurrent use from several threads.
 */
typedef struct TrAead TrAead;

/* Takes a copy of @key into the library; the caller wipes its own copy. */
TrAead *tr_aead_new(TrCipher cipher, const uint8_t key[TR_CIPHER_KEY_LEN], GError **error);
void tr_aead_free(TrAead *aead);
/* cppcheck-suppress unknownMacro */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrAead, tr_aead_free)

/*
 * Encrypts @len bytes at @data in place and writes the tag right behind
 * them (the caller provides tr_cipher_tag_len() bytes of room there). The
 * nonce is 4 zero bytes followed by @counter in big-endian order; @ad is
 * authenticated, not encrypted. Returns 0 or -EIO (the library refused).
 */
int tr_aead_seal(TrAead *aead, uint64_t counter, const uint8_t *ad, size_t ad_len, uint8_t *data,
                 size_t len);

/*
 * Verifies and decrypts in place @len bytes at @data, the last
 * tr_cipher_tag_len() of which are the tag. Returns the plaintext length, or
 * -EBADMSG when authentication fails (the data is then garbage) or the input
 * is shorter than the tag.
 */
int tr_aead_open(TrAead *aead, uint64_t counter, const uint8_t *ad, size_t ad_len, uint8_t *data,
                 size_t len);

/*
 * As tr_aead_seal and tr_aead_open, from one buffer into another (they may
 * not overlap): sealing writes @len bytes of ciphertext and the tag at @out;
 * opening reads ciphertext and tag (@len bytes) at @in and writes the
 * plaintext at @out. One pass over the data instead of a copy and a pass.
 */
int tr_aead_seal_to(TrAead *aead, uint64_t counter, const uint8_t *ad, size_t ad_len,
                    const uint8_t *in, size_t len, uint8_t *out);
int tr_aead_open_to(TrAead *aead, uint64_t counter, const uint8_t *ad, size_t ad_len,
                    const uint8_t *in, size_t len, uint8_t *out);

G_END_DECLS
