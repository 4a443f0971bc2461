/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Two links over a socketpair (TLS with a shared key), each with its own
 * data plane on a test device and a UDP socket on loopback, on a real main
 * loop: the path goes to UDP once each side hears the other, packets cross
 * from one device to the other over UDP or over the TLS stream, keys roll
 * over under traffic, and a close reaches the other side.
 */
#include "common/base/error.h"
#include "common/link/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 10000

typedef struct {
	TrDevice *dev;
	int dev_peer; /* the other end of the device's queue */
	int *udp_fds;
	guint n_udp;
	struct sockaddr_storage addr; /* where its socket listens */
	socklen_t addr_len;
	TrDataplane *dp;
	TrLink *link;
	gboolean established, closed;
	TrPath path;
} Side;

/* The goodbye reaches the other side over TLS and over UDP, whichever
 * first: a CLOSE message is answered as the daemons do (client.c,
 * session.c), by closing. Any other message is a failure. */
static void
on_message(TrLink *link, TrMsg *msg, gpointer p)
{
	if (msg->type == TR_MSG_CLOSE) {
		tr_link_close(link, TR_MSG_CLOSE, TR_REFUSE_NONE, NULL);
		return;
	}
	g_error("unexpected message %s", tr_msg_type_to_string(msg->type));
}

static void
on_established(TrLink *link, gpointer p)
{
	Side *s = p;
	g_autoptr(GError) error = NULL;
	g_autofree char *id = NULL;

	g_assert_true(tr_tls_verify_peer(tr_link_get_tls(link), &id, &error));
	g_assert_no_error(error);
	s->established = TRUE;
}

static void
on_closed(TrLink *link, const GError *error, gpointer p)
{
	Side *s = p;

	s->closed = TRUE;
}

static void
on_path_changed(TrLink *link, TrPath path, gpointer p)
{
	Side *s = p;

	s->path = path;
}

static const TrLinkCallbacks callbacks = {
        .message = on_message,
        .established = on_established,
        .closed = on_closed,
        .path_changed = on_path_changed,
};

static void
side_open(Side *s)
{
	TrPlatError perr = {0};
	g_autoptr(GError) error = NULL;
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	TrDpTuning tuning;
	TrDpConfig cfg;

	memset(s, 0, sizeof(*s));
	s->dev = tr_device_open_test(TR_DEVICE_TUN, "link%d", 1, &s->dev_peer, &perr);
	g_assert_nonnull(s->dev);
	tr_dp_tuning_init(&tuning);
	tuning.threads = 1;
	s->udp_fds = tr_dp_open_sockets((struct sockaddr *)&lo, sizeof(lo), 1, TRUE, TRUE,
	                                &s->n_udp, &error);
	g_assert_no_error(error);
	s->addr_len = sizeof(s->addr);
	g_assert_cmpint(getsockname(s->udp_fds[0], (struct sockaddr *)&s->addr, &s->addr_len), ==,
	                0);
	tr_dp_config_setup(&cfg, &tuning, s->dev, s->udp_fds, s->n_udp);
	s->dp = tr_dataplane_new(&cfg, &error);
	g_assert_no_error(error);
}

static void
side_close(Side *s)
{
	tr_link_free(s->link);
	tr_dataplane_free(s->dp);
	for (guint i = 0; i < s->n_udp; i++)
		close(s->udp_fds[i]);
	g_free(s->udp_fds);
	tr_device_close(s->dev, NULL);
	close(s->dev_peer);
}

static gboolean
on_deadline(gpointer p)
{
	g_error("test deadline reached");
	return G_SOURCE_REMOVE;
}

/* Turns the main loop until *@flag (bounded). */
static void
run_until(const gboolean *flag)
{
	guint id = g_timeout_add(WAIT_MS, on_deadline, NULL);

	while (!*flag)
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(id);
}

/* Both links up over TLS, then activated with @dcc's limits and @udp. */
static void
pair_open(Side *a, Side *b, gboolean udp, uint64_t rekey_after_packets)
{
	g_autoptr(GError) error = NULL;
	TrTlsConfig sc = {.is_server = TRUE, .shared_key = "correct horse battery staple"};
	TrTlsConfig cc = {.is_server = FALSE,
	                  .shared_key = "correct horse battery staple",
	                  .psk_identity = "node-b"};
	g_autoptr(TrTlsCreds) screds = tr_tls_creds_new(&sc, &error);
	g_autoptr(TrTlsCreds) ccreds = tr_tls_creds_new(&cc, &error);
	TrLinkTiming timing = {.keepalive_sec = 1, .peer_timeout_sec = 30, .udp_enabled = udp};
	TrDcConfig dcc;
	gint64 deadline;
	int sv[2];

	g_assert_no_error(error);
	side_open(a);
	side_open(b);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	a->link = tr_link_new(sv[0], screds, NULL, "b", TRUE, &callbacks, a, &error);
	g_assert_no_error(error);
	b->link = tr_link_new(sv[1], ccreds, NULL, "a", FALSE, &callbacks, b, &error);
	g_assert_no_error(error);
	tr_link_start(a->link, 10000);
	tr_link_start(b->link, 10000);
	deadline = g_get_monotonic_time() + WAIT_MS * 1000;
	while (!(a->established && b->established) && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_assert_true(a->established && b->established);

	tr_dc_config_init(&dcc);
	dcc.cipher = TR_CIPHER_AES256_GCM;
	dcc.rekey_after_packets = rekey_after_packets;
	dcc.local_index = 0x0a;
	dcc.peer_index = 0x0b;
	tr_link_use_dataplane(a->link, a->dp, 1);
	g_assert_true(tr_link_activate(a->link, &dcc, &timing, (struct sockaddr *)&b->addr,
	                               b->addr_len, &error));
	g_assert_no_error(error);
	dcc.local_index = 0x0b;
	dcc.peer_index = 0x0a;
	tr_link_use_dataplane(b->link, b->dp, 1);
	g_assert_true(tr_link_activate(b->link, &dcc, &timing, (struct sockaddr *)&a->addr,
	                               a->addr_len, &error));
	g_assert_no_error(error);
	g_assert_true(tr_link_is_active(a->link));
}

/* An IPv4/UDP packet of 200 bytes carrying @seq (no checksum: nothing checks it). */
static void
make_packet(uint8_t *buf, uint32_t seq)
{
	memset(buf, 0, 200);
	buf[0] = 0x45;
	buf[3] = 200;
	buf[8] = 64;
	buf[9] = 17;
	memcpy(buf + 12, (uint8_t[]){198, 19, 0, 2, 198, 19, 0, 1}, 8);
	buf[28] = (uint8_t)(seq >> 24);
	buf[29] = (uint8_t)(seq >> 16);
	buf[30] = (uint8_t)(seq >> 8);
	buf[31] = (uint8_t)seq;
}

/* Writes packet @seq into @from's device; TRUE when @to's device gave it back (bounded). */
static gboolean
cross(Side *from, Side *to, uint32_t seq)
{
	uint8_t pkt[200], got[2048];
	gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

	make_packet(pkt, seq);
	g_assert_cmpint(write(from->dev_peer, pkt, sizeof(pkt)), ==, (ssize_t)sizeof(pkt));
	while (g_get_monotonic_time() < deadline) {
		struct pollfd pfd = {.fd = to->dev_peer, .events = POLLIN};
		ssize_t n;

		/* The TLS path and the events run on the main loop. */
		while (g_main_context_iteration(NULL, FALSE))
			;
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		n = read(to->dev_peer, got, sizeof(got));
		if (n == (ssize_t)sizeof(pkt) && memcmp(got, pkt, sizeof(pkt)) == 0)
			return TRUE;
	}
	return FALSE;
}

/* Turns the main loop until both links send over @path (bounded). */
static void
wait_path(Side *a, Side *b, TrPath path)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_MS * 1000;

	while ((tr_link_get_path(a->link) != path || tr_link_get_path(b->link) != path) &&
	       g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpstr(tr_path_name(tr_link_get_path(a->link)), ==, tr_path_name(path));
	g_assert_cmpstr(tr_path_name(tr_link_get_path(b->link)), ==, tr_path_name(path));
}

static void
test_udp(void)
{
	Side a, b;
	g_autoptr(GString) json = g_string_new(NULL);
	gboolean first = TRUE;

	pair_open(&a, &b, TRUE, 0);
	/* Each side's PING is heard, each tells the other with PATH: UDP both ways. */
	wait_path(&a, &b, TR_PATH_UDP);
	g_assert_cmpint(a.path, ==, TR_PATH_UDP);
	g_assert_true(cross(&a, &b, 1));
	g_assert_true(cross(&b, &a, 2));
	g_assert_cmpuint(tr_link_get_stats(a.link)->tcp_data_sent, ==, 0);
	tr_link_stats_json(a.link, json, &first);
	g_assert_nonnull(strstr(json->str, "\"path\":\"udp\""));
	g_assert_nonnull(strstr(json->str, "\"cipher\":\"aes256-gcm\""));
	side_close(&a);
	side_close(&b);
}

static void
test_tls_path(void)
{
	Side a, b;

	pair_open(&a, &b, FALSE, 0);
	wait_path(&a, &b, TR_PATH_TCP);
	g_assert_true(cross(&a, &b, 3));
	g_assert_true(cross(&b, &a, 4));
	g_assert_cmpuint(tr_link_get_stats(a.link)->tcp_data_sent, ==, 1);
	g_assert_cmpuint(tr_link_get_stats(b.link)->tcp_data_sent, ==, 1);
	side_close(&a);
	side_close(&b);
}

/* A key that wants replacing after 8 packets: REKEY, REKEY_ACK, and traffic goes on. */
static void
test_rekey(void)
{
	Side a, b;
	uint32_t epoch = 0;
	gint64 deadline;

	pair_open(&a, &b, TRUE, 8);
	wait_path(&a, &b, TR_PATH_UDP);
	for (uint32_t i = 0; i < 12; i++)
		g_assert_true(cross(&a, &b, 10 + i));
	deadline = g_get_monotonic_time() + WAIT_MS * 1000;
	while ((tr_link_get_stats(a.link)->rekeys == 0 || tr_link_get_stats(b.link)->rekeys == 0) &&
	       g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(tr_link_get_stats(a.link)->rekeys, >=, 1);
	g_assert_cmpuint(tr_link_get_stats(b.link)->rekeys, >=, 1);
	g_assert_true(tr_dc_current_epoch(tr_link_get_dc(a.link), &epoch));
	g_assert_cmpuint(epoch, >=, 1);
	g_assert_true(cross(&a, &b, 100));
	g_assert_true(cross(&b, &a, 101));
	side_close(&a);
	side_close(&b);
}

static void
test_close(void)
{
	Side a, b;

	pair_open(&a, &b, TRUE, 0);
	wait_path(&a, &b, TR_PATH_UDP);
	tr_link_close(a.link, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN, NULL);
	run_until(&b.closed);
	g_assert_false(tr_link_is_active(b.link));
	side_close(&a);
	side_close(&b);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/link/udp", test_udp);
	g_test_add_func("/link/tls-path", test_tls_path);
	g_test_add_func("/link/rekey", test_rekey);
	g_test_add_func("/link/close", test_close);
	return g_test_run();
}
