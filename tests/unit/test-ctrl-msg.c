/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/addr.h"
#include "common/ctrl/msg.h"
#include "common/graph/msg.h"
#include "common/base/error.h"

#include <errno.h>

static void
build_hello(TrMsg *m)
{
	TrPrefix p;

	tr_msg_init(m, TR_MSG_HELLO);
	tr_msg_set_u16(m, TR_ATTR_PROTO_VERSION, TR_PROTO_VERSION);
	tr_msg_set_string(m, TR_ATTR_SOFTWARE, "trellis 0.1.0");
	tr_msg_set_string(m, TR_ATTR_USERNAME, "alice");
	tr_msg_set_string(m, TR_ATTR_PASSWORD, "s3cret");
	g_assert_true(tr_msg_add_u8(m, TR_ATTR_CIPHERS, 1));
	g_assert_true(tr_msg_add_u8(m, TR_ATTR_CIPHERS, 2));
	tr_msg_set_u16(m, TR_ATTR_MTU, 1420);
	tr_msg_set_u32(m, TR_ATTR_FEATURES, TR_FEATURE_UDP | TR_FEATURE_TCP_FALLBACK);
	tr_msg_set_u32(m, TR_ATTR_RX_INDEX, 0xdeadbeef);
	tr_msg_set_u8(m, TR_ATTR_DEVICE_TYPE, 1);
	tr_msg_set_magic(m, (const uint8_t[4]){'T', 'r', 'l', 's'});
	g_assert_true(tr_prefix_parse("198.19.5.0/24", 0, &p, NULL));
	g_assert_true(tr_msg_add_prefix(m, TR_ATTR_SUBNET, &p));
	g_assert_true(tr_prefix_parse("fd00:5::/64", 0, &p, NULL));
	g_assert_true(tr_msg_add_prefix(m, TR_ATTR_SUBNET, &p));
	g_assert_true(tr_msg_add_search(m, "vpn.test"));
}

static void
test_roundtrip(void)
{
	g_auto(TrMsg) m = {0};
	g_auto(TrMsg) back = {0};
	g_autoptr(GByteArray) wire = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	char buf[TR_PREFIX_STRLEN];

	build_hello(&m);
	g_assert_true(tr_msg_encode(&m, wire, &error));
	g_assert_no_error(error);
	g_assert_cmpint(tr_msg_frame_length(wire->data, wire->len), ==, (int)wire->len);
	g_assert_cmpint(tr_msg_frame_length(wire->data, wire->len - 1), ==, 0);
	g_assert_true(tr_msg_parse(wire->data, wire->len, &back, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(back.type, ==, TR_MSG_HELLO);
	g_assert_cmpuint(back.present, ==, m.present);
	g_assert_cmpuint(back.proto_version, ==, TR_PROTO_VERSION);
	g_assert_cmpstr(back.software, ==, "trellis 0.1.0");
	g_assert_cmpstr(back.username, ==, "alice");
	g_assert_cmpstr(back.password, ==, "s3cret");
	g_assert_cmpuint(back.n_ciphers, ==, 2);
	g_assert_cmpuint(back.ciphers[1], ==, 2);
	g_assert_cmpuint(back.mtu, ==, 1420);
	g_assert_cmpuint(back.rx_index, ==, 0xdeadbeef);
	g_assert_cmpuint(back.device_type, ==, 1);
	g_assert_cmpmem(back.magic, 4, "Trls", 4);
	g_assert_cmpuint(back.n_subnets, ==, 2);
	g_assert_cmpstr(tr_prefix_to_string(&back.subnets[1], buf, sizeof(buf)), ==, "fd00:5::/64");
	g_assert_cmpuint(back.n_dns_search, ==, 1);
	g_assert_cmpstr(back.dns_search[0], ==, "vpn.test");
	g_assert_true(tr_msg_require(&back, &error, TR_ATTR_PROTO_VERSION, TR_ATTR_RX_INDEX, 0));
	g_assert_false(tr_msg_require(&back, &error, TR_ATTR_CIPHER, 0));
	g_assert_error(error, TR_ERROR, TR_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(error->message, "cipher"));
}

/* A setter for another type, or a full list, changes nothing. */
static void
test_setter_types(void)
{
	g_auto(TrMsg) m = {0};

	tr_msg_init(&m, TR_MSG_HELLO);
	if (g_test_subprocess()) {
		tr_msg_set_u16(&m, TR_ATTR_CIPHER, 7); /* a u8 */
		return;
	}
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_failed();
	g_test_trap_assert_stderr("*CRITICAL*");
	for (guint i = 0; i < TR_MAX_LIST; i++)
		g_assert_true(tr_msg_add_u8(&m, TR_ATTR_COMPRESSIONS, (uint8_t)i));
	g_assert_false(tr_msg_add_u8(&m, TR_ATTR_COMPRESSIONS, 99));
	g_assert_cmpuint(m.n_compressions, ==, TR_MAX_LIST);
	g_assert_false(tr_msg_has(&m, TR_ATTR_CIPHER));
}

static void
test_truncations(void)
{
	g_auto(TrMsg) m = {0};
	g_autoptr(GByteArray) wire = g_byte_array_new();

	build_hello(&m);
	g_assert_true(tr_msg_encode(&m, wire, NULL));
	/* Every shorter frame whose header claims the shorter length must fail
	 * or parse to a subset; none may crash or read past the end. */
	for (guint n = 0; n < wire->len; n++) {
		g_autofree uint8_t *copy = g_memdup2(wire->data, wire->len);
		g_auto(TrMsg) back = {0};
		g_autoptr(GError) error = NULL;

		if (n >= TR_MSG_HEADER_LEN) {
			copy[2] = (uint8_t)((n - TR_MSG_HEADER_LEN) >> 8);
			copy[3] = (uint8_t)(n - TR_MSG_HEADER_LEN);
		}
		if (!tr_msg_parse(copy, n, &back, &error))
			g_assert_error(error, TR_ERROR, TR_ERROR_PROTOCOL);
		else
			g_assert_cmpuint(back.present & ~m.present, ==, 0);
	}
}

static void
test_malformed(void)
{
	struct {
		const char *what;
		uint8_t bytes[16];
		size_t len;
		const char *fragment;
	} cases[] = {
	        {"flags", {1, 1, 0, 0}, 4, "frame"},
	        {"type", {99, 0, 0, 0}, 4, "unknown message type"},
	        {"u16 len", {1, 0, 0, 4, 1, 0, 1, 7}, 8, "expected 2"},
	        {"overrun", {1, 0, 0, 4, 2, 0, 9, 'x'}, 8, "overruns"},
	        {"nul string", {1, 0, 0, 5, 2, 0, 2, 'a', 0}, 9, "UTF-8"},
	        {"empty string", {1, 0, 0, 3, 2, 0, 0}, 7, "UTF-8"},
	        {"bad utf8", {1, 0, 0, 4, 2, 0, 1, 0xff}, 8, "UTF-8"},
	        {"prefix family", {1, 0, 0, 7, 12, 0, 4, 5, 8, 1, 2}, 11, "malformed prefix"},
	        {"prefix len", {1, 0, 0, 9, 12, 0, 6, 4, 33, 1, 2, 3, 4}, 13, "malformed prefix"},
	        {"short salt", {4, 0, 0, 5, 23, 0, 2, 1, 2}, 9, "salt"},
	        {"attr header", {1, 0, 0, 2, 1, 0}, 6, "truncated"},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_auto(TrMsg) m = {0};
		g_autoptr(GError) error = NULL;

		g_test_message("case %s", cases[i].what);
		g_assert_false(tr_msg_parse(cases[i].bytes, cases[i].len, &m, &error));
		g_assert_error(error, TR_ERROR, TR_ERROR_PROTOCOL);
		if (!strstr(error->message, cases[i].fragment))
			g_error("%s: '%s' lacks '%s'", cases[i].what, error->message,
			        cases[i].fragment);
	}
	g_assert_cmpint(tr_msg_frame_length((const uint8_t *)"\x01\x02\x00\x00", 4), ==, -EPROTO);
}

static void
test_unknown_attr_skipped(void)
{
	/* HELLO { attr 60 (unknown, 2 bytes), MTU 1400 } */
	const uint8_t wire[] = {1, 0, 0, 10, 60, 0, 2, 0xaa, 0xbb, 7, 0, 2, 0x05, 0x78};
	g_auto(TrMsg) m = {0};

	g_assert_true(tr_msg_parse(wire, sizeof(wire), &m, NULL));
	g_assert_cmpuint(m.mtu, ==, 1400);
	g_assert_cmpuint(m.present, ==, (uint64_t)1 << TR_ATTR_MTU);
}

static void
test_limits(void)
{
	g_auto(TrMsg) m = {0};
	g_autoptr(GByteArray) wire = g_byte_array_new();
	TrPrefix p;

	tr_msg_init(&m, TR_MSG_CONFIG);
	g_assert_true(tr_prefix_parse("198.19.0.0/16", 0, &p, NULL));
	for (int i = 0; i < TR_MAX_PREFIXES; i++)
		g_assert_true(tr_msg_add_prefix(&m, TR_ATTR_ROUTE, &p));
	g_assert_false(tr_msg_add_prefix(&m, TR_ATTR_ROUTE, &p));
	g_assert_true(tr_msg_encode(&m, wire, NULL));

	/* One more ROUTE on the wire than the cap is refused by the parser. */
	uint8_t extra[] = {TR_ATTR_ROUTE, 0, 6, 4, 16, 198, 19, 0, 0};
	g_byte_array_append(wire, extra, sizeof(extra));
	size_t body = wire->len - TR_MSG_HEADER_LEN;
	wire->data[2] = (uint8_t)(body >> 8);
	wire->data[3] = (uint8_t)body;
	g_auto(TrMsg) back = {0};
	g_autoptr(GError) error = NULL;
	g_assert_false(tr_msg_parse(wire->data, wire->len, &back, &error));
	g_assert_nonnull(strstr(error->message, "more than"));
}

static void
test_data(void)
{
	g_autoptr(GByteArray) wire = g_byte_array_new();
	g_auto(TrMsg) m = {0};
	const uint8_t pkt[] = {1, 2, 3, 4, 5};
	g_autofree uint8_t *big = g_malloc0(TR_MSG_MAX_BODY + 1);

	g_assert_true(tr_msg_encode_data(wire, pkt, sizeof(pkt), NULL));
	g_assert_true(tr_msg_parse(wire->data, wire->len, &m, NULL));
	g_assert_cmpuint(m.type, ==, TR_MSG_DATA);
	g_assert_cmpmem(m.data, m.data_len, pkt, sizeof(pkt));
	g_assert_false(tr_msg_encode_data(wire, big, TR_MSG_MAX_BODY + 1, NULL));
}

/* Graph messages (types 32..37) pass through whole, for the graph to parse;
 * the type after them is still unknown, and ours cannot be encoded as them. */
static void
test_graph_frames(void)
{
	g_autoptr(GByteArray) wire = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) m = {0};
	TrGraphMsg g = {.type = TR_GRAPH_MSG_BYE, .seq = 7, .age = 1};
	TrGraphMsg back;
	const uint8_t next[] = {TR_MSG_GRAPH_LAST + 1, 0, 0, 0};

	g_assert_cmpuint(TR_MSG_GRAPH_FIRST, ==, TR_GRAPH_MSG_FIRST);
	g_assert_cmpuint(TR_MSG_GRAPH_LAST, ==, TR_GRAPH_MSG_LAST);
	g_assert_cmpuint(TR_MSG_TYPE_LAST, <, TR_MSG_GRAPH_FIRST);
	g_strlcpy(g.origin, "hub-1", sizeof(g.origin));
	g_assert_true(tr_graph_msg_encode(&g, wire, &error));
	g_assert_no_error(error);
	g_assert_true(tr_msg_parse(wire->data, wire->len, &m, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(m.type, ==, TR_GRAPH_MSG_BYE);
	g_assert_true(tr_msg_type_is_graph(m.type));
	g_assert_cmpstr(tr_msg_type_to_string(m.type), ==, "BYE");
	g_assert_cmpstr(tr_msg_type_to_string(TR_MSG_GRAPH_FIRST), ==, "ADD_EDGE");
	g_assert_true(m.frame == wire->data);
	g_assert_cmpuint(m.frame_len, ==, wire->len);
	g_assert_true(tr_graph_msg_parse(m.frame, m.frame_len, &back, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(back.origin, ==, "hub-1");
	g_assert_cmpuint(back.seq, ==, 7);

	tr_msg_clear(&m);
	g_assert_false(tr_msg_parse(next, sizeof(next), &m, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(error->message, "unknown message type 38"));
}

/* JOINED: bytes attributes (certificates) past the 255-byte string limit. */
static void
test_join_bytes(void)
{
	g_auto(TrMsg) m = {0};
	g_auto(TrMsg) back = {0};
	g_autoptr(GByteArray) wire = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	g_autofree guint8 *big = g_malloc(TR_MAX_BLOB + 1);
	g_autoptr(GBytes) cert = NULL;
	g_autoptr(GBytes) too_big = g_bytes_new(big, TR_MAX_BLOB + 1);
	guint8 bad[] = {TR_MSG_JOIN, 0, 0, 3, TR_ATTR_CERT_REQUEST, 0, 0};

	for (guint i = 0; i <= TR_MAX_BLOB; i++)
		big[i] = (guint8)i;
	cert = g_bytes_new(big, 1000);
	tr_msg_init(&m, TR_MSG_JOINED);
	tr_msg_set_bytes(&m, TR_ATTR_CERTIFICATE, cert);
	tr_msg_set_bytes(&m, TR_ATTR_CA_CERT, cert);
	tr_msg_set_string(&m, TR_ATTR_SERVER_NAME, "hub");
	g_assert_true(tr_msg_encode(&m, wire, &error));
	g_assert_true(tr_msg_parse(wire->data, wire->len, &back, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(back.type, ==, TR_MSG_JOINED);
	g_assert_true(g_bytes_equal(back.certificate, cert));
	g_assert_true(g_bytes_equal(back.ca_cert, cert));
	g_assert_cmpstr(back.server_name, ==, "hub");
	g_assert_cmpstr(tr_msg_type_to_string(TR_MSG_JOIN), ==, "JOIN");

	/* Past the cap, and empty: refused both ways. */
	tr_msg_set_bytes(&m, TR_ATTR_CERTIFICATE, too_big);
	g_byte_array_set_size(wire, 0);
	g_assert_false(tr_msg_encode(&m, wire, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	g_assert_cmpuint(wire->len, ==, 0);
	g_clear_error(&error);
	tr_msg_clear(&back);
	g_assert_false(tr_msg_parse(bad, sizeof(bad), &back, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_PROTOCOL);
}

/* PAIR_START between hubs: the target (one host prefix) goes there and back; given
 * twice, or malformed, it is refused. */
static void
test_pair_target(void)
{
	g_auto(TrMsg) m = {0};
	g_auto(TrMsg) back = {0};
	g_autoptr(GByteArray) wire = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	char buf[TR_PREFIX_STRLEN];
	TrPrefix t;
	guint8 twice[] = {TR_MSG_PAIR_START,
	                  0,
	                  0,
	                  18,
	                  TR_ATTR_TARGET,
	                  0,
	                  6,
	                  4,
	                  32,
	                  198,
	                  19,
	                  2,
	                  2,
	                  TR_ATTR_TARGET,
	                  0,
	                  6,
	                  4,
	                  32,
	                  198,
	                  19,
	                  2,
	                  3};
	guint8 bad[] = {TR_MSG_PAIR_START, 0, 0, 7, TR_ATTR_TARGET, 0, 4, 4, 32, 198, 19};

	g_assert_true(tr_prefix_parse("fd00:2::3/128", 0, &t, NULL));
	tr_msg_init(&m, TR_MSG_PAIR_START);
	tr_msg_set_u32(&m, TR_ATTR_PAIR_ID, 0x1234);
	tr_msg_set_prefix(&m, TR_ATTR_TARGET, &t);
	g_assert_true(tr_msg_encode(&m, wire, &error));
	g_assert_true(tr_msg_parse(wire->data, wire->len, &back, &error));
	g_assert_no_error(error);
	g_assert_true(tr_msg_has(&back, TR_ATTR_TARGET));
	g_assert_cmpstr(tr_prefix_to_string(&back.target, buf, sizeof(buf)), ==, "fd00:2::3/128");

	tr_msg_clear(&back);
	g_assert_false(tr_msg_parse(twice, sizeof(twice), &back, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(error->message, "target given twice"));
	g_clear_error(&error);
	tr_msg_clear(&back);
	g_assert_false(tr_msg_parse(bad, sizeof(bad), &back, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_PROTOCOL);
}

/* Which refusals stop a client: the ones retrying cannot fix, and no other. */
static void
test_refusal_retry(void)
{
	static const struct {
		TrRefusal code;
		gboolean retry;
	} cases[] = {
	        {TR_REFUSE_NONE, TRUE},
	        {TR_REFUSE_PROTOCOL, TRUE},
	        {TR_REFUSE_VERSION, FALSE},
	        {TR_REFUSE_CIPHER, FALSE},
	        {TR_REFUSE_AUTH, FALSE},
	        {TR_REFUSE_POOL, TRUE},
	        {TR_REFUSE_SETTINGS, FALSE},
	        {TR_REFUSE_REPLACED, TRUE},
	        {TR_REFUSE_SHUTDOWN, TRUE},
	        {TR_REFUSE_TIMEOUT, TRUE},
	        {TR_REFUSE_REVOKED, FALSE},
	        {TR_REFUSE_INTERNAL, TRUE},
	        {TR_REFUSE_ROLE, FALSE},
	        {TR_REFUSE_PASSWORD, FALSE},
	        {TR_REFUSE_POOL_COLLISION, FALSE},
	        {(TrRefusal)999, TRUE},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) e =
		        g_error_new_literal(TR_ERROR, tr_refusal_error_code(cases[i].code), "x");

		g_assert_cmpint(tr_error_is_retryable(e), ==, cases[i].retry);
	}
	/* Errors of other domains and none at all: retried. */
	{
		g_autoptr(GError) io = g_error_new_literal(G_FILE_ERROR, G_FILE_ERROR_FAILED, "x");
		g_assert_true(tr_error_is_retryable(io));
		g_assert_true(tr_error_is_retryable(NULL));
	}
	g_assert_cmpstr(tr_refusal_to_string(TR_REFUSE_ROLE), ==,
	                "this node takes no peers of this kind");
	g_assert_cmpstr(tr_refusal_to_string(TR_REFUSE_POOL_COLLISION), ==,
	                "address pool collides");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ctrl-msg/roundtrip", test_roundtrip);
	g_test_add_func("/ctrl-msg/setter-types", test_setter_types);
	g_test_add_func("/ctrl-msg/truncations", test_truncations);
	g_test_add_func("/ctrl-msg/malformed", test_malformed);
	g_test_add_func("/ctrl-msg/unknown-attr", test_unknown_attr_skipped);
	g_test_add_func("/ctrl-msg/limits", test_limits);
	g_test_add_func("/ctrl-msg/refusal-retry", test_refusal_retry);
	g_test_add_func("/ctrl-msg/data", test_data);
	g_test_add_func("/ctrl-msg/join-bytes", test_join_bytes);
	g_test_add_func("/ctrl-msg/graph-frames", test_graph_frames);
	g_test_add_func("/ctrl-msg/pair-target", test_pair_target);
	return g_test_run();
}
