/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `trellis up NAME` / `trellis down NAME`: start or stop the network
 * configured in CONFDIR/NAME.conf through its systemd unit,
 * trellis-server@NAME or trellis-client@NAME, whichever the file's section
 * ([server] or [client]) says. systemd runs the daemon (sandboxed, restarted,
 * logged to the journal); this only picks the unit and says what happened.
 */
#include "tr-config.h"

#include "cli/cli.h"
#include "common/base/error.h"
#include "common/pki/pki.h"

#include <stdio.h>
#include <string.h>

/* "server" or "client": the section NAME.conf holds. */
static const char *
network_role(const char *conf, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	gboolean server, client;

	if (!g_key_file_load_from_file(kf, conf, G_KEY_FILE_NONE, error)) {
		g_prefix_error(error, "%s: ", conf);
		return NULL;
	}
	server = g_key_file_has_group(kf, "server");
	client = g_key_file_has_group(kf, "client");
	if (server == client) {
		g_set_error(
		        error, TR_ERROR, TR_ERROR_CONFIG,
		        "%s: expected one section, [server] (a hub or node) or [client], found %s",
		        conf, server ? "both" : "neither");
		return NULL;
	}
	return server ? "server" : "client";
}

static int
up_down(int argc, char **argv, gboolean up)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *conf = NULL;
	g_autofree char *unit = NULL;
	const char *role;
	const char *cmd[] = {"systemctl", up ? "start" : "stop", NULL, NULL};
	int status = 0;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: %s NAME\n\n%s the network configured in %s/NAME.conf through its "
		       "systemd unit,\ntrellis-server@NAME or trellis-client@NAME (the file's "
		       "section says which).\n",
		       argv[0], up ? "Starts" : "Stops", tr_cli_config_dir());
		return TR_CLI_OK;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "trellis: usage: %s NAME (a file NAME.conf in %s)\n", argv[0],
		        tr_cli_config_dir());
		return TR_CLI_USAGE;
	}
	if (!tr_pki_name_validate(argv[1], &error))
		return tr_cli_fail(error);
	conf = g_strdup_printf("%s/%s.conf", tr_cli_config_dir(), argv[1]);
	if (!g_file_test(conf, G_FILE_TEST_EXISTS)) {
		fprintf(stderr,
		        "trellis: no network '%s': %s does not exist (trellis join writes it on a "
		        "client; on a hub, write it from %s/doc/trellis/examples/server.conf)\n",
		        argv[1], conf, TR_DATADIR);
		return TR_CLI_ERROR;
	}
	role = network_role(conf, &error);
	if (role == NULL)
		return tr_cli_fail(error);
	unit = g_strdup_printf("trellis-%s@%s.service", role, argv[1]);
	cmd[2] = unit;
	if (!g_spawn_sync(NULL, (char **)cmd, NULL,
	                  G_SPAWN_SEARCH_PATH | G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL,
	                  NULL, &status, &error)) {
		fprintf(stderr,
		        "trellis: cannot run systemctl (%s): without systemd, run "
		        "trellis-%s --config %s --daemon\n",
		        error->message, role, conf);
		return TR_CLI_ERROR;
	}
	if (!g_spawn_check_wait_status(status, NULL)) {
		fprintf(stderr, "trellis: systemctl %s %s failed; why: journalctl -u %s\n", cmd[1],
		        unit, unit);
		return TR_CLI_ERROR;
	}
	if (up)
		printf("%s started; at every boot too with: systemctl enable %s\n"
		       "state: trellis status; log: journalctl -u %s\n",
		       unit, unit, unit);
	else
		printf("%s stopped\n", unit);
	return TR_CLI_OK;
}

int
tr_cli_up(int argc, char **argv)
{
	return up_down(argc, argv, TRUE);
}

int
tr_cli_down(int argc, char **argv)
{
	return up_down(argc, argv, FALSE);
}
