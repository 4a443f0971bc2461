/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/mesh/relay.h"

#include "common/datapath/datachannel.h"

#include <errno.h>
#include <string.h>

G_STATIC_ASSERT(TR_RELAY_TYPE > TR_DC_TYPE_MAX);
G_STATIC_ASSERT(TR_RELAY_INNER_MIN >= TR_DC_HEADER_LEN + 16);

void
tr_relay_write_header(uint8_t *out, const TrMagic *magic, uint32_t pair_id)
{
	memcpy(out, magic->bytes, 4);
	out[4] = TR_RELAY_TYPE;
	out[5] = 0;
	out[6] = 0;
	out[7] = 0;
	out[8] = (uint8_t)(pair_id >> 24);
	out[9] = (uint8_t)(pair_id >> 16);
	out[10] = (uint8_t)(pair_id >> 8);
	out[11] = (uint8_t)pair_id;
}

int
tr_relay_parse(const uint8_t *buf, size_t len, const TrMagic *magic, uint32_t *pair_id,
               const uint8_t **inner, size_t *inner_len)
{
	const uint8_t *in;

	if (len < TR_RELAY_HEADER_LEN + TR_RELAY_INNER_MIN || len > TR_RELAY_MAX)
		return -EMSGSIZE;
	if (memcmp(buf, magic->bytes, 4) != 0)
		return -ENOMSG;
	if (buf[4] != TR_RELAY_TYPE || buf[5] != 0 || buf[6] != 0 || buf[7] != 0)
		return -EPROTO;
	in = buf + TR_RELAY_HEADER_LEN;
	if (memcmp(in, magic->bytes, 4) != 0 || in[4] < 1 || in[4] > TR_DC_TYPE_MAX)
		return -EBADMSG;
	*pair_id =
	        (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
	*inner = in;
	*inner_len = len - TR_RELAY_HEADER_LEN;
	return 0;
}

const char *
tr_relay_error_name(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EMSGSIZE:
		return "short";
	case -ENOMSG:
		return "magic";
	case -EPROTO:
		return "header";
	case -EBADMSG:
		return "inner";
	}
	return "unknown";
}
