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

G_END_DECLS
