/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS 1.3 resumption (common/auth/tls.c): a certificate session resumes with
 * the ticket its hub sent, with (EC)DHE, and the hub still checks the
 * client's certificate from the ticket (a revoked one is refused); a
 * shared-key session gets no ticket (also from a hub that has certificates
 * too); a ticket from another hub (another ticket key, e.g. after a
 * restart) means a full handshake.
 */
#include "common/auth/tls.h"
#include "common/base/error.h"
#include "common/pki/pki.h"
#include "tests/unit/fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
	char *tmp;
	char *state;
	TrTlsCreds *hub;    /* the hub's (certificates) */
	TrTlsCreds *client; /* alice's */
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	TrPkiInitOptions init = {.network = "test", .algorithm = TR_PKI_ALG_ED25519};
	TrPkiIssueOptions server = {.kind = TR_PKI_KIND_SERVER};
	TrPkiIssueOptions client = {.kind = TR_PKI_KIND_CLIENT};
	g_autoptr(TrPkiCa) ca = NULL;
	g_autoptr(GError) error = NULL;

	f->tmp = g_dir_make_tmp("trellis-resume-XXXXXX", &error);
	g_assert_no_error(error);
	f->state = g_build_filename(f->tmp, "state", NULL);
	g_assert_true(tr_pki_init(f->state, &init, &error));
	ca = tr_pki_ca_open(f->state, &error);
	g_assert_no_error(error);
	g_assert_true(tr_pki_issue(ca, "hub", &server, &error));
	g_assert_true(tr_pki_issue(ca, "alice", &client, &error));
	g_assert_no_error(error);
	f->hub = tr_fixture_tls_creds(f->state, "hub", TRUE);
	f->client = tr_fixture_tls_creds(f->state, "alice", FALSE);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	tr_tls_creds_unref(f->hub);
	tr_tls_creds_unref(f->client);
	tr_fixture_remove_tree(f->tmp);
	g_free(f->tmp);
	g_free(f->state);
}

typedef struct {
	int fd[2];
	TrTls *hub, *client;
} Pair;

static void
pair_open(Pair *p, TrTlsCreds *hub, TrTlsCreds *client, GBytes *ticket)
{
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fd), ==, 0);
	p->hub = tr_tls_new(hub, p->fd[0], NULL, &error);
	g_assert_no_error(error);
	p->client = tr_tls_new(client, p->fd[1], "hub", &error);
	g_assert_no_error(error);
	tr_tls_offer_ticket(p->client, ticket);
}

static void
pair_close(Pair *p)
{
	g_clear_pointer(&p->hub, tr_tls_free);
	g_clear_pointer(&p->client, tr_tls_free);
	close(p->fd[0]);
	close(p->fd[1]);
}

/* Both handshakes to their end (bounded); FALSE if either failed. */
static gboolean
pair_handshake(Pair *p, GError **hub_error, GError **client_error)
{
	int h = 0, c = 0;

	for (int i = 0; i < 100 && (h == 0 || c == 0); i++) {
		if (h == 0)
			h = tr_tls_handshake(p->hub, hub_error);
		if (c == 0)
			c = tr_tls_handshake(p->client, client_error);
		if (h < 0 || c < 0)
			return FALSE;
	}
	g_assert_cmpint(h, ==, 1);
	g_assert_cmpint(c, ==, 1);
	return TRUE;
}

/* A record from the hub to the client: the client reads the tickets sent
 * after the handshake on the way. */
static void
pair_exchange(Pair *p)
{
	g_autoptr(GError) error = NULL;
	char buf[64];
	gssize n = -EAGAIN;

	g_assert_cmpint(tr_tls_write(p->hub, "ping", 4, &error), ==, 4);
	for (int i = 0; i < 100 && n == -EAGAIN; i++)
		n = tr_tls_read(p->client, buf, sizeof(buf), &error);
	g_assert_no_error(error);
	g_assert_cmpint(n, ==, 4);
}

static char *
verify(TrTls *tls, GError **error)
{
	char *identity = NULL;

	if (!tr_tls_verify_peer(tls, &identity, error))
		return NULL;
	return identity;
}

/* A full session: both ends verified, the client's ticket taken. */
static GBytes *
full_session(Fixture *f, TrTlsCreds *hub)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *id = NULL, *hub_id = NULL;
	Pair p;
	GBytes *ticket;

	pair_open(&p, hub, f->client, NULL);
	g_assert_true(pair_handshake(&p, &error, &error));
	g_assert_false(tr_tls_resumed(p.hub));
	g_assert_false(tr_tls_resumed(p.client));
	hub_id = verify(p.client, &error);
	g_assert_no_error(error);
	id = verify(p.hub, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(id, ==, "alice");
	pair_exchange(&p);
	ticket = tr_tls_take_ticket(p.client);
	g_assert_nonnull(ticket);
	g_assert_null(tr_tls_take_ticket(p.hub)); /* hubs keep none */
	pair_close(&p);
	return ticket;
}

static void
test_resumed(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) ticket = full_session(f, f->hub);
	g_autoptr(GBytes) next = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *id = NULL, *hub_id = NULL, *desc = NULL;
	Pair p;

	pair_open(&p, f->hub, f->client, ticket);
	g_assert_true(pair_handshake(&p, &error, &error));
	g_assert_no_error(error);
	g_assert_true(tr_tls_resumed(p.hub));
	g_assert_true(tr_tls_resumed(p.client));
	/* Forward secrecy kept: a fresh (EC)DHE exchange (psk_dhe_ke). */
	desc = tr_tls_describe(p.hub);
	g_assert_nonnull(strstr(desc, "X25519"));
	g_assert_nonnull(strstr(desc, "certificate (resumed)"));
	/* Both identities come back from the ticket and are checked again. */
	hub_id = verify(p.client, &error);
	g_assert_no_error(error);
	id = verify(p.hub, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(id, ==, "alice");
	{
		g_autoptr(GBytes) der = tr_tls_peer_cert(p.hub); /* for later CRL checks */
		g_assert_nonnull(der);
	}
	/* The resumed session brings a ticket for the next one. */
	pair_exchange(&p);
	next = tr_tls_take_ticket(p.client);
	g_assert_nonnull(next);
	pair_close(&p);

	/* Without a ticket: a full handshake. */
	g_clear_pointer(&ticket, g_bytes_unref);
	pair_open(&p, f->hub, f->client, NULL);
	g_assert_true(pair_handshake(&p, &error, &error));
	g_assert_false(tr_tls_resumed(p.hub));
	pair_close(&p);
}

static void
test_revoked(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) ticket = full_session(f, f->hub);
	g_autoptr(TrPkiCa) ca = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *id = NULL;
	Pair p;

	ca = tr_pki_ca_open(f->state, &error);
	g_assert_no_error(error);
	g_assert_true(tr_pki_revoke(ca, "alice", &error));
	g_assert_no_error(error);
	/* The running hub picks the new CRL up (as on its reload). */
	g_assert_true(tr_tls_creds_reload_crl(f->hub, &error));
	g_assert_no_error(error);

	pair_open(&p, f->hub, f->client, ticket);
	g_assert_true(pair_handshake(&p, &error, &error));
	g_assert_true(tr_tls_resumed(p.hub));
	id = verify(p.hub, &error);
	g_assert_null(id);
	g_assert_error(error, TR_ERROR, TR_ERROR_AUTH);
	g_assert_nonnull(strstr(error->message, "revoked"));
	g_assert_nonnull(strstr(error->message, "alice"));
	pair_close(&p);
}

static void
test_other_hub(Fixture *f, gconstpointer data)
{
	g_autoptr(GBytes) ticket = full_session(f, f->hub);
	/* Another hub process (a restart): another ticket key, in memory only. */
	g_autoptr(TrTlsCreds) restarted = tr_fixture_tls_creds(f->state, "hub", TRUE);
	g_autoptr(GError) error = NULL;
	g_autofree char *id = NULL;
	Pair p;

	pair_open(&p, restarted, f->client, ticket);
	g_assert_true(pair_handshake(&p, &error, &error));
	g_assert_false(tr_tls_resumed(p.hub));
	g_assert_false(tr_tls_resumed(p.client));
	id = verify(p.hub, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(id, ==, "alice");
	pair_close(&p);
}

/* A shared-key session with @hub: the hub sees the shared key's identity,
 * and after @exchanges rounds of data (which carry any ticket the hub sent)
 * the client holds no ticket. */
static void
assert_psk_session_no_ticket(TrTlsCreds *hub, TrTlsCreds *client, guint exchanges)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *id = NULL;
	Pair p;

	pair_open(&p, hub, client, NULL);
	g_assert_true(pair_handshake(&p, &error, &error));
	id = verify(p.hub, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(id, ==, "psk:trellis");
	g_free(verify(p.client, &error));
	g_assert_no_error(error);
	for (guint i = 0; i < exchanges; i++)
		pair_exchange(&p);
	g_assert_null(tr_tls_take_ticket(p.client));
	pair_close(&p);
}

static void
test_shared_key(void)
{
	TrTlsConfig sc = {.is_server = TRUE, .shared_key = "correct horse battery staple"};
	TrTlsConfig cc = {.is_server = FALSE, .shared_key = "correct horse battery staple"};
	g_autoptr(GError) error = NULL;
	g_autoptr(TrTlsCreds) hub = tr_tls_creds_new(&sc, &error);
	g_autoptr(TrTlsCreds) client = tr_tls_creds_new(&cc, &error);

	g_assert_no_error(error);
	assert_psk_session_no_ticket(hub, client, 1);
}

/* A hub with certificates and a shared key: its shared-key clients read the
 * ticket it sends after every handshake and keep none; a certificate client
 * of the same hub resumes. */
static void
test_mixed_hub(Fixture *f, gconstpointer data)
{
	g_autofree char *ca = tr_pki_ca_cert_path(f->state);
	g_autofree char *crl = tr_pki_crl_path(f->state);
	g_autofree char *cert = tr_pki_cert_path(f->state, "hub");
	g_autofree char *key = tr_pki_key_path(f->state, "hub");
	TrTlsConfig hc = {.is_server = TRUE,
	                  .ca_file = ca,
	                  .crl_file = crl,
	                  .cert_file = cert,
	                  .key_file = key,
	                  .shared_key = "correct horse battery staple"};
	TrTlsConfig cc = {.is_server = FALSE, .shared_key = "correct horse battery staple"};
	g_autoptr(GError) error = NULL;
	g_autoptr(TrTlsCreds) hub = tr_tls_creds_new(&hc, &error);
	g_autoptr(TrTlsCreds) psk_client = tr_tls_creds_new(&cc, &error);
	g_autoptr(GBytes) ticket = NULL;
	g_autofree char *id = NULL;
	Pair p;

	g_assert_no_error(error);
	assert_psk_session_no_ticket(hub, psk_client, 2);

	ticket = full_session(f, hub);
	pair_open(&p, hub, f->client, ticket);
	g_assert_true(pair_handshake(&p, &error, &error));
	g_assert_true(tr_tls_resumed(p.hub));
	g_clear_pointer(&id, g_free);
	id = verify(p.hub, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(id, ==, "alice");
	pair_close(&p);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/tls-resume/resumed", Fixture, NULL, fixture_setup, test_resumed,
	           fixture_teardown);
	g_test_add("/tls-resume/revoked", Fixture, NULL, fixture_setup, test_revoked,
	           fixture_teardown);
	g_test_add("/tls-resume/other-hub", Fixture, NULL, fixture_setup, test_other_hub,
	           fixture_teardown);
	g_test_add_func("/tls-resume/shared-key", test_shared_key);
	g_test_add("/tls-resume/mixed-hub", Fixture, NULL, fixture_setup, test_mixed_hub,
	           fixture_teardown);
	return g_test_run();
}
