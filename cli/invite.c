/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `trellis invite NAME`: on the hub's machine, records a pending invite in
 * the state directory and prints its one-line token (common/pki/invite.h
 * does the work).
 */
#include "tr-config.h"

#include "cli/cli.h"
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/pki/invite-token.h"
#include "common/pki/invite.h"

#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	char *state_dir;
	char **servers;
	char *expires;
	char **ips;
	char **subnets;
} InviteArgs;

static void
invite_args_clear(InviteArgs *a)
{
	g_free(a->state_dir);
	g_strfreev(a->servers);
	g_free(a->expires);
	g_strfreev(a->ips);
	g_strfreev(a->subnets);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(InviteArgs, invite_args_clear)

int
tr_cli_invite(int argc, char **argv)
{
	g_auto(InviteArgs) a = {0};
	const GOptionEntry entries[] = {
	        {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &a.state_dir,
	         "The hub's state directory (default: $TRELLIS_STATE_DIR or " TR_LOCALSTATEDIR ")",
	         "DIR"},
	        {"server", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.servers,
	         "The hub's address as the new machine reaches it (repeatable; port default 3210)",
	         "HOST[:PORT]"},
	        {"expires", 0, 0, G_OPTION_ARG_STRING, &a.expires,
	         "How long the invite works: 90s, 30m, 24h (default), 7d", "DURATION"},
	        {"ip", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.ips,
	         "Static tunnel address for the certificate (repeatable)", "ADDR"},
	        {"subnet", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.subnets,
	         "Claimed subnet for the certificate (repeatable)", "PREFIX"},
	        {NULL},
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(
	        "NAME - Print a one-line token that lets a new machine join as NAME");
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) ips = g_array_new(FALSE, TRUE, sizeof(TrPrefix));
	g_autoptr(GArray) subnets = g_array_new(FALSE, TRUE, sizeof(TrPrefix));
	g_autoptr(TrInviteToken) token = NULL;
	g_autofree char *text = NULL;
	g_autofree char *when = NULL;
	g_autofree char *fp = NULL;
	TrPkiInviteOptions opts = {0};
	const char *dir;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_description(
	        ctx, "Run 'trellis join TOKEN' on the new machine. The token works once, until it "
	             "expires.\nThe hub must run on this state directory's CA.");
	if (!tr_cli_parse_options(ctx, &argc, &argv))
		return TR_CLI_USAGE;
	if (argc != 2) {
		fprintf(stderr, "trellis: usage: trellis invite NAME --server HOST[:PORT] "
		                "[--expires DURATION] [--ip ADDR] [--subnet PREFIX]\n");
		return TR_CLI_USAGE;
	}
	if (a.servers == NULL) {
		fprintf(stderr, "trellis: give the hub's address as the new machine reaches it: "
		                "--server HOST[:PORT] (repeatable)\n");
		return TR_CLI_USAGE;
	}
	opts.lifetime = TR_PKI_INVITE_LIFETIME;
	if ((a.expires && !tr_cli_parse_duration(a.expires, &opts.lifetime, &error)) ||
	    !tr_pki_name_validate(argv[1], &error) ||
	    !tr_cli_parse_prefixes(a.ips, TRUE, ips, &error) ||
	    !tr_cli_parse_prefixes(a.subnets, FALSE, subnets, &error)) {
		if (!g_error_matches(error, TR_ERROR, TR_ERROR_INVALID))
			return tr_cli_fail(error);
		fprintf(stderr, "trellis: %s\n", error->message);
		return TR_CLI_USAGE;
	}
	opts.name = argv[1];
	opts.servers = (const char *const *)a.servers;
	opts.addresses = (const TrPrefix *)(void *)ips->data;
	opts.n_addresses = ips->len;
	opts.subnets = (const TrPrefix *)(void *)subnets->data;
	opts.n_subnets = subnets->len;
	dir = tr_cli_state_dir(a.state_dir);
	token = tr_pki_invite_create(dir, &opts, &error);
	if (token == NULL)
		return tr_cli_fail(error);
	text = tr_invite_token_encode(token, &error);
	if (text == NULL)
		return tr_cli_fail(error);
	when = tr_cli_format_utc(token->expires);
	{
		GString *hex = g_string_new(NULL);
		for (guint i = 0; i < TR_INVITE_FP_LEN; i++)
			g_string_append_printf(hex, "%02x", token->ca_fingerprint[i]);
		fp = g_string_free(hex, FALSE);
	}
	/* The token alone on stdout, so that TOKEN=$(trellis invite ...) works. */
	printf("%s\n", text);
	fprintf(stderr,
	        "invite for '%s' (works once, until %s); CA fingerprint (SHA-256) %s\n"
	        "On the new machine run: trellis join TOKEN\n",
	        token->name, when, fp);
	gnutls_memset(text, 0, strlen(text));
	return TR_CLI_OK;
}
