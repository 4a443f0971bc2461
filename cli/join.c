/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `trellis join TOKEN`: on the new machine, makes a key here, connects to
 * the hub with the invite's TLS PSK, sends a certificate request (JOIN),
 * checks the answer (JOINED) against the CA fingerprint the token pins, and
 * writes the CA, certificate, key and client configuration
 * (docs/PROTOCOL.md, "Joining with an invite").
 */
#include "tr-config.h"

#include "cli/cli.h"
#include "common/base/addr.h"
#include "common/ctrl/conn.h"
#include "common/ctrl/dialer.h"
#include "common/base/error.h"
#include "common/pki/invite-token.h"
#include "common/pki/join.h"
#include "common/pki/pki.h"

#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS    10000
#define TR_CLI_JOIN_TIMEOUT_S 30

typedef struct {
	GMainLoop *loop;
	guint timeout_id; /* the overall bound; 0 once it fired */
	TrInviteToken *token;
	TrTlsCreds *creds;
	GBytes *request_pem;
	TrDialer *dialer;
	TrCtrl *ctrl;
	guint next_server;
	GString *unreachable; /* "HOST: why; ..." */
	char *reached;        /* the address that answered */
	guint reached_index;  /* its place in the token's servers */
	gboolean established;
	/* The outcome: an answer or an error. */
	GBytes *certificate;
	GBytes *ca_cert;
	char *server_name;
	guint16 port;
	GError *error;
} Join;

static void
join_finish(Join *j, GError *error)
{
	if (j->error == NULL && j->certificate == NULL)
		j->error = error;
	else if (error != NULL)
		g_error_free(error);
	g_main_loop_quit(j->loop);
}

static void
on_established(TrCtrl *ctrl, gpointer p)
{
	Join *j = p;
	g_autoptr(GError) error = NULL;
	g_autofree char *identity = NULL;
	g_auto(TrMsg) msg = {0};

	j->established = TRUE;
	if (!tr_tls_verify_peer(tr_ctrl_get_tls(ctrl), &identity, &error)) {
		join_finish(j, g_steal_pointer(&error));
		return;
	}
	tr_msg_init(&msg, TR_MSG_JOIN);
	tr_msg_set_bytes(&msg, TR_ATTR_CERT_REQUEST, j->request_pem);
	if (!tr_ctrl_send(ctrl, &msg, &error))
		join_finish(j, g_steal_pointer(&error));
}

static void
on_message(TrCtrl *ctrl, TrMsg *msg, gpointer p)
{
	Join *j = p;
	g_autoptr(GError) error = NULL;

	switch (msg->type) {
	case TR_MSG_JOINED:
		if (!tr_msg_require(msg, &error, TR_ATTR_CERTIFICATE, TR_ATTR_CA_CERT,
		                    TR_ATTR_SERVER_NAME, TR_ATTR_UDP_PORT, 0)) {
			join_finish(j, g_steal_pointer(&error));
			return;
		}
		if (j->certificate != NULL || j->error != NULL)
			return;
		j->certificate = g_bytes_ref(msg->certificate);
		j->ca_cert = g_bytes_ref(msg->ca_cert);
		j->server_name = g_strdup(msg->server_name);
		j->port = msg->udp_port;
		join_finish(j, NULL);
		return;
	case TR_MSG_ERROR:
	case TR_MSG_CLOSE:
		g_set_error(&error, TR_ERROR, TR_ERROR_AUTH, "the hub refused the invite: %s",
		            msg->reason ? msg->reason : tr_refusal_to_string(msg->error_code));
		join_finish(j, g_steal_pointer(&error));
		return;
	default:
		return; /* PING and the like: nothing to do before the answer */
	}
}

static void
on_closed(TrCtrl *ctrl, const GError *error, gpointer p)
{
	Join *j = p;
	GError *e;

	if (!j->established && g_error_matches(error, TR_ERROR, TR_ERROR_TIMEOUT))
		e = g_error_new(TR_ERROR, TR_ERROR_TIMEOUT,
		                "the hub at %s did not finish the TLS handshake in time",
		                j->reached);
	else if (!j->established)
		e = g_error_new(TR_ERROR, TR_ERROR_AUTH,
		                "the hub at %s refused the invite in the TLS handshake (%s): it "
		                "does not know this invite (already used and cleaned up, "
		                "withdrawn, or made by another hub)",
		                j->reached, error ? error->message : "closed");
	else
		e = g_error_new(TR_ERROR, TR_ERROR_IO,
		                "the hub at %s closed the connection before answering%s%s",
		                j->reached, error ? ": " : "", error ? error->message : "");
	join_finish(j, e);
}

static const TrCtrlCallbacks join_callbacks = {
        .established = on_established,
        .message = on_message,
        .closed = on_closed,
};

static void dial_next(Join *j);

static void
on_dialled(TrDialer *dialer, int fd, const struct sockaddr *remote, socklen_t remote_len,
           const GError *error, gpointer p)
{
	Join *j = p;
	g_autoptr(GError) err = NULL;
	char desc[80];

	if (fd < 0) {
		g_string_append_printf(j->unreachable, "%s%s: %s", j->unreachable->len ? "; " : "",
		                       tr_dialer_target(dialer), error->message);
		dial_next(j);
		return;
	}
	tr_sockaddr_to_string(remote, desc, sizeof(desc));
	j->reached = g_strdup(desc);
	j->reached_index = j->next_server - 1;
	j->ctrl = tr_ctrl_new(j->creds, fd, NULL, desc, &join_callbacks, j, &err);
	if (j->ctrl == NULL) {
		join_finish(j, g_steal_pointer(&err));
		return;
	}
	tr_ctrl_start(j->ctrl, CONNECT_TIMEOUT_MS);
}

static void
dial_next(Join *j)
{
	const char *target = j->token->servers[j->next_server];

	if (target == NULL) {
		join_finish(j, g_error_new(TR_ERROR, TR_ERROR_IO,
		                           "cannot reach the hub (%s); check the address, that "
		                           "trellis-server runs there and that its port is open",
		                           j->unreachable->str));
		return;
	}
	j->next_server++;
	tr_dialer_free(j->dialer);
	j->dialer = tr_dialer_new(target, TR_DEFAULT_PORT, CONNECT_TIMEOUT_MS, on_dialled, j);
	tr_dialer_start(j->dialer);
}

static gboolean
on_overall_timeout(gpointer p)
{
	Join *j = p;

	j->timeout_id = 0;
	join_finish(j, g_error_new(TR_ERROR, TR_ERROR_TIMEOUT,
	                           "the hub did not answer in time (%d s)", TR_CLI_JOIN_TIMEOUT_S));
	return G_SOURCE_REMOVE;
}

/* Runs the exchange; the answer ends up in @j or the reason in @error. */
static gboolean
exchange(Join *j, GError **error)
{
	j->loop = g_main_loop_new(NULL, FALSE);
	j->unreachable = g_string_new(NULL);
	j->timeout_id = g_timeout_add_seconds(TR_CLI_JOIN_TIMEOUT_S, on_overall_timeout, j);
	dial_next(j);
	g_main_loop_run(j->loop);
	g_clear_handle_id(&j->timeout_id, g_source_remove);
	if (j->ctrl != NULL) {
		tr_ctrl_abort(j->ctrl);
		g_clear_pointer(&j->ctrl, tr_ctrl_unref);
	}
	g_clear_pointer(&j->dialer, tr_dialer_free);
	g_clear_pointer(&j->loop, g_main_loop_unref);
	g_string_free(j->unreachable, TRUE);
	if (j->certificate == NULL) {
		g_propagate_error(error, g_steal_pointer(&j->error));
		return FALSE;
	}
	return TRUE;
}

static void
join_clear(Join *j)
{
	tr_invite_token_free(j->token);
	if (j->creds)
		tr_tls_creds_unref(j->creds);
	if (j->request_pem)
		g_bytes_unref(j->request_pem);
	if (j->certificate)
		g_bytes_unref(j->certificate);
	if (j->ca_cert)
		g_bytes_unref(j->ca_cert);
	g_free(j->server_name);
	g_free(j->reached);
	g_clear_error(&j->error);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Join, join_clear)

/* The hubs' addresses with a port each, for the client; *@reached: where
 * the token's server number @reached_index is in the list. */
static char **
connect_list(char **servers, guint16 port, guint reached_index, guint *reached)
{
	GPtrArray *out = g_ptr_array_new();

	*reached = G_MAXUINT;
	for (guint i = 0; servers[i] != NULL; i++) {
		g_autofree char *host = NULL;
		guint16 p;

		if (!tr_hostport_parse(servers[i], port, &host, &p, NULL))
			continue;
		if (i == reached_index)
			*reached = out->len;
		g_ptr_array_add(out,
		                g_strdup_printf(strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, p));
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

/*
 * One certificate name per hub of @connect (a client of hubs of one CA
 * checks each hub's own name when it fails over): the hub that answered,
 * number @reached, said its name; the others are asked with the new
 * certificate. A hub that cannot be asked now keeps the answering hub's name
 * (right for another address of the same hub), with a warning.
 */
static char **
server_names(char **connect, guint reached, const char *own, guint16 port, const char *ca,
             const char *cert, const char *key)
{
	guint n = g_strv_length(connect);
	char **names = g_new0(char *, n + 1);
	g_autofree char **whys = g_new0(char *, n + 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(TrTlsCreds) creds = NULL;
	TrTlsConfig tls = {.is_server = FALSE, .ca_file = ca, .cert_file = cert, .key_file = key};

	if (n > 1) {
		creds = tr_tls_creds_new(&tls, &error);
		if (creds != NULL)
			tr_cli_hub_names(creds, (const char *const *)connect, port, reached, names,
			                 whys);
	}
	for (guint i = 0; i < n; i++) {
		if (names[i] != NULL)
			continue;
		names[i] = g_strdup(own);
		if (i == reached)
			continue;
		fprintf(stderr,
		        "trellis: warning: could not ask the hub at %s for its certificate name "
		        "(%s); the configuration gives it the name '%s' (right if it is the same "
		        "hub): if it is another hub, put its name in place %u of server-name\n",
		        connect[i],
		        whys[i] ? whys[i]
		        : error ? error->message
		                : "?",
		        own, i + 1);
		g_free(whys[i]);
	}
	return names;
}

/* One line from stdin: the token, without its newline. */
static gboolean
read_token(char **token, GError **error)
{
	char line[4096];
	size_t n;

	if (fgets(line, sizeof(line), stdin) == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "expected the invite token on standard input, found nothing");
		return FALSE;
	}
	n = strcspn(line, "\r\n");
	if (line[n] == '\0' && n == sizeof(line) - 1) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "expected one invite token on standard input, found a line of over %zu "
		            "bytes",
		            sizeof(line) - 2);
		return FALSE;
	}
	line[n] = '\0';
	*token = g_strdup(g_strstrip(line));
	explicit_bzero(line, sizeof(line));
	return TRUE;
}

int
tr_cli_join(int argc, char **argv)
{
	g_autofree char *state_opt = NULL;
	g_autofree char *network = NULL;
	g_autofree char *conf_file = NULL;
	const GOptionEntry entries[] = {
	        {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_opt,
	         "Where to write the CA, certificate and key (default: "
	         "$TRELLIS_STATE_DIR or " TR_LOCALSTATEDIR ")",
	         "DIR"},
	        {"network", 0, 0, G_OPTION_ARG_STRING, &network,
	         "Name of the configuration: NAME.conf in $TRELLIS_CONFIG_DIR or " TR_SYSCONFDIR
	         ", started by trellis-client@NAME (default: the name in the invite)",
	         "NAME"},
	        {NULL},
	};
	g_autoptr(GOptionContext) ctx =
	        g_option_context_new("TOKEN - Join the network with a token from 'trellis invite'");
	g_autoptr(GError) error = NULL;
	g_auto(Join) j = {0};
	g_autoptr(GBytes) key_pem = NULL;
	g_autofree char *identity = NULL;
	g_autofree char *conf = NULL;
	g_autofree char *dir = NULL;
	g_autofree char *when = NULL;
	g_autofree char *ca = NULL, *cert = NULL, *key = NULL;
	g_auto(GStrv) connect = NULL;
	g_auto(GStrv) names = NULL;
	guint reached = 0;
	guint8 psk[TR_INVITE_PSK_LEN];
	TrTlsConfig tls = {.is_server = FALSE};
	TrPkiJoinResult result;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autofree char *token = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!tr_cli_parse_options(ctx, &argc, &argv))
		return TR_CLI_USAGE;
	if (argc != 2) {
		fprintf(stderr, "trellis: usage: trellis join TOKEN|- [--network NAME] "
		                "[--state-dir DIR]\n");
		return TR_CLI_USAGE;
	}
	/* "-": the token from stdin, where a command line would show it to
	 * every user (ps); the tray hands it over so, through pkexec. */
	if (strcmp(argv[1], "-") == 0 && !read_token(&token, &error))
		return tr_cli_fail(error);

	/* Everything that can be checked here is checked before connecting. */
	j.token = tr_invite_token_parse(token ? token : argv[1], &error);
	if (j.token == NULL)
		return tr_cli_fail(error);
	if (tr_invite_token_expired(j.token, now)) {
		when = tr_cli_format_utc(j.token->expires);
		fprintf(stderr,
		        "trellis: this invite for '%s' expired at %s; ask for a new one "
		        "('trellis invite %s' on the hub)\n",
		        j.token->name, when, j.token->name);
		return TR_CLI_ERROR;
	}
	dir = g_canonicalize_filename(tr_cli_state_dir(state_opt), NULL);
	if (!tr_pki_join_prepare(dir, j.token->name, &error))
		return tr_cli_fail(error);
	if (network == NULL)
		network = g_strdup(j.token->name);
	if (!tr_pki_name_validate(network, &error)) {
		g_prefix_error(&error, "--network: ");
		return tr_cli_fail(error);
	}
	conf_file = g_strdup_printf("%s/%s.conf", tr_cli_config_dir(), network);
	/* Checked before the invite is spent, and again when writing. */
	if (g_file_test(conf_file, G_FILE_TEST_EXISTS)) {
		fprintf(stderr,
		        "trellis: %s exists already: this machine has a network called '%s'; "
		        "join under another name with --network NAME\n",
		        conf_file, network);
		return TR_CLI_ERROR;
	}

	/* The key is made here and never leaves this machine. */
	if (!tr_pki_make_request(j.token->name, TR_PKI_ALG_ED25519, &key_pem, &j.request_pem,
	                         &error) ||
	    !tr_invite_derive_psk(j.token->secret, j.token->id, psk, &error))
		return tr_cli_fail(error);
	identity = tr_invite_psk_identity(j.token->id);
	tls.psk_key = psk;
	tls.psk_identity = identity;
	j.creds = tr_tls_creds_new(&tls, &error);
	gnutls_memset(psk, 0, sizeof(psk));
	if (j.creds == NULL || !exchange(&j, &error))
		return tr_cli_fail(error);

	/* Nothing the hub sent is trusted or written before this passes. */
	if (!tr_pki_join_check(j.token->ca_fingerprint, j.ca_cert, j.certificate, key_pem,
	                       j.token->name, &error))
		return tr_cli_fail(error);
	connect = connect_list(j.token->servers, j.port, j.reached_index, &reached);
	result = (TrPkiJoinResult){
	        .name = j.token->name,
	        .ca = j.ca_cert,
	        .cert = j.certificate,
	        .key_pem = key_pem,
	        .connect = (const char *const *)connect,
	        .config_file = conf_file,
	};
	ca = g_build_filename(dir, "ca.crt", NULL);
	{
		g_autofree char *crt_name = g_strdup_printf("%s.crt", j.token->name);
		g_autofree char *key_name = g_strdup_printf("%s.key", j.token->name);

		cert = g_build_filename(dir, crt_name, NULL); /* '\' on Windows */
		key = g_build_filename(dir, key_name, NULL);
	}
	/* The credentials first: the other hubs are asked their names with them. */
	if (!tr_pki_join_save_credentials(dir, &result, &error))
		return tr_cli_fail(error);
	names = server_names(connect, reached, j.server_name, j.port, ca, cert, key);
	result.server_names = (const char *const *)names;
	if (!tr_pki_join_save_config(dir, &result, &conf, &error))
		return tr_cli_fail(error);

	printf("joined as '%s' (hub %s, server name %s)\n"
	       "  CA certificate: %s (fingerprint matches the invite)\n"
	       "  certificate:    %s\n"
	       "  private key:    %s (made on this machine)\n"
	       "  configuration:  %s\n",
	       j.token->name, j.reached, j.server_name, ca, cert, key, conf);
	if (g_strv_length(connect) > 1) {
		printf("  hubs:          ");
		for (guint i = 0; connect[i] != NULL; i++)
			printf(" %s (%s)%s", connect[i], names[i], connect[i + 1] ? "," : "\n");
	}
#ifdef G_OS_WIN32
	printf("Start the network now and at every boot with (as an administrator):\n"
	       "  trellis service install %s --config \"%s\"\n"
	       "  trellis service start %s\n"
	       "or run it in the foreground with:\n"
	       "  trellis-client --config \"%s\"\n",
	       network, conf, network, conf);
#else
	printf("Start the network now and at every boot with:\n"
	       "  systemctl enable --now trellis-client@%s\n"
	       "or run it in the foreground with:\n"
	       "  trellis-client --config %s\n",
	       network, conf);
#endif
	return TR_CLI_OK;
}
