/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the hub pushed, as NetworkManager's VPN plugin interface takes it. */
#include "gui/networkmanager/ip-config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static TrPrefix
prefix(const char *text)
{
	TrPrefix p;
	g_autoptr(GError) error = NULL;

	g_assert_true(tr_prefix_parse(text, TR_PREFIX_ALLOW_HOST_BITS, &p, &error));
	g_assert_no_error(error);
	return p;
}

static void
settings_init(TrClientSettings *s, gboolean with_default)
{
	static char dns4[] = "198.19.0.53", dns6[] = "fd00:7472::53", domain[] = "trellis.test";
	static char *dns[] = {dns4, dns6, NULL};
	static char *search[] = {domain, NULL};

	memset(s, 0, sizeof(*s));
	s->addresses[s->n_addresses++] = prefix("198.19.0.7/24");
	s->addresses[s->n_addresses++] = prefix("fd00:7472::7/64");
	s->routes[s->n_routes++] = prefix("198.19.99.0/24");
	s->routes[s->n_routes++] = prefix("fd00:99::/64");
	if (with_default) {
		s->routes[s->n_routes++] = prefix("0.0.0.0/0");
		s->routes[s->n_routes++] = prefix("::/0");
	}
	s->dns = dns;
	s->dns_search = search;
	s->mtu = 1400;
}

static guint32
u32(const char *ip4)
{
	struct in_addr a;

	g_assert_cmpint(inet_pton(AF_INET, ip4, &a), ==, 1);
	return a.s_addr;
}

static void
test_generic(void)
{
	TrClientSettings s;
	struct sockaddr_in hub4 = {.sin_family = AF_INET};
	struct sockaddr_in6 hub6 = {.sin6_family = AF_INET6};
	g_autoptr(GVariant) c4 = NULL;
	g_autoptr(GVariant) c6 = NULL;
	g_autoptr(GVariant) gw6 = NULL;
	const char *tundev;
	guint32 gw, mtu;
	gboolean has4, has6;
	gsize n;
	const guint8 *bytes;

	settings_init(&s, FALSE);
	hub4.sin_addr.s_addr = u32("198.18.60.1");
	c4 = g_variant_ref_sink(tr_nm_generic_config("trellis0", (struct sockaddr *)&hub4, &s));
	g_assert_true(g_variant_lookup(c4, NM_VPN_PLUGIN_CONFIG_TUNDEV, "&s", &tundev));
	g_assert_cmpstr(tundev, ==, "trellis0");
	g_assert_true(g_variant_lookup(c4, NM_VPN_PLUGIN_CONFIG_EXT_GATEWAY, "u", &gw));
	g_assert_cmpuint(gw, ==, u32("198.18.60.1"));
	g_assert_true(g_variant_lookup(c4, NM_VPN_PLUGIN_CONFIG_MTU, "u", &mtu));
	g_assert_cmpuint(mtu, ==, 1400);
	g_assert_true(g_variant_lookup(c4, NM_VPN_PLUGIN_CONFIG_HAS_IP4, "b", &has4));
	g_assert_true(g_variant_lookup(c4, NM_VPN_PLUGIN_CONFIG_HAS_IP6, "b", &has6));
	g_assert_true(has4 && has6);

	g_assert_cmpint(inet_pton(AF_INET6, "fd00:18::1", &hub6.sin6_addr), ==, 1);
	c6 = g_variant_ref_sink(tr_nm_generic_config("trellis0", (struct sockaddr *)&hub6, &s));
	gw6 = g_variant_lookup_value(c6, NM_VPN_PLUGIN_CONFIG_EXT_GATEWAY, G_VARIANT_TYPE("ay"));
	g_assert_nonnull(gw6);
	bytes = g_variant_get_fixed_array(gw6, &n, 1);
	g_assert_cmpuint(n, ==, 16);
	g_assert_cmpmem(bytes, 16, &hub6.sin6_addr, 16);
}

static void
test_ip4(void)
{
	TrClientSettings s;
	g_autoptr(GVariant) c = NULL;
	g_autoptr(GVariant) routes = NULL;
	g_autoptr(GVariant) dns = NULL;
	g_autoptr(GVariant) route = NULL;
	g_autofree const char **domains = NULL;
	guint32 addr, plen;
	gboolean never_default;
	const guint32 *r;
	gsize n;

	settings_init(&s, FALSE);
	c = g_variant_ref_sink(tr_nm_ip4_config(&s, TRUE));
	g_assert_true(g_variant_lookup(c, NM_VPN_PLUGIN_IP4_CONFIG_ADDRESS, "u", &addr));
	g_assert_cmpuint(addr, ==, u32("198.19.0.7"));
	g_assert_true(g_variant_lookup(c, NM_VPN_PLUGIN_IP4_CONFIG_PREFIX, "u", &plen));
	g_assert_cmpuint(plen, ==, 24);
	routes = g_variant_lookup_value(c, NM_VPN_PLUGIN_IP4_CONFIG_ROUTES, G_VARIANT_TYPE("aau"));
	g_assert_cmpuint(g_variant_n_children(routes), ==, 1);
	route = g_variant_get_child_value(routes, 0);
	r = g_variant_get_fixed_array(route, &n, sizeof(guint32));
	g_assert_cmpuint(n, ==, 4);
	g_assert_cmpuint(r[0], ==, u32("198.19.99.0"));
	g_assert_cmpuint(r[1], ==, 24);
	dns = g_variant_lookup_value(c, NM_VPN_PLUGIN_IP4_CONFIG_DNS, G_VARIANT_TYPE("au"));
	g_assert_cmpuint(g_variant_n_children(dns), ==, 1); /* the IPv6 server goes to IPv6 */
	g_assert_true(g_variant_lookup(c, NM_VPN_PLUGIN_IP4_CONFIG_DOMAINS, "^a&s", &domains));
	g_assert_cmpstr(domains[0], ==, "trellis.test");
	g_assert_true(
	        g_variant_lookup(c, NM_VPN_PLUGIN_IP4_CONFIG_NEVER_DEFAULT, "b", &never_default));
	g_assert_true(never_default);
}

static void
test_default_route(void)
{
	TrClientSettings s;
	g_autoptr(GVariant) c4 = NULL;
	g_autoptr(GVariant) c6 = NULL;
	g_autoptr(GVariant) routes4 = NULL;
	g_autoptr(GVariant) routes6 = NULL;
	gboolean nd4 = TRUE, nd6 = TRUE;

	/* A pushed default route: the VPN becomes the default, not a 0/0 route. */
	settings_init(&s, TRUE);
	c4 = g_variant_ref_sink(tr_nm_ip4_config(&s, TRUE));
	c6 = g_variant_ref_sink(tr_nm_ip6_config(&s, TRUE));
	g_assert_true(g_variant_lookup(c4, NM_VPN_PLUGIN_IP4_CONFIG_NEVER_DEFAULT, "b", &nd4));
	g_assert_true(g_variant_lookup(c6, NM_VPN_PLUGIN_IP6_CONFIG_NEVER_DEFAULT, "b", &nd6));
	g_assert_false(nd4);
	g_assert_false(nd6);
	routes4 = g_variant_lookup_value(c4, NM_VPN_PLUGIN_IP4_CONFIG_ROUTES, NULL);
	routes6 = g_variant_lookup_value(c6, NM_VPN_PLUGIN_IP6_CONFIG_ROUTES, NULL);
	g_assert_cmpuint(g_variant_n_children(routes4), ==, 1);
	g_assert_cmpuint(g_variant_n_children(routes6), ==, 1);
}

static void
test_ip6(void)
{
	TrClientSettings s;
	g_autoptr(GVariant) c = NULL;
	g_autoptr(GVariant) addr = NULL;
	g_autoptr(GVariant) dns = NULL;
	g_autoptr(GVariant) routes = NULL;
	struct in6_addr want;
	guint32 plen, rplen;
	gsize n;
	const guint8 *bytes;
	GVariant *dest, *next_hop;
	guint32 metric;

	settings_init(&s, FALSE);
	c = g_variant_ref_sink(tr_nm_ip6_config(&s, TRUE));
	addr = g_variant_lookup_value(c, NM_VPN_PLUGIN_IP6_CONFIG_ADDRESS, G_VARIANT_TYPE("ay"));
	bytes = g_variant_get_fixed_array(addr, &n, 1);
	g_assert_cmpint(inet_pton(AF_INET6, "fd00:7472::7", &want), ==, 1);
	g_assert_cmpmem(bytes, n, &want, 16);
	g_assert_true(g_variant_lookup(c, NM_VPN_PLUGIN_IP6_CONFIG_PREFIX, "u", &plen));
	g_assert_cmpuint(plen, ==, 64);
	dns = g_variant_lookup_value(c, NM_VPN_PLUGIN_IP6_CONFIG_DNS, G_VARIANT_TYPE("aay"));
	g_assert_cmpuint(g_variant_n_children(dns), ==, 1);
	routes = g_variant_lookup_value(c, NM_VPN_PLUGIN_IP6_CONFIG_ROUTES,
	                                G_VARIANT_TYPE("a(ayuayu)"));
	g_assert_cmpuint(g_variant_n_children(routes), ==, 1);
	g_variant_get_child(routes, 0, "(@ayu@ayu)", &dest, &rplen, &next_hop, &metric);
	g_assert_cmpuint(rplen, ==, 64);
	bytes = g_variant_get_fixed_array(dest, &n, 1);
	g_assert_cmpint(inet_pton(AF_INET6, "fd00:99::", &want), ==, 1);
	g_assert_cmpmem(bytes, n, &want, 16);
	g_variant_unref(dest);
	g_variant_unref(next_hop);
}

static void
test_no_dns(void)
{
	TrClientSettings s;
	g_autoptr(GVariant) c4 = NULL;
	g_autoptr(GVariant) c6 = NULL;
	g_autoptr(GVariant) dns4 = NULL;
	g_autoptr(GVariant) dns6 = NULL;
	g_autofree const char **domains = NULL;

	settings_init(&s, FALSE);
	c4 = g_variant_ref_sink(tr_nm_ip4_config(&s, FALSE));
	c6 = g_variant_ref_sink(tr_nm_ip6_config(&s, FALSE));
	dns4 = g_variant_lookup_value(c4, NM_VPN_PLUGIN_IP4_CONFIG_DNS, NULL);
	dns6 = g_variant_lookup_value(c6, NM_VPN_PLUGIN_IP6_CONFIG_DNS, NULL);
	g_assert_cmpuint(g_variant_n_children(dns4), ==, 0);
	g_assert_cmpuint(g_variant_n_children(dns6), ==, 0);
	g_assert_true(g_variant_lookup(c4, NM_VPN_PLUGIN_IP4_CONFIG_DOMAINS, "^a&s", &domains));
	g_assert_null(domains[0]);
}

static void
test_families(void)
{
	TrClientSettings s;

	settings_init(&s, FALSE);
	s.n_addresses = 1;
	g_assert_true(tr_nm_settings_have(&s, TR_ADDR_IPV4));
	g_assert_false(tr_nm_settings_have(&s, TR_ADDR_IPV6));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/nm/ip-config/generic", test_generic);
	g_test_add_func("/nm/ip-config/ip4", test_ip4);
	g_test_add_func("/nm/ip-config/ip6", test_ip6);
	g_test_add_func("/nm/ip-config/default-route", test_default_route);
	g_test_add_func("/nm/ip-config/no-dns", test_no_dns);
	g_test_add_func("/nm/ip-config/families", test_families);
	return g_test_run();
}
