/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/daemon/options.h"

G_BEGIN_DECLS

/*
 * The key from a daemon's options: shared-key-file (refused when group or
 * others can read it) or shared-key; both is an error. A key given on the
 * command line (visible to every local user in ps) is warned about. *@key
 * is NULL when neither is set; free it with tr_secret_free().
 */
gboolean tr_shared_key_from_options(TrOptions *options, char **key, GError **error);

/* The option rows both daemons share. */
#define TR_SHARED_KEY_OPTIONS                                                                      \
	{"shared-key",                                                                             \
	 0,                                                                                        \
	 TR_OPT_STRING,                                                                            \
	 "KEY",                                                                                    \
	 NULL,                                                                                     \
	 0,                                                                                        \
	 0,                                                                                        \
	 NULL,                                                                                     \
	 "Security",                                                                               \
	 "Pre-shared key (TLS 1.3 PSK with ECDHE) instead of certificates; prefer "                \
	 "shared-key-file (the command line is visible to every local user); make one with "       \
	 "trellis genkey",                                                                         \
	 TR_OPT_FLAG_SECRET},                                                                      \
	        {"shared-key-file",                                                                \
	         0,                                                                                \
	         TR_OPT_PATH,                                                                      \
	         "FILE",                                                                           \
	         NULL,                                                                             \
	         0,                                                                                \
	         0,                                                                                \
	         NULL,                                                                             \
	         "Security",                                                                       \
	         "Read the shared key from the first line of this file (mode 0600; trellis "       \
	         "genkey > FILE)",                                                                 \
	         0},

G_END_DECLS
