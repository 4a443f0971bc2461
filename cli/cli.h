/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "common/auth/tls.h"

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

/* cli/updown.c: `trellis up NAME`, `trellis down NAME` (systemctl start/stop the unit). */
int tr_cli_up(int argc, char **argv);
int tr_cli_down(int argc, char **argv);

/* cli/pki.c: `trellis pki init|issue|revoke|list|crl`. */
int tr_cli_pki(int argc, char **argv);

/* cli/status.c: `trellis status [--json] [--socket FILE]...`. */
int tr_cli_status(int argc, char **argv);
/* trellis graph: the network graph in Graphviz dot */
int tr_cli_graph(int argc, char **argv);
/* The control sockets to ask: @sockets if given, else every one in @dir
 * (NULL: the default directory), sorted; appended to @found. */
/* --socket FILE (repeatable) and --dir DIR, for commands that ask daemons. */
void tr_cli_add_socket_options(GOptionContext *ctx, char ***sockets, char **dir);
void tr_cli_find_sockets(GPtrArray *found, char **sockets, const char *dir);
/* cli/invite.c: `trellis invite NAME`, on the hub's machine. */
int tr_cli_invite(int argc, char **argv);

/* cli/join.c: `trellis join TOKEN`, on the new machine. */
int tr_cli_join(int argc, char **argv);
/* The certificate name of the hub at each of @servers ("HOST[:PORT]", port
 * @port by default) but number @skip, asked at once on @creds (the joined
 * machine's certificate) and verified against its CA, within a few seconds:
 * @names[i] (NULL where unknown, with the reason in @whys[i]); both arrays
 * have one entry per server, filled with strings to free. */
void tr_cli_hub_names(TrTlsCreds *creds, const char *const *servers, guint16 port, guint skip,
                      char **names, char **whys);

/* cli/genkey.c: `trellis genkey`, a random 256-bit shared key. */
int tr_cli_genkey(int argc, char **argv);

#ifdef G_OS_WIN32
/* cli/service-win.c: `trellis service install|remove|start|stop|list` (Windows). */
int tr_cli_service(int argc, char **argv);
/* Every network's service's ACL: with the group @group_sid (a PSID) allowed to
 * start and stop it, or (NULL) Windows' default. */
gboolean tr_cli_service_set_access(gpointer group_sid, GError **error);
/* cli/access-win.c: `trellis access setup|add|remove|show` (Windows). */
int tr_cli_access(int argc, char **argv);
#endif

/* ---- cli/args.c: parsing shared by the commands ------------------------------ */

#define TR_CLI_DURATION_MAX (365 * (gint64)86400)

/* --state-dir, else $TRELLIS_STATE_DIR, else the build's default. */
const char *tr_cli_state_dir(const char *option);

/* Where NAME.conf files live: $TRELLIS_CONFIG_DIR, else the build's (/etc/trellis). */
const char *tr_cli_config_dir(void);

/* --ip values (@host: single addresses) or --subnet values, appended to @out (TrPrefix). */
gboolean tr_cli_parse_prefixes(char **texts, gboolean host, GArray *out, GError **error);

/* "90", "90s", "30m", "24h", "7d" -> seconds (1 s .. 365 days). */
gboolean tr_cli_parse_duration(const char *text, gint64 *seconds, GError **error);

/* "2025-01-31 12:00:00 UTC". */
char *tr_cli_format_utc(gint64 when);

/* Parses @ctx's options out of @argc/@argv; a "--" that ended them (GLib
 * leaves it in place) goes too. FALSE: the error is printed; the command
 * returns TR_CLI_USAGE. */
gboolean tr_cli_parse_options(GOptionContext *ctx, int *argc, char ***argv);

/* Prints "trellis: MESSAGE" on stderr; returns TR_CLI_ERROR (usage errors: TR_CLI_USAGE). */
int tr_cli_fail(const GError *error);

G_END_DECLS
