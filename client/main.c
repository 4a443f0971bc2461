/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tr-config.h"

#include "common/log.h"

#include <glib.h>
#include <locale.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = NULL;
	g_autoptr(GError) error = NULL;
	gboolean version = FALSE;
	const GOptionEntry entries[] = {
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
		{ NULL },
	};

	setlocale(LC_ALL, "");
	ctx = g_option_context_new("- Trellis client");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "trellis-client: %s\n", error->message);
		return 2;
	}
	if (version) {
		printf("trellis-client %s\n", TR_VERSION);
		return 0;
	}
	tr_log_init("trellis-client", TR_LOG_NORMAL, NULL, NULL);
	g_warning("the client has no data path in this build yet");
	return 1;
}
