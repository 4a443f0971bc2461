/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The option table: command line, config file (with file:line errors),
 * overrides, and the man page, on the real client and server tables. */
#include "client/options.h"
#include "common/base/error.h"
#include "server/options.h"

#include <glib/gstdio.h>

static char *
write_temp(const char *name, const char *text)
{
	g_autofree char *dir = g_dir_make_tmp("trellis-options-XXXXXX", NULL);
	char *path = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static void
cleanup(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_unlink(path);
	g_rmdir(dir);
}

static gboolean
parse(TrOptions *o, GError **error, ...)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	char **argv;
	int argc;
	va_list ap;
	const char *a;
	gboolean ok;

	g_ptr_array_add(args, (gpointer) "prog");
	va_start(ap, error);
	while ((a = va_arg(ap, const char *)) != NULL)
		g_ptr_array_add(args, (gpointer)a);
	va_end(ap);
	argc = (int)args->len;
	argv = g_new0(char *, args->len + 1);
	memcpy(argv, args->pdata, sizeof(char *) * args->len);
	ok = tr_options_parse_args(o, &argc, &argv, "- test", NULL, error);
	g_free(argv);
	return ok;
}

static void
test_command_line(void)
{
	g_autoptr(TrOptions) o =
	        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
	g_autoptr(GError) error = NULL;

	g_assert_true(parse(o, &error, "-c", "198.18.0.1", "--connect", "198.18.0.2:4000", "--mtu",
	                    "1400", "--no-udp", "-v", NULL));
	g_assert_no_error(error);
	g_assert_cmpstrv(tr_options_get_strv(o, "connect"),
	                 ((const char *[]){"198.18.0.1", "198.18.0.2:4000", NULL}));
	g_assert_cmpint(tr_options_get_int(o, "mtu", 0), ==, 1400);
	g_assert_true(tr_options_get_bool(o, "no-udp"));
	g_assert_true(tr_options_get_bool(o, "verbose"));
	g_assert_false(tr_options_get_bool(o, "quiet"));
	/* Defaults come from the table's default text. */
	g_assert_cmpint(tr_options_get_int(o, "retry-max", 0), ==, 30);
	g_assert_false(tr_options_is_set(o, "retry-max"));
	g_assert_cmpstr(tr_options_origin(o, "mtu"), ==, "--mtu");
}

static void
test_command_line_errors(void)
{
	struct {
		const char *arg, *value, *fragment;
	} cases[] = {
	        {"--mtu", "100", "--mtu: '100' is not a whole number from 576 to 65535"},
	        {"--mtu", "14x0", "not a whole number"},
	        {"--type", "tun0", "--type: 'tun0' is not one of tun, tap"},
	        {"--bogus", "1", "Unknown option"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(TrOptions) o =
		        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
		g_autoptr(GError) error = NULL;

		g_assert_false(parse(o, &error, cases[i].arg, cases[i].value, NULL));
		if (!strstr(error->message, cases[i].fragment))
			g_error("'%s' lacks '%s'", error->message, cases[i].fragment);
	}
}

static void
test_file_and_override(void)
{
	g_autofree char *path =
	        write_temp("client.conf", "# a client\n"
	                                  "[client]\n"
	                                  "connect = hub.example.net:3210; 198.18.0.9\n"
	                                  "mtu = 1380\n"
	                                  "ca = ca.crt\n"
	                                  "cert = /etc/trellis/c.crt\n"
	                                  "no-udp = true\n"
	                                  "server-name = hub\n");
	g_autoptr(TrOptions) o =
	        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *ca = g_build_filename(dir, "ca.crt", NULL);
	g_autofree char *origin = g_strdup_printf("%s:5", path);
	TrClientConfig cfg;

	/* The command line wins, for single values and for lists. */
	g_assert_true(parse(o, &error, "--mtu", "1300", "--connect", "198.18.0.1", NULL));
	g_assert_true(tr_options_load_file(o, path, TR_CLIENT_CONFIG_GROUP, &error));
	g_assert_no_error(error);
	g_assert_cmpint(tr_options_get_int(o, "mtu", 0), ==, 1300);
	g_assert_cmpstrv(tr_options_get_strv(o, "connect"), ((const char *[]){"198.18.0.1", NULL}));
	g_assert_true(tr_options_get_bool(o, "no-udp"));
	/* Relative paths are relative to the file. */
	g_assert_cmpstr(tr_options_get_string(o, "ca"), ==, ca);
	g_assert_cmpstr(tr_options_get_string(o, "cert"), ==, "/etc/trellis/c.crt");
	g_assert_cmpstr(tr_options_origin(o, "ca"), ==, origin);

	tr_client_config_init(&cfg);
	g_assert_true(tr_client_config_from_options(o, &cfg, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(cfg.mtu, ==, 1300);
	g_assert_false(cfg.udp);
	g_assert_cmpstrv(cfg.server_names, ((const char *[]){"hub", NULL}));
	tr_client_config_clear(&cfg);
	(void)origin;
	cleanup(path);

	/* Without the command line, the file's list stands. */
	{
		g_autoptr(TrOptions) o2 =
		        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
		g_autofree char *p2 = write_temp("c.conf", "[client]\nconnect = a:1;b\\;c:2 ; d\n");
		g_assert_true(parse(o2, &error, NULL));
		g_assert_true(tr_options_load_file(o2, p2, "client", &error));
		g_assert_cmpstrv(tr_options_get_strv(o2, "connect"),
		                 ((const char *[]){"a:1", "b;c:2", "d", NULL}));
		cleanup(p2);
	}
}

static void
test_file_errors(void)
{
	struct {
		const char *text, *fragment;
	} cases[] = {
	        {"[client]\nmtuu = 1400\n", ":2: unknown option 'mtuu' (did you mean 'mtu'?)"},
	        {"[client]\n\nmtu = 100\n",
	         ":3: mtu: '100' is not a whole number from 576 to 65535"},
	        {"mtu = 1400\n", ":1: option before the [client] section header"},
	        {"[server]\nmtu = 1400\n", ":1: unknown section [server]"},
	        {"[client]\nmtu 1400\n", ":2: expected 'key = value'"},
	        {"[client]\nmtu = 1400\nmtu = 1300\n", ":3: 'mtu' is given twice"},
	        {"[client]\nconfig = other.conf\n",
	         ":2: unknown option 'config' (command line only)"},
	        {"[client]\nno-udp = maybe\n", ":2: no-udp: 'maybe' is not true or false"},
	        {"[client\n", ":1: malformed section header"},
	        {"[client]\ncrypto = aes256-gcm;;\ntype = ethernet\n",
	         ":3: type: 'ethernet' is not one of tun, tap"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(TrOptions) o =
		        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
		g_autoptr(GError) error = NULL;
		g_autofree char *path = write_temp("bad.conf", cases[i].text);

		g_assert_false(tr_options_load_file(o, path, "client", &error));
		g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
		if (!strstr(error->message, cases[i].fragment) || !strstr(error->message, path))
			g_error("case %u: '%s' lacks '%s' or the path", i, error->message,
			        cases[i].fragment);
		cleanup(path);
	}
}

static void
test_server_config(void)
{
	g_autoptr(TrOptions) o =
	        tr_options_new("trellis-server", tr_server_options, tr_server_n_options);
	g_autoptr(GError) error = NULL;
	TrHubConfig cfg;

	g_assert_true(parse(o, &error, "--address", "198.19.5.1/24", "--route", "198.19.9.0/24",
	                    "--crypto", "chacha20-poly1305,aes256-gcm", NULL));
	tr_hub_config_init(&cfg);
	g_assert_true(tr_hub_config_from_options(o, &cfg, &error));
	g_assert_no_error(error);
	/* An own address and no pool: the node assigns none. */
	g_assert_cmpuint(cfg.pool4.family, ==, 0);
	g_assert_cmpuint(cfg.n_addresses, ==, 1);
	g_assert_cmpuint(cfg.n_routes, ==, 1);
	g_assert_cmpuint(cfg.n_ciphers, ==, 2);
	g_assert_cmpint(cfg.ciphers[0], ==, TR_CIPHER_CHACHA20_POLY1305);
	tr_hub_config_clear(&cfg);

	{
		g_autoptr(TrOptions) o2 =
		        tr_options_new("trellis-server", tr_server_options, tr_server_n_options);
		g_assert_true(parse(o2, &error, "--pool", "fd00::/64", NULL));
		tr_hub_config_init(&cfg);
		g_assert_false(tr_hub_config_from_options(o2, &cfg, &error));
		g_assert_nonnull(
		        strstr(error->message, "--pool: 'fd00::/64' is not an IPv4 prefix"));
		tr_hub_config_clear(&cfg);
	}
}

/* The mesh's options: defaults that need no tuning, values that reach the configs,
 * limits enforced (docs/MESH.md, "Options"). */
static void
test_mesh_options(void)
{
	g_autoptr(GError) error = NULL;
	TrClientConfig cc;
	TrHubConfig hc;

	{
		g_autoptr(TrOptions) o =
		        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
		g_assert_true(parse(o, &error, "-c", "198.18.0.1", NULL));
		tr_client_config_init(&cc);
		g_assert_true(tr_client_config_from_options(o, &cc, &error));
		g_assert_true(cc.direct);
		g_assert_cmpuint(cc.punch_interval_ms, ==, 250);
		g_assert_cmpuint(cc.punch_retry_sec, ==, 30);
		g_assert_cmpuint(cc.pair_keepalive_sec, ==, 20);
		g_assert_cmpuint(cc.pair_rekey_sec, ==, 600);
		tr_client_config_clear(&cc);
	}
	{
		g_autoptr(TrOptions) o =
		        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
		g_assert_true(parse(o, &error, "-c", "198.18.0.1", "--no-direct",
		                    "--punch-interval", "100", "--punch-retry", "60",
		                    "--pair-keepalive", "15", "--pair-rekey-interval", "120",
		                    NULL));
		tr_client_config_init(&cc);
		g_assert_true(tr_client_config_from_options(o, &cc, &error));
		g_assert_false(cc.direct);
		g_assert_cmpuint(cc.punch_interval_ms, ==, 100);
		g_assert_cmpuint(cc.punch_retry_sec, ==, 60);
		g_assert_cmpuint(cc.pair_keepalive_sec, ==, 15);
		g_assert_cmpuint(cc.pair_rekey_sec, ==, 120);
		tr_client_config_clear(&cc);
	}
	{
		/* A keepalive longer than NAT mappings last is refused. */
		g_autoptr(TrOptions) o =
		        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
		g_assert_false(parse(o, &error, "--pair-keepalive", "30", NULL));
		g_assert_nonnull(strstr(error->message, "pair-keepalive"));
		g_clear_error(&error);
	}
	{
		g_autoptr(TrOptions) o =
		        tr_options_new("trellis-server", tr_server_options, tr_server_n_options);
		g_assert_true(parse(o, &error, "--relay-rate", "800", NULL));
		tr_hub_config_init(&hc);
		g_assert_true(tr_hub_config_from_options(o, &hc, &error));
		g_assert_true(hc.relay);
		g_assert_cmpuint(hc.relay_rate, ==, 100000); /* 800 kbit/s in bytes a second */
		tr_hub_config_clear(&hc);
	}
}

static void
test_man_page(void)
{
	g_autofree char *man =
	        tr_options_man_page("trellis-client", "8", TR_CLIENT_SUMMARY, TR_CLIENT_DESCRIPTION,
	                            NULL, tr_client_options, tr_client_n_options);

	/* Every visible option appears, with its default; hidden ones do not. */
	for (guint i = 0; i < tr_client_n_options; i++) {
		g_autofree char *want =
		        g_strdup_printf("\\fB\\-\\-%s\\fR", tr_client_options[i].name);
		g_autofree char *escaped = NULL;
		GString *s = g_string_new(want);
		g_string_replace(s, "-", "\\-", 0);
		g_string_replace(s, "\\\\-\\\\-", "\\-\\-", 0);
		escaped = g_string_free(s, FALSE);
		if (tr_client_options[i].flags & TR_OPT_FLAG_HIDDEN)
			g_assert_null(strstr(man, tr_client_options[i].name));
		else if (!strstr(man, escaped))
			g_error("man page lacks %s", escaped);
	}
	g_assert_nonnull(strstr(man, ".TH trellis-client 8"));
	g_assert_nonnull(strstr(man, "Default: 30."));
	g_assert_nonnull(strstr(man, "by default 1416 for tun"));
}

/* The shipped examples parse and make sense to the daemons. */
static void
test_examples(void)
{
	const char *root = g_getenv("TR_SOURCE_ROOT");
	const char *servers[] = {"server.conf", "node-alpha.conf", "node-beta.conf"};

	if (root == NULL) {
		g_test_skip("TR_SOURCE_ROOT not set");
		return;
	}
	/* The peers' examples read network.key next to them: a copy of each in a
	 * folder with a key only root can read, as the comment in them says. */
	g_autofree char *tmp = g_dir_make_tmp("trellis-examples-XXXXXX", NULL);
	g_autofree char *key = g_build_filename(tmp, "network.key", NULL);

	g_assert_true(g_file_set_contents(key, "trk1-GFAbmHTqOHPs2PlMvGgo38xBvNdWU3ZOQOVn9H8r1mc\n",
	                                  -1, NULL));
	g_assert_cmpint(g_chmod(key, 0600), ==, 0);
	for (guint i = 0; i < G_N_ELEMENTS(servers); i++) {
		g_autoptr(TrOptions) o =
		        tr_options_new("trellis-server", tr_server_options, tr_server_n_options);
		g_autofree char *src = g_build_filename(root, "data", "examples", servers[i], NULL);
		g_autofree char *path = g_build_filename(tmp, servers[i], NULL);
		g_autofree char *text = NULL;
		g_autoptr(GError) error = NULL;
		TrHubConfig cfg;

		g_assert_true(g_file_get_contents(src, &text, NULL, NULL));
		g_assert_true(g_file_set_contents(path, text, -1, NULL));
		g_assert_cmpint(g_chmod(path, 0644), ==, 0);

		g_assert_true(tr_options_load_file(o, path, "server", &error));
		g_assert_no_error(error);
		tr_hub_config_init(&cfg);
		g_assert_true(tr_hub_config_from_options(o, &cfg, &error));
		g_assert_no_error(error);
		tr_hub_config_clear(&cfg);
		g_unlink(path);
	}
	g_unlink(key);
	g_rmdir(tmp);
	{
		g_autoptr(TrOptions) o =
		        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
		g_autofree char *path =
		        g_build_filename(root, "data", "examples", "client.conf", NULL);
		g_autoptr(GError) error = NULL;
		TrClientConfig cfg;

		g_assert_true(tr_options_load_file(o, path, "client", &error));
		g_assert_no_error(error);
		tr_client_config_init(&cfg);
		g_assert_true(tr_client_config_from_options(o, &cfg, &error));
		g_assert_cmpstr(cfg.connect[0], ==, "hub.example.net:3210");
		tr_client_config_clear(&cfg);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/options/command-line", test_command_line);
	g_test_add_func("/options/command-line-errors", test_command_line_errors);
	g_test_add_func("/options/file-and-override", test_file_and_override);
	g_test_add_func("/options/file-errors", test_file_errors);
	g_test_add_func("/options/server-config", test_server_config);
	g_test_add_func("/options/mesh", test_mesh_options);
	g_test_add_func("/options/man-page", test_man_page);
	g_test_add_func("/options/examples", test_examples);
	return g_test_run();
}
