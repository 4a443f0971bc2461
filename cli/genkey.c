/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `trellis genkey`: a random 256-bit shared key, for --shared-key-file. */
#include "cli/cli.h"
#include "common/base/secret.h"
#include "common/auth/shared-key.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int
tr_cli_genkey(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx =
	        g_option_context_new("- Print a new random shared key (256 bits)");
	g_autoptr(GError) error = NULL;
	g_auto(TrSecret) key = NULL;

	g_option_context_set_description(
	        ctx, "Save it where only the daemon's user can read it and give the same file to "
	             "every node:\n  (umask 077; trellis genkey > /etc/trellis/network.key)\n"
	             "  trellis-server --shared-key-file /etc/trellis/network.key\n"
	             "A key typed by a person can be guessed offline by anyone who records one "
	             "connection attempt; this one cannot.");
	if (!tr_cli_parse_options(ctx, &argc, &argv))
		return TR_CLI_USAGE;
	if (argc != 1) {
		fprintf(stderr, "trellis: usage: trellis genkey > FILE\n");
		return TR_CLI_USAGE;
	}
	/* The file the shell made from our stdout: warn if others can read it. */
	{
		struct stat st;

		if (fstat(fileno(stdout), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
			fprintf(stderr,
			        "trellis: warning: the output file can be read by group or "
			        "others (mode %04o); run chmod 600 on it (the daemons refuse it "
			        "as it is)\n",
			        (unsigned)(st.st_mode & 07777));
	}
	key = tr_shared_key_generate();
	if (printf("%s\n", key) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "trellis: cannot write the key\n");
		return TR_CLI_ERROR;
	}
	return TR_CLI_OK;
}
