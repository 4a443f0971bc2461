/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Import and export through the plugin module exactly as nmcli loads it
 * (libnm-vpn-plugin-trellis.so from the build tree), over the fixtures:
 * every option, round trips, broken files with their exact errors. Then the
 * validation table and the secrets a connection needs (settings.c).
 */
#include "common/base/error.h"
#include "gui/networkmanager/settings.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static NMVpnEditorPlugin *plugin;
static char *fixtures;

static char *
fixture(const char *name)
{
	return g_build_filename(fixtures, name, NULL);
}

static NMConnection *
import(const char *path, GError **error)
{
	return nm_vpn_editor_plugin_import(plugin, path, error);
}

static NMSettingVpn *
vpn(NMConnection *c)
{
	return nm_connection_get_setting_vpn(c);
}

/* "key=value" lines of vpn.data and vpn.secrets, sorted: what must survive
 * a round trip. */
static char *
describe(NMConnection *c)
{
	NMSettingVpn *s = vpn(c);
	GString *out = g_string_new(NULL);
	g_autofree const char **keys = NULL;
	guint n;

	keys = nm_setting_vpn_get_data_keys(s, &n);
	for (guint i = 0; i < n; i++)
		g_string_append_printf(out, "%s=%s\n", keys[i],
		                       nm_setting_vpn_get_data_item(s, keys[i]));
	g_free(keys);
	keys = nm_setting_vpn_get_secret_keys(s, &n);
	for (guint i = 0; i < n; i++)
		g_string_append_printf(out, "secret %s=%s\n", keys[i],
		                       nm_setting_vpn_get_secret(s, keys[i]));
	return g_string_free(out, FALSE);
}

/* Export to a file, import that file, compare. */
static NMConnection *
round_trip(NMConnection *c, char **exported)
{
	g_autofree char *dir = g_dir_make_tmp("trellis-nm-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "exported.conf", NULL);
	g_autoptr(GError) error = NULL;
	NMConnection *back;
	GStatBuf st;

	g_assert_nonnull(dir);
	g_assert_true(nm_vpn_editor_plugin_export(plugin, path, c, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_assert_true(g_file_get_contents(path, exported, NULL, NULL));
	back = import(path, &error);
	g_assert_no_error(error);
	g_assert_nonnull(back);
	g_unlink(path);
	g_rmdir(dir);
	return back;
}

static void
test_capabilities(void)
{
	NMVpnEditorPluginCapability caps = nm_vpn_editor_plugin_get_capabilities(plugin);
	g_autofree char *service = NULL;

	g_assert_true(caps & NM_VPN_EDITOR_PLUGIN_CAPABILITY_IMPORT);
	g_assert_true(caps & NM_VPN_EDITOR_PLUGIN_CAPABILITY_EXPORT);
	g_assert_true(caps & NM_VPN_EDITOR_PLUGIN_CAPABILITY_IPV6);
	g_object_get(plugin, NM_VPN_EDITOR_PLUGIN_SERVICE, &service, NULL);
	g_assert_cmpstr(service, ==, TR_NM_SERVICE);
}

static void
test_import_every_option(void)
{
	g_autofree char *path = fixture("full.conf");
	g_autoptr(GError) error = NULL;
	g_autoptr(NMConnection) c = import(path, &error);
	g_autoptr(NMConnection) back = NULL;
	g_autofree char *got = NULL, *again = NULL, *exported = NULL;
	const char *want = "ca=/etc/trellis/office/ca.crt\n"
	                   "cert=/etc/trellis/office/laptop.crt\n"
	                   "compression=lzo\n"
	                   "connect=hub-a.example.net:3210;198.18.7.1:3300\n"
	                   "crypto=chacha20-poly1305;aes256-gcm\n"
	                   "device=office%d\n"
	                   "device-path=/dev/net/tun\n"
	                   "handshake-timeout=20\n"
	                   "key=/etc/trellis/office/laptop.key\n"
	                   "magic=hash:office\n"
	                   "mtu=1380\n"
	                   "name=laptop\n"
	                   "no-coalesce=true\n"
	                   "no-dns=true\n"
	                   "no-port-forwarding=true\n"
	                   "no-tun-offload=true\n"
	                   "no-udp=false\n"
	                   "no-udp-gro=true\n"
	                   "no-udp-gso=true\n"
	                   "retry-max=120\n"
	                   "server-name=hub\n"
	                   "subnet=198.19.40.0/24;fd00:40::/64\n"
	                   "threads=2\n"
	                   "type=tap\n"
	                   "username=alice\n";

	g_assert_no_error(error);
	g_assert_nonnull(c);
	g_assert_cmpstr(nm_connection_get_id(c), ==, "full");
	g_assert_cmpstr(nm_connection_get_connection_type(c), ==, NM_SETTING_VPN_SETTING_NAME);
	g_assert_cmpstr(nm_setting_vpn_get_service_type(vpn(c)), ==, TR_NM_SERVICE);
	got = describe(c);
	g_assert_cmpstr(got, ==, want);

	back = round_trip(c, &exported);
	again = describe(back);
	g_assert_cmpstr(again, ==, want);
	/* The password is never written out; the username says how to give it. */
	g_assert_nonnull(strstr(exported, "username = alice\n# The password is not exported"));
	g_assert_null(strstr(exported, "user = trellis"));
}

static void
test_import_join_file(void)
{
	g_autofree char *path = fixture("joined.conf");
	g_autofree char *ca = fixture("ca.crt");
	g_autoptr(GError) error = NULL;
	g_autoptr(NMConnection) c = import(path, &error);

	g_assert_no_error(error);
	/* Paths in the file are relative to it; the connection keeps them absolute. */
	g_assert_cmpstr(nm_setting_vpn_get_data_item(vpn(c), "ca"), ==, ca);
	g_assert_cmpstr(nm_setting_vpn_get_data_item(vpn(c), "connect"), ==,
	                "198.18.60.1:3210;hub.example.net:3210");
	g_assert_null(tr_nm_missing_secret(vpn(c)));
}

static void
test_import_join_name(void)
{
	g_autofree char *dir = g_dir_make_tmp("trellis-nm-XXXXXX", NULL);
	g_autofree char *net = g_build_filename(dir, "office", NULL);
	g_autofree char *path = g_build_filename(net, "client.conf", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(NMConnection) c = NULL;

	g_assert_cmpint(g_mkdir(net, 0700), ==, 0);
	g_assert_true(g_file_set_contents(
	        path, "[client]\nconnect=198.18.60.1\nshared-key=0123456789abcdef\n", -1, NULL));
	c = import(path, &error);
	g_assert_no_error(error);
	/* `trellis join` writes NETWORK/client.conf: the connection is named
	 * after the network. */
	g_assert_cmpstr(nm_connection_get_id(c), ==, "office");
	g_unlink(path);
	g_rmdir(net);
	g_rmdir(dir);
}

static void
test_shared_key_round_trip(void)
{
	g_autofree char *path = fixture("shared-key.conf");
	g_autoptr(GError) error = NULL;
	g_autoptr(NMConnection) c = import(path, &error);
	g_autoptr(NMConnection) back = NULL;
	g_autofree char *exported = NULL, *a = NULL, *b = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(nm_setting_vpn_get_secret(vpn(c), TR_NM_KEY_SHARED_KEY), ==,
	                "correct horse; battery\\staple");
	g_assert_null(nm_setting_vpn_get_data_item(vpn(c), TR_NM_KEY_SHARED_KEY));
	g_assert_false(tr_nm_uses_certificate(vpn(c)));
	g_assert_null(tr_nm_missing_secret(vpn(c)));
	back = round_trip(c, &exported);
	g_assert_nonnull(strstr(exported, "shared-key = correct horse; battery\\\\staple\n"));
	a = describe(c);
	b = describe(back);
	g_assert_cmpstr(a, ==, b);
}

static void
test_password_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("trellis-nm-XXXXXX", NULL);
	g_autofree char *pw = g_build_filename(dir, "password", NULL);
	g_autofree char *conf = g_build_filename(dir, "office.conf", NULL);
	g_autofree char *text = g_strdup_printf(
	        "[client]\nconnect = 198.18.60.1\nshared-key = 0123456789abcdef\nusername = alice\n"
	        "password-file = %s\n",
	        pw);
	g_autoptr(GError) error = NULL;
	g_autoptr(NMConnection) c = NULL;
	g_autofree char *want = NULL;

	g_assert_true(g_file_set_contents(conf, text, -1, NULL));
	/* Readable by others: refused, at its line. */
	g_assert_true(g_file_set_contents(pw, "wonderland\n", -1, NULL));
	g_assert_cmpint(g_chmod(pw, 0644), ==, 0);
	c = import(conf, &error);
	g_assert_null(c);
	want = g_strdup_printf("%s:5: ", conf);
	g_assert_true(g_str_has_prefix(error->message, want));
	g_assert_nonnull(strstr(error->message, "chmod"));
	g_clear_error(&error);
	/* Private: the password becomes the connection's secret. */
	g_assert_cmpint(g_chmod(pw, 0600), ==, 0);
	c = import(conf, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(nm_setting_vpn_get_secret(vpn(c), TR_NM_KEY_PASSWORD), ==, "wonderland");
	g_assert_null(nm_setting_vpn_get_data_item(vpn(c), "password-file"));
	g_unlink(pw);
	g_unlink(conf);
	g_rmdir(dir);
}

/* ---- Broken files: the exact error, with the file and the line ------------- */

static const struct {
	const char *file;
	const char *error; /* after "PATH" */
} broken[] = {
        {"bad-mtu.conf", ":3: mtu: '9' is not a whole number from 576 to 65535"},
        {"unknown-key.conf", ":2: unknown option 'conect' (did you mean 'connect'?)"},
        {"ifup.conf", ":4: ifup: a NetworkManager connection does not run commands as root; "
                      "use a dispatcher script (/etc/NetworkManager/dispatcher.d, see "
                      "NetworkManager-dispatcher(8))"},
        {"no-connect.conf", ": no hub to connect to: 'connect' (HOST[:PORT]) is missing"},
        {"cert-no-key.conf", ":3: cert: the certificate's private key ('key') is missing"},
        {"cert-no-server-name.conf", ":3: cert: certificate authentication needs 'server-name', "
                                     "the name the hub's certificate carries"},
        {"key-no-cert.conf", ":3: key: given without a certificate ('cert'); certificate "
                             "authentication needs ca, cert and key"},
        {"cert-and-shared-key.conf", ":7: shared-key: a certificate and a shared key exclude each "
                                     "other; keep one"},
        {"wrong-section.conf", ":1: unknown section [server]; this file is read by trellis-client, "
                               "which uses [client]"},
        {"password-no-username.conf", ":4: password: a password without a username"},
        {"twice.conf", ":4: 'connect' is given twice (lists go on one line, separated by ';')"},
        {"bad-crypto.conf", NULL},
        {"bad-subnet.conf", NULL},
};

static void
test_import_broken(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(broken); i++) {
		g_autofree char *path = fixture(broken[i].file);
		g_autoptr(GError) error = NULL;
		g_autoptr(NMConnection) c = import(path, &error);

		g_assert_null(c);
		g_assert_nonnull(error);
		g_test_message("%s -> %s", broken[i].file, error->message);
		if (broken[i].error) {
			g_autofree char *want = g_strconcat(path, broken[i].error, NULL);
			g_assert_cmpstr(error->message, ==, want);
		}
	}
}

static void
test_import_broken_values(void)
{
	/* The cipher and prefix parsers' own words, at the right line. */
	g_autofree char *crypto = fixture("bad-crypto.conf");
	g_autofree char *subnet = fixture("bad-subnet.conf");
	g_autofree char *want_crypto = g_strconcat(crypto, ":4: ", NULL);
	g_autofree char *want_subnet = g_strconcat(subnet, ":4: ", NULL);
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;
	g_autoptr(NMConnection) c1 = import(crypto, &e1);
	g_autoptr(NMConnection) c2 = import(subnet, &e2);

	g_assert_true(g_str_has_prefix(e1->message, want_crypto));
	g_assert_nonnull(strstr(e1->message, "rot13"));
	g_assert_true(g_str_has_prefix(e2->message, want_subnet));
	g_assert_nonnull(strstr(e2->message, "198.19.40.0/33"));
}

static void
test_import_missing_file(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(NMConnection) c = import("/nonexistent/trellis.conf", &error);

	g_assert_null(c);
	g_assert_nonnull(strstr(error->message, "/nonexistent/trellis.conf"));
}

static void
test_export_refuses_other_vpn(void)
{
	g_autoptr(NMConnection) c = nm_simple_connection_new();
	NMSettingVpn *s = NM_SETTING_VPN(nm_setting_vpn_new());
	NMSettingConnection *con = NM_SETTING_CONNECTION(nm_setting_connection_new());
	g_autoptr(GError) error = NULL;

	g_object_set(s, NM_SETTING_VPN_SERVICE_TYPE, "org.freedesktop.NetworkManager.openvpn",
	             NULL);
	g_object_set(con, NM_SETTING_CONNECTION_ID, "work", NULL);
	nm_connection_add_setting(c, NM_SETTING(s));
	nm_connection_add_setting(c, NM_SETTING(con));
	g_assert_false(nm_vpn_editor_plugin_export(plugin, "/nonexistent/x.conf", c, &error));
	g_assert_cmpstr(error->message, ==, "connection 'work' is not a Trellis VPN connection");
}

/* ---- The validation table (what the editor and the service check) --------- */

static const struct {
	const char *data;    /* "k=v;k=v" */
	const char *secrets; /* "k=v" */
	const char *bad_key; /* NULL: valid, or "-" for "missing" */
	const char *error;
} validation[] = {
        {"connect=198.18.60.1", "shared-key=0123456789abcdef", NULL, NULL},
        {"connect=198.18.60.1|ca=/a/ca.crt|cert=/a/c.crt|key=/a/c.key|server-name=hub", "", NULL,
         NULL},
        {"connect=198.18.60.1;198.18.61.1|ca=/a/ca.crt|cert=/a/c.crt|key=/a/c.key|"
         "server-name=hub-a;hub-b",
         "", NULL, NULL},
        {"connect=198.18.60.1;198.18.61.1|ca=/a/ca.crt|cert=/a/c.crt|key=/a/c.key|"
         "server-name=hub-a;hub-b;hub-c",
         "", "server-name",
         "3 server names for 2 hubs (--connect): give one name for "
         "every hub, or one per hub in the same order"},
        {"connect=198.18.60.1|username=alice|password-flags=2", "", NULL, NULL},
        {"server-name=hub", "", "-", "no hub to connect to: 'connect' (HOST[:PORT]) is missing"},
        {"connect=198.18.60.1|mtu=70000", "", "mtu",
         "mtu: '70000' is not a whole number from 576 to 65535"},
        {"connect=198.18.60.1|type=tunnel", "", "type", "type: 'tunnel' is not one of tun, tap"},
        {"connect=198.18.60.1|no-dns=maybe", "", "no-dns", "no-dns: 'maybe' is not true or false"},
        {"connect=198.18.60.1|ifup=reboot", "", "ifup",
         "ifup: not for a NetworkManager connection"},
        {"connect=198.18.60.1|colour=blue", "", "colour", "colour: not a Trellis client option"},
        {"connect=198.18.60.1|ca=ca.crt|cert=/a/c.crt|key=/a/c.key|server-name=hub", "", "ca",
         "ca: 'ca.crt' is not an absolute path"},
        {"connect=198.18.60.1|cert=/a/c.crt|key=/a/c.key|server-name=hub", "", "cert",
         "cert: certificate authentication needs the network's CA ('ca')"},
        {"connect=198.18.60.1|ca=/a/ca.crt|cert=/a/c.crt|key=/a/c.key|server-name=hub",
         "shared-key=0123456789abcdef", "shared-key",
         "shared-key: a certificate and a shared key exclude each other; keep one"},
        {"connect=198.18.60.1", "shared-key=short", "shared-key",
         "shared-key: too short (at least 8 characters; use a long random phrase)"},
        {"connect=198.18.60.1|magic=xyz", "", "magic", NULL},
        {"connect=198.18.60.1|compression=zip", "", "compression", NULL},
};

static NMSettingVpn *
setting_from(const char *data, const char *secrets)
{
	NMSettingVpn *s = NM_SETTING_VPN(nm_setting_vpn_new());
	g_auto(GStrv) items = g_strsplit(data, "|", -1);

	for (guint i = 0; items[i]; i++) {
		g_auto(GStrv) kv = g_strsplit(items[i], "=", 2);
		nm_setting_vpn_add_data_item(s, kv[0], kv[1]);
	}
	if (*secrets) {
		g_auto(GStrv) kv = g_strsplit(secrets, "=", 2);
		nm_setting_vpn_add_secret(s, kv[0], kv[1]);
	}
	return s;
}

static void
test_validation_table(void)
{
	for (guint i = 0; i < G_N_ELEMENTS(validation); i++) {
		g_autoptr(NMSettingVpn) s = setting_from(validation[i].data, validation[i].secrets);
		g_autoptr(GError) error = NULL;
		const char *bad = "unset";
		gboolean ok = tr_nm_validate(s, &bad, &error);

		g_test_message("%s -> %s", validation[i].data, ok ? "valid" : error->message);
		if (validation[i].bad_key == NULL) {
			g_assert_no_error(error);
			g_assert_true(ok);
			continue;
		}
		g_assert_false(ok);
		g_assert_cmpstr(bad, ==,
		                strcmp(validation[i].bad_key, "-") == 0 ? NULL
		                                                        : validation[i].bad_key);
		if (validation[i].error)
			g_assert_cmpstr(error->message, ==, validation[i].error);
		else
			g_assert_true(g_str_has_prefix(error->message, validation[i].bad_key));
	}
}

static void
test_missing_secrets(void)
{
	static const struct {
		const char *data, *secrets, *missing;
	} cases[] = {
	        {"connect=h", "", TR_NM_KEY_SHARED_KEY},
	        {"connect=h", "shared-key=0123456789abcdef", NULL},
	        {"connect=h|shared-key-flags=4", "", NULL}, /* not required */
	        {"connect=h|cert=/c|key=/k|ca=/a|server-name=hub", "", NULL},
	        {"connect=h|cert=/c|key=/k|ca=/a|server-name=hub|username=alice", "",
	         TR_NM_KEY_PASSWORD},
	        {"connect=h|cert=/c|key=/k|ca=/a|server-name=hub|username=alice", "password=pw",
	         NULL},
	        {"connect=h|cert=/c|key=/k|ca=/a|server-name=hub|username=alice|password-flags=4",
	         "", NULL},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(NMSettingVpn) s = setting_from(cases[i].data, cases[i].secrets);
		g_assert_cmpstr(tr_nm_missing_secret(s), ==, cases[i].missing);
	}
}

static void
test_client_config(void)
{
	g_autoptr(NMSettingVpn) s = setting_from(
	        "connect=198.18.60.1:3211;198.18.60.2|failback=60|username=alice|mtu=1300|type=tap|"
	        "no-dns=true",
	        "shared-key=0123456789abcdef");
	g_autoptr(GError) error = NULL;
	TrClientConfig cfg;

	nm_setting_vpn_add_secret(s, TR_NM_KEY_PASSWORD, "wonderland");
	tr_client_config_init(&cfg);
	g_assert_true(tr_nm_client_config(s, &cfg, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(cfg.connect[0], ==, "198.18.60.1:3211");
	g_assert_cmpstr(cfg.connect[1], ==, "198.18.60.2");
	g_assert_null(cfg.connect[2]);
	g_assert_cmpuint(cfg.failback_sec, ==,
	                 60); /* hubs in order, moving back after a failover */
	g_assert_cmpstr(cfg.username, ==, "alice");
	g_assert_cmpstr(cfg.password, ==, "wonderland");
	g_assert_cmpstr(cfg.tls.shared_key, ==, "0123456789abcdef");
	g_assert_cmpuint(cfg.mtu, ==, 1300);
	g_assert_cmpint(cfg.dev_type, ==, TR_DEVICE_TAP);
	g_assert_false(cfg.apply_dns);
	tr_client_config_clear(&cfg);
}

static void
test_escape_split(void)
{
	g_autofree char *e = tr_nm_value_escape(" a;b\\c\n ", TRUE);
	g_auto(GStrv) items = NULL;
	g_autofree char *joined = NULL;

	g_assert_cmpstr(e, ==, "\\sa\\;b\\\\c\\n\\s");
	joined = g_strconcat(e, ";second", NULL);
	items = tr_nm_value_split(joined);
	g_assert_cmpuint(g_strv_length(items), ==, 2);
	g_assert_cmpstr(items[0], ==, "a;b\\c");
	g_assert_cmpstr(items[1], ==, "second");
}

/* After loading the plugin and importing, as nmcli does: no toolkit here. */
static void
test_no_gtk(void)
{
	g_autofree char *maps = NULL;

	g_assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
	g_assert_null(strstr(maps, "libgtk"));
	g_assert_null(strstr(maps, "libnma"));
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *module = NULL;

	g_test_init(&argc, &argv, NULL);
	module = g_build_filename(g_getenv("TR_BUILD_ROOT"), "gui", "networkmanager",
	                          "libnm-vpn-plugin-trellis.so", NULL);
	fixtures = g_build_filename(g_getenv("TR_SOURCE_ROOT"), "gui", "networkmanager", "tests",
	                            "fixtures", NULL);
	/* Loaded the way libnm loads it for nmcli: the factory symbol only. */
	plugin = nm_vpn_editor_plugin_load_from_file(module, TR_NM_SERVICE, -1, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_nonnull(plugin);

	g_test_add_func("/nm/capabilities", test_capabilities);
	g_test_add_func("/nm/import/every-option", test_import_every_option);
	g_test_add_func("/nm/import/join-file", test_import_join_file);
	g_test_add_func("/nm/import/join-name", test_import_join_name);
	g_test_add_func("/nm/import/shared-key", test_shared_key_round_trip);
	g_test_add_func("/nm/import/password-file", test_password_file);
	g_test_add_func("/nm/import/broken", test_import_broken);
	g_test_add_func("/nm/import/broken-values", test_import_broken_values);
	g_test_add_func("/nm/import/missing-file", test_import_missing_file);
	g_test_add_func("/nm/export/other-vpn", test_export_refuses_other_vpn);
	g_test_add_func("/nm/validate/table", test_validation_table);
	g_test_add_func("/nm/validate/missing-secrets", test_missing_secrets);
	g_test_add_func("/nm/service/client-config", test_client_config);
	g_test_add_func("/nm/value/escape-split", test_escape_split);
	g_test_add_func("/nm/no-gtk", test_no_gtk);
	return g_test_run();
}
