/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Appends @s as a JSON string literal (quoted, escaped; NULL as null). */
void tr_json_string(GString *out, const char *s);
/* Appends "key": and a string / an unsigned number / true or false; a comma before it unless first.
 */
void tr_json_key_string(GString *out, gboolean *first, const char *key, const char *value);
void tr_json_key_uint(GString *out, gboolean *first, const char *key, guint64 value);
void tr_json_key_bool(GString *out, gboolean *first, const char *key, gboolean value);
/* Appends "key": followed by nothing (the caller writes an object or array). */
void tr_json_key(GString *out, gboolean *first, const char *key);

G_END_DECLS
