/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Candidates: the wire vectors of docs/PROTOCOL.md ("Candidates",
 * "Pair sessions"), every refusal of the decoder, which addresses are worth
 * offering, and the order of a list.
 */
#include "common/base/error.h"
#include "common/base/candidate.h"
#include "common/ctrl/msg.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static TrCandidate
v4(TrCandidateKind kind, const char *addr, uint16_t port)
{
	TrCandidate c = {.kind = (uint8_t)kind, .family = 4, .port = port};

	g_assert_cmpint(inet_pton(AF_INET, addr, c.addr), ==, 1);
	return c;
}

static TrCandidate
v6(TrCandidateKind kind, const char *addr, uint16_t port)
{
	TrCandidate c = {.kind = (uint8_t)kind, .family = 6, .port = port};

	g_assert_cmpint(inet_pton(AF_INET6, addr, c.addr), ==, 1);
	return c;
}

static void
test_vectors(void)
{
	static const uint8_t reflexive[] = {0x02, 0x04, 0x9c, 0x40, 0xc6, 0x12, 0x00, 0x0a};
	static const uint8_t host6[] = {0x01, 0x06, 0x0c, 0x8a, 0xfd, 0, 0, 0, 0, 0,
	                                0,    0,    0,    0,    0,    0, 0, 0, 0, 5};
	TrCandidate c = v4(TR_CANDIDATE_REFLEXIVE, "198.18.0.10", 40000), back;
	uint8_t out[TR_CANDIDATE_WIRE_MAX];
	char text[80];
	g_autoptr(GError) error = NULL;

	g_assert_cmpuint(tr_candidate_encode(&c, out), ==, 8);
	g_assert_cmpmem(out, 8, reflexive, sizeof(reflexive));
	g_assert_true(tr_candidate_decode(reflexive, sizeof(reflexive), &back, &error));
	g_assert_true(tr_candidate_same_endpoint(&c, &back));
	g_assert_cmpuint(back.kind, ==, TR_CANDIDATE_REFLEXIVE);
	g_assert_cmpstr(tr_candidate_to_string(&back, text, sizeof(text)), ==,
	                "reflexive 198.18.0.10:40000");

	c = v6(TR_CANDIDATE_HOST, "fd00::5", 3210);
	g_assert_cmpuint(tr_candidate_encode(&c, out), ==, 20);
	g_assert_cmpmem(out, 20, host6, sizeof(host6));
	g_assert_true(tr_candidate_decode(host6, sizeof(host6), &back, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(tr_candidate_to_string(&back, text, sizeof(text)), ==,
	                "host [fd00::5]:3210");
}

static void
refused(const uint8_t *buf, size_t len, const char *words)
{
	TrCandidate c;
	g_autoptr(GError) error = NULL;

	g_assert_false(tr_candidate_decode(buf, len, &c, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(error->message, words));
}

static void
test_refusals(void)
{
	refused((const uint8_t *)"\x02\x04", 2, "expected 8 (IPv4) or 20 (IPv6)");
	refused((const uint8_t *)"\x00\x04\x9c\x40\xc6\x12\x00\x0a", 8, "kind 0");
	refused((const uint8_t *)"\x04\x04\x9c\x40\xc6\x12\x00\x0a", 8, "kind 4"); /* local only */
	refused((const uint8_t *)"\x02\x05\x9c\x40\xc6\x12\x00\x0a", 8, "family 5");
	refused((const uint8_t *)"\x02\x06\x9c\x40\xc6\x12\x00\x0a", 8, "expected 20 for IPv6");
	refused((const uint8_t *)"\x02\x04\x9c\x40\xc6\x12\x00\x0a\x00", 9, "expected 8 for IPv4");
	refused((const uint8_t *)"\x02\x04\x00\x00\xc6\x12\x00\x0a", 8, "port 0");
}

static void
test_usable(void)
{
	struct {
		TrCandidate c;
		gboolean usable;
	} cases[] = {
	        {v4(TR_CANDIDATE_HOST, "198.19.1.5", 3210), TRUE},
	        {v4(TR_CANDIDATE_HOST, "198.19.1.5", 0), FALSE},
	        {v4(TR_CANDIDATE_HOST, "0.0.0.0", 3210), FALSE},
	        {v4(TR_CANDIDATE_HOST, "127.0.0.1", 3210), FALSE},
	        {v4(TR_CANDIDATE_HOST, "169.254.3.4", 3210), FALSE},
	        {v4(TR_CANDIDATE_HOST, "224.0.0.1", 3210), FALSE},
	        {v4(TR_CANDIDATE_HOST, "255.255.255.255", 3210), FALSE},
	        {v6(TR_CANDIDATE_HOST, "fd00::1", 3210), TRUE},
	        {v6(TR_CANDIDATE_HOST, "::", 3210), FALSE},
	        {v6(TR_CANDIDATE_HOST, "::1", 3210), FALSE},
	        {v6(TR_CANDIDATE_HOST, "fe80::1", 3210), FALSE},
	        {v6(TR_CANDIDATE_HOST, "ff02::1", 3210), FALSE},
	        {v6(TR_CANDIDATE_HOST, "::ffff:198.18.0.1", 3210), FALSE},
	};

	for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpint(tr_candidate_usable(&cases[i].c), ==, cases[i].usable);
}

static void
test_sockaddr(void)
{
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(4000)};
	struct sockaddr_storage ss;
	TrCandidate c, d;

	/* An IPv4-mapped source (a dual-stack socket) is an IPv4 candidate. */
	inet_pton(AF_INET6, "::ffff:198.18.0.10", &in6.sin6_addr);
	g_assert_true(
	        tr_candidate_from_sockaddr(TR_CANDIDATE_REFLEXIVE, (struct sockaddr *)&in6, &c));
	g_assert_cmpuint(c.family, ==, 4);
	d = v4(TR_CANDIDATE_REFLEXIVE, "198.18.0.10", 4000);
	g_assert_true(tr_candidate_same_endpoint(&c, &d));
	g_assert_cmpuint(tr_candidate_to_sockaddr(&c, &ss), ==, sizeof(struct sockaddr_in));
	g_assert_cmpuint(ntohs(((struct sockaddr_in *)&ss)->sin_port), ==, 4000);
}

static void
test_list(void)
{
	TrCandidateList l = {0}, m = {0};
	TrCandidate refl = v4(TR_CANDIDATE_REFLEXIVE, "198.18.0.10", 40000);
	TrCandidate host6 = v6(TR_CANDIDATE_HOST, "fd00::5", 3210);
	TrCandidate host = v4(TR_CANDIDATE_HOST, "198.19.1.5", 3210);
	TrCandidate mapped = v4(TR_CANDIDATE_MAPPED, "198.18.0.10", 3210);

	g_assert_true(tr_candidate_list_add(&l, &refl));
	g_assert_true(tr_candidate_list_add(&l, &host6));
	g_assert_true(tr_candidate_list_add(&l, &mapped));
	g_assert_true(tr_candidate_list_add(&l, &host));
	g_assert_false(tr_candidate_list_add(&l, &host)); /* listed */
	/* host (IPv4, IPv6), mapped, reflexive */
	g_assert_cmpuint(l.n, ==, 4);
	g_assert_true(tr_candidate_same_endpoint(&l.items[0], &host));
	g_assert_true(tr_candidate_same_endpoint(&l.items[1], &host6));
	g_assert_true(tr_candidate_same_endpoint(&l.items[2], &mapped));
	g_assert_true(tr_candidate_same_endpoint(&l.items[3], &refl));

	/* The hub sees the mapped port as the reflexive one: mapped stays. */
	refl.port = 3210;
	g_assert_false(tr_candidate_list_add(&l, &refl));
	g_assert_cmpuint(l.items[2].kind, ==, TR_CANDIDATE_MAPPED);

	/* Unusable ones never enter. */
	{
		TrCandidate lo = v4(TR_CANDIDATE_HOST, "127.0.0.1", 3210);
		g_assert_false(tr_candidate_list_add(&l, &lo));
	}

	/* Full: more reflexive ones push nothing better out; a host one does. */
	for (unsigned i = 0; i < 10; i++) {
		TrCandidate r = v4(TR_CANDIDATE_REFLEXIVE, "198.18.0.10", (uint16_t)(50000 + i));
		tr_candidate_list_add(&l, &r);
	}
	g_assert_cmpuint(l.n, ==, TR_CANDIDATE_MAX);
	g_assert_cmpuint(l.items[TR_CANDIDATE_MAX - 1].port, ==, 50003); /* 50004.. found it full */
	{
		TrCandidate h = v4(TR_CANDIDATE_HOST, "198.19.2.5", 3210);
		g_assert_true(tr_candidate_list_add(&l, &h));
		g_assert_cmpuint(l.n, ==, TR_CANDIDATE_MAX);
		g_assert_cmpuint(l.items[1].kind, ==, TR_CANDIDATE_HOST);
	}
	m = l;
	g_assert_true(tr_candidate_list_equal(&l, &m));
	m.items[3].port++;
	g_assert_false(tr_candidate_list_equal(&l, &m));
}

/* The PAIR_START example of docs/PROTOCOL.md, byte for byte, both ways. */
static void
test_pair_start_vector(void)
{
	static const uint8_t wire[] = {
	        0x0e, 0x00, 0x00, 0x2b,                                   /* PAIR_START, 43 */
	        0x23, 0x00, 0x04, 0x00, 0x00, 0x01, 0x02,                 /* pair id 0x102 */
	        0x24, 0x00, 0x03, 'b',  'o',  'b',                        /* peer "bob" */
	        0x25, 0x00, 0x01, 0x01,                                   /* role: server */
	        0x26, 0x00, 0x08, 0x01, 0x04, 0x0c, 0x8a, 198, 19, 1, 5,  /* host */
	        0x26, 0x00, 0x08, 0x02, 0x04, 0x9c, 0x40, 198, 18, 0, 10, /* reflexive */
	        0x28, 0x00, 0x01, 0x01,                                   /* relay: yes */
	};
	g_auto(TrMsg) msg = {0};
	g_auto(TrMsg) back = {0};
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	TrCandidate host = v4(TR_CANDIDATE_HOST, "198.19.1.5", 3210);
	TrCandidate refl = v4(TR_CANDIDATE_REFLEXIVE, "198.18.0.10", 40000);

	tr_msg_init(&msg, TR_MSG_PAIR_START);
	tr_msg_set_u32(&msg, TR_ATTR_PAIR_ID, 0x102);
	tr_msg_set_string(&msg, TR_ATTR_PEER, "bob");
	tr_msg_set_u8(&msg, TR_ATTR_ROLE, 1);
	g_assert_true(tr_msg_add_candidate(&msg, &host));
	g_assert_true(tr_msg_add_candidate(&msg, &refl));
	tr_msg_set_u8(&msg, TR_ATTR_RELAY, 1);
	g_assert_true(tr_msg_encode(&msg, out, &error));
	g_assert_no_error(error);
	g_assert_cmpmem(out->data, out->len, wire, sizeof(wire));

	g_assert_true(tr_msg_parse(wire, sizeof(wire), &back, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(tr_msg_type_to_string(back.type), ==, "PAIR_START");
	g_assert_cmpuint(back.pair_id, ==, 0x102);
	g_assert_cmpstr(back.peer, ==, "bob");
	g_assert_cmpuint(back.n_candidates, ==, 2);
	g_assert_true(tr_candidate_same_endpoint(&back.candidates[1], &refl));
	g_assert_true(
	        tr_msg_require(&back, &error, TR_ATTR_PAIR_ID, TR_ATTR_PEER, TR_ATTR_ROLE, 0));
}

/* The PAIR_TLS example of docs/PROTOCOL.md. */
static void
test_more_vectors(void)
{
	static const uint8_t pair_tls[] = {0x0f, 0x00, 0x00, 0x0f, 0x23, 0x00, 0x04,
	                                   0x00, 0x00, 0x01, 0x02, 0x27, 0x00, 0x05,
	                                   0x16, 0x03, 0x01, 0x00, 0xf4};
	static const uint8_t record[] = {0x16, 0x03, 0x01, 0x00, 0xf4};
	g_auto(TrMsg) msg = {0};
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(GBytes) bytes = g_bytes_new_static(record, sizeof(record));
	g_autoptr(GError) error = NULL;

	tr_msg_init(&msg, TR_MSG_PAIR_TLS);
	tr_msg_set_u32(&msg, TR_ATTR_PAIR_ID, 0x102);
	tr_msg_set_bytes(&msg, TR_ATTR_PAIR_TLS, bytes);
	g_assert_true(tr_msg_encode(&msg, out, &error));
	g_assert_cmpmem(out->data, out->len, pair_tls, sizeof(pair_tls));
}

static void
test_msg_caps(void)
{
	g_autoptr(GByteArray) wire = g_byte_array_new();
	g_auto(TrMsg) msg = {0};
	g_autoptr(GError) error = NULL;
	uint8_t header[4] = {TR_MSG_CANDIDATES, 0, 0, 0};
	static const uint8_t attr[] = {0x26, 0x00, 0x08, 0x02, 0x04, 0x9c, 0x40, 198, 18, 0, 10};
	static const uint8_t bad[] = {0x26, 0x00, 0x08, 0x07, 0x04, 0x9c, 0x40, 198, 18, 0, 10};

	/* One more candidate than the cap is a protocol error. */
	g_byte_array_append(wire, header, 4);
	for (unsigned i = 0; i <= TR_CANDIDATE_MAX; i++)
		g_byte_array_append(wire, attr, sizeof(attr));
	wire->data[3] = (uint8_t)(wire->len - 4);
	g_assert_false(tr_msg_parse(wire->data, wire->len, &msg, &error));
	g_assert_nonnull(strstr(error->message, "more than 8 candidate"));
	g_clear_error(&error);

	g_byte_array_set_size(wire, 4);
	g_byte_array_append(wire, bad, sizeof(bad));
	wire->data[3] = (uint8_t)(wire->len - 4);
	g_assert_false(tr_msg_parse(wire->data, wire->len, &msg, &error));
	g_assert_nonnull(strstr(error->message, "CANDIDATES: candidate: kind 7"));
	g_clear_error(&error);

	/* RELAY carries a frame as it is, like DATA. */
	g_byte_array_set_size(wire, 0);
	g_assert_true(tr_msg_encode_relay(wire, attr, sizeof(attr), &error));
	g_assert_true(tr_msg_parse(wire->data, wire->len, &msg, &error));
	g_assert_cmpuint(msg.type, ==, TR_MSG_RELAY);
	g_assert_cmpmem(msg.data, msg.data_len, attr, sizeof(attr));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mesh/candidate/vectors", test_vectors);
	g_test_add_func("/mesh/candidate/refusals", test_refusals);
	g_test_add_func("/mesh/candidate/usable", test_usable);
	g_test_add_func("/mesh/candidate/sockaddr", test_sockaddr);
	g_test_add_func("/mesh/candidate/list", test_list);
	g_test_add_func("/mesh/candidate/pair-start-vector", test_pair_start_vector);
	g_test_add_func("/mesh/candidate/more-vectors", test_more_vectors);
	g_test_add_func("/mesh/candidate/msg-caps", test_msg_caps);
	return g_test_run();
}
