/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/daemon/shared-key-options.h"

#include "common/auth/shared-key.h"
#include "common/base/error.h"
#include "common/base/secret.h"

gboolean
tr_shared_key_from_options(TrOptions *o, char **key, GError **error)
{
	const char *text = tr_options_get_string(o, "shared-key");
	const char *file = tr_options_get_string(o, "shared-key-file");

	*key = NULL;
	if (text && file) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "both shared-key and shared-key-file are set; keep shared-key-file");
		return FALSE;
	}
	if (file) {
		*key = tr_secret_file_read_line(file, "shared key file", error);
		if (*key == NULL)
			return tr_options_error_at(o, "shared-key-file", error);
	} else if (text) {
		if (tr_options_from_cli(o, "shared-key"))
			g_warning("the shared key is on the command line, where every local user "
			          "can read it (ps); use shared-key-file instead");
		*key = g_strdup(text);
	} else {
		return TRUE;
	}
	return TRUE;
}
