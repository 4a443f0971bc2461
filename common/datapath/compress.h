/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

G_BEGIN_DECLS

/*
 * Per-packet compression, negotiated per session and off by default:
 * compressing before encrypting makes the ciphertext length depend on the
 * plaintext's content, which an attacker who can inject chosen data next to
 * a secret can use to recover the secret (VORACLE, CRIME, BREACH).
 *
 * The values are the algorithm ids carried in the packet header's flags; a
 * new algorithm is a new value here plus a row in the table in compress.c.
 */
typedef enum {
	TR_COMPRESS_NONE = 0,
	TR_COMPRESS_LZO = 1, /* LZO1X-1 */
} TrCompress;

#define TR_COMPRESS_ID_MAX 15 /* ids fit in 4 header bits */

/* "none" (alias "off"), "lzo" (alias "lzo1x"). Case-insensitive. */
gboolean tr_compress_parse(const char *text, TrCompress *out, GError **error);
const char *tr_compress_name(TrCompress compress);

/* Whether @id names an algorithm this build implements (TR_COMPRESS_NONE included). */
gboolean tr_compress_supported(unsigned id);

/*
 * Scratch memory for (de)compressing one packet at a time: work memory and an
 * output buffer for every algorithm. One per worker thread, allocated once.
 */
typedef struct TrCompressScratch TrCompressScratch;

TrCompressScratch *tr_compress_scratch_new(void);
void tr_compress_scratch_free(TrCompressScratch *scratch);
/* cppcheck-suppress unknownMacro */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrCompressScratch, tr_compress_scratch_free)

/*
 * Compresses @len bytes (at most TR_PACKET_PAYLOAD_MAX) into the scratch
 * output and points @out at it. Returns the compressed length when it is
 * smaller than @len, 0 when the data did not shrink (send it as it is), or a
 * negative errno. No allocation.
 */
ssize_t tr_compress(TrCompress alg, TrCompressScratch *scratch, const uint8_t *in, size_t len,
                    const uint8_t **out);

/*
 * Decompresses untrusted @in into the scratch output, producing at most
 * @max_out bytes (capped to TR_PACKET_PAYLOAD_MAX), and points @out at the
 * result. Returns its length, or -EILSEQ for malformed input or output that
 * would exceed the cap. No allocation.
 */
ssize_t tr_decompress(TrCompress alg, TrCompressScratch *scratch, const uint8_t *in, size_t len,
                      size_t max_out, const uint8_t **out);

G_END_DECLS
