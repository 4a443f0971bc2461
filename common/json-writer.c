/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/json-writer.h"

void
tr_json_string(GString *out, const char *s)
{
	if (s == NULL) {
		g_string_append(out, "null");
		return;
	}
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			g_string_append(out, "\\\"");
			break;
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		default:
			if (*p < 0x20)
				g_string_append_printf(out, "\\u%04x", *p);
			else
				g_string_append_c(out, (char)*p);
		}
	}
	g_string_append_c(out, '"');
}

void
tr_json_key(GString *out, gboolean *first, const char *key)
{
	if (!*first)
		g_string_append_c(out, ',');
	*first = FALSE;
	tr_json_string(out, key);
	g_string_append_c(out, ':');
}

void
tr_json_key_string(GString *out, gboolean *first, const char *key, const char *value)
{
	tr_json_key(out, first, key);
	tr_json_string(out, value);
}

void
tr_json_key_uint(GString *out, gboolean *first, const char *key, guint64 value)
{
	tr_json_key(out, first, key);
	g_string_append_printf(out, "%" G_GUINT64_FORMAT, value);
}

void
tr_json_key_bool(GString *out, gboolean *first, const char *key, gboolean value)
{
	tr_json_key(out, first, key);
	g_string_append(out, value ? "true" : "false");
}
