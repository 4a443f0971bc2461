/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The password backends where the hub has none: Windows. Both of Linux's
 * need what Windows lacks — the file backend crypt(3)'s hashes (libxcrypt:
 * yescrypt, SHA-crypt), the PAM backend PAM — and the Windows libraries
 * (scripts/windows-deps.sh) hold no replacement. A config that asks for
 * password authentication is refused with the reason, never started without
 * it: certificates and the shared key are the ways in (docs/WINDOWS.md).
 */
#include "server/auth-password.h"
#include "common/base/error.h"

static gboolean
refuse(const char *what, GError **error)
{
	g_set_error(error, TR_ERROR, TR_ERROR_UNSUPPORTED, "%s: " TR_PASSWORD_NONE_REASON, what);
	return FALSE;
}

TrPasswordBackend *
tr_password_file_backend_new(const char *path, GError **error)
{
	g_autofree char *what = g_strdup_printf("password file %s", path);

	refuse(what, error);
	return NULL;
}

TrPasswordBackend *
tr_password_file_backend_new_from_data(const char *data, gsize len, const char *origin,
                                       GError **error)
{
	(void)data;
	(void)len;
	refuse(origin, error);
	return NULL;
}

TrPasswordBackend *
tr_password_pam_backend_new(const char *service, const char *confdir, GError **error)
{
	g_autofree char *what = g_strdup_printf("PAM service %s", service);

	(void)confdir;
	refuse(what, error);
	return NULL;
}

gboolean
tr_password_pam_has_confdir(void)
{
	return FALSE;
}

gboolean
tr_password_hash(const char *password, char **hash, GError **error)
{
	(void)password;
	*hash = NULL;
	return refuse("hashing a password", error);
}
