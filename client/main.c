/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trellis-client: option parsing and signals around the client library. */
#include "tr-config.h"

#include "client/client.h"
#include "client/password.h"
#include "common/error.h"
#include "common/log.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>

static GMainLoop *loop;
static TrClient *client;
static int exit_status;

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
	tr_client_stop(client);
	g_timeout_add(300, quit_loop, NULL);
	return G_SOURCE_REMOVE;
}

static void
on_refused(TrClient *c, const GError *error, gpointer p)
{
	g_printerr("trellis-client: giving up: %s\n", error ? error->message : "refused");
	exit_status = 1;
	g_main_loop_quit(loop);
}

static const TrClientCallbacks callbacks = {
	.refused = on_refused,
};

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = NULL;
	g_autoptr(GError) error = NULL;
	TrClientConfig cfg;
	gboolean version = FALSE, verbose = FALSE, quiet = FALSE, no_udp = FALSE, no_dns = FALSE;
	g_auto(GStrv) connect = NULL;
	g_autofree char *server_name = NULL, *ca = NULL, *cert = NULL, *key = NULL;
	g_autofree char *shared_key = NULL, *name = NULL, *username = NULL, *password = NULL;
	g_autofree char *password_file = NULL, *device = NULL, *device_path = NULL, *type = NULL;
	g_autofree char *crypto = NULL, *compression = NULL, *magic = NULL, *log_file = NULL;
	g_autofree char *ifup = NULL, *ifdown = NULL;
	gint mtu = 0, handshake_timeout = 0, retry_max = 0;
	const GOptionEntry entries[] = {
		{ "connect", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &connect, "Server to connect to (repeatable, tried in turn)", "HOST[:PORT]" },
		{ "server-name", 0, 0, G_OPTION_ARG_STRING, &server_name, "Name the server's certificate must carry", "NAME" },
		{ "ca", 0, 0, G_OPTION_ARG_FILENAME, &ca, "The network's CA certificate (PEM)", "FILE" },
		{ "cert", 0, 0, G_OPTION_ARG_FILENAME, &cert, "This client's certificate (PEM)", "FILE" },
		{ "key", 0, 0, G_OPTION_ARG_FILENAME, &key, "This client's private key (PEM)", "FILE" },
		{ "shared-key", 0, 0, G_OPTION_ARG_STRING, &shared_key, "Pre-shared key (TLS 1.3 PSK) instead of certificates", "KEY" },
		{ "name", 0, 0, G_OPTION_ARG_STRING, &name, "This node's name when using a shared key", "NAME" },
		{ "username", 'u', 0, G_OPTION_ARG_STRING, &username, "Username, for servers that require a password", "USER" },
		{ "password", 0, 0, G_OPTION_ARG_STRING, &password, "Password (prefer --password-file or the prompt)", "PASSWORD" },
		{ "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, "Read the password from this file (mode 0600)", "FILE" },
		{ "type", 't', 0, G_OPTION_ARG_STRING, &type, "Device type (tun)", "TYPE" },
		{ "device", 'd', 0, G_OPTION_ARG_STRING, &device, "Device name, %d is a free number (default trellis%d)", "NAME" },
		{ "device-path", 0, 0, G_OPTION_ARG_FILENAME, &device_path, "Path of the tun clone device", "PATH" },
		{ "ifup", 0, 0, G_OPTION_ARG_STRING, &ifup, "Command run (sh -c, IFNAME set) once the device is configured", "CMD" },
		{ "ifdown", 0, 0, G_OPTION_ARG_STRING, &ifdown, "Command run before the device is removed", "CMD" },
		{ "mtu", 0, 0, G_OPTION_ARG_INT, &mtu, "Largest tunnel MTU to accept (default 1420)", "BYTES" },
		{ "crypto", 0, 0, G_OPTION_ARG_STRING, &crypto, "Ciphers offered: aes256-gcm,chacha20-poly1305[,plaintext]", "LIST" },
		{ "compression", 0, 0, G_OPTION_ARG_STRING, &compression, "Offer compression: none (default) or lzo", "ALG" },
		{ "magic", 0, 0, G_OPTION_ARG_STRING, &magic, "Network magic: 8 hex digits or hash:TEXT", "ID" },
		{ "no-udp", 0, 0, G_OPTION_ARG_NONE, &no_udp, "Carry data over the TLS stream only", NULL },
		{ "no-dns", 0, 0, G_OPTION_ARG_NONE, &no_dns, "Do not apply pushed DNS settings", NULL },
		{ "handshake-timeout", 0, 0, G_OPTION_ARG_INT, &handshake_timeout, "Seconds to connect and get configured (default 10)", "SECS" },
		{ "retry-max", 0, 0, G_OPTION_ARG_INT, &retry_max, "Longest wait between reconnection attempts (default 30 s)", "SECS" },
		{ "log-file", 0, 0, G_OPTION_ARG_FILENAME, &log_file, "Also write the log to this file", "FILE" },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print debug information", NULL },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only errors and warnings", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
		{ NULL },
	};

	setlocale(LC_ALL, "");
	ctx = g_option_context_new("- Trellis client");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "trellis-client: %s\n", error->message);
		return 2;
	}
	if (version) {
		printf("trellis-client %s\n", TR_VERSION);
		return 0;
	}
	tr_log_init("trellis-client", verbose ? TR_LOG_VERBOSE : quiet ? TR_LOG_QUIET : TR_LOG_NORMAL,
		    log_file, NULL);

	tr_client_config_init(&cfg);
	cfg.connect = g_steal_pointer(&connect);
	cfg.server_name = g_strdup(server_name);
	cfg.tls.ca_file = g_strdup(ca);
	cfg.tls.cert_file = g_strdup(cert);
	cfg.tls.key_file = g_strdup(key);
	cfg.tls.shared_key = g_strdup(shared_key);
	cfg.tls.psk_identity = g_strdup(name);
	cfg.username = g_strdup(username);
	cfg.device = g_strdup(device);
	cfg.device_path = g_strdup(device_path);
	cfg.ifup = g_strdup(ifup);
	cfg.ifdown = g_strdup(ifdown);
	cfg.udp = !no_udp;
	cfg.apply_dns = !no_dns;
	if (mtu)
		cfg.mtu = (guint)CLAMP(mtu, 576, 65535);
	if (handshake_timeout > 0)
		cfg.handshake_timeout_ms = (guint)handshake_timeout * 1000;
	if (retry_max > 0)
		cfg.retry_max_sec = (guint)retry_max;
	if (type && g_strcmp0(type, "tun") != 0) {
		g_set_error(&error, TR_ERROR, TR_ERROR_CONFIG, "--type %s: only tun is supported so far", type);
		goto fail;
	}
	if (crypto) {
		g_auto(GStrv) names = g_strsplit(crypto, ",", 4);
		cfg.n_ciphers = 0;
		for (guint i = 0; names[i]; i++) {
			if (!tr_cipher_parse(g_strstrip(names[i]), &cfg.ciphers[cfg.n_ciphers++], &error)) {
				g_prefix_error(&error, "--crypto: ");
				goto fail;
			}
			cfg.allow_plaintext |= cfg.ciphers[cfg.n_ciphers - 1] == TR_CIPHER_NONE;
		}
	}
	if (compression && !tr_compress_parse(compression, &cfg.compression, &error))
		goto fail;
	if (magic && !tr_magic_parse(magic, &cfg.magic, &error))
		goto fail;
	if (username && !tr_password_get(password, password_file, username, &cfg.password, &error))
		goto fail;

	client = tr_client_new(&cfg, &callbacks, NULL, &error);
	if (client == NULL)
		goto fail;
	tr_client_config_clear(&cfg);

	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, on_quit_signal, NULL);
	g_unix_signal_add(SIGTERM, on_quit_signal, NULL);
	tr_client_start(client);
	g_main_loop_run(loop);
	tr_client_free(client);
	g_main_loop_unref(loop);
	return exit_status;
fail:
	g_printerr("trellis-client: %s\n", error->message);
	tr_client_config_clear(&cfg);
	return 1;
}
