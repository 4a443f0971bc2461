/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * ChaCha20-Poly1305 through OpenSSL's libcrypto (EVP), for the data channel
 * only (common/cipher.c picks it; the TLS control channel stays on GnuTLS).
 * OpenSSL carries vectorized ChaCha20 and Poly1305 (SSSE3, AVX2, AVX-512 on
 * x86-64; NEON on ARMv8), picked at run time: four to seven times GnuTLS's on
 * the machines measured in docs/PERFORMANCE.md.
 *
 * Private to cipher.c: callers use TrAead.
 */

#include <glib.h>

#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* One key's context: OpenSSL's EVP_CIPHER_CTX, left opaque here. */
typedef struct evp_cipher_ctx_st TrOsslAead;

/*
 * A context holding a copy of @key (32 bytes), or NULL with @error set when
 * libcrypto has no ChaCha20-Poly1305 (a provider configuration without it).
 * Allocates; freeing wipes the key.
 */
TrOsslAead *tr_ossl_aead_new(const uint8_t key[32], GError **error);
void tr_ossl_aead_free(TrOsslAead *ctx);

/*
 * Seals @len bytes at @in into @out (@in == @out allowed) and writes the
 * 16-byte tag at @out + @len. Returns 0 or -EIO. No allocation.
 */
int tr_ossl_aead_seal(TrOsslAead *ctx, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                      const uint8_t *in, size_t len, uint8_t *out);

/*
 * Opens @len bytes of ciphertext at @in followed by the 16-byte tag at
 * @in + @len, writing the plaintext at @out (@in == @out allowed). Returns 0
 * or -EBADMSG. No allocation.
 */
int tr_ossl_aead_open(TrOsslAead *ctx, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                      const uint8_t *in, size_t len, uint8_t *out);

/* "OpenSSL 3.0.19 27 Jan 2026": the libcrypto loaded at run time. */
const char *tr_ossl_version(void);

G_END_DECLS
