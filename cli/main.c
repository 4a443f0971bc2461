/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `trellis`, the admin and control tool: a table of commands, each with its
 * own options. Add a command by adding a row to the table.
 */
#include "tr-config.h"

#include "cli/cli.h"
#include "common/base/error.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static const TrCliCommand commands[] = {
#ifndef G_OS_WIN32 /* Windows: trellis service start|stop NAME */
        {"up", "Start the network NAME (" TR_SYSCONFDIR "/NAME.conf) through systemd", tr_cli_up},
        {"down", "Stop the network NAME", tr_cli_down},
#endif
        {"status", "Show every Trellis daemon's sessions (--json for scripts)", tr_cli_status},
        {"graph", "Print the network graph a hub knows, in Graphviz dot", tr_cli_graph},
        {"pki", "Manage the network's CA and certificates", tr_cli_pki},
        {"invite", "Print a one-line token that lets a new machine join (on the hub)",
         tr_cli_invite},
        {"join", "Join the network with a token from 'trellis invite' (on the new machine)",
         tr_cli_join},
        {"genkey", "Print a new random shared key (for shared-key-file)", tr_cli_genkey},
#ifdef G_OS_WIN32
        {"service", "Install, start, stop or remove a network's Windows service", tr_cli_service},
        {"access", "Who besides the Administrators may use Trellis (the Trellis Users group)",
         tr_cli_access},
#endif
};

int
tr_cli_fail(const GError *error)
{
	fprintf(stderr, "trellis: %s\n", error->message);
	return g_error_matches(error, TR_ERROR, TR_ERROR_INVALID) ? TR_CLI_USAGE : TR_CLI_ERROR;
}

static void
usage(FILE *out)
{
	fprintf(out, "Usage: trellis COMMAND [ARGS...]\n"
	             "       trellis --version\n\n"
	             "Commands:\n");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'trellis COMMAND --help' for a command's options.\n");
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	if (argc < 2) {
		usage(stderr);
		return TR_CLI_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("trellis %s\n", TR_VERSION);
		return TR_CLI_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return TR_CLI_OK;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			g_autofree char *prog = g_strdup_printf("trellis %s", commands[i].name);

			argv[1] = prog;
			return commands[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "trellis: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return TR_CLI_USAGE;
}
