/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the hub talks through: its TCP listener (control connections, taken
 * in as admission allows), the UDP socket group on the same port (one
 * socket per data-plane worker), and its tunnel: the device and the
 * workers between it and the UDP sockets.
 */
#include "server/hub-private.h"
#include "server/node.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/watch.h"
#include "common/daemon/tunnel.h"
#include "platform/net.h"

#include <errno.h>
#include <string.h>

/* Connections the kernel completes before the hub accepts them. After a hub
 * restart every client connects within a second or so; a full queue drops
 * them, and each comes back only after TCP's retransmission (1 s, 3, ...).
 * The kernel caps it (Linux: net.core.somaxconn, 4096 by default). */
#define LISTEN_BACKLOG 4096

static gboolean
on_accept(gint fd, GIOCondition cond, gpointer p)
{
	TrHub *hub = p;

	for (int n = 0; n < 64; n++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char remote[80];
		int cfd = tr_sock_accept(fd, (struct sockaddr *)&ss, &sl);

		if (cfd < 0)
			break;
		tr_sockaddr_to_string((struct sockaddr *)&ss, remote, sizeof(remote));
		hub_admit(hub, cfd, hub_source_key(&ss), remote);
	}
	return G_SOURCE_CONTINUE;
}

/* The TCP control socket; the UDP sockets join its address and port (tr_dp_open_sockets). */
static int
listen_tcp(const char *host, guint16 port, gboolean share_port, GError **error)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	int fd;

	if (host == NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons(port);
		sl = sizeof(*sin6);
	} else {
		g_autofree char *text =
		        g_strdup_printf(strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
		if (!tr_sockaddr_parse(text, port, &ss, &sl, error))
			return -1;
	}
	fd = tr_sock_listen_tcp((struct sockaddr *)&ss, sl, LISTEN_BACKLOG, share_port, NULL);
	if (fd == -EAFNOSUPPORT && host == NULL) {
		/* No IPv6 on this host: all IPv4 addresses instead. */
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		memset(&ss, 0, sizeof(ss));
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		fd = tr_sock_listen_tcp((struct sockaddr *)&ss, sizeof(*sin), LISTEN_BACKLOG,
		                        share_port, NULL);
	}
	if (fd < 0) {
		tr_set_error_errno(error, -fd, "cannot listen on port %u (TCP)", port);
		return -1;
	}
	return fd;
}

/* The pools' first addresses and the --address ones. */
#define MAX_OWN_ADDRESSES (2 + G_N_ELEMENTS(((TrHubConfig *)NULL)->addresses))

/* The hub's tunnel: its device with its own addresses, its data plane
 * forwarding between sessions. @addrs holds the addresses. */
static void
tunnel_config(TrHub *hub, TrTunnelConfig *tc, TrPrefix addrs[MAX_OWN_ADDRESSES])
{
	guint n = 0;

	if (hub->pool && tr_pool_hub_address(hub->pool, TR_ADDR_IPV4, &addrs[n]))
		n++;
	if (hub->pool && tr_pool_hub_address(hub->pool, TR_ADDR_IPV6, &addrs[n]))
		n++;
	for (guint i = 0; i < hub->cfg.n_addresses; i++)
		addrs[n++] = hub->cfg.addresses[i];
	*tc = (TrTunnelConfig){
	        .type = hub->cfg.dev_type,
	        .name = hub->cfg.device,
	        .path = hub->cfg.device_path,
	        .queues = tr_dp_tuning_queues(&hub->cfg.tuning),
	        .configure = TRUE,
	        .mtu = hub->cfg.mtu,
	        .addresses = addrs,
	        .n_addresses = n,
	        .ifup = hub->cfg.ifup,
	        .ifdown = hub->cfg.ifdown,
	        .tuning = &hub->cfg.tuning,
	        .magic = hub->cfg.magic,
	        .hub = TRUE,
	        .client_to_client = hub->cfg.client_to_client,
	        .note_forwarding = hub->pairs != NULL,
	        .relay = hub->pairs && hub->cfg.relay ? hub_mesh_relay : NULL,
	        .relay_data = hub,
	};
}

gboolean
hub_open_sockets(TrHub *hub, const char *host, guint16 port, GError **error)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	hub->tcp_fd = listen_tcp(host, port, hub_node_shares_port(hub), error);
	if (hub->tcp_fd < 0)
		return FALSE;
	/* The UDP sockets take the address the TCP socket got, and its port. */
	getsockname(hub->tcp_fd, (struct sockaddr *)&ss, &sl);
	hub->port = tr_sockaddr_port((struct sockaddr *)&ss);
	hub->udp_fds = tr_dp_open_sockets(
	        (struct sockaddr *)&ss, sl, tr_dp_tuning_workers(&hub->cfg.tuning),
	        hub->cfg.tuning.udp_gro, hub->cfg.tuning.queue_target_us > 0, &hub->n_udp, error);
	if (hub->udp_fds == NULL)
		return FALSE;
	hub->udp_fd = hub->udp_fds[0];
	return TRUE;
}

void
hub_accept_start(TrHub *hub)
{
	hub->tcp_watch = tr_watch_fd(hub->tcp_fd, G_IO_IN, on_accept, hub);
}

void
hub_close_sockets(TrHub *hub)
{
	g_clear_handle_id(&hub->tcp_watch, g_source_remove);
	tr_sock_close(hub->tcp_fd);
	hub->tcp_fd = -1;
	for (guint i = 0; i < hub->n_udp; i++)
		tr_sock_close(hub->udp_fds[i]);
	g_clear_pointer(&hub->udp_fds, g_free);
	hub->n_udp = 0;
	hub->udp_fd = -1;
}

gboolean
hub_open_tunnel(TrHub *hub, GError **error)
{
	TrPrefix addrs[MAX_OWN_ADDRESSES];
	TrTunnelConfig tc;

	tunnel_config(hub, &tc, addrs);
	hub->dev = tr_tunnel_open_device(&tc, error);
	if (hub->dev == NULL)
		return FALSE;
	hub->dp = tr_tunnel_start_dataplane(&tc, hub->dev, hub->udp_fds, hub->n_udp, error);
	return hub->dp != NULL;
}
