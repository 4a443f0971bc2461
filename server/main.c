/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trellis-server: the hub daemon. Option parsing and signals; the logic is
 * in the server library (server/hub.c). */
#include "tr-config.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/log.h"
#include "common/pki/pki.h"
#include "common/daemon/bus.h"
#include "common/daemon/loop.h"
#include "common/daemon/service.h"
#include "common/auth/shared-key.h"
#include "server/hub.h"
#include "server/options.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#ifndef G_OS_WIN32
#include <sys/resource.h>
#endif
#include <string.h>

static TrHub *hub;
static TrService *service;
static TrBus *control;

static char *
ctl_status(gpointer p)
{
	return tr_hub_stats_json(hub);
}

static const char *
ctl_state(gpointer p)
{
	return "listening";
}

static gboolean
ctl_reload(gpointer p, GError **error)
{
	return tr_hub_reload(hub, error);
}

static gboolean
ctl_disconnect(gpointer p, const char *who, GError **error)
{
	return tr_hub_disconnect(hub, who, error);
}

static void
on_hub_changed(gpointer p)
{
	tr_bus_state_changed(control);
	tr_bus_peers_changed(control);
}

static const TrBusOps control_ops = {
        .status_json = ctl_status,
        .state = ctl_state,
        .reload = ctl_reload,
        .disconnect = ctl_disconnect,
};

static void
on_stop(gpointer p)
{
	tr_hub_stop(hub);
}

static gboolean
on_reload(gpointer p, GError **error)
{
	return tr_hub_reload(hub, error);
}

static const TrDaemonLoopOps loop_ops = {
        .stop = on_stop,
        .reload = on_reload,
        .reloaded = "reloaded the CRL and credentials",
        .status_json = ctl_status,
};

/*
 * No credentials configured: run on the state directory's own CA, creating
 * it and this hub's certificate on the first run, so that a new network
 * needs nothing but `trellis pki issue CLIENT` for each client.
 */
/* What first_run_pki() made in this run, undone when the start fails after it. */
static struct {
	char *dir;            /* the state directory, when this run created the CA there */
	gboolean created_dir; /* ... and the directory itself */
	char *name;           /* the hub certificate's name */
} fresh_pki;

static void
undo_fresh_pki(void)
{
	const char *dir = fresh_pki.dir;

	if (dir == NULL)
		return;
	{
		g_autofree char *crt = tr_pki_ca_cert_path(dir);
		g_autofree char *key = g_build_filename(dir, "ca.key", NULL);
		g_autofree char *crl = tr_pki_crl_path(dir);
		g_autofree char *cert = tr_pki_cert_path(dir, fresh_pki.name);
		g_autofree char *cert_key = tr_pki_key_path(dir, fresh_pki.name);
		g_autofree char *issued = g_path_get_dirname(cert);
		g_autofree char *revoked = g_build_filename(dir, "revoked", NULL);
		const char *files[] = {cert, cert_key, crt, key, crl};

		for (guint i = 0; i < G_N_ELEMENTS(files); i++)
			g_unlink(files[i]);
		/* Only empty directories go: nothing but what we made. */
		g_rmdir(issued);
		g_rmdir(revoked);
		if (fresh_pki.created_dir)
			g_rmdir(dir);
	}
	g_message("startup failed: removed the CA this run had created in %s", dir);
	g_clear_pointer(&fresh_pki.dir, g_free);
	g_clear_pointer(&fresh_pki.name, g_free);
}

static gboolean
first_run_pki(TrHubConfig *cfg, const char *name, GError **error)
{
	const char *dir = cfg->state_dir;
	g_autoptr(TrPkiCa) ca = NULL;
	g_autofree char *cert = tr_pki_cert_path(dir, name);

	if (!tr_pki_ca_exists(dir)) {
		TrPkiInitOptions init = {0};

		fresh_pki.created_dir = !g_file_test(dir, G_FILE_TEST_IS_DIR);
		if (!tr_pki_init(dir, &init, error))
			return FALSE;
		fresh_pki.dir = g_strdup(dir);
		fresh_pki.name = g_strdup(name);
		g_message("created the network's CA in %s", dir);
	}
	if (!g_file_test(cert, G_FILE_TEST_EXISTS)) {
		TrPkiIssueOptions issue = {.kind = TR_PKI_KIND_SERVER};
		ca = tr_pki_ca_open(dir, error);
		if (ca == NULL || !tr_pki_issue(ca, name, &issue, error))
			return FALSE;
		g_message("issued this hub's certificate '%s'; clients use --server-name %s and "
		          "certificates from: trellis pki issue NAME --state-dir %s",
		          name, name, dir);
	}
	cfg->tls.ca_file = tr_pki_ca_cert_path(dir);
	cfg->tls.crl_file = tr_pki_crl_path(dir);
	cfg->tls.cert_file = g_steal_pointer(&cert);
	cfg->tls.key_file = tr_pki_key_path(dir, name);
	return TRUE;
}

int
main(int argc, char **argv)
{
	g_autoptr(TrOptions) opts =
	        tr_options_new("trellis-server", tr_server_options, tr_server_n_options);
	g_autoptr(GError) error = NULL;
	TrHubConfig cfg;

	setlocale(LC_ALL, "");
	if (!tr_options_parse_args(opts, &argc, &argv, "- " TR_SERVER_SUMMARY,
	                           TR_SERVER_DESCRIPTION, &error)) {
		g_printerr("trellis-server: %s\n", error->message);
		return 2;
	}
	if (tr_options_get_bool(opts, "version")) {
		printf("trellis-server %s\n", TR_VERSION);
		return 0;
	}
	if (tr_options_get_bool(opts, "help-man")) {
		g_autofree char *man = tr_options_man_page(
		        "trellis-server", "8", TR_SERVER_SUMMARY, TR_SERVER_DESCRIPTION,
		        ".SH SIGNALS\nSIGINT and SIGTERM: tell every client and node goodbye, "
		        "remove the "
		        "device and exit. SIGHUP: re-read the CRL (dropping clients now revoked) "
		        "and the "
		        "password file.\n"
		        ".SH FILES\nThe state directory holds the address leases (leases) and, "
		        "when the "
		        "hub runs on its own CA, ca.crt, ca.key, crl.pem, issued/ and revoked/ "
		        "(see "
		        "trellis(1)).\n"
		        ".SH SECURITY\nUnder its systemd unit the hub runs as the system user "
		        "_trellis, never root, with CAP_NET_ADMIN as its only capability; the "
		        "state "
		        "directory is that user's. Files it reads elsewhere that hold a secret "
		        "must be "
		        "_trellis's (chown _trellis: FILE). Password checks through PAM against "
		        "local "
		        "accounts (pam_unix) need the group shadow, and ports below 1024 need "
		        "CAP_NET_BIND_SERVICE: add them with systemctl edit trellis\\-server@NAME "
		        "(SupplementaryGroups=shadow; AmbientCapabilities= and "
		        "CapabilityBoundingSet=).\n"
		        ".SH EXAMPLES\nA hub on its own CA (made in the state directory on the "
		        "first run), "
		        "handing out 198.19.0.0/24 and fd00:7472::/64, from /etc/trellis/hub.conf "
		        "under systemd:\n.PP\n.nf\n.RS\nprintf '[server]\\\\nname = hub\\\\n' "
		        ">/etc/trellis/hub.conf\nsystemctl enable \\-\\-now trellis\\-server@hub\n"
		        "trellis invite laptop \\-\\-server hub.example.net\n.RE\n.fi\n.PP\n"
		        "The same in the foreground, logging to the terminal:\n.PP\n.nf\n.RS\n"
		        "trellis\\-server \\-\\-config /etc/trellis/hub.conf\n.RE\n.fi\n.PP\n"
		        "A node of a symmetric network (nothing pushed; each node has its own "
		        "address and connects the others), from "
		        "/usr/share/doc/trellis/examples/node\\-alpha.conf:\n.PP\n.nf\n.RS\n"
		        "trellis\\-server \\-\\-config /etc/trellis/alpha.conf\n.RE\n.fi\n"
		        ".SH SEE ALSO\ntrellis-client(8), trellis(1)\n",
		        tr_server_options, tr_server_n_options);
		fputs(man, stdout);
		return 0;
	}
	if (tr_options_is_set(opts, "config") &&
	    (!tr_options_load_file(opts, tr_options_get_string(opts, "config"),
	                           TR_SERVER_CONFIG_GROUP, &error) ||
	     !tr_options_check_secret_file(opts, tr_options_get_string(opts, "config"), &error))) {
		g_printerr("trellis-server: %s\n", error->message);
		return 2;
	}
	tr_service_init_log(opts, "trellis-server");

	tr_hub_config_init(&cfg);
	if (!tr_hub_config_from_options(opts, &cfg, &error)) {
		/* A configuration that cannot work: exit 2, which the unit does not restart. */
		g_printerr("trellis-server: %s\n", error->message);
		tr_hub_config_clear(&cfg);
		return 2;
	}
	tr_shared_key_warn_if_weak(cfg.tls.shared_key);
	if (!tr_service_check_privileges("trellis-server", &error))
		goto fail;
	tr_dp_tuning_prepare(&cfg.tuning, cfg.dev_type);
	/* --daemon forks here; the parent waits for ready or failed below. */
	service = tr_service_new(
	        &(TrServiceConfig){.program = "trellis-server",
	                           .daemonize = tr_options_get_bool(opts, "daemon"),
	                           .startup_timeout_sec =
	                                   (guint)tr_options_get_int(opts, "daemon-timeout", 30),
	                           .pid_file = tr_options_get_string(opts, "pid-file"),
	                           .user = tr_options_get_string(opts, "user"),
	                           .group = tr_options_get_string(opts, "group"),
	                           .state_dir = cfg.state_dir},
	        &error);
	if (service == NULL)
		goto fail;
	if (!cfg.tls.ca_file && !cfg.tls.cert_file && !cfg.tls.key_file && !cfg.tls.shared_key &&
	    !first_run_pki(&cfg, cfg.node_name ? cfg.node_name : "hub", &error)) {
		g_prefix_error(&error, "no credentials configured, and the state directory's CA "
		                       "cannot be used: ");
		goto fail;
	}

#ifndef G_OS_WIN32
	/* One socket per client: take every file descriptor we are allowed
	 * (Windows' sockets are handles, with no such limit). */
	{
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
#endif
	hub = tr_hub_new(&cfg, &error);
	if (hub == NULL)
		goto fail;
	tr_hub_config_clear(&cfg);

	/* Privileges go before any thread of GLib's exists (capabilities are per
	 * thread); the control socket comes before or after (common/daemon/service.h). */
	if (!tr_service_drop_with_control(service, opts, "trellis-server", "hub", &control_ops,
	                                  NULL, &control, &error))
		goto fail;
	if (control)
		tr_hub_set_changed_func(hub, on_hub_changed, NULL);
	/* What the hub reads and writes while it runs must work as it runs now. */
	if (!tr_hub_check_access(hub, &error)) {
		g_prefix_error(&error, "after dropping privileges: ");
		goto fail;
	}
	tr_daemon_loop_init(service, &loop_ops, NULL);
	tr_hub_start(hub);
	if (control && tr_service_wants_system_bus(opts)) {
		g_autofree char *network = tr_service_network_name(opts, "trellis-server");
		tr_bus_export_system_bus(control, network);
	}
	{
		g_autofree char *status = g_strdup_printf("listening on port %u, device %s",
		                                          tr_hub_port(hub), tr_hub_ifname(hub));
		if (!tr_service_ready(service, status, &error))
			goto fail;
	}
	/* Started: the CA is the network's now. */
	g_clear_pointer(&fresh_pki.dir, g_free);
	g_clear_pointer(&fresh_pki.name, g_free);
	tr_daemon_loop_run(opts);
	tr_bus_free(control);
	tr_hub_free(hub);
	tr_service_free(service);
	return 0;
fail:
	g_printerr("trellis-server: %s\n", error->message);
	if (service)
		tr_service_failed(service, error->message);
	tr_hub_config_clear(&cfg);
	g_clear_pointer(&control, tr_bus_free);
	g_clear_pointer(&hub, tr_hub_free);
	/* A failed start leaves nothing behind, not even a new CA. */
	undo_fresh_pki();
	return 1;
}
