/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trellis-tray: the desktop user's view of the Trellis networks on this
 * machine. A StatusNotifierItem (libayatana-appindicator; an XEmbed icon
 * where no StatusNotifierWatcher runs) whose icon shows the overall state
 * and whose menu lists every network, its address, hub and peers, with
 * Connect and Disconnect. Runs unprivileged: the daemons ask polkit.
 */
#include "tr-config.h"

#include "tray-daemons.h"
#include "tray-details.h"
#include "tray-join.h"
#include "tray-menu.h"
#include "tray-model.h"
#include "tray-password.h"

#include <glib/gi18n.h>
#ifdef G_OS_UNIX
#include <glib-unix.h>
#endif
#include <gtk/gtk.h>
#include <libayatana-appindicator/app-indicator.h>
#include <locale.h>

#define TRAY_APP_ID "org.trellisvpn.Tray"

typedef struct {
	GtkApplication *app;
	TrayModel *model;
	TrayDaemons *daemons;
	AppIndicator *indicator;
	GtkWidget *menu;
	GtkWidget *details;
	TrayPassword *password;
	GFileMonitor *config_monitor;
	char *config_dir;
	guint redraw;
} Tray;

static const char *
config_dir(void)
{
	const char *dir = g_getenv("TRELLIS_CONFIG_DIR");

	return dir && *dir ? dir : TR_SYSCONFDIR;
}

static void
action_failed(Tray *tray, const char *title, const GError *error)
{
	g_autoptr(GNotification) n = g_notification_new(title);
	g_autofree char *body = tray_failure_text(error);

	g_message("%s: %s", title, error->message);
	g_notification_set_body(n, body);
	g_application_send_notification(G_APPLICATION(tray->app), "action-failed", n);
}

static void
on_connect_done(const char *network, const GError *error, gpointer p)
{
	g_autofree char *title = NULL;

	if (error == NULL)
		return;
	title = g_strdup_printf(_("Could not connect to %s"), network);
	action_failed(p, title, error);
}

static void
on_disconnect_done(const char *network, const GError *error, gpointer p)
{
	g_autofree char *title = NULL;

	if (error == NULL)
		return;
	title = g_strdup_printf(_("Could not disconnect %s"), network);
	action_failed(p, title, error);
}

static void
on_password(const char *network, const char *password, gpointer p)
{
	Tray *tray = p;

	g_message("handing the password of %s to its daemon", network);
	if (tray->daemons)
		tray_daemons_set_password(tray->daemons, network, password, on_connect_done, tray);
}

static void
ask_password(Tray *tray, const char *network)
{
	TrayNetwork *net = tray_model_find(tray->model, network);
	g_autofree char *problem = net ? tray_network_error_text(net) : NULL;

	tray_password_ask(tray->password, network, net ? net->username : NULL, problem);
}

static void
on_joined(const char *summary, gpointer p)
{
	Tray *tray = p;
	g_autoptr(GNotification) n = g_notification_new(_("Joined a network"));

	g_message("joined: %s", summary);
	/* The file monitor brings the new network into the menu; say so now. */
	tray_model_scan_config_dir(tray->model, tray->config_dir);
	g_notification_set_body(n, summary);
	g_application_send_notification(G_APPLICATION(tray->app), "joined", n);
}

static void
on_menu_item(const TrayMenuEntry *e, gpointer p)
{
	Tray *tray = p;

	switch (e->action) {
	case TRAY_ACTION_CONNECT:
		g_message("connect %s", e->network);
		if (tray->daemons)
			tray_daemons_connect(tray->daemons, e->network, on_connect_done, tray);
		break;
	case TRAY_ACTION_DISCONNECT:
		g_message("disconnect %s", e->network);
		if (tray->daemons)
			tray_daemons_disconnect(tray->daemons, e->network, on_disconnect_done,
			                        tray);
		break;
	case TRAY_ACTION_PASSWORD:
		ask_password(tray, e->network);
		break;
	case TRAY_ACTION_JOIN:
		tray_join_open(tray->app, on_joined, tray);
		break;
	case TRAY_ACTION_COPY_ADDRESS:
		gtk_clipboard_set_text(gtk_clipboard_get(GDK_SELECTION_CLIPBOARD), e->data, -1);
		break;
	case TRAY_ACTION_DETAILS:
		if (tray->details == NULL) {
			tray->details = tray_details_new(tray->app, tray->model);
			g_object_add_weak_pointer(G_OBJECT(tray->details),
			                          (gpointer *)&tray->details);
		}
		gtk_widget_show_all(tray->details);
		gtk_window_present(GTK_WINDOW(tray->details));
		break;
	case TRAY_ACTION_QUIT:
		g_application_quit(G_APPLICATION(tray->app));
		break;
	case TRAY_ACTION_NONE:
	case TRAY_ACTION_SEPARATOR:
		break;
	}
}

/* Redraws once per burst of changes, from the main loop. */
static gboolean
redraw(gpointer p)
{
	Tray *tray = p;
	g_autoptr(GPtrArray) entries = tray_model_menu(tray->model);
	g_autofree char *summary = tray_model_summary(tray->model);

	tray->redraw = 0;
	tray_menu_fill(GTK_MENU(tray->menu), entries, on_menu_item, tray);
	app_indicator_set_icon_full(tray->indicator, tray_model_icon_name(tray->model), summary);
	app_indicator_set_title(tray->indicator, summary);
	if (tray->details)
		tray_details_update(tray->details, tray->model);
	g_debug("icon %s", tray_model_icon_name(tray->model));
	return G_SOURCE_REMOVE;
}

static void
on_model_changed(TrayModel *model, gpointer p)
{
	Tray *tray = p;

	if (tray->redraw == 0 && tray->indicator)
		tray->redraw = g_idle_add(redraw, tray);
}

static void
on_model_event(TrayModel *model, const TrayEvent *ev, gpointer p)
{
	Tray *tray = p;
	g_autoptr(GNotification) n = NULL;
	g_autofree char *id = g_strdup_printf("network-%s", ev->network);

	/* Asked for a password: the dialog (or the keyring) answers. */
	if (ev->kind == TRAY_EVENT_NEEDS_PASSWORD) {
		g_message("%s asks for a password", ev->network);
		if (tray->password)
			ask_password(tray, ev->network);
		return;
	}
	n = g_notification_new(ev->title);
	g_message("notification: %s%s%s", ev->title, ev->body ? ": " : "",
	          ev->body ? ev->body : "");
	if (ev->body)
		g_notification_set_body(n, ev->body);
	g_notification_set_priority(n, ev->kind == TRAY_EVENT_REFUSED
	                                       ? G_NOTIFICATION_PRIORITY_HIGH
	                                       : G_NOTIFICATION_PRIORITY_NORMAL);
	g_application_send_notification(G_APPLICATION(tray->app), id, n);
}

static void
on_config_changed(GFileMonitor *mon, GFile *file, GFile *other, GFileMonitorEvent event, gpointer p)
{
	Tray *tray = p;

	if (event == G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT ||
	    event == G_FILE_MONITOR_EVENT_DELETED || event == G_FILE_MONITOR_EVENT_CREATED ||
	    event == G_FILE_MONITOR_EVENT_MOVED_IN || event == G_FILE_MONITOR_EVENT_MOVED_OUT)
		tray_model_scan_config_dir(tray->model, tray->config_dir);
}

static gboolean
on_quit_signal(gpointer p)
{
	Tray *tray = p;

	g_application_quit(G_APPLICATION(tray->app));
	return G_SOURCE_REMOVE;
}

static void
on_startup(GApplication *app, gpointer p)
{
	Tray *tray = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) bus = NULL;
	g_autoptr(GFile) dir = NULL;
	const char *icons = g_getenv("TRELLIS_TRAY_ICON_DIR");

	/* A tray app has no window to keep it running. */
	g_application_hold(app);
	tray->menu = gtk_menu_new();
	g_object_ref_sink(tray->menu);
	tray->indicator = app_indicator_new("trellis-tray", "trellis-tray-disconnected-symbolic",
	                                    APP_INDICATOR_CATEGORY_COMMUNICATIONS);
	if (icons && *icons)
		app_indicator_set_icon_theme_path(tray->indicator, icons);
	app_indicator_set_status(tray->indicator, APP_INDICATOR_STATUS_ACTIVE);
	app_indicator_set_menu(tray->indicator, GTK_MENU(tray->menu));

	tray->password = tray_password_new(tray->app, on_password, tray);
	tray->config_dir = g_strdup(config_dir());
	dir = g_file_new_for_path(tray->config_dir);
	tray->config_monitor =
	        g_file_monitor_directory(dir, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);
	if (tray->config_monitor)
		g_signal_connect(tray->config_monitor, "changed", G_CALLBACK(on_config_changed),
		                 tray);
	tray_model_scan_config_dir(tray->model, tray->config_dir);

	bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
	if (bus == NULL)
		g_warning("no system bus (%s): running networks cannot be shown", error->message);
	else
		tray->daemons = tray_daemons_new(bus, tray->model);
	redraw(tray);
}

static void
on_activate(GApplication *app, gpointer p)
{
	/* Started again while running: nothing more to show. */
}

int
main(int argc, char **argv)
{
	Tray tray = {0};
	int status;

	setlocale(LC_ALL, "");
	/* TRELLIS_LOCALEDIR: the catalogues of a build tree (tests). */
	bindtextdomain(GETTEXT_PACKAGE, g_getenv("TRELLIS_LOCALEDIR")
	                                        ? g_getenv("TRELLIS_LOCALEDIR")
	                                        : TR_LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	g_set_application_name(_("Trellis VPN"));

	tray.model = tray_model_new(on_model_changed, on_model_event, &tray);
	tray.app = gtk_application_new(TRAY_APP_ID, (GApplicationFlags)0);
	g_signal_connect(tray.app, "startup", G_CALLBACK(on_startup), &tray);
	g_signal_connect(tray.app, "activate", G_CALLBACK(on_activate), &tray);
#ifdef G_OS_UNIX
	g_unix_signal_add(SIGINT, on_quit_signal, &tray);
	g_unix_signal_add(SIGTERM, on_quit_signal, &tray);
#endif
	status = g_application_run(G_APPLICATION(tray.app), argc, argv);

	if (tray.redraw)
		g_source_remove(tray.redraw);
	tray_daemons_free(tray.daemons);
	tray_password_free(tray.password);
	g_clear_object(&tray.config_monitor);
	g_clear_object(&tray.indicator);
	g_clear_object(&tray.menu);
	g_clear_object(&tray.app);
	tray_model_free(tray.model);
	g_free(tray.config_dir);
	return status;
}
