/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Classifying what the data path carries: IP packets (tun) and Ethernet
 * frames with at most one 802.1Q/802.1ad tag (tap). Pure code for the packet
 * path: no allocation, no locks, no logging. Every read is preceded by a
 * length check; malformed input yields a TrFrameDrop reason, never a read
 * past @len.
 *
 * Q-in-Q is not parsed: the outer tag's VID is the frame's VLAN and what
 * follows it (the inner tag included) is payload, so such a frame has no
 * L3 information (ethertype 0x8100/0x88a8 after the tag).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What a device carries. The values are those of TrDeviceType
 * (platform/device.h), so `(TrFrameType)dev_type` converts; a unit test
 * checks it.
 */
typedef enum {
	TR_FRAME_IP = 0,       /* tun: an IPv4 or IPv6 packet, no header */
	TR_FRAME_ETHERNET = 1, /* tap: an Ethernet frame without FCS */
} TrFrameType;

#define TR_ETH_HLEN       14u
#define TR_VLAN_HLEN      4u
#define TR_ETH_ALEN       6u
#define TR_ETHERTYPE_IP4  0x0800u
#define TR_ETHERTYPE_ARP  0x0806u
#define TR_ETHERTYPE_VLAN 0x8100u
#define TR_ETHERTYPE_QINQ 0x88a8u
#define TR_ETHERTYPE_IP6  0x86ddu
#define TR_IP4_HLEN       20u
#define TR_IP6_HLEN       40u
#define TR_TCP_HLEN       20u
#define TR_IPPROTO_ICMP   1u
#define TR_IPPROTO_TCP    6u
#define TR_IPPROTO_ICMP6  58u
#define TR_IPPROTO_FRAG6  44u

/* Why a packet or frame is malformed. */
typedef enum {
	TR_FRAME_OK = 0,
	TR_FRAME_DROP_SHORT,      /* shorter than its headers */
	TR_FRAME_DROP_IP_VERSION, /* tun: neither IPv4 nor IPv6 */
	TR_FRAME_DROP_IP_HEADER,  /* bad IPv4 IHL or total length, bad IPv6 payload length */
	TR_FRAME_DROP_SOURCE,     /* tap: a multicast source MAC */
	TR_FRAME_DROP_COUNT
} TrFrameDrop;

/* "ok", "short", "ip-version", "ip-header", "source". */
const char *tr_frame_drop_name(TrFrameDrop drop);

/* The layers found in a packet or frame; offsets are from its first byte. */
typedef struct {
	/* Ethernet (tap only) */
	bool has_eth;
	bool tagged;        /* one 802.1Q (0x8100) or 802.1ad (0x88a8) tag was present */
	uint16_t vid;       /* the tag's VLAN id (0 when untagged or priority-tagged) */
	uint16_t ethertype; /* after the tag; for tun, 0x0800 or 0x86dd by IP version */
	/* Network layer */
	uint8_t ip_version; /* 4 or 6; 0 for ARP and anything else */
	uint16_t l3_off;    /* start of the IP header or ARP body (tap: 14 or 18) */
	uint32_t l3_len;    /* the IP packet's own length (total length), <= bytes present */
	/* Transport (IPv4: unfragmented or first fragment; IPv6: after the extension headers) */
	uint8_t l4_proto; /* upper-layer protocol; 44 when an IPv6 fragment header stops the walk */
	bool has_l4;      /* l4_off is the start of the upper-layer header */
	bool fragment;    /* IPv4 MF or offset, or an IPv6 fragment header */
	uint32_t l4_off;  /* start of the upper-layer header (valid when has_l4) */
} TrFrameInfo;

/*
 * Classifies @pkt. For tap, anything that is not IPv4, IPv6 or ARP is still
 * TR_FRAME_OK with ip_version 0 (forwarded on MAC addresses alone); an IPv4 or
 * IPv6 payload that is malformed is a drop. Trailing bytes after the IP
 * packet (Ethernet padding) are allowed and not counted in l3_len.
 */
TrFrameDrop tr_frame_parse(const uint8_t *pkt, size_t len, TrFrameType type, TrFrameInfo *out);

/* Big-endian loads for offsets the caller has already bounds-checked. */
static inline uint16_t
tr_load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
tr_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
tr_store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
tr_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint64_t
tr_load_be64(const uint8_t *p)
{
	return (uint64_t)tr_load_be32(p) << 32 | tr_load_be32(p + 4);
}

static inline void
tr_store_be64(uint8_t *p, uint64_t v)
{
	tr_store_be32(p, (uint32_t)(v >> 32));
	tr_store_be32(p + 4, (uint32_t)v);
}

#ifdef __cplusplus
}
#endif
