/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-daemons.h"

#include "common/daemon/bus.h"

#include <string.h>

/* How often the status of a running network is read again, for what no
 * signal announces (a path moving between UDP and TCP, counters). */
#define REFRESH_SECONDS 5
/* The lines of each daemon's log the Details window shows. */
#define LOG_LINES 30
/* polkit may show an authentication dialog: give the person time. */
#define ACTION_TIMEOUT_MS (5 * 60 * 1000)

typedef struct {
	char *bus_name; /* org.trellisvpn.Daemon.nESCAPED */
	char *owner;    /* its unique name */
	char *path;
	char *network; /* from the bus name, then the Network property */
} Daemon;

struct _TrayDaemons {
	GDBusConnection *bus;
	TrayModel *model;
	GHashTable *daemons; /* bus name → Daemon */
	guint owner_sub, signal_sub, refresh;
	GCancellable *cancel;
};

static void
daemon_free(gpointer p)
{
	Daemon *d = p;

	g_free(d->bus_name);
	g_free(d->owner);
	g_free(d->path);
	g_free(d->network);
	g_free(d);
}

static Daemon *
by_owner(TrayDaemons *t, const char *owner)
{
	GHashTableIter it;
	Daemon *d;

	g_hash_table_iter_init(&it, t->daemons);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&d))
		if (g_strcmp0(d->owner, owner) == 0)
			return d;
	return NULL;
}

static Daemon *
by_network(TrayDaemons *t, const char *network)
{
	GHashTableIter it;
	Daemon *d;

	g_hash_table_iter_init(&it, t->daemons);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&d))
		if (g_strcmp0(d->network, network) == 0)
			return d;
	return NULL;
}

/* Replies carry the bus name, not the Daemon: it may be gone by then. */
static Daemon *
still_there(TrayDaemons *t, const char *bus_name)
{
	return g_hash_table_lookup(t->daemons, bus_name);
}

typedef struct {
	TrayDaemons *daemons;
	char *bus_name;
} Reply;

static Reply *
reply_new(TrayDaemons *t, const Daemon *d)
{
	Reply *r = g_new0(Reply, 1);

	r->daemons = t;
	r->bus_name = g_strdup(d->bus_name);
	return r;
}

static void
reply_free(Reply *r)
{
	g_free(r->bus_name);
	g_free(r);
}

static void
on_status(GObject *src, GAsyncResult *res, gpointer p)
{
	Reply *r = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &error);
	Daemon *d;
	const char *json;

	if (v == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		reply_free(r);
		return;
	}
	d = still_there(r->daemons, r->bus_name);
	if (d && d->network) {
		if (v) {
			g_variant_get(v, "(&s)", &json);
			tray_model_daemon_status(r->daemons->model, d->network, json);
		} else {
			g_debug("GetStatus of %s: %s", d->network, error->message);
		}
	}
	reply_free(r);
}

static void
on_log(GObject *src, GAsyncResult *res, gpointer p)
{
	Reply *r = p;
	g_autoptr(GVariant) v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, NULL);
	g_autofree const char **lines = NULL;
	Daemon *d;

	/* No answer (cancelled, gone, an older daemon): nothing to show. */
	if (v && (d = still_there(r->daemons, r->bus_name)) != NULL && d->network) {
		g_variant_get(v, "(^a&s)", &lines);
		tray_model_daemon_log(r->daemons->model, d->network, lines);
	}
	reply_free(r);
}

static void
refresh_status(TrayDaemons *t, Daemon *d)
{
	g_dbus_connection_call(t->bus, d->bus_name, d->path, TR_BUS_INTERFACE, "GetStatus", NULL,
	                       G_VARIANT_TYPE("(s)"), G_DBUS_CALL_FLAGS_NONE, 5000, t->cancel,
	                       on_status, reply_new(t, d));
	g_dbus_connection_call(t->bus, d->bus_name, d->path, TR_BUS_INTERFACE, "GetLog",
	                       g_variant_new("(u)", LOG_LINES), G_VARIANT_TYPE("(as)"),
	                       G_DBUS_CALL_FLAGS_NONE, 5000, t->cancel, on_log, reply_new(t, d));
}

static void
on_properties(GObject *src, GAsyncResult *res, gpointer p)
{
	Reply *r = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &error);
	g_autoptr(GVariant) props = NULL;
	const char *network = NULL, *state = NULL, *kind = "", *message = "";
	Daemon *d;

	if (v == NULL && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		reply_free(r);
		return;
	}
	d = still_there(r->daemons, r->bus_name);
	if (d == NULL || v == NULL) {
		if (v == NULL)
			g_warning("cannot read the properties of %s: %s", r->bus_name,
			          error->message);
		reply_free(r);
		return;
	}
	props = g_variant_get_child_value(v, 0);
	g_variant_lookup(props, "Network", "&s", &network);
	g_variant_lookup(props, "State", "&s", &state);
	g_variant_lookup(props, "LastError", "(&s&s)", &kind, &message);
	if (network == NULL || *network == '\0' || state == NULL) {
		g_warning("%s names no network", r->bus_name);
		reply_free(r);
		return;
	}
	g_free(d->network);
	d->network = g_strdup(network);
	if (*kind)
		tray_model_daemon_error(r->daemons->model, network, kind, message);
	tray_model_daemon_state(r->daemons->model, network, state);
	refresh_status(r->daemons, d);
	reply_free(r);
}

static void
add_daemon(TrayDaemons *t, const char *bus_name, const char *owner)
{
	Daemon *d = g_new0(Daemon, 1);
	const char *escaped = bus_name + strlen(TR_BUS_NAME ".n");

	guint8 *network = g_dbus_unescape_object_path(escaped);

	d->bus_name = g_strdup(bus_name);
	d->owner = g_strdup(owner);
	d->path = g_strdup_printf("%s/%s", TR_BUS_PATH, escaped);
	/* Known now: a daemon refused at once says why and leaves before its
	 * properties could be read. */
	if (network && g_utf8_validate((const char *)network, -1, NULL))
		d->network = (char *)network;
	else
		g_free(network);
	g_hash_table_replace(t->daemons, d->bus_name, d);
	g_dbus_connection_call(t->bus, bus_name, d->path, "org.freedesktop.DBus.Properties",
	                       "GetAll", g_variant_new("(s)", TR_BUS_INTERFACE),
	                       G_VARIANT_TYPE("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, 5000, t->cancel,
	                       on_properties, reply_new(t, d));
}

static gboolean
is_network_name(const char *bus_name)
{
	return g_str_has_prefix(bus_name, TR_BUS_NAME ".n") &&
	       bus_name[strlen(TR_BUS_NAME ".n")] != '\0';
}

static void
on_owner_changed(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                 const char *signal, GVariant *params, gpointer p)
{
	TrayDaemons *t = p;
	const char *name, *old_owner, *new_owner;
	Daemon *d;

	g_variant_get(params, "(&s&s&s)", &name, &old_owner, &new_owner);
	if (!is_network_name(name))
		return;
	d = g_hash_table_lookup(t->daemons, name);
	if (d && *old_owner) {
		g_autofree char *network = g_strdup(d->network);
		g_hash_table_remove(t->daemons, name);
		if (network)
			tray_model_daemon_state(t->model, network, NULL);
	}
	if (*new_owner)
		add_daemon(t, name, new_owner);
}

static void
on_daemon_signal(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                 const char *signal, GVariant *params, gpointer p)
{
	TrayDaemons *t = p;
	Daemon *d = by_owner(t, sender);

	if (d == NULL || d->network == NULL || g_strcmp0(path, d->path) != 0)
		return;
	if (g_str_equal(signal, "StateChanged") &&
	    g_variant_is_of_type(params, G_VARIANT_TYPE("(s)"))) {
		const char *state;
		g_variant_get(params, "(&s)", &state);
		tray_model_daemon_state(t->model, d->network, state);
		refresh_status(t, d);
	} else if (g_str_equal(signal, "PeersChanged")) {
		refresh_status(t, d);
	} else if (g_str_equal(signal, "Error") &&
	           g_variant_is_of_type(params, G_VARIANT_TYPE("(ss)"))) {
		const char *kind, *message;
		g_variant_get(params, "(&s&s)", &kind, &message);
		tray_model_daemon_error(t->model, d->network, kind, message);
	}
}

static void
on_owner(GObject *src, GAsyncResult *res, gpointer p)
{
	Reply *r = p;
	g_autoptr(GVariant) v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, NULL);
	const char *owner;

	/* Gone already, or cancelled: nothing to add. */
	if (v && !g_hash_table_contains(r->daemons->daemons, r->bus_name)) {
		g_variant_get(v, "(&s)", &owner);
		add_daemon(r->daemons, r->bus_name, owner);
	}
	reply_free(r);
}

static void
on_names(GObject *src, GAsyncResult *res, gpointer p)
{
	TrayDaemons *t = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &error);
	g_autoptr(GVariantIter) names = NULL;
	const char *name;

	if (v == NULL) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_warning("cannot list the daemons on the system bus: %s", error->message);
		return;
	}
	g_variant_get(v, "(as)", &names);
	while (g_variant_iter_loop(names, "&s", &name)) {
		Reply *r;
		if (!is_network_name(name))
			continue;
		r = g_new0(Reply, 1);
		r->daemons = t;
		r->bus_name = g_strdup(name);
		g_dbus_connection_call(t->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
		                       "org.freedesktop.DBus", "GetNameOwner",
		                       g_variant_new("(s)", name), G_VARIANT_TYPE("(s)"),
		                       G_DBUS_CALL_FLAGS_NONE, 5000, t->cancel, on_owner, r);
	}
}

static gboolean
on_refresh(gpointer p)
{
	TrayDaemons *t = p;
	GHashTableIter it;
	Daemon *d;

	g_hash_table_iter_init(&it, t->daemons);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&d))
		if (d->network)
			refresh_status(t, d);
	return G_SOURCE_CONTINUE;
}

TrayDaemons *
tray_daemons_new(GDBusConnection *bus, TrayModel *model)
{
	TrayDaemons *t = g_new0(TrayDaemons, 1);

	t->bus = g_object_ref(bus);
	t->model = model;
	t->cancel = g_cancellable_new();
	t->daemons = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, daemon_free);
	/* Subscribe first, then list: no daemon can slip between the two. */
	t->owner_sub = g_dbus_connection_signal_subscribe(
	        bus, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
	        "/org/freedesktop/DBus", TR_BUS_NAME, G_DBUS_SIGNAL_FLAGS_MATCH_ARG0_NAMESPACE,
	        on_owner_changed, t, NULL);
	t->signal_sub = g_dbus_connection_signal_subscribe(bus, NULL, TR_BUS_INTERFACE, NULL, NULL,
	                                                   NULL, G_DBUS_SIGNAL_FLAGS_NONE,
	                                                   on_daemon_signal, t, NULL);
	g_dbus_connection_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	                       "org.freedesktop.DBus", "ListNames", NULL, G_VARIANT_TYPE("(as)"),
	                       G_DBUS_CALL_FLAGS_NONE, 5000, t->cancel, on_names, t);
	t->refresh = g_timeout_add_seconds(REFRESH_SECONDS, on_refresh, t);
	return t;
}

void
tray_daemons_free(TrayDaemons *t)
{
	if (t == NULL)
		return;
	/* Replies still on their way see the cancellation and touch nothing. */
	g_cancellable_cancel(t->cancel);
	g_object_unref(t->cancel);
	g_source_remove(t->refresh);
	g_dbus_connection_signal_unsubscribe(t->bus, t->owner_sub);
	g_dbus_connection_signal_unsubscribe(t->bus, t->signal_sub);
	g_hash_table_unref(t->daemons);
	g_object_unref(t->bus);
	g_free(t);
}

typedef struct {
	char *network;
	TrayDoneFunc done;
	gpointer user_data;
} Action;

static void
on_action_done(GObject *src, GAsyncResult *res, gpointer p)
{
	Action *a = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &error);

	if (error)
		g_dbus_error_strip_remote_error(error);
	if (a->done)
		a->done(a->network, error, a->user_data);
	g_free(a->network);
	g_free(a);
}

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
		if (done)
			done(network, error, user_data);
		return;
	}
	g_dbus_connection_call(t->bus, d->bus_name, d->path, TR_BUS_INTERFACE, method, args, NULL,
	                       G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, ACTION_TIMEOUT_MS,
	                       NULL, on_action_done, action_new(network, done, user_data));
}

void
tray_daemons_connect(TrayDaemons *t, const char *network, TrayDoneFunc done, gpointer user_data)
{
	g_autofree char *unit = NULL;

	if (by_network(t, network)) {
		call_daemon(t, network, "Connect", NULL, done, user_data);
		return;
	}
	/* Not running: systemd starts it (and asks polkit itself). */
	unit = g_strdup_printf("trellis-client@%s.service", network);
	g_dbus_connection_call(t->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
	                       "org.freedesktop.systemd1.Manager", "StartUnit",
	                       g_variant_new("(ss)", unit, "replace"), G_VARIANT_TYPE("(o)"),
	                       G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, ACTION_TIMEOUT_MS,
	                       NULL, on_action_done, action_new(network, done, user_data));
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
