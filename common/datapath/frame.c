/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/frame.h"

#include <string.h>

/* IPv6 extension headers walked to reach the upper-layer header; more is a stop. */
#define IP6_EXT_MAX 8

const char *
tr_frame_drop_name(TrFrameDrop drop)
{
	static const char *const names[TR_FRAME_DROP_COUNT] = {
	        [TR_FRAME_OK] = "ok",
	        [TR_FRAME_DROP_SHORT] = "short",
	        [TR_FRAME_DROP_IP_VERSION] = "ip-version",
	        [TR_FRAME_DROP_IP_HEADER] = "ip-header",
	        [TR_FRAME_DROP_SOURCE] = "source",
	};
	return (unsigned)drop < TR_FRAME_DROP_COUNT ? names[drop] : "?";
}

static TrFrameDrop
parse_ip4(const uint8_t *pkt, size_t len, TrFrameInfo *out)
{
	const uint8_t *ip = pkt + out->l3_off;
	size_t avail = len - out->l3_off;
	unsigned ihl, total, frag;

	if (avail < TR_IP4_HLEN)
		return TR_FRAME_DROP_SHORT;
	if (ip[0] >> 4 != 4)
		return TR_FRAME_DROP_IP_VERSION;
	ihl = (ip[0] & 0x0fu) * 4u;
	total = tr_load_be16(ip + 2);
	if (ihl < TR_IP4_HLEN || total < ihl)
		return TR_FRAME_DROP_IP_HEADER;
	if (total > avail)
		return TR_FRAME_DROP_SHORT;
	frag = tr_load_be16(ip + 6);
	out->ip_version = 4;
	out->l3_len = total;
	out->l4_proto = ip[9];
	out->fragment = (frag & 0x3fffu) != 0; /* MF or an offset */
	out->has_l4 = (frag & 0x1fffu) == 0;
	out->l4_off = out->l3_off + ihl;
	return TR_FRAME_OK;
}

static TrFrameDrop
parse_ip6(const uint8_t *pkt, size_t len, TrFrameInfo *out)
{
	const uint8_t *ip = pkt + out->l3_off;
	size_t avail = len - out->l3_off;
	size_t end, p;
	uint8_t nh;

	if (avail < TR_IP6_HLEN)
		return TR_FRAME_DROP_SHORT;
	if (ip[0] >> 4 != 6)
		return TR_FRAME_DROP_IP_VERSION;
	if (TR_IP6_HLEN + (size_t)tr_load_be16(ip + 4) > avail)
		return TR_FRAME_DROP_SHORT;
	out->ip_version = 6;
	out->l3_len = TR_IP6_HLEN + tr_load_be16(ip + 4);
	end = out->l3_off + out->l3_len;
	p = out->l3_off + TR_IP6_HLEN;
	nh = ip[6];
	for (int i = 0; i < IP6_EXT_MAX; i++) {
		if (nh == 0 || nh == 43 || nh == 60) { /* hop-by-hop, routing, destination */
			size_t hlen;

			if (end - p < 2)
				return TR_FRAME_DROP_IP_HEADER;
			hlen = ((size_t)pkt[p + 1] + 1) * 8;
			if (end - p < hlen)
				return TR_FRAME_DROP_IP_HEADER;
			nh = pkt[p];
			p += hlen;
		} else if (nh == TR_IPPROTO_FRAG6) {
			if (end - p < 8)
				return TR_FRAME_DROP_IP_HEADER;
			out->fragment = true;
			if ((tr_load_be16(pkt + p + 2) & 0xfff8u) != 0) {
				/* A later fragment: no upper-layer header here. */
				out->l4_proto = TR_IPPROTO_FRAG6;
				return TR_FRAME_OK;
			}
			nh = pkt[p];
			p += 8;
		} else {
			out->l4_proto = nh;
			out->l4_off = (uint32_t)p;
			out->has_l4 = true;
			return TR_FRAME_OK;
		}
	}
	/* Too many extension headers: forwardable, but nothing to look into. */
	out->l4_proto = nh;
	return TR_FRAME_OK;
}

TrFrameDrop
tr_frame_parse(const uint8_t *pkt, size_t len, TrFrameType type, TrFrameInfo *out)
{
	memset(out, 0, sizeof(*out));
	if (type == TR_FRAME_IP) {
		if (len < 1)
			return TR_FRAME_DROP_SHORT;
		switch (pkt[0] >> 4) {
		case 4:
			out->ethertype = TR_ETHERTYPE_IP4;
			return parse_ip4(pkt, len, out);
		case 6:
			out->ethertype = TR_ETHERTYPE_IP6;
			return parse_ip6(pkt, len, out);
		default:
			return TR_FRAME_DROP_IP_VERSION;
		}
	}

	if (len < TR_ETH_HLEN)
		return TR_FRAME_DROP_SHORT;
	out->has_eth = true;
	if (pkt[6] & 1)
		return TR_FRAME_DROP_SOURCE;
	out->ethertype = tr_load_be16(pkt + 12);
	out->l3_off = TR_ETH_HLEN;
	if (out->ethertype == TR_ETHERTYPE_VLAN || out->ethertype == TR_ETHERTYPE_QINQ) {
		if (len < TR_ETH_HLEN + TR_VLAN_HLEN)
			return TR_FRAME_DROP_SHORT;
		out->tagged = true;
		out->vid = tr_load_be16(pkt + 14) & 0x0fffu;
		out->ethertype = tr_load_be16(pkt + 16);
		out->l3_off = TR_ETH_HLEN + TR_VLAN_HLEN;
	}
	switch (out->ethertype) {
	case TR_ETHERTYPE_IP4:
		return parse_ip4(pkt, len, out);
	case TR_ETHERTYPE_IP6:
		return parse_ip6(pkt, len, out);
	default:
		out->l3_len = (uint32_t)(len - out->l3_off);
		return TR_FRAME_OK;
	}
}
