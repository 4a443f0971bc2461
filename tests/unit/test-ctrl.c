/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TLS backend + control connection over a socketpair, on a real main loop. */
#include "common/ctrl/conn.h"
#include "common/ctrl/handshake-pool.h"
#include "common/base/error.h"

#include <errno.h>
#include <fcntl.h>
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

/* The handshakes' threads of the next pairs' server and client ends (NULL:
 * on the main loop): the pool variants of the tests set them. */
static TrHandshakePool *srv_pool, *cli_pool;

static void
setup_pair_with(TrTlsCreds *screds, TrTlsCreds *ccreds, Side *srv, Side *cli)
{
	g_autoptr(GError) error = NULL;
	int sv[2];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	srv->ctrl = tr_ctrl_new(screds, sv[0], NULL, "server-end", &callbacks, srv, &error);
	g_assert_no_error(error);
	cli->ctrl = tr_ctrl_new(ccreds, sv[1], NULL, "client-end", &callbacks, cli, &error);
	g_assert_no_error(error);
	if (srv_pool)
		tr_ctrl_set_handshake_pool(srv->ctrl, srv_pool);
	if (cli_pool)
		tr_ctrl_set_handshake_pool(cli->ctrl, cli_pool);
	tr_ctrl_start(srv->ctrl, 10000);
	tr_ctrl_start(cli->ctrl, 10000);
}

static TrTlsCreds *
psk_creds(gboolean server, const char *key)
{
	g_autoptr(GError) error = NULL;
	TrTlsConfig c = {.is_server = server, .shared_key = key, .psk_identity = "node-a"};
	TrTlsCreds *creds = tr_tls_creds_new(&c, &error);

	g_assert_no_error(error);
	return creds;
}

static void
setup_pair(const char *server_key, const char *client_key, Side *srv, Side *cli)
{
	g_autoptr(TrTlsCreds) screds = psk_creds(TRUE, server_key);
	g_autoptr(TrTlsCreds) ccreds = psk_creds(FALSE, client_key);

	setup_pair_with(screds, ccreds, srv, cli);
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
	if (srv_pool)
		tr_ctrl_set_handshake_pool(srv.ctrl, srv_pool);
	tr_ctrl_start(srv.ctrl, 200);
	run_until(loop, &srv.closed);
	g_assert_error(srv.closed_error, TR_ERROR, TR_ERROR_TIMEOUT);
	close(sv[1]);
	side_clear(&srv);
}

/* Whether the peer of @fd closed its end, within a few seconds of main loop. */
static gboolean
peer_closed(int fd)
{
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	char b[4096];

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (g_get_monotonic_time() < end) {
		ssize_t n = read(fd, b, sizeof(b));

		if (n == 0)
			return TRUE;
		if (n < 0 && errno != EAGAIN)
			return TRUE;
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
	}
	return FALSE;
}

/* The pool variants: both ends' handshakes on threads (2 and 3 of them). */
static void
with_pools(gconstpointer test)
{
	srv_pool = tr_handshake_pool_new(2);
	cli_pool = tr_handshake_pool_new(3);
	g_assert_cmpuint(tr_handshake_pool_threads(srv_pool), ==, 2);
	((void (*)(void))test)();
	g_clear_pointer(&srv_pool, tr_handshake_pool_free);
	g_clear_pointer(&cli_pool, tr_handshake_pool_free);
}

/* Many at once, spread over the threads: each is established on this loop,
 * with the right peer, and carries messages both ways afterwards. */
/* A storm of finished handshakes is handed back in turns: every one of the
 * 2 x N ends is waiting before the main loop looks, and no iteration takes
 * more than TR_HANDSHAKE_POOL_ENDS_PER_DISPATCH of a pool's (the loop's other
 * sources, a hub's established sessions, run in between). */
static void
test_pool_turns(void)
{
	enum { N = 40 };
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	Side *srv = g_new0(Side, N), *cli = g_new0(Side, N);
	guint id = g_timeout_add_seconds(60, on_deadline, NULL);
	g_autoptr(TrTlsCreds) screds = psk_creds(TRUE, "correct horse battery");
	g_autoptr(TrTlsCreds) ccreds = psk_creds(FALSE, "correct horse battery");
	guint turns = 0, n_srv = 0, n_cli = 0;

	for (int i = 0; i < N; i++) {
		srv[i].loop = cli[i].loop = loop;
		setup_pair_with(screds, ccreds, &srv[i], &cli[i]);
	}
	/* The workers finish them all without this thread (bounded: 60 s). */
	for (int i = 0; i < 6000 && (tr_handshake_pool_waiting(srv_pool) < N ||
	                             tr_handshake_pool_waiting(cli_pool) < N);
	     i++)
		g_usleep(10000);
	g_assert_cmpuint(tr_handshake_pool_waiting(srv_pool), ==, N);
	g_assert_cmpuint(tr_handshake_pool_waiting(cli_pool), ==, N);
	while (n_srv < N || n_cli < N) {
		guint s = 0, c = 0;

		g_main_context_iteration(NULL, TRUE);
		turns++;
		for (int i = 0; i < N; i++) {
			s += srv[i].established;
			c += cli[i].established;
			g_assert_false(srv[i].closed || cli[i].closed);
		}
		g_assert_cmpuint(s - n_srv, <=, TR_HANDSHAKE_POOL_ENDS_PER_DISPATCH);
		g_assert_cmpuint(c - n_cli, <=, TR_HANDSHAKE_POOL_ENDS_PER_DISPATCH);
		n_srv = s;
		n_cli = c;
	}
	g_assert_cmpuint(turns, >=, N / TR_HANDSHAKE_POOL_ENDS_PER_DISPATCH);
	for (int i = 0; i < N; i++) {
		tr_ctrl_close(srv[i].ctrl, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN, NULL);
		side_clear(&srv[i]);
		side_clear(&cli[i]);
	}
	g_source_remove(id);
	g_free(srv);
	g_free(cli);
}

static void
test_pool_many(void)
{
	enum { N = 120 };
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	Side *srv = g_new0(Side, N), *cli = g_new0(Side, N);
	guint id = g_timeout_add_seconds(60, on_deadline, NULL);
	g_autoptr(TrTlsCreds) screds = psk_creds(TRUE, "correct horse battery");
	g_autoptr(TrTlsCreds) ccreds = psk_creds(FALSE, "correct horse battery");
	gboolean all;

	for (int i = 0; i < N; i++) {
		srv[i].loop = cli[i].loop = loop;
		setup_pair_with(screds, ccreds, &srv[i], &cli[i]);
	}
	do {
		g_main_context_iteration(NULL, TRUE);
		all = TRUE;
		for (int i = 0; i < N; i++)
			all = all && srv[i].established && cli[i].established;
	} while (!all);
	for (int i = 0; i < N; i++) {
		g_auto(TrMsg) m = {0};

		g_assert_cmpstr(srv[i].identity, ==, "psk:node-a");
		g_assert_false(srv[i].closed || cli[i].closed);
		tr_msg_init(&m, TR_MSG_PING);
		g_assert_true(tr_ctrl_send(cli[i].ctrl, &m, NULL));
		g_assert_true(tr_ctrl_send(srv[i].ctrl, &m, NULL));
	}
	do {
		g_main_context_iteration(NULL, TRUE);
		all = TRUE;
		for (int i = 0; i < N; i++)
			all = all && srv[i].n_messages == 1 && cli[i].n_messages == 1;
	} while (!all);
	for (int i = 0; i < N; i++) {
		g_assert_cmpuint(srv[i].last.type, ==, TR_MSG_PING);
		tr_ctrl_close(srv[i].ctrl, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN, NULL);
	}
	do {
		g_main_context_iteration(NULL, TRUE);
		all = TRUE;
		for (int i = 0; i < N; i++)
			all = all && srv[i].closed && cli[i].closed;
	} while (!all);
	for (int i = 0; i < N; i++) {
		g_assert_cmpuint(cli[i].last.type, ==, TR_MSG_CLOSE);
		side_clear(&srv[i]);
		side_clear(&cli[i]);
	}
	g_source_remove(id);
	g_free(srv);
	g_free(cli);
}

/* Closed while a thread has its handshake: the closed callback at once, the
 * socket once the thread has let go of it. */
static void
test_pool_cancel(void)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_autoptr(GError) error = NULL;
	TrTlsConfig sc = {.is_server = TRUE, .shared_key = "correct horse battery"};
	g_autoptr(TrTlsCreds) screds = tr_tls_creds_new(&sc, &error);
	Side srv[3] = {{.loop = loop}, {.loop = loop}, {.loop = loop}};
	int peer[3];

	for (int i = 0; i < 3; i++) {
		int sv[2];

		g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
		srv[i].ctrl =
		        tr_ctrl_new(screds, sv[0], NULL, "silent", &callbacks, &srv[i], &error);
		g_assert_no_error(error);
		tr_ctrl_set_handshake_pool(srv[i].ctrl, srv_pool);
		tr_ctrl_start(srv[i].ctrl, 10000);
		peer[i] = sv[1];
	}
	/* Refused before the thread saw it, after, and dropped without a word. */
	tr_ctrl_close(srv[0].ctrl, TR_MSG_ERROR, TR_REFUSE_TIMEOUT, "too many pending handshakes");
	g_assert_true(srv[0].closed);
	g_assert_error(srv[0].closed_error, TR_ERROR, TR_ERROR_AUTH);
	g_assert_cmpstr(srv[0].closed_error->message, ==, "too many pending handshakes");
	g_assert_true(peer_closed(peer[0]));
	tr_ctrl_close(srv[1].ctrl, TR_MSG_ERROR, TR_REFUSE_TIMEOUT, "too many pending handshakes");
	g_assert_true(srv[1].closed);
	g_assert_true(peer_closed(peer[1]));
	tr_ctrl_abort(srv[2].ctrl);
	g_clear_pointer(&srv[2].ctrl, tr_ctrl_unref);
	g_assert_false(srv[2].closed);
	g_assert_true(peer_closed(peer[2]));
	for (int i = 0; i < 3; i++) {
		close(peer[i]);
		side_clear(&srv[i]);
	}
}

/* A pool freed with handshakes in it (a hub that stops): those its owners
 * dropped are closed, those still owned end with an error; no socket stays. */
static void
test_pool_free(void)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	g_autoptr(GError) error = NULL;
	TrTlsConfig sc = {.is_server = TRUE, .shared_key = "correct horse battery"};
	g_autoptr(TrTlsCreds) screds = tr_tls_creds_new(&sc, &error);
	TrHandshakePool *pool = tr_handshake_pool_new(2);
	Side srv[6];
	int peer[6];

	memset(srv, 0, sizeof(srv));
	for (int i = 0; i < 6; i++) {
		int sv[2];

		srv[i].loop = loop;
		g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
		srv[i].ctrl =
		        tr_ctrl_new(screds, sv[0], NULL, "silent", &callbacks, &srv[i], &error);
		tr_ctrl_set_handshake_pool(srv[i].ctrl, pool);
		tr_ctrl_start(srv[i].ctrl, 10000);
		peer[i] = sv[1];
	}
	/* Some have reached their thread, some not. */
	g_main_context_iteration(NULL, FALSE);
	for (int i = 0; i < 3; i++) {
		tr_ctrl_abort(srv[i].ctrl);
		g_clear_pointer(&srv[i].ctrl, tr_ctrl_unref);
	}
	tr_handshake_pool_free(pool);
	for (int i = 0; i < 6; i++) {
		g_assert_cmpint(i < 3 ? FALSE : TRUE, ==, srv[i].closed);
		g_assert_true(peer_closed(peer[i]));
		close(peer[i]);
		side_clear(&srv[i]);
	}
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
	g_test_add_data_func("/ctrl/pool/psk-exchange", test_psk_exchange, with_pools);
	g_test_add_data_func("/ctrl/pool/psk-mismatch", test_psk_mismatch, with_pools);
	g_test_add_data_func("/ctrl/pool/handshake-timeout", test_handshake_timeout, with_pools);
	g_test_add_data_func("/ctrl/pool/many", test_pool_many, with_pools);
	g_test_add_data_func("/ctrl/pool/turns", test_pool_turns, with_pools);
	g_test_add_data_func("/ctrl/pool/cancel", test_pool_cancel, with_pools);
	g_test_add_func("/ctrl/pool/free", test_pool_free);
	return g_test_run();
}
