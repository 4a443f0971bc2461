/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/daemon/tunnel.h"

#include "common/base/error.h"

#include <errno.h>
#ifndef G_OS_WIN32
#include <unistd.h>
#endif

/* The packaged units run the daemons as their own user (docs/SECURITY.md). */
#define DNS_AS_USER_HINT                                                                           \
	"; not running as root, the client sets the hub's DNS servers only through "               \
	"systemd-resolved (allowed by the polkit rule org.trellisvpn.rules): install "             \
	"systemd-resolved, set no-dns, or run the client as root"

/* A DNS change refused to a daemon that is not root: says what works. */
static void
append_dns_hint(const TrPlatError *perr, GError **error)
{
#ifndef G_OS_WIN32
	char *message;

	if ((perr->code != -EPERM && perr->code != -EACCES) || geteuid() == 0 || error == NULL ||
	    *error == NULL)
		return;
	message = g_strconcat((*error)->message, DNS_AS_USER_HINT, NULL);
	g_free((*error)->message);
	(*error)->message = message;
#else
	(void)perr;
	(void)error;
#endif
}

static TrDevice *
fail(TrDevice *dev, const TrPlatError *perr, GError **error)
{
	TrPlatError ignored = {0};

	g_set_error(error, TR_ERROR,
	            perr->code == -EPERM || perr->code == -EACCES ? TR_ERROR_PERMISSION
	                                                          : TR_ERROR_IO,
	            "%s", perr->message);
	if (dev)
		(void)tr_device_close(dev, &ignored);
	return NULL;
}

TrDevice *
tr_tunnel_open_device(const TrTunnelConfig *tc, GError **error)
{
	TrPlatError perr = {0};
	TrDevice *dev;
	guint queues = tc->queues;

	/* The test device (a "udp:" path: tests, wine) has one queue: no express queue. */
	if (tc->path && g_str_has_prefix(tc->path, "udp:") && tc->tuning->express_program >= 0 &&
	    queues == tr_dp_tuning_queues(tc->tuning))
		queues--;
	dev = tr_device_open_ex(tc->type, tc->name, tc->path, queues,
	                        tc->tuning->tun_offload ? TR_DEVICE_OFFLOAD : 0, &perr);
	if (dev == NULL)
		return fail(NULL, &perr, error);
	tr_dp_tuning_apply_device(tc->tuning, dev);
	if (tc->configure) {
		if (tr_device_set_mtu(dev, tc->mtu, &perr) < 0)
			return fail(dev, &perr, error);
		for (guint i = 0; i < tc->n_addresses; i++)
			if (tr_device_add_address(dev, &tc->addresses[i], &perr) < 0)
				return fail(dev, &perr, error);
	}
	if (tr_device_set_up(dev, true, &perr) < 0)
		return fail(dev, &perr, error);
	if (tc->configure) {
		for (guint i = 0; i < tc->n_routes; i++)
			if (tr_device_add_route(dev, &tc->routes[i], &perr) < 0)
				return fail(dev, &perr, error);
		if (tc->dns && tc->dns[0]) {
			TrDnsConfig dns = {
			        .servers = tc->dns,
			        .n_servers = g_strv_length((char **)tc->dns),
			        .domains = tc->dns_search,
			        .n_domains =
			                tc->dns_search ? g_strv_length((char **)tc->dns_search) : 0,
			};
			if (tr_device_set_dns(dev, &dns, &perr) < 0) {
				fail(dev, &perr, error);
				append_dns_hint(&perr, error);
				return NULL;
			}
		}
	}
	if ((tc->ifup || tc->ifdown) && tr_device_ifup(dev, tc->ifup, tc->ifdown, &perr) < 0)
		return fail(dev, &perr, error);
	return dev;
}

TrDataplane *
tr_tunnel_start_dataplane(const TrTunnelConfig *tc, TrDevice *dev, const int *udp_fds, guint n_udp,
                          GError **error)
{
	TrDpConfig dpc;

	tr_dp_config_setup(&dpc, tc->tuning, dev, udp_fds, n_udp);
	dpc.magic = tc->magic;
	dpc.frame = (TrFrameType)tc->type;
	dpc.mtu = tc->mtu;
	dpc.hub = tc->hub;
	dpc.client_to_client = tc->client_to_client;
	dpc.note_forwarding = tc->note_forwarding;
	dpc.relay = tc->relay;
	dpc.relay_data = tc->relay_data;
	return tr_dataplane_new(&dpc, error);
}
