/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/datapath/route.h"

#include "platform/net.h"

#include <string.h>

static void
add(TrRouteBuilder *b, const char *text, uint32_t peer, TrRouteOrigin origin, TrRouteAdd expect,
    uint32_t expect_other)
{
	g_autoptr(GError) error = NULL;
	TrPrefix p;
	TrRouteAdd res;
	uint32_t other = 12345;

	g_assert_true(tr_prefix_parse(text, TR_PREFIX_ALLOW_HOST_BITS, &p, &error));
	g_assert_true(tr_route_builder_add(b, &p, peer, origin, &res, &other, &error));
	g_assert_no_error(error);
	g_assert_cmpint(res, ==, expect);
	if (expect == TR_ROUTE_SHADOWED || expect == TR_ROUTE_TAKES_OVER)
		g_assert_cmpuint(other, ==, expect_other);
}

/* The peer @addr routes to, or -1. */
static int64_t
lookup(const TrRouteTable *t, const char *addr, unsigned *plen)
{
	TrPrefix p;
	uint32_t peer;

	g_assert_true(tr_prefix_parse(addr, 0, &p, NULL));
	if (!tr_route_lookup(t, (TrAddrFamily)p.family, p.addr, &peer, plen))
		return -1;
	return peer;
}

static void
test_lpm(void)
{
	g_autoptr(TrRouteBuilder) b = tr_route_builder_new();
	g_autoptr(TrRouteTable) t = NULL;
	unsigned plen = 0;

	add(b, "0.0.0.0/0", 1, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "10.0.0.0/8", 2, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "10.1.0.0/16", 3, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "10.1.2.0/23", 4, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "10.1.2.77/32", 5, TR_ROUTE_ASSIGNED, TR_ROUTE_ADDED, 0);
	add(b, "10.1.3.0/25", 6, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	/* Host bits are masked off. */
	add(b, "172.16.9.9/12", 7, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "fd00::/8", 10, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "fd00:7472::/64", 11, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "fd00:7472::5/128", 12, TR_ROUTE_ASSIGNED, TR_ROUTE_ADDED, 0);
	add(b, "fd00:7472:0:0:8000::/65", 13, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "02:00:00:00:00:00/8", 20, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "02:00:5e:00:00:00/24", 21, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "02:00:5e:10:00:01/48", 22, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	t = tr_route_table_build(b);
	g_assert_cmpuint(tr_route_table_size(t), ==, 14);

	g_assert_cmpint(lookup(t, "10.1.2.77", &plen), ==, 5);
	g_assert_cmpuint(plen, ==, 32);
	g_assert_cmpint(lookup(t, "10.1.2.78", &plen), ==, 4);
	g_assert_cmpuint(plen, ==, 23);
	g_assert_cmpint(lookup(t, "10.1.3.1", NULL), ==, 6);
	g_assert_cmpint(lookup(t, "10.1.3.128", NULL), ==, 4);
	g_assert_cmpint(lookup(t, "10.1.4.1", NULL), ==, 3);
	g_assert_cmpint(lookup(t, "10.200.0.1", NULL), ==, 2);
	g_assert_cmpint(lookup(t, "172.31.255.255", NULL), ==, 7);
	g_assert_cmpint(lookup(t, "172.32.0.0", &plen), ==, 1);
	g_assert_cmpuint(plen, ==, 0);

	g_assert_cmpint(lookup(t, "fd00:7472::5", NULL), ==, 12);
	g_assert_cmpint(lookup(t, "fd00:7472::6", NULL), ==, 11);
	g_assert_cmpint(lookup(t, "fd00:7472::8000:0:0:1", &plen), ==, 13);
	g_assert_cmpuint(plen, ==, 65);
	g_assert_cmpint(lookup(t, "fd00:7473::1", NULL), ==, 10);
	g_assert_cmpint(lookup(t, "fe80::1", NULL), ==, -1);

	g_assert_cmpint(lookup(t, "02:00:5e:10:00:01", NULL), ==, 22);
	g_assert_cmpint(lookup(t, "02:00:5e:10:00:02", NULL), ==, 21);
	g_assert_cmpint(lookup(t, "02:11:22:33:44:55", NULL), ==, 20);
	g_assert_cmpint(lookup(t, "04:00:5e:10:00:01", NULL), ==, -1);
}

/* Many prefixes of one length: every one found, their neighbours not. */
static void
test_many(void)
{
	g_autoptr(TrRouteBuilder) b = tr_route_builder_new();
	g_autoptr(TrRouteTable) t = NULL;

	for (uint32_t i = 0; i < 5000; i++) {
		TrPrefix p = {.family = TR_ADDR_IPV4, .len = 30};
		uint32_t a = htonl(0x0a000000u + i * 4);

		memcpy(p.addr, &a, 4);
		g_assert_true(
		        tr_route_builder_add(b, &p, i + 1, TR_ROUTE_CLAIMED, NULL, NULL, NULL));
	}
	t = tr_route_table_build(b);
	for (uint32_t i = 0; i < 5000; i++) {
		uint32_t a = htonl(0x0a000000u + i * 4 + 3), peer = 0;

		g_assert_true(tr_route_lookup(t, TR_ADDR_IPV4, (uint8_t *)&a, &peer, NULL));
		g_assert_cmpuint(peer, ==, i + 1);
	}
	{
		uint32_t a = htonl(0x0a000000u + 5000 * 4), peer;
		g_assert_false(tr_route_lookup(t, TR_ADDR_IPV4, (uint8_t *)&a, &peer, NULL));
	}
}

static void
collect(const TrPrefix *p, uint32_t winner, uint32_t loser, void *data)
{
	char buf[TR_PREFIX_STRLEN];

	g_string_append_printf(data, "%s:%u>%u ", tr_prefix_to_string(p, buf, sizeof(buf)), winner,
	                       loser);
}

static void
test_conflicts(void)
{
	g_autoptr(TrRouteBuilder) b = tr_route_builder_new();
	g_autoptr(GString) s = g_string_new("");
	TrRouteTable *t;

	/* Earlier claim wins, whatever the peer ids. */
	add(b, "192.168.1.0/24", 7, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "192.168.1.0/24", 3, TR_ROUTE_CLAIMED, TR_ROUTE_SHADOWED, 7);
	add(b, "192.168.1.0/24", 9, TR_ROUTE_CLAIMED, TR_ROUTE_SHADOWED, 7);
	add(b, "192.168.1.0/24", 7, TR_ROUTE_CLAIMED, TR_ROUTE_EXISTS, 0);
	/* An assigned address beats a claim made before it. */
	add(b, "198.19.0.5/32", 4, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "198.19.0.5/32", 5, TR_ROUTE_ASSIGNED, TR_ROUTE_TAKES_OVER, 4);
	add(b, "198.19.0.5/32", 6, TR_ROUTE_CLAIMED, TR_ROUTE_SHADOWED, 5);
	/* Same network, different spelling: a conflict; different lengths: not. */
	add(b, "fd01::1/64", 1, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "fd01::/64", 2, TR_ROUTE_CLAIMED, TR_ROUTE_SHADOWED, 1);
	add(b, "fd01::/63", 2, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	g_assert_cmpuint(tr_route_builder_size(b), ==, 9);

	g_assert_cmpuint(tr_route_builder_foreach_conflict(b, collect, s), ==, 5);
	g_assert_cmpstr(s->str, ==,
	                "198.19.0.5/32:5>4 198.19.0.5/32:5>6 192.168.1.0/24:7>3 "
	                "192.168.1.0/24:7>9 fd01::/64:1>2 ");

	t = tr_route_table_build(b);
	g_assert_cmpint(lookup(t, "192.168.1.1", NULL), ==, 7);
	g_assert_cmpint(lookup(t, "198.19.0.5", NULL), ==, 5);
	g_assert_cmpint(lookup(t, "fd01::2", NULL), ==, 1);
	tr_route_table_free(t);

	/* The winner leaves: the next claim in line takes over. */
	g_assert_cmpuint(tr_route_builder_remove_peer(b, 7), ==, 1);
	g_assert_cmpuint(tr_route_builder_remove_peer(b, 5), ==, 1);
	g_assert_cmpuint(tr_route_builder_remove_peer(b, 5), ==, 0);
	{
		TrPrefix p;
		g_assert_true(tr_prefix_parse("fd01::/64", 0, &p, NULL));
		g_assert_true(tr_route_builder_remove(b, &p, 1));
		g_assert_false(tr_route_builder_remove(b, &p, 1));
	}
	t = tr_route_table_build(b);
	g_assert_cmpint(lookup(t, "192.168.1.1", NULL), ==, 3);
	g_assert_cmpint(lookup(t, "198.19.0.5", NULL), ==, 4);
	g_assert_cmpint(lookup(t, "fd01::2", NULL), ==, 2);
	tr_route_table_free(t);
	g_string_truncate(s, 0);
	g_assert_cmpuint(tr_route_builder_foreach_conflict(b, collect, s), ==, 2);
	g_assert_cmpstr(s->str, ==, "198.19.0.5/32:4>6 192.168.1.0/24:3>9 ");

	/* A peer claiming what it was assigned: still one route. */
	add(b, "198.19.0.9/32", 8, TR_ROUTE_CLAIMED, TR_ROUTE_ADDED, 0);
	add(b, "198.19.0.9/32", 8, TR_ROUTE_ASSIGNED, TR_ROUTE_EXISTS, 0);
	/* A later assignment still takes over from the claims in place. */
	add(b, "198.19.0.5/32", 8, TR_ROUTE_ASSIGNED, TR_ROUTE_TAKES_OVER, 4);
}

/* A route a hub pushes leads to the hub only until a node claims it. */
static void
test_fallback(void)
{
	g_autoptr(TrRouteBuilder) b = tr_route_builder_new();
	TrRouteTable *t;

	add(b, "198.19.50.0/24", 0, TR_ROUTE_FALLBACK, TR_ROUTE_ADDED, 0);
	t = tr_route_table_build(b);
	g_assert_cmpint(lookup(t, "198.19.50.2", NULL), ==, 0);
	tr_route_table_free(t);
	add(b, "198.19.50.0/24", 4, TR_ROUTE_CLAIMED, TR_ROUTE_TAKES_OVER, 0);
	/* A later fallback does not take a claim back either. */
	add(b, "198.19.50.0/24", 0, TR_ROUTE_FALLBACK, TR_ROUTE_EXISTS, 0);
	t = tr_route_table_build(b);
	g_assert_cmpint(lookup(t, "198.19.50.2", NULL), ==, 4);
	tr_route_table_free(t);
	/* The claimant leaves: back to the fallback. */
	g_assert_cmpuint(tr_route_builder_remove_peer(b, 4), ==, 1);
	t = tr_route_table_build(b);
	g_assert_cmpint(lookup(t, "198.19.50.2", NULL), ==, 0);
	tr_route_table_free(t);
}

static void
test_invalid(void)
{
	g_autoptr(TrRouteBuilder) b = tr_route_builder_new();
	g_autoptr(GError) error = NULL;
	TrPrefix p = {.family = TR_ADDR_IPV4, .len = 33};
	uint32_t peer;
	uint8_t a[16] = {10};

	g_assert_false(tr_route_builder_add(b, &p, 1, TR_ROUTE_CLAIMED, NULL, NULL, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	g_clear_error(&error);
	p.family = 5;
	p.len = 8;
	g_assert_false(tr_route_builder_add(b, &p, 1, TR_ROUTE_CLAIMED, NULL, NULL, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	g_assert_false(tr_route_lookup(NULL, TR_ADDR_IPV4, a, &peer, NULL));

	/* An empty table finds nothing, and a bad family finds nothing. */
	{
		g_autoptr(TrRouteTable) t = tr_route_table_build(b);
		g_assert_cmpuint(tr_route_table_size(t), ==, 0);
		g_assert_false(tr_route_lookup(t, TR_ADDR_IPV4, a, &peer, NULL));
		g_assert_false(tr_route_lookup(t, TR_ADDR_NONE, a, &peer, NULL));
	}
}

/* The model of /route/churn: who claims prefix i, with what origin, in what order. */
typedef struct {
	uint8_t origin[9]; /* per peer 1..8; 0 = no claim */
	uint64_t seq[9];
} Model;

#define CHURN_PREFIXES 400

static void
churn_prefix(guint i, TrPrefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = TR_ADDR_IPV4;
	p->addr[0] = 198;
	p->addr[1] = 19;
	if (i < CHURN_PREFIXES / 2) { /* host routes in 198.19.0.0/16 */
		p->len = 32;
		p->addr[2] = (uint8_t)(i / 7);
		p->addr[3] = (uint8_t)(i * 37);
	} else { /* /24s in 198.18.0.0/16, none containing a host route */
		p->len = 24;
		p->addr[1] = 18;
		p->addr[2] = (uint8_t)(i - CHURN_PREFIXES / 2);
	}
}

/* Every prefix of the churn routes to its winner in @t (-1: none). */
static void
churn_check(const TrRouteTable *t, const int64_t *want)
{
	guint routes = 0;

	for (guint k = 0; k < CHURN_PREFIXES; k++) {
		uint32_t got;
		unsigned plen = 0;
		TrPrefix p;

		churn_prefix(k, &p);
		if (p.len == 24)
			p.addr[3] = 77;
		routes += want[k] >= 0;
		if (want[k] < 0) {
			g_assert_false(tr_route_lookup(t, TR_ADDR_IPV4, p.addr, &got, &plen));
		} else {
			g_assert_true(tr_route_lookup(t, TR_ADDR_IPV4, p.addr, &got, &plen));
			g_assert_cmpuint(got, ==, want[k]);
			g_assert_cmpuint(plen, ==, p.len);
		}
	}
	g_assert_cmpuint(tr_route_table_size(t), ==, routes);
}

/* Claims and releases in random order: after every step the table built
 * (a snapshot of the one the builder keeps up to date claim by claim) routes
 * every prefix to the winner a brute-force model names, and the table built
 * before the step still routes as it did (built tables share the builder's
 * chunks until it changes them). */
static void
test_churn(void)
{
	g_autoptr(TrRouteBuilder) b = tr_route_builder_new();
	g_autoptr(GRand) rand = g_rand_new_with_seed(24);
	g_autofree Model *m = g_new0(Model, CHURN_PREFIXES);
	int64_t want[CHURN_PREFIXES], prev_want[CHURN_PREFIXES];
	g_autoptr(TrRouteTable) prev = NULL;
	uint64_t seq = 0;

	for (guint step = 0; step < 3000; step++) {
		guint i = (guint)g_rand_int_range(rand, 0, CHURN_PREFIXES);
		uint32_t peer = (uint32_t)g_rand_int_range(rand, 1, 9);
		guint op = (guint)g_rand_int_range(rand, 0, 100);
		TrRouteTable *t;
		TrPrefix p;

		churn_prefix(i, &p);
		if (op < 60) {
			uint8_t origin = (uint8_t)g_rand_int_range(rand, 0, 3);

			g_assert_true(tr_route_builder_add(b, &p, peer, (TrRouteOrigin)origin, NULL,
			                                   NULL, NULL));
			if (m[i].origin[peer] == 0)
				m[i].seq[peer] = seq++;
			m[i].origin[peer] = MAX(m[i].origin[peer], origin + 1);
		} else if (op < 90) {
			g_assert_cmpint(tr_route_builder_remove(b, &p, peer), ==,
			                m[i].origin[peer] != 0);
			m[i].origin[peer] = 0;
		} else {
			guint n = 0;

			for (guint k = 0; k < CHURN_PREFIXES; k++) {
				n += m[k].origin[peer] != 0;
				m[k].origin[peer] = 0;
			}
			g_assert_cmpuint(tr_route_builder_remove_peer(b, peer), ==, n);
		}

		for (guint k = 0; k < CHURN_PREFIXES; k++) {
			want[k] = -1;
			for (uint32_t q = 1; q <= 8; q++) {
				if (m[k].origin[q] == 0)
					continue;
				if (want[k] < 0 || m[k].origin[q] > m[k].origin[want[k]] ||
				    (m[k].origin[q] == m[k].origin[want[k]] &&
				     m[k].seq[q] < m[k].seq[want[k]]))
					want[k] = q;
			}
		}
		t = tr_route_table_build(b);
		churn_check(t, want);
		if (prev)
			churn_check(prev, prev_want);
		tr_route_table_free(prev);
		prev = t;
		memcpy(prev_want, want, sizeof(want));
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/route/lpm", test_lpm);
	g_test_add_func("/route/many", test_many);
	g_test_add_func("/route/conflicts", test_conflicts);
	g_test_add_func("/route/fallback", test_fallback);
	g_test_add_func("/route/invalid", test_invalid);
	g_test_add_func("/route/churn", test_churn);
	return g_test_run();
}
