/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The editor as a desktop shows it: the plugin module loaded as libnm loads
 * it, its GTK 3 or GTK 4 editor (whichever this program links) in a window
 * on a real X server (Xvfb, from test-nm-editor.sh), screenshots saved.
 * Built once per toolkit from this file.
 *
 *   test-nm-editor-gtkN PLUGIN.so FIXTURE.conf OUTDIR
 */
#include "gui/networkmanager/gtk-compat.h"
#include "gui/networkmanager/settings.h"

#include <stdio.h>
#include <string.h>

#if GTK_CHECK_VERSION(4, 0, 0)
#define TOOLKIT "gtk4"
#else
#define TOOLKIT "gtk3"
#endif

static int n_ok;
static const char *outdir;
static GtkWidget *window;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("not ok - " __VA_ARGS__);                                           \
			printf("\n");                                                              \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static void
ok(const char *what)
{
	printf("ok %d - %s: %s\n", ++n_ok, TOOLKIT, what);
	fflush(stdout);
}

static void
settle(guint ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;

	while (g_get_monotonic_time() < end) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(10000);
	}
}

static GtkWidget *
find(GtkWidget *w, const char *name)
{
	GtkWidget *found = NULL;

	if (g_strcmp0(gtk_widget_get_name(w), name) == 0)
		return w;
#if GTK_CHECK_VERSION(4, 0, 0)
	for (GtkWidget *c = gtk_widget_get_first_child(w); c && !found;
	     c = gtk_widget_get_next_sibling(c))
		found = find(c, name);
#else
	if (GTK_IS_CONTAINER(w)) {
		g_autoptr(GList) children = gtk_container_get_children(GTK_CONTAINER(w));
		for (GList *l = children; l && !found; l = l->next)
			found = find(l->data, name);
		if (!found && GTK_IS_EXPANDER(w) && gtk_bin_get_child(GTK_BIN(w)))
			found = find(gtk_bin_get_child(GTK_BIN(w)), name);
	}
#endif
	return found;
}

static gboolean
has_class(GtkWidget *w, const char *cls)
{
#if GTK_CHECK_VERSION(4, 0, 0)
	return gtk_widget_has_css_class(w, cls);
#else
	return gtk_style_context_has_class(gtk_widget_get_style_context(w), cls);
#endif
}

static void
screenshot(const char *what)
{
	g_autofree char *path = g_strdup_printf("%s/editor-%s-%s.png", outdir, TOOLKIT, what);
	g_autofree char *cmd = g_strdup_printf("import -window root %s", path);
	g_autofree char *err = NULL;
	int status = 0;

	settle(400);
	CHECK(g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL) && status == 0,
	      "screenshot %s: %s", path, err ? err : "");
	printf("# screenshot %s\n", path);
}

/* Focuses the visible window titled @title_re (a regex) and types @keys, as a
 * person at the keyboard. */
static void
press(const char *title_re, const char *keys)
{
	const char *argv[] = {"sh",
	                      "-c",
	                      "w=$(xdotool search --onlyvisible --name \"$0\" | head -1) && "
	                      "[ -n \"$w\" ] && xdotool windowfocus --sync \"$w\" && sleep 0.3 && "
	                      "xdotool key \"$1\"",
	                      title_re,
	                      keys,
	                      NULL};
	int status = -1;

	settle(100);
	CHECK(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
	                   &status, NULL) &&
	              status == 0,
	      "xdotool could not type %s into '%s'", keys, title_re);
	settle(500);
}

static char *
data_of(NMConnection *c)
{
	NMSettingVpn *s = nm_connection_get_setting_vpn(c);
	g_autofree const char **keys = NULL;
	GString *out = g_string_new(NULL);
	guint n;

	keys = nm_setting_vpn_get_data_keys(s, &n);
	for (guint i = 0; i < n; i++)
		g_string_append_printf(out, "%s=%s\n", keys[i],
		                       nm_setting_vpn_get_data_item(s, keys[i]));
	return g_string_free(out, FALSE);
}

static gboolean
update(NMVpnEditor *editor, NMConnection **out, GError **error)
{
	g_autoptr(NMConnection) c = nm_simple_connection_new();

	if (!nm_vpn_editor_update_connection(editor, c, error))
		return FALSE;
	if (out)
		*out = g_steal_pointer(&c);
	return TRUE;
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(NMVpnEditorPlugin) plugin = NULL;
	g_autoptr(NMConnection) imported = NULL;
	g_autoptr(NMConnection) edited = NULL;
	g_autoptr(NMVpnEditor) editor = NULL;
	g_autofree char *before = NULL, *after = NULL;
	GtkWidget *widget, *hubs, *port, *auth, *shared_key, *error_label, *compression, *warning,
	        *advanced, *ca;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PLUGIN.so FIXTURE.conf OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[3];
#if GTK_CHECK_VERSION(4, 0, 0)
	CHECK(gtk_init_check(), "no display");
#else
	CHECK(gtk_init_check(NULL, NULL), "no display");
#endif
	plugin =
	        nm_vpn_editor_plugin_load_from_file(argv[1], TR_NM_SERVICE, -1, NULL, NULL, &error);
	CHECK(plugin, "load %s: %s", argv[1], error->message);
	imported = nm_vpn_editor_plugin_import(plugin, argv[2], &error);
	CHECK(imported, "import %s: %s", argv[2], error->message);
	editor = nm_vpn_editor_plugin_get_editor(plugin, imported, &error);
	CHECK(editor, "the plugin found no " TOOLKIT " editor: %s", error ? error->message : "");
	widget = GTK_WIDGET(nm_vpn_editor_get_widget(editor));
	ok("the plugin loaded the " TOOLKIT " editor module for an imported connection");

#if GTK_CHECK_VERSION(4, 0, 0)
	window = gtk_window_new();
	gtk_window_set_child(GTK_WINDOW(window), widget);
#else
	window = gtk_window_new(GTK_WINDOW_TOPLEVEL);
	gtk_container_add(GTK_CONTAINER(window), widget);
#endif
	gtk_window_set_title(GTK_WINDOW(window), "Trellis VPN (" TOOLKIT ")");
	gtk_window_set_default_size(GTK_WINDOW(window), 640, 560);
	advanced = g_object_get_data(G_OBJECT(widget), "tr-advanced-window");
	CHECK(advanced && find(widget, "advanced"), "no Advanced button or window");
#if GTK_CHECK_VERSION(4, 0, 0)
	gtk_window_present(GTK_WINDOW(window));
#else
	gtk_widget_show(window);
#endif
	settle(500);

	/* A person opens "Advanced…" with its mnemonic, Alt+D, and closes it with
	 * Alt+C. */
	CHECK(!gtk_widget_get_visible(advanced), "the advanced window is open from the start");
	press("^Trellis VPN \\(" TOOLKIT "\\)$", "alt+d");
	CHECK(gtk_widget_get_visible(advanced), "Alt+D did not open the advanced window");
	port = find(advanced, "port");
	compression = find(advanced, "compression");
	warning = find(advanced, "compression-warning");
	CHECK(port && compression && warning && find(advanced, "cipher") && find(advanced, "mtu") &&
	              find(advanced, "type"),
	      "a field is missing from the advanced window");
	CHECK(gtk_widget_get_visible(warning), "LZO is on and its warning is not shown");
	ok("Alt+D (typed with xdotool) opens the advanced window: cipher, compression with its "
	   "warning, MTU, port, device type");
	screenshot("advanced");
	press("^Trellis VPN: advanced settings$", "alt+c");
	CHECK(!gtk_widget_get_visible(advanced), "Alt+C did not close the advanced window");
	ok("Alt+C closes it");

	hubs = find(widget, "hubs");
	auth = find(widget, "auth");
	shared_key = find(widget, "shared-key");
	error_label = find(widget, "error");
	ca = find(widget, "ca");
	CHECK(hubs && auth && shared_key && error_label && ca, "a field is missing from the form");
	CHECK(strcmp(tr_entry_get_text(hubs), "hub-a.example.net:3210, 198.18.7.1:3300") == 0,
	      "hubs shows '%s'", tr_entry_get_text(hubs));
	CHECK(gtk_combo_box_get_active(GTK_COMBO_BOX(auth)) == 1, "authentication is not "
	                                                          "'Certificate and password'");
	CHECK(gtk_widget_get_visible(ca) && !gtk_widget_get_visible(shared_key),
	      "certificate fields hidden or shared key shown");
	ok("the form shows the imported hubs, 'Certificate and password' and the CA");
	screenshot("imported");

	/* Nothing touched: the connection comes back as it went in, keys the
	 * form does not show (subnets, magic, tuning) included. */
	CHECK(update(editor, &edited, &error), "unchanged form refused: %s", error->message);
	before = data_of(imported);
	after = data_of(edited);
	CHECK(strcmp(before, after) == 0, "the form changed the connection:\n%s---\n%s", before,
	      after);
	ok("an untouched form gives back the connection unchanged, keys it does not show included");

	/* A person empties the hubs: refused at the field, with the reason. */
	tr_entry_set_text(hubs, "");
	settle(100);
	CHECK(!update(editor, NULL, &error), "no hub accepted");
	CHECK(strstr(error->message, "'connect'") != NULL, "error: %s", error->message);
	CHECK(has_class(hubs, "error"), "the hubs field is not marked");
	CHECK(gtk_widget_get_visible(error_label) &&
	              strcmp(gtk_label_get_text(GTK_LABEL(error_label)), error->message) == 0,
	      "the reason is not shown beside the form");
	ok("no hub: the hubs field is marked and the form says why");
	screenshot("invalid");
	g_clear_error(&error);

	/* Two hubs without ports, port 3300 in Advanced. */
	tr_entry_set_text(hubs, "hub-b.example.net, 198.18.7.9");
	gtk_spin_button_set_value(GTK_SPIN_BUTTON(port), 3300);
	settle(100);
	g_clear_object(&edited);
	CHECK(update(editor, &edited, &error), "refused: %s", error->message);
	CHECK(!has_class(hubs, "error") && !gtk_widget_get_visible(error_label),
	      "mark not cleared");
	CHECK(strcmp(nm_setting_vpn_get_data_item(nm_connection_get_setting_vpn(edited), "connect"),
	             "hub-b.example.net:3300;198.18.7.9:3300") == 0,
	      "connect = %s",
	      nm_setting_vpn_get_data_item(nm_connection_get_setting_vpn(edited), "connect"));
	ok("hubs 'hub-b.example.net, 198.18.7.9' with port 3300 -> connect = "
	   "hub-b.example.net:3300;198.18.7.9:3300");

	/* Shared key: the certificate fields go, the key field comes, and a short
	 * key is refused there. */
	gtk_combo_box_set_active(GTK_COMBO_BOX(auth), 2);
	gtk_combo_box_set_active(GTK_COMBO_BOX(compression), 0);
	settle(100);
	CHECK(!gtk_widget_get_visible(ca) && gtk_widget_get_visible(shared_key),
	      "shared-key mode shows the wrong fields");
	CHECK(!gtk_widget_get_visible(warning), "compression off and the warning still shown");
	tr_entry_set_text(shared_key, "short");
	settle(100);
	CHECK(!update(editor, NULL, &error), "a 5-character shared key accepted");
	CHECK(has_class(shared_key, "error") && strstr(error->message, "too short"),
	      "short key: %s", error->message);
	ok("shared key 'short': marked at the field, 'too short (at least 8 characters...)'");
	screenshot("shared-key-invalid");
	g_clear_error(&error);
	tr_entry_set_text(shared_key, "correct-horse-battery-staple");
	settle(100);
	g_clear_object(&edited);
	CHECK(update(editor, &edited, &error), "refused: %s", error ? error->message : "");
	CHECK(nm_setting_vpn_get_data_item(nm_connection_get_setting_vpn(edited), "cert") == NULL &&
	              g_strcmp0(nm_setting_vpn_get_secret(nm_connection_get_setting_vpn(edited),
	                                                  TR_NM_KEY_SHARED_KEY),
	                        "correct-horse-battery-staple") == 0,
	      "shared-key connection wrong");
	ok("a good shared key: the connection has the secret and no certificate");
	screenshot("shared-key");

	printf("1..%d\n", n_ok);
	return 0;
}
