/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/daemon/options.h"

#include "common/base/error.h"
#include "common/base/secret.h"

#include <errno.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	gboolean set;
	gboolean from_cli;
	char *origin;    /* "--mtu" or "FILE:LINE" */
	char *str;       /* single values */
	GPtrArray *list; /* repeatable values, NULL-terminated */
} Value;

struct _TrOptions {
	char *program;
	const TrOptDesc *table;
	guint n;
	Value *values;
};

TrOptions *
tr_options_new(const char *program, const TrOptDesc *table, guint n_table)
{
	TrOptions *o = g_new0(TrOptions, 1);

	o->program = g_strdup(program);
	o->table = table;
	o->n = n_table;
	o->values = g_new0(Value, n_table);
	return o;
}

static void
value_clear(Value *v)
{
	g_free(v->origin);
	g_free(v->str);
	if (v->list)
		g_ptr_array_unref(v->list);
	memset(v, 0, sizeof(*v));
}

void
tr_options_free(TrOptions *o)
{
	if (o == NULL)
		return;
	for (guint i = 0; i < o->n; i++) {
		if (o->values[i].str && (o->table[i].flags & TR_OPT_FLAG_SECRET))
			memset(o->values[i].str, 0, strlen(o->values[i].str));
		value_clear(&o->values[i]);
	}
	g_free(o->values);
	g_free(o->program);
	g_free(o);
}

static gint
find(TrOptions *o, const char *name)
{
	for (guint i = 0; i < o->n; i++)
		if (strcmp(o->table[i].name, name) == 0)
			return (gint)i;
	return -1;
}

static gboolean
is_list(const TrOptDesc *d)
{
	return d->type == TR_OPT_STRINGS || d->type == TR_OPT_PATHS;
}

static gboolean
parse_bool(const char *text, gboolean *out)
{
	if (!g_ascii_strcasecmp(text, "true") || !g_ascii_strcasecmp(text, "yes") ||
	    !strcmp(text, "1")) {
		*out = TRUE;
		return TRUE;
	}
	if (!g_ascii_strcasecmp(text, "false") || !g_ascii_strcasecmp(text, "no") ||
	    !strcmp(text, "0")) {
		*out = FALSE;
		return TRUE;
	}
	return FALSE;
}

/* Checks @text against the option's type; @where prefixes the message. */
static gboolean
check_value(const TrOptDesc *d, const char *text, const char *where, GError **error)
{
	gint64 v;
	gboolean b;

	switch (d->type) {
	case TR_OPT_BOOL:
		if (!parse_bool(text, &b)) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "%s: '%s' is not true or false", where, text);
			return FALSE;
		}
		return TRUE;
	case TR_OPT_INT:
		if (!g_ascii_string_to_signed(text, 10, d->min, d->max, &v, NULL)) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "%s: '%s' is not a whole number from %" G_GINT64_FORMAT
			            " to %" G_GINT64_FORMAT,
			            where, text, d->min, d->max);
			return FALSE;
		}
		return TRUE;
	case TR_OPT_STRING:
		if (d->choices && !g_strv_contains(d->choices, text)) {
			g_autofree char *list = g_strjoinv(", ", (char **)d->choices);
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "%s: '%s' is not one of %s",
			            where, text, list);
			return FALSE;
		}
		return TRUE;
	default:
		if (*text == '\0') {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "%s: empty value", where);
			return FALSE;
		}
		return TRUE;
	}
}

static void
store(Value *v, const TrOptDesc *d, const char *text, const char *origin, gboolean from_cli)
{
	if (is_list(d)) {
		/* The first command-line value replaces what a file gave. */
		if (v->list == NULL || (from_cli && !v->from_cli)) {
			if (v->list)
				g_ptr_array_unref(v->list);
			v->list = g_ptr_array_new_with_free_func(g_free);
			g_ptr_array_add(v->list, NULL);
		}
		g_ptr_array_insert(v->list, (gint)v->list->len - 1, g_strdup(text));
	} else {
		g_free(v->str);
		v->str = g_strdup(text);
	}
	if (!v->set || from_cli) {
		g_free(v->origin);
		v->origin = g_strdup(origin);
	}
	v->set = TRUE;
	v->from_cli = from_cli;
}

static gboolean
on_option(const gchar *option_name, const gchar *value, gpointer data, GError **error)
{
	TrOptions *o = data;

	for (guint i = 0; i < o->n; i++) {
		const TrOptDesc *d = &o->table[i];
		gboolean match = option_name[1] == '-'
		                         ? strcmp(option_name + 2, d->name) == 0
		                         : (d->short_name && option_name[1] == d->short_name);
		g_autofree char *where = NULL;

		if (!match)
			continue;
		where = g_strdup_printf("--%s", d->name);
		if (d->type == TR_OPT_BOOL)
			value = "true";
		if (!check_value(d, value, where, error))
			return FALSE;
		store(&o->values[i], d, value, where, TRUE);
		return TRUE;
	}
	g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "unknown option %s", option_name);
	return FALSE;
}

static char *
help_text(const TrOptDesc *d)
{
	if (d->default_text)
		return g_strdup_printf("%s (default: %s)", d->help, d->default_text);
	return g_strdup(d->help);
}

/* The sections of @table in order of first appearance, as --help and the man page show them. */
static void
collect_sections(const TrOptDesc *table, guint n_table, GPtrArray *sections)
{
	for (guint i = 0; i < n_table; i++) {
		const char *s = table[i].section ? table[i].section : "Options";
		if (!(table[i].flags & TR_OPT_FLAG_HIDDEN) &&
		    !g_ptr_array_find_with_equal_func(sections, s, g_str_equal, NULL))
			g_ptr_array_add(sections, (gpointer)s);
	}
}

/* --help: the options grouped by section, as the man page has them. */
static void
print_help(TrOptions *o, const char *summary, const char *description)
{
	g_autoptr(GPtrArray) sections = g_ptr_array_new();
	g_autoptr(GString) out = g_string_new(NULL);

	g_string_append_printf(out, "Usage:\n  %s [OPTION...] %s\n", o->program, summary);
	collect_sections(o->table, o->n, sections);
	for (guint s = 0; s < sections->len; s++) {
		g_string_append_printf(out, "\n%s:\n", (const char *)sections->pdata[s]);
		for (guint i = 0; i < o->n; i++) {
			const TrOptDesc *d = &o->table[i];
			const char *sec = d->section ? d->section : "Options";
			g_autofree char *help = help_text(d);
			g_autoptr(GString) left = g_string_new("  ");

			if ((d->flags & TR_OPT_FLAG_HIDDEN) || strcmp(sec, sections->pdata[s]) != 0)
				continue;
			if (d->short_name)
				g_string_append_printf(left, "-%c, ", d->short_name);
			else
				g_string_append(left, "    ");
			g_string_append_printf(left, "--%s", d->name);
			if (d->arg_name)
				g_string_append_printf(left, "=%s", d->arg_name);
			g_string_append_printf(out, "%-32s%s%s\n", left->str,
			                       left->len >= 32 ? " " : "", help);
		}
	}
	g_string_append(out, "\n  -h, --help                    Show this help\n");
	if (description)
		g_string_append_printf(out, "\n%s\n", description);
	fputs(out->str, stdout);
}

gboolean
tr_options_parse_args(TrOptions *o, int *argc, char ***argv, const char *summary,
                      const char *description, GError **error)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new(summary);
	GOptionGroup *group = g_option_group_new(o->program, summary, "Options", o, NULL);
	g_autofree GOptionEntry *entries = g_new0(GOptionEntry, o->n + 1);
	g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < o->n; i++) {
		const TrOptDesc *d = &o->table[i];
		char *help = help_text(d);

		g_ptr_array_add(texts, help);
		entries[i].long_name = d->name;
		entries[i].short_name = d->short_name;
		entries[i].arg = G_OPTION_ARG_CALLBACK;
		entries[i].arg_data = (gpointer)on_option;
		entries[i].description = help;
		entries[i].arg_description = d->arg_name;
		if (d->type == TR_OPT_BOOL)
			entries[i].flags |= G_OPTION_FLAG_NO_ARG;
		if (d->type == TR_OPT_PATH || d->type == TR_OPT_PATHS)
			entries[i].flags |= G_OPTION_FLAG_FILENAME;
		if (d->flags & TR_OPT_FLAG_HIDDEN)
			entries[i].flags |= G_OPTION_FLAG_HIDDEN;
	}
	/* --help is ours: grouped like the man page. Looked for before parsing, as
	 * GLib's would be. */
	for (int i = 1; i < *argc; i++) {
		if (strcmp((*argv)[i], "--") == 0)
			break;
		if (strcmp((*argv)[i], "--help") == 0 || strcmp((*argv)[i], "-h") == 0 ||
		    strcmp((*argv)[i], "-?") == 0) {
			print_help(o, summary, description);
			exit(0);
		}
	}
	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_group_add_entries(group, entries);
	g_option_context_set_main_group(ctx, group);
	if (description)
		g_option_context_set_description(ctx, description);
	if (!g_option_context_parse(ctx, argc, argv, error))
		return FALSE;
	if (*argc > 1) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "unexpected argument '%s' (options start with --; see --help)",
		            (*argv)[1]);
		return FALSE;
	}
	return TRUE;
}

/* Undoes the GKeyFile escapes we accept: \s \n \t \\ and, in lists, \; */
static char *
unescape(const char *s, gsize n)
{
	GString *out = g_string_sized_new(n);

	for (gsize i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			char c = s[++i];
			g_string_append_c(out, c == 's'   ? ' '
			                       : c == 'n' ? '\n'
			                       : c == 't' ? '\t'
			                                  : c);
		} else {
			g_string_append_c(out, s[i]);
		}
	}
	return g_string_free(out, FALSE);
}

static guint
distance(const char *a, const char *b)
{
	guint la = (guint)strlen(a), lb = (guint)strlen(b);
	g_autofree guint *row = g_new(guint, lb + 1);

	for (guint j = 0; j <= lb; j++)
		row[j] = j;
	for (guint i = 1; i <= la; i++) {
		guint prev = row[0];
		row[0] = i;
		for (guint j = 1; j <= lb; j++) {
			guint cur = row[j];
			guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
			row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), prev + cost);
			prev = cur;
		}
	}
	return row[lb];
}

static const char *
closest(TrOptions *o, const char *key)
{
	const char *best = NULL;
	guint best_d = 3;

	for (guint i = 0; i < o->n; i++) {
		guint d;
		if (o->table[i].flags & (TR_OPT_FLAG_CLI_ONLY | TR_OPT_FLAG_HIDDEN))
			continue;
		d = distance(key, o->table[i].name);
		if (d < best_d) {
			best_d = d;
			best = o->table[i].name;
		}
	}
	return best;
}

static char *
resolve_path(const char *file, const char *value)
{
	g_autofree char *dir = NULL;

	if (g_path_is_absolute(value))
		return g_strdup(value);
	dir = g_path_get_dirname(file);
	return g_build_filename(dir, value, NULL);
}

gboolean
tr_options_load_file(TrOptions *o, const char *path, const char *group, GError **error)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) err = NULL;
	gsize len;

	if (!g_file_get_contents(path, &text, &len, &err)) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "cannot read the config file: %s",
		            err->message);
		if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_ACCES))
			tr_secret_file_hint_owner(error, EACCES, path);
		return FALSE;
	}
	return tr_options_load_data(o, text, len, path, group, error);
}

gboolean
tr_options_check_secret_file(TrOptions *o, const char *path, GError **error)
{
	/* A config file that holds a secret is one, like a private key. */
	for (guint i = 0; i < o->n; i++) {
		struct stat st;
		g_autofree char *what = NULL;

		if (!(o->table[i].flags & TR_OPT_FLAG_SECRET) || !o->values[i].set ||
		    o->values[i].from_cli)
			continue;
		if (stat(path, &st) < 0)
			return tr_set_error_errno(error, errno, "%s", path);
		what = g_strdup_printf("config file (it holds '%s')", o->table[i].name);
		if (!tr_secret_file_check_mode(path, st.st_mode, what, error))
			return FALSE;
	}
	return TRUE;
}

gboolean
tr_options_from_cli(TrOptions *o, const char *name)
{
	gint i = find(o, name);

	return i >= 0 && o->values[i].set && o->values[i].from_cli;
}

gboolean
tr_options_load_data(TrOptions *o, const char *text, gsize len, const char *path, const char *group,
                     GError **error)
{
	g_autofree char *copy = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	gboolean in_group = FALSE;

	if (memchr(text, '\0', len) || !g_utf8_validate(text, (gssize)len, NULL)) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "%s: not a text file (UTF-8)", path);
		return FALSE;
	}
	copy = g_strndup(text, len);
	lines = g_strsplit(copy, "\n", -1);
	for (guint ln = 1; lines[ln - 1]; ln++) {
		char *line = g_strstrip(lines[ln - 1]);
		g_autofree char *where = g_strdup_printf("%s:%u", path, ln);
		char *eq, *key, *val;
		const TrOptDesc *d;
		gint idx;

		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			char *end = strchr(line, ']');
			if (end == NULL || end[1] != '\0') {
				g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
				            "%s: malformed section header (expected [%s])", where,
				            group);
				return FALSE;
			}
			*end = '\0';
			if (strcmp(line + 1, group) != 0) {
				g_set_error(
				        error, TR_ERROR, TR_ERROR_CONFIG,
				        "%s: unknown section [%s]; this file is read by %s, which "
				        "uses [%s]",
				        where, line + 1, o->program, group);
				return FALSE;
			}
			in_group = TRUE;
			continue;
		}
		eq = strchr(line, '=');
		if (eq == NULL) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "%s: expected 'key = value', a [section] or a # comment",
			            where);
			return FALSE;
		}
		if (!in_group) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "%s: option before the [%s] section header", where, group);
			return FALSE;
		}
		*eq = '\0';
		key = g_strstrip(line);
		val = g_strstrip(eq + 1);
		idx = find(o, key);
		if (idx < 0 || (o->table[idx].flags & TR_OPT_FLAG_CLI_ONLY)) {
			const char *hint = idx < 0 ? closest(o, key) : NULL;
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "%s: unknown option '%s'%s%s%s", where, key,
			            hint ? " (did you mean '" : "", hint ? hint : "",
			            hint       ? "'?)"
			            : idx >= 0 ? " (command line only)"
			                       : "");
			return FALSE;
		}
		d = &o->table[idx];
		if (g_hash_table_contains(seen, d->name)) {
			g_set_error(
			        error, TR_ERROR, TR_ERROR_CONFIG,
			        "%s: '%s' is given twice (lists go on one line, separated by ';')",
			        where, key);
			return FALSE;
		}
		g_hash_table_add(seen, (gpointer)d->name);
		/* The command line wins over the file. */
		if (o->values[idx].from_cli)
			continue;
		if (is_list(d)) {
			const char *p = val;
			while (*p) {
				const char *q = p;
				g_autofree char *item = NULL;
				while (*q && !(*q == ';' && (q == p || q[-1] != '\\')))
					q++;
				item = unescape(p, (gsize)(q - p));
				g_strstrip(item);
				if (*item) {
					g_autofree char *full = d->type == TR_OPT_PATHS
					                                ? resolve_path(path, item)
					                                : g_strdup(item);
					if (!check_value(d, full, where, error)) {
						g_prefix_error(error, "%s: ", key);
						return FALSE;
					}
					store(&o->values[idx], d, full, where, FALSE);
				}
				p = *q ? q + 1 : q;
			}
		} else {
			g_autofree char *v = unescape(val, strlen(val));
			g_autofree char *full =
			        d->type == TR_OPT_PATH && *v ? resolve_path(path, v) : g_strdup(v);
			g_autofree char *what = g_strdup_printf("%s: %s", where, key);
			if (!check_value(d, full, what, error))
				return FALSE;
			store(&o->values[idx], d, full, where, FALSE);
		}
	}
	return TRUE;
}

static Value *
lookup(TrOptions *o, const char *name, const TrOptDesc **desc)
{
	gint i = find(o, name);

	g_return_val_if_fail(i >= 0, NULL);
	if (desc)
		*desc = &o->table[i];
	return &o->values[i];
}

gboolean
tr_options_is_set(TrOptions *o, const char *name)
{
	Value *v = lookup(o, name, NULL);
	return v && v->set;
}

gboolean
tr_options_get_bool(TrOptions *o, const char *name)
{
	const TrOptDesc *d;
	Value *v = lookup(o, name, &d);
	gboolean b = FALSE;

	if (v == NULL)
		return FALSE;
	if (v->set)
		parse_bool(v->str, &b);
	else if (d->default_text)
		parse_bool(d->default_text, &b);
	return b;
}

gint64
tr_options_get_int(TrOptions *o, const char *name, gint64 fallback)
{
	const TrOptDesc *d;
	Value *v = lookup(o, name, &d);
	gint64 n;

	if (v == NULL)
		return fallback;
	if (v->set && g_ascii_string_to_signed(v->str, 10, d->min, d->max, &n, NULL))
		return n;
	if (!v->set && d->default_text &&
	    g_ascii_string_to_signed(d->default_text, 10, d->min, d->max, &n, NULL))
		return n;
	return fallback;
}

const char *
tr_options_get_string(TrOptions *o, const char *name)
{
	Value *v = lookup(o, name, NULL);
	return v && v->set ? v->str : NULL;
}

const char *const *
tr_options_get_strv(TrOptions *o, const char *name)
{
	Value *v = lookup(o, name, NULL);
	return v && v->set && v->list ? (const char *const *)v->list->pdata : NULL;
}

const char *
tr_options_origin(TrOptions *o, const char *name)
{
	Value *v = lookup(o, name, NULL);
	return v && v->origin ? v->origin : name;
}

gboolean
tr_options_error_at(TrOptions *o, const char *name, GError **error)
{
	g_prefix_error(error, "%s: ", tr_options_origin(o, name));
	return FALSE;
}

gboolean
tr_options_get_prefixes(TrOptions *o, const char *name, TrPrefixFlags flags, TrPrefix *out,
                        guint max, guint *n, GError **error)
{
	const char *const *texts = tr_options_get_strv(o, name);

	*n = 0;
	for (guint i = 0; texts && texts[i]; i++) {
		if (*n >= max) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "at most %u values", max);
			return tr_options_error_at(o, name, error);
		}
		if (!tr_prefix_parse(texts[i], flags, &out[(*n)++], error))
			return tr_options_error_at(o, name, error);
	}
	return TRUE;
}

/* Escapes text for roff: backslashes, and leading dots and quotes. */
static void
roff(GString *out, const char *text)
{
	if (*text == '.' || *text == '\'')
		g_string_append(out, "\\&");
	for (const char *p = text; *p; p++) {
		if (*p == '\\')
			g_string_append(out, "\\e");
		else if (*p == '-')
			g_string_append(out, "\\-");
		else
			g_string_append_c(out, *p);
	}
}

char *
tr_options_man_page(const char *program, const char *section, const char *summary,
                    const char *description, const char *extra_roff, const TrOptDesc *table,
                    guint n_table)
{
	GString *out = g_string_new(NULL);
	g_autoptr(GPtrArray) sections = g_ptr_array_new();

	g_string_append_printf(out, ".TH %s %s \"\" \"Trellis\" \"Trellis\"\n", program, section);
	g_string_append(out, ".SH NAME\n");
	roff(out, program);
	g_string_append(out, " \\- ");
	roff(out, summary);
	g_string_append_printf(out, "\n.SH SYNOPSIS\n.B %s\n[\\fIOPTIONS\\fR]\n", program);
	g_string_append(out, ".SH DESCRIPTION\n");
	roff(out, description);
	g_string_append(out, "\n");

	collect_sections(table, n_table, sections);
	g_string_append(out, ".SH OPTIONS\n");
	for (guint s = 0; s < sections->len; s++) {
		g_string_append_printf(out, ".SS %s\n", (const char *)sections->pdata[s]);
		for (guint i = 0; i < n_table; i++) {
			const TrOptDesc *d = &table[i];
			const char *sec = d->section ? d->section : "Options";
			if ((d->flags & TR_OPT_FLAG_HIDDEN) || strcmp(sec, sections->pdata[s]) != 0)
				continue;
			g_string_append(out, ".TP\n");
			if (d->short_name)
				g_string_append_printf(out, "\\fB\\-%c\\fR, ", d->short_name);
			g_string_append(out, "\\fB\\-\\-");
			roff(out, d->name);
			g_string_append(out, "\\fR");
			if (d->arg_name) {
				g_string_append(out, " \\fI");
				roff(out, d->arg_name);
				g_string_append(out, "\\fR");
			}
			g_string_append(out, "\n");
			roff(out, d->help);
			g_string_append(out, ".");
			if (d->default_text) {
				g_string_append(out, " Default: ");
				roff(out, d->default_text);
				g_string_append(out, ".");
			}
			if (d->choices) {
				g_autofree char *list = g_strjoinv(", ", (char **)d->choices);
				g_string_append(out, " One of: ");
				roff(out, list);
				g_string_append(out, ".");
			}
			if (is_list(d))
				g_string_append(
				        out,
				        " Repeatable; in the config file, a list separated by ;.");
			if (d->flags & TR_OPT_FLAG_CLI_ONLY)
				g_string_append(out, " Command line only.");
			g_string_append(out, "\n");
		}
	}
	if (extra_roff)
		g_string_append(out, extra_roff);
	return g_string_free(out, FALSE);
}
