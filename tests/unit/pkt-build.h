/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Test helper: builds IPv4/IPv6 packets, TCP segments and Ethernet frames,
 * and checks Internet checksums from scratch. Written apart from the code
 * under test (common/datapath/mangle.c, common/datapath/offload.c) so that the two do not
 * share mistakes.
 */
#include "platform/net.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* RFC 1071 sum over @len bytes, plus @init; not folded. */
static inline uint32_t
pb_sum(const uint8_t *p, size_t len, uint32_t init)
{
	uint32_t s = init;

	for (size_t i = 0; i < len; i++)
		s += (i % 2 == 0) ? (uint32_t)p[i] << 8 : p[i];
	return s;
}

static inline uint16_t
pb_fold(uint32_t s)
{
	while (s > 0xffff)
		s = (s >> 16) + (s & 0xffff);
	return (uint16_t)~s;
}

/* Pseudo-header sum of an IP packet's upper layer of @ulen bytes, protocol @proto. */
static inline uint32_t
pb_pseudo(const uint8_t *ip, uint32_t ulen, uint8_t proto)
{
	if ((ip[0] >> 4) == 4)
		return pb_sum(ip + 12, 8, 0) + ulen + proto;
	return pb_sum(ip + 8, 32, 0) + (ulen >> 16) + (ulen & 0xffff) + proto;
}

static inline size_t
pb_iphlen(const uint8_t *ip)
{
	return (ip[0] >> 4) == 4 ? (size_t)(ip[0] & 15) * 4 : 40;
}

static inline size_t
pb_iplen(const uint8_t *ip)
{
	return (ip[0] >> 4) == 4 ? (size_t)(ip[2] << 8 | ip[3]) : 40 + (size_t)(ip[4] << 8 | ip[5]);
}

/*
 * Recomputes the upper-layer checksum at @csum_off (even) of the upper layer
 * (no extension headers): the sum around the field, as if it were zero.
 */
static inline uint16_t
pb_l4_csum(const uint8_t *ip, uint8_t proto, size_t csum_off)
{
	size_t h = pb_iphlen(ip), n = pb_iplen(ip) - h;
	uint32_t s = pb_pseudo(ip, (uint32_t)n, proto);

	g_assert_cmpuint(csum_off % 2, ==, 0);
	g_assert_cmpuint(csum_off + 2, <=, n);
	s = pb_sum(ip + h, csum_off, s);
	return pb_fold(pb_sum(ip + h + csum_off + 2, n - csum_off - 2, s));
}

/* Whether the upper layer's checksum, as it stands, is right (the whole sum is -0). */
static inline bool
pb_l4_ok(const uint8_t *ip, uint8_t proto)
{
	size_t h = pb_iphlen(ip), n = pb_iplen(ip) - h;

	return pb_fold(pb_sum(ip + h, n, pb_pseudo(ip, (uint32_t)n, proto))) == 0;
}

static inline uint16_t
pb_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
pb_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t
pb_get32(const uint8_t *p)
{
	return (uint32_t)pb_get16(p) << 16 | pb_get16(p + 2);
}

static inline void
pb_put32(uint8_t *p, uint32_t v)
{
	pb_put16(p, (uint16_t)(v >> 16));
	pb_put16(p + 2, (uint16_t)v);
}

/* An IPv4 header + @payload at @buf; returns the packet length. */
static inline size_t
pb_ip4(uint8_t *buf, const char *src, const char *dst, uint8_t proto, bool df,
       const uint8_t *payload, size_t plen)
{
	memset(buf, 0, 20);
	buf[0] = 0x45;
	pb_put16(buf + 2, (uint16_t)(20 + plen));
	pb_put16(buf + 4, 0x1234);
	pb_put16(buf + 6, df ? 0x4000 : 0);
	buf[8] = 64;
	buf[9] = proto;
	g_assert_cmpint(inet_pton(AF_INET, src, buf + 12), ==, 1);
	g_assert_cmpint(inet_pton(AF_INET, dst, buf + 16), ==, 1);
	pb_put16(buf + 10, pb_fold(pb_sum(buf, 20, 0)));
	if (plen)
		memcpy(buf + 20, payload, plen);
	return 20 + plen;
}

static inline size_t
pb_ip6(uint8_t *buf, const char *src, const char *dst, uint8_t nh, const uint8_t *payload,
       size_t plen)
{
	memset(buf, 0, 40);
	buf[0] = 0x60;
	pb_put16(buf + 4, (uint16_t)plen);
	buf[6] = nh;
	buf[7] = 64;
	g_assert_cmpint(inet_pton(AF_INET6, src, buf + 8), ==, 1);
	g_assert_cmpint(inet_pton(AF_INET6, dst, buf + 24), ==, 1);
	if (plen)
		memcpy(buf + 40, payload, plen);
	return 40 + plen;
}

/* A TCP header with @flags and @opts (padded to 4 bytes by the caller) plus @data bytes of 'x'. */
static inline size_t
pb_tcp(uint8_t *buf, uint8_t flags, const uint8_t *opts, size_t optlen, size_t data)
{
	size_t h = 20 + optlen;

	g_assert_cmpuint(optlen % 4, ==, 0);
	memset(buf, 0, h);
	pb_put16(buf, 40000);
	pb_put16(buf + 2, 80);
	buf[4] = 0x11, buf[7] = 0x22;
	buf[12] = (uint8_t)((h / 4) << 4);
	buf[13] = flags;
	pb_put16(buf + 14, 64240);
	if (optlen)
		memcpy(buf + 20, opts, optlen);
	memset(buf + h, 'x', data);
	return h + data;
}

/* A UDP header (ports 40000 -> 53, length and checksum left 0) plus @data bytes of 'u'. */
static inline size_t
pb_udp(uint8_t *buf, size_t data)
{
	memset(buf, 0, 8);
	pb_put16(buf, 40000);
	pb_put16(buf + 2, 53);
	pb_put16(buf + 4, (uint16_t)(8 + data));
	memset(buf + 8, 'u', data);
	return 8 + data;
}

/* Fills in the TCP checksum of an IP packet whose payload is a TCP segment. */
static inline void
pb_tcp_fix(uint8_t *ip)
{
	size_t h = pb_iphlen(ip);

	pb_put16(ip + h + 16, pb_l4_csum(ip, 6, 16));
}

/* An Ethernet header (tagged with @vid unless it is negative) before @payload. */
static inline size_t
pb_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], int vid, uint16_t type,
       const uint8_t *payload, size_t plen)
{
	size_t h = 14;

	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	if (vid >= 0) {
		pb_put16(buf + 12, 0x8100);
		pb_put16(buf + 14, (uint16_t)vid);
		h = 18;
	}
	pb_put16(buf + h - 2, type);
	if (plen)
		memmove(buf + h, payload, plen);
	return h + plen;
}
