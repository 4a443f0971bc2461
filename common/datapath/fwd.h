/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Forwarding: where a packet or frame goes, by mode (--mode hub, switch,
 * router or normal) and device type (--type tun or tap). docs/ROUTING.md
 * describes the rules; in short:
 *
 *   hub     every packet to every peer but the one it came from (and to the
 *           local device when it came from a peer);
 *   switch  (tap) source MACs are learnt per peer and VLAN, unicast goes to
 *           the learnt peer, unknown, broadcast and multicast destinations
 *           are flooded like in hub mode;
 *   router  destinations are looked up in the routing table (claimed
 *           subnets and assigned addresses, longest-prefix match); unknown
 *           destinations, broadcast and multicast are dropped, except ARP
 *           and IPv6 neighbour solicitations, which are routed to the owner
 *           of the address they ask for;
 *   normal  switch for tap, router for tun.
 *
 * A packet is never sent back to where it came from.
 *
 * Peer ids are small integers chosen by the caller; 0 is the local device
 * and TR_PEER_NONE (UINT32_MAX) is not a peer.
 *
 * A TrFwd is an immutable snapshot (mode, type, routing table, and a
 * reference to the switch table, which learns in place: common/datapath/switch.h)
 * that the control plane builds and publishes through common/base/rcu.h;
 * tr_fwd_decide() runs on the data path: no allocation, no lock, no log.
 */
#include <glib.h>

#include "common/datapath/frame.h"
#include "common/datapath/route.h"
#include "common/datapath/switch.h"

#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The local device as a source or destination. */
#define TR_PEER_LOCAL 0u

typedef enum {
	TR_FWD_MODE_NORMAL = 0,
	TR_FWD_MODE_HUB = 1,
	TR_FWD_MODE_SWITCH = 2,
	TR_FWD_MODE_ROUTER = 3,
} TrFwdMode;

/* "normal", "hub", "switch", "router" (ASCII case ignored). TR_ERROR_INVALID otherwise. */
gboolean tr_fwd_mode_parse(const char *text, TrFwdMode *out, GError **error);
const char *tr_fwd_mode_name(TrFwdMode mode);

/* "tun" or "tap". TR_ERROR_INVALID otherwise. */
gboolean tr_frame_type_parse(const char *text, TrFrameType *out, GError **error);
const char *tr_frame_type_name(TrFrameType type);

/* The mode in effect: normal becomes switch (tap) or router (tun); others are kept. */
TrFwdMode tr_fwd_mode_effective(TrFwdMode mode, TrFrameType type);

/* Whether @mode works on @type: switch mode needs tap (TR_ERROR_CONFIG otherwise). */
gboolean tr_fwd_mode_check(TrFwdMode mode, TrFrameType type, GError **error);

typedef struct {
	TrFwdMode mode;
	TrFrameType type;
	/*
	 * Router mode: drop IP packets and ARP from a peer whose source address
	 * does not route back to that peer (anti-spoofing). Unspecified sources
	 * (0.0.0.0, ::) and IPv6 link-local ones (fe80::/10) are exempt.
	 */
	bool strict_source;
} TrFwdConfig;

typedef struct TrFwd TrFwd;

/*
 * Builds a snapshot. Takes ownership of @routes (NULL: an empty table) and a
 * reference to @sw (needed in switch mode, ignored otherwise: may be NULL).
 * Fails with TR_ERROR_CONFIG for a mode the type cannot do or a missing
 * switch table; @routes is freed then too.
 */
TrFwd *tr_fwd_new(const TrFwdConfig *cfg, TrRouteTable *routes, TrSwitch *sw, GError **error);
void tr_fwd_free(TrFwd *fwd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrFwd, tr_fwd_free)

/* The effective mode (never normal), the type and the switch table of a snapshot. */
TrFwdMode tr_fwd_get_mode(const TrFwd *fwd);
TrFrameType tr_fwd_get_type(const TrFwd *fwd);
TrSwitch *tr_fwd_get_switch(const TrFwd *fwd);
/* Its routing table (NULL: empty), for the control plane's lookups (tr_route_lookup). */
const TrRouteTable *tr_fwd_get_routes(const TrFwd *fwd);

typedef enum {
	TR_FWD_DROP = 0, /* nowhere: see drop */
	TR_FWD_PEER,     /* to one peer: peer */
	TR_FWD_LOCAL,    /* to the local device only */
	TR_FWD_FLOOD,    /* to every peer except flood_except, and the device if flood_local */
} TrFwdKind;

typedef enum {
	TR_FWD_DROP_NONE = 0,
	TR_FWD_DROP_MALFORMED, /* see frame_drop */
	TR_FWD_DROP_NO_ROUTE,  /* router: no route to the destination */
	TR_FWD_DROP_INGRESS,   /* the destination is behind the ingress: never sent back */
	TR_FWD_DROP_MULTICAST, /* router: broadcast or multicast */
	TR_FWD_DROP_SPOOFED,   /* router, strict_source: the source is not the ingress's */
	TR_FWD_DROP_COUNT
} TrFwdDrop;

/* "none", "malformed", "no-route", "ingress", "multicast", "spoofed". */
const char *tr_fwd_drop_name(TrFwdDrop drop);

typedef struct {
	TrFwdKind kind;
	TrFwdDrop drop;         /* TR_FWD_DROP: why */
	TrFrameDrop frame_drop; /* TR_FWD_DROP_MALFORMED: what was wrong */
	uint32_t peer;          /* TR_FWD_PEER: the one peer (never the ingress, never 0) */
	uint32_t flood_except;  /* TR_FWD_FLOOD: the ingress (0 when it is the device) */
	bool flood_local;       /* TR_FWD_FLOOD: also write to the device (ingress was a peer) */
	TrFrameInfo info;       /* the parsed layers (valid unless malformed) */
} TrFwdResult;

/*
 * Decides where @pkt (@len bytes, an IP packet or an Ethernet frame per the
 * snapshot's type), which arrived from @ingress (a peer id, or TR_PEER_LOCAL
 * for the device), goes. In switch mode, learns the source MAC as living
 * behind @ingress at @now (monotonic microseconds). Fills @out and returns
 * out->kind. Never allocates, locks or logs.
 */
TrFwdKind tr_fwd_decide(const TrFwd *fwd, const uint8_t *pkt, size_t len, uint32_t ingress,
                        int64_t now, TrFwdResult *out);

/*
 * The last routed decision of a worker (router mode, IP packets): a TCP
 * stream's packets have the same addresses and ingress one after another,
 * so their source check and route lookup are made once. Valid for one TrFwd
 * snapshot: tr_fwd_memo_reset() it whenever another may take that one's
 * place (the data plane: at each batch, under the table it read).
 */
typedef struct {
	const TrFwd *fwd; /* NULL: empty */
	uint32_t ingress, peer;
	TrFwdKind kind; /* TR_FWD_PEER or TR_FWD_LOCAL */
	uint8_t ip_version;
	uint8_t addrs[32]; /* source then destination, 4 or 16 bytes each */
} TrFwdMemo;

void tr_fwd_memo_reset(TrFwdMemo *memo);

/*
 * tr_fwd_decide(), the same decision every time, reusing @memo's when the
 * packet parses and has the memo's addresses and ingress (IP packets in
 * router mode; a decision to a peer or to the device is kept for the next).
 */
TrFwdKind tr_fwd_decide_memo(const TrFwd *fwd, TrFwdMemo *memo, const uint8_t *pkt, size_t len,
                             uint32_t ingress, int64_t now, TrFwdResult *out);

/*
 * Switch mode on a client with pairs (docs/MESH.md, "Tap mode"): @pkt came
 * through the hub session, which says nothing of who sent it. When its
 * source address (IPv4, IPv6, or an ARP sender) routes to a peer in the
 * snapshot's routing table (a pair's addresses and claimed subnets), its
 * source MAC is learnt behind that peer at @now, so that frames to it go to
 * the pair from then on. Returns that peer, or TR_PEER_NONE (not switch mode,
 * malformed, no such source). Never allocates, locks or logs.
 */
uint32_t tr_fwd_learn_by_source(const TrFwd *fwd, const uint8_t *pkt, size_t len, int64_t now);

G_END_DECLS
