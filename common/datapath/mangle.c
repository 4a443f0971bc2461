/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/mangle.h"

#include <string.h>

#define TCP_SYN     0x02u
#define TCPOPT_EOL  0u
#define TCPOPT_NOP  1u
#define TCPOPT_MSS  2u
#define ICMP_HLEN   8u
#define PTB_TTL     64u
#define IP4_MTU_MIN 68u
#define IP6_MTU_MIN 1280u

/* Adds @len bytes to a one's complement sum (RFC 1071); @sum stays unfolded. */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += tr_load_be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). A field at an odd offset from the
 * start of the checksummed data straddles two 16-bit words: its bytes count
 * swapped, so the update uses the swapped values.
 */
static void
csum_replace16(uint8_t *csum, uint16_t old, uint16_t new, bool odd)
{
	uint32_t sum;

	if (odd) {
		old = (uint16_t)(old << 8 | old >> 8);
		new = (uint16_t)(new << 8 | new >> 8);
	}
	sum = (uint32_t)(uint16_t)~tr_load_be16(csum) + (uint16_t)~old + new;
	tr_store_be16(csum, csum_fold(sum));
}

bool
tr_mangle_clamp_mss(uint8_t *pkt, size_t len, TrFrameType type, unsigned mtu)
{
	TrFrameInfo in;
	unsigned overhead, clamp, doff, avail;
	uint8_t *tcp;

	if (tr_frame_parse(pkt, len, type, &in) != TR_FRAME_OK || !in.has_l4 ||
	    in.l4_proto != TR_IPPROTO_TCP)
		return false;
	overhead = in.ip_version == 4 ? TR_IP4_HLEN + TR_TCP_HLEN : TR_IP6_HLEN + TR_TCP_HLEN;
	if (mtu <= overhead)
		return false;
	clamp = mtu - overhead > 0xffffu ? 0xffffu : mtu - overhead;

	avail = in.l3_off + in.l3_len - in.l4_off;
	if (avail < TR_TCP_HLEN)
		return false;
	tcp = pkt + in.l4_off;
	doff = (tcp[12] >> 4) * 4u;
	if (doff < TR_TCP_HLEN || doff > avail || !(tcp[13] & TCP_SYN))
		return false;

	for (unsigned i = TR_TCP_HLEN; i < doff;) {
		unsigned kind = tcp[i], olen, mss;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (doff - i < 2)
			break;
		olen = tcp[i + 1];
		if (olen < 2 || olen > doff - i)
			break;
		if (kind == TCPOPT_MSS && olen == 4) {
			mss = tr_load_be16(tcp + i + 2);
			if (mss <= clamp)
				return false;
			tr_store_be16(tcp + i + 2, (uint16_t)clamp);
			csum_replace16(tcp + 16, (uint16_t)mss, (uint16_t)clamp, (i + 2) & 1);
			return true;
		}
		i += olen;
	}
	return false;
}

#define ECN_MASK 3u
#define ECN_CE   3u

bool
tr_mangle_mark_ce(uint8_t *pkt, size_t len, TrFrameType type)
{
	TrFrameInfo in;
	uint8_t *ip;
	unsigned ecn;

	if (tr_frame_parse(pkt, len, type, &in) != TR_FRAME_OK ||
	    (in.ip_version != 4 && in.ip_version != 6))
		return false;
	ip = pkt + in.l3_off;
	if (in.ip_version == 4) {
		uint16_t old = tr_load_be16(ip);

		ecn = ip[1] & ECN_MASK;
		if (ecn == 0)
			return false;
		ip[1] |= ECN_CE;
		csum_replace16(ip + 10, old, tr_load_be16(ip), false);
		return true;
	}
	/* IPv6: the traffic class is bits 4-11 of the first word; ECN its low two */
	ecn = (ip[1] >> 4) & ECN_MASK;
	if (ecn == 0)
		return false;
	ip[1] |= ECN_CE << 4;
	return true;
}

static bool
ip4_unicast(const uint8_t *a)
{
	/* Not 0.0.0.0/8, 127.0.0.0/8, or 224.0.0.0/3 (multicast, reserved, broadcast). */
	return a[0] != 0 && a[0] != 127 && a[0] < 224;
}

static bool
ip6_unicast(const uint8_t *a)
{
	static const uint8_t zero[15];

	/* Not multicast, not :: and not ::1. */
	return a[0] != 0xff && !(memcmp(a, zero, 15) == 0 && a[15] <= 1);
}

/* IPv4: builds the IP header and ICMP message at @o; returns its length or 0. */
static size_t
build_frag_needed(const uint8_t *ip, const TrFrameInfo *in, unsigned mtu, uint8_t *o, size_t room)
{
	unsigned frag = tr_load_be16(ip + 6);
	size_t quote = in->l3_len < TR_PTB_QUOTE4_MAX ? in->l3_len : TR_PTB_QUOTE4_MAX;
	size_t total = TR_IP4_HLEN + ICMP_HLEN + quote;
	uint8_t *icmp = o + TR_IP4_HLEN;

	if (!(frag & 0x4000u) || (frag & 0x1fffu) != 0)
		return 0; /* DF clear: the sender lets us fragment; later fragments: no reply */
	if (!ip4_unicast(ip + 12) || !ip4_unicast(ip + 16))
		return 0;
	if (in->l4_proto == TR_IPPROTO_ICMP) {
		/* Never about an ICMP error (RFC 1122 3.2.2): only echo and other queries. */
		unsigned t;

		if (!in->has_l4 || in->l4_off >= in->l3_off + in->l3_len)
			return 0;
		t = ip[in->l4_off - in->l3_off];
		if (t == 3 || t == 4 || t == 5 || t == 11 || t == 12)
			return 0;
	}
	if (room < total)
		return 0;
	if (mtu < IP4_MTU_MIN)
		mtu = IP4_MTU_MIN;
	if (in->l3_len <= mtu)
		return 0; /* no smaller MTU to offer than the packet already has */

	o[0] = 0x45;
	o[1] = 0xc0; /* precedence "internetwork control", RFC 1812 4.3.2.5 */
	tr_store_be16(o + 2, (uint16_t)total);
	tr_store_be16(o + 4, 0);
	tr_store_be16(o + 6, 0x4000); /* DF; an atomic datagram needs no ID (RFC 6864) */
	o[8] = PTB_TTL;
	o[9] = TR_IPPROTO_ICMP;
	tr_store_be16(o + 10, 0);
	memcpy(o + 12, ip + 16, 4);
	memcpy(o + 16, ip + 12, 4);
	tr_store_be16(o + 10, csum_fold(csum_add(0, o, TR_IP4_HLEN)));

	icmp[0] = 3;
	icmp[1] = 4;
	tr_store_be16(icmp + 2, 0);
	tr_store_be16(icmp + 4, 0);
	tr_store_be16(icmp + 6, (uint16_t)(mtu > 0xffffu ? 0xffffu : mtu));
	memcpy(icmp + ICMP_HLEN, ip, quote);
	tr_store_be16(icmp + 2, csum_fold(csum_add(0, icmp, ICMP_HLEN + quote)));
	return total;
}

/* IPv6: builds the IP header and ICMPv6 message at @o; returns its length or 0. */
static size_t
build_too_big(const uint8_t *ip, const TrFrameInfo *in, unsigned mtu, uint8_t *o, size_t room)
{
	size_t quote = in->l3_len < TR_PTB_QUOTE6_MAX ? in->l3_len : TR_PTB_QUOTE6_MAX;
	size_t plen = ICMP_HLEN + quote;
	uint8_t *icmp = o + TR_IP6_HLEN;
	uint32_t sum;

	if (!ip6_unicast(ip + 8) || !ip6_unicast(ip + 24))
		return 0;
	if (in->l4_proto == TR_IPPROTO_ICMP6) {
		/* Never about an ICMPv6 error (types below 128; RFC 4443 2.4 e.1). */
		if (!in->has_l4 || in->l4_off >= in->l3_off + in->l3_len ||
		    ip[in->l4_off - in->l3_off] < 128)
			return 0;
	}
	if (room < TR_IP6_HLEN + plen)
		return 0;
	if (mtu < IP6_MTU_MIN)
		mtu = IP6_MTU_MIN;
	if (in->l3_len <= mtu)
		return 0; /* an IPv6 path takes 1280 bytes: the sender cannot go lower */

	tr_store_be32(o, 0x60000000u);
	tr_store_be16(o + 4, (uint16_t)plen);
	o[6] = TR_IPPROTO_ICMP6;
	o[7] = PTB_TTL;
	memcpy(o + 8, ip + 24, 16);
	memcpy(o + 24, ip + 8, 16);

	icmp[0] = 2;
	icmp[1] = 0;
	tr_store_be16(icmp + 2, 0);
	tr_store_be32(icmp + 4, mtu);
	memcpy(icmp + ICMP_HLEN, ip, quote);
	/* Pseudo-header (RFC 8200 8.1): addresses, upper-layer length, next header. */
	sum = csum_add(0, o + 8, 32);
	sum += (uint32_t)(plen >> 16) + (uint32_t)(plen & 0xffffu) + TR_IPPROTO_ICMP6;
	tr_store_be16(icmp + 2, csum_fold(csum_add(sum, icmp, plen)));
	return TR_IP6_HLEN + plen;
}

size_t
tr_mangle_build_ptb(const uint8_t *pkt, size_t len, TrFrameType type, unsigned mtu, uint8_t *out,
                    size_t out_size)
{
	TrFrameInfo in;
	const uint8_t *ip;
	size_t l2, n;

	if (tr_frame_parse(pkt, len, type, &in) != TR_FRAME_OK || in.ip_version == 0 ||
	    in.l3_len <= mtu)
		return 0;
	ip = pkt + in.l3_off;
	l2 = in.l3_off; /* the Ethernet header and tag are copied with the MACs swapped */
	if (in.has_eth && (pkt[0] & 1))
		return 0;
	if (out_size < l2)
		return 0;
	if (in.ip_version == 4)
		n = build_frag_needed(ip, &in, mtu, out + l2, out_size - l2);
	else
		n = build_too_big(ip, &in, mtu, out + l2, out_size - l2);
	if (n == 0)
		return 0;
	if (in.has_eth) {
		memcpy(out, pkt + TR_ETH_ALEN, TR_ETH_ALEN);
		memcpy(out + TR_ETH_ALEN, pkt, TR_ETH_ALEN);
		memcpy(out + 2 * TR_ETH_ALEN, pkt + 2 * TR_ETH_ALEN, l2 - 2 * TR_ETH_ALEN);
	}
	return l2 + n;
}
