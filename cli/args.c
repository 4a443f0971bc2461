/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What several `trellis` commands parse the same way: options, state
 * directory, prefixes, durations, dates. */
#include "tr-config.h"

#include "cli/cli.h"
#include "common/base/addr.h"
#include "common/base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
tr_cli_state_dir(const char *option)
{
	const char *env = g_getenv("TRELLIS_STATE_DIR");

	if (option != NULL)
		return option;
	return env != NULL && env[0] != '\0' ? env : TR_LOCALSTATEDIR;
}

const char *
tr_cli_config_dir(void)
{
	const char *env = g_getenv("TRELLIS_CONFIG_DIR");

	return env != NULL && env[0] != '\0' ? env : TR_SYSCONFDIR;
}

gboolean
tr_cli_parse_prefixes(char **texts, gboolean host, GArray *out, GError **error)
{
	for (guint i = 0; texts != NULL && texts[i] != NULL; i++) {
		TrPrefix p;

		if (!tr_prefix_parse(texts[i], host ? TR_PREFIX_IP_ONLY : TR_PREFIX_REQUIRE_LEN, &p,
		                     error)) {
			g_prefix_error(error, "%s: ", host ? "--ip" : "--subnet");
			return FALSE;
		}
		if (host && p.len != tr_addr_family_bytes(p.family) * 8) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "--ip %s: give one address, without a prefix length", texts[i]);
			return FALSE;
		}
		g_array_append_val(out, p);
	}
	return TRUE;
}

gboolean
tr_cli_parse_duration(const char *text, gint64 *seconds, GError **error)
{
	static const struct {
		char unit;
		gint64 factor;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	gint64 factor = 1;
	char *end = NULL;
	gint64 n;

	errno = 0;
	n = g_ascii_strtoll(text, &end, 10);
	if (end != NULL && end != text && *end != '\0' && end[1] == '\0') {
		factor = 0;
		for (guint i = 0; i < G_N_ELEMENTS(units); i++)
			if (*end == units[i].unit)
				factor = units[i].factor;
		if (factor != 0)
			end++;
	}
	if (errno != 0 || end == NULL || end == text || *end != '\0' || !g_ascii_isdigit(text[0]) ||
	    n <= 0 || factor == 0 || n > TR_CLI_DURATION_MAX / factor) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "'%s' is not a duration: a positive number with s, m, h or d "
		            "(seconds, minutes, hours, days), at most 365d",
		            text);
		return FALSE;
	}
	*seconds = n * factor;
	return TRUE;
}

char *
tr_cli_format_utc(gint64 when)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(when);
	return dt ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S UTC") : g_strdup("?");
}

gboolean
tr_cli_parse_options(GOptionContext *ctx, int *argc, char ***argv)
{
	g_autoptr(GError) error = NULL;

	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		fprintf(stderr, "trellis: %s\n", error->message);
		return FALSE;
	}
	if (*argc > 1 && strcmp((*argv)[1], "--") == 0) {
		(*argv)[1] = (*argv)[0];
		(*argc)--;
		(*argv)++;
	}
	return TRUE;
}
