/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemons on Windows, where there is no system bus: every daemon writes
 * a control file, PROGRAM-NETWORK.sock, into the control directory
 * (C:\ProgramData\Trellis\run), holding the D-Bus address it serves its
 * control interface on (docs/WINDOWS.md, "control interface"). The tray
 * looks at the directory every few seconds, opens a peer-to-peer D-Bus
 * connection to each daemon, follows its signals and status into the model
 * and calls its methods. A configured network without a daemon is started
 * as its Windows service (TrellisClient$NETWORK).
 */
#include "tray-daemons.h"

#include "common/daemon/bus.h"
#include "platform/windows/access.h"
#include "platform/windows/service-name.h"

#include <string.h>
#include <windows.h>

/* How often the directory is looked at, and the status read again. */
#define SCAN_SECONDS    2
#define REFRESH_SECONDS 5
#define LOG_LINES       30
#define CALL_TIMEOUT_MS 5000
/* Connect may wait for the daemon's first answer. */
#define ACTION_TIMEOUT_MS (60 * 1000)

typedef struct {
	TrayDaemons *daemons;
	char *file;    /* the control file */
	char *network; /* from the file's name, then the Network property */
	GDBusConnection *conn;
	guint signal_sub;
	gulong closed_id;
	gboolean running; /* told the model */
	GCancellable *cancel;
} Daemon;

struct _TrayDaemons {
	char *dir;
	TrayModel *model;
	GHashTable *daemons; /* control file → Daemon */
	guint scan, refresh;
	gboolean told; /* that the directory cannot be read */
};

/* "trellis-client-office.sock" → "office"; NULL for other files. */
static char *
network_of(const char *file)
{
	static const char *const programs[] = {"trellis-client-", "trellis-server-"};

	if (!g_str_has_suffix(file, ".sock"))
		return NULL;
	for (gsize i = 0; i < G_N_ELEMENTS(programs); i++) {
		gsize len = strlen(programs[i]);
		if (g_str_has_prefix(file, programs[i]) && strlen(file) > len + 5)
			return g_strndup(file + len, strlen(file) - len - 5);
	}
	return NULL;
}

static void
daemon_free(gpointer p)
{
	Daemon *d = p;

	/* Replies on their way see the cancellation and touch nothing. */
	g_cancellable_cancel(d->cancel);
	g_object_unref(d->cancel);
	if (d->conn) {
		g_dbus_connection_signal_unsubscribe(d->conn, d->signal_sub);
		g_signal_handler_disconnect(d->conn, d->closed_id);
		/* The connection closes with its last reference. */
		g_object_unref(d->conn);
	}
	g_free(d->file);
	g_free(d->network);
	g_free(d);
}

/* The daemon went away (its file, or its connection): the model hears it. */
static void
forget(TrayDaemons *t, Daemon *d)
{
	g_autofree char *network = g_strdup(d->network);
	gboolean running = d->running;

	g_hash_table_remove(t->daemons, d->file);
	if (running)
		tray_model_daemon_state(t->model, network, NULL);
}

static Daemon *
by_network(TrayDaemons *t, const char *network)
{
	GHashTableIter it;
	Daemon *d;

	g_hash_table_iter_init(&it, t->daemons);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&d))
		if (d->conn && g_strcmp0(d->network, network) == 0)
			return d;
	return NULL;
}

static gboolean
cancelled(const GError *error)
{
	return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
on_status(GObject *src, GAsyncResult *res, gpointer p)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &error);
	Daemon *d = p;
	const char *json;

	if (cancelled(error))
		return;
	if (v == NULL) {
		g_debug("GetStatus of %s: %s", d->network, error->message);
		return;
	}
	g_variant_get(v, "(&s)", &json);
	tray_model_daemon_status(d->daemons->model, d->network, json);
}

static void
on_log(GObject *src, GAsyncResult *res, gpointer p)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &error);
	g_autofree const char **lines = NULL;
	Daemon *d = p;

	if (v == NULL)
		return;
	g_variant_get(v, "(^a&s)", &lines);
	tray_model_daemon_log(d->daemons->model, d->network, lines);
}

static void
refresh_status(Daemon *d)
{
	g_dbus_connection_call(d->conn, NULL, TR_BUS_PATH, TR_BUS_INTERFACE, "GetStatus", NULL,
	                       G_VARIANT_TYPE("(s)"), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS,
	                       d->cancel, on_status, d);
	g_dbus_connection_call(d->conn, NULL, TR_BUS_PATH, TR_BUS_INTERFACE, "GetLog",
	                       g_variant_new("(u)", LOG_LINES), G_VARIANT_TYPE("(as)"),
	                       G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, d->cancel, on_log, d);
}

static void
on_signal(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
          const char *signal, GVariant *params, gpointer p)
{
	Daemon *d = p;

	if (!d->running)
		return;
	if (g_str_equal(signal, "StateChanged") &&
	    g_variant_is_of_type(params, G_VARIANT_TYPE("(s)"))) {
		const char *state;
		g_variant_get(params, "(&s)", &state);
		tray_model_daemon_state(d->daemons->model, d->network, state);
		refresh_status(d);
	} else if (g_str_equal(signal, "PeersChanged")) {
		refresh_status(d);
	} else if (g_str_equal(signal, "Error") &&
	           g_variant_is_of_type(params, G_VARIANT_TYPE("(ss)"))) {
		const char *kind, *message;
		g_variant_get(params, "(&s&s)", &kind, &message);
		tray_model_daemon_error(d->daemons->model, d->network, kind, message);
	}
}

static void
on_closed(GDBusConnection *conn, gboolean remote, GError *error, gpointer p)
{
	Daemon *d = p;

	g_message("the daemon of %s closed its control connection", d->network);
	forget(d->daemons, d);
}

static void
on_properties(GObject *src, GAsyncResult *res, gpointer p)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &error);
	g_autoptr(GVariant) props = NULL;
	const char *network = NULL, *state = NULL, *kind = "", *message = "";
	Daemon *d = p;

	if (cancelled(error))
		return;
	if (v == NULL) {
		g_warning("cannot read the properties of the daemon of %s: %s", d->network,
		          error->message);
		return;
	}
	props = g_variant_get_child_value(v, 0);
	g_variant_lookup(props, "Network", "&s", &network);
	g_variant_lookup(props, "State", "&s", &state);
	g_variant_lookup(props, "LastError", "(&s&s)", &kind, &message);
	if (state == NULL) {
		g_warning("the daemon of %s has no State", d->network);
		return;
	}
	if (network && *network) {
		g_free(d->network);
		d->network = g_strdup(network);
	}
	d->running = TRUE;
	g_message("found the daemon of %s (%s)", d->network, state);
	if (*kind)
		tray_model_daemon_error(d->daemons->model, d->network, kind, message);
	tray_model_daemon_state(d->daemons->model, d->network, state);
	refresh_status(d);
}

static void
on_connected(GObject *src, GAsyncResult *res, gpointer p)
{
	g_autoptr(GError) error = NULL;
	GDBusConnection *conn = g_dbus_connection_new_for_address_finish(res, &error);
	Daemon *d = p;

	if (conn == NULL) {
		if (cancelled(error))
			return;
		/* A file left by a daemon that died: tried again at the next look. */
		g_debug("%s: %s", d->file, error->message);
		g_hash_table_remove(d->daemons->daemons, d->file);
		return;
	}
	d->conn = conn;
	d->closed_id = g_signal_connect(conn, "closed", G_CALLBACK(on_closed), d);
	d->signal_sub = g_dbus_connection_signal_subscribe(
	        conn, NULL, TR_BUS_INTERFACE, NULL, TR_BUS_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
	        on_signal, d, NULL);
	g_dbus_connection_call(conn, NULL, TR_BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
	                       g_variant_new("(s)", TR_BUS_INTERFACE), G_VARIANT_TYPE("(a{sv})"),
	                       G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, d->cancel, on_properties,
	                       d);
}

static void
add_daemon(TrayDaemons *t, const char *file, char *network)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *address = tr_bus_address(file, &error);
	Daemon *d;

	if (address == NULL) {
		g_debug("%s", error->message);
		g_free(network);
		return;
	}
	d = g_new0(Daemon, 1);
	d->daemons = t;
	d->file = g_strdup(file);
	d->network = network;
	d->cancel = g_cancellable_new();
	g_hash_table_replace(t->daemons, d->file, d);
	g_dbus_connection_new_for_address(address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
	                                  NULL, d->cancel, on_connected, d);
}

static gboolean
on_scan(gpointer p)
{
	TrayDaemons *t = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) dir = g_dir_open(t->dir, 0, &error);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GPtrArray) gone = g_ptr_array_new();
	const char *name;
	GHashTableIter it;
	Daemon *d;

	if (dir == NULL && !t->told) {
		g_warning("cannot see the daemons: %s", error->message);
		t->told = TRUE;
	}
	while (dir && (name = g_dir_read_name(dir)) != NULL) {
		char *network = network_of(name);
		g_autofree char *file = NULL;
		if (network == NULL)
			continue;
		file = g_build_filename(t->dir, name, NULL);
		if (!g_hash_table_contains(t->daemons, file))
			add_daemon(t, file, network);
		else
			g_free(network);
		g_hash_table_add(seen, g_steal_pointer(&file));
	}
	/* A daemon removes its file when it stops. */
	g_hash_table_iter_init(&it, t->daemons);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&d))
		if (!g_hash_table_contains(seen, d->file))
			g_ptr_array_add(gone, d);
	for (guint i = 0; i < gone->len; i++)
		forget(t, gone->pdata[i]);
	return G_SOURCE_CONTINUE;
}

static gboolean
on_refresh(gpointer p)
{
	TrayDaemons *t = p;
	GHashTableIter it;
	Daemon *d;

	g_hash_table_iter_init(&it, t->daemons);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&d))
		if (d->conn && d->running)
			refresh_status(d);
	return G_SOURCE_CONTINUE;
}

TrayDaemons *
tray_daemons_new_for_dir(const char *dir, TrayModel *model)
{
	TrayDaemons *t = g_new0(TrayDaemons, 1);

	t->dir = g_strdup(dir);
	t->model = model;
	t->daemons = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, daemon_free);
	on_scan(t);
	t->scan = g_timeout_add_seconds(SCAN_SECONDS, on_scan, t);
	t->refresh = g_timeout_add_seconds(REFRESH_SECONDS, on_refresh, t);
	return t;
}

void
tray_daemons_free(TrayDaemons *t)
{
	if (t == NULL)
		return;
	g_source_remove(t->scan);
	g_source_remove(t->refresh);
	g_hash_table_unref(t->daemons);
	g_free(t->dir);
	g_free(t);
}

typedef struct {
	char *network;
	TrayDoneFunc done;
	gpointer user_data;
} Action;

static Action *
action_new(const char *network, TrayDoneFunc done, gpointer user_data)
{
	Action *a = g_new0(Action, 1);

	a->network = g_strdup(network);
	a->done = done;
	a->user_data = user_data;
	return a;
}

static void
action_finish(Action *a, GError *error)
{
	if (error)
		g_dbus_error_strip_remote_error(error);
	if (a->done)
		a->done(a->network, error, a->user_data);
	g_free(a->network);
	g_free(a);
}

static void
on_action_done(GObject *src, GAsyncResult *res, gpointer p)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &error);

	action_finish(p, error);
}

static void
call_daemon(TrayDaemons *t, const char *network, const char *method, GVariant *args,
            TrayDoneFunc done, gpointer user_data)
{
	Daemon *d = by_network(t, network);
	g_autoptr(GError) error = NULL;

	if (d == NULL) {
		error = g_error_new(G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
		                    "the daemon of %s is not running", network);
		if (args)
			g_variant_unref(g_variant_ref_sink(args));
		action_finish(action_new(network, done, user_data), error);
		return;
	}
	g_dbus_connection_call(d->conn, NULL, TR_BUS_PATH, TR_BUS_INTERFACE, method, args, NULL,
	                       G_DBUS_CALL_FLAGS_NONE, ACTION_TIMEOUT_MS, NULL, on_action_done,
	                       action_new(network, done, user_data));
}

static void
set_win_error(GError **error, DWORD code, const char *what, const char *service)
{
	g_autofree char *msg = g_win32_error_message((gint)code);

	if (code == ERROR_SERVICE_DOES_NOT_EXIST)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
		            "there is no service %s (install it: trellis service install %s)",
		            service, service + strlen(TR_WIN_SERVICE_PREFIX));
	else if (code == ERROR_ACCESS_DENIED) {
		wchar_t wname[256];
		g_autofree char *name = NULL;
		tr_win_users_group_name(wname, G_N_ELEMENTS(wname));
		name = g_utf16_to_utf8(wname, -1, NULL, NULL, NULL);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
		            "%s %s: %s (only the Administrators and the members of the group '%s' "
		            "may)",
		            what, service, msg, name);
	} else
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s %s: %s", what, service, msg);
}

/* The network's service, through the Service Control Manager: its daemon
 * connects as it starts, and the directory shows it a moment later. */
static gboolean
start_service(const char *network, GError **error)
{
	g_autofree char *service = g_strconcat(TR_WIN_SERVICE_PREFIX, network, NULL);
	g_autofree wchar_t *wservice = g_utf8_to_utf16(service, -1, NULL, NULL, NULL);
	SC_HANDLE scm, svc;
	gboolean ok = FALSE;

	scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
	if (scm == NULL) {
		set_win_error(error, GetLastError(), "cannot reach the Service Control Manager for",
		              service);
		return FALSE;
	}
	svc = OpenServiceW(scm, wservice, SERVICE_START);
	if (svc == NULL)
		set_win_error(error, GetLastError(), "cannot open the service", service);
	else if (!StartServiceW(svc, 0, NULL) && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING)
		set_win_error(error, GetLastError(), "cannot start the service", service);
	else
		ok = TRUE;
	if (svc)
		CloseServiceHandle(svc);
	CloseServiceHandle(scm);
	if (ok)
		g_message("started the service %s", service);
	return ok;
}

void
tray_daemons_connect(TrayDaemons *t, const char *network, TrayDoneFunc done, gpointer user_data)
{
	GError *error = NULL;

	if (by_network(t, network)) {
		call_daemon(t, network, "Connect", NULL, done, user_data);
		return;
	}
	start_service(network, &error);
	action_finish(action_new(network, done, user_data), error);
	g_clear_error(&error);
}

void
tray_daemons_disconnect(TrayDaemons *t, const char *network, TrayDoneFunc done, gpointer user_data)
{
	call_daemon(t, network, "Disconnect", g_variant_new("(s)", ""), done, user_data);
}

void
tray_daemons_set_password(TrayDaemons *t, const char *network, const char *password,
                          TrayDoneFunc done, gpointer user_data)
{
	call_daemon(t, network, "SetPassword", g_variant_new("(s)", password), done, user_data);
}
