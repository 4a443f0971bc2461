/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Relay frames: every datagram that reaches the hub's port with type 7, and
 * every one a client receives from the hub. */
#include "common/mesh/relay.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TrMagic magic = TR_MAGIC_DEFAULT;
	const uint8_t *inner = NULL;
	size_t inner_len = 0;
	uint32_t id = 0;
	int rc = tr_relay_parse(data, size, &magic, &id, &inner, &inner_len);

	if (rc == 0) {
		uint8_t header[TR_RELAY_HEADER_LEN];

		if (inner != data + TR_RELAY_HEADER_LEN ||
		    inner_len + TR_RELAY_HEADER_LEN != size || inner_len < TR_RELAY_INNER_MIN ||
		    !tr_relay_is_relay(data, size))
			__builtin_trap();
		tr_relay_write_header(header, &magic, id);
		if (memcmp(header, data, sizeof(header)) != 0)
			__builtin_trap();
	}
	(void)tr_relay_error_name(rc);
	return 0;
}
