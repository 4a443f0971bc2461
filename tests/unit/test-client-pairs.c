/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A client's pair sessions: PAIR_START checked as it arrives (encoded and
 * parsed like the wire), routing by the peers' addresses and claimed
 * subnets once a pair is up (longest prefix, stable conflicts), candidate
 * updates, and the ends: idle pairs and handshakes that never finish.
 */
#include "client/pairs.h"
#include "common/base/addr.h"
#include "common/base/error.h"

#include <string.h>

#define SEC G_USEC_PER_SEC

static TrPrefix
prefix(const char *text)
{
	TrPrefix p;
	g_autoptr(GError) error = NULL;

	g_assert_true(tr_prefix_parse(text, 0, &p, &error));
	g_assert_no_error(error);
	return p;
}

/* A PAIR_START as it comes off the wire. */
static void
start_msg(TrMsg *out, uint32_t id, const char *peer, const char *const *addresses,
          const char *const *subnets)
{
	g_auto(TrMsg) m = {0};
	g_autoptr(GByteArray) wire = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	TrCandidate c = {.kind = TR_CANDIDATE_REFLEXIVE,
	                 .family = 4,
	                 .port = 40000,
	                 .addr = {198, 18, 0, 10}};

	tr_msg_init(&m, TR_MSG_PAIR_START);
	tr_msg_set_u32(&m, TR_ATTR_PAIR_ID, id);
	tr_msg_set_string(&m, TR_ATTR_PEER, peer);
	tr_msg_set_u8(&m, TR_ATTR_ROLE, 0);
	tr_msg_set_u8(&m, TR_ATTR_RELAY, 1);
	tr_msg_add_candidate(&m, &c);
	for (; addresses && *addresses; addresses++) {
		TrPrefix p = prefix(*addresses);
		g_assert_true(tr_msg_add_prefix(&m, TR_ATTR_ADDRESS, &p));
	}
	for (; subnets && *subnets; subnets++) {
		TrPrefix p = prefix(*subnets);
		g_assert_true(tr_msg_add_prefix(&m, TR_ATTR_SUBNET, &p));
	}
	g_assert_true(tr_msg_encode(&m, wire, &error));
	g_assert_true(tr_msg_parse(wire->data, wire->len, out, &error));
	g_assert_no_error(error);
}

static gboolean
route(TrRouteTable *t, const char *addr, uint32_t *peer, unsigned *plen)
{
	TrPrefix p = prefix(addr);

	return tr_route_lookup(t, (TrAddrFamily)p.family, p.addr, peer, plen);
}

static void
test_routing(void)
{
	g_autoptr(TrClientPairs) pairs = tr_client_pairs_new();
	const char *addrs[] = {"198.19.0.7/32", "fd00::7/128", NULL};
	const char *subnets[] = {"198.19.50.0/24", NULL};
	g_auto(TrMsg) m = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(TrRouteTable) t0 = NULL, t1 = NULL, t2 = NULL;
	TrClientPair *p;
	uint32_t peer = 0;
	unsigned plen = 0;

	start_msg(&m, 0x102, "bob", addrs, subnets);
	p = tr_client_pairs_start(pairs, &m, 5 * SEC, &error);
	g_assert_no_error(error);
	g_assert_nonnull(p);
	g_assert_cmpstr(p->peer, ==, "bob");
	g_assert_cmpuint(p->candidates.n, ==, 1);
	g_assert_cmpint(p->state, ==, TR_CLIENT_PAIR_HANDSHAKE);
	/* In its handshake a pair routes nothing. */
	g_assert_false(tr_client_pairs_changed(pairs));
	t0 = tr_client_pairs_build(pairs);
	g_assert_false(route(t0, "198.19.0.7", &peer, NULL));

	g_assert_true(tr_client_pairs_up(pairs, 0x102, 6 * SEC));
	g_assert_true(tr_client_pairs_changed(pairs));
	t1 = tr_client_pairs_build(pairs);
	g_assert_false(tr_client_pairs_changed(pairs));
	g_assert_true(route(t1, "198.19.0.7", &peer, &plen));
	g_assert_cmpuint(peer, ==, 0x102);
	g_assert_cmpuint(plen, ==, 32);
	g_assert_true(route(t1, "fd00::7", &peer, NULL));
	g_assert_true(route(t1, "198.19.50.99", &peer, &plen));
	g_assert_cmpuint(plen, ==, 24);
	g_assert_false(route(t1, "198.19.51.1", &peer, NULL));
	g_assert_false(route(t1, "198.19.0.8", &peer, NULL)); /* another client: via the hub */

	/* Ended: nothing routes to it any more. */
	g_assert_true(tr_client_pairs_end(pairs, 0x102));
	g_assert_false(tr_client_pairs_end(pairs, 0x102));
	g_assert_true(tr_client_pairs_changed(pairs));
	t2 = tr_client_pairs_build(pairs);
	g_assert_cmpuint(tr_route_table_size(t2), ==, 0);
}

static void
test_conflicts(void)
{
	g_autoptr(TrClientPairs) pairs = tr_client_pairs_new();
	const char *lan[] = {"198.19.60.0/24", NULL};
	const char *host[] = {"198.19.60.9/32", NULL};
	g_auto(TrMsg) a = {0};
	g_auto(TrMsg) b = {0};
	g_autoptr(TrRouteTable) t = NULL, t2 = NULL;
	uint32_t peer = 0;

	/* Two peers claim one LAN (the hub lets a claim wait behind another, but a
	 * client must still route deterministically); one also has an address in it. */
	start_msg(&a, 9, "carol", host, lan);
	start_msg(&b, 5, "dave", NULL, lan);
	g_assert_nonnull(tr_client_pairs_start(pairs, &a, 0, NULL));
	g_assert_nonnull(tr_client_pairs_start(pairs, &b, 0, NULL));
	tr_client_pairs_up(pairs, 9, 0);
	tr_client_pairs_up(pairs, 5, 0);
	t = tr_client_pairs_build(pairs);
	g_assert_true(route(t, "198.19.60.9", &peer, NULL));
	g_assert_cmpuint(peer, ==, 9); /* the longer prefix */
	g_assert_true(route(t, "198.19.60.1", &peer, NULL));
	g_assert_cmpuint(peer, ==, 5); /* the same claim: the lower pair id, every time */
	tr_client_pairs_end(pairs, 5);
	t2 = tr_client_pairs_build(pairs);
	g_assert_true(route(t2, "198.19.60.1", &peer, NULL));
	g_assert_cmpuint(peer, ==, 9);
}

static void
refused(TrClientPairs *pairs, TrMsg *m, const char *words)
{
	g_autoptr(GError) error = NULL;

	g_assert_null(tr_client_pairs_start(pairs, m, 0, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_PROTOCOL);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, words));
}

static void
test_refusals(void)
{
	g_autoptr(TrClientPairs) pairs = tr_client_pairs_new();
	const char *net_as_address[] = {"198.19.0.0/24", NULL};
	const char *default_route[] = {"0.0.0.0/0", NULL};
	const char *mac[] = {"02:00:00:00:00:01/48", NULL};
	g_auto(TrMsg) m = {0};

	start_msg(&m, 7, "bob", NULL, NULL);
	m.present &= ~((uint64_t)1 << TR_ATTR_ROLE);
	refused(pairs, &m, "lacks the role");
	tr_msg_clear(&m);
	start_msg(&m, 0, "bob", NULL, NULL);
	refused(pairs, &m, "pair id 0 and ffffffff");
	tr_msg_clear(&m);
	start_msg(&m, UINT32_MAX, "bob", NULL, NULL);
	refused(pairs, &m, "pair id 0 and ffffffff");
	tr_msg_clear(&m);
	start_msg(&m, 7, "bob", NULL, NULL);
	m.role = 2;
	refused(pairs, &m, "role must be 0");
	tr_msg_clear(&m);
	start_msg(&m, 7, "bob", net_as_address, NULL);
	refused(pairs, &m, "address 198.19.0.0/24, expected a host address (/32)");
	tr_msg_clear(&m);
	start_msg(&m, 7, "bob", NULL, default_route);
	refused(pairs, &m, "a default route");
	tr_msg_clear(&m);
	start_msg(&m, 7, "bob", NULL, mac);
	refused(pairs, &m, "a MAC address");
	tr_msg_clear(&m);
	start_msg(&m, 7, "bob", NULL, NULL);
	g_assert_nonnull(tr_client_pairs_start(pairs, &m, 0, NULL));
	refused(pairs, &m, "exists already");
	g_assert_cmpuint(tr_client_pairs_count(pairs), ==, 1);

	/* A hub cannot make a client hold pairs without bound. */
	for (uint32_t id = 100; id < 100 + TR_CLIENT_PAIRS_MAX; id++) {
		g_auto(TrMsg) x = {0};
		g_autoptr(GError) error = NULL;

		start_msg(&x, id, "many", NULL, NULL);
		if (tr_client_pairs_count(pairs) < TR_CLIENT_PAIRS_MAX)
			g_assert_nonnull(tr_client_pairs_start(pairs, &x, 0, &error));
		else
			refused(pairs, &x, "too many pair sessions");
	}
}

static void
test_lifetime(void)
{
	g_autoptr(TrClientPairs) pairs = tr_client_pairs_new();
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	g_autoptr(GPtrArray) list = NULL;
	g_auto(TrMsg) a = {0};
	g_auto(TrMsg) b = {0};
	gint64 t0 = 1000 * SEC;

	start_msg(&a, 0x20, "bob", NULL, NULL);
	start_msg(&b, 0x10, "carol", NULL, NULL);
	tr_client_pairs_start(pairs, &a, t0, NULL);
	tr_client_pairs_start(pairs, &b, t0, NULL);
	tr_client_pairs_up(pairs, 0x20, t0 + 1 * SEC);
	tr_client_pairs_touch(pairs, 0x20, t0 + 100 * SEC);
	tr_client_pairs_touch(pairs, 0x20, t0 + 50 * SEC); /* older news changes nothing */

	/* The handshake that never finished goes first, after 10 s. */
	g_assert_cmpint(tr_client_pairs_next_due(pairs), ==, t0 + TR_CLIENT_PAIR_HANDSHAKE_USEC);
	g_assert_cmpuint(tr_client_pairs_due(pairs, t0 + 9 * SEC, ids), ==, 0);
	g_assert_cmpuint(tr_client_pairs_due(pairs, t0 + 10 * SEC, ids), ==, 1);
	g_assert_cmpuint(g_array_index(ids, uint32_t, 0), ==, 0x10);
	tr_client_pairs_end(pairs, 0x10);
	/* The idle one, five minutes after its last traffic. */
	g_assert_cmpint(tr_client_pairs_next_due(pairs), ==,
	                t0 + 100 * SEC + TR_CLIENT_PAIR_IDLE_USEC);
	g_array_set_size(ids, 0);
	g_assert_cmpuint(tr_client_pairs_due(pairs, t0 + 399 * SEC, ids), ==, 0);
	g_assert_cmpuint(tr_client_pairs_due(pairs, t0 + 400 * SEC, ids), ==, 1);

	/* Listed in id order, for status. */
	tr_client_pairs_start(pairs, &b, t0, NULL);
	list = tr_client_pairs_list(pairs);
	g_assert_cmpuint(list->len, ==, 2);
	g_assert_cmpuint(((TrClientPair *)list->pdata[0])->id, ==, 0x10);
	g_assert_cmpuint(((TrClientPair *)list->pdata[1])->id, ==, 0x20);
	tr_client_pairs_end(pairs, 0x10);
	tr_client_pairs_end(pairs, 0x20);
	g_assert_cmpint(tr_client_pairs_next_due(pairs), ==, G_MAXINT64);
}

static void
test_candidates(void)
{
	g_autoptr(TrClientPairs) pairs = tr_client_pairs_new();
	g_auto(TrMsg) start = {0};
	g_auto(TrMsg) upd = {0};
	g_autoptr(GError) error = NULL;
	TrCandidate host = {
	        .kind = TR_CANDIDATE_HOST, .family = 4, .port = 3210, .addr = {198, 19, 1, 5}};
	TrClientPair *p;

	start_msg(&start, 0x30, "bob", NULL, NULL);
	tr_client_pairs_start(pairs, &start, 0, NULL);
	tr_msg_init(&upd, TR_MSG_CANDIDATES);
	tr_msg_set_u32(&upd, TR_ATTR_PAIR_ID, 0x30);
	tr_msg_add_candidate(&upd, &host);
	p = tr_client_pairs_candidates(pairs, &upd, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(p->candidates.n, ==, 1); /* replaced, not added */
	g_assert_cmpuint(p->candidates.items[0].kind, ==, TR_CANDIDATE_HOST);
	upd.pair_id = 0x31;
	g_assert_null(tr_client_pairs_candidates(pairs, &upd, &error));
	g_assert_nonnull(strstr(error->message, "which this client does not have"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/client-pairs/routing", test_routing);
	g_test_add_func("/client-pairs/conflicts", test_conflicts);
	g_test_add_func("/client-pairs/refusals", test_refusals);
	g_test_add_func("/client-pairs/lifetime", test_lifetime);
	g_test_add_func("/client-pairs/candidates", test_candidates);
	return g_test_run();
}
