/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trellis-faultrelay: a UDP relay for tests that misbehaves on purpose.
 *
 *   client --> [--listen] relay [per-client socket] --> [--upstream]
 *   client <-- [--listen] relay [per-client socket] <-- [--upstream]
 *
 * Each client endpoint that sends to --listen gets its own socket towards
 * --upstream (like a NAT), so the upstream sees one endpoint per client and
 * its replies find their way back. Datagrams going up (client to upstream)
 * and down (upstream to client) each pass through their own fault scheduler
 * (tests/relay/fault.h), seeded from --seed: the same seed and the same
 * traffic give the same faults.
 *
 * On SIGTERM or SIGINT it prints its counters and exits; SIGUSR1 (and the
 * exit) also writes them as KEY=VALUE lines to the --stats file.
 */
#include "common/base/addr.h"
#include "common/base/error.h"
#include "tests/relay/fault.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_DATAGRAM   65536
#define READ_BATCH     64
#define MAX_CLIENTS    64
#define SOCKET_BUFFERS (4 << 20)

typedef enum { UP, DOWN } Direction;
static const char *const direction_name[] = {"up", "down"};

typedef struct {
	struct sockaddr_storage addr; /* the client's endpoint */
	socklen_t addr_len;
	int fd; /* connected to the upstream */
} Session;

typedef struct {
	int listen_fd;
	struct sockaddr_storage upstream;
	socklen_t upstream_len;
	Session sessions[MAX_CLIENTS];
	guint n_sessions, max_clients;
	TrFault *fault[2];
	guint64 send_errors[2];
	guint64 no_session; /* clients beyond --max-clients */
	const char *stats_file;
	guint8 buf[MAX_DATAGRAM];
} Relay;

static volatile sig_atomic_t quit_signal, stats_signal;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		stats_signal = 1;
	else
		quit_signal = sig;
}

static int
udp_socket(int family, GError **error)
{
	int size = SOCKET_BUFFERS;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		tr_set_error_errno(error, errno, "socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return fd;
}

static Session *
find_session(Relay *r, const struct sockaddr_storage *from, socklen_t len)
{
	g_autoptr(GError) error = NULL;
	Session *s;
	char a[80];

	for (guint i = 0; i < r->n_sessions; i++) {
		s = &r->sessions[i];
		if (s->addr_len == len && memcmp(&s->addr, from, len) == 0)
			return s;
	}
	if (r->n_sessions >= r->max_clients)
		return NULL;
	s = &r->sessions[r->n_sessions];
	s->fd = udp_socket(r->upstream.ss_family, &error);
	if (s->fd < 0) {
		g_printerr("faultrelay: %s\n", error->message);
		return NULL;
	}
	if (connect(s->fd, (struct sockaddr *)&r->upstream, r->upstream_len) < 0) {
		g_printerr("faultrelay: connect: %s\n", g_strerror(errno));
		close(s->fd);
		return NULL;
	}
	memcpy(&s->addr, from, len);
	s->addr_len = len;
	r->n_sessions++;
	g_printerr("faultrelay: new client %s\n",
	           tr_sockaddr_to_string((struct sockaddr *)from, a, sizeof(a)));
	return s;
}

static void
read_listen(Relay *r, gint64 now)
{
	for (int n = 0; n < READ_BATCH; n++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		Session *s;
		ssize_t len = recvfrom(r->listen_fd, r->buf, sizeof(r->buf), MSG_DONTWAIT,
		                       (struct sockaddr *)&from, &fl);

		if (len < 0)
			return;
		s = find_session(r, &from, fl);
		if (s == NULL) {
			r->no_session++;
			continue;
		}
		tr_fault_push(r->fault[UP], r->buf, (gsize)len, s, now);
	}
}

static void
read_upstream(Relay *r, Session *s, gint64 now)
{
	for (int n = 0; n < READ_BATCH; n++) {
		ssize_t len = recv(s->fd, r->buf, sizeof(r->buf), MSG_DONTWAIT);

		if (len < 0)
			return;
		tr_fault_push(r->fault[DOWN], r->buf, (gsize)len, s, now);
	}
}

static void
send_due(Relay *r, Direction d, gint64 now)
{
	gpointer tag;
	gsize len;

	while (tr_fault_pop(r->fault[d], now, r->buf, sizeof(r->buf), &len, &tag)) {
		Session *s = tag;
		ssize_t rc = d == UP ? send(s->fd, r->buf, len, MSG_DONTWAIT)
		                     : sendto(r->listen_fd, r->buf, len, MSG_DONTWAIT,
		                              (struct sockaddr *)&s->addr, s->addr_len);
		if (rc < 0)
			r->send_errors[d]++;
	}
}

static char *
format_stats(Relay *r, const char *sep, const char *end)
{
	GString *out = g_string_new(NULL);

	for (int d = UP; d <= DOWN; d++) {
		const TrFaultCounters *c = tr_fault_counters(r->fault[d]);
		const char *p = direction_name[d];
		g_string_append_printf(
		        out,
		        "%s.seen=%" G_GUINT64_FORMAT "%s%s.dropped=%" G_GUINT64_FORMAT
		        "%s%s.corrupted=%" G_GUINT64_FORMAT "%s%s.duplicated=%" G_GUINT64_FORMAT
		        "%s%s.reordered=%" G_GUINT64_FORMAT "%s%s.delayed=%" G_GUINT64_FORMAT
		        "%s%s.overflow=%" G_GUINT64_FORMAT "%s%s.sent=%" G_GUINT64_FORMAT
		        "%s%s.send_errors=%" G_GUINT64_FORMAT "%s",
		        p, c->seen, sep, p, c->dropped, sep, p, c->corrupted, sep, p, c->duplicated,
		        sep, p, c->reordered, sep, p, c->delayed, sep, p, c->overflow, sep, p,
		        c->released, sep, p, r->send_errors[d], end);
	}
	g_string_append_printf(out, "clients=%u%sno_session=%" G_GUINT64_FORMAT "%s", r->n_sessions,
	                       sep, r->no_session, end);
	return g_string_free(out, FALSE);
}

static void
write_stats(Relay *r)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;

	if (r->stats_file == NULL)
		return;
	text = format_stats(r, "\n", "\n");
	if (!g_file_set_contents(r->stats_file, text, -1, &error))
		g_printerr("faultrelay: %s\n", error->message);
}

static int
poll_timeout_ms(Relay *r, gint64 now)
{
	gint64 due = MIN(tr_fault_next_due(r->fault[UP]), tr_fault_next_due(r->fault[DOWN]));

	if (due == G_MAXINT64)
		return 1000;
	if (due <= now)
		return 0;
	/* Round up: waking early only spins. */
	return (int)MIN((due - now + 999) / 1000, 1000);
}

static int
run(Relay *r)
{
	struct pollfd pfd[1 + MAX_CLIENTS];
	sigset_t none;

	sigemptyset(&none);
	while (!quit_signal) {
		gint64 now = g_get_monotonic_time();
		struct timespec ts;
		int ms, rc;
		guint n = 0;

		if (stats_signal) {
			stats_signal = 0;
			write_stats(r);
		}
		pfd[n++] = (struct pollfd){.fd = r->listen_fd, .events = POLLIN};
		for (guint i = 0; i < r->n_sessions; i++)
			pfd[n++] = (struct pollfd){.fd = r->sessions[i].fd, .events = POLLIN};
		ms = poll_timeout_ms(r, now);
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		/* Signals are blocked except here: none slips in between checks. */
		rc = ppoll(pfd, n, &ts, &none);
		if (rc < 0 && errno != EINTR) {
			g_printerr("faultrelay: poll: %s\n", g_strerror(errno));
			return 1;
		}
		now = g_get_monotonic_time();
		if (rc > 0) {
			if (pfd[0].revents & POLLIN)
				read_listen(r, now);
			for (guint i = 1; i < n; i++) {
				if (pfd[i].revents & POLLIN)
					read_upstream(r, &r->sessions[i - 1], now);
			}
		}
		send_due(r, UP, now);
		send_due(r, DOWN, now);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *listen_at = NULL, *upstream = NULL, *both = NULL, *up = NULL;
	g_autofree char *down = NULL, *stats_file = NULL, *text = NULL, *desc = NULL;
	gint64 seed = 1;
	gint max_clients = 16;
	TrFaultConfig cfg[2];
	struct sockaddr_storage ls;
	socklen_t ll;
	struct sigaction sa = {0};
	sigset_t block;
	Relay *r;
	int rc;
	const GOptionEntry entries[] = {
	        {"listen", 'l', 0, G_OPTION_ARG_STRING, &listen_at, "Where clients send (required)",
	         "ADDR:PORT"},
	        {"upstream", 'u', 0, G_OPTION_ARG_STRING, &upstream,
	         "Where datagrams go (required)", "ADDR:PORT"},
	        {"faults", 'f', 0, G_OPTION_ARG_STRING, &both,
	         "Faults in both directions: "
	         "drop=PCT,dup=PCT,reorder=PCT,gap=N,hold=MS,corrupt=PCT,bits=N,delay=MS,jitter=MS,"
	         "queue=N",
	         "SPEC"},
	        {"up", 0, 0, G_OPTION_ARG_STRING, &up,
	         "Faults client -> upstream, on top of --faults", "SPEC"},
	        {"down", 0, 0, G_OPTION_ARG_STRING, &down,
	         "Faults upstream -> client, on top of --faults", "SPEC"},
	        {"seed", 's', 0, G_OPTION_ARG_INT64, &seed,
	         "Seed of the fault generator (default 1)", "N"},
	        {"stats", 0, 0, G_OPTION_ARG_FILENAME, &stats_file,
	         "Write counters here on SIGUSR1 and at exit", "FILE"},
	        {"max-clients", 0, 0, G_OPTION_ARG_INT, &max_clients,
	         "Client endpoints served (default 16, at most 64)", "N"},
	        {NULL},
	};

	ctx = g_option_context_new(
	        "- UDP relay that drops, duplicates, reorders, delays and corrupts");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		goto fail;
	if (listen_at == NULL || upstream == NULL) {
		g_set_error(&error, TR_ERROR, TR_ERROR_INVALID,
		            "--listen and --upstream are required");
		goto fail;
	}
	if (max_clients < 1 || max_clients > MAX_CLIENTS) {
		g_set_error(&error, TR_ERROR, TR_ERROR_INVALID, "--max-clients: 1..%d",
		            MAX_CLIENTS);
		goto fail;
	}
	for (int d = UP; d <= DOWN; d++) {
		const char *own = d == UP ? up : down;
		tr_fault_config_init(&cfg[d]);
		if ((both && !tr_fault_config_parse(&cfg[d], both, &error)) ||
		    (own && !tr_fault_config_parse(&cfg[d], own, &error))) {
			g_prefix_error(&error, "faults: ");
			goto fail;
		}
	}

	r = g_new0(Relay, 1);
	r->max_clients = (guint)max_clients;
	r->stats_file = stats_file;
	if (!tr_sockaddr_parse(upstream, 0, &r->upstream, &r->upstream_len, &error) ||
	    !tr_sockaddr_parse(listen_at, 0, &ls, &ll, &error)) {
		g_free(r);
		goto fail;
	}
	r->listen_fd = udp_socket(ls.ss_family, &error);
	if (r->listen_fd < 0 || bind(r->listen_fd, (struct sockaddr *)&ls, ll) < 0) {
		if (r->listen_fd >= 0)
			tr_set_error_errno(&error, errno, "cannot listen on %s", listen_at);
		g_free(r);
		goto fail;
	}
	/* Each direction gets its own stream of decisions from the one seed. */
	r->fault[UP] = tr_fault_new(&cfg[UP], (guint64)seed);
	r->fault[DOWN] = tr_fault_new(&cfg[DOWN], (guint64)seed ^ 0x5a5a5a5a5a5a5a5aULL);

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);

	for (int d = UP; d <= DOWN; d++) {
		desc = tr_fault_config_describe(&cfg[d]);
		g_printerr("faultrelay: %s: %s\n", direction_name[d], desc);
		g_clear_pointer(&desc, g_free);
	}
	g_printerr("faultrelay: relaying %s -> %s, seed %" G_GINT64_FORMAT "\n", listen_at,
	           upstream, seed);

	rc = run(r);

	text = format_stats(r, " ", "\n");
	g_printerr("faultrelay: counters:\n%s", text);
	write_stats(r);
	for (guint i = 0; i < r->n_sessions; i++)
		close(r->sessions[i].fd);
	close(r->listen_fd);
	tr_fault_free(r->fault[UP]);
	tr_fault_free(r->fault[DOWN]);
	g_free(r);
	return rc;
fail:
	g_printerr("trellis-faultrelay: %s\n", error->message);
	return 2;
}
