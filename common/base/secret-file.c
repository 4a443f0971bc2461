/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Files that hold secrets (a shared key, a private key, a config file with a
 * key in it): read only when nobody but their owner can read them.
 */
#include "common/base/secret.h"

#include "common/base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef G_OS_WIN32
#include "platform/windows/files.h"
#else
#include <pwd.h>
#endif

#define SECRET_FILE_MAX (64 * 1024)

typedef struct {
	guint8 *data;
	gsize size;
} WipeBlock;

static void
wipe_block(gpointer p)
{
	WipeBlock *b = p;

	explicit_bzero(b->data, b->size);
	g_free(b->data);
	g_free(b);
}

gboolean
tr_secret_file_check_mode(const char *path, unsigned mode, const char *what, GError **error)
{
#ifdef G_OS_WIN32
	/* Mode bits mean nothing on Windows: who may read it is its ACL. */
	(void)mode;
	if (tr_win_file_is_shared(path) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_PERMISSION,
		            "%s %s can be read by users other than its owner, SYSTEM and the "
		            "Administrators (or its ACL cannot be read); refusing to use it",
		            what, path);
		return FALSE;
	}
	return TRUE;
#endif
	if ((mode & 077) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_PERMISSION,
		            "%s %s can be read by group or others (mode %04o); refusing to use it: "
		            "run 'chmod 600 %s'",
		            what, path, mode & 07777, path);
		return FALSE;
	}
	return TRUE;
}

void
tr_secret_file_hint_owner(GError **error, int errsv, const char *path)
{
#ifndef G_OS_WIN32
	const struct passwd *pw;
	char *message;

	if (error == NULL || *error == NULL || errsv != EACCES || geteuid() == 0)
		return;
	pw = getpwuid(geteuid());
	if (pw == NULL)
		return;
	message = g_strdup_printf("%s (this daemon runs as user %s: chown %s: %s, and keep "
	                          "it mode 600 if it holds a secret)",
	                          (*error)->message, pw->pw_name, pw->pw_name, path);
	g_free((*error)->message);
	(*error)->message = message;
#else
	(void)error;
	(void)errsv;
	(void)path;
#endif
}

GBytes *
tr_secret_file_load(const char *path, const char *what, GError **error)
{
	g_autofree guint8 *buf = NULL;
	struct stat st;
	gsize len = 0;
	GBytes *out;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		int errsv = errno;

		tr_set_error_errno(error, errsv, "cannot open %s %s", what, path);
		tr_secret_file_hint_owner(error, errsv, path);
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		tr_set_error_errno(error, errno, "cannot stat %s %s", what, path);
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SECRET_FILE_MAX) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "%s %s is not a regular file of at most %d bytes", what, path,
		            SECRET_FILE_MAX);
		close(fd);
		return NULL;
	}
	if (!tr_secret_file_check_mode(path, st.st_mode, what, error)) {
		close(fd);
		return NULL;
	}
	buf = g_malloc((gsize)st.st_size + 1);
	while (len < (gsize)st.st_size) {
		ssize_t n = read(fd, buf + len, (gsize)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (gsize)n;
	}
	close(fd);
	buf[len] = '\0';
	{
		WipeBlock *b = g_malloc(sizeof(*b));

		b->data = g_steal_pointer(&buf);
		b->size = (gsize)st.st_size + 1;
		out = g_bytes_new_with_free_func(b->data, len, wipe_block, b);
	}
	return out;
}

char *
tr_secret_file_read_line(const char *path, const char *what, GError **error)
{
	g_autoptr(GBytes) bytes = tr_secret_file_load(path, what, error);
	const char *data, *end;
	gsize len;

	if (bytes == NULL)
		return NULL;
	data = g_bytes_get_data(bytes, &len);
	end = memchr(data, '\n', len);
	if (end)
		len = (gsize)(end - data);
	while (len > 0 && g_ascii_isspace(data[len - 1]))
		len--;
	while (len > 0 && g_ascii_isspace(*data)) {
		data++;
		len--;
	}
	if (len == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "%s %s is empty", what, path);
		return NULL;
	}
	return g_strndup(data, len);
}
