/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * What the hub pushed, in the form NetworkManager's VPN plugin interface
 * takes (org.freedesktop.NetworkManager.VPN.Plugin: SetConfig, SetIp4Config,
 * SetIp6Config): addresses and routes in network byte order, DNS split by
 * family, a pushed default route (0.0.0.0/0, ::/0) turned into
 * never-default = false instead of a route, the hub's address as the external
 * gateway. Floating GVariants.
 */
#include "client/client.h"

#include <NetworkManager.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* The device, the hub's address (NULL: unknown), MTU, which families. */
GVariant *tr_nm_generic_config(const char *ifname, const struct sockaddr *hub,
                               const TrClientSettings *settings);
/* @apply_dns FALSE (no-dns): no DNS servers or domains. */
GVariant *tr_nm_ip4_config(const TrClientSettings *settings, gboolean apply_dns);
GVariant *tr_nm_ip6_config(const TrClientSettings *settings, gboolean apply_dns);

/* Whether the hub pushed an address of @family. */
gboolean tr_nm_settings_have(const TrClientSettings *settings, TrAddrFamily family);

G_END_DECLS
