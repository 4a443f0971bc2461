/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Address, prefix and endpoint parsing: config files and pushed settings. */
#include "common/base/addr.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256];
	char out[TR_PREFIX_STRLEN];
	TrPrefix p, q;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char *host = NULL;
	uint16_t port;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	for (int flags = 0; flags < 8; flags++) {
		if (tr_prefix_parse(text, (TrPrefixFlags)flags, &p, NULL)) {
			/* Whatever parses must print and parse back to the same prefix. */
			tr_prefix_to_string(&p, out, sizeof(out));
			if (!tr_prefix_parse(out, TR_PREFIX_ALLOW_HOST_BITS, &q, NULL) ||
			    !tr_prefix_equal(&p, &q))
				__builtin_trap();
		}
	}
	if (tr_hostport_parse(text, 3210, &host, &port, NULL)) {
		if (port == 0)
			__builtin_trap();
		g_free(host);
	}
	if (tr_sockaddr_parse(text, 3210, &ss, &sslen, NULL))
		tr_sockaddr_to_string((struct sockaddr *)&ss, out, sizeof(out));
	return 0;
}
