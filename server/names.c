/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "server/names.h"

#include "common/auth/node-key.h"
#include "common/pki/pki.h"

#include <string.h>

#define HEADER "# trellis-server names v1: name node-key first-seen"

typedef struct {
	GBytes *key;
	gint64 first_seen;
} Binding;

struct _TrNames {
	char *file;
	GHashTable *by_name; /* name -> Binding */
};

static void
binding_free(gpointer p)
{
	Binding *b = p;

	g_bytes_unref(b->key);
	g_free(b);
}

guint
tr_names_load_text(TrNames *names, const char *text, const char *where)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint n = 0;

	for (guint i = 0; lines[i]; i++) {
		g_auto(GStrv) f = NULL;
		g_autofree guchar *raw = NULL;
		gsize len = 0;
		gint64 when;
		Binding *b;

		if (lines[i][0] == '#' || lines[i][0] == '\0')
			continue;
		f = g_strsplit(lines[i], " ", -1);
		if (g_strv_length(f) != 3 ||
		    !tr_pki_name_validate(g_str_has_prefix(f[0], "node:") ? f[0] + 5 : f[0],
		                          NULL) ||
		    strspn(f[1],
		           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
		            strlen(f[1]) ||
		    (raw = g_base64_decode(f[1], &len)) == NULL || len != TR_NODE_KEY_PUBLIC_LEN ||
		    !g_ascii_string_to_signed(f[2], 10, 0, G_MAXINT64, &when, NULL) ||
		    g_hash_table_contains(names->by_name, f[0])) {
			g_warning("%s:%u: ignoring a malformed or repeated line", where, i + 1);
			continue;
		}
		b = g_new0(Binding, 1);
		b->key = g_bytes_new(raw, len);
		b->first_seen = when;
		g_hash_table_insert(names->by_name, g_strdup(f[0]), b);
		n++;
	}
	return n;
}

TrNames *
tr_names_new(const char *file)
{
	TrNames *names = g_new0(TrNames, 1);
	g_autofree char *text = NULL;

	names->file = g_strdup(file);
	names->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, binding_free);
	if (file && g_file_get_contents(file, &text, NULL, NULL))
		tr_names_load_text(names, text, file);
	return names;
}

void
tr_names_free(TrNames *names)
{
	if (names == NULL)
		return;
	g_hash_table_unref(names->by_name);
	g_free(names->file);
	g_free(names);
}

GBytes *
tr_names_lookup(TrNames *names, const char *name)
{
	Binding *b = g_hash_table_lookup(names->by_name, name);

	return b ? b->key : NULL;
}

const char *
tr_names_file(TrNames *names)
{
	return names->file ? names->file : "(not kept)";
}

gboolean
tr_names_bind(TrNames *names, const char *name, GBytes *key, GError **error)
{
	g_autoptr(GString) s = g_string_new(HEADER "\n");
	g_autoptr(GList) keys = NULL;
	Binding *b = g_new0(Binding, 1);

	b->key = g_bytes_ref(key);
	b->first_seen = g_get_real_time() / G_USEC_PER_SEC;
	g_hash_table_insert(names->by_name, g_strdup(name), b);
	if (names->file == NULL)
		return TRUE;
	keys = g_list_sort(g_hash_table_get_keys(names->by_name), (GCompareFunc)strcmp);
	for (GList *l = keys; l; l = l->next) {
		Binding *e = g_hash_table_lookup(names->by_name, l->data);
		gsize len;
		const guchar *raw = g_bytes_get_data(e->key, &len);
		g_autofree char *b64 = g_base64_encode(raw, len);

		g_string_append_printf(s, "%s %s %" G_GINT64_FORMAT "\n", (const char *)l->data,
		                       b64, e->first_seen);
	}
	return g_file_set_contents_full(names->file, s->str, (gssize)s->len,
	                                G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}
