/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/addr.h"
#include "common/base/error.h"

#include "platform/net.h"

static void
check_roundtrip(const char *in, TrPrefixFlags flags, const char *expect)
{
	g_autoptr(GError) error = NULL;
	char buf[TR_PREFIX_STRLEN];
	TrPrefix p;

	g_assert_true(tr_prefix_parse(in, flags, &p, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(tr_prefix_to_string(&p, buf, sizeof(buf)), ==, expect);
}

static void
check_invalid(const char *in, TrPrefixFlags flags, const char *fragment)
{
	g_autoptr(GError) error = NULL;
	TrPrefix p;

	g_assert_false(tr_prefix_parse(in, flags, &p, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	if (fragment && !strstr(error->message, fragment))
		g_error("message '%s' lacks '%s'", error->message, fragment);
}

static void
test_prefix_parse(void)
{
	check_roundtrip("198.19.0.0/16", 0, "198.19.0.0/16");
	check_roundtrip("198.19.4.5", 0, "198.19.4.5/32");
	check_roundtrip("fd00::/8", 0, "fd00::/8");
	check_roundtrip("fd00:0:0::1", 0, "fd00::1/128");
	check_roundtrip("02:00:5E:10:00:01", 0, "02:00:5e:10:00:01/48");
	check_roundtrip("02-00-5e-10-00-00/40", 0, "02:00:5e:10:00:00/40");
	check_roundtrip("198.19.0.7/24", TR_PREFIX_ALLOW_HOST_BITS, "198.19.0.7/24");
	check_roundtrip("0.0.0.0/0", 0, "0.0.0.0/0");
	check_roundtrip("::/0", TR_PREFIX_REQUIRE_LEN, "::/0");
}

static void
test_prefix_invalid(void)
{
	check_invalid("", 0, "empty");
	check_invalid("198.19.0.7/24", 0, "did you mean 198.19.0.0/24");
	check_invalid("198.19.0.0/33", 0, "0 to 32");
	check_invalid("fd00::/129", 0, "0 to 128");
	check_invalid("198.19.0.0/", 0, "prefix length");
	check_invalid("198.19.0.0/+8", 0, "prefix length");
	check_invalid("198.19.0.0/8x", 0, "prefix length");
	check_invalid("198.19.0.0/ 8", 0, "prefix length");
	check_invalid("198.19.0.0/000000008", 0, "prefix length");
	check_invalid("198.19.0", 0, "not an IPv4");
	check_invalid("02:00:5e:10:00:01", TR_PREFIX_IP_ONLY, "not an IPv4 or IPv6");
	check_invalid("02:00:5e:10:00", 0, NULL);
	check_invalid("198.19.0.1", TR_PREFIX_REQUIRE_LEN, "198.19.0.1/24");
	check_invalid("example.com/24", 0, NULL);
}

static void
test_prefix_contains(void)
{
	TrPrefix net, v6;
	uint8_t a[16];

	g_assert_true(tr_prefix_parse("198.19.128.0/17", 0, &net, NULL));
	inet_pton(AF_INET, "198.19.200.1", a);
	g_assert_true(tr_prefix_contains(&net, TR_ADDR_IPV4, a));
	inet_pton(AF_INET, "198.19.127.255", a);
	g_assert_false(tr_prefix_contains(&net, TR_ADDR_IPV4, a));
	g_assert_false(tr_prefix_contains(&net, TR_ADDR_IPV6, a));

	g_assert_true(tr_prefix_parse("fd00:1::/33", 0, &v6, NULL));
	inet_pton(AF_INET6, "fd00:1:7fff::1", a);
	g_assert_true(tr_prefix_contains(&v6, TR_ADDR_IPV6, a));
	inet_pton(AF_INET6, "fd00:1:8000::1", a);
	g_assert_false(tr_prefix_contains(&v6, TR_ADDR_IPV6, a));
}

static void
test_prefix_mask_equal(void)
{
	TrPrefix a, b;

	g_assert_true(tr_prefix_parse("198.19.7.9/20", TR_PREFIX_ALLOW_HOST_BITS, &a, NULL));
	g_assert_true(tr_prefix_parse("198.19.0.0/20", 0, &b, NULL));
	g_assert_true(tr_prefix_equal(&a, &b));
	tr_prefix_mask(&a);
	g_assert_cmpmem(a.addr, 4, b.addr, 4);
	b.len = 21;
	g_assert_false(tr_prefix_equal(&a, &b));
}

static void
test_hostport(void)
{
	g_autoptr(GError) error = NULL;
	struct {
		const char *in;
		const char *host;
		uint16_t port;
	} good[] = {
	        {"198.18.0.1:4000", "198.18.0.1", 4000},
	        {"198.18.0.1", "198.18.0.1", 3210},
	        {"[fd00::1]:443", "fd00::1", 443},
	        {"[fd00::1]", "fd00::1", 3210},
	        {"fd00::1", "fd00::1", 3210},
	        {"hub.example.net:1", "hub.example.net", 1},
	};
	const char *bad[] = {"",   "[fd00::1", "[]:5",  "[fd00::1]x", "h:0",       "h:65536",
	                     ":5", "h:",       "h:12a", "a b:5",      "[fd00::1]:"};

	for (unsigned i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autofree char *host = NULL;
		uint16_t port = 0;

		g_assert_true(tr_hostport_parse(good[i].in, 3210, &host, &port, &error));
		g_assert_no_error(error);
		g_assert_cmpstr(host, ==, good[i].host);
		g_assert_cmpuint(port, ==, good[i].port);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *host = NULL;
		uint16_t port = 0;

		g_assert_false(tr_hostport_parse(bad[i], 3210, &host, &port, &error));
		g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
		g_clear_error(&error);
	}
}

static void
test_sockaddr(void)
{
	g_autoptr(GError) error = NULL;
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[80];

	g_assert_true(tr_sockaddr_parse("198.18.3.4:5", 3210, &ss, &len, &error));
	g_assert_cmpuint(len, ==, sizeof(struct sockaddr_in));
	g_assert_cmpstr(tr_sockaddr_to_string((struct sockaddr *)&ss, buf, sizeof(buf)), ==,
	                "198.18.3.4:5");
	g_assert_cmpuint(tr_sockaddr_port((struct sockaddr *)&ss), ==, 5);
	tr_sockaddr_set_port((struct sockaddr *)&ss, 40000);
	g_assert_cmpstr(tr_sockaddr_to_string((struct sockaddr *)&ss, buf, sizeof(buf)), ==,
	                "198.18.3.4:40000");
	g_assert_true(tr_sockaddr_parse("fd00::7", 3210, &ss, &len, &error));
	g_assert_cmpuint(len, ==, sizeof(struct sockaddr_in6));
	g_assert_cmpstr(tr_sockaddr_to_string((struct sockaddr *)&ss, buf, sizeof(buf)), ==,
	                "[fd00::7]:3210");
	g_assert_cmpuint(tr_sockaddr_port((struct sockaddr *)&ss), ==, 3210);
	tr_sockaddr_set_port((struct sockaddr *)&ss, 1);
	g_assert_cmpstr(tr_sockaddr_to_string((struct sockaddr *)&ss, buf, sizeof(buf)), ==,
	                "[fd00::7]:1");
	g_assert_true(tr_sockaddr_parse("[::ffff:198.18.0.9]:7", 3210, &ss, &len, &error));
	g_assert_cmpstr(tr_sockaddr_to_string((struct sockaddr *)&ss, buf, sizeof(buf)), ==,
	                "198.18.0.9:7");
	g_assert_false(tr_sockaddr_parse("hub.example.net:5", 3210, &ss, &len, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/addr/prefix/parse", test_prefix_parse);
	g_test_add_func("/addr/prefix/invalid", test_prefix_invalid);
	g_test_add_func("/addr/prefix/contains", test_prefix_contains);
	g_test_add_func("/addr/prefix/mask-equal", test_prefix_mask_equal);
	g_test_add_func("/addr/hostport", test_hostport);
	g_test_add_func("/addr/sockaddr", test_sockaddr);
	return g_test_run();
}
