/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The graph messages' codec: docs/PROTOCOL.md's test vectors, round trips and
 * every refusal the parser makes. */
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/graph/msg.h"

#include "tests/unit/assert-message.h"

static GByteArray *
unhex(const char *hex)
{
	GByteArray *out = g_byte_array_new();

	for (const char *p = hex; *p;) {
		uint8_t b;

		if (g_ascii_isspace(*p)) {
			p++;
			continue;
		}
		g_assert_true(g_ascii_isxdigit(p[0]) && g_ascii_isxdigit(p[1]));
		b = (uint8_t)(g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]));
		g_byte_array_append(out, &b, 1);
		p += 2;
	}
	return out;
}

static void
check_vector(const TrGraphMsg *m, const char *hex)
{
	g_autoptr(GByteArray) want = unhex(hex);
	g_autoptr(GByteArray) got = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	TrGraphMsg back;

	g_assert_true(tr_graph_msg_encode(m, got, &error));
	g_assert_no_error(error);
	g_assert_cmpmem(got->data, got->len, want->data, want->len);
	g_assert_cmpint(tr_graph_msg_frame_length(want->data, want->len), ==, (int)want->len);
	g_assert_true(tr_graph_msg_parse(want->data, want->len, &back, &error));
	g_assert_no_error(error);
	g_assert_cmpint(back.type, ==, m->type);
	g_assert_cmpstr(back.origin, ==, m->origin);
	g_assert_cmpstr(back.peer, ==, m->peer);
	g_assert_cmpuint(back.seq, ==, m->seq);
	g_assert_cmpuint(back.age, ==, m->age);
	g_assert_cmpuint(back.weight, ==, m->weight);
	g_assert_cmpuint(back.options, ==, m->options);
	g_assert_cmpmem(&back.address, sizeof(back.address), &m->address, sizeof(m->address));
	g_assert_cmpuint(back.kind, ==, m->kind);
	g_assert_cmpuint(back.since, ==, m->since);
	g_assert_true(tr_prefix_equal(&back.prefix, &m->prefix) || !m->prefix.family);
}

/* The vectors printed in docs/PROTOCOL.md, "The graph". */
static void
test_vectors(void)
{
	TrGraphMsg edge = {
	        .type = TR_GRAPH_MSG_ADD_EDGE,
	        .origin = "hub-a",
	        .peer = "hub-b",
	        .seq = 7,
	        .age = 5,
	        .weight = 1500,
	        .options = TR_GRAPH_EDGE_RELAY | TR_GRAPH_EDGE_HUB,
	        .address = {.family = TR_ADDR_IPV4, .port = 3210, .addr = {198, 18, 0, 2}}};
	TrGraphMsg del = {
	        .type = TR_GRAPH_MSG_DEL_EDGE, .origin = "hub-a", .peer = "hub-b", .seq = 8};
	TrGraphMsg claim = {
	        .type = TR_GRAPH_MSG_ADD_SUBNET,
	        .origin = "hub-a",
	        .owner = "laptop",
	        .seq = 9,
	        .kind = TR_GRAPH_CLAIM_ADDRESS,
	        .since = 9,
	        .prefix = {.family = TR_ADDR_IPV4, .len = 32, .addr = {198, 19, 16, 5}}};
	TrGraphMsg bye = {.type = TR_GRAPH_MSG_BYE, .origin = "hub-a", .seq = 10};
	TrGraphMsg want = {.type = TR_GRAPH_MSG_WANT, .peer = "laptop"};

	check_vector(&edge, "20 00 00 3a"
	                    "01 00 05 68 75 62 2d 61"
	                    "02 00 08 00 00 00 00 00 00 00 07"
	                    "03 00 04 00 00 00 05"
	                    "04 00 05 68 75 62 2d 62"
	                    "07 00 04 00 00 05 dc"
	                    "08 00 04 00 00 00 06"
	                    "06 00 07 04 0c 8a c6 12 00 02");
	check_vector(&del, "21 00 00 22"
	                   "01 00 05 68 75 62 2d 61"
	                   "02 00 08 00 00 00 00 00 00 00 08"
	                   "03 00 04 00 00 00 00"
	                   "04 00 05 68 75 62 2d 62");
	check_vector(&claim, "22 00 00 3b"
	                     "01 00 05 68 75 62 2d 61"
	                     "02 00 08 00 00 00 00 00 00 00 09"
	                     "03 00 04 00 00 00 00"
	                     "05 00 06 6c 61 70 74 6f 70"
	                     "09 00 06 04 20 c6 13 10 05"
	                     "0a 00 01 01"
	                     "0b 00 08 00 00 00 00 00 00 00 09");
	check_vector(&bye, "24 00 00 1a"
	                   "01 00 05 68 75 62 2d 61"
	                   "02 00 08 00 00 00 00 00 00 00 0a"
	                   "03 00 04 00 00 00 00");
	check_vector(&want, "25 00 00 09"
	                    "0c 00 06 6c 61 70 74 6f 70");
}

static void
test_roundtrip_v6_pool(void)
{
	TrGraphMsg m = {.type = TR_GRAPH_MSG_ADD_SUBNET,
	                .origin = "hub-b",
	                .seq = G_MAXUINT64,
	                .age = 3599,
	                .kind = TR_GRAPH_CLAIM_POOL,
	                .since = 1};
	TrGraphMsg back;
	g_autoptr(GByteArray) f = g_byte_array_new();

	g_assert_true(tr_prefix_parse("fd00:19:2::/48", 0, &m.prefix, NULL));
	g_assert_true(tr_graph_msg_encode(&m, f, NULL));
	g_assert_cmpuint(f->len, <=, TR_GRAPH_MSG_MAX);
	g_assert_true(tr_graph_msg_parse(f->data, f->len, &back, NULL));
	g_assert_true(tr_prefix_equal(&back.prefix, &m.prefix));
	g_assert_cmpuint(back.seq, ==, G_MAXUINT64);
	g_assert_cmpstr(back.owner, ==, ""); /* the origin's own */
}

static void
check_refused_frame(GByteArray *f, const char *fragment)
{
	g_autoptr(GError) error = NULL;
	TrGraphMsg m;

	g_assert_false(tr_graph_msg_parse(f->data, f->len, &m, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_PROTOCOL);
	tr_assert_message_has(error, fragment);
}

/* A whole frame as written. */
static void
check_refused(const char *hex, const char *fragment)
{
	g_autoptr(GByteArray) f = unhex(hex);

	check_refused_frame(f, fragment);
}

/* A frame of @type around @body, with the right length. */
static void
check_refused_body(uint8_t type, const char *body, const char *fragment)
{
	g_autoptr(GByteArray) f = unhex(body);
	uint8_t h[4] = {type, 0, (uint8_t)(f->len >> 8), (uint8_t)f->len};

	g_byte_array_prepend(f, h, sizeof(h));
	check_refused_frame(f, fragment);
}

#define ORIGIN_A "01 00 05 68 75 62 2d 61 "
#define PEER_B   "04 00 05 68 75 62 2d 62 "
#define SEQ_9    "02 00 08 00 00 00 00 00 00 00 09 "
#define AGE_0    "03 00 04 00 00 00 00 "
#define OWNER_L  "05 00 06 6c 61 70 74 6f 70 "

static void
test_refused(void)
{
	/* header */
	check_refused("0a 00 00 00", "a graph message (32 to 37) expected");
	check_refused("21 01 00 00", "flags: 0 expected");
	check_refused("21 00 00 05 01 00", "not one whole graph message");
	check_refused("21 00 01 40", "not one whole graph message");
	/* attributes */
	check_refused_body(0x24, "01 00", "attribute header");
	check_refused_body(0x24, "01 00 09 61", "9 bytes claimed, 1 left");
	check_refused_body(0x24, SEQ_9 AGE_0, "origin missing");
	check_refused_body(0x24, ORIGIN_A SEQ_9 "03 00 03 00 00 00",
	                   "age: 4 bytes expected, found 3");
	check_refused_body(0x24, ORIGIN_A "02 00 08 00 00 00 00 00 00 00 00 " AGE_0,
	                   "seq: 1 or more expected");
	check_refused_body(0x24, "01 00 05 48 75 62 2d 61 " SEQ_9 AGE_0, "origin");
	check_refused_body(0x24, "01 00 05 68 75 00 2d 61 " SEQ_9 AGE_0, "NUL");
	check_refused_body(0x24, "01 00 00 " SEQ_9 AGE_0, "origin: 1 to 63 bytes expected");
	check_refused_body(0x24, ORIGIN_A ORIGIN_A SEQ_9 AGE_0, "origin: given twice");
	check_refused_body(0x24, ORIGIN_A SEQ_9 AGE_0 PEER_B, "peer: not expected in BYE");
	/* an edge to itself */
	check_refused_body(0x21, ORIGIN_A SEQ_9 AGE_0 "04 00 05 68 75 62 2d 61",
	                   "an edge from 'hub-a' to itself");
	/* a prefix with host bits, a bad family, a bad length, a short one */
	check_refused_body(0x23, ORIGIN_A SEQ_9 AGE_0 "09 00 06 04 18 c6 13 10 05",
	                   "host bits set beyond /24");
	check_refused_body(0x23, ORIGIN_A SEQ_9 AGE_0 "09 00 06 05 18 c6 13 10 00",
	                   "family 1, 4 or 6 expected");
	check_refused_body(0x23, ORIGIN_A SEQ_9 AGE_0 "09 00 06 04 21 c6 13 10 00",
	                   "length 0 to 32 expected");
	check_refused_body(0x23, ORIGIN_A SEQ_9 AGE_0 "09 00 05 04 18 c6 13 10",
	                   "6 bytes expected for family 4");
	/* WANT: neither or both */
	check_refused_body(0x25, "", "a name or a prefix expected");
	check_refused_body(0x25, "0c 00 01 61 09 00 06 04 20 c6 13 10 05",
	                   "a name or a prefix expected");
	/* a pool for someone else; since after seq; an unknown kind */
	check_refused_body(0x22,
	                   ORIGIN_A SEQ_9 AGE_0 OWNER_L "09 00 06 04 20 c6 13 10 05 0a 00 01 02 "
	                                                "0b 00 08 00 00 00 00 00 00 00 09",
	                   "a pool is claimed by its hub only");
	check_refused_body(0x22,
	                   ORIGIN_A SEQ_9 AGE_0 OWNER_L "09 00 06 04 20 c6 13 10 05 0a 00 01 01 "
	                                                "0b 00 08 00 00 00 00 00 00 00 0a",
	                   "since: at most seq");
	check_refused_body(0x22,
	                   ORIGIN_A SEQ_9 AGE_0 OWNER_L "09 00 06 04 20 c6 13 10 05 0a 00 01 03 "
	                                                "0b 00 08 00 00 00 00 00 00 00 09",
	                   "kind: 0, 1 or 2 expected, found 3");
	check_refused_body(0x22, ORIGIN_A SEQ_9 AGE_0 OWNER_L "09 00 06 04 20 c6 13 10 05",
	                   "ADD_SUBNET: kind missing");
	/* unknown options, zero weight, port 0, a short address */
	check_refused_body(0x20,
	                   ORIGIN_A SEQ_9 AGE_0 PEER_B "07 00 04 00 00 05 dc 08 00 04 00 00 00 16",
	                   "options: bits 0x7 expected, found 0x16");
	check_refused_body(0x20,
	                   ORIGIN_A SEQ_9 AGE_0 PEER_B "07 00 04 00 00 00 00 08 00 04 00 00 00 06",
	                   "weight: 1 or more expected");
	check_refused_body(0x20,
	                   ORIGIN_A SEQ_9 AGE_0 PEER_B "07 00 04 00 00 05 dc 08 00 04 00 00 00 06 "
	                                               "06 00 07 04 00 00 c6 12 00 02",
	                   "port 1 to 65535 expected");
	check_refused_body(0x20,
	                   ORIGIN_A SEQ_9 AGE_0 PEER_B "07 00 04 00 00 05 dc 08 00 04 00 00 00 06 "
	                                               "06 00 06 04 0c 8a c6 12 00",
	                   "address: 7 bytes expected for family 4");
}

static void
test_unknown_attribute_skipped(void)
{
	/* BYE with an attribute id 40 this version does not know. */
	g_autoptr(GByteArray) f = unhex("24 00 00 1f 01 00 05 68 75 62 2d 61 02 00 08 00 00 00 00 "
	                                "00 00 00 0a 03 00 04 00 00 00 00 28 00 02 ab cd");
	TrGraphMsg m;

	g_assert_true(tr_graph_msg_parse(f->data, f->len, &m, NULL));
	g_assert_cmpint(m.type, ==, TR_GRAPH_MSG_BYE);
	g_assert_cmpuint(m.seq, ==, 10);
}

static void
test_encode_refuses(void)
{
	g_autoptr(GByteArray) f = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	TrGraphMsg m = {.type = TR_GRAPH_MSG_ADD_EDGE, .origin = "a", .peer = "b", .seq = 1};

	/* weight 0 would be refused by the receiver: not sent either */
	g_assert_false(tr_graph_msg_encode(&m, f, &error));
	tr_assert_message_has(error, "weight");
	g_assert_cmpuint(f->len, ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/graph-msg/vectors", test_vectors);
	g_test_add_func("/graph-msg/roundtrip-v6-pool", test_roundtrip_v6_pool);
	g_test_add_func("/graph-msg/refused", test_refused);
	g_test_add_func("/graph-msg/unknown-attribute", test_unknown_attribute_skipped);
	g_test_add_func("/graph-msg/encode-refuses", test_encode_refuses);
	return g_test_run();
}
