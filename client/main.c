/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trellis-client: options and signals around the client library. */
#include "tr-config.h"

#include "client/client.h"
#include "client/options.h"
#include "common/error.h"
#include "common/log.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>

static GMainLoop *loop;
static TrClient *client;
static int exit_status;

static gboolean
quit_loop(gpointer p)
{
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

static gboolean
on_quit_signal(gpointer p)
{
	g_message("shutting down");
	tr_client_stop(client);
	/* Let the CLOSE message go out, then leave. */
	g_timeout_add(300, quit_loop, NULL);
	return G_SOURCE_REMOVE;
}

static void
on_refused(TrClient *c, const GError *error, gpointer p)
{
	g_printerr("trellis-client: giving up: %s\n", error ? error->message : "refused");
	exit_status = 1;
	g_main_loop_quit(loop);
}

static const TrClientCallbacks callbacks = {
	.refused = on_refused,
};

int
main(int argc, char **argv)
{
	g_autoptr(TrOptions) opts = tr_options_new("trellis-client", tr_client_options,
						   tr_client_n_options);
	g_autoptr(GError) error = NULL;
	TrClientConfig cfg;

	setlocale(LC_ALL, "");
	if (!tr_options_parse_args(opts, &argc, &argv, "- " TR_CLIENT_SUMMARY, TR_CLIENT_DESCRIPTION,
				   &error)) {
		g_printerr("trellis-client: %s\n", error->message);
		return 2;
	}
	if (tr_options_get_bool(opts, "version")) {
		printf("trellis-client %s\n", TR_VERSION);
		return 0;
	}
	if (tr_options_get_bool(opts, "help-man")) {
		g_autofree char *man = tr_options_man_page(
			"trellis-client", "8", TR_CLIENT_SUMMARY, TR_CLIENT_DESCRIPTION,
			".SH SIGNALS\nSIGINT and SIGTERM: say goodbye to the hub, remove the device's "
			"addresses, routes and DNS settings, and exit.\n"
			".SH SEE ALSO\ntrellis-server(8), trellis(1)\n",
			tr_client_options, tr_client_n_options);
		fputs(man, stdout);
		return 0;
	}
	if (tr_options_is_set(opts, "config") &&
	    !tr_options_load_file(opts, tr_options_get_string(opts, "config"),
				  TR_CLIENT_CONFIG_GROUP, &error)) {
		g_printerr("trellis-client: %s\n", error->message);
		return 2;
	}
	tr_log_init("trellis-client",
		    tr_options_get_bool(opts, "verbose") ? TR_LOG_VERBOSE
		    : tr_options_get_bool(opts, "quiet") ? TR_LOG_QUIET
							   : TR_LOG_NORMAL,
		    tr_options_get_string(opts, "log-file"), NULL);

	tr_client_config_init(&cfg);
	if (!tr_client_config_from_options(opts, &cfg, &error))
		goto fail;
	client = tr_client_new(&cfg, &callbacks, NULL, &error);
	if (client == NULL)
		goto fail;
	tr_client_config_clear(&cfg);

	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, on_quit_signal, NULL);
	g_unix_signal_add(SIGTERM, on_quit_signal, NULL);
	tr_client_start(client);
	g_main_loop_run(loop);
	tr_client_free(client);
	g_main_loop_unref(loop);
	return exit_status;
fail:
	g_printerr("trellis-client: %s\n", error->message);
	tr_client_config_clear(&cfg);
	return 1;
}
