/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * systemd-resolved's D-Bus API (org.freedesktop.resolve1.Manager): DNS
 * servers and search domains per link, reverted on close. The only file of
 * the platform layer that uses GLib (GIO's D-Bus), and Linux-only.
 */
#include "platform/linux/linux.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gio/gio.h>
#include <netinet/in.h>

#define RESOLVE1_NAME   "org.freedesktop.resolve1"
#define RESOLVE1_PATH   "/org/freedesktop/resolve1"
#define RESOLVE1_IFACE  "org.freedesktop.resolve1.Manager"
#define CALL_TIMEOUT_MS 5000

/* The system bus, honouring DBUS_SYSTEM_BUS_ADDRESS; NULL when there is none. */
static GDBusConnection *
system_bus(GError **error)
{
	return g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, error);
}

bool
tr_resolved_running(void)
{
	g_autoptr(GDBusConnection) bus = system_bus(NULL);
	g_autoptr(GVariant) reply = NULL;
	gboolean has = FALSE;

	if (!bus)
		return false;
	reply = g_dbus_connection_call_sync(
	        bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	        "NameHasOwner", g_variant_new("(s)", RESOLVE1_NAME), G_VARIANT_TYPE("(b)"),
	        G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, NULL);
	if (reply)
		g_variant_get(reply, "(b)", &has);
	return has;
}

static int
call(GDBusConnection *bus, const char *method, GVariant *args, const char *ifname, TrPlatError *err)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;

	reply = g_dbus_connection_call_sync(bus, RESOLVE1_NAME, RESOLVE1_PATH, RESOLVE1_IFACE,
	                                    method, args, NULL, G_DBUS_CALL_FLAGS_NONE,
	                                    CALL_TIMEOUT_MS, NULL, &error);
	if (!reply) {
		int e = g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED) ? EACCES
		                                                                         : EIO;
		g_dbus_error_strip_remote_error(error);
		return tr_plat_error_set(err, e, "systemd-resolved refused %s for %s: %s", method,
		                         ifname, error->message);
	}
	return 0;
}

int
tr_resolved_set(unsigned ifindex, const char *ifname, const TrDnsConfig *dns, TrPlatError *err)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) bus = system_bus(&error);
	GVariantBuilder servers, domains;
	int rc;

	if (!bus)
		return tr_plat_error_set(err, EIO, "cannot reach systemd-resolved: %s",
		                         error->message);
	g_variant_builder_init(&servers, G_VARIANT_TYPE("a(iay)"));
	for (size_t i = 0; i < dns->n_servers; i++) {
		uint8_t bin[16];
		int af = inet_pton(AF_INET, dns->servers[i], bin) == 1 ? AF_INET : AF_INET6;

		if (af == AF_INET6 && inet_pton(AF_INET6, dns->servers[i], bin) != 1)
			continue; /* checked before: cannot happen */
		g_variant_builder_add(&servers, "(i@ay)", af,
		                      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, bin,
		                                                af == AF_INET ? 4 : 16, 1));
	}
	g_variant_builder_init(&domains, G_VARIANT_TYPE("a(sb)"));
	for (size_t i = 0; i < dns->n_domains; i++)
		g_variant_builder_add(&domains, "(sb)", dns->domains[i], FALSE);
	rc = call(bus, "SetLinkDNS", g_variant_new("(ia(iay))", (int)ifindex, &servers), ifname,
	          err);
	if (rc == 0)
		rc = call(bus, "SetLinkDomains", g_variant_new("(ia(sb))", (int)ifindex, &domains),
		          ifname, err);
	else
		g_variant_builder_clear(&domains);
	if (rc < 0)
		call(bus, "RevertLink", g_variant_new("(i)", (int)ifindex), ifname, NULL);
	return rc;
}

int
tr_resolved_revert(unsigned ifindex, const char *ifname, TrPlatError *err)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) bus = system_bus(&error);

	if (!bus)
		return tr_plat_error_set(err, EIO, "cannot reach systemd-resolved: %s",
		                         error->message);
	return call(bus, "RevertLink", g_variant_new("(i)", (int)ifindex), ifname, err);
}
