/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The server's password file: "username:hash" lines, comments, blank lines. */
#include "server/auth-password.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;
	TrPasswordBackend *backend;

	/* No check() here: yescrypt would make every input take milliseconds. */
	backend = tr_password_file_backend_new_from_data((const char *)data, size, "fuzz", &error);
	if (backend) {
		if (error)
			__builtin_trap();
		tr_password_backend_free(backend);
	} else {
		/* Every refusal says where: "fuzz:LINE: ...". */
		if (!error || !g_str_has_prefix(error->message, "fuzz:"))
			__builtin_trap();
		g_error_free(error);
	}
	return 0;
}
