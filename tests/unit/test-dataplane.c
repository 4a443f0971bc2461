/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The data plane end to end in one process: two data planes (A and B), each
 * with socketpair test devices and loopback UDP sockets, each holding one
 * session keyed to the other. Packets written into A's device come out of
 * B's; keys change under traffic with the workers quiesced; a datagram
 * handed in as if from the TLS stream is delivered; garbage is counted;
 * roaming is noticed and reported; a pinned session does not roam and notes
 * what answered instead. Every wait is bounded.
 */
#include "common/base/addr.h"
#include "common/datapath/dataplane.h"
#include "common/datapath/dataplane-private.h"
#include "common/link/link.h"
#include "platform/udp.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 5000

typedef struct {
	TrDevice *dev;
	int dev_peer[TR_DEVICE_MAX_QUEUES]; /* the other ends of the device's queues */
	unsigned n_queues;
	int *udp_fds;
	guint n_udp;
	TrDataplane *dp;
	TrDpSession *session;
	struct sockaddr_storage addr; /* where its sockets listen */
	socklen_t addr_len;
	unsigned events;
	uint8_t tcp_sent[2000]; /* the last datagram for the TLS path */
	size_t tcp_sent_len;
} Side;

static void
on_event(TrDpSession *session, unsigned events, gpointer p)
{
	Side *s = p;
	s->events |= events;
}

/* The TLS path: what the session's control plane would send over its stream. */
static void
on_tcp_send(TrDpSession *session, const uint8_t *data, size_t len, gpointer p)
{
	Side *s = p;

	g_assert_cmpuint(len, <=, sizeof(s->tcp_sent));
	memcpy(s->tcp_sent, data, len);
	s->tcp_sent_len = len;
}

static const TrDpSessionCallbacks callbacks = {.event = on_event, .tcp_send = on_tcp_send};

static void
side_open(Side *s, unsigned workers)
{
	TrPlatError perr = {0};
	g_autoptr(GError) error = NULL;
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	TrDpConfig cfg;

	memset(s, 0, sizeof(*s));
	s->n_queues = workers;
	s->dev = tr_device_open_test(TR_DEVICE_TUN, "dp%d", workers, s->dev_peer, &perr);
	g_assert_nonnull(s->dev);
	s->udp_fds = tr_dp_open_sockets((struct sockaddr *)&lo, sizeof(lo), workers, TRUE, TRUE,
	                                &s->n_udp, &error);
	g_assert_no_error(error);
	s->addr_len = sizeof(s->addr);
	g_assert_cmpint(getsockname(s->udp_fds[0], (struct sockaddr *)&s->addr, &s->addr_len), ==,
	                0);

	tr_dp_config_init(&cfg);
	cfg.dev = s->dev;
	cfg.udp_fds = s->udp_fds;
	cfg.n_udp = s->n_udp;
	cfg.n_workers = workers;
	cfg.mtu = 1420;
	s->dp = tr_dataplane_new(&cfg, &error);
	g_assert_no_error(error);
}

static void
side_close(Side *s)
{
	tr_dataplane_free(s->dp);
	for (guint i = 0; i < s->n_udp; i++)
		close(s->udp_fds[i]);
	g_free(s->udp_fds);
	tr_device_close(s->dev, NULL);
	for (unsigned i = 0; i < s->n_queues; i++)
		close(s->dev_peer[i]);
}

static TrDc *
make_dc(unsigned workers, uint32_t local, uint32_t remote, const uint8_t *tx, const uint8_t *rx)
{
	g_autoptr(GError) error = NULL;
	TrDcConfig c;
	TrDc *dc;

	tr_dc_config_init(&c);
	c.cipher = TR_CIPHER_AES256_GCM;
	c.local_index = local;
	c.peer_index = remote;
	c.lanes = workers + 1;
	c.defer_activation = TRUE;
	dc = tr_dc_new(&c, &error);
	g_assert_no_error(error);
	g_assert_true(tr_dc_install_keys(dc, 0, tx, rx, g_get_monotonic_time(), &error));
	return dc;
}

/* A and B, each with a session to the other over UDP. */
static void
pair_open(Side *a, Side *b, unsigned workers, const struct sockaddr *b_endpoint_at_a)
{
	uint8_t k1[TR_CIPHER_KEY_LEN], k2[TR_CIPHER_KEY_LEN];
	uint32_t ia = 0x1000 + workers, ib = 0x2001;

	gnutls_rnd(GNUTLS_RND_NONCE, k1, sizeof(k1));
	gnutls_rnd(GNUTLS_RND_NONCE, k2, sizeof(k2));
	side_open(a, workers);
	side_open(b, workers);
	a->session = tr_dataplane_add_session(a->dp, make_dc(workers, ia, ib, k1, k2), 1,
	                                      b_endpoint_at_a ? b_endpoint_at_a
	                                                      : (struct sockaddr *)&b->addr,
	                                      b->addr_len, &callbacks, a);
	b->session =
	        tr_dataplane_add_session(b->dp, make_dc(workers, ib, ia, k2, k1), 1,
	                                 (struct sockaddr *)&a->addr, a->addr_len, &callbacks, b);
	tr_dp_session_set_path(a->session, TR_PATH_UDP);
	tr_dp_session_set_path(b->session, TR_PATH_UDP);
}

/* An IPv4/UDP packet of @len bytes carrying @seq (not checksummed: nothing checks it). */
static size_t
make_packet(uint8_t *buf, size_t len, uint32_t seq)
{
	memset(buf, 0, len);
	buf[0] = 0x45;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	buf[8] = 64;
	buf[9] = 17;
	memcpy(buf + 12, (uint8_t[]){198, 19, 0, 2, 198, 19, 0, 1}, 8);
	for (size_t i = 28; i < len; i++)
		buf[i] = (uint8_t)(seq + i);
	buf[28] = (uint8_t)(seq >> 24);
	buf[29] = (uint8_t)(seq >> 16);
	buf[30] = (uint8_t)(seq >> 8);
	buf[31] = (uint8_t)seq;
	return len;
}

static void
inject(Side *s, unsigned queue, uint32_t seq, size_t len)
{
	uint8_t buf[2000];

	make_packet(buf, len, seq);
	g_assert_cmpint(write(s->dev_peer[queue], buf, len), ==, (ssize_t)len);
}

/* Reads packets from any queue of @s until @n arrived or the time is up; marks seen[seq]. */
static unsigned
collect(Side *s, unsigned n, gboolean *seen, unsigned max_seq, size_t len)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;
	unsigned got = 0;

	while (got < n && g_get_monotonic_time() < deadline) {
		struct pollfd pfd[TR_DEVICE_MAX_QUEUES];

		for (unsigned i = 0; i < s->n_queues; i++)
			pfd[i] = (struct pollfd){.fd = s->dev_peer[i], .events = POLLIN};
		/* Events and reclaiming run on the main loop: keep it turning. */
		while (g_main_context_iteration(NULL, FALSE))
			;
		if (poll(pfd, s->n_queues, 50) <= 0)
			continue;
		for (unsigned i = 0; i < s->n_queues; i++) {
			uint8_t buf[2000];
			ssize_t r;
			uint8_t want[2000];
			uint32_t seq;

			if (!(pfd[i].revents & POLLIN))
				continue;
			r = read(s->dev_peer[i], buf, sizeof(buf));
			if (r <= 0)
				continue;
			g_assert_cmpint(r, ==, (ssize_t)len);
			seq = (uint32_t)buf[28] << 24 | (uint32_t)buf[29] << 16 |
			      (uint32_t)buf[30] << 8 | buf[31];
			g_assert_cmpuint(seq, <, max_seq);
			make_packet(want, len, seq);
			g_assert_cmpmem(buf, r, want, len);
			g_assert_false(seen[seq]);
			seen[seq] = TRUE;
			got++;
		}
	}
	return got;
}

static void
run_traffic(unsigned workers)
{
	Side a, b;
	const unsigned n = 400;
	g_autofree gboolean *seen = g_new0(gboolean, n);
	TrDpStats st;

	pair_open(&a, &b, workers, NULL);
	/* In small bursts: the socketpairs hold a few hundred packets. */
	for (unsigned i = 0; i < n; i += 50) {
		for (unsigned j = i; j < i + 50; j++)
			inject(&a, j % workers, j, 1000);
		g_assert_cmpuint(collect(&b, 50, seen, n, 1000), ==, 50);
	}
	tr_dataplane_stats(a.dp, &st);
	g_assert_cmpuint(st.dev_reads, ==, n);
	g_assert_cmpuint(st.tx_datagrams, ==, n);
	/* A worker counts a write just after it made it: let the last count land. */
	for (int i = 0; i < 200; i++) {
		tr_dataplane_stats(b.dp, &st);
		if (st.dev_writes >= n)
			break;
		g_usleep(10000);
	}
	g_assert_cmpuint(st.rx_datagrams, ==, n);
	g_assert_cmpuint(st.dev_writes, ==, n);
	g_assert_cmpuint(st.rx_drops, ==, 0);
	g_assert_cmpuint(st.handoffs, ==, 0); /* steering put each datagram on its owner */
	side_close(&a);
	side_close(&b);
}

static void
test_one_worker(void)
{
	run_traffic(1);
}

static void
test_two_workers(void)
{
	run_traffic(2);
}

/* Keys change between bursts, the way a link does it: install, then activate. */
static void
test_rekey(void)
{
	Side a, b;
	const unsigned n = 300;
	g_autofree gboolean *seen = g_new0(gboolean, n);
	g_autoptr(GError) error = NULL;

	pair_open(&a, &b, 2, NULL);
	for (unsigned round = 0; round < 3; round++) {
		uint8_t k1[TR_CIPHER_KEY_LEN], k2[TR_CIPHER_KEY_LEN];
		uint32_t epoch = round + 1;

		for (unsigned j = round * 100; j < round * 100 + 50; j++)
			inject(&a, j % 2, j, 600);
		gnutls_rnd(GNUTLS_RND_NONCE, k1, sizeof(k1));
		gnutls_rnd(GNUTLS_RND_NONCE, k2, sizeof(k2));
		/* B first (it receives under the new key once A switches), then A. */
		tr_dataplane_quiesce(b.dp);
		g_assert_true(tr_dc_install_keys(tr_dp_session_dc(b.session), epoch, k2, k1,
		                                 g_get_monotonic_time(), &error));
		tr_dataplane_resume(b.dp);
		tr_dataplane_quiesce(a.dp);
		g_assert_true(tr_dc_install_keys(tr_dp_session_dc(a.session), epoch, k1, k2,
		                                 g_get_monotonic_time(), &error));
		g_assert_true(
		        tr_dc_activate_next(tr_dp_session_dc(a.session), g_get_monotonic_time()));
		tr_dataplane_resume(a.dp);
		for (unsigned j = round * 100 + 50; j < round * 100 + 100; j++)
			inject(&a, j % 2, j, 600);
		g_assert_cmpuint(collect(&b, 100, seen, n, 600), ==, 100);
		/* B saw the new key in use: it asks the control plane to switch. */
		g_assert_true(tr_dc_activation_due(tr_dp_session_dc(b.session)));
		g_assert_true(b.events & TR_DP_EVENT_UDP_HEARD);
		tr_dataplane_quiesce(b.dp);
		tr_dc_activate_next(tr_dp_session_dc(b.session), g_get_monotonic_time());
		tr_dataplane_resume(b.dp);
	}
	side_close(&a);
	side_close(&b);
}

/* A datagram that came over the TLS stream, and garbage on the socket. */
static void
test_inject_and_garbage(void)
{
	Side a, b;
	uint8_t pkt[800], wire[800 + TR_DC_OVERHEAD];
	gboolean seen[2] = {FALSE};
	TrDpStats st;
	int len, fd;

	pair_open(&a, &b, 2, NULL);
	make_packet(pkt, sizeof(pkt), 1);
	len = tr_dc_seal(tr_dp_session_dc(a.session), 2 /* the control lane */, NULL, TR_DC_DATA,
	                 pkt, sizeof(pkt), wire, sizeof(wire), g_get_monotonic_time());
	g_assert_cmpint(len, >, 0);
	g_assert_true(tr_dp_session_inject(b.dp, b.session, wire, (size_t)len));
	g_assert_cmpuint(collect(&b, 1, seen, 2, sizeof(pkt)), ==, 1);
	g_assert_true(seen[1]);

	/* The same datagram again over UDP: a replay, dropped and counted. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	g_assert_cmpint(sendto(fd, wire, (size_t)len, 0, (struct sockaddr *)&b.addr, b.addr_len),
	                ==, len);
	g_assert_cmpint(sendto(fd, "garbage", 7, 0, (struct sockaddr *)&b.addr, b.addr_len), ==, 7);
	for (int i = 0; i < 100; i++) {
		tr_dataplane_stats(b.dp, &st);
		if (st.rx_drops >= 2)
			break;
		g_usleep(20000);
	}
	g_assert_cmpuint(st.rx_drops, ==, 2);
	close(fd);
	side_close(&a);
	side_close(&b);
}

/* B's session starts with a wrong endpoint for A; A's first packet corrects it. */
static void
test_roaming(void)
{
	Side a, b;
	struct sockaddr_in wrong = {.sin_family = AF_INET,
	                            .sin_port = htons(9),
	                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_storage ep;
	gboolean seen[4] = {FALSE};

	pair_open(&a, &b, 1, NULL);
	tr_dp_session_set_endpoint(b.session, (struct sockaddr *)&wrong, sizeof(wrong));
	inject(&a, 0, 3, 500);
	g_assert_cmpuint(collect(&b, 1, seen, 4, 500), ==, 1);
	for (int i = 0; i < 100 && !(b.events & TR_DP_EVENT_ROAMED); i++) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
	g_assert_true(b.events & TR_DP_EVENT_ROAMED);
	g_assert_cmpuint(tr_dp_session_endpoint(b.session, &ep), ==, a.addr_len);
	g_assert_cmpmem(&ep, a.addr_len, &a.addr, a.addr_len);
	side_close(&a);
	side_close(&b);
}

/*
 * Pinned sessions (a pair's, whose endpoint its path selector chooses): B's
 * endpoint for A is wrong and stays so; A's probe (a PING to B's address,
 * tr_dp_session_send_control_to) is answered to where it came from; A notes
 * the PONG with the probe id and B's address, B notes A's datagram as one
 * from another endpoint, and neither roams.
 */
static void
test_pinned(void)
{
	Side a, b;
	struct sockaddr_in wrong = {.sin_family = AF_INET,
	                            .sin_port = htons(9),
	                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	const uint8_t probe[16] = {0x01, 0x02, 0x03, 0x04, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
	TrDpNote na[TR_DP_NOTES], nb[TR_DP_NOTES];
	guint n_a = 0, n_b = 0;
	struct sockaddr_storage ep;

	pair_open(&a, &b, 1, NULL);
	tr_dp_session_pin_endpoint(a.session, TRUE);
	tr_dp_session_pin_endpoint(b.session, TRUE);
	tr_dp_session_set_endpoint(b.session, (struct sockaddr *)&wrong, sizeof(wrong));
	g_assert_true(tr_dp_session_send_control_to(a.dp, a.session, TR_DC_PING, probe,
	                                            sizeof(probe), (struct sockaddr *)&b.addr,
	                                            b.addr_len));
	for (int i = 0; i < 200 && n_a == 0; i++) {
		g_usleep(10000);
		n_a = tr_dp_session_take_notes(a.session, na, G_N_ELEMENTS(na));
	}
	g_assert_cmpuint(n_a, ==, 1);
	g_assert_true(na[0].pong);
	g_assert_cmpmem(na[0].payload, 4, probe, 4);
	g_assert_cmpmem(&na[0].from, b.addr_len, &b.addr, b.addr_len);
	n_b = tr_dp_session_take_notes(b.session, nb, G_N_ELEMENTS(nb));
	g_assert_cmpuint(n_b, ==, 1);
	g_assert_false(nb[0].pong);
	g_assert_cmpmem(&nb[0].from, a.addr_len, &a.addr, a.addr_len);
	g_assert_cmpuint(tr_dp_session_endpoint(b.session, &ep), ==, sizeof(wrong));
	g_assert_cmpmem(&ep, sizeof(wrong), &wrong, sizeof(wrong));
	for (int i = 0; i < 10; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_false(b.events & TR_DP_EVENT_ROAMED);
	g_assert_cmpuint(tr_dp_session_take_notes(a.session, na, G_N_ELEMENTS(na)), ==, 0);
	side_close(&a);
	side_close(&b);
}

/*
 * A packet from the control plane (tr_dp_session_send): over UDP it reaches
 * the other side's device; on the TLS path it goes to tcp_send, and the
 * other side opens it when it is injected; with no path, it is refused.
 */
static void
test_send_from_control_plane(void)
{
	Side a, b;
	uint8_t pkt[300];
	gboolean seen[3] = {FALSE};

	pair_open(&a, &b, 2, NULL);
	make_packet(pkt, sizeof(pkt), 1);
	g_assert_true(tr_dp_session_send(a.dp, a.session, pkt, sizeof(pkt)));
	g_assert_cmpuint(collect(&b, 1, seen, 3, sizeof(pkt)), ==, 1);
	g_assert_true(seen[1]);

	tr_dp_session_set_path(a.session, TR_PATH_TCP);
	make_packet(pkt, sizeof(pkt), 2);
	g_assert_true(tr_dp_session_send(a.dp, a.session, pkt, sizeof(pkt)));
	g_assert_cmpuint(a.tcp_sent_len, ==,
	                 sizeof(pkt) + TR_DC_OVERHEAD); /* AES-GCM: a 16-byte tag */
	g_assert_true(tr_dp_session_inject(b.dp, b.session, a.tcp_sent, a.tcp_sent_len));
	g_assert_cmpuint(collect(&b, 1, seen, 3, sizeof(pkt)), ==, 1);
	g_assert_true(seen[2]);

	tr_dp_session_set_path(a.session, TR_PATH_NONE);
	g_assert_false(tr_dp_session_send(a.dp, a.session, pkt, sizeof(pkt)));
	side_close(&a);
	side_close(&b);
}

/* Forwarding notes (note_forwarding): a session sending to a few targets in turn
 * is told once per target and TR_DP_FORWARD_NOTE_USEC, not on each change of target. */
static void
test_forward_notes(void)
{
	DpFwdNotes notes = {0};
	TrDpForward out[TR_DP_FORWARD_TARGETS];
	const int64_t t0 = 1000 * G_USEC_PER_SEC;
	unsigned told = 0, n;

	/* Alternating between two targets, packet after packet: told twice in all. */
	for (int i = 0; i < 1000; i++)
		told += dp_fwd_note(&notes, 2 + (uint32_t)(i % 2), NULL, t0 + i);
	g_assert_cmpuint(told, ==, 2);
	n = dp_fwd_take(&notes, out);
	g_assert_cmpuint(n, ==, 2);
	g_assert_true((out[0].to == 2 && out[1].to == 3) || (out[0].to == 3 && out[1].to == 2));
	g_assert_cmpuint(out[0].dst.family, ==, TR_ADDR_NONE);
	g_assert_cmpuint(dp_fwd_take(&notes, out), ==, 0); /* taken */

	/* As many targets as it remembers, in turn: each told once. */
	told = 0;
	for (int i = 0; i < 1000; i++)
		told += dp_fwd_note(&notes, 2 + (uint32_t)(i % TR_DP_FORWARD_TARGETS), NULL,
		                    t0 + 10 + i);
	g_assert_cmpuint(told, ==, TR_DP_FORWARD_TARGETS - 2);
	g_assert_cmpuint(dp_fwd_take(&notes, out), ==, TR_DP_FORWARD_TARGETS - 2);

	/* After TR_DP_FORWARD_NOTE_USEC, a target is told again. */
	g_assert_false(dp_fwd_note(&notes, 2, NULL, t0 + TR_DP_FORWARD_NOTE_USEC - 1));
	g_assert_true(dp_fwd_note(&notes, 2, NULL, t0 + TR_DP_FORWARD_NOTE_USEC + 1));
	g_assert_cmpuint(dp_fwd_take(&notes, out), ==, 1);
	g_assert_cmpuint(out[0].to, ==, 2);

	/* A new target beyond the set takes the place of the least recently told
	 * (3, at t0 + 1), and is told. */
	g_assert_true(dp_fwd_note(&notes, 99, NULL, t0 + TR_DP_FORWARD_NOTE_USEC + 2));
	g_assert_cmpuint(dp_fwd_take(&notes, out), ==, 1);
	g_assert_cmpuint(out[0].to, ==, 99);
	g_assert_false(dp_fwd_note(&notes, 2, NULL, t0 + TR_DP_FORWARD_NOTE_USEC + 3));
	g_assert_true(dp_fwd_note(&notes, 3, NULL, t0 + TR_DP_FORWARD_NOTE_USEC + 4));
}

static TrPrefix
host(const char *text)
{
	TrPrefix p;

	g_assert_true(tr_prefix_parse(text, TR_PREFIX_ALLOW_HOST_BITS, &p, NULL));
	return p;
}

/* Notes to a transit session (a hub link) are kept per destination: two clients
 * behind one link are two notes, each with its address; many destinations in turn
 * are told at most TR_DP_FORWARD_TARGETS times a second. */
static void
test_forward_notes_transit(void)
{
	DpFwdNotes notes = {0};
	TrDpForward out[TR_DP_FORWARD_TARGETS];
	const int64_t t0 = 1000 * G_USEC_PER_SEC;
	TrPrefix a = host("198.19.2.2/32"), b = host("fd00:2::3/128"), c;
	unsigned told = 0, n;
	char buf[TR_PREFIX_STRLEN];
	gboolean seen_a = FALSE, seen_b = FALSE;

	for (int i = 0; i < 1000; i++)
		told += dp_fwd_note(&notes, 7, i % 2 ? &b : &a, t0 + i);
	g_assert_cmpuint(told, ==, 2);
	n = dp_fwd_take(&notes, out);
	g_assert_cmpuint(n, ==, 2);
	for (unsigned i = 0; i < n; i++) {
		g_assert_cmpuint(out[i].to, ==, 7);
		tr_prefix_to_string(&out[i].dst, buf, sizeof(buf));
		seen_a |= g_str_equal(buf, "198.19.2.2/32");
		seen_b |= g_str_equal(buf, "fd00:2::3/128");
	}
	g_assert_true(seen_a && seen_b);
	/* The same target without a destination (not IP) is another note. */
	g_assert_true(dp_fwd_note(&notes, 7, NULL, t0 + 2000));
	g_assert_cmpuint(dp_fwd_take(&notes, out), ==, 1);
	g_assert_cmpuint(out[0].dst.family, ==, TR_ADDR_NONE);

	/* A scan of 1,000 addresses behind the link within a second: each slot takes a
	 * new destination at most once a second. */
	told = 0;
	for (int i = 0; i < 1000; i++) {
		c = host("198.19.3.0/32");
		c.addr[2] = (uint8_t)(i >> 8);
		c.addr[3] = (uint8_t)i;
		told += dp_fwd_note(&notes, 7, &c, t0 + 2 * G_USEC_PER_SEC + i * 900);
	}
	g_assert_cmpuint(told, <=, TR_DP_FORWARD_TARGETS);
	g_assert_cmpuint(told, >=, 1);
	g_assert_cmpuint(dp_fwd_take(&notes, out), ==, told);

	/* A torn slot (two workers wrote it at once) fails its check and is not told. */
	g_assert_true(dp_fwd_note(&notes, 7, &a, t0 + 100 * G_USEC_PER_SEC));
	for (unsigned i = 0; i < TR_DP_FORWARD_TARGETS; i++)
		if (atomic_load(&notes.noted[i]) == t0 + 100 * G_USEC_PER_SEC)
			atomic_store(&notes.dst[i][0], atomic_load(&notes.dst[i][0]) ^ 1);
	g_assert_cmpuint(dp_fwd_take(&notes, out), ==, 0);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dataplane/one-worker", test_one_worker);
	g_test_add_func("/dataplane/two-workers", test_two_workers);
	g_test_add_func("/dataplane/rekey", test_rekey);
	g_test_add_func("/dataplane/inject-and-garbage", test_inject_and_garbage);
	g_test_add_func("/dataplane/roaming", test_roaming);
	g_test_add_func("/dataplane/pinned", test_pinned);
	g_test_add_func("/dataplane/send-from-control-plane", test_send_from_control_plane);
	g_test_add_func("/dataplane/forward-notes", test_forward_notes);
	g_test_add_func("/dataplane/forward-notes-transit", test_forward_notes_transit);
	return g_test_run();
}
