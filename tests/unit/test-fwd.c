/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/datapath/fwd.h"
#include "platform/device.h"

#include "tests/unit/pkt-build.h"

#define SEC G_USEC_PER_SEC
#define T0  (G_GINT64_CONSTANT(5000) * SEC)

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0xa};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0xb};
static const uint8_t MAC_L[6] = {0x02, 0, 0, 0, 0, 0x1};  /* behind the local device */
static const uint8_t MAC_X[6] = {0x02, 0, 0, 0, 0, 0xee}; /* never seen */
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MCAST[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};

static void
test_names(void)
{
	g_autoptr(GError) error = NULL;
	TrFwdMode m;
	TrFrameType t;

	g_assert_cmpint(TR_FRAME_IP, ==, TR_DEVICE_TUN);
	g_assert_cmpint(TR_FRAME_ETHERNET, ==, TR_DEVICE_TAP);
	for (int i = TR_FWD_MODE_NORMAL; i <= TR_FWD_MODE_ROUTER; i++) {
		g_assert_true(tr_fwd_mode_parse(tr_fwd_mode_name((TrFwdMode)i), &m, NULL));
		g_assert_cmpint(m, ==, i);
	}
	g_assert_true(tr_fwd_mode_parse("Switch", &m, NULL));
	g_assert_cmpint(m, ==, TR_FWD_MODE_SWITCH);
	g_assert_false(tr_fwd_mode_parse("bridge", &m, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	g_assert_nonnull(strstr(error->message, "bridge"));
	g_clear_error(&error);
	g_assert_true(tr_frame_type_parse("tap", &t, NULL));
	g_assert_cmpint(t, ==, TR_FRAME_ETHERNET);
	g_assert_true(tr_frame_type_parse("tun", &t, NULL));
	g_assert_cmpint(t, ==, TR_FRAME_IP);
	g_assert_cmpstr(tr_frame_type_name(TR_FRAME_ETHERNET), ==, "tap");
	g_assert_false(tr_frame_type_parse("tan", &t, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	g_clear_error(&error);

	g_assert_cmpint(tr_fwd_mode_effective(TR_FWD_MODE_NORMAL, TR_FRAME_ETHERNET), ==,
	                TR_FWD_MODE_SWITCH);
	g_assert_cmpint(tr_fwd_mode_effective(TR_FWD_MODE_NORMAL, TR_FRAME_IP), ==,
	                TR_FWD_MODE_ROUTER);
	g_assert_cmpint(tr_fwd_mode_effective(TR_FWD_MODE_HUB, TR_FRAME_IP), ==, TR_FWD_MODE_HUB);
	g_assert_true(tr_fwd_mode_check(TR_FWD_MODE_ROUTER, TR_FRAME_ETHERNET, NULL));
	g_assert_false(tr_fwd_mode_check(TR_FWD_MODE_SWITCH, TR_FRAME_IP, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	g_clear_error(&error);
	{
		TrFwdConfig cfg = {.mode = TR_FWD_MODE_NORMAL, .type = TR_FRAME_ETHERNET};
		g_assert_null(tr_fwd_new(&cfg, NULL, NULL, &error));
		g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	}
	g_assert_cmpstr(tr_fwd_drop_name(TR_FWD_DROP_INGRESS), ==, "ingress");
	g_assert_cmpstr(tr_frame_drop_name(TR_FRAME_DROP_IP_HEADER), ==, "ip-header");
}

/* Every expect() also decides through this memo (kept from one expect() to the
 * next, as a worker keeps it through a batch): the same decisions must come out. */
static TrFwdMemo memo;

static TrFwd *
make_fwd(TrFwdMode mode, TrFrameType type, bool strict, const char *const *routes, TrSwitch *sw)
{
	g_autoptr(TrRouteBuilder) b = tr_route_builder_new();
	g_autoptr(GError) error = NULL;
	TrFwdConfig cfg = {.mode = mode, .type = type, .strict_source = strict};
	TrFwd *fwd;

	/* routes: "prefix", "peer", ..., NULL */
	for (int i = 0; routes && routes[i]; i += 2) {
		TrPrefix p;

		g_assert_true(tr_prefix_parse(routes[i], 0, &p, NULL));
		g_assert_true(tr_route_builder_add(b, &p, (uint32_t)atoi(routes[i + 1]),
		                                   TR_ROUTE_CLAIMED, NULL, NULL, NULL));
	}
	fwd = tr_fwd_new(&cfg, tr_route_table_build(b), sw, &error);
	g_assert_no_error(error);
	tr_fwd_memo_reset(&memo);
	g_assert_cmpint(tr_fwd_get_mode(fwd), ==, tr_fwd_mode_effective(mode, type));
	g_assert_cmpint(tr_fwd_get_type(fwd), ==, type);
	return fwd;
}

/* Checks a decision; failures name the caller's line. */
#define expect(...) expect_at(__LINE__, __VA_ARGS__)
static void
expect_at(int line, const TrFwd *fwd, const uint8_t *pkt, size_t len, uint32_t ingress, int64_t now,
          TrFwdKind kind, uint32_t peer_or_drop)
{
	TrFwdResult r, m;

	if (tr_fwd_decide(fwd, pkt, len, ingress, now, &r) != kind)
		g_error("line %d: kind %d, expected %d (drop %s, peer %u)", line, r.kind, kind,
		        tr_fwd_drop_name(r.drop), r.peer);
	/* Twice: the second may come from the memo the first left. */
	for (int i = 0; i < 2; i++) {
		if (tr_fwd_decide_memo(fwd, &memo, pkt, len, ingress, now, &m) != kind ||
		    m.peer != r.peer || m.drop != r.drop || m.flood_except != r.flood_except ||
		    m.flood_local != r.flood_local)
			g_error("line %d: with the memo: kind %d, peer %u, drop %s; without: %d, "
			        "%u, %s",
			        line, m.kind, m.peer, tr_fwd_drop_name(m.drop), r.kind, r.peer,
			        tr_fwd_drop_name(r.drop));
	}
	g_assert_cmpint(r.kind, ==, kind);
	switch (kind) {
	case TR_FWD_PEER:
		g_assert_cmpuint(r.peer, ==, peer_or_drop);
		g_assert_cmpuint(r.peer, !=, ingress);
		break;
	case TR_FWD_DROP:
		g_assert_cmpstr(tr_fwd_drop_name(r.drop), ==,
		                tr_fwd_drop_name((TrFwdDrop)peer_or_drop));
		break;
	case TR_FWD_FLOOD:
		g_assert_cmpuint(r.flood_except, ==, ingress);
		g_assert_true(r.flood_local == (ingress != TR_PEER_LOCAL));
		break;
	case TR_FWD_LOCAL:
		g_assert_cmpuint(ingress, !=, TR_PEER_LOCAL);
		break;
	}
}

/* An Ethernet frame carrying 46 bytes of opaque payload of @type. */
static size_t
frame(uint8_t *buf, const uint8_t *dst, const uint8_t *src, int vid, uint16_t type)
{
	uint8_t payload[46] = {0};

	return pb_eth(buf, dst, src, vid, type, payload, sizeof(payload));
}

static void
test_hub(void)
{
	TrFwd *tun = make_fwd(TR_FWD_MODE_HUB, TR_FRAME_IP, false, NULL, NULL);
	TrFwd *tap = make_fwd(TR_FWD_MODE_HUB, TR_FRAME_ETHERNET, false, NULL, NULL);
	uint8_t pkt[128];
	size_t len = pb_ip4(pkt, "198.19.0.2", "198.19.0.3", 17, false, NULL, 0);

	/* Everything everywhere, never back. */
	expect(tun, pkt, len, 0, T0, TR_FWD_FLOOD, 0);
	expect(tun, pkt, len, 7, T0, TR_FWD_FLOOD, 0);
	len = frame(pkt, MAC_B, MAC_A, -1, 0x88b5);
	expect(tap, pkt, len, 3, T0, TR_FWD_FLOOD, 0);
	expect(tap, pkt, len, 3, T0, TR_FWD_FLOOD, 0); /* no learning in a hub */
	expect(tap, pkt, 13, 3, T0, TR_FWD_DROP, TR_FWD_DROP_MALFORMED);
	tr_fwd_free(tun);
	tr_fwd_free(tap);
}

static void
test_switch(void)
{
	TrSwitch *sw = tr_switch_new(0, 300);
	TrFwd *fwd = make_fwd(TR_FWD_MODE_NORMAL, TR_FRAME_ETHERNET, false, NULL, sw);
	TrSwitchStats st;
	uint8_t f[128];
	size_t n;

	g_assert_true(tr_fwd_get_switch(fwd) == sw);
	/* A (peer 1) broadcasts: flooded, A learnt. */
	n = frame(f, BCAST, MAC_A, -1, 0x0806);
	expect(fwd, f, n, 1, T0, TR_FWD_FLOOD, 0);
	/* The local station answers A: unicast to peer 1 (and the local MAC is learnt). */
	n = frame(f, MAC_A, MAC_L, -1, 0x0806);
	expect(fwd, f, n, 0, T0, TR_FWD_PEER, 1);
	/* B (peer 2) to A: peer 1. B unknown so far to A: flooded, then learnt. */
	n = frame(f, MAC_A, MAC_B, -1, 0x88b5);
	expect(fwd, f, n, 2, T0, TR_FWD_PEER, 1);
	n = frame(f, MAC_B, MAC_A, -1, 0x88b5);
	expect(fwd, f, n, 1, T0, TR_FWD_PEER, 2);
	/* A to the local station: the device only. */
	n = frame(f, MAC_L, MAC_A, -1, 0x88b5);
	expect(fwd, f, n, 1, T0, TR_FWD_LOCAL, 0);
	/* A to a station behind peer 1 too: never back to the ingress. */
	n = frame(f, MAC_A, MAC_A, -1, 0x88b5);
	expect(fwd, f, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_INGRESS);
	/* Unknown and multicast destinations are flooded. */
	n = frame(f, MAC_X, MAC_A, -1, 0x88b5);
	expect(fwd, f, n, 1, T0, TR_FWD_FLOOD, 0);
	n = frame(f, MCAST, MAC_A, -1, 0x88b5);
	expect(fwd, f, n, 1, T0, TR_FWD_FLOOD, 0);
	n = frame(f, MCAST, MAC_L, -1, 0x88b5);
	expect(fwd, f, n, 0, T0, TR_FWD_FLOOD, 0);

	/* VLAN 10 has its own table: A is unknown there until it speaks on it. */
	n = frame(f, MAC_A, MAC_B, 10, 0x88b5);
	expect(fwd, f, n, 2, T0, TR_FWD_FLOOD, 0);
	n = frame(f, MAC_B, MAC_A, 10, 0x88b5);
	expect(fwd, f, n, 3, T0, TR_FWD_PEER, 2); /* A is behind peer 3 on VLAN 10 */
	n = frame(f, MAC_A, MAC_B, 10, 0x88b5);
	expect(fwd, f, n, 2, T0, TR_FWD_PEER, 3);
	n = frame(f, MAC_A, MAC_B, -1, 0x88b5);
	expect(fwd, f, n, 2, T0, TR_FWD_PEER, 1); /* untagged: still peer 1 */

	/* A moves from peer 1 to peer 4 (untagged). */
	n = frame(f, BCAST, MAC_A, -1, 0x0806);
	expect(fwd, f, n, 4, T0 + SEC, TR_FWD_FLOOD, 0);
	n = frame(f, MAC_A, MAC_B, -1, 0x88b5);
	expect(fwd, f, n, 2, T0 + SEC, TR_FWD_PEER, 4);
	tr_switch_get_stats(sw, &st);
	g_assert_cmpuint(st.moves, ==, 1);

	/* dst-timeout: A last spoke at T0+1s; B keeps talking (it is learnt as the source). */
	expect(fwd, f, n, 2, T0 + 300 * SEC, TR_FWD_PEER, 4);
	expect(fwd, f, n, 2, T0 + 301 * SEC, TR_FWD_FLOOD, 0);

	/* Malformed: a multicast source, a truncated tag. */
	n = frame(f, MAC_B, MCAST, -1, 0x88b5);
	expect(fwd, f, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_MALFORMED);
	n = frame(f, MAC_B, MAC_A, 5, 0x88b5);
	expect(fwd, f, 17, 1, T0, TR_FWD_DROP, TR_FWD_DROP_MALFORMED);

	tr_fwd_free(fwd);
	tr_switch_unref(sw);
}

static const char *const ROUTES[] = {
        "198.19.0.1/32",
        "0", /* the local device's address */
        "198.19.0.2/32",
        "1",
        "198.19.0.3/32",
        "2",
        "10.2.0.0/16",
        "2",
        "10.2.7.0/24",
        "3",
        "fd00::1/128",
        "0",
        "fd00::2/128",
        "1",
        "fd00::3/128",
        "2",
        "fd00:2::/48",
        "2",
        "02:00:00:00:00:0b/48",
        "2",
        NULL,
};

static void
test_router_tun(void)
{
	TrFwd *fwd = make_fwd(TR_FWD_MODE_NORMAL, TR_FRAME_IP, false, ROUTES, NULL);
	uint8_t p[256], icmp6[24] = {135};
	size_t n;

	n = pb_ip4(p, "198.19.0.2", "198.19.0.3", 6, true, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_PEER, 2);
	n = pb_ip4(p, "198.19.0.2", "10.2.9.9", 6, true, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_PEER, 2);
	n = pb_ip4(p, "198.19.0.2", "10.2.7.9", 6, true, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_PEER, 3);
	n = pb_ip4(p, "198.19.0.2", "198.19.0.1", 6, true, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_LOCAL, 0);
	expect(fwd, p, n, 0, T0, TR_FWD_DROP, TR_FWD_DROP_INGRESS);
	n = pb_ip4(p, "198.19.0.3", "198.19.0.2", 6, true, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_INGRESS);
	expect(fwd, p, n, 0, T0, TR_FWD_PEER, 1);
	n = pb_ip4(p, "198.19.0.2", "192.0.2.1", 6, true, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_NO_ROUTE);
	n = pb_ip4(p, "198.19.0.2", "224.0.0.251", 17, false, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_MULTICAST);
	n = pb_ip4(p, "198.19.0.2", "255.255.255.255", 17, false, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_MULTICAST);
	/* Not strict: any source goes. */
	n = pb_ip4(p, "10.9.9.9", "198.19.0.3", 6, true, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_PEER, 2);

	n = pb_ip6(p, "fd00::2", "fd00:2::99", 6, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_PEER, 2);
	n = pb_ip6(p, "fd00::2", "fd00::1", 6, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_LOCAL, 0);
	n = pb_ip6(p, "fd00::2", "ff02::1", 58, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_MULTICAST);
	/* A neighbour solicitation goes to the owner of its target. */
	g_assert_cmpint(inet_pton(AF_INET6, "fd00::3", icmp6 + 8), ==, 1);
	n = pb_ip6(p, "fd00::2", "ff02::1:ff00:3", 58, icmp6, sizeof(icmp6));
	expect(fwd, p, n, 1, T0, TR_FWD_PEER, 2);
	/* Two to one solicited-node address, for targets behind different peers: routed
	 * each by its own target (the memo keeps no multicast decision). */
	g_assert_cmpint(inet_pton(AF_INET6, "fd00::1", icmp6 + 8), ==, 1);
	n = pb_ip6(p, "fd00::2", "ff02::1:ff00:1", 58, icmp6, sizeof(icmp6));
	expect(fwd, p, n, 1, T0, TR_FWD_LOCAL, 0);
	g_assert_cmpint(inet_pton(AF_INET6, "fd00:2::1", icmp6 + 8), ==, 1);
	n = pb_ip6(p, "fd00::2", "ff02::1:ff00:1", 58, icmp6, sizeof(icmp6));
	expect(fwd, p, n, 1, T0, TR_FWD_PEER, 2);
	/* ...but not a truncated one. */
	n = pb_ip6(p, "fd00::2", "ff02::1:ff00:3", 58, icmp6, 20);
	expect(fwd, p, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_MULTICAST);

	/* Malformed packets. */
	p[0] = 0x50;
	expect(fwd, p, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_MALFORMED);
	expect(fwd, p, 0, 1, T0, TR_FWD_DROP, TR_FWD_DROP_MALFORMED);
	n = pb_ip4(p, "198.19.0.2", "198.19.0.3", 6, true, NULL, 0);
	expect(fwd, p, 19, 1, T0, TR_FWD_DROP, TR_FWD_DROP_MALFORMED);
	tr_fwd_free(fwd);
}

static void
test_router_strict(void)
{
	TrFwd *fwd = make_fwd(TR_FWD_MODE_ROUTER, TR_FRAME_IP, true, ROUTES, NULL);
	uint8_t p[128];
	size_t n;

	n = pb_ip4(p, "198.19.0.2", "198.19.0.3", 6, true, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_PEER, 2);
	/* Peer 1 pretending to be peer 2, or someone nobody claimed. */
	n = pb_ip4(p, "198.19.0.3", "198.19.0.1", 6, true, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_SPOOFED);
	n = pb_ip4(p, "192.0.2.1", "198.19.0.1", 6, true, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_SPOOFED);
	/* The local device is trusted; unspecified and link-local sources are exempt. */
	n = pb_ip4(p, "192.0.2.1", "198.19.0.2", 6, true, NULL, 0);
	expect(fwd, p, n, 0, T0, TR_FWD_PEER, 1);
	n = pb_ip4(p, "0.0.0.0", "198.19.0.1", 17, false, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_LOCAL, 0);
	n = pb_ip6(p, "fe80::1", "fd00::3", 58, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_PEER, 2);
	n = pb_ip6(p, "fd00::3", "fd00::1", 58, NULL, 0);
	expect(fwd, p, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_SPOOFED);
	tr_fwd_free(fwd);
}

/* An ARP request (Ethernet, IPv4) from @sha/@spa for @tpa. */
static size_t
arp(uint8_t *buf, const uint8_t *dst, const uint8_t *sha, const char *spa, const char *tpa)
{
	uint8_t a[28] = {0, 1, 0x08, 0x00, 6, 4, 0, 1};

	memcpy(a + 8, sha, 6);
	g_assert_cmpint(inet_pton(AF_INET, spa, a + 14), ==, 1);
	g_assert_cmpint(inet_pton(AF_INET, tpa, a + 24), ==, 1);
	return pb_eth(buf, dst, sha, -1, 0x0806, a, sizeof(a));
}

static void
test_router_tap(void)
{
	TrFwd *fwd = make_fwd(TR_FWD_MODE_ROUTER, TR_FRAME_ETHERNET, true, ROUTES, NULL);
	uint8_t f[256], ip[128];
	size_t n;

	/* ARP requests are routed by the address they ask for, replies likewise. */
	n = arp(f, BCAST, MAC_A, "198.19.0.2", "198.19.0.3");
	expect(fwd, f, n, 1, T0, TR_FWD_PEER, 2);
	n = arp(f, BCAST, MAC_A, "198.19.0.2", "198.19.0.2");
	expect(fwd, f, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_INGRESS);
	n = arp(f, BCAST, MAC_A, "198.19.0.3", "198.19.0.1");
	expect(fwd, f, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_SPOOFED);
	n = arp(f, MAC_X, MAC_A, "198.19.0.2", "198.19.0.1");
	expect(fwd, f, n, 1, T0, TR_FWD_LOCAL, 0);
	/* A claimed MAC wins over what the frame carries. */
	n = pb_ip4(ip, "198.19.0.2", "198.19.0.1", 6, true, NULL, 0);
	n = pb_eth(f, MAC_B, MAC_A, -1, 0x0800, ip, n);
	expect(fwd, f, n, 1, T0, TR_FWD_PEER, 2);
	/* Otherwise IP decides, tagged or not. */
	n = pb_ip4(ip, "198.19.0.2", "10.2.7.1", 6, true, NULL, 0);
	n = pb_eth(f, MAC_X, MAC_A, 42, 0x0800, ip, n);
	expect(fwd, f, n, 1, T0, TR_FWD_PEER, 3);
	n = pb_ip6(ip, "fd00::2", "fd00::1", 6, NULL, 0);
	n = pb_eth(f, MAC_X, MAC_A, -1, 0x86dd, ip, n);
	expect(fwd, f, n, 1, T0, TR_FWD_LOCAL, 0);
	/* Other protocols: unicast with no MAC route, or broadcast: dropped. */
	n = frame(f, MAC_X, MAC_A, -1, 0x88b5);
	expect(fwd, f, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_NO_ROUTE);
	n = frame(f, BCAST, MAC_A, -1, 0x88b5);
	expect(fwd, f, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_MULTICAST);
	/* Garbage ARP. */
	n = frame(f, BCAST, MAC_A, -1, 0x0806);
	expect(fwd, f, n, 1, T0, TR_FWD_DROP, TR_FWD_DROP_MULTICAST);
	tr_fwd_free(fwd);
}

/*
 * A client's pairs in tap mode (client/mesh.c): peer 2 is a pair whose peer
 * owns 198.19.0.2 and fd00::2 and claims 198.19.50.0/24. Frames through the
 * hub session (peer 1) from those sources teach their MAC to the pair; the
 * pair's own frames do too; what no pair learnt goes to the hub (flooded:
 * the client's data plane sends floods to the hub session only).
 */
static void
test_switch_pairs(void)
{
	static const char *const pair_routes[] = {
	        "198.19.0.2/32", "2", "fd00::2/128", "2", "198.19.50.0/24", "2", NULL,
	};
	TrSwitch *sw = tr_switch_new(0, 300);
	TrFwd *fwd = make_fwd(TR_FWD_MODE_SWITCH, TR_FRAME_ETHERNET, false, pair_routes, sw);
	TrFwd *tun = make_fwd(TR_FWD_MODE_ROUTER, TR_FRAME_IP, true, pair_routes, NULL);
	uint8_t f[256], ip[128];
	size_t n;

	/* The device (0) to B, whom no one learnt: to the hub (our MAC is learnt local). */
	n = pb_ip4(ip, "198.19.0.1", "198.19.0.2", 1, false, NULL, 0);
	n = pb_eth(f, MAC_B, MAC_L, -1, 0x0800, ip, n);
	expect(fwd, f, n, 0, T0, TR_FWD_FLOOD, 0);
	/* Through the hub session: a frame from someone else's address teaches nothing, nor
	 * garbage, nor a protocol without addresses. */
	n = pb_ip4(ip, "198.19.0.3", "198.19.0.1", 1, false, NULL, 0);
	n = pb_eth(f, MAC_L, MAC_A, -1, 0x0800, ip, n);
	g_assert_cmpuint(tr_fwd_learn_by_source(fwd, f, n, T0), ==, TR_PEER_NONE);
	g_assert_cmpuint(tr_fwd_learn_by_source(fwd, f, 13, T0), ==, TR_PEER_NONE);
	n = frame(f, MAC_L, MAC_B, -1, 0x88b5);
	g_assert_cmpuint(tr_fwd_learn_by_source(fwd, f, n, T0), ==, TR_PEER_NONE);
	n = frame(f, MAC_L, MAC_B, -1, 0x0806); /* ARP that is not Ethernet/IPv4 */
	g_assert_cmpuint(tr_fwd_learn_by_source(fwd, f, n, T0), ==, TR_PEER_NONE);
	n = frame(f, MAC_X, MAC_L, -1, 0x88b5);
	expect(fwd, f, n, 0, T0, TR_FWD_FLOOD, 0); /* still nobody's */
	/* B's ARP (sender 198.19.0.2) through the hub: B's MAC is the pair's. */
	n = arp(f, BCAST, MAC_B, "198.19.0.2", "198.19.0.1");
	g_assert_cmpuint(tr_fwd_learn_by_source(fwd, f, n, T0), ==, 2);
	n = frame(f, MAC_B, MAC_L, -1, 0x88b5);
	expect(fwd, f, n, 0, T0, TR_FWD_PEER, 2);
	/* A host of the subnet B claims (IPv4), B's IPv6 address: the pair's as well. */
	n = pb_ip4(ip, "198.19.50.7", "198.19.0.1", 6, true, NULL, 0);
	n = pb_eth(f, MAC_L, MAC_X, 7, 0x0800, ip, n);
	g_assert_cmpuint(tr_fwd_learn_by_source(fwd, f, n, T0), ==, 2);
	n = pb_ip6(ip, "fd00::2", "fd00::1", 58, NULL, 0);
	n = pb_eth(f, MAC_L, MAC_B, -1, 0x86dd, ip, n);
	g_assert_cmpuint(tr_fwd_learn_by_source(fwd, f, n, T0), ==, 2);
	n = frame(f, MAC_X, MAC_L, 7, 0x88b5);
	expect(fwd, f, n, 0, T0, TR_FWD_PEER, 2);
	n = frame(f, MAC_X, MAC_L, -1, 0x88b5); /* learnt on VLAN 7 only */
	expect(fwd, f, n, 0, T0, TR_FWD_FLOOD, 0);

	/* The pair's own frames: to our MAC, local; to one learnt behind it, never back;
	 * to a MAC nobody learnt or broadcast: flooded (the data plane writes unicast to
	 * the device, drops the rest). Their source is learnt behind the pair. */
	n = frame(f, MAC_L, MAC_B, -1, 0x88b5);
	expect(fwd, f, n, 2, T0, TR_FWD_LOCAL, 0);
	n = frame(f, MAC_B, MAC_B, -1, 0x88b5);
	expect(fwd, f, n, 2, T0, TR_FWD_DROP, TR_FWD_DROP_INGRESS);
	n = frame(f, MAC_X, MAC_A, -1, 0x88b5);
	expect(fwd, f, n, 2, T0, TR_FWD_FLOOD, 0);
	n = frame(f, BCAST, MAC_B, -1, 0x0806);
	expect(fwd, f, n, 2, T0, TR_FWD_FLOOD, 0);
	n = frame(f, MAC_A, MAC_L, -1, 0x88b5);
	expect(fwd, f, n, 0, T0, TR_FWD_PEER, 2);

	/* The pair ends: its MACs (B, A; X on VLAN 7) are forgotten, the device's frames go to the
	 * hub. */
	g_assert_cmpuint(tr_switch_forget_peer(sw, 2), ==, 3);
	n = frame(f, MAC_B, MAC_L, -1, 0x88b5);
	expect(fwd, f, n, 0, T0, TR_FWD_FLOOD, 0);
	/* tun (router mode): nothing to learn. */
	n = pb_ip4(ip, "198.19.0.2", "198.19.0.1", 1, false, NULL, 0);
	g_assert_cmpuint(tr_fwd_learn_by_source(tun, ip, n, T0), ==, TR_PEER_NONE);
	tr_fwd_free(fwd);
	tr_fwd_free(tun);
	tr_switch_unref(sw);
}

static void
test_parse(void)
{
	TrFrameInfo in;
	uint8_t p[256], tcp[64], ext[80];
	size_t n, t;

	/* IPv4: padding after the packet is fine; a short buffer or a bad IHL is not. */
	t = pb_tcp(tcp, 0x02, NULL, 0, 0);
	n = pb_ip4(p, "10.0.0.1", "10.0.0.2", 6, true, tcp, t);
	g_assert_cmpint(tr_frame_parse(p, n + 6, TR_FRAME_IP, &in), ==, TR_FRAME_OK);
	g_assert_cmpuint(in.l3_len, ==, n);
	g_assert_true(in.has_l4);
	g_assert_cmpuint(in.l4_off, ==, 20);
	g_assert_cmpint(tr_frame_parse(p, n - 1, TR_FRAME_IP, &in), ==, TR_FRAME_DROP_SHORT);
	p[0] = 0x44;
	g_assert_cmpint(tr_frame_parse(p, n, TR_FRAME_IP, &in), ==, TR_FRAME_DROP_IP_HEADER);
	p[0] = 0x4f; /* 60-byte header in a 40-byte packet */
	g_assert_cmpint(tr_frame_parse(p, n, TR_FRAME_IP, &in), ==, TR_FRAME_DROP_IP_HEADER);
	p[0] = 0x45;
	pb_put16(p + 6, 0x2000); /* MF: the first fragment still shows TCP */
	g_assert_cmpint(tr_frame_parse(p, n, TR_FRAME_IP, &in), ==, TR_FRAME_OK);
	g_assert_true(in.fragment && in.has_l4);
	pb_put16(p + 6, 0x0010); /* a later fragment does not */
	g_assert_cmpint(tr_frame_parse(p, n, TR_FRAME_IP, &in), ==, TR_FRAME_OK);
	g_assert_true(in.fragment && !in.has_l4);

	/* IPv6: hop-by-hop and destination options are walked to TCP. */
	memset(ext, 0, sizeof(ext));
	ext[0] = 60; /* hop-by-hop (8 bytes) -> destination options (16 bytes) -> TCP */
	ext[8] = 6;
	ext[9] = 1;
	memcpy(ext + 24, tcp, t);
	n = pb_ip6(p, "fd00::1", "fd00::2", 0, ext, 24 + t);
	g_assert_cmpint(tr_frame_parse(p, n, TR_FRAME_IP, &in), ==, TR_FRAME_OK);
	g_assert_true(in.has_l4);
	g_assert_cmpuint(in.l4_proto, ==, 6);
	g_assert_cmpuint(in.l4_off, ==, 64);
	ext[9] = 200; /* an extension header longer than the packet */
	n = pb_ip6(p, "fd00::1", "fd00::2", 0, ext, 24 + t);
	g_assert_cmpint(tr_frame_parse(p, n, TR_FRAME_IP, &in), ==, TR_FRAME_DROP_IP_HEADER);
	n = pb_ip6(p, "fd00::1", "fd00::2", 6, tcp, t);
	g_assert_cmpint(tr_frame_parse(p, n - 1, TR_FRAME_IP, &in), ==, TR_FRAME_DROP_SHORT);
	g_assert_cmpint(tr_frame_parse(p, 39, TR_FRAME_IP, &in), ==, TR_FRAME_DROP_SHORT);
	/* An IPv6 packet claiming to be IPv4 in its ethertype. */
	n = pb_eth(p, MAC_B, MAC_A, -1, 0x0800, p, n);
	g_assert_cmpint(tr_frame_parse(p, n, TR_FRAME_ETHERNET, &in), ==, TR_FRAME_DROP_IP_VERSION);

	/* Q-in-Q: the outer VID, the rest is payload. */
	n = frame(p, MAC_B, MAC_A, 0x2064, 0x8100);
	pb_put16(p + 12, 0x88a8);
	g_assert_cmpint(tr_frame_parse(p, n, TR_FRAME_ETHERNET, &in), ==, TR_FRAME_OK);
	g_assert_true(in.tagged);
	g_assert_cmpuint(in.vid, ==, 0x064);
	g_assert_cmpuint(in.ethertype, ==, 0x8100);
	g_assert_cmpuint(in.ip_version, ==, 0);
	g_assert_cmpuint(in.l3_off, ==, 18);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fwd/names", test_names);
	g_test_add_func("/fwd/hub", test_hub);
	g_test_add_func("/fwd/switch", test_switch);
	g_test_add_func("/fwd/router-tun", test_router_tun);
	g_test_add_func("/fwd/router-strict", test_router_strict);
	g_test_add_func("/fwd/router-tap", test_router_tap);
	g_test_add_func("/fwd/parse", test_parse);
	g_test_add_func("/fwd/switch-pairs", test_switch_pairs);
	return g_test_run();
}
