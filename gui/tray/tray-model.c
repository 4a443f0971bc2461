/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-model.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <string.h>

struct _TrayModel {
	GHashTable *networks; /* name → TrayNetwork */
	GHashTable *told;     /* name → the TrayState last told, as a pointer */
	TrayChangedFunc changed;
	TrayEventFunc event;
	char *shown; /* the icon and menu last announced, as text */
	gpointer user_data;
};

TrayModel *
tray_model_new(TrayChangedFunc changed, TrayEventFunc event, gpointer user_data)
{
	TrayModel *m = g_new0(TrayModel, 1);

	m->networks = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
	                                    (GDestroyNotify)tray_network_free);
	m->told = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	m->changed = changed;
	m->event = event;
	m->user_data = user_data;
	return m;
}

void
tray_model_free(TrayModel *m)
{
	if (m == NULL)
		return;
	g_hash_table_unref(m->networks);
	g_hash_table_unref(m->told);
	g_free(m->shown);
	g_free(m);
}

static int
by_name(gconstpointer a, gconstpointer b)
{
	const TrayNetwork *x = *(TrayNetwork *const *)a, *y = *(TrayNetwork *const *)b;

	return g_utf8_collate(x->name, y->name);
}

GPtrArray *
tray_model_networks(TrayModel *m)
{
	GPtrArray *out = g_ptr_array_new();
	GHashTableIter it;
	gpointer net;

	g_hash_table_iter_init(&it, m->networks);
	while (g_hash_table_iter_next(&it, NULL, &net))
		g_ptr_array_add(out, net);
	g_ptr_array_sort(out, by_name);
	return out;
}

TrayNetwork *
tray_model_find(TrayModel *m, const char *name)
{
	return g_hash_table_lookup(m->networks, name);
}

static TrayNetwork *
get_network(TrayModel *m, const char *name)
{
	TrayNetwork *net = g_hash_table_lookup(m->networks, name);

	if (net == NULL) {
		net = tray_network_new(name);
		g_hash_table_insert(m->networks, net->name, net);
	}
	return net;
}

/* Announces a change of the icon or the menu; a status read again every
 * few seconds mostly changes neither, and a menu redrawn under the pointer
 * for nothing is a menu that flickers. */
static void
changed(TrayModel *m)
{
	g_autoptr(GPtrArray) menu = tray_model_menu(m);
	GString *shown = g_string_new(tray_model_icon_name(m));

	for (guint i = 0; i < menu->len; i++) {
		const TrayMenuEntry *e = menu->pdata[i];
		g_string_append_printf(shown, "\n%d %s", e->action, e->label ? e->label : "");
	}
	if (g_strcmp0(shown->str, m->shown) == 0) {
		g_string_free(shown, TRUE);
		return;
	}
	g_free(m->shown);
	m->shown = g_string_free(shown, FALSE);
	if (m->changed)
		m->changed(m, m->user_data);
}

static void
announce(TrayModel *m, TrayNetwork *net, TrayEventKind kind, char *title, char *body)
{
	TrayEvent ev = {kind, net->name, title, body};

	if (m->event)
		m->event(m, &ev, m->user_data);
	g_free(title);
	g_free(body);
}

/* A state change worth a notification. The first state a daemon reports is
 * not (the tray just started, or the network just appeared), unless it is a
 * refusal. */
static void
after_update(TrayModel *m, TrayNetwork *net)
{
	gpointer old_p;
	TrayState old;
	gboolean known = g_hash_table_lookup_extended(m->told, net->name, NULL, &old_p);
	g_autofree char *address = tray_network_address(net);
	g_autofree char *error = tray_network_error_text(net);

	old = (TrayState)GPOINTER_TO_INT(old_p);
	/* "Connected" is told with the address, which the status brings a
	 * moment after the state. */
	if (net->state == TRAY_STATE_CONNECTED && address == NULL &&
	    g_strcmp0(net->role, "hub") != 0)
		return;
	g_hash_table_replace(m->told, g_strdup(net->name), GINT_TO_POINTER(net->state));
	/* A refusal is news whenever it comes: the daemon gives up and leaves.
	 * A daemon waiting for a password must be answered, even at start. */
	if ((!known && net->state != TRAY_STATE_ERROR && net->state != TRAY_STATE_NEEDS_PASSWORD) ||
	    (known && old == net->state) || g_strcmp0(net->role, "hub") == 0)
		return;
	switch (net->state) {
	case TRAY_STATE_CONNECTED:
		announce(m, net, TRAY_EVENT_CONNECTED,
		         g_strdup_printf(_("Connected to %s"), net->name),
		         address ? g_strdup_printf(_("Your address is %s."), address) : NULL);
		break;
	case TRAY_STATE_ERROR:
		announce(m, net, TRAY_EVENT_REFUSED,
		         g_strdup_printf(_("Could not connect to %s"), net->name), g_strdup(error));
		break;
	case TRAY_STATE_RECONNECTING:
		if (old == TRAY_STATE_CONNECTED)
			announce(m, net, TRAY_EVENT_RECONNECTING,
			         g_strdup_printf(_("Reconnecting to %s"), net->name),
			         g_strdup(error));
		break;
	case TRAY_STATE_DISCONNECTED:
	case TRAY_STATE_OFF:
		if (old == TRAY_STATE_CONNECTED || old == TRAY_STATE_RECONNECTING)
			announce(m, net, TRAY_EVENT_DISCONNECTED,
			         g_strdup_printf(_("Disconnected from %s"), net->name), NULL);
		break;
	case TRAY_STATE_NEEDS_PASSWORD:
		announce(m, net, TRAY_EVENT_NEEDS_PASSWORD,
		         g_strdup_printf(_("Password for %s"), net->name), g_strdup(error));
		break;
	case TRAY_STATE_CONNECTING:
		break;
	}
}

void
tray_model_scan_config_dir(TrayModel *m, const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *file;
	GHashTableIter it;
	TrayNetwork *net;

	while (d && (file = g_dir_read_name(d)) != NULL) {
		g_autofree char *name = NULL;
		g_autofree char *path = NULL;
		g_autoptr(GKeyFile) kf = g_key_file_new();

		if (!g_str_has_suffix(file, ".conf") || file[0] == '.')
			continue;
		name = g_strndup(file, strlen(file) - 5);
		path = g_build_filename(dir, file, NULL);
		net = get_network(m, name);
		g_free(net->config_path);
		net->config_path = g_steal_pointer(&path);
		/* A file only root may read is still a network. */
		if (net->role == NULL &&
		    g_key_file_load_from_file(kf, net->config_path, G_KEY_FILE_NONE, NULL)) {
			if (g_key_file_has_group(kf, "client"))
				net->role = g_strdup("client");
			else if (g_key_file_has_group(kf, "server"))
				net->role = g_strdup("hub");
		}
		g_hash_table_add(seen, g_strdup(name));
	}
	/* Gone from the directory and not running: gone from the menu. */
	g_hash_table_iter_init(&it, m->networks);
	while (g_hash_table_iter_next(&it, NULL, (gpointer *)&net)) {
		if (g_hash_table_contains(seen, net->name))
			continue;
		g_clear_pointer(&net->config_path, g_free);
		if (!net->running) {
			g_hash_table_remove(m->told, net->name);
			g_hash_table_iter_remove(&it);
		}
	}
	changed(m);
}

void
tray_model_daemon_state(TrayModel *m, const char *network, const char *state)
{
	TrayNetwork *net = get_network(m, network);

	tray_network_set_daemon_state(net, state);
	/* A daemon that went away for a network nobody configured here. */
	if (state == NULL && net->config_path == NULL && net->error_kind == NULL) {
		g_hash_table_remove(m->told, network);
		g_hash_table_remove(m->networks, network);
		changed(m);
		return;
	}
	after_update(m, net);
	changed(m);
}

void
tray_model_daemon_status(TrayModel *m, const char *network, const char *json)
{
	TrayNetwork *net = get_network(m, network);
	g_autoptr(GError) error = NULL;

	if (!tray_network_set_status(net, json, &error)) {
		g_warning("%s", error->message);
		return;
	}
	after_update(m, net);
	changed(m);
}

void
tray_model_daemon_error(TrayModel *m, const char *network, const char *kind, const char *message)
{
	TrayNetwork *net = get_network(m, network);

	tray_network_set_error(net, kind, message);
	after_update(m, net);
	changed(m);
}

void
tray_model_daemon_log(TrayModel *m, const char *network, const char *const *lines)
{
	TrayNetwork *net = tray_model_find(m, network);

	if (net == NULL)
		return;
	g_strfreev(net->log);
	net->log = g_strdupv((char **)lines);
}

TrayState
tray_model_state(TrayModel *m)
{
	static const TrayState order[] = {TRAY_STATE_CONNECTING, TRAY_STATE_RECONNECTING,
	                                  TRAY_STATE_CONNECTED, TRAY_STATE_NEEDS_PASSWORD,
	                                  TRAY_STATE_ERROR};
	g_autoptr(GPtrArray) nets = tray_model_networks(m);

	for (gsize o = 0; o < G_N_ELEMENTS(order); o++)
		for (guint i = 0; i < nets->len; i++)
			if (((TrayNetwork *)nets->pdata[i])->state == order[o])
				return order[o] == TRAY_STATE_RECONNECTING ? TRAY_STATE_CONNECTING
				       : order[o] == TRAY_STATE_NEEDS_PASSWORD ? TRAY_STATE_ERROR
				                                               : order[o];
	return TRAY_STATE_DISCONNECTED;
}

const char *
tray_model_icon_name(TrayModel *m)
{
	switch (tray_model_state(m)) {
	case TRAY_STATE_CONNECTED:
		return "trellis-tray-connected-symbolic";
	case TRAY_STATE_CONNECTING:
	case TRAY_STATE_RECONNECTING:
		return "trellis-tray-connecting-symbolic";
	case TRAY_STATE_ERROR:
	case TRAY_STATE_NEEDS_PASSWORD:
		return "trellis-tray-error-symbolic";
	case TRAY_STATE_OFF:
	case TRAY_STATE_DISCONNECTED:
		break;
	}
	return "trellis-tray-disconnected-symbolic";
}

static const char *
network_state_label(const TrayNetwork *net)
{
	if (net->state == TRAY_STATE_CONNECTED && g_strcmp0(net->role, "hub") == 0)
		return _("Hub running");
	return tray_state_label(net->state);
}

char *
tray_model_summary(TrayModel *m)
{
	g_autoptr(GPtrArray) nets = tray_model_networks(m);
	GString *out = g_string_new(NULL);

	if (nets->len == 0)
		g_string_append(out, _("Trellis: no networks"));
	for (guint i = 0; i < nets->len; i++) {
		const TrayNetwork *net = nets->pdata[i];
		g_autofree char *address = tray_network_address(net);
		if (i)
			g_string_append_c(out, '\n');
		/* TRANSLATORS: network name: state */
		g_string_append_printf(out, _("%s: %s"), net->name, network_state_label(net));
		if (address)
			g_string_append_printf(out, " (%s)", address);
	}
	return g_string_free(out, FALSE);
}

void
tray_menu_entry_free(gpointer p)
{
	TrayMenuEntry *e = p;

	g_free(e->label);
	g_free(e->network);
	g_free(e->data);
	g_free(e);
}

static TrayMenuEntry *
add(GPtrArray *menu, TrayAction action, const char *network, char *label)
{
	TrayMenuEntry *e = g_new0(TrayMenuEntry, 1);

	e->action = action;
	e->network = g_strdup(network);
	e->label = label;
	g_ptr_array_add(menu, e);
	return e;
}

static char *
peer_label(const TrayPeer *p)
{
	/* TRANSLATORS: a round trip time in milliseconds, after the path */
	g_autofree char *rtt =
	        p->rtt_us >= 0 ? g_strdup_printf(_(", %.1f ms"), p->rtt_us / 1000.0) : g_strdup("");
	/* TRANSLATORS: a peer: its name (address), its path (direct, relayed, ...), round
	 * trip */
	return g_strdup_printf(_("%s%s%s%s — %s%s"), p->name, p->address ? " (" : "",
	                       p->address ? p->address : "", p->address ? ")" : "",
	                       tray_peer_path_label(p), rtt);
}

static void
add_network(GPtrArray *menu, const TrayNetwork *net)
{
	g_autofree char *address = tray_network_address(net);
	g_autofree char *error = tray_network_error_text(net);
	gboolean hub = g_strcmp0(net->role, "hub") == 0;
	const TrayPeer *hub_peer = NULL;

	/* TRANSLATORS: the network's name — its state */
	add(menu, TRAY_ACTION_NONE, net->name,
	    g_strdup_printf(_("%s — %s"), net->name, network_state_label(net)))
	        ->header = TRUE;
	if (error && net->state != TRAY_STATE_CONNECTED)
		add(menu, TRAY_ACTION_NONE, net->name, g_steal_pointer(&error));
	if (address)
		add(menu, TRAY_ACTION_NONE, net->name, g_strdup_printf(_("Address: %s"), address));
	/* A client's session with its hub is a peer too: one line for both. */
	for (guint i = 0; net->hub && i < net->peers->len; i++) {
		const TrayPeer *p = net->peers->pdata[i];
		if (g_strcmp0(p->name, net->hub) == 0)
			hub_peer = p;
	}
	if (hub_peer)
		/* TRANSLATORS: the hub's address — direct or over TCP */
		add(menu, TRAY_ACTION_NONE, net->name,
		    g_strdup_printf(_("Hub: %s — %s"), net->hub, tray_peer_path_label(hub_peer)));
	else if (net->hub)
		add(menu, TRAY_ACTION_NONE, net->name, g_strdup_printf(_("Hub: %s"), net->hub));
	if (net->state == TRAY_STATE_CONNECTED && net->peers->len == 0)
		add(menu, TRAY_ACTION_NONE, net->name, g_strdup(_("No peers")));
	for (guint i = 0; i < net->peers->len; i++)
		if (net->peers->pdata[i] != hub_peer)
			add(menu, TRAY_ACTION_NONE, net->name, peer_label(net->peers->pdata[i]));
	if (!hub) {
		switch (net->state) {
		case TRAY_STATE_CONNECTED:
		case TRAY_STATE_CONNECTING:
		case TRAY_STATE_RECONNECTING:
			add(menu, TRAY_ACTION_DISCONNECT, net->name, g_strdup(_("Disconnect")));
			break;
		case TRAY_STATE_OFF:
		case TRAY_STATE_DISCONNECTED:
		case TRAY_STATE_ERROR:
			add(menu, TRAY_ACTION_CONNECT, net->name, g_strdup(_("Connect")));
			break;
		case TRAY_STATE_NEEDS_PASSWORD:
			add(menu, TRAY_ACTION_PASSWORD, net->name, g_strdup(_("Enter password…")));
			break;
		}
	}
	if (address)
		add(menu, TRAY_ACTION_COPY_ADDRESS, net->name, g_strdup(_("Copy address")))->data =
		        g_strdup(address);
	add(menu, TRAY_ACTION_SEPARATOR, NULL, NULL);
}

GPtrArray *
tray_model_menu(TrayModel *m)
{
	GPtrArray *menu = g_ptr_array_new_with_free_func(tray_menu_entry_free);
	g_autoptr(GPtrArray) nets = tray_model_networks(m);

	if (nets->len == 0) {
		add(menu, TRAY_ACTION_NONE, NULL, g_strdup(_("No Trellis networks")));
		add(menu, TRAY_ACTION_SEPARATOR, NULL, NULL);
	}
	for (guint i = 0; i < nets->len; i++)
		add_network(menu, nets->pdata[i]);
	add(menu, TRAY_ACTION_JOIN, NULL, g_strdup(_("Join a network…")));
	add(menu, TRAY_ACTION_DETAILS, NULL, g_strdup(_("Details…")));
	add(menu, TRAY_ACTION_SEPARATOR, NULL, NULL);
	add(menu, TRAY_ACTION_QUIT, NULL, g_strdup(_("Quit")));
	return menu;
}

char *
tray_failure_text(const GError *error)
{
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
		return g_strdup(_("You are not allowed to do this."));
	if (g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
		return g_strdup(_("Its service could not be started here (no systemd)."));
	if (g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
	    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
		return g_strdup(_("Its service did not answer."));
	return g_strdup(error->message);
}
