/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "platform/addr-types.h"
#include "common/base/candidate.h"

G_BEGIN_DECLS

/*
 * Control-channel messages, carried inside the TLS 1.3 stream. The wire
 * format is in docs/PROTOCOL.md ("Control channel"):
 *
 *   message   = type(u8) flags(u8, 0) length(u16 BE) body[length]
 *   body      = attribute*            (DATA: one data-channel packet)
 *   attribute = id(u8) length(u16 BE) value[length]
 *
 * Every attribute has a fixed or bounded length that is checked before its
 * value is read; unknown attributes are skipped so later versions can add
 * fields. Lists have hard caps so a peer cannot make us allocate without bound.
 */

#define TR_PROTO_VERSION 1u

#define TR_MSG_HEADER_LEN 4
#define TR_MSG_MAX_BODY   65535

typedef enum {
	TR_MSG_HELLO = 1,     /* client or dialling node -> hub: who I am, what I can do */
	TR_MSG_CONFIG = 2,    /* hub -> client: the session's settings (to a node: its own) */
	TR_MSG_ERROR = 3,     /* either way: refusal or failure, then close */
	TR_MSG_PING = 4,      /* keepalive with random salt */
	TR_MSG_PONG = 5,      /* echoes the PING's salt */
	TR_MSG_REKEY = 6,     /* a new key epoch: both derive, sender switches on ack */
	TR_MSG_REKEY_ACK = 7, /* the new epoch is installed on the receiving side */
	TR_MSG_DATA = 8,      /* one data-channel packet over TLS (UDP fallback) */
	TR_MSG_PATH = 9,      /* sender now sends data over UDP / over TLS */
	TR_MSG_CLOSE = 10,    /* orderly shutdown: drop the session now */
	TR_MSG_JOIN = 11,     /* invite session, joiner -> hub: a certificate request */
	TR_MSG_JOINED = 12,   /* hub -> joiner: certificate, CA, how to connect; then close */
	/* Pair sessions between clients (docs/PROTOCOL.md, "Pair sessions"). */
	/* 13 is not used: pairs start when the hub forwards traffic between two clients. */
	TR_MSG_PAIR_START = 14, /* hub -> both clients at once: the peer, its candidates */
	TR_MSG_PAIR_TLS = 15,   /* either way, forwarded by the hub: the pair's TLS bytes */
	TR_MSG_PAIR_END = 16,   /* either way: the pair session is over (or refused), why */
	TR_MSG_CANDIDATES = 17, /* client -> hub: its own; hub -> client: a peer's, changed */
	TR_MSG_RELAY = 18,      /* either way: one relay frame over TLS (UDP blocked) */
} TrMsgType;

#define TR_MSG_TYPE_LAST TR_MSG_RELAY

/* Types 32..37 are the graph's messages (common/graph/msg.h: ADD_EDGE ..
 * WANT; docs/PROTOCOL.md, "The graph"). They share this header, but their
 * bodies use the graph's own attribute table: tr_msg_parse() checks only the
 * frame and hands them on whole in TrMsg.frame for tr_graph_receive(), and
 * the graph encodes its own frames. */
#define TR_MSG_GRAPH_FIRST 32u
#define TR_MSG_GRAPH_LAST  37u

static inline bool
tr_msg_type_is_graph(uint8_t type)
{
	return type >= TR_MSG_GRAPH_FIRST && type <= TR_MSG_GRAPH_LAST;
}

typedef enum {
	TR_ATTR_PROTO_VERSION = 1, /* u16 */
	TR_ATTR_SOFTWARE = 2,      /* string */
	TR_ATTR_NODE_NAME = 3,     /* string */
	TR_ATTR_CIPHERS = 4,       /* u8[] in order of preference */
	TR_ATTR_COMPRESSIONS = 5,  /* u8[] in order of preference */
	TR_ATTR_DEVICE_TYPE = 6,   /* u8: 0 tun, 1 tap */
	TR_ATTR_MTU = 7,           /* u16 */
	TR_ATTR_FEATURES = 8,      /* u32 bit set, TrFeature */
	TR_ATTR_RX_INDEX = 9,      /* u32: the sender's receiver index */
	TR_ATTR_USERNAME = 10,     /* string */
	TR_ATTR_PASSWORD = 11,     /* string */
	TR_ATTR_SUBNET = 12,       /* prefix, repeatable */
	TR_ATTR_ADDRESS = 13,      /* prefix with host bits, repeatable */
	TR_ATTR_ROUTE = 14,        /* prefix, repeatable */
	TR_ATTR_DNS_SERVER = 15,   /* prefix (host), repeatable */
	TR_ATTR_DNS_SEARCH = 16,   /* string, repeatable */
	TR_ATTR_CIPHER = 17,       /* u8 */
	TR_ATTR_COMPRESSION = 18,  /* u8 */
	TR_ATTR_KEEPALIVE = 19,    /* u16 seconds */
	TR_ATTR_PEER_TIMEOUT = 20, /* u32 seconds */
	TR_ATTR_ERROR_CODE = 21,   /* u16, TrRefusal */
	TR_ATTR_REASON = 22,       /* string */
	TR_ATTR_SALT = 23,         /* 8..32 bytes */
	TR_ATTR_EPOCH = 24,        /* u32 */
	TR_ATTR_PATH = 25,         /* u8: 0 UDP, 1 TLS */
	TR_ATTR_UDP_PORT = 26,     /* u16 */
	TR_ATTR_MAGIC = 27,        /* 4 bytes */
	TR_ATTR_IDENTITY = 28,     /* string: the identity the server authenticated */
	TR_ATTR_CERT_REQUEST = 29, /* bytes: PKCS#10 request (PEM) */
	TR_ATTR_CERTIFICATE = 30,  /* bytes: X.509 certificate (PEM) */
	TR_ATTR_CA_CERT = 31,      /* bytes: the network's CA certificate (PEM) */
	TR_ATTR_SERVER_NAME = 32,  /* string: the name on the hub's certificate */
	TR_ATTR_NODE_KEY = 33,     /* bytes: the node's Ed25519 public key (32), shared-key mode */
	TR_ATTR_NODE_PROOF = 34,   /* bytes: its signature (64) over the session's exporter */
	TR_ATTR_PAIR_ID = 35,      /* u32: the pair session, chosen by the hub */
	TR_ATTR_PEER = 36,         /* string: the other client's identity */
	TR_ATTR_ROLE = 37,         /* u8: 0 TLS client, 1 TLS server in the pair handshake */
	TR_ATTR_CANDIDATE = 38,    /* candidate (common/base/candidate.h), repeatable */
	TR_ATTR_PAIR_TLS = 39,     /* bytes: a piece of the pair's TLS byte stream */
	TR_ATTR_RELAY = 40,        /* u8: 0 the hub relays nothing, 1 UDP and TLS */
	TR_ATTR_POOL = 41,         /* prefix, repeatable: a hub's pool slice (hub to hub) */
	TR_ATTR_TARGET = 42,       /* prefix (host): whom a PAIR_START is for (hub to hub) */
} TrAttr;

typedef enum {
	TR_FEATURE_UDP = 1 << 0,              /* can send/receive data over UDP */
	TR_FEATURE_TCP_FALLBACK = 1 << 1,     /* can carry data over the TLS stream */
	TR_FEATURE_CLIENT_TO_CLIENT = 1 << 2, /* server routes between clients */
	TR_FEATURE_PLAINTEXT = 1 << 3,        /* explicitly configured for no encryption */
	TR_FEATURE_NODE = 1 << 4,             /* a node of a symmetric network: nothing pushed */
	TR_FEATURE_PAIRS = 1 << 5,            /* a client that takes part in pair sessions */
	TR_FEATURE_NO_DIRECT = 1 << 6, /* ... only relayed (--no-direct): peers get no candidates */
	TR_FEATURE_PAIRS_ACROSS = 1 << 7, /* a hub: takes pairs across hubs on this hub link */
	/* takes DATA packets whose TCP checksum is left partial (data-channel flag
	 * 0x10): a client's HELLO, and the hub's CONFIG when both do */
	TR_FEATURE_CSUM_PARTIAL = 1 << 8,
} TrFeature;

/* Why a peer was refused or a session ended; sent in ERROR and CLOSE. */
typedef enum {
	TR_REFUSE_NONE = 0,
	TR_REFUSE_PROTOCOL = 1,  /* malformed or unexpected message */
	TR_REFUSE_VERSION = 2,   /* no common protocol version */
	TR_REFUSE_CIPHER = 3,    /* no common cipher / plaintext refused */
	TR_REFUSE_AUTH = 4,      /* invalid username or password / identity refused */
	TR_REFUSE_POOL = 5,      /* no address left in the pool */
	TR_REFUSE_SETTINGS = 6,  /* device type, MTU or compression cannot be agreed */
	TR_REFUSE_REPLACED = 7,  /* the same identity connected again */
	TR_REFUSE_SHUTDOWN = 8,  /* the other side is shutting down */
	TR_REFUSE_TIMEOUT = 9,   /* peer timeout */
	TR_REFUSE_REVOKED = 10,  /* certificate revoked (CRL reload) */
	TR_REFUSE_INTERNAL = 11, /* the other side failed */
	TR_REFUSE_ROLE = 12,     /* the other side takes no peers of this kind (clients, nodes) */
	TR_REFUSE_PASSWORD = 13, /* username or password missing or refused */
	TR_REFUSE_POOL_COLLISION = 14, /* a joining hub's address pool overlaps a known one */
} TrRefusal;

const char *tr_refusal_to_string(TrRefusal code);

/* The TR_ERROR code a refusal stands for: tr_error_is_retryable() on it
 * says whether reconnecting can help (an exhausted pool, a shutdown) or not
 * (refused credentials, settings, a hub that takes no clients). */
int tr_refusal_error_code(TrRefusal code);
const char *tr_msg_type_to_string(uint8_t type);

#define TR_MAX_LIST     16 /* ciphers, compressions */
#define TR_MAX_PREFIXES 64 /* subnets, routes, addresses, DNS servers */
#define TR_MAX_SEARCH   8
#define TR_MAX_STRING   255
#define TR_SALT_MIN     8
#define TR_SALT_MAX     32
#define TR_MAX_BLOB     16384 /* certificates and requests: a few hundred bytes each */

/* Everything any message may carry; which fields a message needs is checked
 * by the handlers (tr_msg_require()). Strings are NUL-terminated copies. */
typedef struct {
	uint8_t type;
	uint64_t present; /* bit (1 << attr) for every attribute seen */

	uint16_t proto_version;
	char *software;
	char *node_name;
	char *username;
	char *password; /* wiped on clear */
	char *reason;
	char *identity;
	char *server_name;
	GBytes *cert_request; /* bytes attributes: 1..TR_MAX_BLOB bytes */
	GBytes *certificate;
	GBytes *ca_cert;
	GBytes *node_key;
	GBytes *node_proof;
	uint8_t ciphers[TR_MAX_LIST];
	unsigned n_ciphers;
	uint8_t compressions[TR_MAX_LIST];
	unsigned n_compressions;
	uint8_t device_type;
	uint16_t mtu;
	uint32_t features;
	uint32_t rx_index;
	uint8_t cipher;
	uint8_t compression;
	uint16_t keepalive;
	uint32_t peer_timeout;
	uint16_t error_code;
	uint8_t salt[TR_SALT_MAX];
	unsigned salt_len;
	uint32_t epoch;
	uint8_t path;
	uint16_t udp_port;
	uint8_t magic[4];
	uint32_t pair_id;
	char *peer;
	uint8_t role;
	TrCandidate candidates[TR_CANDIDATE_MAX];
	unsigned n_candidates;
	GBytes *pair_tls;
	uint8_t relay;
	TrPrefix target;

	TrPrefix subnets[TR_MAX_PREFIXES];
	unsigned n_subnets;
	TrPrefix addresses[TR_MAX_PREFIXES];
	unsigned n_addresses;
	TrPrefix routes[TR_MAX_PREFIXES];
	unsigned n_routes;
	TrPrefix pools[TR_MAX_PREFIXES];
	unsigned n_pools;
	TrPrefix dns_servers[TR_MAX_PREFIXES];
	unsigned n_dns_servers;
	char *dns_search[TR_MAX_SEARCH];
	unsigned n_dns_search;

	/* TR_MSG_DATA, TR_MSG_RELAY: points into the buffer that was parsed */
	const uint8_t *data;
	size_t data_len;
	/* Every parsed message: the whole frame (header and body) in the buffer
	 * that was parsed; for graph messages the only content. */
	const uint8_t *frame;
	size_t frame_len;
} TrMsg;

void tr_msg_init(TrMsg *msg, uint8_t type);
/* Frees the strings (wiping the password) and resets to empty. */
void tr_msg_clear(TrMsg *msg);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TrMsg, tr_msg_clear)

static inline bool
tr_msg_has(const TrMsg *msg, TrAttr attr)
{
	return (msg->present >> attr) & 1;
}

/* Checks that every attribute in the 0-terminated list is present. */
gboolean tr_msg_require(const TrMsg *msg, GError **error, ...);

/*
 * Given the bytes received so far, returns the length of the first complete
 * message (header + body), 0 if more bytes are needed, or -EPROTO for a bad
 * header (non-zero flags).
 */
int tr_msg_frame_length(const uint8_t *buf, size_t len);

/* Parses exactly one framed message (the @len from tr_msg_frame_length). */
gboolean tr_msg_parse(const uint8_t *buf, size_t len, TrMsg *msg, GError **error);

/* Appends the wire form of @msg (every field marked present) to @out. */
gboolean tr_msg_encode(const TrMsg *msg, GByteArray *out, GError **error);

/* Appends a DATA message holding @len bytes of @packet. */
gboolean tr_msg_encode_data(GByteArray *out, const uint8_t *packet, size_t len, GError **error);

/* Appends a RELAY message holding one relay frame (common/mesh/relay.h). */
gboolean tr_msg_encode_relay(GByteArray *out, const uint8_t *frame, size_t len, GError **error);

/* Adds a candidate (FALSE when TR_CANDIDATE_MAX are there). */
gboolean tr_msg_add_candidate(TrMsg *msg, const TrCandidate *candidate);

/* Setters: each stores the value and marks the attribute present, and
 * checks that @attr is of its type. */
void tr_msg_set_u8(TrMsg *msg, TrAttr attr, uint8_t value);
void tr_msg_set_u16(TrMsg *msg, TrAttr attr, uint16_t value);
void tr_msg_set_u32(TrMsg *msg, TrAttr attr, uint32_t value);
/* One more entry of a u8 list (ciphers, compressions); FALSE when full. */
gboolean tr_msg_add_u8(TrMsg *msg, TrAttr attr, uint8_t value);
void tr_msg_set_magic(TrMsg *msg, const uint8_t magic[4]);
/* TR_SALT_MIN..TR_SALT_MAX bytes; FALSE (nothing set) for another length. */
gboolean tr_msg_set_salt(TrMsg *msg, const uint8_t *salt, unsigned len);
void tr_msg_set_string(TrMsg *msg, TrAttr attr, const char *value);
/* A bytes attribute (a reference to @value is taken). */
void tr_msg_set_bytes(TrMsg *msg, TrAttr attr, GBytes *value);
gboolean tr_msg_add_prefix(TrMsg *msg, TrAttr attr, const TrPrefix *prefix);
/* Sets a prefix attribute that is not repeatable (TR_ATTR_TARGET). */
void tr_msg_set_prefix(TrMsg *msg, TrAttr attr, const TrPrefix *prefix);
gboolean tr_msg_add_search(TrMsg *msg, const char *domain);

G_END_DECLS
