/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Packet mangling on the data path, so that large transfers work without
 * manual MTU tuning:
 *
 *  - TCP MSS clamping (tinc's ClampMSS): the MSS option of SYN and SYN-ACK
 *    segments is lowered to what fits the tunnel, with the TCP checksum
 *    updated incrementally (RFC 1624);
 *  - path-MTU discovery: for a packet bigger than the tunnel MTU, an ICMP
 *    "fragmentation needed" (IPv4 with DF set; RFC 792, RFC 1191) or ICMPv6
 *    "packet too big" (RFC 4443) is built toward its sender.
 *
 * Both work on tun packets and on tap frames (Ethernet, at most one VLAN tag)
 * and the @mtu is the tunnel's IP MTU: the largest IP packet it carries, not
 * counting the Ethernet header. Pure functions: no allocation, no lock, no log;
 * they never read or write outside the buffers given.
 */
#include "common/datapath/frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most a PTB reply quotes: RFC 1812 4.3.2.3 (576-byte reply) and RFC 4443 2.4 (1280). */
#define TR_PTB_QUOTE4_MAX (576u - TR_IP4_HLEN - 8u)
#define TR_PTB_QUOTE6_MAX (1280u - TR_IP6_HLEN - 8u)
/* Room that always fits a PTB reply: Ethernet + tag + IPv6 + ICMPv6 + quote. */
#define TR_PTB_MAX (TR_ETH_HLEN + TR_VLAN_HLEN + 1280u)

/*
 * Lowers the MSS option of a TCP SYN or SYN-ACK in @pkt to @mtu - 40 (IPv4)
 * or @mtu - 60 (IPv6) when it is larger, updating the checksum. Returns true
 * when the packet was changed; anything else (not TCP, no SYN, no MSS option,
 * already small enough, a later fragment, malformed) is left alone.
 */
bool tr_mangle_clamp_mss(uint8_t *pkt, size_t len, TrFrameType type, unsigned mtu);

/*
 * When the IP packet in @pkt is longer than @mtu, builds into @out the ICMP
 * reply that tells its sender: type 3 code 4 with the next-hop MTU (at least
 * 68) for IPv4 with DF set, type 2 with the MTU (at least 1280) for IPv6. The
 * reply comes from the packet's destination address (the tunnel is the
 * "link" the destination sits behind) to its source, quotes as much of the
 * original packet as the RFCs allow (TR_PTB_QUOTE4_MAX/TR_PTB_QUOTE6_MAX
 * bytes), and for tap is wrapped in an Ethernet header with the MACs swapped
 * (and the same VLAN tag). Returns its length, or 0 when no reply is due:
 * the packet fits, IPv4 without DF (send it; the outer layer fragments), a
 * non-first fragment, an ICMP error, a source or destination that is not
 * unicast, a malformed packet, or @out_size too small (TR_PTB_MAX is always
 * enough). Rate limiting is the caller's.
 */
/*
 * Congestion Experienced (RFC 3168): when the IP packet in @pkt says its
 * transport understands ECN (ECT(0) or ECT(1)), sets its ECN field to CE
 * (IPv4: the header checksum updated) and returns true; true also when it
 * is CE already. False for Not-ECT and anything that is not IPv4 or IPv6
 * (the caller drops it instead).
 */
bool tr_mangle_mark_ce(uint8_t *pkt, size_t len, TrFrameType type);

size_t tr_mangle_build_ptb(const uint8_t *pkt, size_t len, TrFrameType type, unsigned mtu,
                           uint8_t *out, size_t out_size);

#ifdef __cplusplus
}
#endif
