/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The data-channel packet decoder on untrusted datagrams: header peek, the
 * AEAD sessions (which must refuse all forgeries), and a plaintext session
 * with LZO, through which fuzzed bytes reach the decompressor directly.
 * Sessions use receiver index 0x01020304, the default magic, epoch 1 and the
 * key 00 01 .. 1f, as the PROTOCOL.md test vectors do.
 */
#include "common/datapath/datachannel.h"

#include <errno.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static TrPacket pkt;

static void
decode(TrCipher cipher, gboolean csum_partial, TrCompressScratch *scratch, const uint8_t *data,
       size_t size)
{
	static const uint8_t zero[TR_CIPHER_KEY_LEN];
	uint8_t key[TR_CIPHER_KEY_LEN];
	TrDcConfig cfg;
	TrDc *dc;
	g_autofree uint8_t *wire = NULL;
	TrDcType type;
	int ret;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	tr_dc_config_init(&cfg);
	cfg.cipher = cipher;
	cfg.allow_plaintext = TRUE;
	cfg.compress = TR_COMPRESS_LZO;
	cfg.local_index = cfg.peer_index = 0x01020304;
	cfg.csum_partial = csum_partial;
	dc = tr_dc_new(&cfg, NULL);
	if (dc == NULL || !tr_dc_install_keys(dc, 1, key, key, 0, NULL))
		__builtin_trap();
	/* Epoch 2 waits in the next slot, so both key ids are live. */
	if (!tr_dc_install_keys(dc, 2, zero, zero, 0, NULL))
		__builtin_trap();

	/* The datagram as the data plane holds it: in a buffer of its own, read-only. */
	wire = g_memdup2(data, size);
	ret = tr_dc_open(dc, scratch, wire, size, &pkt, &type, 0);
	if (ret == 0) {
		if (pkt.len > TR_PACKET_PAYLOAD_MAX || type < TR_DC_DATA || type > TR_DC_TYPE_MAX)
			__builtin_trap();
		/* The flag only where negotiated, only on DATA. */
		if ((pkt.flags & TR_PACKET_CSUM_PARTIAL) && (!csum_partial || type != TR_DC_DATA))
			__builtin_trap();
		/* The same datagram again is a replay. */
		if (tr_dc_open(dc, scratch, wire, size, &pkt, &type, 0) != -EALREADY)
			__builtin_trap();
	} else if (tr_dc_drop_from_errno(ret) == TR_DC_DROP_OTHER) {
		__builtin_trap(); /* every refusal has a named reason */
	}
	tr_dc_free(dc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static TrCompressScratch *scratch;
	const TrMagic magic = TR_MAGIC_DEFAULT;
	TrDcHeader h;

	if (size > TR_PACKET_BUFSIZE - TR_PACKET_HEADROOM + TR_DC_HEADER_LEN)
		return 0;
	if (scratch == NULL)
		scratch = tr_compress_scratch_new();
	tr_dc_peek(&magic, data, size, &h);
	decode(TR_CIPHER_NONE, FALSE, scratch, data, size);
	decode(TR_CIPHER_NONE, TRUE, scratch, data, size);
	decode(TR_CIPHER_AES256_GCM, TRUE, scratch, data, size);
	decode(TR_CIPHER_CHACHA20_POLY1305, FALSE, scratch, data, size);
	return 0;
}
