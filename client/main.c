/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trellis-client: options and signals around the client library. */
#include "tr-config.h"

#include "client/client.h"
#include "client/options.h"
#include "client/password.h"
#include "common/base/error.h"
#include "common/base/log.h"
#include "common/daemon/bus.h"
#include "common/daemon/loop.h"
#include "common/daemon/service.h"
#include "common/auth/shared-key.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static TrClient *client;
static TrService *service;
static TrBus *control;
static gboolean ready;
static int exit_status;
/* ask-password = bus: the password comes over the system bus (SetPassword),
 * from the tray; until then (and after the hub refused it) we wait. */
static gboolean password_by_bus, waiting_password, started;

static char *
ctl_status(gpointer p)
{
	return tr_client_stats_json(client);
}

static const char *
ctl_state(gpointer p)
{
	return tr_client_state_name(client);
}

static gboolean
ctl_reload(gpointer p, GError **error)
{
	return tr_client_reload(client, error);
}

static gboolean
ctl_connect(gpointer p, GError **error)
{
	if (waiting_password) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "waiting for the password first (SetPassword)");
		return FALSE;
	}
	tr_client_restart(client);
	tr_bus_state_changed(control);
	return TRUE;
}

static gboolean
ctl_disconnect(gpointer p, const char *who, GError **error)
{
	g_message("disconnecting on request");
	tr_client_stop(client);
	tr_bus_state_changed(control);
	return TRUE;
}

static gboolean
ctl_set_password(gpointer p, const char *password, GError **error)
{
	if (!password_by_bus) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "this client takes its password from its configuration, not the bus "
		            "(ask-password = bus)");
		return FALSE;
	}
	if (*password == '\0' || strlen(password) > TR_PASSWORD_MAX_LEN) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "expected a password of 1 to %d bytes", TR_PASSWORD_MAX_LEN);
		return FALSE;
	}
	tr_client_set_password(client, password);
	g_message("got the password over the system bus: connecting");
	if (!waiting_password) {
		/* A new password while connected: for the next connection. */
		return TRUE;
	}
	waiting_password = FALSE;
	tr_client_set_waiting(client, NULL);
	if (started) {
		tr_client_restart(client);
	} else {
		started = TRUE;
		tr_client_start(client);
	}
	tr_bus_state_changed(control);
	return TRUE;
}

static const TrBusOps control_ops = {
        .status_json = ctl_status,
        .state = ctl_state,
        .reload = ctl_reload,
        .connect = ctl_connect,
        .disconnect = ctl_disconnect,
        .set_password = ctl_set_password,
};

static gboolean
announce_state(gpointer p)
{
	tr_bus_state_changed(control);
	tr_bus_peers_changed(control);
	return G_SOURCE_REMOVE;
}

static void
on_disconnected(TrClient *c, const GError *error, gpointer p)
{
	if (error)
		tr_bus_error(control, tr_bus_error_kind(error), error->message);
	/* The library moves to its next state (waiting to retry) after this
	 * callback: announce that one, not "connected". */
	g_idle_add(announce_state, NULL);
}

/* The first configuration makes the service ready: pid file, privileges
 * dropped, the --daemon parent released, systemd told. */
static void
on_configured(TrClient *c, const TrClientSettings *settings, gpointer p)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *status = g_strdup_printf("connected, device %s", tr_client_ifname(c));

	tr_bus_state_changed(control);
	tr_bus_peers_changed(control);
	if (ready) {
		tr_service_status(service, status);
		return;
	}
	ready = TRUE;
	if (!tr_service_ready(service, status, &error)) {
		g_printerr("trellis-client: %s\n", error->message);
		tr_service_failed(service, error->message);
		exit_status = 1;
		tr_client_stop(client);
		tr_daemon_loop_quit();
	}
}

static void
on_stop(gpointer p)
{
	tr_client_stop(client);
}

static gboolean
on_reload(gpointer p, GError **error)
{
	return tr_client_reload(client, error);
}

static const TrDaemonLoopOps loop_ops = {
        .stop = on_stop,
        .reload = on_reload,
        .reloaded = "reloaded the certificate, key and CA for the next connection",
        .status_json = ctl_status,
};

static void
on_refused(TrClient *c, const GError *error, gpointer p)
{
	g_autofree char *msg = g_strdup_printf("giving up: %s", error ? error->message : "refused");

	/* A password from the desktop that the hub refused: ask again. */
	if (password_by_bus && tr_client_refusal(c) == TR_REFUSE_PASSWORD) {
		g_warning("the hub refused the password (%s): waiting for another over the system "
		          "bus",
		          error->message);
		tr_client_set_password(client, NULL);
		tr_bus_error(control, tr_bus_error_kind(error), error->message);
		waiting_password = TRUE;
		tr_client_set_waiting(client, "needs-password");
		tr_bus_state_changed(control);
		return;
	}

	g_printerr("trellis-client: %s\n", msg);
	tr_bus_error(control, tr_bus_error_kind(error), error ? error->message : "refused");
	tr_bus_state_changed(control);
	if (!ready)
		tr_service_failed(service, msg);
	exit_status = 1;
	tr_daemon_loop_quit();
}

/* Before the first configuration, --daemon's parent shows how it goes. */
static void
on_retrying(TrClient *c, const char *reason, guint delay_ms, gpointer p)
{
	g_autofree char *msg = NULL;

	tr_bus_state_changed(control);
	if (ready)
		return;
	msg = g_strdup_printf("not connected yet (%s); trying again in %.0f s", reason,
	                      delay_ms / 1000.0);
	tr_service_progress(service, msg);
}

static const TrClientCallbacks callbacks = {
        .configured = on_configured,
        .disconnected = on_disconnected,
        .refused = on_refused,
        .retrying = on_retrying,
};

int
main(int argc, char **argv)
{
	g_autoptr(TrOptions) opts =
	        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
	g_autoptr(GError) error = NULL;
	TrClientConfig cfg;
	gboolean cfg_username_without_password;

	setlocale(LC_ALL, "");
	if (!tr_options_parse_args(opts, &argc, &argv, "- " TR_CLIENT_SUMMARY,
	                           TR_CLIENT_DESCRIPTION, &error)) {
		g_printerr("trellis-client: %s\n", error->message);
		return 2;
	}
	if (tr_options_get_bool(opts, "version")) {
		printf("trellis-client %s\n", TR_VERSION);
		return 0;
	}
	if (tr_options_get_bool(opts, "help-man")) {
		g_autofree char *man = tr_options_man_page(
		        "trellis-client", "8", TR_CLIENT_SUMMARY, TR_CLIENT_DESCRIPTION,
		        ".SH SIGNALS\nSIGINT and SIGTERM: say goodbye to the hub, remove the "
		        "device's "
		        "addresses, routes and DNS settings, and exit.\n"
		        ".SH EXIT STATUS\n0 after SIGINT or SIGTERM; 1 when the hub refused us for "
		        "a "
		        "reason retrying cannot fix (a wrong key, CA or server name, a hub that "
		        "takes no clients) or the client cannot start; 2 for a bad configuration. "
		        "Lost connections are retried, never an exit.\n"
		        ".SH SECURITY\nUnder its systemd unit the client runs as the system user "
		        "_trellis, never root, with CAP_NET_ADMIN as its only capability; the "
		        "state "
		        "directory is that user's. It sets the DNS servers its hub pushes through "
		        "systemd\\-resolved (a polkit rule allows _trellis that); without "
		        "systemd\\-resolved, run it as root (systemctl edit trellis\\-client@NAME: "
		        "User=root) or set no\\-dns.\n"
		        ".SH EXAMPLES\nJoin a network with an invite from its hub, then start it "
		        "now and at every boot:\n.PP\n.nf\n.RS\ntrellis join TOKEN\n"
		        "systemctl enable \\-\\-now trellis\\-client@laptop\n.RE\n.fi\n.PP\n"
		        "The same configuration in the foreground, logging to the terminal:\n.PP\n"
		        ".nf\n.RS\ntrellis\\-client \\-\\-config /etc/trellis/laptop.conf\n.RE\n"
		        ".fi\n.PP\nWith certificates copied from the hub (trellis pki issue "
		        "laptop):"
		        "\n.PP\n.nf\n.RS\ntrellis\\-client \\-c hub.example.net "
		        "\\-\\-server\\-name "
		        "hub \\-\\-ca ca.crt \\-\\-cert laptop.crt \\-\\-key laptop.key\n.RE\n.fi\n"
		        ".SH SEE ALSO\ntrellis-server(8), trellis(1)\n",
		        tr_client_options, tr_client_n_options);
		fputs(man, stdout);
		return 0;
	}
	if (tr_options_is_set(opts, "config") &&
	    (!tr_options_load_file(opts, tr_options_get_string(opts, "config"),
	                           TR_CLIENT_CONFIG_GROUP, &error) ||
	     !tr_options_check_secret_file(opts, tr_options_get_string(opts, "config"), &error))) {
		g_printerr("trellis-client: %s\n", error->message);
		return 2;
	}
	tr_service_init_log(opts, "trellis-client");

	tr_client_config_init(&cfg);
	if (!tr_client_config_from_options(opts, &cfg, &error)) {
		g_printerr("trellis-client: %s\n", error->message);
		tr_client_config_clear(&cfg);
		return 2;
	}
	if (!tr_service_check_privileges("trellis-client", &error))
		goto fail;
	tr_dp_tuning_prepare(&cfg.tuning, cfg.dev_type);
	tr_shared_key_warn_if_weak(cfg.tls.shared_key);
	service = tr_service_new(
	        &(TrServiceConfig){.program = "trellis-client",
	                           .daemonize = tr_options_get_bool(opts, "daemon"),
	                           .startup_timeout_sec =
	                                   (guint)tr_options_get_int(opts, "daemon-timeout", 30),
	                           .pid_file = tr_options_get_string(opts, "pid-file"),
	                           .user = tr_options_get_string(opts, "user"),
	                           .group = tr_options_get_string(opts, "group")},
	        &error);
	if (service == NULL)
		goto fail;
	cfg_username_without_password = cfg.username && cfg.password == NULL;
	client = tr_client_new(&cfg, &callbacks, NULL, &error);
	if (client == NULL)
		goto fail;
	tr_client_config_clear(&cfg);

	/* Privileges go before any thread of GLib's exists (capabilities are per
	 * thread); the control socket comes before or after (common/daemon/service.h). */
	if (!tr_service_drop_with_control(service, opts, "trellis-client", "client", &control_ops,
	                                  NULL, &control, &error))
		goto fail;
	tr_daemon_loop_init(service, &loop_ops, NULL);
	if (control && tr_service_wants_system_bus(opts)) {
		g_autofree char *network = tr_service_network_name(opts, "trellis-client");
		tr_bus_export_system_bus(control, network);
	}
	password_by_bus = cfg_username_without_password;
	if (password_by_bus && control == NULL) {
		g_printerr("trellis-client: ask-password = bus needs the control interface "
		           "(system-bus = yes for the tray; not control-socket = none)\n");
		return 2;
	}
	if (password_by_bus) {
		waiting_password = TRUE;
		tr_client_set_waiting(client, "needs-password");
		g_message("waiting for the password over the system bus (a desktop's tray asks)");
		tr_bus_state_changed(control);
	} else {
		started = TRUE;
		tr_client_start(client);
	}
	tr_daemon_loop_run(opts);
	tr_bus_free(control);
	tr_client_free(client);
	tr_service_free(service);
	return exit_status;
fail:
	g_printerr("trellis-client: %s\n", error->message);
	if (service)
		tr_service_failed(service, error->message);
	tr_client_config_clear(&cfg);
	return 1;
}
