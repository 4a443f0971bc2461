/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/graph/msg.h"

#include <string.h>

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/auth/identity.h"

/* Which attributes each type must carry and may carry. */
#define BIT(a) (1u << (a))
#define COMMON (BIT(TR_GRAPH_ATTR_ORIGIN) | BIT(TR_GRAPH_ATTR_SEQ) | BIT(TR_GRAPH_ATTR_AGE))

typedef struct {
	uint32_t required;
	uint32_t allowed;
} Shape;

static const Shape shapes[] = {
        [TR_GRAPH_MSG_ADD_EDGE - TR_GRAPH_MSG_FIRST] = {COMMON | BIT(TR_GRAPH_ATTR_PEER) |
                                                                BIT(TR_GRAPH_ATTR_WEIGHT) |
                                                                BIT(TR_GRAPH_ATTR_OPTIONS),
                                                        BIT(TR_GRAPH_ATTR_ADDRESS)},
        [TR_GRAPH_MSG_DEL_EDGE - TR_GRAPH_MSG_FIRST] = {COMMON | BIT(TR_GRAPH_ATTR_PEER), 0},
        [TR_GRAPH_MSG_ADD_SUBNET - TR_GRAPH_MSG_FIRST] = {COMMON | BIT(TR_GRAPH_ATTR_PREFIX) |
                                                                  BIT(TR_GRAPH_ATTR_KIND) |
                                                                  BIT(TR_GRAPH_ATTR_SINCE),
                                                          BIT(TR_GRAPH_ATTR_OWNER)},
        [TR_GRAPH_MSG_DEL_SUBNET - TR_GRAPH_MSG_FIRST] = {COMMON | BIT(TR_GRAPH_ATTR_PREFIX),
                                                          BIT(TR_GRAPH_ATTR_OWNER)},
        [TR_GRAPH_MSG_BYE - TR_GRAPH_MSG_FIRST] = {COMMON, 0},
        /* WANT: exactly one of name and prefix, checked below. */
        [TR_GRAPH_MSG_WANT -
                TR_GRAPH_MSG_FIRST] = {0, BIT(TR_GRAPH_ATTR_NAME) | BIT(TR_GRAPH_ATTR_PREFIX)},
};

static const char *const attr_names[] = {
        [TR_GRAPH_ATTR_ORIGIN] = "origin", [TR_GRAPH_ATTR_SEQ] = "seq",
        [TR_GRAPH_ATTR_AGE] = "age",       [TR_GRAPH_ATTR_PEER] = "peer",
        [TR_GRAPH_ATTR_OWNER] = "owner",   [TR_GRAPH_ATTR_ADDRESS] = "address",
        [TR_GRAPH_ATTR_WEIGHT] = "weight", [TR_GRAPH_ATTR_OPTIONS] = "options",
        [TR_GRAPH_ATTR_PREFIX] = "prefix", [TR_GRAPH_ATTR_KIND] = "kind",
        [TR_GRAPH_ATTR_SINCE] = "since",   [TR_GRAPH_ATTR_NAME] = "name",
};

const char *
tr_graph_msg_type_name(TrGraphMsgType type)
{
	switch (type) {
	case TR_GRAPH_MSG_ADD_EDGE:
		return "ADD_EDGE";
	case TR_GRAPH_MSG_DEL_EDGE:
		return "DEL_EDGE";
	case TR_GRAPH_MSG_ADD_SUBNET:
		return "ADD_SUBNET";
	case TR_GRAPH_MSG_DEL_SUBNET:
		return "DEL_SUBNET";
	case TR_GRAPH_MSG_BYE:
		return "BYE";
	case TR_GRAPH_MSG_WANT:
		return "WANT";
	}
	return "unknown";
}

const char *
tr_graph_claim_kind_name(TrGraphClaimKind kind)
{
	switch (kind) {
	case TR_GRAPH_CLAIM_SUBNET:
		return "subnet";
	case TR_GRAPH_CLAIM_ADDRESS:
		return "address";
	case TR_GRAPH_CLAIM_POOL:
		return "pool";
	}
	return "unknown";
}

static uint64_t
get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int
tr_graph_msg_frame_length(const uint8_t *data, size_t len)
{
	size_t body;

	if (len < TR_GRAPH_MSG_HEADER_LEN)
		return 0;
	if (data[0] < TR_GRAPH_MSG_FIRST || data[0] > TR_GRAPH_MSG_LAST || data[1] != 0)
		return -1;
	body = get_be(data + 2, 2);
	if (TR_GRAPH_MSG_HEADER_LEN + body > TR_GRAPH_MSG_MAX)
		return -1;
	if (len < TR_GRAPH_MSG_HEADER_LEN + body)
		return 0;
	return (int)(TR_GRAPH_MSG_HEADER_LEN + body);
}

static gboolean bad(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
bad(GError **error, const char *format, ...)
{
	va_list ap;
	g_autofree char *text = NULL;

	va_start(ap, format);
	text = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error_literal(error, TR_ERROR, TR_ERROR_PROTOCOL, text);
	return FALSE;
}

static gboolean
read_name(const char *what, const uint8_t *v, size_t n, char *out, GError **error)
{
	g_autoptr(GError) local = NULL;

	if (n == 0 || n > TR_GRAPH_NAME_MAX)
		return bad(error, "%s: 1 to %d bytes expected, found %zu", what, TR_GRAPH_NAME_MAX,
		           n);
	memcpy(out, v, n);
	out[n] = '\0';
	if (strlen(out) != n)
		return bad(error, "%s: contains a NUL byte", what);
	if (!tr_identity_validate_name(what, out, &local))
		return bad(error, "%s", local->message);
	return TRUE;
}

static gboolean
read_fixed(const char *what, size_t n, size_t want, GError **error)
{
	if (n != want)
		return bad(error, "%s: %zu bytes expected, found %zu", what, want, n);
	return TRUE;
}

static gboolean
read_prefix(const uint8_t *v, size_t n, TrPrefix *p, GError **error)
{
	unsigned bytes;

	if (n < 2)
		return bad(error, "prefix: at least 2 bytes expected, found %zu", n);
	if (v[0] != TR_ADDR_IPV4 && v[0] != TR_ADDR_IPV6 && v[0] != TR_ADDR_MAC)
		return bad(error, "prefix: family 1, 4 or 6 expected, found %u", v[0]);
	bytes = tr_addr_family_bytes(v[0]);
	if (n != 2 + bytes)
		return bad(error, "prefix: %u bytes expected for family %u, found %zu", 2 + bytes,
		           v[0], n);
	if (v[1] > bytes * 8)
		return bad(error, "prefix: length 0 to %u expected, found %u", bytes * 8, v[1]);
	memset(p, 0, sizeof(*p));
	p->family = v[0];
	p->len = v[1];
	memcpy(p->addr, v + 2, bytes);
	{
		TrPrefix masked = *p;

		tr_prefix_mask(&masked);
		if (memcmp(masked.addr, p->addr, sizeof(p->addr)) != 0)
			return bad(error, "prefix: host bits set beyond /%u", p->len);
	}
	return TRUE;
}

static gboolean
read_endpoint(const uint8_t *v, size_t n, TrGraphEndpoint *ep, GError **error)
{
	unsigned bytes;

	if (n < 1 || (v[0] != TR_ADDR_IPV4 && v[0] != TR_ADDR_IPV6))
		return bad(error, "address: family 4 or 6 expected");
	bytes = tr_addr_family_bytes(v[0]);
	if (n != 3 + bytes)
		return bad(error, "address: %u bytes expected for family %u, found %zu", 3 + bytes,
		           v[0], n);
	memset(ep, 0, sizeof(*ep));
	ep->family = v[0];
	ep->port = (uint16_t)get_be(v + 1, 2);
	memcpy(ep->addr, v + 3, bytes);
	if (ep->port == 0)
		return bad(error, "address: port 1 to 65535 expected, found 0");
	return TRUE;
}

static gboolean
read_attr(TrGraphMsg *msg, unsigned id, const uint8_t *v, size_t n, GError **error)
{
	switch (id) {
	case TR_GRAPH_ATTR_ORIGIN:
		return read_name("origin", v, n, msg->origin, error);
	case TR_GRAPH_ATTR_PEER:
		return read_name("peer", v, n, msg->peer, error);
	case TR_GRAPH_ATTR_NAME:
		return read_name("name", v, n, msg->peer, error);
	case TR_GRAPH_ATTR_OWNER:
		return read_name("owner", v, n, msg->owner, error);
	case TR_GRAPH_ATTR_SEQ:
		if (!read_fixed("seq", n, 8, error))
			return FALSE;
		msg->seq = get_be(v, 8);
		return msg->seq ? TRUE : bad(error, "seq: 1 or more expected, found 0");
	case TR_GRAPH_ATTR_SINCE:
		if (!read_fixed("since", n, 8, error))
			return FALSE;
		msg->since = get_be(v, 8);
		return msg->since ? TRUE : bad(error, "since: 1 or more expected, found 0");
	case TR_GRAPH_ATTR_AGE:
		if (!read_fixed("age", n, 4, error))
			return FALSE;
		msg->age = (uint32_t)get_be(v, 4);
		return TRUE;
	case TR_GRAPH_ATTR_WEIGHT:
		if (!read_fixed("weight", n, 4, error))
			return FALSE;
		msg->weight = (uint32_t)get_be(v, 4);
		return msg->weight ? TRUE : bad(error, "weight: 1 or more expected, found 0");
	case TR_GRAPH_ATTR_OPTIONS:
		if (!read_fixed("options", n, 4, error))
			return FALSE;
		msg->options = (uint32_t)get_be(v, 4);
		if (msg->options & ~(uint32_t)TR_GRAPH_EDGE_KNOWN)
			return bad(error, "options: bits 0x%x expected, found 0x%x",
			           TR_GRAPH_EDGE_KNOWN, msg->options);
		return TRUE;
	case TR_GRAPH_ATTR_KIND:
		if (!read_fixed("kind", n, 1, error))
			return FALSE;
		msg->kind = v[0];
		if (msg->kind > TR_GRAPH_CLAIM_POOL)
			return bad(error, "kind: 0, 1 or 2 expected, found %u", msg->kind);
		return TRUE;
	case TR_GRAPH_ATTR_PREFIX:
		msg->has_prefix = TRUE;
		return read_prefix(v, n, &msg->prefix, error);
	case TR_GRAPH_ATTR_ADDRESS:
		return read_endpoint(v, n, &msg->address, error);
	}
	return TRUE; /* unknown attributes are skipped: later versions may add some */
}

gboolean
tr_graph_msg_parse(const uint8_t *data, size_t len, TrGraphMsg *msg, GError **error)
{
	const Shape *shape;
	uint32_t seen = 0;
	size_t off = TR_GRAPH_MSG_HEADER_LEN;
	int flen = tr_graph_msg_frame_length(data, len);

	memset(msg, 0, sizeof(*msg));
	if (flen <= 0 || (size_t)flen != len) {
		if (len >= 1 && (data[0] < TR_GRAPH_MSG_FIRST || data[0] > TR_GRAPH_MSG_LAST))
			return bad(error, "message type %u: a graph message (32 to 37) expected",
			           data[0]);
		if (len >= 2 && data[1] != 0)
			return bad(error, "flags: 0 expected, found %u", data[1]);
		return bad(error, "frame: %zu bytes, not one whole graph message of at most %d",
		           len, TR_GRAPH_MSG_MAX);
	}
	msg->type = data[0];
	shape = &shapes[msg->type - TR_GRAPH_MSG_FIRST];

	while (off < len) {
		unsigned id;
		size_t n;

		if (len - off < 3)
			return bad(error, "attribute header: 3 bytes expected, %zu left",
			           len - off);
		id = data[off];
		n = get_be(data + off + 1, 2);
		off += 3;
		if (n > len - off)
			return bad(error, "attribute %u: %zu bytes claimed, %zu left", id, n,
			           len - off);
		if (id < 32 && id < G_N_ELEMENTS(attr_names) && attr_names[id]) {
			if (!((shape->required | shape->allowed) & BIT(id)))
				return bad(error, "%s: not expected in %s", attr_names[id],
				           tr_graph_msg_type_name(msg->type));
			if (seen & BIT(id))
				return bad(error, "%s: given twice", attr_names[id]);
			seen |= BIT(id);
			if (!read_attr(msg, id, data + off, n, error))
				return FALSE;
		}
		off += n;
	}
	if ((seen & shape->required) != shape->required) {
		uint32_t missing = shape->required & ~seen;

		return bad(error, "%s: %s missing", tr_graph_msg_type_name(msg->type),
		           attr_names[g_bit_nth_lsf(missing, -1)]);
	}
	if (msg->type == TR_GRAPH_MSG_WANT &&
	    !!(seen & BIT(TR_GRAPH_ATTR_NAME)) == !!(seen & BIT(TR_GRAPH_ATTR_PREFIX)))
		return bad(error, "WANT: a name or a prefix expected (one of them)");
	if ((msg->type == TR_GRAPH_MSG_ADD_EDGE || msg->type == TR_GRAPH_MSG_DEL_EDGE) &&
	    strcmp(msg->origin, msg->peer) == 0)
		return bad(error, "%s: an edge from '%s' to itself",
		           tr_graph_msg_type_name(msg->type), msg->origin);
	if (msg->type == TR_GRAPH_MSG_ADD_SUBNET && msg->since > msg->seq)
		return bad(error,
		           "since: at most seq (%" G_GUINT64_FORMAT
		           ") expected, found %" G_GUINT64_FORMAT,
		           msg->seq, msg->since);
	if (msg->type == TR_GRAPH_MSG_ADD_SUBNET && msg->kind == TR_GRAPH_CLAIM_POOL &&
	    msg->owner[0] && strcmp(msg->owner, msg->origin) != 0)
		return bad(error, "a pool is claimed by its hub only ('%s' for '%s')", msg->origin,
		           msg->owner);
	return TRUE;
}

static void
put_be(GByteArray *out, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	g_byte_array_append(out, b, n);
}

static void
put_attr(GByteArray *out, unsigned id, const void *v, size_t n)
{
	uint8_t h[3] = {(uint8_t)id, (uint8_t)(n >> 8), (uint8_t)n};

	g_byte_array_append(out, h, 3);
	g_byte_array_append(out, v, (guint)n);
}

static void
put_int(GByteArray *out, unsigned id, uint64_t v, unsigned n)
{
	uint8_t h[3] = {(uint8_t)id, 0, (uint8_t)n};

	g_byte_array_append(out, h, 3);
	put_be(out, v, n);
}

static void
put_prefix(GByteArray *out, unsigned id, const TrPrefix *p)
{
	uint8_t v[18] = {p->family, p->len};
	unsigned bytes = tr_addr_family_bytes(p->family);

	memcpy(v + 2, p->addr, bytes);
	put_attr(out, id, v, 2 + bytes);
}

gboolean
tr_graph_msg_encode(const TrGraphMsg *msg, GByteArray *out, GError **error)
{
	g_autoptr(GByteArray) f = g_byte_array_sized_new(128);
	gboolean edge = msg->type == TR_GRAPH_MSG_ADD_EDGE || msg->type == TR_GRAPH_MSG_DEL_EDGE;
	gboolean claim =
	        msg->type == TR_GRAPH_MSG_ADD_SUBNET || msg->type == TR_GRAPH_MSG_DEL_SUBNET;
	uint8_t h[TR_GRAPH_MSG_HEADER_LEN] = {(uint8_t)msg->type, 0, 0, 0};
	TrGraphMsg check;

	if (msg->type < TR_GRAPH_MSG_FIRST || msg->type > TR_GRAPH_MSG_LAST)
		return bad(error, "message type %u: not a graph message", msg->type);
	g_byte_array_append(f, h, sizeof(h));
	if (msg->type == TR_GRAPH_MSG_WANT) {
		if (msg->has_prefix)
			put_prefix(f, TR_GRAPH_ATTR_PREFIX, &msg->prefix);
		else
			put_attr(f, TR_GRAPH_ATTR_NAME, msg->peer, strlen(msg->peer));
	} else {
		put_attr(f, TR_GRAPH_ATTR_ORIGIN, msg->origin, strlen(msg->origin));
		put_int(f, TR_GRAPH_ATTR_SEQ, msg->seq, 8);
		put_int(f, TR_GRAPH_ATTR_AGE, msg->age, 4);
	}
	if (edge)
		put_attr(f, TR_GRAPH_ATTR_PEER, msg->peer, strlen(msg->peer));
	if (msg->type == TR_GRAPH_MSG_ADD_EDGE) {
		put_int(f, TR_GRAPH_ATTR_WEIGHT, msg->weight, 4);
		put_int(f, TR_GRAPH_ATTR_OPTIONS, msg->options, 4);
		if (msg->address.family) {
			uint8_t v[19] = {msg->address.family, (uint8_t)(msg->address.port >> 8),
			                 (uint8_t)msg->address.port};
			unsigned bytes = tr_addr_family_bytes(msg->address.family);

			memcpy(v + 3, msg->address.addr, MIN(bytes, 16u));
			put_attr(f, TR_GRAPH_ATTR_ADDRESS, v, 3 + MIN(bytes, 16u));
		}
	}
	if (claim) {
		if (msg->owner[0] && strcmp(msg->owner, msg->origin) != 0)
			put_attr(f, TR_GRAPH_ATTR_OWNER, msg->owner, strlen(msg->owner));
		put_prefix(f, TR_GRAPH_ATTR_PREFIX, &msg->prefix);
	}
	if (msg->type == TR_GRAPH_MSG_ADD_SUBNET) {
		put_int(f, TR_GRAPH_ATTR_KIND, msg->kind, 1);
		put_int(f, TR_GRAPH_ATTR_SINCE, msg->since, 8);
	}
	if (f->len > TR_GRAPH_MSG_MAX)
		return bad(error, "%s: %u bytes, more than %d", tr_graph_msg_type_name(msg->type),
		           f->len, TR_GRAPH_MSG_MAX);
	f->data[2] = (uint8_t)((f->len - TR_GRAPH_MSG_HEADER_LEN) >> 8);
	f->data[3] = (uint8_t)(f->len - TR_GRAPH_MSG_HEADER_LEN);
	/* What we send must be what we would accept: one checker for both. */
	if (!tr_graph_msg_parse(f->data, f->len, &check, error)) {
		g_prefix_error(error,
		               "not encoding an invalid %s: ", tr_graph_msg_type_name(msg->type));
		return FALSE;
	}
	g_byte_array_append(out, f->data, f->len);
	return TRUE;
}
