/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trellis-server: the hub daemon. Option parsing and signals; the logic is
 * in the server library (server/hub.c). */
#include "tr-config.h"

#include "common/addr.h"
#include "common/error.h"
#include "common/log.h"
#include "common/pki.h"
#include "server/hub.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>

static GMainLoop *loop;
static TrHub *hub;

static gboolean
quit_loop(gpointer p)
{
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

static gboolean
on_quit_signal(gpointer p)
{
	g_message("shutting down");
	tr_hub_stop(hub);
	/* Let the CLOSE messages go out, then leave. */
	g_timeout_add(300, quit_loop, NULL);
	return G_SOURCE_REMOVE;
}

static gboolean
on_hup(gpointer p)
{
	g_autoptr(GError) error = NULL;

	if (tr_hub_reload(hub, &error))
		g_message("reloaded the CRL and credentials");
	else
		g_warning("reload failed, keeping the old settings: %s", error->message);
	return G_SOURCE_CONTINUE;
}

static gboolean
parse_prefixes(char **texts, TrPrefixFlags flags, TrPrefix *out, guint max, guint *n,
	       const char *what, GError **error)
{
	*n = 0;
	for (guint i = 0; texts && texts[i]; i++) {
		if (*n >= max) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "too many %s (at most %u)", what, max);
			return FALSE;
		}
		if (!tr_prefix_parse(texts[i], flags | TR_PREFIX_IP_ONLY, &out[(*n)++], error)) {
			g_prefix_error(error, "--%s: ", what);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
parse_ciphers(const char *text, TrCipher *out, guint *n, GError **error)
{
	g_auto(GStrv) names = g_strsplit(text, ",", 4);

	*n = 0;
	for (guint i = 0; names[i]; i++) {
		if (!tr_cipher_parse(g_strstrip(names[i]), &out[(*n)++], error)) {
			g_prefix_error(error, "--crypto: ");
			return FALSE;
		}
	}
	return *n > 0;
}

/*
 * No credentials configured: run on the state directory's own CA, creating
 * it and this hub's certificate on the first run, so that a new network
 * needs nothing but `trellis pki issue CLIENT` for each client.
 */
static gboolean
first_run_pki(TrHubConfig *cfg, const char *name, GError **error)
{
	const char *dir = cfg->state_dir;
	g_autoptr(TrPkiCa) ca = NULL;
	g_autofree char *cert = tr_pki_cert_path(dir, name);

	if (!tr_pki_ca_exists(dir)) {
		TrPkiInitOptions init = { 0 };
		if (!tr_pki_init(dir, &init, error))
			return FALSE;
		g_message("created the network's CA in %s", dir);
	}
	if (!g_file_test(cert, G_FILE_TEST_EXISTS)) {
		TrPkiIssueOptions issue = { .kind = TR_PKI_KIND_SERVER };
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
	g_autoptr(GOptionContext) ctx = NULL;
	g_autoptr(GError) error = NULL;
	TrHubConfig cfg;
	gboolean version = FALSE, verbose = FALSE, quiet = FALSE, no_c2c = FALSE, no_udp = FALSE;
	g_autofree char *listen = NULL, *ca = NULL, *cert = NULL, *key = NULL, *crl = NULL;
	g_autofree char *shared_key = NULL, *password_file = NULL, *pam_service = NULL;
	g_autofree char *pool4 = NULL, *pool6 = NULL, *crypto = NULL, *compression = NULL;
	g_autofree char *magic = NULL, *device = NULL, *device_path = NULL, *state_dir = NULL;
	g_autofree char *log_file = NULL, *type = NULL, *name = NULL;
	g_auto(GStrv) routes = NULL, dns = NULL, dns_search = NULL, connect = NULL, addresses = NULL;
	gint mtu = 0, keepalive = 0, peer_timeout = 0, max_pending = 0, handshake_timeout = 0;
	const GOptionEntry entries[] = {
		{ "listen", 'l', 0, G_OPTION_ARG_STRING, &listen, "Port or ADDR:PORT for TCP control and UDP data (default 3210)", "[ADDR:]PORT" },
		{ "ca", 0, 0, G_OPTION_ARG_FILENAME, &ca, "The network's CA certificate (PEM)", "FILE" },
		{ "cert", 0, 0, G_OPTION_ARG_FILENAME, &cert, "This server's certificate (PEM)", "FILE" },
		{ "key", 0, 0, G_OPTION_ARG_FILENAME, &key, "This server's private key (PEM)", "FILE" },
		{ "crl", 0, 0, G_OPTION_ARG_FILENAME, &crl, "Certificate revocation list (PEM), re-read on SIGHUP", "FILE" },
		{ "shared-key", 0, 0, G_OPTION_ARG_STRING, &shared_key, "Pre-shared key (TLS 1.3 PSK) for setups without a CA", "KEY" },
		{ "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, "Also require a password, checked against this file of user:crypt-hash lines", "FILE" },
		{ "pam-service", 0, 0, G_OPTION_ARG_STRING, &pam_service, "Also require a password, checked by PAM with this service", "NAME" },
		{ "pool", 0, 0, G_OPTION_ARG_STRING, &pool4, "IPv4 pool for client addresses (default 198.19.0.0/24)", "PREFIX" },
		{ "pool6", 0, 0, G_OPTION_ARG_STRING, &pool6, "IPv6 pool for client addresses (default fd00:7472::/64)", "PREFIX" },
		{ "route", 0, 0, G_OPTION_ARG_STRING_ARRAY, &routes, "A route to push to clients (repeatable)", "PREFIX" },
		{ "dns", 0, 0, G_OPTION_ARG_STRING_ARRAY, &dns, "A DNS server to push to clients (repeatable)", "ADDR" },
		{ "dns-search", 0, 0, G_OPTION_ARG_STRING_ARRAY, &dns_search, "A DNS search domain to push (repeatable)", "DOMAIN" },
		{ "mtu", 0, 0, G_OPTION_ARG_INT, &mtu, "Tunnel MTU (default 1420)", "BYTES" },
		{ "crypto", 0, 0, G_OPTION_ARG_STRING, &crypto, "Ciphers in order of preference: aes256-gcm,chacha20-poly1305[,plaintext]", "LIST" },
		{ "compression", 0, 0, G_OPTION_ARG_STRING, &compression, "Offer compression: none (default) or lzo", "ALG" },
		{ "magic", 0, 0, G_OPTION_ARG_STRING, &magic, "Network magic: 8 hex digits or hash:TEXT", "ID" },
		{ "keepalive", 0, 0, G_OPTION_ARG_INT, &keepalive, "Keepalive interval pushed to clients (default 10 s)", "SECS" },
		{ "peer-timeout", 0, 0, G_OPTION_ARG_INT, &peer_timeout, "Drop peers silent this long (default 60 s)", "SECS" },
		{ "no-client-to-client", 0, 0, G_OPTION_ARG_NONE, &no_c2c, "Do not route traffic between clients", NULL },
		{ "no-udp", 0, 0, G_OPTION_ARG_NONE, &no_udp, "Carry data over the TLS stream only", NULL },
		{ "type", 't', 0, G_OPTION_ARG_STRING, &type, "Device type (tun)", "TYPE" },
		{ "device", 'd', 0, G_OPTION_ARG_STRING, &device, "Device name, %d is a free number (default trellis%d)", "NAME" },
		{ "device-path", 0, 0, G_OPTION_ARG_FILENAME, &device_path, "Path of the tun clone device", "PATH" },
		{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, "Directory for address leases and, without --ca/--cert/--key/--shared-key, the network's CA (created on first run)", "DIR" },
		{ "name", 0, 0, G_OPTION_ARG_STRING, &name, "This node's name: its certificate name on the state directory's CA (default hub), and its unique name among nodes that --connect each other", "NAME" },
		{ "connect", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &connect, "Another node configured alike to connect to (repeatable; retried for ever; needs --name and --shared-key)", "HOST[:PORT]" },
		{ "address", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &addresses, "This node's own tunnel address (repeatable); without --pool it then assigns no client addresses", "ADDR/LEN" },
		{ "handshake-timeout", 0, 0, G_OPTION_ARG_INT, &handshake_timeout, "Seconds a client has to finish TLS and HELLO (default 10)", "SECS" },
		{ "max-pending", 0, 0, G_OPTION_ARG_INT, &max_pending, "Most handshakes in progress at once (default 64)", "N" },
		{ "log-file", 0, 0, G_OPTION_ARG_FILENAME, &log_file, "Also write the log to this file", "FILE" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print debug information", NULL },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only errors and warnings", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
		{ NULL },
	};

	setlocale(LC_ALL, "");
	ctx = g_option_context_new("- Trellis hub server");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "trellis-server: %s\n", error->message);
		return 2;
	}
	if (version) {
		printf("trellis-server %s\n", TR_VERSION);
		return 0;
	}
	tr_log_init("trellis-server", verbose ? TR_LOG_VERBOSE : quiet ? TR_LOG_QUIET : TR_LOG_NORMAL,
		    log_file, NULL);

	tr_hub_config_init(&cfg);
	if (listen) {
		g_free(cfg.listen);
		cfg.listen = g_strdup(listen);
	}
	cfg.tls.ca_file = g_strdup(ca);
	cfg.tls.cert_file = g_strdup(cert);
	cfg.tls.key_file = g_strdup(key);
	cfg.tls.crl_file = g_strdup(crl);
	cfg.tls.shared_key = g_strdup(shared_key);
	cfg.password_file = g_strdup(password_file);
	cfg.pam_service = g_strdup(pam_service);
	cfg.pam_confdir = g_strdup(g_getenv("TRELLIS_PAM_CONFDIR"));
	cfg.dns = g_steal_pointer(&dns);
	cfg.dns_search = g_steal_pointer(&dns_search);
	cfg.device = g_strdup(device);
	cfg.device_path = g_strdup(device_path);
	cfg.state_dir = g_strdup(state_dir ? state_dir : TR_LOCALSTATEDIR);
	cfg.client_to_client = !no_c2c;
	cfg.udp = !no_udp;
	if (mtu)
		cfg.mtu = (guint)CLAMP(mtu, 576, 65535);
	if (keepalive > 0)
		cfg.keepalive = (guint)keepalive;
	if (peer_timeout > 0)
		cfg.peer_timeout = (guint)peer_timeout;
	if (max_pending > 0)
		cfg.max_pending = (guint)max_pending;
	if (handshake_timeout > 0)
		cfg.handshake_timeout_ms = (guint)handshake_timeout * 1000;
	if (type && g_strcmp0(type, "tun") != 0) {
		g_set_error(&error, TR_ERROR, TR_ERROR_CONFIG,
			    "--type %s: the hub routes IP packets and supports only tun so far", type);
		goto fail;
	}
	cfg.connect = g_steal_pointer(&connect);
	cfg.node_name = g_strdup(name);
	if (!parse_prefixes(addresses, TR_PREFIX_ALLOW_HOST_BITS | TR_PREFIX_REQUIRE_LEN,
			    cfg.addresses, G_N_ELEMENTS(cfg.addresses), &cfg.n_addresses, "address",
			    &error))
		goto fail;
	if (cfg.n_addresses > 0 && pool4 == NULL && pool6 == NULL) {
		memset(&cfg.pool4, 0, sizeof(cfg.pool4));
		memset(&cfg.pool6, 0, sizeof(cfg.pool6));
	}
	if (pool4 && !(g_strcmp0(pool4, "none") == 0 ? (memset(&cfg.pool4, 0, sizeof(cfg.pool4)), TRUE)
						      : tr_prefix_parse(pool4, TR_PREFIX_IP_ONLY, &cfg.pool4, &error)))
		goto fail;
	if (pool6 && !(g_strcmp0(pool6, "none") == 0 ? (memset(&cfg.pool6, 0, sizeof(cfg.pool6)), TRUE)
						      : tr_prefix_parse(pool6, TR_PREFIX_IP_ONLY, &cfg.pool6, &error)))
		goto fail;
	if (!parse_prefixes(routes, 0, cfg.routes, TR_HUB_MAX_PUSH, &cfg.n_routes, "route", &error))
		goto fail;
	if (crypto && !parse_ciphers(crypto, cfg.ciphers, &cfg.n_ciphers, &error))
		goto fail;
	for (guint i = 0; i < cfg.n_ciphers; i++)
		cfg.allow_plaintext |= cfg.ciphers[i] == TR_CIPHER_NONE;
	if (compression && !tr_compress_parse(compression, &cfg.compression, &error))
		goto fail;
	if (magic && !tr_magic_parse(magic, &cfg.magic, &error))
		goto fail;

	if (!ca && !cert && !key && !shared_key &&
	    !first_run_pki(&cfg, name ? name : "hub", &error)) {
		g_prefix_error(&error, "no credentials configured, and the state directory's CA cannot be used: ");
		goto fail;
	}

	hub = tr_hub_new(&cfg, &error);
	if (hub == NULL)
		goto fail;
	tr_hub_config_clear(&cfg);

	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, on_quit_signal, NULL);
	g_unix_signal_add(SIGTERM, on_quit_signal, NULL);
	g_unix_signal_add(SIGHUP, on_hup, NULL);
	tr_hub_start(hub);
	g_main_loop_run(loop);
	tr_hub_free(hub);
	g_main_loop_unref(loop);
	return 0;
fail:
	g_printerr("trellis-server: %s\n", error->message);
	tr_hub_config_clear(&cfg);
	return 1;
}
