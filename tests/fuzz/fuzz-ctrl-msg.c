/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Control-channel message parser: every byte a TLS peer sends us goes here. */
#include "common/ctrl/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	/* Walk a stream of frames as the connection does. */
	while (off < size) {
		int n = tr_msg_frame_length(data + off, size - off);
		g_auto(TrMsg) msg = {0};

		if (n <= 0)
			break;
		if (tr_msg_parse(data + off, (size_t)n, &msg, NULL) && msg.type != TR_MSG_DATA &&
		    msg.type != TR_MSG_RELAY && !tr_msg_type_is_graph(msg.type)) {
			/* Whatever parses must encode and parse back the same. */
			g_autoptr(GByteArray) out = g_byte_array_new();
			g_auto(TrMsg) again = {0};

			if (tr_msg_encode(&msg, out, NULL)) {
				if (!tr_msg_parse(out->data, out->len, &again, NULL) ||
				    again.present != msg.present)
					__builtin_trap();
			}
		}
		off += (size_t)n;
	}
	return 0;
}
