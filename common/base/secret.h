/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Secrets in memory (passwords): strings that are wiped before they are freed.
 *
 *     g_auto(TrSecret) password = NULL;
 */
#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

typedef char *TrSecret;

/* Wipes a NUL-terminated secret and frees it (g_free); NULL is fine. */
static inline void
tr_secret_free(char *secret)
{
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		g_free(secret);
	}
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC(TrSecret, tr_secret_free, NULL)

/*
 * Files holding secrets (common/base/secret-file.c). @what names the file in
 * messages ("shared key file"). A file that group or others can read in any
 * way is refused with TR_ERROR_PERMISSION and the chmod that fixes it.
 */
gboolean tr_secret_file_check_mode(const char *path, unsigned mode, const char *what,
                                   GError **error);
/* The whole file (at most 64 KiB), wiped when the last reference goes. */
GBytes *tr_secret_file_load(const char *path, const char *what, GError **error);
/* Its first line without surrounding white space; empty is an error. Free
 * with tr_secret_free(). */
char *tr_secret_file_read_line(const char *path, const char *what, GError **error);
/*
 * After reading @path failed with @errsv: when that was EACCES and this
 * process is not root (a daemon under its unit runs as _trellis), adds to
 * *@error's message the user to give the file to, and how.
 */
void tr_secret_file_hint_owner(GError **error, int errsv, const char *path);

G_END_DECLS
