/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Load generator: N in-process clients that each complete the TLS handshake
 * and configuration with one hub, then exchange data through it: an ICMP
 * echo to the hub's tunnel address, answered by the hub's kernel and routed
 * back. All sessions stay up until the end, so the hub holds N at once.
 * Prints one line of figures; exits non-zero unless every session did both.
 * Used by the netns suite (tests/netns/test-load.sh) and by the benchmark
 * (bench/bench-load.sh).
 *
 * --reconnect keeps the sessions after that, and a session that loses its
 * hub connects again after a client's backoff (about 1 s, then 2, 4, ...,
 * as common/ctrl/dialer.c's tr_backoff_next): a reconnection storm when the
 * hub restarts. "back" lines say when every session is up again.
 * --probe N: the first N sessions, once up, send an echo every 100 ms; the
 * figures (sent, answered, round trip) are printed per interval: while the
 * sessions first connect (a storm of new ones around the probes), while all
 * are up, and during each storm of reconnections; SIGUSR1 ends an interval
 * (the benchmark marks what happened around it). An echo belongs to the
 * interval it was sent in, whenever its answer comes: each interval is
 * printed a second (--probe-grace) after it ended (a later answer is a loss). An
 * echo whose session then lost the hub before the answer came is "cut", not
 * lost: it went to a hub that was killed, which says nothing about how the
 * hub treats the sessions it has.
 * --progress: during a storm, a line a second (sessions up, attempts
 * started, attempts that failed before and after the TLS handshake).
 *
 * The sessions' packets go through one data plane, as a client's do, on a
 * test device (no OS device, no routes): each echo is handed to its
 * session's data-plane entry, and the answers come out of the device, where
 * the ICMP identifier (the session's number) says whose they are.
 */
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/log.h"
#include "common/ctrl/msg.h"
#include "common/datapath/dataplane.h"
#include "common/link/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct _Gen Gen;

/* Probe echoes of one interval. */
typedef struct {
	Gen *gen;
	guint id;
	char *what; /* its name, once it ended */
	guint sent, answered, cut, sessions_lost;
	GArray *rtt_ms; /* double */
} Probes;

/* A probe echo on its way: its sequence number and interval (id 0: none). */
typedef struct {
	guint16 seq;
	guint interval;
} Pending;

/* 12.8 s of a probe's echoes (--probe-grace is at most 12 s): one older than
 * that is lost whatever comes. */
#define PENDING_MAX 128

typedef struct {
	Gen *gen;
	guint index;
	TrLink *link;
	uint32_t rx_index;
	TrPrefix addr;
	gboolean configured, answered, failed;
	gint64 started;
	guint attempt;        /* reconnections since it was last up */
	gboolean established; /* TLS done in the current attempt */
	guint16 seq;          /* probes: the next echo's sequence number */
	guint reconnect_id;
	Pending *pending; /* probes: echoes awaiting an answer, by seq % PENDING_MAX */
} Session;

enum { PHASE_CONNECT, PHASE_UP, PHASE_STORM, N_PHASES };

struct _Gen {
	TrTlsCreds *creds;
	struct sockaddr_storage hub;
	socklen_t hub_len;
	uint8_t hub_tunnel_addr[4];
	TrDevice *dev;
	int dev_fd; /* the other end of the test device's queue */
	int *udp_fds;
	guint n_udp;
	TrDataplane *dp;
	TrHandshakePool *handshakes; /* --handshake-threads, or NULL */
	guint n, concurrency, next, in_flight;
	guint configured, answered, failed;
	guint echoes_resent; /* on_resend */
	Session *sessions;
	GMainLoop *loop;
	gint64 t0, t_configured;
	/* --reconnect and --probe */
	gboolean reconnect, up; /* up: every session answered (again) */
	gboolean timed_out;
	guint n_probes, down, storms, reconnects;
	gint64 t_down; /* the first loss of the current storm */
	/* --progress: during a storm, a line a second of what happened in it */
	gboolean progress;
	guint tick_attempts, tick_failed_early, tick_failed_late, tick_up;
	const char *prefix; /* of the sessions' names */
	Probes *probes;     /* the current interval */
	GHashTable *ended;  /* interval id -> Probes, ended but not printed yet */
	guint next_interval;
	guint probe_grace; /* seconds an answer may take */
	int phase;
};

static void start_more(Gen *gen);
static void finish(Session *s, gboolean failed, const char *why);

static uint16_t
checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* IPv4 ICMP echo request from the session's address to the hub; its
 * identifier is the session; a probe's carries its interval (0: not a probe). */
static void
send_echo(Session *s, guint interval)
{
	uint8_t ip[28 + 16];
	uint16_t c;
	gint64 now = g_get_monotonic_time();

	memset(ip, 0, sizeof(ip));
	ip[0] = 0x45;
	ip[3] = 28 + 16;
	ip[8] = 64;
	ip[9] = 1; /* ICMP */
	memcpy(ip + 12, s->addr.addr, 4);
	memcpy(ip + 16, s->gen->hub_tunnel_addr, 4);
	c = checksum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	ip[20] = 8; /* echo request */
	ip[24] = (uint8_t)(s->index >> 8);
	ip[25] = (uint8_t)s->index;
	s->seq = (guint16)MAX(s->seq + 1, 1);
	ip[26] = (uint8_t)(s->seq >> 8);
	ip[27] = (uint8_t)s->seq;
	memcpy(ip + 28, "trellis-loadgen!", 16);
	memcpy(ip + 28, &now, sizeof(now)); /* the send time comes back in the answer */
	memcpy(ip + 36, &interval, sizeof(interval));
	if (interval)
		s->pending[s->seq % PENDING_MAX] = (Pending){s->seq, interval};
	c = checksum(ip + 20, 8 + 16);
	ip[22] = (uint8_t)(c >> 8);
	ip[23] = (uint8_t)c;
	if (!tr_dp_session_send(s->gen->dp, tr_link_get_dp_session(s->link), ip, sizeof(ip)))
		finish(s, TRUE, "the echo could not be sent");
}

static void
finish(Session *s, gboolean failed, const char *why)
{
	Gen *gen = s->gen;

	if (s->failed || s->answered)
		return;
	if (failed) {
		s->failed = TRUE;
		gen->failed++;
		if (gen->failed <= 10)
			g_printerr("session %u: %s\n", s->index, why);
	}
	if (gen->answered + gen->failed == gen->n && !gen->reconnect)
		g_main_loop_quit(gen->loop);
}

static void session_up(Session *s);

static Probes *
probes_find(Gen *gen, guint id)
{
	if (gen->probes->id == id)
		return gen->probes;
	return g_hash_table_lookup(gen->ended, GUINT_TO_POINTER(id));
}

/* An answer to a probe echo: counted in the interval it was sent in, if that
 * one is not printed yet (then it is a loss). */
static void
probe_answered(Gen *gen, Session *s, const uint8_t *ip)
{
	guint16 seq = (guint16)(ip[26] << 8 | ip[27]);
	Pending *p = &s->pending[seq % PENDING_MAX];
	guint interval;
	gint64 sent;
	Probes *pr;
	double ms;

	memcpy(&sent, ip + 28, sizeof(sent));
	memcpy(&interval, ip + 36, sizeof(interval));
	if (interval == 0 || p->interval != interval || p->seq != seq)
		return; /* not a probe, a duplicate, or older than PENDING_MAX echoes */
	p->interval = 0;
	pr = probes_find(gen, interval);
	if (pr == NULL)
		return;
	ms = (g_get_monotonic_time() - sent) / 1000.0;
	pr->answered++;
	g_array_append_val(pr->rtt_ms, ms);
}

/* A probe session lost the hub: the echoes it still waits for are cut. */
static void
probe_cut(Gen *gen, Session *s)
{
	if (s->index >= gen->n_probes)
		return;
	gen->probes->sessions_lost++;
	for (guint i = 0; i < PENDING_MAX; i++) {
		Probes *pr =
		        s->pending[i].interval ? probes_find(gen, s->pending[i].interval) : NULL;

		if (pr)
			pr->cut++;
		s->pending[i].interval = 0;
	}
}

/* The device: echo replies for the sessions (answers to someone else's address are ignored). */
static gboolean
on_device(gint fd, GIOCondition cond, gpointer p)
{
	Gen *gen = p;
	uint8_t ip[2048];

	for (int n = 0; n < 256; n++) {
		ssize_t len = recv(fd, ip, sizeof(ip), MSG_DONTWAIT);
		Session *s;
		guint index;

		if (len < 0)
			break;
		if (len < 28 || (ip[0] >> 4) != 4 || ip[9] != 1 || ip[20] != 0)
			continue;
		index = (guint)ip[24] << 8 | ip[25];
		if (index >= gen->n)
			continue;
		s = &gen->sessions[index];
		if (!s->configured || s->failed || memcmp(ip + 16, s->addr.addr, 4))
			continue;
		if (index < gen->n_probes && len >= 40)
			probe_answered(gen, s, ip);
		if (s->answered)
			continue;
		s->answered = TRUE;
		gen->answered++;
		gen->in_flight--;
		gen->tick_up++;
		session_up(s);
		if (gen->answered + gen->failed == gen->n && !gen->reconnect)
			g_main_loop_quit(gen->loop);
	}
	return G_SOURCE_CONTINUE;
}

static void
on_message(TrLink *link, TrMsg *msg, gpointer p)
{
	Session *s = p;
	Gen *gen = s->gen;
	g_autoptr(GError) error = NULL;
	TrDcConfig dcc;
	TrLinkTiming timing;
	struct sockaddr_storage ep;

	if (msg->type != TR_MSG_CONFIG) {
		if (s->gen->reconnect)
			return; /* refused or closed: the close follows, then a reconnection */
		finish(s, TRUE, msg->reason ? msg->reason : tr_msg_type_to_string(msg->type));
		return;
	}
	if (msg->n_addresses == 0 || msg->addresses[0].family != TR_ADDR_IPV4) {
		finish(s, TRUE, "no IPv4 address pushed");
		return;
	}
	s->addr = msg->addresses[0];
	tr_dc_config_init(&dcc);
	dcc.cipher = (TrCipher)msg->cipher;
	dcc.compress = (TrCompress)msg->compression;
	dcc.local_index = s->rx_index;
	dcc.peer_index = msg->rx_index;
	timing = (TrLinkTiming){msg->keepalive, msg->peer_timeout ? msg->peer_timeout : 60, TRUE};
	memcpy(&ep, &gen->hub, gen->hub_len);
	tr_link_use_dataplane(s->link, gen->dp, 0);
	if (!tr_link_activate(s->link, &dcc, &timing, (struct sockaddr *)&ep, gen->hub_len,
	                      &error)) {
		finish(s, TRUE, error->message);
		return;
	}
	s->configured = TRUE;
	if (++gen->configured == gen->n && gen->t_configured == 0)
		gen->t_configured = g_get_monotonic_time();
	send_echo(s, 0);
	start_more(gen);
}

static void
on_established(TrLink *link, gpointer p)
{
	Session *s = p;
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) hello = {0};
	g_autofree char *id = NULL;

	s->established = TRUE;
	if (!tr_tls_verify_peer(tr_link_get_tls(link), &id, &error)) {
		finish(s, TRUE, error->message);
		return;
	}
	tr_msg_init(&hello, TR_MSG_HELLO);
	tr_msg_set_u16(&hello, TR_ATTR_PROTO_VERSION, TR_PROTO_VERSION);
	tr_msg_add_u8(&hello, TR_ATTR_CIPHERS, TR_CIPHER_AES256_GCM);
	tr_msg_add_u8(&hello, TR_ATTR_CIPHERS, TR_CIPHER_CHACHA20_POLY1305);
	tr_msg_set_u32(&hello, TR_ATTR_FEATURES, TR_FEATURE_UDP | TR_FEATURE_TCP_FALLBACK);
	tr_msg_set_u32(&hello, TR_ATTR_RX_INDEX, s->rx_index);
	if (!tr_link_send_msg(link, &hello, &error))
		finish(s, TRUE, error->message);
}

static void start_one(Gen *gen);
static void start_session(Gen *gen, Session *s);

static gint
rtt_cmp(gconstpointer a, gconstpointer b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static Probes *
probes_new(Gen *gen)
{
	Probes *pr = g_new0(Probes, 1);

	pr->gen = gen;
	pr->id = ++gen->next_interval;
	pr->rtt_ms = g_array_new(FALSE, FALSE, sizeof(double));
	return pr;
}

static void
probes_free(Probes *pr)
{
	g_array_free(pr->rtt_ms, TRUE);
	g_free(pr->what);
	g_free(pr);
}

/* Its line: echoes sent in it, answered (within a second of its end), cut
 * (their session lost the hub first), lost (the rest), and the round trips. */
static gboolean
probes_print(gpointer p)
{
	Probes *pr = p;
	guint counted = pr->sent - MIN(pr->cut, pr->sent);
	double sum = 0, p99 = 0, max = 0;

	g_array_sort(pr->rtt_ms, rtt_cmp);
	for (guint i = 0; i < pr->rtt_ms->len; i++)
		sum += g_array_index(pr->rtt_ms, double, i);
	if (pr->rtt_ms->len) {
		p99 = g_array_index(pr->rtt_ms, double, (pr->rtt_ms->len - 1) * 99 / 100);
		max = g_array_index(pr->rtt_ms, double, pr->rtt_ms->len - 1);
	}
	printf("probes %s sent %u answered %u lost_percent %.1f rtt_avg_ms %.2f rtt_p99_ms %.2f "
	       "rtt_max_ms %.2f cut %u sessions_lost %u\n",
	       pr->what, pr->sent, pr->answered,
	       counted ? 100.0 * (counted - MIN(pr->answered, counted)) / counted : 0.0,
	       pr->rtt_ms->len ? sum / pr->rtt_ms->len : 0.0, p99, max, pr->cut, pr->sessions_lost);
	fflush(stdout);
	g_hash_table_remove(pr->gen->ended, GUINT_TO_POINTER(pr->id)); /* frees it */
	return G_SOURCE_REMOVE;
}

/* The end of the current interval, named @what (printed a second later), and
 * the start of the next. */
static void
probes_report(Gen *gen, const char *what)
{
	Probes *pr = gen->probes;

	if (gen->n_probes == 0)
		return;
	pr->what = g_strdup(what);
	g_hash_table_insert(gen->ended, GUINT_TO_POINTER(pr->id), pr);
	g_timeout_add_seconds(gen->probe_grace, probes_print, pr);
	gen->probes = probes_new(gen);
}

/* Every session answered: the end of a connect phase or of a storm. */
static void
all_up(Gen *gen)
{
	gen->up = TRUE;
	if (gen->phase == PHASE_STORM) {
		printf("back %u sessions in %.3f s after the first loss; reconnections %u\n",
		       gen->n, (g_get_monotonic_time() - gen->t_down) / 1e6, gen->reconnects);
		probes_report(gen, "storm");
	} else if (gen->phase == PHASE_CONNECT) {
		probes_report(gen, "connect");
	}
	fflush(stdout);
	gen->phase = PHASE_UP;
}

static void
session_up(Session *s)
{
	Gen *gen = s->gen;

	s->attempt = 0;
	if (gen->reconnect && gen->answered == gen->n)
		all_up(gen);
}

static gboolean
on_reconnect(gpointer p)
{
	Session *s = p;

	s->reconnect_id = 0;
	s->gen->reconnects++;
	s->gen->tick_attempts++;
	start_session(s->gen, s);
	return G_SOURCE_REMOVE;
}

/* Lost (or never reached) the hub: again after a client's backoff (tr_backoff_next). */
static void
session_down(Session *s)
{
	Gen *gen = s->gen;
	guint base = MIN(30000u, 1000u << MIN(s->attempt, 10u));
	gboolean was_up = s->answered;

	if (!s->answered) { /* an attempt that failed (not the loss of a session that was up) */
		if (s->established)
			gen->tick_failed_late++;
		else
			gen->tick_failed_early++;
	}
	s->established = FALSE;
	if (s->answered) {
		s->answered = FALSE;
		gen->answered--;
	}
	if (s->configured) {
		s->configured = FALSE;
		gen->configured--;
	}
	if (gen->up) { /* the first loss: a storm begins */
		gen->up = FALSE;
		gen->storms++;
		gen->t_down = g_get_monotonic_time();
		probes_report(gen, "up");
		gen->phase = PHASE_STORM;
		printf("storm %u: sessions are losing the hub\n", gen->storms);
		fflush(stdout);
	}
	if (was_up)
		probe_cut(gen, s);
	if (s->reconnect_id == 0)
		s->reconnect_id =
		        g_timeout_add((guint)g_random_int_range((gint32)(base * 3 / 4),
		                                                (gint32)(base * 5 / 4) + 1),
		                      on_reconnect, s);
	s->attempt++;
}

static void
on_closed(TrLink *link, const GError *error, gpointer p)
{
	Session *s = p;

	if (s->gen->reconnect) {
		session_down(s);
		return;
	}
	if (!s->answered)
		finish(s, TRUE, error ? error->message : "closed");
}

static const TrLinkCallbacks callbacks = {
        .message = on_message,
        .established = on_established,
        .closed = on_closed,
};

static void
start_one(Gen *gen)
{
	Session *s = &gen->sessions[gen->next];

	s->gen = gen;
	s->index = gen->next;
	s->rx_index = gen->next + 1;
	gen->next++;
	gen->in_flight++;
	start_session(gen, s);
}

static void
start_session(Gen *gen, Session *s)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *desc = g_strdup_printf("session %u", s->index);
	int fd;

	g_clear_pointer(&s->link, tr_link_free);
	fd = socket(gen->hub.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    (connect(fd, (struct sockaddr *)&gen->hub, gen->hub_len) < 0 && errno != EINPROGRESS)) {
		if (fd >= 0)
			close(fd);
		if (gen->reconnect)
			session_down(s);
		else
			finish(s, TRUE, g_strerror(errno));
		return;
	}
	s->link = tr_link_new(fd, gen->creds, NULL, desc, FALSE, &callbacks, s, &error);
	if (s->link == NULL) {
		if (gen->reconnect)
			session_down(s);
		else
			finish(s, TRUE, error->message);
		return;
	}
	s->started = g_get_monotonic_time();
	{
		/* Each session is its own identity, as separate machines would be. */
		g_autofree char *id = g_strdup_printf("%s%u", gen->prefix, s->index);
		tr_tls_set_psk_identity(tr_link_get_tls(s->link), id);
	}
	if (gen->handshakes)
		tr_link_set_handshake_pool(s->link, gen->handshakes);
	tr_link_start(s->link, 30000);
}

/* Keep at most @concurrency sessions between connect and configured. */
static void
start_more(Gen *gen)
{
	while (gen->next < gen->n && gen->next - gen->configured - gen->failed < gen->concurrency)
		start_one(gen);
}

/*
 * The data plane: one worker on a test device (the answers come out of it)
 * and a UDP socket of the hub's family.
 */
static gboolean
start_dataplane(Gen *gen, GError **error)
{
	struct sockaddr_storage any = {.ss_family = gen->hub.ss_family};
	TrPlatError perr = {0};
	TrDpTuning tuning;
	TrDpConfig cfg;
	int size = 8 << 20;

	gen->dev = tr_device_open_test(TR_DEVICE_TUN, "loadgen", 1, &gen->dev_fd, &perr);
	if (gen->dev == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "test device: %s", perr.message);
		return FALSE;
	}
	/* Every answer may arrive before the main loop reads one. */
	setsockopt((int)tr_device_queue_fd(gen->dev, 0), SOL_SOCKET, SO_SNDBUFFORCE, &size,
	           sizeof(size));
	setsockopt(gen->dev_fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	tr_dp_tuning_init(&tuning);
	tuning.threads = 1;
	gen->udp_fds = tr_dp_open_sockets((struct sockaddr *)&any, gen->hub_len, 1, tuning.udp_gro,
	                                  FALSE, &gen->n_udp, error);
	if (gen->udp_fds == NULL)
		return FALSE;
	tr_dp_config_setup(&cfg, &tuning, gen->dev, gen->udp_fds, gen->n_udp);
	gen->dp = tr_dataplane_new(&cfg, error);
	if (gen->dp == NULL)
		return FALSE;
	g_unix_fd_add(gen->dev_fd, G_IO_IN, on_device, gen);
	return TRUE;
}

static const char *const phase_names[N_PHASES] = {"connect", "up", "storm"};

/* SIGUSR1: the probes' figures so far in this phase (the benchmark marks
 * what happened around them), and a fresh start. */
static gboolean
on_mark(gpointer p)
{
	Gen *gen = p;
	g_autofree char *what = g_strdup_printf("%s-interval", phase_names[gen->phase]);

	probes_report(gen, what);
	return G_SOURCE_CONTINUE;
}

/* Once a second: the echo again from each session configured but not yet
 * answered (a datagram lost in a busy second would otherwise hold the run
 * until its --timeout). */
static gboolean
on_resend(gpointer p)
{
	Gen *gen = p;
	gint64 now = g_get_monotonic_time();

	for (guint i = 0; i < gen->next; i++) {
		Session *s = &gen->sessions[i];

		if (s->configured && !s->answered && !s->failed && s->link &&
		    now - s->started > G_USEC_PER_SEC) {
			gen->echoes_resent++;
			send_echo(s, 0);
		}
	}
	return G_SOURCE_CONTINUE;
}

/* Every 100 ms: an echo from each probe session that is up. */
static gboolean
on_probe(gpointer p)
{
	Gen *gen = p;

	for (guint i = 0; i < gen->n_probes && i < gen->next; i++) {
		Session *s = &gen->sessions[i];

		if (s->answered && s->link) {
			gen->probes->sent++;
			send_echo(s, gen->probes->id);
		}
	}
	return G_SOURCE_CONTINUE;
}

/* --progress: once a second during a storm, what happened in that second. */
static gboolean
on_progress(gpointer p)
{
	Gen *gen = p;

	if (gen->storms > 0 && (gen->phase == PHASE_STORM || gen->tick_up > 0)) {
		printf("progress %.1f s: up %u (+%u) configured %u attempts %u failed before TLS "
		       "%u "
		       "after %u\n",
		       gen->t_down ? (g_get_monotonic_time() - gen->t_down) / 1e6 : 0.0,
		       gen->answered, gen->tick_up, gen->configured, gen->tick_attempts,
		       gen->tick_failed_early, gen->tick_failed_late);
		fflush(stdout);
	}
	gen->tick_attempts = gen->tick_failed_early = gen->tick_failed_late = gen->tick_up = 0;
	return G_SOURCE_CONTINUE;
}

static gboolean
on_deadline(gpointer p)
{
	Gen *gen = p;

	g_printerr("deadline reached\n");
	gen->timed_out = TRUE;
	g_main_loop_quit(gen->loop);
	return G_SOURCE_REMOVE;
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new("- Trellis load generator");
	g_autoptr(GError) error = NULL;
	g_autofree char *target = NULL, *key = NULL, *hub_addr = NULL, *prefix = NULL;
	gint sessions = 100, concurrency = 50, timeout = 120, probes = 0, threads = -1, grace = 1;
	gboolean reconnect = FALSE, progress = FALSE;
	const GOptionEntry entries[] = {
	        {"connect", 'c', 0, G_OPTION_ARG_STRING, &target, "Hub ADDR:PORT (numeric)",
	         "ADDR"},
	        {"shared-key", 0, 0, G_OPTION_ARG_STRING, &key, "The hub's shared key", "KEY"},
	        {"hub-address", 0, 0, G_OPTION_ARG_STRING, &hub_addr,
	         "The hub's tunnel address to ping (default 198.19.0.1)", "ADDR"},
	        {"sessions", 'n', 0, G_OPTION_ARG_INT, &sessions, "Sessions (default 100)", "N"},
	        {"concurrency", 0, 0, G_OPTION_ARG_INT, &concurrency,
	         "Handshakes in flight at once (default 50)", "N"},
	        {"timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
	         "Give up after this many seconds (default 120)", "SECS"},
	        {"reconnect", 0, 0, G_OPTION_ARG_NONE, &reconnect,
	         "Stay, and reconnect sessions that lose the hub (with a client's backoff)", NULL},
	        {"names", 0, 0, G_OPTION_ARG_STRING, &prefix,
	         "The sessions' names: PREFIX and a number (default load-)", "PREFIX"},
	        {"probe", 0, 0, G_OPTION_ARG_INT, &probes,
	         "The first N sessions send an echo every 100 ms once up", "N"},
	        {"probe-grace", 0, 0, G_OPTION_ARG_INT, &grace,
	         "An interval's line comes this long after its end; a later answer is a loss "
	         "(default 1, at most 12)",
	         "SECS"},
	        {"progress", 0, 0, G_OPTION_ARG_NONE, &progress,
	         "During a storm, a line a second: sessions up, attempts, failures", NULL},
	        {"handshake-threads", 0, 0, G_OPTION_ARG_INT, &threads,
	         "The clients' TLS handshakes on N threads, 0 one per core (default: on the main "
	         "loop, as a client's)",
	         "N"},
	        {NULL},
	};
	TrTlsConfig tc = {.is_server = FALSE, .psk_identity = "loadgen"};
	struct rlimit rl;
	Gen gen = {0};
	double handshake_s, total_s;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || target == NULL || key == NULL ||
	    sessions < 1 || sessions > 65535 || concurrency < 1) {
		g_printerr("trellis-loadgen: %s\n",
		           error ? error->message
		                 : "--connect and --shared-key are needed; --sessions 1 to 65535");
		return 2;
	}
	tr_log_init("trellis-loadgen", TR_LOG_QUIET, NULL, NULL);
	/* One TCP socket per session. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!tr_sockaddr_parse(target, 3210, &gen.hub, &gen.hub_len, &error)) {
		g_printerr("trellis-loadgen: %s\n", error->message);
		return 2;
	}
	if (inet_pton(AF_INET, hub_addr ? hub_addr : "198.19.0.1", gen.hub_tunnel_addr) != 1) {
		g_printerr("trellis-loadgen: bad --hub-address\n");
		return 2;
	}
	tc.shared_key = key;
	gen.creds = tr_tls_creds_new(&tc, &error);
	if (gen.creds == NULL) {
		g_printerr("trellis-loadgen: %s\n", error->message);
		return 2;
	}
	gen.n = (guint)sessions;
	gen.concurrency = (guint)concurrency;
	gen.reconnect = reconnect;
	gen.prefix = prefix ? prefix : "load-";
	gen.n_probes = (guint)CLAMP(probes, 0, sessions);
	gen.probe_grace = (guint)CLAMP(grace, 1, 12);
	gen.probes = probes_new(&gen);
	gen.ended = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)probes_free);
	if (progress)
		g_timeout_add(1000, on_progress, &gen);
	if (gen.n_probes) {
		g_timeout_add(100, on_probe, &gen);
		g_unix_signal_add(SIGUSR1, on_mark, &gen);
	}
	gen.sessions = g_new0(Session, gen.n);
	for (guint i = 0; i < gen.n_probes; i++)
		gen.sessions[i].pending = g_new0(Pending, PENDING_MAX);
	if (threads >= 0)
		gen.handshakes = tr_handshake_pool_new((guint)threads);
	gen.loop = g_main_loop_new(NULL, FALSE);
	gen.dev_fd = -1;
	if (!start_dataplane(&gen, &error)) {
		g_printerr("trellis-loadgen: %s\n", error->message);
		return 2;
	}
	guint deadline = g_timeout_add_seconds((guint)timeout, on_deadline, &gen);

	gen.t0 = g_get_monotonic_time();
	g_timeout_add_seconds(1, on_resend, &gen);
	start_more(&gen);
	if (gen.reconnect) {
		/* Up to the first time every session answered, then for ever (the
		 * benchmark ends it): the figures of the first phase come first. */
		while (gen.answered < gen.n && !gen.timed_out)
			g_main_context_iteration(NULL, TRUE);
	} else {
		g_main_loop_run(gen.loop);
	}
	total_s = (g_get_monotonic_time() - gen.t0) / 1e6;
	handshake_s = gen.t_configured ? (gen.t_configured - gen.t0) / 1e6 : total_s;

	printf("sessions %u configured %u answered %u failed %u handshake_seconds %.3f "
	       "handshakes_per_second %.1f total_seconds %.3f echoes_resent %u\n",
	       gen.n, gen.configured, gen.answered, gen.failed, handshake_s,
	       gen.configured / MAX(handshake_s, 1e-6), total_s, gen.echoes_resent);
	fflush(stdout);
	if (gen.reconnect && !gen.timed_out) {
		printf("holding\n");
		fflush(stdout);
		g_source_remove(deadline);
		g_main_loop_run(gen.loop); /* until killed */
	}
	/* Hold the sessions if asked (the benchmark measures the hub now). */
	if (g_getenv("TRELLIS_LOADGEN_HOLD")) {
		printf("holding\n");
		fflush(stdout);
		pause();
	}
	for (guint i = 0; i < gen.n; i++) {
		tr_link_free(gen.sessions[i].link);
		g_free(gen.sessions[i].pending);
	}
	g_hash_table_destroy(gen.ended); /* intervals not printed yet */
	probes_free(gen.probes);
	g_clear_pointer(&gen.handshakes, tr_handshake_pool_free);
	tr_dataplane_free(gen.dp);
	for (guint i = 0; i < gen.n_udp; i++)
		close(gen.udp_fds[i]);
	g_free(gen.udp_fds);
	tr_device_close(gen.dev, NULL);
	close(gen.dev_fd);
	g_free(gen.sessions);
	tr_tls_creds_unref(gen.creds);
	g_main_loop_unref(gen.loop);
	return gen.answered == gen.n ? 0 : 1;
}
