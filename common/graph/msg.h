/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The graph messages on the wire (docs/PROTOCOL.md, "The graph"): what nodes
 * tell each other about edges (who is connected to whom) and claims (who owns
 * which prefix). They are control-channel frames of types 32..37 whose body
 * is a sequence of attributes from the graph's own attribute table. Parsing
 * checks every length before reading; encoding refuses what parsing would.
 */
#include <glib.h>
#include <stdint.h>

#include "platform/addr-types.h"

G_BEGIN_DECLS

#define TR_GRAPH_MSG_HEADER_LEN 4
/* No graph message is larger: two names, a prefix, an endpoint, integers. */
#define TR_GRAPH_MSG_MAX  320
#define TR_GRAPH_NAME_MAX 63

typedef enum {
	TR_GRAPH_MSG_ADD_EDGE = 32,   /* origin -> peer exists, at address, with weight */
	TR_GRAPH_MSG_DEL_EDGE = 33,   /* origin -> peer is gone */
	TR_GRAPH_MSG_ADD_SUBNET = 34, /* origin says: owner holds prefix (kind) */
	TR_GRAPH_MSG_DEL_SUBNET = 35, /* origin withdraws that */
	TR_GRAPH_MSG_BYE = 36,        /* origin leaves: everything it said is void */
	TR_GRAPH_MSG_WANT = 37,       /* a leaf asks its hub about a node or an address */
} TrGraphMsgType;

#define TR_GRAPH_MSG_FIRST TR_GRAPH_MSG_ADD_EDGE
#define TR_GRAPH_MSG_LAST  TR_GRAPH_MSG_WANT

typedef enum {
	TR_GRAPH_ATTR_ORIGIN = 1,  /* string: the node that made the statement */
	TR_GRAPH_ATTR_SEQ = 2,     /* u64: the origin's version of it */
	TR_GRAPH_ATTR_AGE = 3,     /* u32: seconds since the origin made this version */
	TR_GRAPH_ATTR_PEER = 4,    /* string: the other end of an edge */
	TR_GRAPH_ATTR_OWNER = 5,   /* string: who holds a claimed prefix (default: origin) */
	TR_GRAPH_ATTR_ADDRESS = 6, /* endpoint: family u8 (4, 6), port u16, address */
	TR_GRAPH_ATTR_WEIGHT = 7,  /* u32: measured round trip in microseconds, >= 1 */
	TR_GRAPH_ATTR_OPTIONS = 8, /* u32: TrGraphEdgeOptions */
	TR_GRAPH_ATTR_PREFIX = 9,  /* prefix, as in the control channel */
	TR_GRAPH_ATTR_KIND = 10,   /* u8: TrGraphClaimKind */
	TR_GRAPH_ATTR_SINCE = 11,  /* u64: the seq at which the origin first claimed it */
	TR_GRAPH_ATTR_NAME = 12,   /* string: the node a WANT asks about */
} TrGraphAttr;

typedef enum {
	/* The peer cannot be reached at the edge's address by others (behind NAT):
	 * traffic to it goes through the origin (tinc's indirect). */
	TR_GRAPH_EDGE_INDIRECT = 1 << 0,
	/* The origin relays graph messages (a hub, a symmetric node). */
	TR_GRAPH_EDGE_RELAY = 1 << 1,
	/* The origin is a hub (it has a pool). */
	TR_GRAPH_EDGE_HUB = 1 << 2,
} TrGraphEdgeOptions;
#define TR_GRAPH_EDGE_KNOWN (TR_GRAPH_EDGE_INDIRECT | TR_GRAPH_EDGE_RELAY | TR_GRAPH_EDGE_HUB)

typedef enum {
	TR_GRAPH_CLAIM_SUBNET = 0,  /* a routed subnet the owner serves */
	TR_GRAPH_CLAIM_ADDRESS = 1, /* a tunnel address given to the owner */
	TR_GRAPH_CLAIM_POOL = 2,    /* a hub's pool slice: the addresses it gives out */
} TrGraphClaimKind;

/* A real address and port (an edge's endpoint). family 0: none given. */
typedef struct {
	uint8_t family; /* 0, TR_ADDR_IPV4 or TR_ADDR_IPV6 */
	uint16_t port;
	uint8_t addr[16];
} TrGraphEndpoint;

/* One parsed message. Names point into the struct's own buffers. */
typedef struct {
	TrGraphMsgType type;
	char origin[TR_GRAPH_NAME_MAX + 1];
	char peer[TR_GRAPH_NAME_MAX + 1];  /* edges: the other end; WANT: the node */
	char owner[TR_GRAPH_NAME_MAX + 1]; /* claims: empty means the origin */
	uint64_t seq;
	uint32_t age;
	uint32_t weight;
	uint32_t options;
	TrGraphEndpoint address;
	TrPrefix prefix;
	uint8_t kind;
	uint64_t since;
	gboolean has_prefix; /* WANT: asks about an address rather than a node */
} TrGraphMsg;

/*
 * Length of the frame at the start of @data (header + body), 0 if more bytes
 * are needed, -1 if the header is not a graph message's (type or flags) or
 * the body is longer than TR_GRAPH_MSG_MAX allows.
 */
int tr_graph_msg_frame_length(const uint8_t *data, size_t len);

/*
 * Parses exactly one frame. Everything is checked: the header, each
 * attribute's size for its kind, names (the identity rule), prefixes, the
 * attributes each type requires, and values (weight >= 1, seq >= 1, a known
 * kind, known options). The error names what was expected and what was found.
 */
gboolean tr_graph_msg_parse(const uint8_t *data, size_t len, TrGraphMsg *msg, GError **error);

/*
 * Appends the frame for @msg to @out (at most TR_GRAPH_MSG_MAX bytes).
 * FALSE (nothing appended) for a message the parser would refuse.
 */
gboolean tr_graph_msg_encode(const TrGraphMsg *msg, GByteArray *out, GError **error);

const char *tr_graph_msg_type_name(TrGraphMsgType type);
const char *tr_graph_claim_kind_name(TrGraphClaimKind kind);

G_END_DECLS
