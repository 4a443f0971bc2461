/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Exit codes of every `trellis` command. */
#define TR_CLI_OK    0
#define TR_CLI_ERROR 1
#define TR_CLI_USAGE 2

/*
 * A top-level command: `trellis NAME ARGS...`. @run gets argv with argv[0]
 * set to "trellis NAME" and returns one of the exit codes above.
 */
typedef struct {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
} TrCliCommand;

/* cli/pki.c: `trellis pki init|issue|revoke|list|crl`. */
int tr_cli_pki(int argc, char **argv);

/* cli/status.c: `trellis status [--json] [--socket FILE]...`. */
int tr_cli_status(int argc, char **argv);

/* Prints "trellis: MESSAGE" on stderr; returns TR_CLI_ERROR (usage errors: TR_CLI_USAGE). */
int tr_cli_fail(const GError *error);

G_END_DECLS
