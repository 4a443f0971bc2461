/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared between the password backends; not part of the public API. */
#include <glib.h>

G_BEGIN_DECLS

/*
 * crypt_r(@password, @setting) into a new string (a hash, not a secret); the
 * scratch state, which held the password, is wiped. NULL + error on failure.
 */
char *tr_password_crypt(const char *password, const char *setting, GError **error);

/* @user made safe for a log line: escaped, and cut when absurdly long. */
char *tr_password_user_for_log(const char *user);

G_END_DECLS
