/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Compression algorithms behind one table. The data channel only calls
 * tr_compress()/tr_decompress() with the id from the session or the header;
 * adding an algorithm is a new TrCompress value and a row here, with its
 * work memory and worst-case output size covered by the scratch sizes.
 */
#include "common/datapath/compress.h"

#include "common/base/error.h"
#include "common/datapath/packet.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <lzo/lzo1x.h>
#include <string.h>

/* LZO's documented worst case: in + in/16 + 64 + 3. */
#define LZO_BOUND(n) ((n) + (n) / 16 + 64 + 3)
#define SCRATCH_OUT  LZO_BOUND(TR_PACKET_PAYLOAD_MAX)
#define SCRATCH_WORK LZO1X_1_MEM_COMPRESS

struct TrCompressScratch {
	uint8_t out[SCRATCH_OUT] __attribute__((aligned(16)));
	uint8_t work[SCRATCH_WORK] __attribute__((aligned(16)));
};

typedef struct {
	TrCompress id;
	const char *name;
	const char *alias;
	/* Both return the output length or a negative errno; @cap bounds the output. */
	ssize_t (*compress)(const uint8_t *in, size_t len, uint8_t *out, size_t cap, void *work);
	ssize_t (*decompress)(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
} CompressOps;

static ssize_t
lzo_compress(const uint8_t *in, size_t len, uint8_t *out, size_t cap, void *work)
{
	lzo_uint out_len = cap;

	if (cap < LZO_BOUND(len))
		return -ENOBUFS;
	if (lzo1x_1_compress(in, len, out, &out_len, work) != LZO_E_OK)
		return -EIO;
	return (ssize_t)out_len;
}

static ssize_t
lzo_decompress(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	lzo_uint out_len = cap;

	/* The _safe variant checks every read and write against the lengths given. */
	if (lzo1x_decompress_safe(in, len, out, &out_len, NULL) != LZO_E_OK)
		return -EILSEQ;
	return (ssize_t)out_len;
}

static const CompressOps algorithms[] = {
        {TR_COMPRESS_NONE, "none", "off", NULL, NULL},
        {TR_COMPRESS_LZO, "lzo", "lzo1x", lzo_compress, lzo_decompress},
};

static const CompressOps *
lookup(unsigned id)
{
	for (size_t i = 0; i < G_N_ELEMENTS(algorithms); i++) {
		if ((unsigned)algorithms[i].id == id)
			return &algorithms[i];
	}
	return NULL;
}

gboolean
tr_compress_parse(const char *text, TrCompress *out, GError **error)
{
	for (size_t i = 0; i < G_N_ELEMENTS(algorithms); i++) {
		if (g_ascii_strcasecmp(text, algorithms[i].name) == 0 ||
		    g_ascii_strcasecmp(text, algorithms[i].alias) == 0) {
			*out = algorithms[i].id;
			return TRUE;
		}
	}
	g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "compression '%s': expected none or lzo",
	            text);
	return FALSE;
}

const char *
tr_compress_name(TrCompress compress)
{
	const CompressOps *ops = lookup(compress);

	return ops ? ops->name : "unknown";
}

gboolean
tr_compress_supported(unsigned id)
{
	return lookup(id) != NULL;
}

static gpointer
init_lzo(gpointer unused)
{
	return GINT_TO_POINTER(lzo_init() == LZO_E_OK);
}

TrCompressScratch *
tr_compress_scratch_new(void)
{
	static GOnce once = G_ONCE_INIT;

	/* lzo_init() only checks the build's assumptions about the ABI. */
	if (!GPOINTER_TO_INT(g_once(&once, init_lzo, NULL)))
		g_warning("lzo_init() failed: LZO compression will fail");
	return g_new0(TrCompressScratch, 1);
}

void
tr_compress_scratch_free(TrCompressScratch *scratch)
{
	if (scratch == NULL)
		return;
	/* It held plaintext. */
	gnutls_memset(scratch->out, 0, sizeof(scratch->out));
	g_free(scratch);
}

ssize_t
tr_compress(TrCompress alg, TrCompressScratch *scratch, const uint8_t *in, size_t len,
            const uint8_t **out)
{
	const CompressOps *ops = lookup(alg);
	ssize_t n;

	if (ops == NULL || ops->compress == NULL || scratch == NULL)
		return -EINVAL;
	if (len > TR_PACKET_PAYLOAD_MAX)
		return -EMSGSIZE;
	n = ops->compress(in, len, scratch->out, sizeof(scratch->out), scratch->work);
	if (n < 0)
		return n;
	*out = scratch->out;
	return (size_t)n < len ? n : 0;
}

ssize_t
tr_decompress(TrCompress alg, TrCompressScratch *scratch, const uint8_t *in, size_t len,
              size_t max_out, const uint8_t **out)
{
	const CompressOps *ops = lookup(alg);
	ssize_t n;

	if (ops == NULL || ops->decompress == NULL || scratch == NULL)
		return -EINVAL;
	n = ops->decompress(in, len, scratch->out, MIN(max_out, TR_PACKET_PAYLOAD_MAX));
	if (n < 0)
		return -EILSEQ;
	*out = scratch->out;
	return n;
}
