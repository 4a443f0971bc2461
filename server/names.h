/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Names bound to node keys in shared-key networks (common/auth/node-key.h): the
 * first key that proves itself under a name owns it. Kept in the state
 * directory's "names" file, one line per name:
 *
 *     # trellis-server names v1: name node-key first-seen
 *     alice q83vEjRW...base64...= 1765094400
 *     node:beta 3q2+7wAA...base64...= 1765094500
 *
 * (clients by their --name, nodes of the symmetric model as node:NAME).
 * To let a reinstalled node (a new key) use its name again, remove its line.
 */
typedef struct _TrNames TrNames;

/* @file may be NULL (nothing kept across restarts). */
TrNames *tr_names_new(const char *file);
void tr_names_free(TrNames *names);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrNames, tr_names_free)

/* The key bound to @name, or NULL. */
GBytes *tr_names_lookup(TrNames *names, const char *name);

/* Binds @name (not bound yet) to @key and saves the file. */
gboolean tr_names_bind(TrNames *names, const char *name, GBytes *key, GError **error);

/* The file's path, for messages. */
const char *tr_names_file(TrNames *names);

/* Reads a names file's text (for the tests and the fuzzer); returns how many
 * bindings were taken. Bad lines are skipped with a warning. */
guint tr_names_load_text(TrNames *names, const char *text, const char *where);

G_END_DECLS
