/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Secrets (issue 16, items 7 and 8): the shared key's strength and its PSK
 * bound to the network, `trellis genkey`'s keys, shared-key-file, and the
 * refusal of files holding secrets that others can read (key files, config
 * files with a key in them, private keys).
 */
#include "client/client.h"
#include "client/options.h"
#include "common/base/error.h"
#include "common/base/secret.h"
#include "common/auth/shared-key.h"
#include "common/auth/tls.h"
#include "server/hub.h"
#include "server/options.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static char *
write_file(const char *dir, const char *name, const char *text, int mode)
{
	char *path = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_assert_cmpint(chmod(path, mode), ==, 0);
	return path;
}

/* The command line @args (NULL-terminated) into @o. */
static gboolean
parse(TrOptions *o, const char *const *args, GError **error)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	char **copy;
	int argc;

	g_ptr_array_add(argv, (gpointer) "prog");
	for (guint i = 0; args[i]; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	argc = (int)argv->len;
	g_ptr_array_add(argv, NULL);
	copy = (char **)argv->pdata;
	return tr_options_parse_args(o, &argc, &copy, "", "", error);
}

/* The hub's settings from a command line; @cfg is cleared by the caller. */
static gboolean
hub_config(TrHubConfig *cfg, const char *const *args, GError **error)
{
	g_autoptr(TrOptions) o =
	        tr_options_new("trellis-server", tr_server_options, tr_server_n_options);

	tr_hub_config_init(cfg);
	g_assert_true(parse(o, args, error));
	return tr_hub_config_from_options(o, cfg, error);
}

static gboolean
client_config(TrClientConfig *cfg, const char *const *args, GError **error)
{
	g_autoptr(TrOptions) o =
	        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);

	tr_client_config_init(cfg);
	g_assert_true(parse(o, args, error));
	return tr_client_config_from_options(o, cfg, error);
}

static void
test_genkey(void)
{
	g_autofree char *a = tr_shared_key_generate();
	g_autofree char *b = tr_shared_key_generate();

	g_assert_true(g_str_has_prefix(a, TR_SHARED_KEY_PREFIX));
	g_assert_cmpuint(strlen(a), ==, strlen(TR_SHARED_KEY_PREFIX) + 43);
	g_assert_cmpstr(a, !=, b);
	g_assert_true(tr_shared_key_is_strong(a));
	g_assert_true(tr_shared_key_is_strong(
	        "3fa85f68a35f6aff786be6c1fa77fdeac2eb92002167ea1ceae646bcde038ea2"));
	g_assert_false(tr_shared_key_is_strong("correct horse battery"));
	g_assert_false(tr_shared_key_is_strong("trk1-short"));
	g_assert_false(tr_shared_key_is_strong("hostile test key"));
}

/* The PSK names the network: one network's guesses are worth nothing on another. */
static void
test_derive(void)
{
	guint8 a[32], b[32], c[32];
	g_autoptr(GError) error = NULL;

	g_assert_true(tr_shared_key_derive("correct horse battery", "74726c01", a, NULL));
	g_assert_true(tr_shared_key_derive("correct horse battery", "", c, NULL));
	g_assert_true(tr_shared_key_derive("correct horse battery", "0badcafe", b, NULL));
	{
		/* Python: hashlib.pbkdf2_hmac("sha256", KEY, b"trellis shared key v2 74726c01",
		 * 200000, 32) */
		static const char *want =
		        "3fa85f68a35f6aff786be6c1fa77fdeac2eb92002167ea1ceae646bcde038ea2";
		GString *got = g_string_new(NULL);
		for (guint i = 0; i < 32; i++)
			g_string_append_printf(got, "%02x", a[i]);
		g_assert_cmpstr(got->str, ==, want);
		g_string_free(got, TRUE);
	}
	g_assert_cmpmem(a, 32, c, 32); /* "" is the default magic */
	g_assert_true(memcmp(a, b, 32) != 0);
	g_assert_false(tr_shared_key_derive("short", "74726c01", a, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
}

static void
test_shared_key_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("trellis-secrets-XXXXXX", NULL);
	g_autofree char *key = tr_shared_key_generate();
	g_autofree char *text = g_strdup_printf("  %s  \r\nignored\n", key);
	g_autofree char *good = write_file(dir, "good.key", text, 0600);
	g_autofree char *open_key = write_file(dir, "open.key", text, 0644);
	g_autofree char *group_key = write_file(dir, "group.key", text, 0640);

	{
		const char *args[] = {"--shared-key-file", good, NULL};
		g_autoptr(GError) error = NULL;
		TrHubConfig cfg;

		g_assert_true(hub_config(&cfg, args, &error));
		g_assert_no_error(error);
		g_assert_cmpstr(cfg.tls.shared_key, ==, key);
		g_assert_cmpstr(cfg.tls.psk_network, ==, "74726c01");
		tr_hub_config_clear(&cfg);
	}
	for (guint i = 0; i < 2; i++) {
		const char *args[] = {"--shared-key-file", i ? group_key : open_key, NULL};
		g_autoptr(GError) error = NULL;
		TrClientConfig cfg;

		g_assert_false(client_config(&cfg, args, &error));
		g_assert_error(error, TR_ERROR, TR_ERROR_PERMISSION);
		g_assert_nonnull(strstr(error->message, "chmod 600"));
		tr_client_config_clear(&cfg);
	}
	/* On the command line it works, with a warning; with --magic the network changes. */
	{
		const char *args[] = {"--shared-key", key, "--magic", "hash:office", NULL};
		g_autoptr(GError) error = NULL;
		TrClientConfig cfg;

		g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*command line*");
		g_assert_true(client_config(&cfg, args, &error));
		g_test_assert_expected_messages();
		g_assert_cmpstr(cfg.tls.psk_network, !=, "74726c01");
		tr_client_config_clear(&cfg);
	}
	/* A passphrase: accepted, warned about. */
	{
		g_autofree char *weak =
		        write_file(dir, "weak.key", "correct horse battery\n", 0600);
		const char *args[] = {"--shared-key-file", weak, NULL};
		g_autoptr(GError) error = NULL;
		TrHubConfig cfg;

		g_assert_true(hub_config(&cfg, args, &error));
		g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
		                      "*passphrase*trellis genkey*");
		tr_shared_key_warn_if_weak(cfg.tls.shared_key);
		g_test_assert_expected_messages();
		tr_shared_key_warn_if_weak(key); /* a genkey key: nothing */
		tr_hub_config_clear(&cfg);
		g_unlink(weak);
	}
	/* Both: refused. */
	{
		const char *args[] = {"--shared-key-file", good, "--shared-key", key, NULL};
		g_autoptr(GError) error = NULL;
		TrHubConfig cfg;

		g_assert_false(hub_config(&cfg, args, &error));
		g_assert_nonnull(strstr(error->message, "keep shared-key-file"));
		tr_hub_config_clear(&cfg);
	}
	g_unlink(good);
	g_unlink(open_key);
	g_unlink(group_key);
	g_rmdir(dir);
}

/* A config file with a secret in it is a secret file. */
static void
test_config_file_with_secret(void)
{
	g_autofree char *dir = g_dir_make_tmp("trellis-secrets-XXXXXX", NULL);
	g_autofree char *open_conf =
	        write_file(dir, "open.conf", "[server]\nshared-key = abcdefghijkl\n", 0644);
	g_autofree char *closed =
	        write_file(dir, "closed.conf", "[server]\nshared-key = abcdefghijkl\n", 0600);
	g_autofree char *plain = write_file(dir, "plain.conf", "[server]\nmtu = 1400\n", 0644);
	g_autoptr(GError) error = NULL;

	{
		g_autoptr(TrOptions) o =
		        tr_options_new("trellis-server", tr_server_options, tr_server_n_options);
		g_assert_true(tr_options_load_file(o, open_conf, "server", &error));
		g_assert_false(tr_options_check_secret_file(o, open_conf, &error));
		g_assert_error(error, TR_ERROR, TR_ERROR_PERMISSION);
		g_assert_nonnull(strstr(error->message, "shared-key"));
		g_clear_error(&error);
	}
	{
		g_autoptr(TrOptions) o =
		        tr_options_new("trellis-server", tr_server_options, tr_server_n_options);
		g_assert_true(tr_options_load_file(o, closed, "server", &error));
		g_assert_true(tr_options_check_secret_file(o, closed, &error));
	}
	{
		g_autoptr(TrOptions) o =
		        tr_options_new("trellis-server", tr_server_options, tr_server_n_options);
		g_assert_true(tr_options_load_file(o, plain, "server", &error));
		g_assert_true(tr_options_check_secret_file(o, plain, &error));
	}
	g_unlink(open_conf);
	g_unlink(closed);
	g_unlink(plain);
	g_rmdir(dir);
}

/* The daemons refuse a private key that others can read (the help said 0600). */
static void
test_private_key_mode(void)
{
	g_autofree char *dir = g_dir_make_tmp("trellis-secrets-XXXXXX", NULL);
	g_autofree char *key = g_build_filename(dir, "k.key", NULL);
	g_autofree char *crt = g_build_filename(dir, "k.crt", NULL);
	g_autofree char *cmd = g_strdup_printf(
	        "sh -c 'umask 022; certtool --generate-privkey --key-type ed25519 --outfile %s "
	        ">/dev/null 2>&1 && "
	        "printf \"cn = k\\nexpiration_days = 2\\ntls_www_client\\n\" > %s/t && "
	        "certtool --generate-self-signed --load-privkey %s --template %s/t --outfile %s "
	        ">/dev/null 2>&1'",
	        key, dir, key, dir, crt);
	TrTlsConfig cfg = {.ca_file = crt, .cert_file = crt, .key_file = key};
	g_autofree char *certtool = g_find_program_in_path("certtool");
	g_autoptr(GError) error = NULL;
	TrTlsCreds *creds;

	if (certtool == NULL) {
		g_test_skip("certtool (gnutls-bin) is not installed");
		g_rmdir(dir);
		return;
	}
	g_assert_true(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL));
	g_assert_cmpint(chmod(key, 0644), ==, 0);
	creds = tr_tls_creds_new(&cfg, &error);
	g_assert_null(creds);
	g_assert_error(error, TR_ERROR, TR_ERROR_PERMISSION);
	g_assert_nonnull(strstr(error->message, "chmod 600"));
	g_clear_error(&error);
	g_assert_cmpint(chmod(key, 0600), ==, 0);
	creds = tr_tls_creds_new(&cfg, &error);
	g_assert_no_error(error);
	tr_tls_creds_unref(creds);
	{
		g_autofree char *t = g_build_filename(dir, "t", NULL);
		g_unlink(t);
	}
	g_unlink(key);
	g_unlink(crt);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/secrets/genkey", test_genkey);
	g_test_add_func("/secrets/derive", test_derive);
	g_test_add_func("/secrets/shared-key-file", test_shared_key_file);
	g_test_add_func("/secrets/config-file", test_config_file_with_secret);
	g_test_add_func("/secrets/private-key-mode", test_private_key_mode);
	return g_test_run();
}
