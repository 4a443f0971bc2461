/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port mapping, the parts that need no router: the settings from the real
 * option tables (on by default; --no-port-forwarding; port-forwarding =
 * false in a file), the status JSON, the endpoint API, the worker's
 * lifetime, and which external addresses mean "behind another NAT". Nothing
 * here sends a packet (no port is ever set): the protocol work against a
 * real router is tests/netns/test-portmap.sh.
 */
#include "common/portmap/private.h"

#include "client/options.h"
#include "common/base/error.h"
#include "server/options.h"

#include <json-glib/json-glib.h>
#include <string.h>

static TrPortmapSettings
settings_from(const char *file_text, const char *arg)
{
	g_autoptr(TrOptions) o =
	        tr_options_new("trellis-server", tr_server_options, tr_server_n_options);
	g_autoptr(GError) error = NULL;
	TrPortmapSettings s;

	if (arg) {
		char *argv_data[] = {(char *)"trellis-server", (char *)arg, NULL};
		char **argv = argv_data;
		int argc = 2;

		g_assert_true(tr_options_parse_args(o, &argc, &argv, "- test", NULL, &error));
		g_assert_no_error(error);
	}
	if (file_text) {
		g_assert_true(tr_options_load_data(o, file_text, strlen(file_text), "test.conf",
		                                   "server", &error));
		g_assert_no_error(error);
	}
	tr_portmap_settings_from_options(o, &s);
	return s;
}

static void
test_settings(void)
{
	TrPortmapSettings s = settings_from(NULL, NULL);

	g_assert_true(s.enabled);
	g_assert_cmpuint(s.check_sec, ==, TR_PORTMAP_CHECK_DEFAULT);
	g_assert_cmpuint(s.lease_sec, ==, TR_PORTMAP_LEASE_DEFAULT);

	s = settings_from(NULL, "--no-port-forwarding");
	g_assert_false(s.enabled);
	s = settings_from("[server]\nport-forwarding = false\n", NULL);
	g_assert_false(s.enabled);
	s = settings_from("[server]\nno-port-forwarding = true\n", NULL);
	g_assert_false(s.enabled);
	s = settings_from("[server]\nport-forwarding = true\nport-forwarding-interval = 7\n", NULL);
	g_assert_true(s.enabled);
	g_assert_cmpuint(s.check_sec, ==, 7);
}

static void
test_bad_interval(void)
{
	g_autoptr(TrOptions) o =
	        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
	g_autoptr(GError) error = NULL;
	const char *text = "[client]\nport-forwarding-interval = 1\n";

	g_assert_false(tr_options_load_data(o, text, strlen(text), "c.conf", "client", &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, "c.conf:2"));
	g_assert_nonnull(strstr(error->message, "2 to 3600"));
}

static JsonObject *
stats_object(TrPortmap *pm, gboolean enabled, JsonParser *parser)
{
	g_autoptr(GString) out = g_string_new("{");
	gboolean first = TRUE;
	g_autoptr(GError) error = NULL;

	tr_portmap_stats_json(pm, enabled, out, &first);
	g_string_append_c(out, '}');
	g_assert_true(json_parser_load_from_data(parser, out->str, -1, &error));
	g_assert_no_error(error);
	return json_object_get_object_member(json_node_get_object(json_parser_get_root(parser)),
	                                     "port_mapping");
}

static void
test_status_off_and_idle(void)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	TrPortmapSettings s;
	TrPortmapStatus st;
	TrPortmap *pm;
	struct sockaddr_storage ss;
	socklen_t len = 0;
	gint64 t0;

	g_assert_cmpstr(json_object_get_string_member(stats_object(NULL, FALSE, parser), "state"),
	                ==, "disabled");
	g_assert_cmpstr(json_object_get_string_member(stats_object(NULL, TRUE, parser), "state"),
	                ==, "idle");
	g_assert_false(tr_portmap_get_endpoint(NULL, &ss, &len, NULL));

	tr_portmap_settings_init(&s);
	pm = tr_portmap_new(&s, "Trellis test", TRUE);
	tr_portmap_get_status(pm, &st);
	g_assert_cmpint(st.state, ==, TR_PORTMAP_OFF);
	g_assert_cmpstr(json_object_get_string_member(stats_object(pm, TRUE, parser), "state"), ==,
	                "idle");
	g_assert_false(json_object_has_member(stats_object(pm, TRUE, parser), "external_address"));
	g_assert_false(tr_portmap_get_endpoint(pm, &ss, &len, NULL));
	/* No port, no gateway: freeing does not wait. */
	t0 = g_get_monotonic_time();
	tr_portmap_free(pm);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC);
}

static void
test_private_addresses(void)
{
	const char *behind[] = {"10.1.2.3",    "100.64.0.1",  "100.127.255.254", "172.16.0.1",
	                        "172.31.9.9",  "192.168.1.1", "198.18.101.1",    "198.19.0.1",
	                        "169.254.1.1", "127.0.0.1",   "0.0.0.0",         "192.0.2.7"};
	const char *outside[] = {"100.128.0.1", "172.32.0.1", "198.20.0.1", "203.0.114.1",
	                         "11.0.0.1"};

	for (guint i = 0; i < G_N_ELEMENTS(behind); i++)
		g_assert_true(tr_pm_address_is_private(behind[i]));
	for (guint i = 0; i < G_N_ELEMENTS(outside); i++)
		g_assert_false(tr_pm_address_is_private(outside[i]));
	g_assert_false(tr_pm_address_is_private("not an address"));
	g_assert_false(tr_pm_address_is_private(""));
}

static void
test_names(void)
{
	g_assert_cmpstr(tr_portmap_protocol_name(TR_PORTMAP_PROTO_UPNP), ==, "upnp");
	g_assert_cmpstr(tr_portmap_protocol_name(TR_PORTMAP_PROTO_NATPMP), ==, "nat-pmp");
	g_assert_cmpstr(tr_portmap_state_name(TR_PORTMAP_MAPPED), ==, "mapped");
	g_assert_cmpstr(tr_portmap_state_name(TR_PORTMAP_FAILED), ==, "failed");
	g_assert_cmpstr(tr_portmap_state_name(TR_PORTMAP_SEARCHING), ==, "searching");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/portmap/settings", test_settings);
	g_test_add_func("/portmap/bad-interval", test_bad_interval);
	g_test_add_func("/portmap/status-off-and-idle", test_status_off_and_idle);
	g_test_add_func("/portmap/private-addresses", test_private_addresses);
	g_test_add_func("/portmap/names", test_names);
	return g_test_run();
}
