/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TLS backend + control connection over a socketpair, on a real main loop. */
#include "common/ctrl/conn.h"
#include "common/base/error.h"

#include <gnutls/gnutls.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
	GMainLoop *loop;
	TrCtrl *ctrl;
	gboolean established;
	char *identity;
	GError *closed_error;
	gboolean closed;
	guint n_messages;
	guint n_data_whole; /* DATA of 1400 bytes, each byte its number in the row */
	TrMsg last;
	gboolean quit_on_message;
} Side;

static void
on_established(TrCtrl *ctrl, gpointer user_data)
{
	Side *s = user_data;
	g_autoptr(GError) error = NULL;

	s->established = TRUE;
	if (!tr_tls_verify_peer(tr_ctrl_get_tls(ctrl), &s->identity, &error))
		g_error("verify: %s", error->message);
}

static void
on_message(TrCtrl *ctrl, TrMsg *msg, gpointer user_data)
{
	Side *s = user_data;

	s->n_messages++;
	if (msg->type == TR_MSG_DATA && msg->data_len == 1400 &&
	    msg->data[0] == (uint8_t)s->n_data_whole && msg->data[1399] == msg->data[0])
		s->n_data_whole++;
	tr_msg_clear(&s->last);
	s->last = *msg;
	tr_msg_init(msg, 0); /* ownership of the strings moved to s->last */
	if (s->quit_on_message)
		g_main_loop_quit(s->loop);
}

static void
on_closed(TrCtrl *ctrl, const GError *error, gpointer user_data)
{
	Side *s = user_data;

	s->closed = TRUE;
	if (error)
		s->closed_error = g_error_copy(error);
	g_main_loop_quit(s->loop);
}

static const TrCtrlCallbacks callbacks = {on_established, on_message, on_closed};

static gboolean
on_deadline(gpointer user_data)
{
	g_error("test deadline reached");
	return G_SOURCE_REMOVE;
}

static void
run_until(GMainLoop *loop, gboolean *flag)
{
	guint id = g_timeout_add_seconds(20, on_deadline, NULL);
	while (!*flag)
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(id);
	(void)loop;
}

static void
setup_pair(const char *server_key, const char *client_key, Side *srv, Side *cli)
{
	g_autoptr(GError) error = NULL;
	TrTlsConfig sc = {.is_server = TRUE, .shared_key = server_key};
	TrTlsConfig cc = {.is_server = FALSE, .shared_key = client_key, .psk_identity = "node-a"};
	g_autoptr(TrTlsCreds) screds = tr_tls_creds_new(&sc, &error);
	g_assert_no_error(error);
	g_autoptr(TrTlsCreds) ccreds = tr_tls_creds_new(&cc, &error);
	g_assert_no_error(error);
	int sv[2];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	srv->ctrl = tr_ctrl_new(screds, sv[0], NULL, "server-end", &callbacks, srv, &error);
	g_assert_no_error(error);
	cli->ctrl = tr_ctrl_new(ccreds, sv[1], NULL, "client-end", &callbacks, cli, &error);
	g_assert_no_error(error);
	tr_ctrl_start(srv->ctrl, 10000);
	tr_ctrl_start(cli->ctrl, 10000);
}

static void
side_clear(Side *s)
{
	g_clear_pointer(&s->ctrl, tr_ctrl_unref);
	g_clear_pointer(&s->identity, g_free);
	g_clear_error(&s->closed_error);
	tr_msg_clear(&s->last);
}

static void
test_psk_exchange(void)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	Side srv = {.loop = loop}, cli = {.loop = loop};
	g_auto(TrMsg) m = {0};
	uint8_t ks[32], kc[32], other[32];
	g_autoptr(GError) error = NULL;
	gboolean both = FALSE;

	setup_pair("correct horse battery", "correct horse battery", &srv, &cli);
	while (!(srv.established && cli.established))
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpstr(srv.identity, ==, "psk:node-a");

	/* Both ends export the same key; a different context gives another. */
	g_assert_true(
	        tr_tls_export(tr_ctrl_get_tls(srv.ctrl), "EXPORTER-test", "c", 1, ks, 32, &error));
	g_assert_true(
	        tr_tls_export(tr_ctrl_get_tls(cli.ctrl), "EXPORTER-test", "c", 1, kc, 32, &error));
	g_assert_true(tr_tls_export(tr_ctrl_get_tls(cli.ctrl), "EXPORTER-test", "d", 1, other, 32,
	                            &error));
	g_assert_cmpmem(ks, 32, kc, 32);
	g_assert_true(memcmp(ks, other, 32) != 0);

	tr_msg_init(&m, TR_MSG_PING);
	{
		uint8_t salt[16];

		memset(salt, 0x5a, sizeof(salt));
		g_assert_true(tr_msg_set_salt(&m, salt, sizeof(salt)));
	}
	srv.quit_on_message = TRUE;
	g_assert_true(tr_ctrl_send(cli.ctrl, &m, &error));
	g_assert_no_error(error);
	run_until(loop, (gboolean *)&srv.n_messages);
	g_assert_cmpuint(srv.last.type, ==, TR_MSG_PING);
	g_assert_cmpuint(srv.last.salt_len, ==, 16);

	/* Many data packets in a row arrive whole and in order (their messages
	 * straddle TLS records and reads: both ways of taking input). */
	srv.n_messages = 0;
	srv.quit_on_message = FALSE;
	for (int i = 0; i < 200; i++) {
		uint8_t pkt[1400];
		memset(pkt, i, sizeof(pkt));
		g_assert_true(tr_ctrl_send_data(cli.ctrl, pkt, sizeof(pkt)));
	}
	while (srv.n_messages < 200)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(srv.last.type, ==, TR_MSG_DATA);
	g_assert_cmpuint(srv.n_data_whole, ==, 200);

	/* An orderly close reaches the other side with its reason. */
	tr_ctrl_close(srv.ctrl, TR_MSG_ERROR, TR_REFUSE_AUTH, "invalid username or password");
	while (!(cli.closed && srv.closed) && !both)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(cli.last.type, ==, TR_MSG_ERROR);
	g_assert_cmpuint(cli.last.error_code, ==, TR_REFUSE_AUTH);
	g_assert_cmpstr(cli.last.reason, ==, "invalid username or password");
	side_clear(&srv);
	side_clear(&cli);
}

static void
test_psk_mismatch(void)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	Side srv = {.loop = loop}, cli = {.loop = loop};

	setup_pair("correct horse battery", "wrong horse battery", &srv, &cli);
	while (!(srv.closed && cli.closed))
		g_main_context_iteration(NULL, TRUE);
	g_assert_false(srv.established);
	g_assert_false(cli.established);
	g_assert_nonnull(srv.closed_error);
	g_assert_nonnull(cli.closed_error);
	g_test_message("server: %s / client: %s", srv.closed_error->message,
	               cli.closed_error->message);
	/* The connecting side hears a refusal, by code: it would not retry. */
	g_assert_error(cli.closed_error, TR_ERROR, TR_ERROR_AUTH);
	g_assert_false(tr_error_is_retryable(cli.closed_error));
	side_clear(&srv);
	side_clear(&cli);
}

static void
test_handshake_timeout(void)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	Side srv = {.loop = loop};
	g_autoptr(GError) error = NULL;
	TrTlsConfig sc = {.is_server = TRUE, .shared_key = "correct horse battery"};
	g_autoptr(TrTlsCreds) screds = tr_tls_creds_new(&sc, &error);
	int sv[2];

	/* A peer that never speaks is cut off when the handshake time runs out. */
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	srv.ctrl = tr_ctrl_new(screds, sv[0], NULL, "silent", &callbacks, &srv, &error);
	tr_ctrl_start(srv.ctrl, 200);
	run_until(loop, &srv.closed);
	g_assert_error(srv.closed_error, TR_ERROR, TR_ERROR_TIMEOUT);
	close(sv[1]);
	side_clear(&srv);
}

static void
test_config_errors(void)
{
	g_autoptr(GError) error = NULL;
	TrTlsConfig none = {.is_server = TRUE};
	TrTlsConfig short_key = {.is_server = TRUE, .shared_key = "abc"};
	TrTlsConfig half_cert = {.is_server = TRUE, .cert_file = "/nonexistent.crt"};
	TrTlsCreds *c;

	c = tr_tls_creds_new(&none, &error);
	g_assert_null(c);
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	g_clear_error(&error);
	c = tr_tls_creds_new(&short_key, &error);
	g_assert_null(c);
	g_assert_nonnull(strstr(error->message, "too short"));
	g_clear_error(&error);
	c = tr_tls_creds_new(&half_cert, &error);
	g_assert_null(c);
	g_assert_nonnull(strstr(error->message, "needs a CA"));
}

/* GnuTLS's codes and the peer's alerts, as TR_ERROR codes: what a client's
 * retry loop decides on. */
static void
test_error_codes(void)
{
	static const struct {
		int rc, alert;
		gboolean psk;
		TrError code;
	} cases[] = {
	        /* The peer's verdict on our certificate: retrying cannot help. */
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_UNKNOWN_CA, FALSE, TR_ERROR_AUTH},
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_BAD_CERTIFICATE, FALSE, TR_ERROR_AUTH},
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_CERTIFICATE_REVOKED, FALSE, TR_ERROR_AUTH},
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_CERTIFICATE_EXPIRED, FALSE, TR_ERROR_AUTH},
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_CERTIFICATE_REQUIRED, FALSE,
	         TR_ERROR_AUTH},
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_ACCESS_DENIED, TRUE, TR_ERROR_AUTH},
	        /* A failed decryption is a wrong shared key, with one only. */
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_DECRYPT_ERROR, TRUE, TR_ERROR_AUTH},
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_DECRYPT_ERROR, FALSE, TR_ERROR_IO},
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_UNKNOWN_PSK_IDENTITY, TRUE, TR_ERROR_AUTH},
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_HANDSHAKE_FAILURE, FALSE,
	         TR_ERROR_NEGOTIATE},
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_HANDSHAKE_FAILURE, TRUE, TR_ERROR_AUTH},
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_PROTOCOL_VERSION, FALSE,
	         TR_ERROR_NEGOTIATE},
	        /* Alerts that say nothing about us: the next attempt may work. */
	        {GNUTLS_E_FATAL_ALERT_RECEIVED, GNUTLS_A_INTERNAL_ERROR, FALSE, TR_ERROR_IO},
	        {GNUTLS_E_WARNING_ALERT_RECEIVED, GNUTLS_A_USER_CANCELED, TRUE, TR_ERROR_IO},
	        /* Our own side's findings. */
	        {GNUTLS_E_NO_CERTIFICATE_FOUND, 0, FALSE, TR_ERROR_AUTH},
	        {GNUTLS_E_CERTIFICATE_REQUIRED, 0, FALSE, TR_ERROR_AUTH},
	        {GNUTLS_E_NO_CIPHER_SUITES, 0, FALSE, TR_ERROR_NEGOTIATE},
	        {GNUTLS_E_INSUFFICIENT_CREDENTIALS, 0, TRUE, TR_ERROR_NEGOTIATE},
	        {GNUTLS_E_UNSUPPORTED_VERSION_PACKET, 0, FALSE, TR_ERROR_NEGOTIATE},
	        /* A connection that went away. */
	        {GNUTLS_E_PREMATURE_TERMINATION, 0, FALSE, TR_ERROR_IO},
	        {GNUTLS_E_PUSH_ERROR, 0, TRUE, TR_ERROR_IO},
	        {GNUTLS_E_PULL_ERROR, 0, FALSE, TR_ERROR_IO},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		TrError code = tr_tls_error_code(cases[i].rc, cases[i].alert, cases[i].psk);
		GError e = {TR_ERROR, (int)code, (char *)"x"};

		g_test_message("%s / %s / psk %d -> %d", gnutls_strerror(cases[i].rc),
		               gnutls_alert_get_name(cases[i].alert), cases[i].psk, code);
		g_assert_cmpint(code, ==, cases[i].code);
		g_assert_cmpint(tr_error_is_retryable(&e), ==, cases[i].code == TR_ERROR_IO);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ctrl/psk-exchange", test_psk_exchange);
	g_test_add_func("/ctrl/psk-mismatch", test_psk_mismatch);
	g_test_add_func("/ctrl/handshake-timeout", test_handshake_timeout);
	g_test_add_func("/ctrl/config-errors", test_config_errors);
	g_test_add_func("/ctrl/tls-error-codes", test_error_codes);
	return g_test_run();
}
