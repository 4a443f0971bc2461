/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tray's model, with no display: daemon states, status documents and
 * errors in; the icon, the tooltip, the menu's entries and the
 * notifications out.
 */
#include "gui/tray/tray-model.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
	TrayModel *model;
	guint changes;
	GPtrArray *events; /* "KIND|title|body" */
} Fixture;

static void
on_changed(TrayModel *m, gpointer p)
{
	((Fixture *)p)->changes++;
}

static void
on_event(TrayModel *m, const TrayEvent *ev, gpointer p)
{
	static const char *const kinds[] = {"connected", "disconnected", "reconnecting", "refused",
	                                    "needs-password"};
	Fixture *f = p;

	g_ptr_array_add(f->events, g_strdup_printf("%s|%s|%s", kinds[ev->kind], ev->title,
	                                           ev->body ? ev->body : ""));
}

static void
setup(Fixture *f, gconstpointer data)
{
	f->model = tray_model_new(on_changed, on_event, f);
	f->events = g_ptr_array_new_with_free_func(g_free);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	tray_model_free(f->model);
	g_ptr_array_unref(f->events);
}

/* The menu as text: one line per entry, "[action] label", "---" for a
 * separator, "*" before a header. */
static char *
menu_text(TrayModel *m)
{
	static const char *const actions[] = {"",           "[connect] ",  "[disconnect] ",
	                                      "[copy] ",    "[password] ", "[join] ",
	                                      "[details] ", "[quit] ",     ""};
	g_autoptr(GPtrArray) menu = tray_model_menu(m);
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < menu->len; i++) {
		const TrayMenuEntry *e = menu->pdata[i];
		if (e->action == TRAY_ACTION_SEPARATOR) {
			g_string_append(out, "---\n");
			continue;
		}
		g_string_append_printf(out, "%s%s%s%s%s\n", e->header ? "*" : "",
		                       actions[e->action], e->label, e->data ? " = " : "",
		                       e->data ? e->data : "");
	}
	return g_string_free(out, FALSE);
}

static const char client_connected[] =
        "{\"role\":\"client\",\"state\":\"connected\",\"server\":\"198.18.1.1:3210\","
        "\"device\":\"trellis0\",\"drops\":0,\"identity\":\"laptop\","
        "\"addresses\":[\"198.19.0.2/24\",\"fd00:7472::2/64\"],\"mtu\":1420,"
        "\"path\":\"udp\",\"endpoint\":\"198.18.1.1:3210\",\"established\":1795327200}";

static void
test_empty(Fixture *f, gconstpointer data)
{
	g_autofree char *menu = menu_text(f->model);
	g_autofree char *summary = tray_model_summary(f->model);

	g_assert_cmpstr(
	        menu, ==,
	        "No Trellis networks\n---\n[join] Join a network…\n[details] Details…\n---\n"
	        "[quit] Quit\n");
	g_assert_cmpstr(tray_model_icon_name(f->model), ==, "trellis-tray-disconnected-symbolic");
	g_assert_cmpstr(summary, ==, "Trellis: no networks");
}

static void
test_connected_client(Fixture *f, gconstpointer data)
{
	g_autofree char *menu = NULL;
	g_autofree char *summary = NULL;

	tray_model_daemon_state(f->model, "home", "connecting");
	g_assert_cmpstr(tray_model_icon_name(f->model), ==, "trellis-tray-connecting-symbolic");
	tray_model_daemon_status(f->model, "home", client_connected);
	menu = menu_text(f->model);
	g_assert_cmpstr(menu, ==,
	                "*home — Connected\n"
	                "Address: 198.19.0.2\n"
	                "Hub: 198.18.1.1:3210 — direct\n"
	                "[disconnect] Disconnect\n"
	                "[copy] Copy address = 198.19.0.2\n"
	                "---\n"
	                "[join] Join a network…\n[details] Details…\n---\n[quit] Quit\n");
	g_assert_cmpstr(tray_model_icon_name(f->model), ==, "trellis-tray-connected-symbolic");
	summary = tray_model_summary(f->model);
	g_assert_cmpstr(summary, ==, "home: Connected (198.19.0.2)");
	/* The first state seen is not news; connecting → connected is. */
	g_assert_cmpuint(f->events->len, ==, 1);
	g_assert_cmpstr(f->events->pdata[0], ==,
	                "connected|Connected to home|Your address is 198.19.0.2.");
	g_assert_cmpuint(f->changes, ==, 2);
	/* Read again, the same: the menu is not redrawn. */
	tray_model_daemon_status(f->model, "home", client_connected);
	g_assert_cmpuint(f->changes, ==, 2);
}

/* The state comes before the status: "Connected" waits for the address. */
static void
test_connected_waits_for_address(Fixture *f, gconstpointer data)
{
	tray_model_daemon_state(f->model, "home", "hello");
	tray_model_daemon_state(f->model, "home", "connected");
	g_assert_cmpuint(f->events->len, ==, 0);
	tray_model_daemon_status(f->model, "home", client_connected);
	g_assert_cmpuint(f->events->len, ==, 1);
	g_assert_cmpstr(f->events->pdata[0], ==,
	                "connected|Connected to home|Your address is 198.19.0.2.");
	/* Refreshed status: nothing new to tell. */
	tray_model_daemon_status(f->model, "home", client_connected);
	g_assert_cmpuint(f->events->len, ==, 1);
}

static void
test_disconnect_and_back(Fixture *f, gconstpointer data)
{
	g_autofree char *menu = NULL;

	tray_model_daemon_status(f->model, "home", client_connected);
	tray_model_daemon_state(f->model, "home", "stopped");
	menu = menu_text(f->model);
	g_assert_true(g_str_has_prefix(menu, "*home — Disconnected\n[connect] Connect\n---\n"));
	g_assert_cmpstr(tray_model_icon_name(f->model), ==, "trellis-tray-disconnected-symbolic");
	g_assert_cmpuint(f->events->len, ==, 1);
	g_assert_cmpstr(f->events->pdata[0], ==, "disconnected|Disconnected from home|");
	tray_model_daemon_status(f->model, "home", client_connected);
	g_assert_cmpuint(f->events->len, ==, 2);
	g_assert_cmpstr(tray_model_icon_name(f->model), ==, "trellis-tray-connected-symbolic");
}

static void
test_reconnecting(Fixture *f, gconstpointer data)
{
	g_autofree char *menu = NULL;

	tray_model_daemon_status(f->model, "home", client_connected);
	tray_model_daemon_error(f->model, "home", "network",
	                        "connection to 198.18.1.1:3210 lost: EOF");
	tray_model_daemon_state(f->model, "home", "idle");
	menu = menu_text(f->model);
	g_assert_true(g_str_has_prefix(menu, "*home — Reconnecting…\n"
	                                     "The connection to the hub was lost.\n"
	                                     "[disconnect] Disconnect\n---\n"));
	g_assert_cmpstr(tray_model_icon_name(f->model), ==, "trellis-tray-connecting-symbolic");
	g_assert_cmpuint(f->events->len, ==, 1);
	g_assert_cmpstr(f->events->pdata[0], ==,
	                "reconnecting|Reconnecting to home|The connection to the hub was lost.");
	/* Back: the error is over. */
	tray_model_daemon_status(f->model, "home", client_connected);
	g_assert_null(tray_model_find(f->model, "home")->error_kind);
}

/* Refusals in plain words, whatever the daemon's words were. */
static void
test_refused(Fixture *f, gconstpointer data)
{
	static const struct {
		const char *message, *text;
	} cases[] = {
	        {"server 198.18.1.1:3210 refused: certificate is not signed by the CA "
	         "(GNUTLS_CERT_SIGNER_NOT_FOUND)",
	         "The hub's certificate is from another network, or names another hub."},
	        {"invalid username or password", "Wrong user name or password."},
	        {"certificate revoked", "This device's certificate was revoked by the network."},
	        {"identity refused",
	         "The hub refused this device: its certificate is not accepted."},
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *menu = NULL;
		g_autofree char *expect =
		        g_strdup_printf("*work — Failed\n%s\n[connect] Connect\n", cases[i].text);
		g_autofree char *event =
		        g_strdup_printf("refused|Could not connect to work|%s", cases[i].text);

		g_ptr_array_set_size(f->events, 0);
		/* The first thing heard of it: refused, still told. */
		if (i > 0)
			tray_model_daemon_state(f->model, "work", "connecting");
		tray_model_daemon_error(f->model, "work", "refused", cases[i].message);
		/* The client gives up and exits: its name leaves the bus. */
		tray_model_daemon_state(f->model, "work", NULL);
		menu = menu_text(f->model);
		g_assert_true(g_str_has_prefix(menu, expect));
		g_assert_null(strstr(menu, "GNUTLS"));
		g_assert_cmpstr(tray_model_icon_name(f->model), ==, "trellis-tray-error-symbolic");
		g_assert_cmpuint(f->events->len, ==, 1);
		g_assert_cmpstr(f->events->pdata[0], ==, event);
		tray_model_daemon_error(f->model, "work", NULL, NULL);
	}
}

/* A daemon waiting for the user's password; a wrong one; the right one. */
static void
test_password(Fixture *f, gconstpointer data)
{
	g_autofree char *menu = NULL;

	/* Asked at once, even as the first state seen (the tray just started). */
	tray_model_daemon_state(f->model, "lab", "needs-password");
	g_assert_cmpuint(f->events->len, ==, 1);
	g_assert_cmpstr(f->events->pdata[0], ==, "needs-password|Password for lab|");
	menu = menu_text(f->model);
	g_assert_true(g_str_has_prefix(
	        menu, "*lab — Password needed\n[password] Enter password…\n---\n"));
	g_assert_cmpstr(tray_model_icon_name(f->model), ==, "trellis-tray-error-symbolic");
	g_clear_pointer(&menu, g_free);
	/* Handed over; the hub refuses it: told why, asked again. */
	tray_model_daemon_state(f->model, "lab", "hello");
	tray_model_daemon_error(f->model, "lab", "refused", "invalid username or password");
	tray_model_daemon_state(f->model, "lab", "needs-password");
	g_assert_cmpstr(f->events->pdata[f->events->len - 1], ==,
	                "needs-password|Password for lab|Wrong user name or password.");
	menu = menu_text(f->model);
	g_assert_true(g_str_has_prefix(menu, "*lab — Password needed\n"
	                                     "Wrong user name or password.\n"
	                                     "[password] Enter password…\n"));
	/* The right one. */
	tray_model_daemon_state(f->model, "lab", "tls");
	tray_model_daemon_status(
	        f->model, "lab",
	        "{\"role\":\"client\",\"state\":\"connected\",\"username\":\"alice\","
	        "\"addresses\":[\"198.19.1.2/24\"]}");
	g_assert_cmpstr(tray_model_find(f->model, "lab")->username, ==, "alice");
	g_assert_null(tray_model_find(f->model, "lab")->error_kind);
	g_assert_cmpstr(f->events->pdata[f->events->len - 1], ==,
	                "connected|Connected to lab|Your address is 198.19.1.2.");
}

static void
test_hub_and_peers(Fixture *f, gconstpointer data)
{
	g_autofree char *menu = NULL;

	tray_model_daemon_status(
	        f->model, "office",
	        "{\"role\":\"hub\",\"device\":\"trellis0\",\"port\":3210,\"peers\":["
	        "{\"kind\":\"client\",\"identity\":\"c1\",\"addresses\":[\"198.19.0.2/24\"],"
	        "\"path\":\"udp\",\"endpoint\":\"198.18.1.2:51000\",\"rtt_us\":12000},"
	        "{\"kind\":\"client\",\"identity\":\"c2\",\"addresses\":[\"198.19.0.3/24\"],"
	        "\"path\":\"tcp\"}]}");
	menu = menu_text(f->model);
	/* A hub has no Connect/Disconnect: it is a service, not a session. */
	g_assert_cmpstr(menu, ==,
	                "*office — Hub running\n"
	                "c1 (198.19.0.2/24) — direct, 12.0 ms\n"
	                "c2 (198.19.0.3/24) — over TCP\n"
	                "---\n"
	                "[join] Join a network…\n[details] Details…\n---\n[quit] Quit\n");
	g_assert_cmpuint(f->events->len, ==, 0);
}

/* A client's pairs (the mesh): each with its path in words and its RTT. */
static void
test_client_pairs(Fixture *f, gconstpointer data)
{
	g_autofree char *menu = NULL;
	g_autofree char *details = NULL;

	tray_model_daemon_status(
	        f->model, "home",
	        "{\"role\":\"client\",\"state\":\"connected\",\"server\":\"198.18.1.1:3210\","
	        "\"addresses\":[\"198.19.0.2/24\"],\"path\":\"tcp\",\"pairs\":["
	        "{\"peer\":\"b\",\"addresses\":[\"198.19.0.3/32\"],\"path\":\"direct\","
	        "\"endpoint\":\"198.18.2.2:40000\",\"rtt_us\":420},"
	        "{\"peer\":\"c\",\"addresses\":[\"198.19.0.4/32\"],\"path\":\"relayed\"},"
	        "{\"peer\":\"d\",\"addresses\":[\"198.19.0.5/32\"],\"path\":\"tcp\"},"
	        "{\"peer\":\"e\",\"path\":\"hub\"}]}");
	menu = menu_text(f->model);
	g_assert_cmpstr(menu, ==,
	                "*home — Connected\n"
	                "Address: 198.19.0.2\n"
	                "Hub: 198.18.1.1:3210 — over TCP\n"
	                "b (198.19.0.3/32) — direct, 0.4 ms\n"
	                "c (198.19.0.4/32) — relayed\n"
	                "d (198.19.0.5/32) — relayed over TCP\n"
	                "e — through the hub\n"
	                "[disconnect] Disconnect\n"
	                "[copy] Copy address = 198.19.0.2\n"
	                "---\n"
	                "[join] Join a network…\n[details] Details…\n---\n[quit] Quit\n");
	details = tray_network_describe(tray_model_find(f->model, "home"));
	g_assert_nonnull(strstr(details, "Peer: b, direct, 198.18.2.2:40000\n"));
	g_assert_nonnull(strstr(details, "Peer: d, relayed over TCP\n"));
}

static void
test_overall_state(Fixture *f, gconstpointer data)
{
	tray_model_daemon_state(f->model, "a", "stopped");
	g_assert_cmpint(tray_model_state(f->model), ==, TRAY_STATE_DISCONNECTED);
	tray_model_daemon_error(f->model, "b", "refused", "x");
	g_assert_cmpint(tray_model_state(f->model), ==, TRAY_STATE_ERROR);
	tray_model_daemon_status(f->model, "c", client_connected);
	g_assert_cmpint(tray_model_state(f->model), ==, TRAY_STATE_CONNECTED);
	tray_model_daemon_state(f->model, "d", "tls");
	g_assert_cmpint(tray_model_state(f->model), ==, TRAY_STATE_CONNECTING);
}

static void
test_config_dir(Fixture *f, gconstpointer data)
{
	g_autofree char *dir = g_dir_make_tmp("tray-model-XXXXXX", NULL);
	g_autofree char *a = g_build_filename(dir, "home.conf", NULL);
	g_autofree char *b = g_build_filename(dir, "office.conf", NULL);
	g_autofree char *c = g_build_filename(dir, "notes.txt", NULL);
	g_autofree char *menu = NULL;
	g_autoptr(GPtrArray) nets = NULL;

	g_assert_true(g_file_set_contents(a, "[client]\nconnect = 198.18.1.1\n", -1, NULL));
	g_assert_true(g_file_set_contents(b, "[server]\n", -1, NULL));
	g_assert_true(g_file_set_contents(c, "not a network\n", -1, NULL));
	tray_model_scan_config_dir(f->model, dir);
	nets = tray_model_networks(f->model);
	g_assert_cmpuint(nets->len, ==, 2);
	g_assert_cmpstr(((TrayNetwork *)nets->pdata[0])->name, ==, "home");
	g_assert_cmpstr(((TrayNetwork *)nets->pdata[0])->role, ==, "client");
	g_assert_cmpstr(((TrayNetwork *)nets->pdata[1])->role, ==, "hub");
	menu = menu_text(f->model);
	g_assert_true(g_str_has_prefix(
	        menu, "*home — Off\n[connect] Connect\n---\n*office — Off\n---\n"));
	/* A running daemon of a configured network: the tray just started,
	 * no news. Then the file goes. */
	tray_model_daemon_status(f->model, "home", client_connected);
	g_assert_cmpuint(f->events->len, ==, 0);
	g_unlink(a);
	g_unlink(b);
	g_unlink(c);
	tray_model_scan_config_dir(f->model, dir);
	g_assert_nonnull(tray_model_find(f->model, "home"));
	g_assert_null(tray_model_find(f->model, "office"));
	/* Its daemon leaves too: nothing left. */
	tray_model_daemon_state(f->model, "home", NULL);
	g_assert_null(tray_model_find(f->model, "home"));
	g_rmdir(dir);
}

static void
test_bad_status(Fixture *f, gconstpointer data)
{
	g_autoptr(TrayNetwork) net = tray_network_new("x");
	g_autoptr(GError) error = NULL;

	g_assert_false(tray_network_set_status(net, "[1,2]", &error));
	g_assert_cmpstr(error->message, ==, "status of x: expected a JSON object");
	g_clear_error(&error);
	g_assert_false(tray_network_set_status(net, "{\"role\":", &error));
	g_assert_true(g_str_has_prefix(error->message, "status of x: "));
	/* Wrong types are ignored, not trusted. */
	g_assert_true(tray_network_set_status(
	        net,
	        "{\"role\":\"client\",\"state\":\"connected\",\"addresses\":[1,\"a/1\"],"
	        "\"server\":7}",
	        NULL));
	g_assert_cmpstr(net->addresses[0], ==, "a/1");
	g_assert_null(net->hub);
}

static void
test_describe(Fixture *f, gconstpointer data)
{
	g_autofree char *text = NULL;

	tray_model_daemon_status(f->model, "home", client_connected);
	tray_model_daemon_log(
	        f->model, "home",
	        (const char *const[]){"07:00:01 notice: connected to 198.18.1.1", NULL});
	text = tray_network_describe(tray_model_find(f->model, "home"));
	g_assert_cmpstr(text, ==,
	                "Network: home\nState: Connected\nDaemon state: connected\n"
	                "Identity: laptop\nHub: 198.18.1.1:3210\nAddress: 198.19.0.2/24\n"
	                "Address: fd00:7472::2/64\nPeer: 198.18.1.1:3210, direct, 198.18.1.1:3210\n"
	                "Recent log:\n  07:00:01 notice: connected to 198.18.1.1\n");
}

int
main(int argc, char **argv)
{
	g_setenv("LANGUAGE", "C", TRUE);
	g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add(name, Fixture, NULL, setup, fn, teardown)
	ADD("/tray-model/empty", test_empty);
	ADD("/tray-model/connected-client", test_connected_client);
	ADD("/tray-model/connected-waits-for-address", test_connected_waits_for_address);
	ADD("/tray-model/disconnect-and-back", test_disconnect_and_back);
	ADD("/tray-model/reconnecting", test_reconnecting);
	ADD("/tray-model/refused", test_refused);
	ADD("/tray-model/password", test_password);
	ADD("/tray-model/hub-and-peers", test_hub_and_peers);
	ADD("/tray-model/client-pairs", test_client_pairs);
	ADD("/tray-model/overall-state", test_overall_state);
	ADD("/tray-model/config-dir", test_config_dir);
	ADD("/tray-model/bad-status", test_bad_status);
	ADD("/tray-model/describe", test_describe);
	return g_test_run();
}
