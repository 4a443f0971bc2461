/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/ctrl/msg.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/secret.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

typedef enum {
	K_U8,
	K_U16,
	K_U32,
	K_STRING,
	K_U8_LIST,
	K_PREFIX,
	K_PREFIX_ONE, /* one prefix, not repeatable */
	K_SEARCH,
	K_SALT,
	K_MAGIC,
	K_BYTES,
	K_CANDIDATE,
} Kind;

typedef struct {
	uint8_t attr;
	uint8_t kind;
	const char *name;
	size_t field;   /* offsetof the value in TrMsg */
	size_t counter; /* offsetof the count for lists */
} AttrSpec;

#define F(m) offsetof(TrMsg, m)
/* Indexed by attribute id; a zero kind with no name marks an unknown id. */
static const AttrSpec attr_specs[] = {
        [TR_ATTR_PROTO_VERSION] = {TR_ATTR_PROTO_VERSION, K_U16, "protocol version",
                                   F(proto_version), 0},
        [TR_ATTR_SOFTWARE] = {TR_ATTR_SOFTWARE, K_STRING, "software", F(software), 0},
        [TR_ATTR_NODE_NAME] = {TR_ATTR_NODE_NAME, K_STRING, "node name", F(node_name), 0},
        [TR_ATTR_CIPHERS] = {TR_ATTR_CIPHERS, K_U8_LIST, "ciphers", F(ciphers), F(n_ciphers)},
        [TR_ATTR_COMPRESSIONS] = {TR_ATTR_COMPRESSIONS, K_U8_LIST, "compressions", F(compressions),
                                  F(n_compressions)},
        [TR_ATTR_DEVICE_TYPE] = {TR_ATTR_DEVICE_TYPE, K_U8, "device type", F(device_type), 0},
        [TR_ATTR_MTU] = {TR_ATTR_MTU, K_U16, "MTU", F(mtu), 0},
        [TR_ATTR_FEATURES] = {TR_ATTR_FEATURES, K_U32, "features", F(features), 0},
        [TR_ATTR_RX_INDEX] = {TR_ATTR_RX_INDEX, K_U32, "receiver index", F(rx_index), 0},
        [TR_ATTR_USERNAME] = {TR_ATTR_USERNAME, K_STRING, "username", F(username), 0},
        [TR_ATTR_PASSWORD] = {TR_ATTR_PASSWORD, K_STRING, "password", F(password), 0},
        [TR_ATTR_SUBNET] = {TR_ATTR_SUBNET, K_PREFIX, "subnet", F(subnets), F(n_subnets)},
        [TR_ATTR_ADDRESS] = {TR_ATTR_ADDRESS, K_PREFIX, "address", F(addresses), F(n_addresses)},
        [TR_ATTR_ROUTE] = {TR_ATTR_ROUTE, K_PREFIX, "route", F(routes), F(n_routes)},
        [TR_ATTR_DNS_SERVER] = {TR_ATTR_DNS_SERVER, K_PREFIX, "DNS server", F(dns_servers),
                                F(n_dns_servers)},
        [TR_ATTR_DNS_SEARCH] = {TR_ATTR_DNS_SEARCH, K_SEARCH, "DNS search domain", F(dns_search),
                                F(n_dns_search)},
        [TR_ATTR_CIPHER] = {TR_ATTR_CIPHER, K_U8, "cipher", F(cipher), 0},
        [TR_ATTR_COMPRESSION] = {TR_ATTR_COMPRESSION, K_U8, "compression", F(compression), 0},
        [TR_ATTR_KEEPALIVE] = {TR_ATTR_KEEPALIVE, K_U16, "keepalive", F(keepalive), 0},
        [TR_ATTR_PEER_TIMEOUT] = {TR_ATTR_PEER_TIMEOUT, K_U32, "peer timeout", F(peer_timeout), 0},
        [TR_ATTR_ERROR_CODE] = {TR_ATTR_ERROR_CODE, K_U16, "error code", F(error_code), 0},
        [TR_ATTR_REASON] = {TR_ATTR_REASON, K_STRING, "reason", F(reason), 0},
        [TR_ATTR_SALT] = {TR_ATTR_SALT, K_SALT, "salt", F(salt), F(salt_len)},
        [TR_ATTR_EPOCH] = {TR_ATTR_EPOCH, K_U32, "epoch", F(epoch), 0},
        [TR_ATTR_PATH] = {TR_ATTR_PATH, K_U8, "path", F(path), 0},
        [TR_ATTR_UDP_PORT] = {TR_ATTR_UDP_PORT, K_U16, "UDP port", F(udp_port), 0},
        [TR_ATTR_MAGIC] = {TR_ATTR_MAGIC, K_MAGIC, "magic", F(magic), 0},
        [TR_ATTR_IDENTITY] = {TR_ATTR_IDENTITY, K_STRING, "identity", F(identity), 0},
        [TR_ATTR_CERT_REQUEST] = {TR_ATTR_CERT_REQUEST, K_BYTES, "certificate request",
                                  F(cert_request), 0},
        [TR_ATTR_CERTIFICATE] = {TR_ATTR_CERTIFICATE, K_BYTES, "certificate", F(certificate), 0},
        [TR_ATTR_CA_CERT] = {TR_ATTR_CA_CERT, K_BYTES, "CA certificate", F(ca_cert), 0},
        [TR_ATTR_SERVER_NAME] = {TR_ATTR_SERVER_NAME, K_STRING, "server name", F(server_name), 0},
        [TR_ATTR_NODE_KEY] = {TR_ATTR_NODE_KEY, K_BYTES, "node key", F(node_key), 0},
        [TR_ATTR_NODE_PROOF] = {TR_ATTR_NODE_PROOF, K_BYTES, "node key proof", F(node_proof), 0},
        [TR_ATTR_PAIR_ID] = {TR_ATTR_PAIR_ID, K_U32, "pair id", F(pair_id), 0},
        [TR_ATTR_PEER] = {TR_ATTR_PEER, K_STRING, "peer", F(peer), 0},
        [TR_ATTR_ROLE] = {TR_ATTR_ROLE, K_U8, "role", F(role), 0},
        [TR_ATTR_CANDIDATE] = {TR_ATTR_CANDIDATE, K_CANDIDATE, "candidate", F(candidates),
                               F(n_candidates)},
        [TR_ATTR_PAIR_TLS] = {TR_ATTR_PAIR_TLS, K_BYTES, "pair TLS bytes", F(pair_tls), 0},
        [TR_ATTR_RELAY] = {TR_ATTR_RELAY, K_U8, "relay", F(relay), 0},
        [TR_ATTR_POOL] = {TR_ATTR_POOL, K_PREFIX, "pool", F(pools), F(n_pools)},
        [TR_ATTR_TARGET] = {TR_ATTR_TARGET, K_PREFIX_ONE, "target", F(target), 0},
};
#undef F

G_STATIC_ASSERT(G_N_ELEMENTS(attr_specs) < 64); /* fits TrMsg.present */

static const AttrSpec *
spec_for(unsigned attr)
{
	if (attr >= G_N_ELEMENTS(attr_specs) || attr_specs[attr].name == NULL)
		return NULL;
	return &attr_specs[attr];
}

#define FIELD(msg, off, type)  ((type *)((char *)(msg) + (off)))
#define CFIELD(msg, off, type) ((const type *)((const char *)(msg) + (off)))

const char *
tr_refusal_to_string(TrRefusal code)
{
	switch (code) {
	case TR_REFUSE_NONE:
		return "no error";
	case TR_REFUSE_PROTOCOL:
		return "protocol error";
	case TR_REFUSE_VERSION:
		return "protocol version mismatch";
	case TR_REFUSE_CIPHER:
		return "no common cipher";
	case TR_REFUSE_AUTH:
		return "authentication failed";
	case TR_REFUSE_POOL:
		return "address pool exhausted";
	case TR_REFUSE_SETTINGS:
		return "settings cannot be agreed";
	case TR_REFUSE_REPLACED:
		return "replaced by a newer session of the same identity";
	case TR_REFUSE_SHUTDOWN:
		return "peer is shutting down";
	case TR_REFUSE_TIMEOUT:
		return "peer timed out";
	case TR_REFUSE_REVOKED:
		return "certificate revoked";
	case TR_REFUSE_INTERNAL:
		return "internal error";
	case TR_REFUSE_ROLE:
		return "this node takes no peers of this kind";
	case TR_REFUSE_PASSWORD:
		return "invalid username or password";
	case TR_REFUSE_POOL_COLLISION:
		return "address pool collides";
	}
	return "unknown error";
}

int
tr_refusal_error_code(TrRefusal code)
{
	switch (code) {
	case TR_REFUSE_VERSION:
	case TR_REFUSE_CIPHER:
	case TR_REFUSE_SETTINGS:
		return TR_ERROR_NEGOTIATE;
	case TR_REFUSE_AUTH:
	case TR_REFUSE_REVOKED:
	case TR_REFUSE_PASSWORD:
		return TR_ERROR_AUTH;
	case TR_REFUSE_ROLE:
	case TR_REFUSE_POOL_COLLISION:
		return TR_ERROR_CONFIG;
	case TR_REFUSE_TIMEOUT:
		return TR_ERROR_TIMEOUT;
	case TR_REFUSE_PROTOCOL:
		return TR_ERROR_PROTOCOL;
	default:
		/* Pool exhausted, replaced, shutting down, internal: may pass. */
		return TR_ERROR_IO;
	}
}

const char *
tr_msg_type_to_string(uint8_t type)
{
	static const char *const names[] = {
	        [TR_MSG_HELLO] = "HELLO",
	        [TR_MSG_CONFIG] = "CONFIG",
	        [TR_MSG_ERROR] = "ERROR",
	        [TR_MSG_PING] = "PING",
	        [TR_MSG_PONG] = "PONG",
	        [TR_MSG_REKEY] = "REKEY",
	        [TR_MSG_REKEY_ACK] = "REKEY_ACK",
	        [TR_MSG_DATA] = "DATA",
	        [TR_MSG_PATH] = "PATH",
	        [TR_MSG_CLOSE] = "CLOSE",
	        [TR_MSG_JOIN] = "JOIN",
	        [TR_MSG_JOINED] = "JOINED",
	        [TR_MSG_PAIR_START] = "PAIR_START",
	        [TR_MSG_PAIR_TLS] = "PAIR_TLS",
	        [TR_MSG_PAIR_END] = "PAIR_END",
	        [TR_MSG_CANDIDATES] = "CANDIDATES",
	        [TR_MSG_RELAY] = "RELAY",
	        [32] = "ADD_EDGE",
	        [33] = "DEL_EDGE",
	        [34] = "ADD_SUBNET",
	        [35] = "DEL_SUBNET",
	        [36] = "BYE",
	        [37] = "WANT",
	};
	if (type < G_N_ELEMENTS(names) && names[type])
		return names[type];
	return "unknown";
}

void
tr_msg_init(TrMsg *msg, uint8_t type)
{
	memset(msg, 0, sizeof(*msg));
	msg->type = type;
}

void
tr_msg_clear(TrMsg *msg)
{
	tr_secret_free(msg->password);
	g_free(msg->software);
	g_free(msg->node_name);
	g_free(msg->username);
	g_free(msg->reason);
	g_free(msg->identity);
	g_free(msg->server_name);
	g_clear_pointer(&msg->cert_request, g_bytes_unref);
	g_clear_pointer(&msg->certificate, g_bytes_unref);
	g_clear_pointer(&msg->ca_cert, g_bytes_unref);
	g_clear_pointer(&msg->node_key, g_bytes_unref);
	g_clear_pointer(&msg->node_proof, g_bytes_unref);
	g_clear_pointer(&msg->pair_tls, g_bytes_unref);
	g_free(msg->peer);
	for (unsigned i = 0; i < msg->n_dns_search; i++)
		g_free(msg->dns_search[i]);
	tr_msg_init(msg, 0);
}

/* Marks @attr present. */
static void
set_present(TrMsg *msg, TrAttr attr)
{
	msg->present |= (uint64_t)1 << attr;
}

/* The field of @attr, checked to be of @kind. */
static void *
typed_field(TrMsg *msg, TrAttr attr, Kind kind)
{
	const AttrSpec *s = spec_for(attr);

	g_return_val_if_fail(s != NULL && s->kind == kind, NULL);
	return FIELD(msg, s->field, char);
}

/* A u8, u16 or u32 attribute (@kind) set to @value. */
static void
set_scalar(TrMsg *msg, TrAttr attr, Kind kind, uint32_t value)
{
	void *field = typed_field(msg, attr, kind);

	if (field == NULL)
		return;
	if (kind == K_U8)
		*(uint8_t *)field = (uint8_t)value;
	else if (kind == K_U16)
		*(uint16_t *)field = (uint16_t)value;
	else
		*(uint32_t *)field = value;
	set_present(msg, attr);
}

void
tr_msg_set_u8(TrMsg *msg, TrAttr attr, uint8_t value)
{
	set_scalar(msg, attr, K_U8, value);
}

void
tr_msg_set_u16(TrMsg *msg, TrAttr attr, uint16_t value)
{
	set_scalar(msg, attr, K_U16, value);
}

void
tr_msg_set_u32(TrMsg *msg, TrAttr attr, uint32_t value)
{
	set_scalar(msg, attr, K_U32, value);
}

gboolean
tr_msg_add_u8(TrMsg *msg, TrAttr attr, uint8_t value)
{
	uint8_t *list = typed_field(msg, attr, K_U8_LIST);
	unsigned *n;

	if (list == NULL)
		return FALSE;
	n = FIELD(msg, spec_for(attr)->counter, unsigned);
	if (*n >= TR_MAX_LIST)
		return FALSE;
	list[(*n)++] = value;
	set_present(msg, attr);
	return TRUE;
}

void
tr_msg_set_magic(TrMsg *msg, const uint8_t magic[4])
{
	memcpy(msg->magic, magic, sizeof(msg->magic));
	set_present(msg, TR_ATTR_MAGIC);
}

gboolean
tr_msg_set_salt(TrMsg *msg, const uint8_t *salt, unsigned len)
{
	if (len < TR_SALT_MIN || len > TR_SALT_MAX)
		return FALSE;
	memcpy(msg->salt, salt, len);
	msg->salt_len = len;
	set_present(msg, TR_ATTR_SALT);
	return TRUE;
}

void
tr_msg_set_string(TrMsg *msg, TrAttr attr, const char *value)
{
	const AttrSpec *s = spec_for(attr);
	char **field;

	g_return_if_fail(s != NULL && s->kind == K_STRING);
	field = FIELD(msg, s->field, char *);
	g_free(*field);
	*field = g_strdup(value);
	set_present(msg, attr);
}

void
tr_msg_set_bytes(TrMsg *msg, TrAttr attr, GBytes *value)
{
	const AttrSpec *s = spec_for(attr);
	GBytes **field;

	g_return_if_fail(s != NULL && s->kind == K_BYTES && value != NULL);
	field = FIELD(msg, s->field, GBytes *);
	if (*field)
		g_bytes_unref(*field);
	*field = g_bytes_ref(value);
	set_present(msg, attr);
}

gboolean
tr_msg_add_prefix(TrMsg *msg, TrAttr attr, const TrPrefix *prefix)
{
	const AttrSpec *s = spec_for(attr);
	unsigned *n;

	g_return_val_if_fail(s != NULL && s->kind == K_PREFIX, FALSE);
	n = FIELD(msg, s->counter, unsigned);
	if (*n >= TR_MAX_PREFIXES)
		return FALSE;
	FIELD(msg, s->field, TrPrefix)[(*n)++] = *prefix;
	set_present(msg, attr);
	return TRUE;
}

void
tr_msg_set_prefix(TrMsg *msg, TrAttr attr, const TrPrefix *prefix)
{
	const AttrSpec *s = spec_for(attr);

	g_return_if_fail(s != NULL && s->kind == K_PREFIX_ONE);
	*FIELD(msg, s->field, TrPrefix) = *prefix;
	set_present(msg, attr);
}

gboolean
tr_msg_add_candidate(TrMsg *msg, const TrCandidate *candidate)
{
	if (msg->n_candidates >= TR_CANDIDATE_MAX)
		return FALSE;
	msg->candidates[msg->n_candidates++] = *candidate;
	set_present(msg, TR_ATTR_CANDIDATE);
	return TRUE;
}

gboolean
tr_msg_add_search(TrMsg *msg, const char *domain)
{
	if (msg->n_dns_search >= TR_MAX_SEARCH)
		return FALSE;
	msg->dns_search[msg->n_dns_search++] = g_strdup(domain);
	set_present(msg, TR_ATTR_DNS_SEARCH);
	return TRUE;
}

gboolean
tr_msg_require(const TrMsg *msg, GError **error, ...)
{
	va_list ap;
	int attr;

	va_start(ap, error);
	while ((attr = va_arg(ap, int)) != 0) {
		if (!tr_msg_has(msg, (TrAttr)attr)) {
			const AttrSpec *s = spec_for((unsigned)attr);
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "%s message lacks the %s",
			            tr_msg_type_to_string(msg->type), s ? s->name : "?");
			va_end(ap);
			return FALSE;
		}
	}
	va_end(ap);
	return TRUE;
}

int
tr_msg_frame_length(const uint8_t *buf, size_t len)
{
	if (len < TR_MSG_HEADER_LEN)
		return 0;
	if (buf[1] != 0)
		return -EPROTO;
	size_t body = (size_t)buf[2] << 8 | buf[3];
	if (len < TR_MSG_HEADER_LEN + body)
		return 0;
	return (int)(TR_MSG_HEADER_LEN + body);
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static gboolean
parse_string(const uint8_t *v, size_t n, char **out, const AttrSpec *s, GError **error)
{
	if (n == 0 || n > TR_MAX_STRING || memchr(v, 0, n) != NULL ||
	    !g_utf8_validate((const char *)v, (gssize)n, NULL)) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "%s: must be 1 to %d bytes of UTF-8 without NUL", s->name,
		            TR_MAX_STRING);
		return FALSE;
	}
	g_free(*out);
	*out = g_strndup((const char *)v, n);
	return TRUE;
}

static gboolean
parse_prefix(const uint8_t *v, size_t n, TrPrefix *out, const AttrSpec *s, GError **error)
{
	unsigned bytes;

	if (n < 2)
		goto bad;
	bytes = tr_addr_family_bytes((TrAddrFamily)v[0]);
	if (bytes == 0 || n != 2 + bytes || v[1] > bytes * 8)
		goto bad;
	memset(out, 0, sizeof(*out));
	out->family = v[0];
	out->len = v[1];
	memcpy(out->addr, v + 2, bytes);
	return TRUE;
bad:
	g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "%s: malformed prefix", s->name);
	return FALSE;
}

static gboolean
parse_attr(TrMsg *msg, const AttrSpec *s, const uint8_t *v, size_t n, GError **error)
{
	static const size_t fixed[] = {[K_U8] = 1, [K_U16] = 2, [K_U32] = 4, [K_MAGIC] = 4};

	if (s->kind < G_N_ELEMENTS(fixed) && fixed[s->kind] && n != fixed[s->kind]) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "%s: length %zu, expected %zu",
		            s->name, n, fixed[s->kind]);
		return FALSE;
	}
	switch ((Kind)s->kind) {
	case K_U8:
		*FIELD(msg, s->field, uint8_t) = v[0];
		break;
	case K_U16:
		*FIELD(msg, s->field, uint16_t) = get16(v);
		break;
	case K_U32:
		*FIELD(msg, s->field, uint32_t) = get32(v);
		break;
	case K_MAGIC:
		memcpy(FIELD(msg, s->field, uint8_t), v, 4);
		break;
	case K_STRING:
		if (!parse_string(v, n, FIELD(msg, s->field, char *), s, error))
			return FALSE;
		break;
	case K_U8_LIST:
		if (n == 0 || n > TR_MAX_LIST) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "%s: 1 to %d entries",
			            s->name, TR_MAX_LIST);
			return FALSE;
		}
		memcpy(FIELD(msg, s->field, uint8_t), v, n);
		*FIELD(msg, s->counter, unsigned) = (unsigned)n;
		break;
	case K_SALT:
		if (n < TR_SALT_MIN || n > TR_SALT_MAX) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "%s: %d to %d bytes",
			            s->name, TR_SALT_MIN, TR_SALT_MAX);
			return FALSE;
		}
		memcpy(FIELD(msg, s->field, uint8_t), v, n);
		*FIELD(msg, s->counter, unsigned) = (unsigned)n;
		break;
	case K_BYTES: {
		GBytes **field = FIELD(msg, s->field, GBytes *);
		if (n == 0 || n > TR_MAX_BLOB) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "%s: 1 to %d bytes",
			            s->name, TR_MAX_BLOB);
			return FALSE;
		}
		if (*field)
			g_bytes_unref(*field);
		*field = g_bytes_new(v, n);
		break;
	}
	case K_PREFIX: {
		unsigned *count = FIELD(msg, s->counter, unsigned);
		if (*count >= TR_MAX_PREFIXES) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "more than %d %s entries",
			            TR_MAX_PREFIXES, s->name);
			return FALSE;
		}
		if (!parse_prefix(v, n, &FIELD(msg, s->field, TrPrefix)[*count], s, error))
			return FALSE;
		(*count)++;
		break;
	}
	case K_PREFIX_ONE:
		if (tr_msg_has(msg, (TrAttr)s->attr)) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "%s given twice", s->name);
			return FALSE;
		}
		if (!parse_prefix(v, n, FIELD(msg, s->field, TrPrefix), s, error))
			return FALSE;
		break;
	case K_CANDIDATE: {
		if (msg->n_candidates >= TR_CANDIDATE_MAX) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "more than %u %s entries",
			            TR_CANDIDATE_MAX, s->name);
			return FALSE;
		}
		if (!tr_candidate_decode(v, n, &msg->candidates[msg->n_candidates], error))
			return FALSE;
		msg->n_candidates++;
		break;
	}
	case K_SEARCH: {
		char *domain = NULL;
		if (msg->n_dns_search >= TR_MAX_SEARCH) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "more than %d %s entries",
			            TR_MAX_SEARCH, s->name);
			return FALSE;
		}
		if (!parse_string(v, n, &domain, s, error))
			return FALSE;
		msg->dns_search[msg->n_dns_search++] = domain;
		break;
	}
	}
	set_present(msg, (TrAttr)s->attr);
	return TRUE;
}

gboolean
tr_msg_parse(const uint8_t *buf, size_t len, TrMsg *msg, GError **error)
{
	size_t off = TR_MSG_HEADER_LEN;

	tr_msg_init(msg, 0);
	if (tr_msg_frame_length(buf, len) != (int)len || len < TR_MSG_HEADER_LEN) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "malformed message frame");
		return FALSE;
	}
	msg->type = buf[0];
	msg->frame = buf;
	msg->frame_len = len;
	if (tr_msg_type_is_graph(msg->type))
		return TRUE; /* the graph parses its own (tr_graph_receive) */
	if (msg->type < TR_MSG_HELLO || msg->type > TR_MSG_TYPE_LAST) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "unknown message type %u", buf[0]);
		return FALSE;
	}
	if (msg->type == TR_MSG_DATA || msg->type == TR_MSG_RELAY) {
		msg->data = buf + off;
		msg->data_len = len - off;
		return TRUE;
	}
	while (off < len) {
		const AttrSpec *s;
		size_t n;
		unsigned id;

		if (len - off < 3) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
			            "truncated attribute header");
			goto fail;
		}
		id = buf[off];
		n = get16(buf + off + 1);
		off += 3;
		if (n > len - off) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
			            "attribute %u overruns the message", id);
			goto fail;
		}
		s = spec_for(id);
		/* Unknown attributes are skipped: later versions may add fields. */
		if (s != NULL && !parse_attr(msg, s, buf + off, n, error))
			goto fail;
		off += n;
	}
	return TRUE;
fail:
	g_prefix_error(error, "%s: ", tr_msg_type_to_string(msg->type));
	tr_msg_clear(msg);
	return FALSE;
}

static void
put16(GByteArray *out, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	g_byte_array_append(out, b, 2);
}

static void
put32(GByteArray *out, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	g_byte_array_append(out, b, 4);
}

static void
put_attr(GByteArray *out, uint8_t id, const void *value, size_t n)
{
	g_byte_array_append(out, &id, 1);
	put16(out, (uint16_t)n);
	g_byte_array_append(out, value, (guint)n);
}

static void
put_prefix(GByteArray *out, uint8_t id, const TrPrefix *p)
{
	uint8_t v[18];
	unsigned bytes = tr_addr_family_bytes((TrAddrFamily)p->family);

	v[0] = p->family;
	v[1] = p->len;
	memcpy(v + 2, p->addr, bytes);
	put_attr(out, id, v, 2 + bytes);
}

static gboolean
put_string(GByteArray *out, const AttrSpec *s, const char *str, GError **error)
{
	size_t n = str ? strlen(str) : 0;

	if (n == 0 || n > TR_MAX_STRING) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "%s: must be 1 to %d bytes", s->name,
		            TR_MAX_STRING);
		return FALSE;
	}
	put_attr(out, s->attr, str, n);
	return TRUE;
}

gboolean
tr_msg_encode(const TrMsg *msg, GByteArray *out, GError **error)
{
	guint start = out->len;
	uint8_t header[TR_MSG_HEADER_LEN] = {msg->type, 0, 0, 0};
	size_t body;

	g_return_val_if_fail(msg->type != TR_MSG_DATA && msg->type != TR_MSG_RELAY, FALSE);
	g_return_val_if_fail(!tr_msg_type_is_graph(msg->type), FALSE);
	g_byte_array_append(out, header, sizeof(header));
	for (unsigned id = 1; id < G_N_ELEMENTS(attr_specs); id++) {
		const AttrSpec *s = spec_for(id);

		if (s == NULL || !tr_msg_has(msg, (TrAttr)id))
			continue;
		switch ((Kind)s->kind) {
		case K_U8:
			put_attr(out, s->attr, CFIELD(msg, s->field, uint8_t), 1);
			break;
		case K_U16:
			g_byte_array_append(out, &s->attr, 1);
			put16(out, 2);
			put16(out, *CFIELD(msg, s->field, uint16_t));
			break;
		case K_U32:
			g_byte_array_append(out, &s->attr, 1);
			put16(out, 4);
			put32(out, *CFIELD(msg, s->field, uint32_t));
			break;
		case K_MAGIC:
			put_attr(out, s->attr, CFIELD(msg, s->field, uint8_t), 4);
			break;
		case K_STRING:
			if (!put_string(out, s, *CFIELD(msg, s->field, char *), error))
				goto fail;
			break;
		case K_U8_LIST:
		case K_SALT:
			put_attr(out, s->attr, CFIELD(msg, s->field, uint8_t),
			         *CFIELD(msg, s->counter, unsigned));
			break;
		case K_BYTES: {
			GBytes *b = *FIELD((TrMsg *)msg, s->field, GBytes *);
			gsize n = 0;
			const void *data = b ? g_bytes_get_data(b, &n) : NULL;

			if (n == 0 || n > TR_MAX_BLOB) {
				g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
				            "%s: must be 1 to %d bytes", s->name, TR_MAX_BLOB);
				goto fail;
			}
			put_attr(out, s->attr, data, n);
			break;
		}
		case K_PREFIX:
			for (unsigned i = 0; i < *CFIELD(msg, s->counter, unsigned); i++)
				put_prefix(out, s->attr, &CFIELD(msg, s->field, TrPrefix)[i]);
			break;
		case K_PREFIX_ONE:
			put_prefix(out, s->attr, CFIELD(msg, s->field, TrPrefix));
			break;
		case K_CANDIDATE:
			for (unsigned i = 0; i < msg->n_candidates; i++) {
				uint8_t v[TR_CANDIDATE_WIRE_MAX];
				size_t n = tr_candidate_encode(&msg->candidates[i], v);

				if (n == 0) {
					g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
					            "%s: family %u, expected 4 or 6", s->name,
					            msg->candidates[i].family);
					goto fail;
				}
				put_attr(out, s->attr, v, n);
			}
			break;
		case K_SEARCH:
			for (unsigned i = 0; i < msg->n_dns_search; i++) {
				if (!put_string(out, s, msg->dns_search[i], error))
					goto fail;
			}
			break;
		}
	}
	body = out->len - start - TR_MSG_HEADER_LEN;
	if (body > TR_MSG_MAX_BODY) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "%s message too large (%zu bytes)",
		            tr_msg_type_to_string(msg->type), body);
		goto fail;
	}
	out->data[start + 2] = (uint8_t)(body >> 8);
	out->data[start + 3] = (uint8_t)body;
	return TRUE;
fail:
	g_byte_array_set_size(out, start);
	return FALSE;
}

static gboolean
encode_raw(GByteArray *out, uint8_t type, const uint8_t *body, size_t len, GError **error)
{
	uint8_t header[TR_MSG_HEADER_LEN] = {type, 0, (uint8_t)(len >> 8), (uint8_t)len};

	if (len > TR_MSG_MAX_BODY) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "%s packet too large (%zu bytes)",
		            type == TR_MSG_DATA ? "data" : "relay", len);
		return FALSE;
	}
	g_byte_array_append(out, header, sizeof(header));
	g_byte_array_append(out, body, (guint)len);
	return TRUE;
}

gboolean
tr_msg_encode_data(GByteArray *out, const uint8_t *packet, size_t len, GError **error)
{
	return encode_raw(out, TR_MSG_DATA, packet, len, error);
}

gboolean
tr_msg_encode_relay(GByteArray *out, const uint8_t *frame, size_t len, GError **error)
{
	return encode_raw(out, TR_MSG_RELAY, frame, len, error);
}
