/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `trellis pki`: the network's CA in a state directory (common/pki/pki.h does the
 * work; this file parses options and prints).
 */
#include "tr-config.h"

#include "cli/cli.h"
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/pki/pki.h"

#include <stdio.h>
#include <string.h>

typedef struct {
	char *state_dir;
	char *algorithm;
	char *network;
	int days;
	gboolean server;
	gboolean force;
	gboolean json;
	char **ips;
	char **subnets;
} PkiArgs;

static void
pki_args_clear(PkiArgs *args)
{
	g_free(args->state_dir);
	g_free(args->algorithm);
	g_free(args->network);
	g_strfreev(args->ips);
	g_strfreev(args->subnets);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PkiArgs, pki_args_clear)

typedef struct {
	const char *name;
	const char *params; /* positional arguments, for --help */
	const char *summary;
	const char *options; /* which of the options below apply: letters */
	int (*run)(PkiArgs *args, int argc, char **argv);
} PkiCommand;

static const char *
state_dir(const PkiArgs *args)
{
	return tr_cli_state_dir(args->state_dir);
}

static char *
format_date(gint64 when)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(when);
	return dt ? g_date_time_format(dt, "%Y-%m-%d") : g_strdup("?");
}

/* "valid", "expires in 12 days", "expired", "revoked". */
static char *
entry_status(const TrPkiEntry *e, gint64 now)
{
	if (e->revoked)
		return g_strdup("revoked");
	if (e->not_after <= now)
		return g_strdup("EXPIRED");
	if (e->not_before > now)
		return g_strdup("not yet valid");
	if (tr_pki_entry_is_expiring(e, now))
		return g_strdup_printf("EXPIRES in %" G_GINT64_FORMAT " days",
		                       (e->not_after - now) / 86400);
	return g_strdup("valid");
}

/* Warns on stderr about certificates that need renewing; never fails the command. */
static void
warn_expiring(const char *dir)
{
	g_autoptr(GPtrArray) entries = tr_pki_list(dir, NULL);
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	for (guint i = 0; entries != NULL && i < entries->len; i++) {
		const TrPkiEntry *e = g_ptr_array_index(entries, i);
		g_autofree char *date = format_date(e->not_after);

		if (!tr_pki_entry_is_expiring(e, now))
			continue;
		fprintf(stderr, "trellis: warning: the %s certificate '%s' %s on %s; %s\n",
		        tr_pki_kind_to_string(e->kind), e->name,
		        e->not_after <= now ? "expired" : "expires", date,
		        e->kind == TR_PKI_KIND_CA ? "plan a new CA for the network"
		                                  : "renew it with 'trellis pki issue --force'");
	}
}

static int
cmd_init(PkiArgs *args, int argc, char **argv)
{
	TrPkiInitOptions opts = {.network = args->network};
	g_autoptr(TrPkiCa) ca = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *fp = NULL;
	const char *dir = state_dir(args);

	if (args->algorithm && !tr_pki_algorithm_parse(args->algorithm, &opts.algorithm, &error))
		return tr_cli_fail(error);
	opts.days = (guint)args->days;
	if (!tr_pki_init(dir, &opts, &error))
		return tr_cli_fail(error);
	ca = tr_pki_ca_open(dir, &error);
	if (ca == NULL)
		return tr_cli_fail(error);
	fp = tr_pki_ca_get_fingerprint(ca);
	printf("created the CA in %s (%s)\nCA fingerprint (SHA-256): %s\n", dir,
	       tr_pki_algorithm_to_string(opts.algorithm), fp ? fp : "?");
	return TR_CLI_OK;
}

static int
cmd_issue(PkiArgs *args, int argc, char **argv)
{
	TrPkiIssueOptions opts = {0};
	g_autoptr(GArray) ips = g_array_new(FALSE, TRUE, sizeof(TrPrefix));
	g_autoptr(GArray) subnets = g_array_new(FALSE, TRUE, sizeof(TrPrefix));
	g_autoptr(TrPkiCa) ca = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *crt = NULL;
	g_autofree char *key = NULL;
	const char *dir = state_dir(args);

	if (args->algorithm && !tr_pki_algorithm_parse(args->algorithm, &opts.algorithm, &error))
		return tr_cli_fail(error);
	if (!tr_cli_parse_prefixes(args->ips, TRUE, ips, &error) ||
	    !tr_cli_parse_prefixes(args->subnets, FALSE, subnets, &error) ||
	    !tr_pki_name_validate(argv[1], &error))
		return tr_cli_fail(error);
	opts.kind = args->server ? TR_PKI_KIND_SERVER : TR_PKI_KIND_CLIENT;
	opts.days = (guint)args->days;
	opts.force = args->force;
	opts.addresses = (const TrPrefix *)(void *)ips->data;
	opts.n_addresses = ips->len;
	opts.subnets = (const TrPrefix *)(void *)subnets->data;
	opts.n_subnets = subnets->len;

	ca = tr_pki_ca_open(dir, &error);
	if (ca == NULL || !tr_pki_issue(ca, argv[1], &opts, &error))
		return tr_cli_fail(error);
	crt = tr_pki_cert_path(dir, argv[1]);
	key = tr_pki_key_path(dir, argv[1]);
	printf("issued a %s certificate for '%s'\n  certificate: %s\n  private key: %s\n",
	       tr_pki_kind_to_string(opts.kind), argv[1], crt, key);
	warn_expiring(dir);
	return TR_CLI_OK;
}

static int
cmd_revoke(PkiArgs *args, int argc, char **argv)
{
	g_autoptr(TrPkiCa) ca = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *crl = NULL;
	const char *dir = state_dir(args);

	if (!tr_pki_name_validate(argv[1], &error))
		return tr_cli_fail(error);
	ca = tr_pki_ca_open(dir, &error);
	if (ca == NULL || !tr_pki_revoke(ca, argv[1], &error))
		return tr_cli_fail(error);
	crl = tr_pki_crl_path(dir);
	printf("revoked '%s'; %s updated (a running server reloads it)\n", argv[1], crl);
	return TR_CLI_OK;
}

static int
cmd_crl(PkiArgs *args, int argc, char **argv)
{
	g_autoptr(TrPkiCa) ca = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *crl = NULL;
	const char *dir = state_dir(args);

	ca = tr_pki_ca_open(dir, &error);
	if (ca == NULL || !tr_pki_refresh_crl(ca, &error))
		return tr_cli_fail(error);
	crl = tr_pki_crl_path(dir);
	printf("re-signed %s (valid for %d days)\n", crl, TR_PKI_CRL_DAYS);
	return TR_CLI_OK;
}

static void
print_json(GPtrArray *entries, gint64 now)
{
	printf("[");
	for (guint i = 0; i < entries->len; i++) {
		const TrPkiEntry *e = g_ptr_array_index(entries, i);
		g_autofree char *name = g_strescape(e->name, NULL);

		printf("%s\n  {\"name\": \"%s\", \"kind\": \"%s\", \"serial\": \"%s\", "
		       "\"not_before\": %" G_GINT64_FORMAT ", \"not_after\": %" G_GINT64_FORMAT
		       ", \"revoked\": %s, \"revoked_at\": %" G_GINT64_FORMAT
		       ", \"expiring\": %s, \"has_key\": %s}",
		       i ? "," : "", name, tr_pki_kind_to_string(e->kind), e->serial, e->not_before,
		       e->not_after, e->revoked ? "true" : "false", e->revoked_at,
		       tr_pki_entry_is_expiring(e, now) ? "true" : "false",
		       e->has_key ? "true" : "false");
	}
	printf("\n]\n");
}

static int
cmd_list(PkiArgs *args, int argc, char **argv)
{
	g_autoptr(GPtrArray) entries = NULL;
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	g_autoptr(GError) error = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	int width[5] = {0};

	entries = tr_pki_list(state_dir(args), &error);
	if (entries == NULL)
		return tr_cli_fail(error);
	if (args->json) {
		print_json(entries, now);
		return TR_CLI_OK;
	}
	g_ptr_array_add(rows, g_strsplit("NAME|KIND|SERIAL|EXPIRES|STATUS", "|", -1));
	for (guint i = 0; i < entries->len; i++) {
		const TrPkiEntry *e = g_ptr_array_index(entries, i);
		char **row = g_new0(char *, 6);

		row[0] = g_strdup(e->name);
		row[1] = g_strdup(tr_pki_kind_to_string(e->kind));
		row[2] = g_strndup(e->serial, 16);
		row[3] = format_date(e->not_after);
		row[4] = entry_status(e, now);
		g_ptr_array_add(rows, row);
	}
	for (guint r = 0; r < rows->len; r++) {
		char **row = g_ptr_array_index(rows, r);
		for (int c = 0; c < 5; c++)
			width[c] = MAX(width[c], (int)strlen(row[c]));
	}
	for (guint r = 0; r < rows->len; r++) {
		char **row = g_ptr_array_index(rows, r);
		printf("%-*s  %-*s  %-*s  %-*s  %s\n", width[0], row[0], width[1], row[1], width[2],
		       row[2], width[3], row[3], row[4]);
	}
	return TR_CLI_OK;
}

/* Options; each command takes the ones whose letter is in its `options`. */
static GOptionEntry *
entries_for(const char *letters, PkiArgs *args)
{
	const struct {
		char letter;
		GOptionEntry entry;
	} all[] = {
	        {'d',
	         {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &args->state_dir,
	          "State directory (default: $TRELLIS_STATE_DIR or " TR_LOCALSTATEDIR ")", "DIR"}},
	        {'a',
	         {"algorithm", 0, 0, G_OPTION_ARG_STRING, &args->algorithm,
	          "Key algorithm: ed25519 (default) or ecdsa-p256", "ALG"}},
	        {'D',
	         {"days", 0, 0, G_OPTION_ARG_INT, &args->days,
	          "Lifetime in days (CA: 3650, certificates: 825)", "N"}},
	        {'n',
	         {"network", 0, 0, G_OPTION_ARG_STRING, &args->network,
	          "Network name for the CA's common name", "NAME"}},
	        {'s',
	         {"server", 0, 0, G_OPTION_ARG_NONE, &args->server,
	          "Issue a server certificate (default: client)", NULL}},
	        {'i',
	         {"ip", 0, 0, G_OPTION_ARG_STRING_ARRAY, &args->ips,
	          "Static tunnel address (repeatable)", "ADDR"}},
	        {'S',
	         {"subnet", 0, 0, G_OPTION_ARG_STRING_ARRAY, &args->subnets,
	          "Claimed subnet, e.g. 198.19.5.0/24 (repeatable)", "PREFIX"}},
	        {'f',
	         {"force", 0, 0, G_OPTION_ARG_NONE, &args->force,
	          "Revoke NAME's current certificate and issue a new one", NULL}},
	        {'j', {"json", 0, 0, G_OPTION_ARG_NONE, &args->json, "Print JSON", NULL}},
	};
	GOptionEntry *out = g_new0(GOptionEntry, G_N_ELEMENTS(all) + 1);
	guint n = 0;

	for (guint i = 0; i < G_N_ELEMENTS(all); i++)
		if (strchr(letters, all[i].letter) != NULL)
			out[n++] = all[i].entry;
	return out;
}

static const PkiCommand pki_commands[] = {
        {"init", "", "Create the network's CA", "daDn", cmd_init},
        {"issue", "NAME", "Issue a certificate for NAME", "daDsiSf", cmd_issue},
        {"revoke", "NAME", "Revoke NAME's certificate and update the CRL", "d", cmd_revoke},
        {"list", "", "List certificates: names, expiry, revoked state", "dj", cmd_list},
        {"crl", "", "Re-sign the CRL with a fresh next-update time", "d", cmd_crl},
};

static void
pki_usage(FILE *out)
{
	fprintf(out, "Usage: trellis pki COMMAND [OPTIONS...]\n\nCommands:\n");
	for (guint i = 0; i < G_N_ELEMENTS(pki_commands); i++)
		fprintf(out, "  %-7s %-5s %s\n", pki_commands[i].name, pki_commands[i].params,
		        pki_commands[i].summary);
	fprintf(out, "\nRun 'trellis pki COMMAND --help' for its options.\n");
}

int
tr_cli_pki(int argc, char **argv)
{
	const PkiCommand *cmd = NULL;
	g_auto(PkiArgs) args = {0};
	g_autoptr(GOptionContext) ctx = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree GOptionEntry *entries = NULL;
	g_autofree char *params = NULL;
	guint want;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		pki_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? TR_CLI_USAGE : TR_CLI_OK;
	}
	for (guint i = 0; i < G_N_ELEMENTS(pki_commands); i++)
		if (strcmp(argv[1], pki_commands[i].name) == 0)
			cmd = &pki_commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "trellis: unknown pki command '%s'\n\n", argv[1]);
		pki_usage(stderr);
		return TR_CLI_USAGE;
	}
	/* Parse "trellis pki CMD ..." as a program of its own. */
	params = g_strdup_printf("%s%s- %s", cmd->params, cmd->params[0] ? " " : "", cmd->summary);
	ctx = g_option_context_new(params);
	entries = entries_for(cmd->options, &args);
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_set_prgname("trellis pki");
	argv[1] = argv[0];
	argc--;
	argv++;
	if (!tr_cli_parse_options(ctx, &argc, &argv))
		return TR_CLI_USAGE;
	want = cmd->params[0] ? 2 : 1;
	if ((guint)argc != want) {
		fprintf(stderr, "trellis: usage: trellis pki %s %s\n", cmd->name, cmd->params);
		return TR_CLI_USAGE;
	}
	if (args.days < 0) {
		fprintf(stderr, "trellis: --days must be a positive number\n");
		return TR_CLI_USAGE;
	}
	return cmd->run(&args, argc, argv);
}
