/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/base/addr.h"
#include "common/datapath/dataplane.h"
#include "common/datapath/magic.h"
#include "platform/device.h"

G_BEGIN_DECLS

/*
 * A daemon's tunnel: its tun/tap device, set up from what the daemon was
 * told (the hub: its options; the client: the settings the hub pushed),
 * and the data plane's workers between the device and the daemon's UDP
 * sockets. The hub and the client make theirs alike.
 */
typedef struct {
	/* The device. */
	TrDeviceType type;
	const char *name;   /* --device: NULL for the platform's default */
	const char *path;   /* --device-path */
	guint queues;       /* one per data-plane worker */
	gboolean configure; /* MTU, addresses, routes and DNS here; FALSE: the embedder's */
	guint mtu;
	const TrPrefix *addresses; /* with host bits: 198.19.0.2/24 */
	guint n_addresses;
	const TrPrefix *routes;
	guint n_routes;
	const char *const *dns;        /* NULL-terminated; NULL: none */
	const char *const *dns_search; /* NULL-terminated; NULL: none */
	const char *ifup;              /* sh -c, IFNAME set, once configured */
	const char *ifdown;            /* before the device goes */

	/* The workers. */
	const TrDpTuning *tuning;
	TrMagic magic;
	gboolean hub; /* forward between sessions (the hub's data plane) */
	gboolean client_to_client;
	gboolean note_forwarding; /* TrDpConfig.note_forwarding: the hub introduces pairs */
	/* TrDpConfig.relay: the hub relays pairs' frames */
	void (*relay)(const uint8_t *frame, size_t len, const struct sockaddr *from,
	              socklen_t from_len, gpointer user_data);
	gpointer relay_data;
} TrTunnelConfig;

/*
 * Opens the device and configures it: MTU, addresses, link up, routes, DNS,
 * then the ifup hook. On failure nothing is left: the device is closed and
 * @error says why (TR_ERROR_PERMISSION when not allowed, else TR_ERROR_IO).
 */
TrDevice *tr_tunnel_open_device(const TrTunnelConfig *tc, GError **error);

/* The data plane's workers on @dev (opened from @tc) and @udp_fds. */
TrDataplane *tr_tunnel_start_dataplane(const TrTunnelConfig *tc, TrDevice *dev, const int *udp_fds,
                                       guint n_udp, GError **error);

G_END_DECLS
