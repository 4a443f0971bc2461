/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "gui/networkmanager/ip-config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static GVariant *
ip6_bytes(const uint8_t *addr)
{
	return g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, addr, 16, 1);
}

static guint32
ip4_u32(const uint8_t *addr)
{
	guint32 v;
	memcpy(&v, addr, 4); /* network byte order, as NetworkManager wants */
	return v;
}

static gboolean
is_default(const TrPrefix *p)
{
	return p->len == 0;
}

GVariant *
tr_nm_ip4_config(const TrClientSettings *s, gboolean apply_dns)
{
	GVariantBuilder b, routes, dns, domains;
	gboolean never_default = TRUE;
	gboolean have_dns = FALSE;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	for (guint i = 0; i < s->n_addresses; i++) {
		if (s->addresses[i].family != TR_ADDR_IPV4)
			continue;
		g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_ADDRESS,
		                      g_variant_new_uint32(ip4_u32(s->addresses[i].addr)));
		g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_PREFIX,
		                      g_variant_new_uint32(s->addresses[i].len));
		break;
	}
	g_variant_builder_init(&routes, G_VARIANT_TYPE("aau"));
	for (guint i = 0; i < s->n_routes; i++) {
		const TrPrefix *r = &s->routes[i];
		guint32 route[4] = {ip4_u32(r->addr), r->len, 0, 0};

		if (r->family != TR_ADDR_IPV4)
			continue;
		if (is_default(r)) {
			never_default = FALSE;
			continue;
		}
		g_variant_builder_add_value(
		        &routes, g_variant_new_fixed_array(G_VARIANT_TYPE_UINT32, route, 4, 4));
	}
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_ROUTES,
	                      g_variant_builder_end(&routes));
	g_variant_builder_init(&dns, G_VARIANT_TYPE("au"));
	for (guint i = 0; apply_dns && s->dns && s->dns[i]; i++) {
		struct in_addr a;
		if (inet_pton(AF_INET, s->dns[i], &a) == 1) {
			g_variant_builder_add(&dns, "u", a.s_addr);
			have_dns = TRUE;
		}
	}
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_DNS,
	                      g_variant_builder_end(&dns));
	g_variant_builder_init(&domains, G_VARIANT_TYPE_STRING_ARRAY);
	for (guint i = 0; apply_dns && have_dns && s->dns_search && s->dns_search[i]; i++)
		g_variant_builder_add(&domains, "s", s->dns_search[i]);
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_DOMAINS,
	                      g_variant_builder_end(&domains));
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP4_CONFIG_NEVER_DEFAULT,
	                      g_variant_new_boolean(never_default));
	return g_variant_builder_end(&b);
}

GVariant *
tr_nm_ip6_config(const TrClientSettings *s, gboolean apply_dns)
{
	GVariantBuilder b, routes, dns, domains;
	gboolean never_default = TRUE;
	gboolean have_dns = FALSE;
	static const uint8_t zero[16];

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	for (guint i = 0; i < s->n_addresses; i++) {
		if (s->addresses[i].family != TR_ADDR_IPV6)
			continue;
		g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP6_CONFIG_ADDRESS,
		                      ip6_bytes(s->addresses[i].addr));
		g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP6_CONFIG_PREFIX,
		                      g_variant_new_uint32(s->addresses[i].len));
		break;
	}
	g_variant_builder_init(&routes, G_VARIANT_TYPE("a(ayuayu)"));
	for (guint i = 0; i < s->n_routes; i++) {
		const TrPrefix *r = &s->routes[i];

		if (r->family != TR_ADDR_IPV6)
			continue;
		if (is_default(r)) {
			never_default = FALSE;
			continue;
		}
		g_variant_builder_add(&routes, "(@ayu@ayu)", ip6_bytes(r->addr), (guint32)r->len,
		                      ip6_bytes(zero), (guint32)0);
	}
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP6_CONFIG_ROUTES,
	                      g_variant_builder_end(&routes));
	g_variant_builder_init(&dns, G_VARIANT_TYPE("aay"));
	for (guint i = 0; apply_dns && s->dns && s->dns[i]; i++) {
		struct in6_addr a;
		if (inet_pton(AF_INET6, s->dns[i], &a) == 1) {
			g_variant_builder_add_value(&dns, ip6_bytes(a.s6_addr));
			have_dns = TRUE;
		}
	}
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP6_CONFIG_DNS,
	                      g_variant_builder_end(&dns));
	g_variant_builder_init(&domains, G_VARIANT_TYPE_STRING_ARRAY);
	for (guint i = 0; apply_dns && have_dns && s->dns_search && s->dns_search[i]; i++)
		g_variant_builder_add(&domains, "s", s->dns_search[i]);
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP6_CONFIG_DOMAINS,
	                      g_variant_builder_end(&domains));
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_IP6_CONFIG_NEVER_DEFAULT,
	                      g_variant_new_boolean(never_default));
	return g_variant_builder_end(&b);
}

gboolean
tr_nm_settings_have(const TrClientSettings *s, TrAddrFamily family)
{
	for (guint i = 0; i < s->n_addresses; i++)
		if (s->addresses[i].family == family)
			return TRUE;
	return FALSE;
}

GVariant *
tr_nm_generic_config(const char *ifname, const struct sockaddr *hub, const TrClientSettings *s)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_CONFIG_TUNDEV,
	                      g_variant_new_string(ifname));
	/* NetworkManager keeps a route to the hub outside the tunnel. */
	if (hub && hub->sa_family == AF_INET)
		g_variant_builder_add(
		        &b, "{sv}", NM_VPN_PLUGIN_CONFIG_EXT_GATEWAY,
		        g_variant_new_uint32(((const struct sockaddr_in *)hub)->sin_addr.s_addr));
	else if (hub && hub->sa_family == AF_INET6)
		g_variant_builder_add(
		        &b, "{sv}", NM_VPN_PLUGIN_CONFIG_EXT_GATEWAY,
		        ip6_bytes(((const struct sockaddr_in6 *)hub)->sin6_addr.s6_addr));
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_CONFIG_MTU, g_variant_new_uint32(s->mtu));
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_CONFIG_HAS_IP4,
	                      g_variant_new_boolean(tr_nm_settings_have(s, TR_ADDR_IPV4)));
	g_variant_builder_add(&b, "{sv}", NM_VPN_PLUGIN_CONFIG_HAS_IP6,
	                      g_variant_new_boolean(tr_nm_settings_have(s, TR_ADDR_IPV6)));
	return g_variant_builder_end(&b);
}
