/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nm-trellis-service: NetworkManager's VPN service for Trellis. NetworkManager
 * starts one per active connection (with --bus-name when several are up)
 * and calls Connect with the connection and its secrets. The client library
 * connects, authenticates and takes the hub's pushed settings; this hands
 * them to NetworkManager (the tun device, addresses, routes, DNS, MTU and the
 * hub's address as gateway), which configures the device. The library keeps
 * carrying packets and reconnecting; a refusal ends the connection with
 * NetworkManager's nearest reason and ours in the log.
 */
#include "tr-config.h"

#include "common/base/error.h"
#include "common/base/log.h"
#include "gui/networkmanager/ip-config.h"
#include "gui/networkmanager/settings.h"

#include <arpa/inet.h>
#include <glib-unix.h>
#include <locale.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Time for the goodbye (CLOSE) to reach the hub before the session goes. */
#define CLOSE_GRACE_MS 300
/* A refused password is asked for again this many times, then it fails. */
#define MAX_REASKS 3

typedef struct {
	NMVpnServicePlugin parent;
	TrClient *client;
	TrClient *closing; /* said goodbye, freed shortly */
	guint close_id;
	char *name;           /* the connection's name, for the log */
	gboolean apply_dns;   /* hand the pushed DNS to NetworkManager */
	gboolean interactive; /* an agent can ask the user again */
	guint reasks;         /* times the password was asked again */
} TrNmService;

typedef struct {
	NMVpnServicePluginClass parent;
} TrNmServiceClass;

static GType tr_nm_service_get_type(void);
G_DEFINE_TYPE(TrNmService, tr_nm_service, NM_TYPE_VPN_SERVICE_PLUGIN)

#define TR_NM_SERVICE_PLUGIN(o)                                                                    \
	(G_TYPE_CHECK_INSTANCE_CAST((o), tr_nm_service_get_type(), TrNmService))

static GMainLoop *loop;

static void
on_configured(TrClient *client, const TrClientSettings *s, gpointer p)
{
	TrNmService *self = p;
	NMVpnServicePlugin *plugin = NM_VPN_SERVICE_PLUGIN(self);

	nm_vpn_service_plugin_set_config(
	        plugin, tr_nm_generic_config(tr_client_ifname(client),
	                                     tr_client_server_address(client, NULL), s));
	if (tr_nm_settings_have(s, TR_ADDR_IPV4))
		nm_vpn_service_plugin_set_ip4_config(plugin, tr_nm_ip4_config(s, self->apply_dns));
	if (tr_nm_settings_have(s, TR_ADDR_IPV6))
		nm_vpn_service_plugin_set_ip6_config(plugin, tr_nm_ip6_config(s, self->apply_dns));
	g_message("%s: connected, device %s, configuration handed to NetworkManager", self->name,
	          tr_client_ifname(client));
}

static void
on_disconnected(TrClient *client, const GError *error, gpointer p)
{
	TrNmService *self = p;

	g_message("%s: connection to the hub lost (%s); reconnecting", self->name,
	          error ? error->message : "closed");
}

static void stop_client(TrNmService *self, gboolean now);

static void
on_refused(TrClient *client, const GError *error, gpointer p)
{
	TrNmService *self = p;
	/* Only a refused password or identity is a login failure, for which
	 * NetworkManager asks for new secrets; a certificate from another
	 * network, a revoked one or no common cipher are not. */
	gboolean auth = tr_client_refusal(client) == TR_REFUSE_AUTH ||
	                tr_client_refusal(client) == TR_REFUSE_PASSWORD;
	NMVpnServiceState state = NM_VPN_SERVICE_STATE_UNKNOWN;

	g_warning("%s: %s: %s", self->name, auth ? "login refused" : "cannot connect",
	          error ? error->message : "refused");
	if (auth && self->interactive && self->reasks < MAX_REASKS) {
		/* The agent asks the user again, and shows why (NewSecrets follows). */
		g_autofree char *msg = g_strdup_printf(
		        "x-vpn-message:The hub refused the login to “%s”: %s. Try again.",
		        self->name, error ? error->message : "refused");
		const char *hints[] = {TR_NM_KEY_PASSWORD, msg, NULL};

		self->reasks++;
		stop_client(self, FALSE);
		nm_vpn_service_plugin_secrets_required(NM_VPN_SERVICE_PLUGIN(self),
		                                       msg + strlen("x-vpn-message:"), hints);
		return;
	}
	if (!auth) {
		nm_vpn_service_plugin_failure(NM_VPN_SERVICE_PLUGIN(self),
		                              NM_VPN_PLUGIN_FAILURE_CONNECT_FAILED);
		return;
	}
	/*
	 * While starting, libnm's failure() disconnects, which reports a second
	 * failure, "connect failed", and NetworkManager keeps the last one: the
	 * user would read "unknown reason" instead of "login failed". Stopping
	 * first makes ours the only one.
	 */
	g_object_get(self, NM_VPN_SERVICE_PLUGIN_STATE, &state, NULL);
	if (state != NM_VPN_SERVICE_STATE_STARTING) {
		nm_vpn_service_plugin_failure(NM_VPN_SERVICE_PLUGIN(self),
		                              NM_VPN_PLUGIN_FAILURE_LOGIN_FAILED);
		return;
	}
	g_object_set(self, NM_VPN_SERVICE_PLUGIN_STATE, NM_VPN_SERVICE_STATE_STOPPING, NULL);
	nm_vpn_service_plugin_failure(NM_VPN_SERVICE_PLUGIN(self),
	                              NM_VPN_PLUGIN_FAILURE_LOGIN_FAILED);
	stop_client(self, FALSE);
	g_object_set(self, NM_VPN_SERVICE_PLUGIN_STATE, NM_VPN_SERVICE_STATE_STOPPED, NULL);
}

static const TrClientCallbacks client_callbacks = {
        .configured = on_configured,
        .disconnected = on_disconnected,
        .refused = on_refused,
};

/* ---- NMVpnServicePlugin --------------------------------------------------------- */

static gboolean
free_closing(gpointer p)
{
	TrNmService *self = p;

	self->close_id = 0;
	g_clear_pointer(&self->closing, tr_client_free);
	return G_SOURCE_REMOVE;
}

/* Says goodbye to the hub; the device goes with the session shortly after. */
static void
stop_client(TrNmService *self, gboolean now)
{
	if (self->client) {
		tr_client_stop(self->client);
		if (self->closing) {
			g_clear_handle_id(&self->close_id, g_source_remove);
			tr_client_free(self->closing);
		}
		self->closing = g_steal_pointer(&self->client);
		self->close_id = g_timeout_add(CLOSE_GRACE_MS, free_closing, self);
	}
	if (now && self->closing) {
		g_clear_handle_id(&self->close_id, g_source_remove);
		g_clear_pointer(&self->closing, tr_client_free);
	}
}

/* The client library on @connection's settings and secrets, started. */
static gboolean
start_client(TrNmService *self, NMConnection *connection, GError **error)
{
	NMSettingVpn *s_vpn = nm_connection_get_setting_vpn(connection);
	TrClientConfig cfg;

	g_free(self->name);
	self->name = g_strdup(nm_connection_get_id(connection));
	if (s_vpn == NULL) {
		g_set_error(error, NM_VPN_PLUGIN_ERROR, NM_VPN_PLUGIN_ERROR_BAD_ARGUMENTS,
		            "connection '%s' has no VPN setting", self->name);
		return FALSE;
	}
	stop_client(self, TRUE);
	tr_client_config_init(&cfg);
	if (!tr_nm_client_config(s_vpn, &cfg, error)) {
		tr_client_config_clear(&cfg);
		g_prefix_error(error, "connection '%s': ", self->name);
		g_warning("%s", (*error)->message);
		return FALSE;
	}
	/* NetworkManager configures the device; the library only opens it. */
	cfg.configure_device = FALSE;
	self->apply_dns = cfg.apply_dns;
	self->client = tr_client_new(&cfg, &client_callbacks, self, error);
	tr_client_config_clear(&cfg);
	if (self->client == NULL) {
		g_prefix_error(error, "connection '%s': ", self->name);
		g_warning("%s", (*error)->message);
		return FALSE;
	}
	g_message("%s: connecting", self->name);
	tr_client_start(self->client);
	return TRUE;
}

static gboolean
real_connect(NMVpnServicePlugin *plugin, NMConnection *connection, GError **error)
{
	TrNmService *self = TR_NM_SERVICE_PLUGIN(plugin);

	self->interactive = FALSE;
	self->reasks = 0;
	return start_client(self, connection, error);
}

/* NetworkManager says an agent may ask the user: a refused password is then
 * asked for again, with the hub's reason, instead of failing. */
static gboolean
real_connect_interactive(NMVpnServicePlugin *plugin, NMConnection *connection, GVariant *details,
                         GError **error)
{
	TrNmService *self = TR_NM_SERVICE_PLUGIN(plugin);

	self->interactive = TRUE;
	self->reasks = 0;
	return start_client(self, connection, error);
}

/* The secrets asked for after a refusal: connect again with them. */
static gboolean
real_new_secrets(NMVpnServicePlugin *plugin, NMConnection *connection, GError **error)
{
	TrNmService *self = TR_NM_SERVICE_PLUGIN(plugin);

	g_message("%s: new secrets, connecting again", self->name);
	return start_client(self, connection, error);
}

static gboolean
real_need_secrets(NMVpnServicePlugin *plugin, NMConnection *connection, const char **setting_name,
                  GError **error)
{
	NMSettingVpn *s_vpn = nm_connection_get_setting_vpn(connection);
	const char *missing;

	if (s_vpn == NULL) {
		g_set_error(error, NM_VPN_PLUGIN_ERROR, NM_VPN_PLUGIN_ERROR_INVALID_CONNECTION,
		            "connection '%s' has no VPN setting", nm_connection_get_id(connection));
		return FALSE;
	}
	missing = tr_nm_missing_secret(s_vpn);
	if (missing == NULL)
		return FALSE;
	g_debug("%s: needs its %s", nm_connection_get_id(connection), missing);
	*setting_name = NM_SETTING_VPN_SETTING_NAME;
	return TRUE;
}

static gboolean
real_disconnect(NMVpnServicePlugin *plugin, GError **error)
{
	TrNmService *self = TR_NM_SERVICE_PLUGIN(plugin);

	if (self->client)
		g_message("%s: disconnecting", self->name);
	stop_client(self, FALSE);
	return TRUE;
}

static void
tr_nm_service_init(TrNmService *self)
{
}

static void
tr_nm_service_dispose(GObject *object)
{
	TrNmService *self = TR_NM_SERVICE_PLUGIN(object);

	stop_client(self, TRUE);
	g_clear_pointer(&self->name, g_free);
	G_OBJECT_CLASS(tr_nm_service_parent_class)->dispose(object);
}

static void
tr_nm_service_class_init(TrNmServiceClass *klass)
{
	NMVpnServicePluginClass *plugin_class = NM_VPN_SERVICE_PLUGIN_CLASS(klass);

	G_OBJECT_CLASS(klass)->dispose = tr_nm_service_dispose;
	plugin_class->connect = real_connect;
	plugin_class->connect_interactive = real_connect_interactive;
	plugin_class->new_secrets = real_new_secrets;
	plugin_class->need_secrets = real_need_secrets;
	plugin_class->disconnect = real_disconnect;
}

/* ---- main --------------------------------------------------------------------- */

static gboolean
quit_loop(gpointer p)
{
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

/* Leaves once the goodbye to the hub, if one is on its way, went out. */
static void
quit_soon(TrNmService *self)
{
	stop_client(self, FALSE);
	if (self->closing)
		g_timeout_add(CLOSE_GRACE_MS + 50, quit_loop, NULL);
	else
		g_main_loop_quit(loop);
}

static void
on_quit(NMVpnServicePlugin *plugin, gpointer p)
{
	quit_soon(TR_NM_SERVICE_PLUGIN(plugin));
}

static gboolean
on_signal(gpointer p)
{
	quit_soon(p);
	return G_SOURCE_REMOVE;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *bus_name = NULL;
	gboolean persist = FALSE, debug = FALSE, verbose;
	TrNmService *plugin;
	const GOptionEntry entries[] = {
	        {"persist", 0, 0, G_OPTION_ARG_NONE, &persist,
	         "Do not quit when the VPN connection terminates", NULL},
	        {"debug", 0, 0, G_OPTION_ARG_NONE, &debug,
	         "Log debug information and stay when NetworkManager goes (to run by hand)", NULL},
	        {"bus-name", 0, 0, G_OPTION_ARG_STRING, &bus_name,
	         "D-Bus name to own (NetworkManager passes one per connection)", "NAME"},
	        {NULL},
	};

	setlocale(LC_ALL, "");
	context = g_option_context_new(NULL);
	g_option_context_set_summary(context, "NetworkManager's VPN service for Trellis; "
	                                      "NetworkManager starts it.");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("nm-trellis-service: %s\n", error->message);
		return 2;
	}
	/* NetworkManager passes its log level (syslog numbers: 7 is debug). The
	 * log goes to stderr, which NetworkManager's journal keeps, prefixed
	 * "nm-trellis-service[PID]" (NM_VPN_LOG_SYSLOG is not followed: without
	 * a syslog daemon the lines would be lost). */
	verbose =
	        debug || (g_getenv("NM_VPN_LOG_LEVEL") && atoi(g_getenv("NM_VPN_LOG_LEVEL")) >= 7);
	tr_log_init("nm-trellis-service", verbose ? TR_LOG_VERBOSE : TR_LOG_NORMAL, NULL, NULL);

	plugin = g_initable_new(tr_nm_service_get_type(), NULL, &error,
	                        NM_VPN_SERVICE_PLUGIN_DBUS_SERVICE_NAME,
	                        bus_name ? bus_name : TR_NM_SERVICE,
	                        NM_VPN_SERVICE_PLUGIN_DBUS_WATCH_PEER, !debug, NULL);
	if (plugin == NULL) {
		g_printerr("nm-trellis-service: cannot start: %s\n", error->message);
		return 1;
	}
	loop = g_main_loop_new(NULL, FALSE);
	if (!persist)
		g_signal_connect(plugin, "quit", G_CALLBACK(on_quit), NULL);
	g_unix_signal_add(SIGTERM, on_signal, plugin);
	g_unix_signal_add(SIGINT, on_signal, plugin);
	g_main_loop_run(loop);
	g_object_unref(plugin);
	g_main_loop_unref(loop);
	tr_log_shutdown();
	return 0;
}
