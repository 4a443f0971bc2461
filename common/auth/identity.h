/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Identities: the names peers are known by on the hub (in its tables, the
 * leases file, the logs and the status). They come from the network, so they
 * are checked where they enter, with one rule for all of them
 * (docs/SECURITY.md):
 *
 *   - names: a certificate's name (CN), a shared-key client's --name, a
 *     node's --name, an invite's name: 1..63 characters of [a-z0-9._-],
 *     starting with a letter or digit, without "..", the rule of
 *     tr_pki_name_validate();
 *   - user names (password logins): 1..64 characters of [A-Za-z0-9._@+-],
 *     not starting with '-'.
 *
 * Errors say what was expected and what was found (without repeating bytes
 * that may not be printable).
 */
#define TR_IDENTITY_USERNAME_MAX 64

/* @what names the field in the message ("shared-key name", "certificate name"). */
gboolean tr_identity_validate_name(const char *what, const char *name, GError **error);
gboolean tr_identity_validate_username(const char *name, GError **error);

G_END_DECLS
