/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Packet buffers for the data path: one fixed buffer with headroom in front
 * of the data and tailroom behind it, so that the data channel writes its
 * header and its authentication tag in place and encrypts and decrypts
 * without copying or allocating. Workers preallocate these and reuse them.
 */
#include <stddef.h>
#include <stdint.h>

/* Largest payload (a tunneled IP packet or Ethernet frame) a packet holds. */
#define TR_PACKET_PAYLOAD_MAX 65535u
/* Room in front of the payload: at least the data-channel header (20 bytes). */
#define TR_PACKET_HEADROOM 64u
/* Room behind the payload: at least the AEAD tag (16 bytes). */
#define TR_PACKET_TAILROOM 32u
#define TR_PACKET_BUFSIZE  (TR_PACKET_HEADROOM + TR_PACKET_PAYLOAD_MAX + TR_PACKET_TAILROOM)

/* TrPacket.flags */
enum {
	/*
	 * The packet is an IPv4 or IPv6 TCP segment whose checksum field holds
	 * only the folded pseudo-header sum, the rest left to be summed (Linux's
	 * CHECKSUM_PARTIAL: csum_start at the TCP header, csum_offset 16), as a
	 * sender's kernel hands it over with offloads on. Set by the data channel
	 * for a DATA packet sealed with TR_DC_SEAL_CSUM_PARTIAL.
	 */
	TR_PACKET_CSUM_PARTIAL = 1u << 0,
};

typedef struct {
	uint32_t off;   /* start of the data inside buf */
	uint32_t len;   /* bytes of data */
	uint32_t flags; /* TR_PACKET_* */
	uint8_t buf[TR_PACKET_BUFSIZE] __attribute__((aligned(16)));
} TrPacket;

/* The data: a payload before encryption and after decryption, a datagram in between. */
static inline uint8_t *
tr_packet_data(TrPacket *pkt)
{
	return pkt->buf + pkt->off;
}

/* Empties @pkt for a payload: the data starts after the headroom. */
static inline void
tr_packet_reset(TrPacket *pkt)
{
	pkt->off = TR_PACKET_HEADROOM;
	pkt->len = 0;
	pkt->flags = 0;
}

/* Room behind the data. */
static inline size_t
tr_packet_tailroom(const TrPacket *pkt)
{
	return TR_PACKET_BUFSIZE - pkt->off - pkt->len;
}
