/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MSS clamping and PTB generation. Input: byte 0 the type (bit 0) and the
 * output room (bits 1..7, in 16-byte steps up to TR_PTB_MAX), bytes 1-2 the
 * MTU, the rest the packet or frame, copied into exact-size heap buffers so
 * that any access outside them trips ASan. Checks: a clamp changes at most
 * the MSS and the checksum and keeps a valid TCP checksum valid; a PTB reply
 * fits its buffer, parses, and carries correct checksums.
 */
#include "common/datapath/mangle.h"

#include <glib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t
sum(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i < len; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static bool
folds_to_zero(uint32_t s)
{
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff;
}

/* Whether the upper-layer checksum of the IP packet at @ip (as parsed) is right. */
static bool
l4_csum_ok(const uint8_t *pkt, const TrFrameInfo *in)
{
	const uint8_t *ip = pkt + in->l3_off;
	uint32_t ulen = in->l3_off + in->l3_len - in->l4_off, s;

	if (in->ip_version == 4)
		s = sum(ip + 12, 8, 0) + ulen + in->l4_proto;
	else
		s = sum(ip + 8, 32, 0) + (ulen >> 16) + (ulen & 0xffff) + in->l4_proto;
	return folds_to_zero(sum(pkt + in->l4_off, ulen, s));
}

/* An exact-size heap copy (ASan sees any access beyond it). */
static uint8_t *
copy(const uint8_t *data, size_t len)
{
	uint8_t *p = g_malloc(len ? len : 1);

	if (len)
		memcpy(p, data, len);
	return p;
}

static void
check_clamp(const uint8_t *data, size_t len, TrFrameType type, unsigned mtu)
{
	uint8_t *pkt = copy(data, len);
	TrFrameInfo in;
	bool valid = false, tcp;
	unsigned changed = 0;

	tcp = tr_frame_parse(pkt, len, type, &in) == TR_FRAME_OK && in.has_l4 && in.l4_proto == 6 &&
	      in.l3_off + in.l3_len - in.l4_off >= 20;
	if (tcp)
		valid = l4_csum_ok(pkt, &in);
	if (tr_mangle_clamp_mss(pkt, len, type, mtu)) {
		if (!tcp)
			__builtin_trap();
		for (size_t i = 0; i < len; i++)
			changed += pkt[i] != data[i];
		if (changed == 0 || changed > 4)
			__builtin_trap();
		if (valid && !l4_csum_ok(pkt, &in))
			__builtin_trap();
	} else if (len && memcmp(pkt, data, len) != 0) {
		__builtin_trap();
	}
	g_free(pkt);
}

static void
check_ptb(const uint8_t *data, size_t len, TrFrameType type, unsigned mtu, size_t room)
{
	uint8_t *pkt = copy(data, len);
	uint8_t *out = g_malloc(room ? room : 1);
	size_t n = tr_mangle_build_ptb(pkt, len, type, mtu, out, room);
	TrFrameInfo in;

	if (n > 0) {
		if (n > room || tr_frame_parse(out, n, type, &in) != TR_FRAME_OK ||
		    in.l3_off + in.l3_len != n || !in.has_l4)
			__builtin_trap();
		if (in.ip_version == 4) {
			if (!folds_to_zero(sum(out + in.l3_off, 20, 0)) || in.l4_proto != 1 ||
			    !folds_to_zero(sum(out + in.l4_off, n - in.l4_off, 0)) ||
			    out[in.l4_off] != 3 || out[in.l4_off + 1] != 4 || n - in.l3_off > 576)
				__builtin_trap();
		} else {
			if (in.l4_proto != 58 || !l4_csum_ok(out, &in) || out[in.l4_off] != 2 ||
			    n - in.l3_off > 1280)
				__builtin_trap();
		}
	}
	g_free(out);
	g_free(pkt);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TrFrameType type;
	unsigned mtu;
	size_t room;

	if (size < 3)
		return 0;
	type = (data[0] & 1) ? TR_FRAME_ETHERNET : TR_FRAME_IP;
	room = (size_t)(data[0] >> 1) * 16;
	if (room > TR_PTB_MAX)
		room = TR_PTB_MAX;
	mtu = (unsigned)data[1] << 8 | data[2];
	check_clamp(data + 3, size - 3, type, mtu);
	check_ptb(data + 3, size - 3, type, mtu, room);
	return 0;
}
