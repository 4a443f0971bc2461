/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Test helper: an error's message must contain a fragment. */
#include <glib.h>
#include <string.h>

#define tr_assert_message_has(error, fragment)                                                     \
	do {                                                                                       \
		const GError *tr_amh_error = (error);                                              \
		const char *tr_amh_fragment = (fragment);                                          \
		g_assert_nonnull(tr_amh_error);                                                    \
		if (!strstr(tr_amh_error->message, tr_amh_fragment))                               \
			g_error("%s:%d: message '%s' lacks '%s'", __FILE__, __LINE__,              \
			        tr_amh_error->message, tr_amh_fragment);                           \
	} while (0)
