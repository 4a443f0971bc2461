/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Segmentation and coalescing (common/datapath/offload.c). Byte 0 picks the mode.
 *
 * Split (byte 0 even): bytes 1-11 are a TrGso (type, flags: bit 0
 * needs_csum, bit 1 ecn, bit 2 "make the IP length field right", bit 3 "take
 * hdr_len and the csum fields from the headers"; hdr_len, gso_size,
 * csum_start, csum_offset big-endian) and n_out; the rest is the packet, in
 * an exact-size heap buffer. Checks: the result is -EPROTO, -ENOBUFS or a
 * count <= n_out; segments are no longer than hdr_len + gso_size, carry the
 * payload in order, have right lengths and checksums (summed here from
 * scratch); a plain packet is copied with at most its checksum field changed,
 * and that completed. Flags bit 4: a TCP super-packet is also cut in place
 * with its checksums left partial, and each segment, its checksum then
 * completed (tr_csum_partial_finish), must be the one the split made.
 *
 * Coalescing (byte 0 odd): byte 1 picks enabled and max_len, then records of
 * [control][length, 2 bytes][bytes]; control bit 0/1/2 makes the IP length /
 * IPv4 header checksum / TCP checksum right, bit 3 makes the packet continue
 * the previous one (its headers, the next sequence number, these bytes as
 * payload) so that merges are common, bit 4 marks it TR_PACKET_CSUM_PARTIAL
 * when tr_csum_partial_prepare() takes it. Checks: an unmerged item is its packet
 * unchanged (one marked partial: with needs_csum, completing right); a merged one fits max_len, its
 * partial checksum completes as the kernel would complete it, and split again it gives back, in
 * order, the packets that went into it (IPv4 id and checksums aside); every merged packet is found
 * in exactly one item.
 */
#include "common/datapath/offload.h"

#include "tests/unit/pkt-build.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PKTS 64

static TrPacket pkts[MAX_PKTS], segs[MAX_PKTS];
static uint8_t orig[MAX_PKTS][TR_PACKET_PAYLOAD_MAX];
static uint32_t orig_len[MAX_PKTS];

/* From-scratch sums (pb_fold complements): a right checksum makes the whole sum -0. */
static bool
l4_ok(const uint8_t *ip, size_t len, uint8_t proto)
{
	size_t h = pb_iphlen(ip);

	return pb_fold(pb_sum(ip + h, len - h, pb_pseudo(ip, (uint32_t)(len - h), proto))) == 0;
}

/* Makes the length fields, and the checksums asked for, right (IPv4 or IPv6, TCP). */
static void
fix_up(uint8_t *p, size_t len, unsigned what)
{
	size_t h;

	if (len < 20 || ((p[0] >> 4) != 4 && (p[0] >> 4) != 6))
		return;
	h = pb_iphlen(p);
	if (len < h || len > 0xffff)
		return;
	if (what & 1)
		pb_put16(p + ((p[0] >> 4) == 4 ? 2 : 4),
		         (uint16_t)((p[0] >> 4) == 4 ? len : len - 40));
	if ((what & 2) && (p[0] >> 4) == 4) {
		pb_put16(p + 10, 0);
		pb_put16(p + 10, pb_fold(pb_sum(p, h, 0)));
	}
	if ((what & 4) && len >= h + 20 && p[(p[0] >> 4) == 4 ? 9 : 6] == 6) {
		pb_put16(p + h + 16, 0);
		pb_put16(p + h + 16,
		         pb_fold(pb_sum(p + h, len - h, pb_pseudo(p, (uint32_t)(len - h), 6))));
	}
}

/* ---- Split ------------------------------------------------------------------- */

static void
check_split(const uint8_t *data, size_t size)
{
	TrPacket *out[MAX_PKTS];
	TrGso gso;
	unsigned n_out;
	uint8_t *p;
	size_t len, h;
	int rc;

	if (size < 12)
		return;
	gso = (TrGso){
	        .type = data[1] & 7,
	        .needs_csum = data[2] & 1,
	        .ecn = data[2] & 2,
	        .hdr_len = pb_get16(data + 3),
	        .gso_size = pb_get16(data + 5),
	        .csum_start = pb_get16(data + 7),
	        .csum_offset = pb_get16(data + 9),
	};
	n_out = data[11] % (MAX_PKTS + 1);
	len = size - 12;
	p = g_malloc(len ? len : 1); /* exact size: ASan sees any read past it */
	memcpy(p, data + 12, len);
	if (data[2] & 4)
		fix_up(p, len, 1);
	if ((data[2] & 8) && len >= 40 && ((p[0] >> 4) == 4 || (p[0] >> 4) == 6)) {
		h = pb_iphlen(p);
		gso.csum_start = (uint16_t)h;
		if (gso.type == TR_GSO_UDP_L4) {
			gso.hdr_len = (uint16_t)(h + 8);
			gso.csum_offset = 6;
		} else if (len >= h + 20) {
			gso.hdr_len = (uint16_t)(h + (p[h + 12] >> 4) * 4);
			gso.csum_offset = 16;
		}
	}
	for (unsigned i = 0; i < MAX_PKTS; i++)
		out[i] = &segs[i];

	rc = tr_gso_split(&gso, p, len, out, n_out);
	if (rc == -EPROTO || rc == -ENOBUFS)
		goto done;
	if (rc < 1 || (unsigned)rc > n_out)
		__builtin_trap();
	for (int i = 0; i < rc; i++)
		if (out[i]->off != TR_PACKET_HEADROOM || out[i]->len > TR_PACKET_PAYLOAD_MAX)
			__builtin_trap();

	if (gso.type == TR_GSO_NONE) {
		const uint8_t *o = tr_packet_data(out[0]);
		size_t field = (size_t)gso.csum_start + gso.csum_offset;

		if (rc != 1 || out[0]->len != len)
			__builtin_trap();
		for (size_t i = 0; i < len; i++)
			if (o[i] != p[i] && !(gso.needs_csum && (i == field || i == field + 1)))
				__builtin_trap();
		if (gso.needs_csum && pb_fold(pb_sum(o + gso.csum_start, len - gso.csum_start,
		                                     pb_get16(p + field))) != 0)
			__builtin_trap();
		goto done;
	}

	/* A super-packet: the payload in order, each segment a right packet. */
	{
		size_t hl = gso.hdr_len, at = hl, iphl = pb_iphlen(p);
		uint8_t proto = gso.type == TR_GSO_UDP_L4 ? 17 : 6;

		for (int i = 0; i < rc; i++) {
			const uint8_t *o = tr_packet_data(out[i]);
			size_t n = out[i]->len, plen = n - hl;

			if (n < hl || plen > gso.gso_size || memcmp(o + hl, p + at, plen) != 0)
				__builtin_trap();
			if (i < rc - 1 && plen != gso.gso_size)
				__builtin_trap();
			at += plen;
			if (iphl == 20 && (pb_get16(o + 2) != n || pb_fold(pb_sum(o, 20, 0)) != 0))
				__builtin_trap();
			if (iphl == 40 && pb_get16(o + 4) != n - 40)
				__builtin_trap();
			if (!l4_ok(o, n, proto))
				__builtin_trap();
			if (proto == 6 &&
			    pb_get32(o + iphl + 4) !=
			            pb_get32(p + iphl + 4) + (uint32_t)(i * gso.gso_size))
				__builtin_trap();
			if (proto == 17 && pb_get16(o + iphl + 4) != n - iphl)
				__builtin_trap();
		}
		if (at != len)
			__builtin_trap();
		/* Cut in place, checksums left partial: the same segments once completed. */
		if ((data[2] & 16) && proto == 6) {
			g_autofree uint8_t *q = g_memdup2(p, len);
			TrGsoCut cut;
			uint8_t *seg;
			size_t seg_len;
			int k = tr_gso_cut_begin(&cut, &gso, q, len), i = 0;

			if (k >= 0) {
				if (k != rc || !tr_gso_cut_leave_partial(&cut))
					__builtin_trap();
				while ((seg = tr_gso_cut_next(&cut, &seg_len)) != NULL) {
					if (i >= rc || seg_len != out[i]->len ||
					    tr_csum_partial_finish(seg, seg_len) < 0 ||
					    memcmp(seg, tr_packet_data(out[i]), seg_len) != 0)
						__builtin_trap();
					i++;
				}
				if (i != rc)
					__builtin_trap();
			} else if (k != -ENOSPC) {
				__builtin_trap();
			}
		}
	}
done:
	g_free(p);
}

/* ---- Coalescing -------------------------------------------------------------- */

/* The same packet but for what a split may set differently: IPv4 id and checksums. */
static bool
same_segment(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t h = pb_iphlen(a);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		if (h == 20 && (i == 4 || i == 5 || i == 10 || i == 11))
			continue;
		if (i == h + 16 || i == h + 17)
			continue;
		if (a[i] != b[i])
			return false;
	}
	return true;
}

/* Builds the next packet from a record; returns its length. */
static size_t
build(unsigned k, unsigned ctl, const uint8_t *rec, size_t rlen)
{
	uint8_t *d = orig[k];
	size_t len = rlen;

	if ((ctl & 8) && k > 0) {
		const uint8_t *prev = orig[k - 1];
		size_t plen = orig_len[k - 1], h, hl;

		if (plen >= 40 && ((prev[0] >> 4) == 4 || (prev[0] >> 4) == 6) &&
		    prev[(prev[0] >> 4) == 4 ? 9 : 6] == 6) {
			h = pb_iphlen(prev);
			hl = h + (size_t)(prev[h + 12] >> 4) * 4;
			if (plen >= hl && hl + rlen <= TR_PACKET_PAYLOAD_MAX) {
				uint32_t seq = pb_get32(prev + h + 4) + (uint32_t)(plen - hl);

				memcpy(d, prev, hl);
				memcpy(d + hl, rec, rlen);
				d[h + 4] = (uint8_t)(seq >> 24), d[h + 5] = (uint8_t)(seq >> 16);
				d[h + 6] = (uint8_t)(seq >> 8), d[h + 7] = (uint8_t)seq;
				len = hl + rlen;
				fix_up(d, len, 7);
				return len;
			}
		}
	}
	memcpy(d, rec, rlen);
	fix_up(d, len, ctl & 7);
	return len;
}

static void
check_gro(const uint8_t *data, size_t size)
{
	static TrGro gro;
	bool merged[MAX_PKTS] = {false}, claimed[MAX_PKTS] = {false};
	TrPacket *out[MAX_PKTS];
	unsigned n = 0, limit;
	size_t at = 2;

	if (size < 2)
		return;
	tr_gro_init(&gro, data[1] & 1);
	if (data[1] & 2)
		gro.max_len = (data[1] >> 2) * 1024u + 1;
	limit = gro.max_len < 65535 ? gro.max_len : 65535;

	while (n < MAX_PKTS && at + 3 <= size) {
		unsigned ctl = data[at], before = gro.n;
		size_t rlen = pb_get16(data + at + 1);

		at += 3;
		if (rlen > size - at)
			rlen = size - at;
		orig_len[n] = (uint32_t)build(n, ctl, data + at, rlen);
		at += rlen;
		tr_packet_reset(&pkts[n]);
		if (ctl & 16) {
			unsigned iphl;

			if (tr_csum_partial_prepare(orig[n], orig_len[n], &iphl) == 0)
				pkts[n].flags = TR_PACKET_CSUM_PARTIAL;
		}
		memcpy(tr_packet_data(&pkts[n]), orig[n], orig_len[n]);
		pkts[n].len = orig_len[n];
		merged[n] = tr_gro_add(&gro, &pkts[n]);
		if (merged[n] ? gro.n != before : gro.n != before + 1)
			__builtin_trap();
		if (merged[n] && !gro.enabled)
			__builtin_trap();
		n++;
	}
	tr_gro_finish(&gro);
	for (unsigned i = 0; i < MAX_PKTS; i++)
		out[i] = &segs[i];

	for (unsigned i = 0; i < gro.n; i++) {
		const TrGroItem *it = &gro.items[i];
		unsigned first = (unsigned)(it->pkt - pkts), next = first + 1;
		const uint8_t *o = tr_packet_data(it->pkt);
		int rc;

		if (first >= n || merged[first])
			__builtin_trap();
		if (it->n_segs < 2) {
			bool partial = (it->pkt->flags & TR_PACKET_CSUM_PARTIAL) != 0;

			if (it->gso.type != TR_GSO_NONE || it->gso.needs_csum != partial ||
			    it->pkt->len != orig_len[first] ||
			    memcmp(o, orig[first], orig_len[first]) != 0)
				__builtin_trap();
			if (partial) {
				static uint8_t c[TR_PACKET_PAYLOAD_MAX];
				size_t len = it->pkt->len;

				if (it->gso.csum_start != pb_iphlen(o) || it->gso.csum_offset != 16)
					__builtin_trap();
				memcpy(c, o, len);
				if (tr_gso_complete_csum(&it->gso, c, len) < 0 || !l4_ok(c, len, 6))
					__builtin_trap();
			}
			continue;
		}
		if (it->pkt->len > limit || !it->gso.needs_csum || it->gso.csum_offset != 16 ||
		    it->gso.csum_start != pb_iphlen(o))
			__builtin_trap();
		/* Completed as the kernel would: the seed in the field plus all the rest. */
		{
			static uint8_t c[TR_PACKET_PAYLOAD_MAX];
			size_t f = (size_t)it->gso.csum_start + 16, len = it->pkt->len;

			memcpy(c, o, len);
			pb_put16(c + f, pb_fold(pb_sum(c + it->gso.csum_start,
			                               len - it->gso.csum_start, 0)));
			if (!l4_ok(c, len, 6))
				__builtin_trap();
		}
		rc = tr_gso_split(&it->gso, o, it->pkt->len, out, MAX_PKTS);
		if (rc != it->n_segs)
			__builtin_trap();
		if (!same_segment(tr_packet_data(out[0]), out[0]->len, orig[first],
		                  orig_len[first]))
			__builtin_trap();
		for (int s = 1; s < rc; s++) {
			while (next < n && (!merged[next] || claimed[next] ||
			                    !same_segment(tr_packet_data(out[s]), out[s]->len,
			                                  orig[next], orig_len[next])))
				next++;
			if (next >= n)
				__builtin_trap();
			claimed[next++] = true;
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (merged[i] && !claimed[i])
			__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		check_gro(data, size);
	else
		check_split(data, size);
	return 0;
}
