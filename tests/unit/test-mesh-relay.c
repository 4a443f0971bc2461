/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Relay framing: the vector of docs/PROTOCOL.md ("Relay") and each refusal. */
#include "common/mesh/relay.h"

#include "common/ctrl/msg.h"

#include <errno.h>
#include <string.h>

/* Data-channel test vector 1 of docs/PROTOCOL.md: a sealed DATA packet. */
static const uint8_t inner[] = {
        0x74, 0x72, 0x6c, 0x01, 0x01, 0x01, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7a, 0xce, 0xd0, 0xb2, 0xd9, 0x45, 0xf0, 0x9d,
        0x6c, 0xc9, 0xdd, 0x54, 0x38, 0x4f, 0xf9, 0xf8, 0xbc, 0x2d, 0x33, 0x3f, 0x08, 0x30,
        0x8f, 0xab, 0x44, 0x02, 0xb5, 0x69, 0x6b, 0x95, 0x4a, 0x44, 0x9c, 0x45, 0x59, 0xc9,
};
static const uint8_t header[] = {0x74, 0x72, 0x6c, 0x01, 0x07, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x01, 0x02};

static void
test_vector(void)
{
	TrMagic magic = TR_MAGIC_DEFAULT;
	uint8_t frame[sizeof(header) + sizeof(inner)];
	const uint8_t *in = NULL;
	size_t in_len = 0;
	uint32_t id = 0;

	tr_relay_write_header(frame, &magic, 0x102);
	g_assert_cmpmem(frame, TR_RELAY_HEADER_LEN, header, sizeof(header));
	memcpy(frame + TR_RELAY_HEADER_LEN, inner, sizeof(inner));
	g_assert_true(tr_relay_is_relay(frame, sizeof(frame)));
	g_assert_false(tr_relay_is_relay(inner, sizeof(inner)));
	g_assert_cmpint(tr_relay_parse(frame, sizeof(frame), &magic, &id, &in, &in_len), ==, 0);
	g_assert_cmpuint(id, ==, 0x102);
	g_assert_true(in == frame + 12);
	g_assert_cmpmem(in, in_len, inner, sizeof(inner));
}

/* The same frame over the TLS stream: a RELAY message whose body is the frame. */
static void
test_vector_tls(void)
{
	static const uint8_t msg_header[] = {0x12, 0x00, 0x00, 0x44};
	TrMagic magic = TR_MAGIC_DEFAULT;
	uint8_t frame[sizeof(header) + sizeof(inner)];
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) msg = {0};

	tr_relay_write_header(frame, &magic, 0x102);
	memcpy(frame + TR_RELAY_HEADER_LEN, inner, sizeof(inner));
	g_assert_true(tr_msg_encode_relay(out, frame, sizeof(frame), &error));
	g_assert_cmpmem(out->data, 4, msg_header, sizeof(msg_header));
	g_assert_cmpmem(out->data + 4, out->len - 4, frame, sizeof(frame));
	g_assert_true(tr_msg_parse(out->data, out->len, &msg, &error));
	g_assert_cmpint(msg.type, ==, TR_MSG_RELAY);
	g_assert_cmpmem(msg.data, msg.data_len, frame, sizeof(frame));
}

static void
test_refusals(void)
{
	TrMagic magic = TR_MAGIC_DEFAULT, other = {{1, 2, 3, 4}};
	uint8_t frame[sizeof(header) + sizeof(inner)];
	const uint8_t *in;
	size_t in_len;
	uint32_t id;
	struct {
		unsigned at;
		uint8_t value;
		int err;
	} flips[] = {
	        {0, 0x75, -ENOMSG},   {4, 0x01, -EPROTO}, {5, 0x01, -EPROTO},
	        {6, 0x80, -EPROTO},   {7, 0x01, -EPROTO}, {12, 0x00, -EBADMSG}, /* inner magic */
	        {16, 0x00, -EBADMSG},                                           /* inner type 0 */
	        {16, 0x07, -EBADMSG}, /* a relay inside a relay */
	};

	memcpy(frame, header, sizeof(header));
	memcpy(frame + sizeof(header), inner, sizeof(inner));
	g_assert_cmpint(tr_relay_parse(frame, sizeof(frame), &other, &id, &in, &in_len), ==,
	                -ENOMSG);
	g_assert_cmpint(tr_relay_parse(frame, TR_RELAY_HEADER_LEN + TR_RELAY_INNER_MIN - 1, &magic,
	                               &id, &in, &in_len),
	                ==, -EMSGSIZE);
	g_assert_cmpint(tr_relay_parse(frame, TR_RELAY_MAX + 1, &magic, &id, &in, &in_len), ==,
	                -EMSGSIZE);
	for (unsigned i = 0; i < G_N_ELEMENTS(flips); i++) {
		uint8_t copy[sizeof(frame)];

		memcpy(copy, frame, sizeof(frame));
		copy[flips[i].at] = flips[i].value;
		g_assert_cmpint(tr_relay_parse(copy, sizeof(copy), &magic, &id, &in, &in_len), ==,
		                flips[i].err);
	}
	g_assert_cmpstr(tr_relay_error_name(-EMSGSIZE), ==, "short");
	g_assert_cmpstr(tr_relay_error_name(-EBADMSG), ==, "inner");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mesh/relay/vector", test_vector);
	g_test_add_func("/mesh/relay/vector-tls", test_vector_tls);
	g_test_add_func("/mesh/relay/refusals", test_refusals);
	return g_test_run();
}
