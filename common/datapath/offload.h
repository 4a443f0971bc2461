/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Segmentation and coalescing for the data path, the userspace half of the
 * device offloads (TrGso, platform/device.h):
 *
 *  - tr_gso_split(): a TCP (or UDP) super-packet read from a tun device with
 *    TSO (or USO) becomes the packets the kernel would have sent on the wire:
 *    headers copied, IPv4 total length / id / header checksum and IPv6 payload
 *    length rewritten, TCP sequence numbers advanced, FIN/PSH only on the last
 *    segment and CWR only on the first, L4 checksums computed in full. A
 *    plain packet with a partial checksum (needs_csum) gets its checksum
 *    completed.
 *  - TrGro: decrypted packets of a batch, before they are written to the
 *    device, are merged where they continue one another (same TCP flow,
 *    consecutive sequence numbers, equal segment sizes, only ACK and PSH set,
 *    identical IP fields and TCP options, valid checksums) into super-packets
 *    with TrGso metadata, so the kernel's TCP stack sees a few large packets
 *    instead of many small ones. Anything else passes through unchanged.
 *
 * IPv4 without options and IPv6 without extension headers are handled; other
 * packets pass unchanged (coalescing) or are refused (splitting a super-packet
 * it cannot parse: -EPROTO). No allocation, lock or log: the data path calls
 * these on preallocated packets.
 */
#include "common/datapath/packet.h"
#include "platform/device.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Splits the packet at @data (@len bytes, described by @gso as read from the
 * device) into @out[0..n): each out packet is tr_packet_reset() and then
 * holds one packet of at most gso->hdr_len + gso->gso_size bytes. A packet
 * that needs no splitting (type NONE) is copied to out[0] (its checksum
 * completed when needs_csum). Returns the number of packets, or:
 *   -ENOBUFS  more segments than @n_out
 *   -EPROTO   not a packet this code can segment (bad headers, unsupported
 *             type, a gso/hdr_len/csum field that does not match the packet)
 */
int tr_gso_split(const TrGso *gso, const uint8_t *data, size_t len, TrPacket *const *out,
                 unsigned n_out);

/*
 * Cutting a super-packet in place, without copying its payload: segment i's
 * headers are written right before its payload, over the last bytes of
 * segment i - 1, so each segment comes out whole in the super-packet's own
 * buffer, one at a time, as tr_gso_split() would make it.
 */
#define TR_GSO_HDR_MAX 100u /* IPv6 and the longest TCP header */

typedef struct {
	/* private: */
	uint8_t *data;
	size_t len, n_seg, next;
	uint32_t seq;
	uint16_t hdr_len, gso_size, id;
	uint8_t iphl, proto;
	bool partial; /* TCP checksums left partial (tr_gso_cut_leave_partial) */
	/* folded sums of what every segment shares: the IPv4 header but its total
	 * length, id and checksum; the pseudo header but its length */
	uint16_t ip4_sum, pseudo_sum;
	uint8_t hdr[TR_GSO_HDR_MAX]; /* the super-packet's headers, as read */
} TrGsoCut;

/*
 * Starts cutting the super-packet at @data (@len bytes, @gso as read; type
 * not NONE). Returns the number of segments, -EPROTO as tr_gso_split(), or
 * -ENOSPC when segments are shorter than the headers (tr_gso_split() then).
 */
int tr_gso_cut_begin(TrGsoCut *cut, const TrGso *gso, uint8_t *data, size_t len);

/*
 * The next segment, complete, *@seg_len bytes at the returned address inside
 * the super-packet; NULL after the last. It overwrites the end of the one
 * before: the caller is done with a segment when it asks for the next.
 */
uint8_t *tr_gso_cut_next(TrGsoCut *cut, size_t *seg_len);

/*
 * After tr_gso_cut_begin(): the TCP segments of this cut keep their checksum
 * partial (TR_PACKET_CSUM_PARTIAL: the folded pseudo-header sum in the field,
 * nothing summed over the segment) for a peer that takes them so. Returns
 * whether they will (false for UDP super-packets, whose checksums are
 * computed in full as before).
 */
bool tr_gso_cut_leave_partial(TrGsoCut *cut);

/*
 * A TCP segment with its checksum left partial (TR_PACKET_CSUM_PARTIAL),
 * checked for the shape such a segment has (IPv4 without options or IPv6
 * without extension headers, TCP, lengths that match @len); -EPROTO if it
 * has another.
 *
 * tr_csum_partial_prepare() writes the right pseudo-header sum into the
 * checksum field (whatever was there), so the segment can go to a device as
 * CHECKSUM_PARTIAL; *@iphl gets the IP header's length (csum_start).
 * tr_csum_partial_finish() computes the checksum in full instead (a plain
 * packet, for a device or peer that does not take partial ones).
 */
int tr_csum_partial_prepare(uint8_t *data, size_t len, unsigned *iphl);
int tr_csum_partial_finish(uint8_t *data, size_t len);

/* Completes the L4 checksum of one packet in place as @gso says (needs_csum). */
int tr_gso_complete_csum(const TrGso *gso, uint8_t *data, size_t len);

/* The coalescer: one per worker, reset for each batch. */
#define TR_GRO_MAX 128 /* packets per batch */

typedef struct {
	TrPacket *pkt; /* the packet to write (a merged one keeps the first packet's buffer) */
	/* after tr_gro_finish(): TR_GSO_NONE for a packet that was not merged (with
	 * needs_csum when it came with TR_PACKET_CSUM_PARTIAL) */
	TrGso gso;
	/* private: */
	uint32_t flow_hash;
	uint32_t next_seq;
	uint16_t n_segs;
	bool closed; /* no more segments may join */
} TrGroItem;

typedef struct {
	TrGroItem items[TR_GRO_MAX];
	unsigned n;
	bool enabled;     /* false: every packet passes through unmerged */
	unsigned max_len; /* largest super-packet (<= 65535; default 65535) */
} TrGro;

void tr_gro_init(TrGro *gro, bool enabled);
/* Empties it for the next batch. */
void tr_gro_reset(TrGro *gro);

/*
 * Offers @pkt (a complete IP packet, tun device). A packet with
 * TR_PACKET_CSUM_PARTIAL must have passed tr_csum_partial_prepare(): its TCP
 * checksum is not checked (its sender left it for the device; the data
 * channel authenticated every byte), only its IPv4 header's. Either merges its payload
 * into an earlier packet of this batch (returns true: @pkt is free to reuse)
 * or appends it as a new item (returns false: @pkt now belongs to the item
 * until tr_gro_reset). When the batch is full (n == TR_GRO_MAX) the caller
 * must flush first.
 */
bool tr_gro_add(TrGro *gro, TrPacket *pkt);

/*
 * Finalises merged items (IP lengths, header checksum, the TCP pseudo-header
 * checksum with needs_csum) so items[0..n) can be written to the device in
 * order with their gso metadata.
 */
void tr_gro_finish(TrGro *gro);

/*
 * Internet checksum helpers (RFC 1071), exposed for tests.
 *
 * tr_csum_partial() adds @len bytes, taken as big-endian 16-bit words (an odd
 * last byte padded with zero), to @sum and returns the sum, not folded but
 * kept within 32 bits (equal to the plain sum modulo 0xffff). @data needs no
 * alignment; sums of pieces add up only where every piece but the last has
 * an even length.
 *
 * tr_csum_fold() folds a sum to 16 bits and does NOT complement it: a
 * checksum field takes ~tr_csum_fold(), a field left for the device with
 * needs_csum takes tr_csum_fold() of the pseudo-header sum, and data with a
 * correct checksum (pseudo header included) folds to 0xffff.
 */
uint32_t tr_csum_partial(const void *data, size_t len, uint32_t sum);
uint16_t tr_csum_fold(uint32_t sum);

#ifdef __cplusplus
}
#endif
