/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * AES-256-GCM through libgcrypt, for the data channel only (common/cipher.c
 * picks it; the TLS control channel stays on GnuTLS). libgcrypt carries
 * AES-NI with VAES/VPCLMULQDQ code for GCM (AVX2 and AVX-512 on x86-64, the
 * ARMv8 crypto extensions on ARM), picked at run time: 16-28 % faster than
 * GnuTLS's on the machine measured in docs/PERFORMANCE.md.
 *
 * Private to cipher.c: callers use TrAead.
 */

#include <glib.h>

#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* One key's context: libgcrypt's cipher handle, left opaque here. */
typedef struct gcry_cipher_handle TrGcryAead;

/*
 * A context holding a copy of @key (32 bytes), or NULL with @error set when
 * libgcrypt refuses AES-256-GCM (too old, or a configuration without it).
 * Allocates; freeing wipes the key.
 */
TrGcryAead *tr_gcry_aead_new(const uint8_t key[32], GError **error);
void tr_gcry_aead_free(TrGcryAead *hd);

/*
 * Seals @len bytes at @in into @out (@in == @out allowed) and writes the
 * 16-byte tag at @out + @len. Returns 0 or -EIO. No allocation.
 */
int tr_gcry_aead_seal(TrGcryAead *hd, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                      const uint8_t *in, size_t len, uint8_t *out);

/*
 * Opens @len bytes of ciphertext at @in followed by the 16-byte tag at
 * @in + @len, writing the plaintext at @out (@in == @out allowed). Returns 0
 * or -EBADMSG (the plaintext at @out is then garbage). No allocation.
 */
int tr_gcry_aead_open(TrGcryAead *hd, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                      const uint8_t *in, size_t len, uint8_t *out);

/* "libgcrypt 1.10.1": the library loaded at run time. */
const char *tr_gcry_version(void);

G_END_DECLS
