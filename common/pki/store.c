/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Files in the PKI state directory: atomic writes with exact modes, private
 * keys read only when nobody else can read them, directories kept 0700.
 */
#include "common/pki/private.h"

#include "common/base/error.h"
#include "common/base/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef G_OS_WIN32
/* Who may read a file is its ACL, set as it is created; mode bits mean nothing. */
#include "platform/windows/files.h"
#include <io.h>
#endif

/* The size travels with the block: [gsize len][bytes...]. */
static void
secret_free(gpointer block)
{
	gsize len;

	memcpy(&len, block, sizeof(len));
	explicit_bzero(block, sizeof(len) + len);
	g_free(block);
}

GBytes *
tr_pki_secret_bytes_new(const void *data, gsize len)
{
	guint8 *block = g_malloc(sizeof(len) + len + 1);

	memcpy(block, &len, sizeof(len));
	if (len > 0)
		memcpy(block + sizeof(len), data, len);
	block[sizeof(len) + len] = '\0';
	return g_bytes_new_with_free_func(block + sizeof(len), len, secret_free, block);
}

static gboolean
write_all(int fd, const guint8 *data, gsize len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		data += n;
		len -= (gsize)n;
	}
	return TRUE;
}

static void
sync_dir_of(const char *path)
{
#ifndef G_OS_WIN32 /* NTFS journals the rename itself */
	g_autofree char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
#else
	(void)path;
#endif
}

#ifndef G_OS_WIN32
static gboolean
give_to_dir_owner(int fd, const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	struct stat st;

	if (geteuid() != 0 || stat(dir, &st) < 0 || st.st_uid == 0)
		return TRUE;
	return fchown(fd, st.st_uid, st.st_gid) == 0;
}
#endif

gboolean
tr_pki_write_file(const char *path, const void *data, gsize len, mode_t mode, GError **error)
{
	g_autofree char *tmp = g_strdup_printf("%s.tmp-%08x", path, g_random_int());
	int fd, errsv;

#ifdef G_OS_WIN32
	fd = tr_win_create_file(tmp, mode);
	if (fd < 0)
		return tr_set_error_errno(error, -fd, "cannot create %s", tmp);
	if (!write_all(fd, data, len) || _commit(fd) < 0) {
#else
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return tr_set_error_errno(error, errno, "cannot create %s", tmp);
	/* The umask may have taken bits away; a certificate should stay readable.
	 * Root writing into a directory that belongs to a daemon's user (a hub
	 * run with --user) gives the file to that user, or the daemon could not
	 * read the CRL or invite written for it. */
	if (fchmod(fd, mode) < 0 || !give_to_dir_owner(fd, path) || !write_all(fd, data, len) ||
	    fsync(fd) < 0) {
#endif
		errsv = errno;
		close(fd);
		unlink(tmp);
		return tr_set_error_errno(error, errsv, "cannot write %s", tmp);
	}
	if (close(fd) < 0 || g_rename(tmp, path) < 0) {
		errsv = errno;
		unlink(tmp);
		return tr_set_error_errno(error, errsv, "cannot replace %s", path);
	}
	sync_dir_of(path);
	return TRUE;
}

GBytes *
tr_pki_read_key_file(const char *path, GError **error)
{
	GBytes *out;

#ifndef G_OS_WIN32
	struct stat st;

	/* In the state directory, a link is never what Trellis wrote. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "%s is a symbolic link, not a private key file", path);
		return NULL;
	}
#endif
	out = tr_secret_file_load(path, "private key", error);
	if (out != NULL && g_bytes_get_size(out) == 0) {
		g_bytes_unref(out);
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "private key %s is empty", path);
		return NULL;
	}
	return out;
}

gboolean
tr_pki_ensure_dir(const char *path, GError **error)
{
	struct stat st;

#ifdef G_OS_WIN32
	int rc = tr_win_mkdir(path, 0700);
	if (rc == -ENOENT) {
		g_autofree char *parent = g_path_get_dirname(path);
		if (g_mkdir_with_parents(parent, 0755) == 0)
			rc = tr_win_mkdir(path, 0700);
	}
	if (rc == 0)
		return TRUE;
	errno = -rc;
#else
	if (mkdir(path, 0700) == 0 || (errno == ENOENT && g_mkdir_with_parents(path, 0700) == 0)) {
		g_autofree char *parent = g_path_get_dirname(path);

		/* As in tr_pki_write_file(): a daemon user's directory stays its own. */
		if (geteuid() == 0 && stat(parent, &st) == 0 && st.st_uid != 0 &&
		    chown(path, st.st_uid, st.st_gid) < 0)
			return tr_set_error_errno(error, errno, "cannot give %s to %s's owner",
			                          path, parent);
		return TRUE;
	}
#endif
	if (errno != EEXIST)
		return tr_set_error_errno(error, errno, "cannot create directory %s", path);
	if (stat(path, &st) < 0)
		return tr_set_error_errno(error, errno, "cannot stat %s", path);
	if (!S_ISDIR(st.st_mode)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "%s is not a directory", path);
		return FALSE;
	}
#ifndef G_OS_WIN32 /* the ACL it was created with protects it */
	if ((st.st_mode & 022) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_PERMISSION,
		            "directory %s is writable by group or others (mode %04o); "
		            "refusing to use it: run 'chmod 700 %s'",
		            path, (unsigned)(st.st_mode & 07777), path);
		return FALSE;
	}
#endif
	return TRUE;
}

void
tr_pki_prefix_write_error(GError **error, const char *state_dir)
{
	if (error == NULL || *error == NULL)
		return;
	if (g_error_matches(*error, TR_ERROR, TR_ERROR_PERMISSION))
		g_prefix_error(error,
		               "no permission to write the state directory %s (run as its owner "
		               "or root, or use another state directory): ",
		               state_dir);
	else
		g_prefix_error(error, "state directory %s: ", state_dir);
}
