/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-network.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <jansson.h>
#include <string.h>

static void
peer_free(gpointer p)
{
	TrayPeer *peer = p;

	g_free(peer->name);
	g_free(peer->address);
	g_free(peer->endpoint);
	g_free(peer);
}

TrayNetwork *
tray_network_new(const char *name)
{
	TrayNetwork *net = g_new0(TrayNetwork, 1);

	net->name = g_strdup(name);
	net->peers = g_ptr_array_new_with_free_func(peer_free);
	net->state = TRAY_STATE_OFF;
	return net;
}

void
tray_network_free(TrayNetwork *net)
{
	if (net == NULL)
		return;
	g_free(net->name);
	g_free(net->config_path);
	g_free(net->role);
	g_free(net->daemon_state);
	g_strfreev(net->addresses);
	g_free(net->hub);
	g_free(net->identity);
	g_free(net->username);
	g_ptr_array_unref(net->peers);
	g_free(net->error_kind);
	g_free(net->error_message);
	g_free(net->status_json);
	g_strfreev(net->log);
	g_free(net);
}

static void
forget_session(TrayNetwork *net)
{
	g_clear_pointer(&net->addresses, g_strfreev);
	g_clear_pointer(&net->hub, g_free);
	g_ptr_array_set_size(net->peers, 0);
}

void
tray_network_set_daemon_state(TrayNetwork *net, const char *state)
{
	g_free(net->daemon_state);
	net->daemon_state = g_strdup(state);
	net->running = state != NULL;
	if (state == NULL) {
		forget_session(net);
		g_clear_pointer(&net->status_json, g_free);
		g_clear_pointer(&net->log, g_strfreev);
		net->state = net->error_kind ? TRAY_STATE_ERROR : TRAY_STATE_OFF;
	} else if (g_str_equal(state, "connected") || g_str_equal(state, "listening")) {
		net->state = TRAY_STATE_CONNECTED;
		/* It got through: whatever failed before is over. */
		g_clear_pointer(&net->error_kind, g_free);
		g_clear_pointer(&net->error_message, g_free);
	} else if (g_str_equal(state, "stopped")) {
		net->state = net->error_kind && g_str_equal(net->error_kind, "refused")
		                     ? TRAY_STATE_ERROR
		                     : TRAY_STATE_DISCONNECTED;
	} else if (g_str_equal(state, "needs-password")) {
		/* Asked for the first time, or again after a refusal (error kept). */
		net->state = TRAY_STATE_NEEDS_PASSWORD;
	} else if (g_str_equal(state, "idle")) {
		/* Between attempts: the first one has not started, or one failed. */
		net->state = net->error_kind ? TRAY_STATE_RECONNECTING : TRAY_STATE_CONNECTING;
	} else {
		/* "connecting", "tls", "hello" */
		net->state = TRAY_STATE_CONNECTING;
	}
	if (net->state != TRAY_STATE_CONNECTED)
		forget_session(net);
}

void
tray_network_set_error(TrayNetwork *net, const char *kind, const char *message)
{
	g_free(net->error_kind);
	g_free(net->error_message);
	net->error_kind = kind && *kind ? g_strdup(kind) : NULL;
	net->error_message = net->error_kind ? g_strdup(message) : NULL;
	if (net->error_kind && g_str_equal(net->error_kind, "refused") &&
	    net->state != TRAY_STATE_NEEDS_PASSWORD)
		net->state = TRAY_STATE_ERROR;
	else if (net->error_kind && net->state == TRAY_STATE_CONNECTING)
		net->state = TRAY_STATE_RECONNECTING;
}

static const char *
member_string(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

static gint64
member_int(const json_t *o, const char *name, gint64 fallback)
{
	const json_t *n = json_object_get(o, name);

	return json_is_integer(n) ? (gint64)json_integer_value(n) : fallback;
}

static char **
member_strings(const json_t *o, const char *name)
{
	const json_t *a = json_object_get(o, name);
	g_autoptr(GPtrArray) out = g_ptr_array_new();

	if (!json_is_array(a))
		return NULL;
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (s)
			g_ptr_array_add(out, g_strdup(s));
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

/* A session object (a hub's peer, or the client's own session with its hub), or a
 * client's pair (@pair). */
static TrayPeer *
peer_from(const json_t *o, const char *name, gboolean pair)
{
	TrayPeer *peer = g_new0(TrayPeer, 1);
	g_auto(GStrv) addresses = member_strings(o, "addresses");
	const char *path = member_string(o, "path");

	peer->name = g_strdup(name);
	peer->address = addresses && addresses[0] ? g_strdup(addresses[0]) : NULL;
	peer->endpoint = g_strdup(member_string(o, "endpoint"));
	peer->pair = pair;
	if (g_strcmp0(path, "udp") == 0 || g_strcmp0(path, "direct") == 0)
		peer->path = TRAY_PATH_DIRECT;
	else if (g_strcmp0(path, "relayed") == 0)
		peer->path = TRAY_PATH_RELAYED;
	else if (g_strcmp0(path, "tcp") == 0)
		peer->path = TRAY_PATH_TCP;
	else if (g_strcmp0(path, "hub") == 0)
		peer->path = TRAY_PATH_HUB;
	peer->rtt_us = member_int(o, "rtt_us", -1);
	return peer;
}

const char *
tray_peer_path_label(const TrayPeer *peer)
{
	switch (peer->path) {
	case TRAY_PATH_DIRECT:
		return _("direct");
	case TRAY_PATH_RELAYED:
		return _("relayed");
	case TRAY_PATH_TCP:
		/* TRANSLATORS: a pair relayed by the hub over the TCP connection to it; a
		 * session whose data goes over its TCP connection */
		return peer->pair ? _("relayed over TCP") : _("over TCP");
	case TRAY_PATH_HUB:
		/* TRANSLATORS: a peer with no path of its own yet: through the hub */
		return _("through the hub");
	case TRAY_PATH_UNKNOWN:
		break;
	}
	return _("unknown path");
}

static void
json_unref(json_t *j)
{
	json_decref(j);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_t, json_unref)

gboolean
tray_network_set_status(TrayNetwork *net, const char *json, GError **error)
{
	json_error_t err;
	g_autoptr(json_t) o = json_loads(json, 0, &err);
	const json_t *peers;
	const char *s;

	if (o == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		            "status of %s: line %d, column %d: %s", net->name, err.line, err.column,
		            err.text);
		return FALSE;
	}
	if (!json_is_object(o)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		            "status of %s: expected a JSON object", net->name);
		return FALSE;
	}
	g_free(net->status_json);
	net->status_json = g_strdup(json);
	if ((s = member_string(o, "role")) != NULL) {
		g_free(net->role);
		net->role = g_strdup(s);
	}
	if ((s = member_string(o, "username")) != NULL) {
		g_free(net->username);
		net->username = g_strdup(s);
	}
	tray_network_set_daemon_state(
	        net, g_strcmp0(net->role, "hub") == 0 ? "listening" : member_string(o, "state"));
	if (net->state != TRAY_STATE_CONNECTED)
		return TRUE;
	forget_session(net);
	net->addresses = member_strings(o, "addresses");
	g_free(net->hub);
	net->hub = g_strdup(member_string(o, "server"));
	g_free(net->identity);
	net->identity = g_strdup(member_string(o, "identity"));
	peers = json_object_get(o, "peers");
	if (json_is_array(peers)) {
		for (size_t i = 0; i < json_array_size(peers); i++) {
			const json_t *e = json_array_get(peers, i);
			if (!json_is_object(e))
				continue;
			s = member_string(e, "identity");
			g_ptr_array_add(net->peers, peer_from(e, s ? s : "?", FALSE));
		}
	} else if (net->hub && member_string(o, "path")) {
		/* A client: its first peer is the hub, then the clients it has pairs with. */
		g_ptr_array_add(net->peers, peer_from(o, net->hub, FALSE));
		g_clear_pointer(&((TrayPeer *)net->peers->pdata[0])->address, g_free);
		peers = json_object_get(o, "pairs");
		for (size_t i = 0; json_is_array(peers) && i < json_array_size(peers); i++) {
			const json_t *e = json_array_get(peers, i);
			if (!json_is_object(e))
				continue;
			s = member_string(e, "peer");
			g_ptr_array_add(net->peers, peer_from(e, s ? s : "?", TRUE));
		}
	}
	return TRUE;
}

char *
tray_network_address(const TrayNetwork *net)
{
	const char *slash;

	if (net->addresses == NULL || net->addresses[0] == NULL)
		return NULL;
	slash = strchr(net->addresses[0], '/');
	return slash ? g_strndup(net->addresses[0], (gsize)(slash - net->addresses[0]))
	             : g_strdup(net->addresses[0]);
}

const char *
tray_state_label(TrayState state)
{
	switch (state) {
	case TRAY_STATE_OFF:
		return _("Off");
	case TRAY_STATE_DISCONNECTED:
		return _("Disconnected");
	case TRAY_STATE_CONNECTING:
		return _("Connecting…");
	case TRAY_STATE_RECONNECTING:
		return _("Reconnecting…");
	case TRAY_STATE_CONNECTED:
		return _("Connected");
	case TRAY_STATE_ERROR:
		return _("Failed");
	case TRAY_STATE_NEEDS_PASSWORD:
		return _("Password needed");
	}
	return "?";
}

/* The daemon says what failed in its words (for the log and the curious);
 * a person gets one of these. First match wins; the kind alone decides when
 * no words match. */
static const struct {
	const char *kind;
	const char *words; /* in the daemon's message, or NULL */
	const char *text;
} error_texts[] = {
        {"refused", "password", N_("Wrong user name or password.")},
        {"refused", "revoked", N_("This device's certificate was revoked by the network.")},
        {"refused", "expired", N_("A certificate has expired.")},
        {"refused", "server certificate",
         N_("The hub's certificate is from another network, or names another hub.")},
        {"refused", "server ",
         N_("The hub's certificate is from another network, or names another hub.")},
        {"refused", NULL, N_("The hub refused this device: its certificate is not accepted.")},
        {"timeout", NULL, N_("The hub did not answer in time.")},
        {"network", NULL, N_("The connection to the hub was lost.")},
        {"negotiate", NULL,
         N_("This device and the hub have no settings in common (version, cipher).")},
        {"config", NULL, N_("The network's configuration cannot work; see Details.")},
        {"permission", NULL, N_("Not allowed.")},
        {"not-found", NULL, N_("A file the network needs is missing; see Details.")},
        {"protocol", NULL, N_("The hub spoke out of turn (protocol error).")},
};

char *
tray_network_error_text(const TrayNetwork *net)
{
	if (net->error_kind == NULL)
		return NULL;
	for (gsize i = 0; i < G_N_ELEMENTS(error_texts); i++) {
		if (!g_str_equal(error_texts[i].kind, net->error_kind))
			continue;
		if (error_texts[i].words &&
		    (net->error_message == NULL ||
		     strstr(net->error_message, error_texts[i].words) == NULL))
			continue;
		return g_strdup(_(error_texts[i].text));
	}
	return g_strdup(_("Something failed; see Details."));
}

char *
tray_network_describe(const TrayNetwork *net)
{
	GString *out = g_string_new(NULL);
	g_autofree char *error = tray_network_error_text(net);

	g_string_append_printf(out, _("Network: %s\n"), net->name);
	g_string_append_printf(out, _("State: %s\n"), tray_state_label(net->state));
	if (net->daemon_state)
		g_string_append_printf(out, _("Daemon state: %s\n"), net->daemon_state);
	if (net->config_path)
		g_string_append_printf(out, _("Configuration: %s\n"), net->config_path);
	if (net->identity)
		g_string_append_printf(out, _("Identity: %s\n"), net->identity);
	if (net->hub)
		g_string_append_printf(out, _("Hub: %s\n"), net->hub);
	for (guint i = 0; net->addresses && net->addresses[i]; i++)
		g_string_append_printf(out, _("Address: %s\n"), net->addresses[i]);
	for (guint i = 0; i < net->peers->len; i++) {
		const TrayPeer *p = net->peers->pdata[i];
		g_string_append_printf(out, _("Peer: %s, %s%s%s\n"), p->name,
		                       tray_peer_path_label(p), p->endpoint ? ", " : "",
		                       p->endpoint ? p->endpoint : "");
	}
	if (error)
		g_string_append_printf(out, _("Last error: %s (%s)\n"), error,
		                       net->error_message ? net->error_message : "");
	if (net->log && net->log[0]) {
		g_string_append(out, _("Recent log:\n"));
		for (guint i = 0; net->log[i]; i++)
			g_string_append_printf(out, "  %s\n", net->log[i]);
	}
	return g_string_free(out, FALSE);
}
