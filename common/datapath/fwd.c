/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/fwd.h"

#include "common/base/addr.h"
#include "common/base/error.h"

#include <string.h>

struct TrFwd {
	TrFwdMode mode; /* effective: never normal */
	TrFrameType type;
	bool strict_source;
	TrRouteTable *routes; /* owned; NULL = empty */
	TrSwitch *sw;         /* a reference; NULL outside switch mode */
};

static const char *const mode_names[] = {
        [TR_FWD_MODE_NORMAL] = "normal",
        [TR_FWD_MODE_HUB] = "hub",
        [TR_FWD_MODE_SWITCH] = "switch",
        [TR_FWD_MODE_ROUTER] = "router",
};

gboolean
tr_fwd_mode_parse(const char *text, TrFwdMode *out, GError **error)
{
	for (guint i = 0; i < G_N_ELEMENTS(mode_names); i++) {
		if (text && g_ascii_strcasecmp(text, mode_names[i]) == 0) {
			*out = (TrFwdMode)i;
			return TRUE;
		}
	}
	g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
	            "unknown mode '%s' (expected hub, switch, router or normal)", text ? text : "");
	return FALSE;
}

const char *
tr_fwd_mode_name(TrFwdMode mode)
{
	return (unsigned)mode < G_N_ELEMENTS(mode_names) ? mode_names[mode] : "?";
}

gboolean
tr_frame_type_parse(const char *text, TrFrameType *out, GError **error)
{
	if (text && g_ascii_strcasecmp(text, "tun") == 0) {
		*out = TR_FRAME_IP;
		return TRUE;
	}
	if (text && g_ascii_strcasecmp(text, "tap") == 0) {
		*out = TR_FRAME_ETHERNET;
		return TRUE;
	}
	g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
	            "unknown device type '%s' (expected tun or tap)", text ? text : "");
	return FALSE;
}

const char *
tr_frame_type_name(TrFrameType type)
{
	switch (type) {
	case TR_FRAME_IP:
		return "tun";
	case TR_FRAME_ETHERNET:
		return "tap";
	}
	return "?";
}

TrFwdMode
tr_fwd_mode_effective(TrFwdMode mode, TrFrameType type)
{
	if (mode != TR_FWD_MODE_NORMAL)
		return mode;
	return type == TR_FRAME_ETHERNET ? TR_FWD_MODE_SWITCH : TR_FWD_MODE_ROUTER;
}

gboolean
tr_fwd_mode_check(TrFwdMode mode, TrFrameType type, GError **error)
{
	if ((unsigned)mode >= G_N_ELEMENTS(mode_names) ||
	    (type != TR_FRAME_IP && type != TR_FRAME_ETHERNET)) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "unknown mode %d or device type %d",
		            (int)mode, (int)type);
		return FALSE;
	}
	if (tr_fwd_mode_effective(mode, type) == TR_FWD_MODE_SWITCH && type != TR_FRAME_ETHERNET) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "switch mode needs --type tap: it learns MAC addresses");
		return FALSE;
	}
	return TRUE;
}

TrFwd *
tr_fwd_new(const TrFwdConfig *cfg, TrRouteTable *routes, TrSwitch *sw, GError **error)
{
	TrFwd *fwd;

	if (!tr_fwd_mode_check(cfg->mode, cfg->type, error)) {
		tr_route_table_free(routes);
		return NULL;
	}
	if (tr_fwd_mode_effective(cfg->mode, cfg->type) == TR_FWD_MODE_SWITCH && !sw) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "switch mode needs a switch table");
		tr_route_table_free(routes);
		return NULL;
	}
	fwd = g_new0(TrFwd, 1);
	fwd->mode = tr_fwd_mode_effective(cfg->mode, cfg->type);
	fwd->type = cfg->type;
	fwd->strict_source = cfg->strict_source;
	fwd->routes = routes;
	fwd->sw = fwd->mode == TR_FWD_MODE_SWITCH ? tr_switch_ref(sw) : NULL;
	return fwd;
}

void
tr_fwd_free(TrFwd *fwd)
{
	if (!fwd)
		return;
	tr_route_table_free(fwd->routes);
	tr_switch_unref(fwd->sw);
	g_free(fwd);
}

TrFwdMode
tr_fwd_get_mode(const TrFwd *fwd)
{
	return fwd->mode;
}

TrFrameType
tr_fwd_get_type(const TrFwd *fwd)
{
	return fwd->type;
}

TrSwitch *
tr_fwd_get_switch(const TrFwd *fwd)
{
	return fwd->sw;
}

const TrRouteTable *
tr_fwd_get_routes(const TrFwd *fwd)
{
	return fwd->routes;
}

const char *
tr_fwd_drop_name(TrFwdDrop drop)
{
	static const char *const names[TR_FWD_DROP_COUNT] = {
	        [TR_FWD_DROP_NONE] = "none",           [TR_FWD_DROP_MALFORMED] = "malformed",
	        [TR_FWD_DROP_NO_ROUTE] = "no-route",   [TR_FWD_DROP_INGRESS] = "ingress",
	        [TR_FWD_DROP_MULTICAST] = "multicast", [TR_FWD_DROP_SPOOFED] = "spoofed",
	};
	return (unsigned)drop < TR_FWD_DROP_COUNT ? names[drop] : "?";
}

static TrFwdKind
drop(TrFwdResult *out, TrFwdDrop why)
{
	out->kind = TR_FWD_DROP;
	out->drop = why;
	return TR_FWD_DROP;
}

static TrFwdKind
flood(TrFwdResult *out, uint32_t ingress)
{
	out->kind = TR_FWD_FLOOD;
	out->flood_except = ingress;
	out->flood_local = ingress != TR_PEER_LOCAL;
	return TR_FWD_FLOOD;
}

/* To @dst, found in a table: the device, a peer, or a drop when that is where it came from. */
static TrFwdKind
deliver(TrFwdResult *out, uint32_t dst, uint32_t ingress)
{
	if (dst == ingress)
		return drop(out, TR_FWD_DROP_INGRESS);
	if (dst == TR_PEER_LOCAL) {
		out->kind = TR_FWD_LOCAL;
		return TR_FWD_LOCAL;
	}
	out->kind = TR_FWD_PEER;
	out->peer = dst;
	return TR_FWD_PEER;
}

static TrFwdKind
decide_switch(const TrFwd *fwd, const uint8_t *pkt, uint32_t ingress, int64_t now, TrFwdResult *out)
{
	uint32_t dst;

	tr_switch_learn(fwd->sw, out->info.vid, pkt + TR_ETH_ALEN, ingress, now);
	if (pkt[0] & 1) /* broadcast or multicast */
		return flood(out, ingress);
	if (!tr_switch_lookup(fwd->sw, out->info.vid, pkt, now, &dst))
		return flood(out, ingress);
	return deliver(out, dst, ingress);
}

/* Whether @src (of @family) may come from @ingress under strict_source. */
static bool
source_ok(const TrFwd *fwd, TrAddrFamily family, const uint8_t *src, uint32_t ingress)
{
	static const uint8_t zero[16];
	uint32_t owner;

	if (!fwd->strict_source || ingress == TR_PEER_LOCAL)
		return true;
	if (memcmp(src, zero, tr_addr_family_bytes(family)) == 0)
		return true;
	if (family == TR_ADDR_IPV6 && src[0] == 0xfe && (src[1] & 0xc0) == 0x80)
		return true;
	return tr_route_lookup(fwd->routes, family, src, &owner, NULL) && owner == ingress;
}

static TrFwdKind
route_to(const TrFwd *fwd, TrAddrFamily family, const uint8_t *dst, uint32_t ingress,
         TrFwdResult *out)
{
	uint32_t owner;

	if (!tr_route_lookup(fwd->routes, family, dst, &owner, NULL))
		return drop(out, TR_FWD_DROP_NO_ROUTE);
	return deliver(out, owner, ingress);
}

/* ARP for Ethernet and IPv4: routed to the owner of the target protocol address. */
static TrFwdKind
route_arp(const TrFwd *fwd, const uint8_t *pkt, uint32_t ingress, TrFwdResult *out)
{
	const uint8_t *arp = pkt + out->info.l3_off;

	if (out->info.l3_len < 28 || tr_load_be16(arp) != 1 ||
	    tr_load_be16(arp + 2) != TR_ETHERTYPE_IP4 || arp[4] != 6 || arp[5] != 4)
		return drop(out, (pkt[0] & 1) ? TR_FWD_DROP_MULTICAST : TR_FWD_DROP_NO_ROUTE);
	if (!source_ok(fwd, TR_ADDR_IPV4, arp + 14, ingress))
		return drop(out, TR_FWD_DROP_SPOOFED);
	return route_to(fwd, TR_ADDR_IPV4, arp + 24, ingress, out);
}

static TrFwdKind
route_ip4(const TrFwd *fwd, const uint8_t *pkt, uint32_t ingress, TrFwdResult *out)
{
	const uint8_t *ip = pkt + out->info.l3_off;
	const uint8_t *dst = ip + 16;

	/* 224.0.0.0/4 multicast and the limited broadcast. */
	if ((dst[0] & 0xf0) == 0xe0 || tr_load_be32(dst) == 0xffffffffu)
		return drop(out, TR_FWD_DROP_MULTICAST);
	if (!source_ok(fwd, TR_ADDR_IPV4, ip + 12, ingress))
		return drop(out, TR_FWD_DROP_SPOOFED);
	return route_to(fwd, TR_ADDR_IPV4, dst, ingress, out);
}

static TrFwdKind
route_ip6(const TrFwd *fwd, const uint8_t *pkt, uint32_t ingress, TrFwdResult *out)
{
	const TrFrameInfo *in = &out->info;
	const uint8_t *ip = pkt + in->l3_off;
	const uint8_t *dst = ip + 24;

	if (!source_ok(fwd, TR_ADDR_IPV6, ip + 8, ingress))
		return drop(out, TR_FWD_DROP_SPOOFED);
	if (dst[0] != 0xff)
		return route_to(fwd, TR_ADDR_IPV6, dst, ingress, out);
	/* Multicast: only neighbour solicitations (type 135), routed by their target. */
	if (in->has_l4 && in->l4_proto == TR_IPPROTO_ICMP6 &&
	    in->l3_off + in->l3_len - in->l4_off >= 24 && pkt[in->l4_off] == 135)
		return route_to(fwd, TR_ADDR_IPV6, pkt + in->l4_off + 8, ingress, out);
	return drop(out, TR_FWD_DROP_MULTICAST);
}

static TrFwdKind
decide_router(const TrFwd *fwd, const uint8_t *pkt, uint32_t ingress, TrFwdResult *out)
{
	if (out->info.has_eth && !(pkt[0] & 1)) {
		uint32_t owner;

		/* A unicast MAC someone claimed goes there, whatever it carries. */
		if (tr_route_lookup(fwd->routes, TR_ADDR_MAC, pkt, &owner, NULL))
			return deliver(out, owner, ingress);
	}
	switch (out->info.ethertype) {
	case TR_ETHERTYPE_IP4:
		return route_ip4(fwd, pkt, ingress, out);
	case TR_ETHERTYPE_IP6:
		return route_ip6(fwd, pkt, ingress, out);
	case TR_ETHERTYPE_ARP:
		return route_arp(fwd, pkt, ingress, out);
	default:
		return drop(out, (pkt[0] & 1) ? TR_FWD_DROP_MULTICAST : TR_FWD_DROP_NO_ROUTE);
	}
}

/* The decision for a packet whose layers are parsed (out->info). */
static TrFwdKind
decide_parsed(const TrFwd *fwd, const uint8_t *pkt, uint32_t ingress, int64_t now, TrFwdResult *out)
{
	switch (fwd->mode) {
	case TR_FWD_MODE_SWITCH:
		return decide_switch(fwd, pkt, ingress, now, out);
	case TR_FWD_MODE_ROUTER:
		return decide_router(fwd, pkt, ingress, out);
	case TR_FWD_MODE_HUB:
	case TR_FWD_MODE_NORMAL:
	default:
		return flood(out, ingress);
	}
}

TrFwdKind
tr_fwd_decide(const TrFwd *fwd, const uint8_t *pkt, size_t len, uint32_t ingress, int64_t now,
              TrFwdResult *out)
{
	memset(out, 0, sizeof(*out));
	out->frame_drop = tr_frame_parse(pkt, len, fwd->type, &out->info);
	if (out->frame_drop != TR_FRAME_OK)
		return drop(out, TR_FWD_DROP_MALFORMED);
	return decide_parsed(fwd, pkt, ingress, now, out);
}

void
tr_fwd_memo_reset(TrFwdMemo *memo)
{
	memo->fwd = NULL;
}

TrFwdKind
tr_fwd_decide_memo(const TrFwd *fwd, TrFwdMemo *memo, const uint8_t *pkt, size_t len,
                   uint32_t ingress, int64_t now, TrFwdResult *out)
{
	const uint8_t *ip;
	size_t alen;
	TrFwdKind kind;

	memset(out, 0, sizeof(*out));
	out->frame_drop = tr_frame_parse(pkt, len, fwd->type, &out->info);
	if (out->frame_drop != TR_FRAME_OK)
		return drop(out, TR_FWD_DROP_MALFORMED);
	if (fwd->mode != TR_FWD_MODE_ROUTER || out->info.has_eth ||
	    (out->info.ip_version != 4 && out->info.ip_version != 6))
		return decide_parsed(fwd, pkt, ingress, now, out);
	ip = pkt + out->info.l3_off;
	alen = out->info.ip_version == 4 ? 4 : 16;
	ip += out->info.ip_version == 4 ? 12 : 8; /* source, then destination */
	/* IPv6 multicast is routed by what it carries (a neighbour solicitation's target). */
	if (alen == 16 && ip[16] == 0xff)
		return decide_parsed(fwd, pkt, ingress, now, out);
	if (memo->fwd == fwd && memo->ingress == ingress &&
	    memo->ip_version == out->info.ip_version && memcmp(memo->addrs, ip, 2 * alen) == 0) {
		out->kind = memo->kind;
		out->peer = memo->peer;
		return memo->kind;
	}
	kind = decide_router(fwd, pkt, ingress, out);
	if (kind == TR_FWD_PEER || kind == TR_FWD_LOCAL) {
		memo->fwd = fwd;
		memo->ingress = ingress;
		memo->ip_version = out->info.ip_version;
		memo->kind = kind;
		memo->peer = out->peer;
		memcpy(memo->addrs, ip, 2 * alen);
	}
	return kind;
}

uint32_t
tr_fwd_learn_by_source(const TrFwd *fwd, const uint8_t *pkt, size_t len, int64_t now)
{
	TrFrameInfo info;
	const uint8_t *l3, *src;
	TrAddrFamily family;
	uint32_t owner;

	if (fwd->mode != TR_FWD_MODE_SWITCH ||
	    tr_frame_parse(pkt, len, fwd->type, &info) != TR_FRAME_OK)
		return TR_PEER_NONE;
	l3 = pkt + info.l3_off;
	switch (info.ethertype) {
	case TR_ETHERTYPE_IP4:
		family = TR_ADDR_IPV4, src = l3 + 12;
		break;
	case TR_ETHERTYPE_IP6:
		family = TR_ADDR_IPV6, src = l3 + 8;
		break;
	case TR_ETHERTYPE_ARP:
		if (info.l3_len < 28 || tr_load_be16(l3) != 1 ||
		    tr_load_be16(l3 + 2) != TR_ETHERTYPE_IP4 || l3[4] != 6 || l3[5] != 4)
			return TR_PEER_NONE;
		family = TR_ADDR_IPV4, src = l3 + 14;
		break;
	default:
		return TR_PEER_NONE;
	}
	if (!tr_route_lookup(fwd->routes, family, src, &owner, NULL) || owner == TR_PEER_LOCAL ||
	    owner == TR_PEER_NONE)
		return TR_PEER_NONE;
	switch (tr_switch_learn(fwd->sw, info.vid, pkt + TR_ETH_ALEN, owner, now)) {
	case TR_SWITCH_LEARN_INVALID:
	case TR_SWITCH_LEARN_REFUSED:
	case TR_SWITCH_LEARN_BUSY:
		return TR_PEER_NONE;
	default:
		return owner;
	}
}
