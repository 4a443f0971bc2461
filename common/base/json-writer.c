/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/json-writer.h"

void
tr_json_string(GString *out, const char *s)
{
	if (s == NULL) {
		g_string_append(out, "null");
		return;
	}
	g_string_append_c(out, '"');
	/* Names come from peers: bytes that are not UTF-8 become \u00XX (the
	 * byte's value), so the document stays valid UTF-8 and JSON. */
	for (const char *p = s; *p;) {
		const unsigned char b = (unsigned char)*p;
		gunichar c = g_utf8_get_char_validated(p, -1);

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append_printf(out, "\\u%04x", b);
			p++;
			continue;
		}
		switch (b) {
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
			if (b < 0x20 || b == 0x7f)
				g_string_append_printf(out, "\\u%04x", b);
			else
				g_string_append_len(out, p, g_utf8_next_char(p) - p);
		}
		p = g_utf8_next_char(p);
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
