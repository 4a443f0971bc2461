/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/auth/identity.h"

#include "common/base/error.h"
#include "common/pki/pki.h"

#include <string.h>

gboolean
tr_identity_validate_name(const char *what, const char *name, GError **error)
{
	if (!tr_pki_name_validate(name, error)) {
		g_prefix_error(error, "%s: ", what);
		return FALSE;
	}
	return TRUE;
}

gboolean
tr_identity_validate_username(const char *name, GError **error)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID, "user name: empty");
		return FALSE;
	}
	if (len > TR_IDENTITY_USERNAME_MAX) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "user name: %zu bytes long; at most %d are allowed", len,
		            TR_IDENTITY_USERNAME_MAX);
		return FALSE;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!g_ascii_isalnum(c) && !strchr("._@+-", c)) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "user name: a character that is not allowed at position %zu; "
			            "use A-Z, a-z, 0-9, '.', '_', '@', '+' and '-'",
			            i + 1);
			return FALSE;
		}
	}
	if (name[0] == '-') {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID,
		                    "user name: must not start with '-'");
		return FALSE;
	}
	return TRUE;
}
