/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hub's pair sessions and their relay, over real UDP sockets on
 * loopback: client A sends a relay frame to the hub's socket, the hub asks
 * its pair table where it goes and sends it on; client B must receive the
 * very bytes A sent. Strangers, unknown pairs, malformed frames, the rate
 * limit, clients on the TLS fallback and clients that leave are checked too.
 */
#include "common/base/error.h"
#include "common/ctrl/msg.h"
#include "common/mesh/relay.h"
#include "server/pairs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#define SEC G_USEC_PER_SEC

typedef struct {
	int fd;
	struct sockaddr_in addr;
} Sock;

static Sock
udp_socket(void)
{
	Sock s = {.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
	socklen_t len = sizeof(s.addr);

	g_assert_cmpint(s.fd, >=, 0);
	s.addr.sin_family = AF_INET;
	s.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(s.fd, (struct sockaddr *)&s.addr, sizeof(s.addr)), ==, 0);
	g_assert_cmpint(getsockname(s.fd, (struct sockaddr *)&s.addr, &len), ==, 0);
	return s;
}

/* One datagram, waiting at most a second. */
static gssize
receive(int fd, uint8_t *buf, size_t len, struct sockaddr_storage *from)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	socklen_t flen = sizeof(*from);

	if (poll(&pfd, 1, 1000) != 1)
		return -1;
	return recvfrom(fd, buf, len, 0, (struct sockaddr *)from, &flen);
}

/* A relay frame for @id around a well-formed sealed datagram of @n bytes. */
static size_t
frame(uint8_t *out, uint32_t id, size_t n, uint8_t fill)
{
	TrMagic magic = TR_MAGIC_DEFAULT;

	tr_relay_write_header(out, &magic, id);
	memset(out + TR_RELAY_HEADER_LEN, fill, n);
	memcpy(out + TR_RELAY_HEADER_LEN, magic.bytes, 4);
	out[TR_RELAY_HEADER_LEN + 4] = 1; /* DATA */
	return TR_RELAY_HEADER_LEN + n;
}

typedef struct {
	TrHubPairs *pairs;
	Sock hub, a, b, stranger;
	int member_a, member_b, member_c; /* their addresses are the members */
} Fixture;

static void
set_up(Fixture *f, gconstpointer data)
{
	TrMagic magic = TR_MAGIC_DEFAULT;
	const TrHubPairsLimits *limits = data;

	f->pairs = tr_hub_pairs_new(&magic, limits);
	f->hub = udp_socket();
	f->a = udp_socket();
	f->b = udp_socket();
	f->stranger = udp_socket();
	tr_hub_pairs_set_endpoint(f->pairs, &f->member_a, (struct sockaddr *)&f->a.addr,
	                          sizeof(f->a.addr));
	tr_hub_pairs_set_endpoint(f->pairs, &f->member_b, (struct sockaddr *)&f->b.addr,
	                          sizeof(f->b.addr));
}

static void
tear_down(Fixture *f, gconstpointer data)
{
	(void)data;
	tr_hub_pairs_free(f->pairs);
	close(f->hub.fd);
	close(f->a.fd);
	close(f->b.fd);
	close(f->stranger.fd);
}

/* What the hub does with one datagram on its socket: returns the relay's verdict. */
static int
hub_forward(Fixture *f, gint64 now)
{
	uint8_t buf[70000];
	struct sockaddr_storage from;
	TrHubRelayDest dest;
	gssize n = receive(f->hub.fd, buf, sizeof(buf), &from);
	int rc;

	g_assert_cmpint(n, >, 0);
	rc = tr_hub_pairs_relay(f->pairs, buf, (size_t)n, (struct sockaddr *)&from, NULL, now,
	                        &dest);
	if (rc == 0) {
		g_assert_cmpuint(dest.addr_len, >, 0);
		g_assert_cmpint(sendto(f->hub.fd, buf, (size_t)n, 0, (struct sockaddr *)&dest.addr,
		                       dest.addr_len),
		                ==, n);
	}
	return rc;
}

static const TrHubPairsLimits open_limits = {.relay = TRUE};
static const TrHubPairsLimits rate_limits = {.relay = TRUE, .rate = 10000, .burst = 3000};
static const TrHubPairsLimits no_relay = {.relay = FALSE};

static void
test_byte_for_byte(Fixture *f, gconstpointer data)
{
	uint8_t out[2000], in[2000];
	struct sockaddr_storage from;
	gboolean is_new = FALSE;
	g_autoptr(GError) error = NULL;
	uint32_t id = tr_hub_pairs_open(f->pairs, &f->member_a, &f->member_b, 0, &is_new, &error);
	TrHubPairsCounters c;
	size_t n;

	(void)data;
	g_assert_no_error(error);
	g_assert_cmpuint(id, !=, 0);
	g_assert_true(is_new);
	/* Asked again, from either side: the same pair, not a new one. */
	g_assert_cmpuint(tr_hub_pairs_open(f->pairs, &f->member_b, &f->member_a, 0, &is_new, NULL),
	                 ==, id);
	g_assert_false(is_new);
	g_assert_true(tr_hub_pairs_other(f->pairs, id, &f->member_a) == &f->member_b);
	g_assert_null(tr_hub_pairs_other(f->pairs, id, &f->member_c));

	/* A -> hub -> B, and back, byte for byte. */
	for (unsigned round = 0; round < 2; round++) {
		Sock *src = round == 0 ? &f->a : &f->b, *dst = round == 0 ? &f->b : &f->a;
		gssize got;

		n = frame(out, id, 1400, (uint8_t)(0x40 + round));
		g_assert_cmpint(sendto(src->fd, out, n, 0, (struct sockaddr *)&f->hub.addr,
		                       sizeof(f->hub.addr)),
		                ==, (gssize)n);
		g_assert_cmpint(hub_forward(f, 0), ==, 0);
		got = receive(dst->fd, in, sizeof(in), &from);
		g_assert_cmpint(got, ==, (gssize)n);
		g_assert_cmpmem(in, (size_t)got, out, n);
		g_assert_cmpuint(((struct sockaddr_in *)&from)->sin_port, ==, f->hub.addr.sin_port);
	}

	/* A stranger sending the same frame gets nowhere. */
	g_assert_cmpint(sendto(f->stranger.fd, out, n, 0, (struct sockaddr *)&f->hub.addr,
	                       sizeof(f->hub.addr)),
	                ==, (gssize)n);
	g_assert_cmpint(hub_forward(f, 0), ==, -EPERM);
	/* Nor does a frame for a pair that does not exist, or a malformed one. */
	n = frame(out, id ^ 1, 100, 0);
	sendto(f->a.fd, out, n, 0, (struct sockaddr *)&f->hub.addr, sizeof(f->hub.addr));
	g_assert_cmpint(hub_forward(f, 0), ==, -ESRCH);
	n = frame(out, id, 100, 0);
	out[TR_RELAY_HEADER_LEN + 4] = 9; /* not a data-channel type */
	sendto(f->a.fd, out, n, 0, (struct sockaddr *)&f->hub.addr, sizeof(f->hub.addr));
	g_assert_cmpint(hub_forward(f, 0), ==, -EBADMSG);

	tr_hub_pairs_counters(f->pairs, &c);
	g_assert_cmpuint(c.relayed, ==, 2);
	g_assert_cmpuint(c.relayed_bytes, ==, 2 * (1400 + TR_RELAY_HEADER_LEN));
	g_assert_cmpuint(c.stranger, ==, 1);
	g_assert_cmpuint(c.unknown, ==, 1);
	g_assert_cmpuint(c.malformed, ==, 1);
}

static void
test_rate(Fixture *f, gconstpointer data)
{
	uint8_t out[2000];
	gboolean is_new;
	uint32_t id = tr_hub_pairs_open(f->pairs, &f->member_a, &f->member_b, 0, &is_new, NULL);
	size_t n = frame(out, id, 988, 1); /* 1000 bytes */
	TrHubRelayDest dest;
	unsigned passed = 0;

	(void)data;
	/* Burst 3000, 10000 bytes a second. */
	for (unsigned i = 0; i < 10; i++)
		passed += tr_hub_pairs_relay(f->pairs, out, n, (struct sockaddr *)&f->a.addr, NULL,
		                             0, &dest) == 0;
	g_assert_cmpuint(passed, ==, 3);
	g_assert_cmpint(
	        tr_hub_pairs_relay(f->pairs, out, n, (struct sockaddr *)&f->b.addr, NULL, 0, &dest),
	        ==, -ENOBUFS);
	/* A second later, 10000 more bytes (but never more than the burst at once). */
	passed = 0;
	for (unsigned i = 0; i < 10; i++)
		passed += tr_hub_pairs_relay(f->pairs, out, n, (struct sockaddr *)&f->a.addr, NULL,
		                             SEC, &dest) == 0;
	g_assert_cmpuint(passed, ==, 3);
}

static void
test_disabled(Fixture *f, gconstpointer data)
{
	uint8_t out[2000];
	gboolean is_new;
	uint32_t id = tr_hub_pairs_open(f->pairs, &f->member_a, &f->member_b, 0, &is_new, NULL);
	size_t n = frame(out, id, 100, 1);
	TrHubRelayDest dest;

	(void)data;
	g_assert_cmpint(
	        tr_hub_pairs_relay(f->pairs, out, n, (struct sockaddr *)&f->a.addr, NULL, 0, &dest),
	        ==, -EACCES);
}

static void
test_tls_fallback(Fixture *f, gconstpointer data)
{
	uint8_t out[200];
	gboolean is_new;
	uint32_t id = tr_hub_pairs_open(f->pairs, &f->member_a, &f->member_b, 0, &is_new, NULL);
	size_t n = frame(out, id, 100, 1);
	TrHubRelayDest dest;

	(void)data;
	/* B's UDP does not reach the hub: frames to it go on its TLS connection... */
	tr_hub_pairs_set_endpoint(f->pairs, &f->member_b, NULL, 0);
	g_assert_cmpint(
	        tr_hub_pairs_relay(f->pairs, out, n, (struct sockaddr *)&f->a.addr, NULL, 0, &dest),
	        ==, 0);
	g_assert_true(dest.member == &f->member_b);
	g_assert_cmpuint(dest.addr_len, ==, 0);
	/* ...and frames from it arrive as RELAY messages, named by its connection. */
	g_assert_cmpint(tr_hub_pairs_relay(f->pairs, out, n, NULL, &f->member_b, 0, &dest), ==, 0);
	g_assert_true(dest.member == &f->member_a);
	g_assert_cmpuint(dest.addr_len, ==, sizeof(f->a.addr));
	/* A connection that is not in the pair gets nowhere. */
	g_assert_cmpint(tr_hub_pairs_relay(f->pairs, out, n, NULL, &f->member_c, 0, &dest), ==,
	                -EPERM);
	/* B's old endpoint is nobody's now. */
	g_assert_cmpint(
	        tr_hub_pairs_relay(f->pairs, out, n, (struct sockaddr *)&f->b.addr, NULL, 0, &dest),
	        ==, -EPERM);
}

static void
test_handshake_budget(Fixture *f, gconstpointer data)
{
	gboolean is_new;
	uint32_t id = tr_hub_pairs_open(f->pairs, &f->member_a, &f->member_b, 0, &is_new, NULL);
	g_autoptr(GError) error = NULL;
	size_t sent = 0;

	(void)data;
	/* A real handshake with certificates is a few KiB; 64 KiB is the cap. */
	while (sent + 16384 <= TR_HUB_PAIR_TLS_BUCKET) {
		g_assert_true(tr_hub_pairs_tls(f->pairs, id, &f->member_a, 16384, 0, &error));
		sent += 16384;
	}
	g_assert_false(tr_hub_pairs_tls(f->pairs, id, &f->member_b, 16384, 0, &error));
	g_assert_nonnull(strstr(error->message, "more TLS bytes than a handshake takes"));
	g_clear_error(&error);
	/* Later, rekeying trickles through. */
	g_assert_true(tr_hub_pairs_tls(f->pairs, id, &f->member_b, 500, 10 * SEC, &error));
	g_assert_false(tr_hub_pairs_tls(f->pairs, id, &f->member_c, 10, 10 * SEC, &error));
	g_assert_nonnull(strstr(error->message, "which this client is not in"));
}

static void
test_lifetime(Fixture *f, gconstpointer data)
{
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	g_autoptr(GPtrArray) others = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	gboolean is_new;
	int members[70];
	uint32_t ab, ac, bc;

	(void)data;
	ab = tr_hub_pairs_open(f->pairs, &f->member_a, &f->member_b, 0, &is_new, NULL);
	ac = tr_hub_pairs_open(f->pairs, &f->member_a, &f->member_c, 0, &is_new, NULL);
	bc = tr_hub_pairs_open(f->pairs, &f->member_b, &f->member_c, 0, &is_new, NULL);
	g_assert_cmpuint(tr_hub_pairs_count(f->pairs), ==, 3);
	g_assert_true(ab != ac && ac != bc && ab != bc);
	g_assert_cmpuint(
	        tr_hub_pairs_open(f->pairs, &f->member_a, &f->member_a, 0, &is_new, &error), ==, 0);
	g_clear_error(&error);

	/* A leaves: its two pairs end, the peers are named; B-C stays. */
	tr_hub_pairs_member_gone(f->pairs, &f->member_a, ids, others);
	g_assert_cmpuint(ids->len, ==, 2);
	g_assert_cmpuint(tr_hub_pairs_count(f->pairs), ==, 1);
	g_assert_null(tr_hub_pairs_other(f->pairs, ab, &f->member_b));
	g_assert_true(tr_hub_pairs_other(f->pairs, bc, &f->member_b) == &f->member_c);
	g_assert_true((others->pdata[0] == &f->member_b && others->pdata[1] == &f->member_c) ||
	              (others->pdata[0] == &f->member_c && others->pdata[1] == &f->member_b));
	g_assert_true(tr_hub_pairs_close(f->pairs, bc));
	g_assert_false(tr_hub_pairs_close(f->pairs, bc));
	g_assert_cmpuint(tr_hub_pairs_count(f->pairs), ==, 0);

	/* One client cannot open pairs without bound. */
	for (unsigned i = 0; i < G_N_ELEMENTS(members); i++) {
		uint32_t id =
		        tr_hub_pairs_open(f->pairs, &f->member_a, &members[i], 0, &is_new, &error);
		if (i < TR_HUB_PAIRS_PER_MEMBER) {
			g_assert_no_error(error);
			g_assert_cmpuint(id, !=, 0);
		} else {
			g_assert_cmpuint(id, ==, 0);
			g_assert_nonnull(strstr(error->message, "64 pair sessions already"));
			g_clear_error(&error);
		}
	}
	tr_hub_pairs_member_gone(f->pairs, &f->member_a, NULL, NULL);
	g_assert_cmpuint(tr_hub_pairs_count(f->pairs), ==, 0);
}

/* Pairs across hubs: a hub link is a member of many pairs (one per remote peer), the
 * introducing hub's id is kept, a taken id is refused, and only the client is held to
 * the per-member limit. A frame from the link's endpoint goes to the client. */
static void
test_join(Fixture *f, gconstpointer data)
{
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	g_autoptr(GPtrArray) others = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	int clients[70];
	uint8_t out[200], in[200];
	struct sockaddr_storage from;
	size_t n;
	uint32_t id;

	(void)data;
	/* B is "the link": the pair's id comes from the introducing hub. */
	g_assert_cmpuint(
	        tr_hub_pairs_join(f->pairs, 0x1234, &f->member_a, &f->member_b, TRUE, 0, &error),
	        ==, 0x1234);
	g_assert_no_error(error);
	g_assert_cmpuint(
	        tr_hub_pairs_join(f->pairs, 0x1234, &f->member_c, &f->member_b, TRUE, 0, &error),
	        ==, 0);
	g_assert_nonnull(strstr(error->message, "taken here already"));
	g_clear_error(&error);
	g_assert_cmpuint(tr_hub_pairs_join(f->pairs, UINT32_MAX, &f->member_c, &f->member_b, TRUE,
	                                   0, &error),
	                 ==, 0);
	g_clear_error(&error);
	/* Many clients behind one link: no limit for the link. */
	for (unsigned i = 0; i < G_N_ELEMENTS(clients); i++) {
		id = tr_hub_pairs_join(f->pairs, 0, &clients[i], &f->member_b, TRUE, 0, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(id, !=, 0);
	}
	/* One client, over its limit. */
	for (unsigned i = 0; i < G_N_ELEMENTS(clients); i++) {
		id = tr_hub_pairs_join(f->pairs, 0, &f->member_c, &clients[i], TRUE, 0, &error);
		if (i < TR_HUB_PAIRS_PER_MEMBER)
			g_assert_cmpuint(id, !=, 0);
		else {
			g_assert_cmpuint(id, ==, 0);
			g_assert_nonnull(strstr(error->message, "64 pair sessions already"));
			g_clear_error(&error);
		}
	}

	/* The link's frame, unchanged, to A. */
	n = frame(out, 0x1234, 60, 0x5a);
	g_assert_cmpint(
	        sendto(f->b.fd, out, n, 0, (struct sockaddr *)&f->hub.addr, sizeof(f->hub.addr)),
	        ==, (gssize)n);
	g_assert_cmpint(hub_forward(f, 0), ==, 0);
	g_assert_cmpint(receive(f->a.fd, in, sizeof(in), &from), ==, (gssize)n);
	g_assert_cmpmem(in, n, out, n);

	/* The link goes: every pair through it ends, each other member named. */
	tr_hub_pairs_member_gone(f->pairs, &f->member_b, ids, others);
	g_assert_cmpuint(ids->len, ==, 1 + G_N_ELEMENTS(clients));
	g_assert_null(tr_hub_pairs_other(f->pairs, 0x1234, &f->member_a));
}

/*
 * Pairs across hubs on a hub link: announced by a hub with pairs only (not --no-mesh,
 * not the test switch that plays an older hub), carried in the features of a node's
 * HELLO beside the other bits; a link whose peer announced none takes no pair, and
 * says so once, not on every packet that would have started one.
 */
static void
test_link_feature(void)
{
	g_auto(TrMsg) hello = {0};
	g_auto(TrMsg) back = {0};
	g_autoptr(GByteArray) wire = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	TrHubLinkPairs lp;
	gboolean tell = TRUE;
	guint told = 0;

	g_assert_cmpuint(tr_hub_link_pairs_feature(TRUE, FALSE), ==, TR_FEATURE_PAIRS_ACROSS);
	g_assert_cmpuint(tr_hub_link_pairs_feature(FALSE, FALSE), ==, 0);
	g_assert_cmpuint(tr_hub_link_pairs_feature(TRUE, TRUE), ==, 0);
	/* The next free bit: 1..64 mean other things. */
	g_assert_cmpuint(TR_FEATURE_PAIRS_ACROSS, ==, 128);

	/* On the wire, beside a node's other bits. */
	tr_msg_init(&hello, TR_MSG_HELLO);
	tr_msg_set_u32(&hello, TR_ATTR_FEATURES,
	               TR_FEATURE_NODE | TR_FEATURE_UDP | tr_hub_link_pairs_feature(TRUE, FALSE));
	g_assert_true(tr_msg_encode(&hello, wire, &error));
	g_assert_true(tr_msg_parse(wire->data, wire->len, &back, &error));
	g_assert_no_error(error);
	tr_hub_link_pairs_init(&lp, back.features);
	for (guint i = 0; i < 3; i++) {
		g_assert_true(tr_hub_link_pairs_may(&lp, &tell));
		g_assert_false(tell);
	}

	/* A hub of an older version: the same bits without this one. */
	tr_hub_link_pairs_init(&lp, TR_FEATURE_NODE | TR_FEATURE_UDP | TR_FEATURE_TCP_FALLBACK);
	for (guint i = 0; i < 1000; i++) {
		g_assert_false(tr_hub_link_pairs_may(&lp, &tell));
		told += tell;
	}
	g_assert_cmpuint(told, ==, 1);
	/* A new session with it (the link was redialled): said once again. */
	tr_hub_link_pairs_init(&lp, 0);
	g_assert_false(tr_hub_link_pairs_may(&lp, &tell));
	g_assert_true(tell);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, limits, fn) g_test_add(path, Fixture, limits, set_up, fn, tear_down)
	ADD("/hub-pairs/byte-for-byte", &open_limits, test_byte_for_byte);
	ADD("/hub-pairs/rate", &rate_limits, test_rate);
	ADD("/hub-pairs/disabled", &no_relay, test_disabled);
	ADD("/hub-pairs/tls-fallback", &open_limits, test_tls_fallback);
	ADD("/hub-pairs/handshake-budget", &open_limits, test_handshake_budget);
	ADD("/hub-pairs/lifetime", &open_limits, test_lifetime);
	ADD("/hub-pairs/join", &open_limits, test_join);
	g_test_add_func("/hub-pairs/link-feature", test_link_feature);
	return g_test_run();
}
