/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The password backend interface, and making hashes for the password file. */
#include "server/auth-password.h"
#include "server/auth-password-private.h"
#include "common/base/error.h"

#ifndef G_OS_WIN32
#include <crypt.h>
#endif
#include <errno.h>
#include <string.h>

/* Longest user name we copy into a log line. */
#define USER_LOG_MAX 64

const char *
tr_password_backend_name(const TrPasswordBackend *backend)
{
	return backend->ops->name;
}

gboolean
tr_password_backend_check(TrPasswordBackend *backend, const char *user, const char *password,
                          GError **error)
{
	g_return_val_if_fail(backend != NULL, FALSE);
	g_return_val_if_fail(user != NULL && password != NULL, FALSE);

	if (!backend->ops->check(backend, user, password, error)) {
		g_prefix_error(error, "%s backend: ", backend->ops->name);
		return FALSE;
	}
	return TRUE;
}

gboolean
tr_password_backend_reload(TrPasswordBackend *backend, GError **error)
{
	if (!backend->ops->reload)
		return TRUE;
	if (!backend->ops->reload(backend, error)) {
		g_prefix_error(error, "%s backend: ", backend->ops->name);
		return FALSE;
	}
	return TRUE;
}

void
tr_password_backend_warn_access(TrPasswordBackend *backend)
{
	if (backend->ops->warn_access)
		backend->ops->warn_access(backend);
}

void
tr_password_backend_free(TrPasswordBackend *backend)
{
	if (backend)
		backend->ops->free(backend);
}

char *
tr_password_user_for_log(const char *user)
{
	g_autofree char *cut = g_strndup(user, USER_LOG_MAX);
	g_autofree char *escaped = g_strescape(cut, NULL);

	if (strlen(user) > USER_LOG_MAX)
		return g_strdup_printf("%s...", escaped);
	return g_steal_pointer(&escaped);
}

/* Windows: no crypt(3); auth-password-none.c. */
#ifndef G_OS_WIN32
char *
tr_password_crypt(const char *password, const char *setting, GError **error)
{
	/* struct crypt_data is ~32 KiB: too big for a worker thread's stack. */
	struct crypt_data *data = g_new0(struct crypt_data, 1);
	char *result = NULL;
	const char *out;

	errno = 0;
	out = crypt_r(password, setting, data);
	/* libxcrypt returns a "*0"/"*1" failure token rather than NULL. */
	if (out && out[0] != '*')
		result = g_strdup(out);
	else
		tr_set_error_errno(error, errno ? errno : EINVAL,
		                   "computing the password hash failed");
	explicit_bzero(data, sizeof(*data));
	g_free(data);
	return result;
}

gboolean
tr_password_hash(const char *password, char **hash, GError **error)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	g_return_val_if_fail(password != NULL && hash != NULL, FALSE);

	if (password[0] == '\0') {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID,
		                    "refusing to hash an empty password");
		return FALSE;
	}
	/* Default cost, salt from the OS's random source (rbytes == NULL). */
	errno = 0;
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)))
		return tr_set_error_errno(error, errno ? errno : EINVAL,
		                          "making a yescrypt salt failed");
	*hash = tr_password_crypt(password, setting, error);
	return *hash != NULL;
}
#endif
