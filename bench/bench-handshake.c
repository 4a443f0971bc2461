/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Benchmark (not a test): the CPU one TLS handshake costs each end, in one
 * process over socket pairs (no network, no hub around it): a shared key
 * (PSK + X25519), certificates with a full handshake (Ed25519, as `trellis
 * pki` issues them, plus X25519) and certificates resumed with the hub's
 * ticket (X25519, no signatures). Each includes tr_tls_verify_peer() on
 * both ends (the hub checks the client's chain and the CRL every time).
 *   bench-handshake [N]     (default 2000 handshakes per kind)
 */
#include "common/auth/tls.h"
#include "common/base/error.h"
#include "common/pki/pki.h"
#include "tests/unit/fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static gint64
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct {
	gint64 hub_ns, client_ns;
	guint resumed;
} Totals;

/* One handshake and both checks; the client's ticket in and out. */
static void
one(TrTlsCreds *hub, TrTlsCreds *client, GBytes **ticket, Totals *t)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *a = NULL, *b = NULL;
	int fd[2], h = 0, c = 0;
	TrTls *hs, *cs;
	gint64 t0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) < 0)
		g_error("socketpair: %s", g_strerror(errno));
	t0 = cpu_ns();
	hs = tr_tls_new(hub, fd[0], NULL, &error);
	t->hub_ns += cpu_ns() - t0;
	t0 = cpu_ns();
	cs = tr_tls_new(client, fd[1], "hub", &error);
	if (ticket && *ticket) {
		tr_tls_offer_ticket(cs, *ticket);
		g_clear_pointer(ticket, g_bytes_unref);
	}
	t->client_ns += cpu_ns() - t0;
	for (int i = 0; i < 100 && (h == 0 || c == 0); i++) {
		if (c == 0) {
			t0 = cpu_ns();
			c = tr_tls_handshake(cs, &error);
			t->client_ns += cpu_ns() - t0;
		}
		if (h == 0) {
			t0 = cpu_ns();
			h = tr_tls_handshake(hs, &error);
			t->hub_ns += cpu_ns() - t0;
		}
		if (h < 0 || c < 0)
			g_error("handshake: %s", error->message);
	}
	t0 = cpu_ns();
	if (!tr_tls_verify_peer(hs, &a, &error))
		g_error("hub: %s", error->message);
	/* The tickets go out with the hub's first record. */
	if (tr_tls_write(hs, "x", 1, &error) != 1)
		g_error("write: %s", error ? error->message : "short");
	t->hub_ns += cpu_ns() - t0;
	t0 = cpu_ns();
	if (!tr_tls_verify_peer(cs, &b, &error))
		g_error("client: %s", error->message);
	{
		char buf[16];
		gssize n = -EAGAIN;

		for (int i = 0; i < 100 && n == -EAGAIN; i++)
			n = tr_tls_read(cs, buf, sizeof(buf), &error);
		if (n != 1)
			g_error("read: %s", error ? error->message : "short");
	}
	t->resumed += tr_tls_resumed(hs);
	if (ticket)
		*ticket = tr_tls_take_ticket(cs);
	t->client_ns += cpu_ns() - t0;
	tr_tls_free(hs);
	tr_tls_free(cs);
	close(fd[0]);
	close(fd[1]);
}

static void
report(const char *what, guint n, const Totals *t)
{
	double hub_us = t->hub_ns / 1e3 / n, client_us = t->client_ns / 1e3 / n;

	printf("%-28s %10.1f %12.1f %18.0f %9u\n", what, hub_us, client_us, 1e6 / hub_us,
	       t->resumed);
}

int
main(int argc, char **argv)
{
	guint n = argc > 1 ? (guint)atoi(argv[1]) : 2000;
	g_autoptr(GError) error = NULL;
	g_autofree char *tmp = g_dir_make_tmp("trellis-bench-hs-XXXXXX", &error);
	g_autofree char *state = NULL;
	TrPkiInitOptions init = {.network = "bench", .algorithm = TR_PKI_ALG_ED25519};
	TrPkiIssueOptions server = {.kind = TR_PKI_KIND_SERVER};
	TrPkiIssueOptions client = {.kind = TR_PKI_KIND_CLIENT};
	TrTlsConfig psk_hub = {.is_server = TRUE, .shared_key = "correct horse battery staple"};
	TrTlsConfig psk_client = {.is_server = FALSE, .shared_key = "correct horse battery staple"};
	g_autoptr(TrPkiCa) ca = NULL;
	TrTlsCreds *hub, *cli;
	GBytes *ticket = NULL;
	Totals t;

	if (n == 0) {
		fprintf(stderr,
		        "bench-handshake: expected a number of handshakes above 0, got '%s'\n",
		        argv[1]);
		return 2;
	}
	if (tmp == NULL)
		g_error("a temporary directory: %s", error->message);
	state = g_build_filename(tmp, "state", NULL);
	if (!tr_pki_init(state, &init, &error) || (ca = tr_pki_ca_open(state, &error)) == NULL ||
	    !tr_pki_issue(ca, "hub", &server, &error) ||
	    !tr_pki_issue(ca, "alice", &client, &error))
		g_error("%s", error->message);
	printf("%-28s %10s %12s %18s %9s\n", "handshake (N each)", "hub us", "client us",
	       "hub/s on a core", "resumed");

	hub = tr_tls_creds_new(&psk_hub, &error);
	cli = tr_tls_creds_new(&psk_client, &error);
	if (hub == NULL || cli == NULL)
		g_error("%s", error->message);
	t = (Totals){0};
	for (guint i = 0; i < n; i++)
		one(hub, cli, NULL, &t);
	report("shared key (PSK + X25519)", n, &t);
	tr_tls_creds_unref(hub);
	tr_tls_creds_unref(cli);

	hub = tr_fixture_tls_creds(state, "hub", TRUE);
	cli = tr_fixture_tls_creds(state, "alice", FALSE);
	t = (Totals){0};
	for (guint i = 0; i < n; i++)
		one(hub, cli, NULL, &t);
	report("certificates, full", n, &t);
	t = (Totals){0};
	one(hub, cli, &ticket, &t); /* the first ticket */
	t = (Totals){0};
	for (guint i = 0; i < n; i++)
		one(hub, cli, &ticket, &t);
	report("certificates, resumed", n, &t);
	printf("a client's ticket: %zu bytes (kept per hub, in memory); the hub keeps none\n",
	       ticket ? g_bytes_get_size(ticket) : 0);
	g_clear_pointer(&ticket, g_bytes_unref);
	tr_tls_creds_unref(hub);
	tr_tls_creds_unref(cli);
	printf("machine: %ld cores\n", sysconf(_SC_NPROCESSORS_ONLN));

	tr_fixture_remove_tree(tmp); /* the scratch PKI */
	return 0;
}
