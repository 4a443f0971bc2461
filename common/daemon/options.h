/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/base/addr.h"

G_BEGIN_DECLS

/*
 * Options described once. Each program has one const table of TrOptDesc;
 * from it come the command line (GOptionContext), the config file (a GLib
 * key file whose keys are the long option names), --help and the man page.
 * The command line overrides the file; a repeatable option given on the
 * command line replaces the file's list.
 */

typedef enum {
	TR_OPT_BOOL,    /* a switch; "true"/"false" in the file */
	TR_OPT_INT,     /* an integer within [min, max] */
	TR_OPT_STRING,  /* free text (choices, if given, limit it) */
	TR_OPT_STRINGS, /* repeatable; a ';'-separated list in the file */
	TR_OPT_PATH,    /* a file name; relative names in a file are relative to it */
	TR_OPT_PATHS,   /* repeatable file names */
} TrOptType;

typedef enum {
	TR_OPT_FLAG_CLI_ONLY = 1 << 0, /* --config, --version: not a config key */
	TR_OPT_FLAG_SECRET = 1 << 1,   /* never printed back */
	TR_OPT_FLAG_HIDDEN = 1 << 2,   /* left out of --help and the man page */
} TrOptFlags;

typedef struct {
	const char *name; /* long name and config key */
	char short_name;  /* 0 for none */
	TrOptType type;
	const char *arg_name;       /* "FILE", "SECS" */
	const char *default_text;   /* shown in help and man page; NULL for none */
	gint64 min, max;            /* TR_OPT_INT */
	const char *const *choices; /* TR_OPT_STRING: NULL-terminated, or NULL for any */
	const char *section;        /* man page grouping: "Network", "Security", ... */
	const char *help;
	guint flags;
} TrOptDesc;

typedef struct _TrOptions TrOptions;

TrOptions *tr_options_new(const char *program, const TrOptDesc *table, guint n_table);
void tr_options_free(TrOptions *options);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrOptions, tr_options_free)

/*
 * Parses the command line (values are checked against their type, range and
 * choices; errors name the option). Sets *@show_version for --version.
 */
gboolean tr_options_parse_args(TrOptions *options, int *argc, char ***argv, const char *summary,
                               const char *description, GError **error);

/*
 * Reads a config file's group [@group]. Unknown keys and bad values fail
 * with "FILE:LINE: ..." and a hint. Options already set on the command
 * line keep their command-line value.
 */
gboolean tr_options_load_file(TrOptions *options, const char *path, const char *group,
                              GError **error);

/* The same from bytes in memory; @path names them in messages and anchors
 * relative paths. */
gboolean tr_options_load_data(TrOptions *options, const char *text, gsize len, const char *path,
                              const char *group, GError **error);

/* After tr_options_load_file(@path): a file that set a secret option
 * (TR_OPT_FLAG_SECRET: a shared key, a password) must not be readable by
 * group or others; the daemons refuse it (TR_ERROR_PERMISSION, with the
 * chmod that fixes it), as they refuse such private keys. */
gboolean tr_options_check_secret_file(TrOptions *options, const char *path, GError **error);

/* Whether the option was given on the command line (not from a file). */
gboolean tr_options_from_cli(TrOptions *options, const char *name);

/* Whether the option was given (command line or file). */
gboolean tr_options_is_set(TrOptions *options, const char *name);
gboolean tr_options_get_bool(TrOptions *options, const char *name);
/* The value, or the default (parsed from default_text), or @fallback. */
gint64 tr_options_get_int(TrOptions *options, const char *name, gint64 fallback);
/* The value or NULL; paths from a file are resolved against its folder. */
const char *tr_options_get_string(TrOptions *options, const char *name);
/* Repeatable values; NULL when none. */
const char *const *tr_options_get_strv(TrOptions *options, const char *name);

/* Where a value came from, for messages: "--mtu" or "client.conf:12". */
const char *tr_options_origin(TrOptions *options, const char *name);

/* Prefixes @error with where option @name came from ("--mtu: ",
 * "client.conf:12: "); returns FALSE for chaining. */
gboolean tr_options_error_at(TrOptions *options, const char *name, GError **error);

/*
 * The values of repeatable option @name parsed as prefixes (tr_prefix_parse
 * with @flags) into @out (at most @max); errors say where the value came from.
 */
gboolean tr_options_get_prefixes(TrOptions *options, const char *name, TrPrefixFlags flags,
                                 TrPrefix *out, guint max, guint *n, GError **error);

/* The man page (roff) for @program, from the table. */
char *tr_options_man_page(const char *program, const char *section, const char *summary,
                          const char *description, const char *extra_roff, const TrOptDesc *table,
                          guint n_table);

G_END_DECLS
