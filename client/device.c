/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client's tunnel: the device as the hub's settings make it (opened
 * again only when they change), the session's UDP sockets (on the port of
 * the last session when it is free, so that a port mapping stays valid)
 * and the data plane's workers between them.
 */
#include "client/client-private.h"

#include "common/daemon/tunnel.h"
#include "platform/net.h"

#include <string.h>

void
client_close_device(TrClient *client)
{
	TrPlatError perr = {0};

	g_clear_pointer(&client->dp, tr_dataplane_free);
	if (client->dev && tr_device_close(client->dev, &perr) < 0)
		g_warning("undoing the device configuration: %s", perr.message);
	client->dev = NULL;
}

/* The client's tunnel from the hub's settings @s. */
static void
tunnel_config(TrClient *client, const TrClientSettings *s, TrTunnelConfig *tc)
{
	*tc = (TrTunnelConfig){
	        .type = client->cfg.dev_type,
	        .name = client->cfg.device,
	        .path = client->cfg.device_path,
	        .queues = tr_dp_tuning_queues(&client->cfg.tuning),
	        .configure = client->cfg.configure_device,
	        .mtu = s->mtu,
	        .addresses = s->addresses,
	        .n_addresses = s->n_addresses,
	        .routes = s->routes,
	        .n_routes = s->n_routes,
	        .dns = client->cfg.apply_dns ? (const char *const *)s->dns : NULL,
	        .dns_search = (const char *const *)s->dns_search,
	        .ifup = client->cfg.ifup,
	        .ifdown = client->cfg.ifdown,
	        .tuning = &client->cfg.tuning,
	        .magic = client->cfg.magic,
	};
}

gboolean
client_apply_settings(TrClient *client, const TrClientSettings *s, GError **error)
{
	TrTunnelConfig tc;

	if (client->dev != NULL && client->have_settings &&
	    client_settings_equal(&client->settings, s))
		return TRUE;
	client_close_device(client);
	tunnel_config(client, s, &tc);
	client->dev = tr_tunnel_open_device(&tc, error);
	return client->dev != NULL;
}

/* The local port of a bound socket. */
static guint16
local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	return tr_sockaddr_port((struct sockaddr *)&ss);
}

/* One socket per worker, all on one local port (any address, the server's
 * family): the port of the last session when it is still free, so that a
 * port mapping made for it stays valid. */
gboolean
client_open_udp(TrClient *client, GError **error)
{
	struct sockaddr_storage any = {0};
	socklen_t len;

	any.ss_family = client->server_addr.ss_family;
	len = any.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (client->udp_port) {
		tr_sockaddr_set_port((struct sockaddr *)&any, client->udp_port);
		client->udp_fds = tr_dp_open_sockets(
		        (struct sockaddr *)&any, len, tr_dp_tuning_workers(&client->cfg.tuning),
		        client->cfg.tuning.udp_gro, client->cfg.tuning.queue_target_us > 0,
		        &client->n_udp, NULL);
		memset(&any, 0, sizeof(any));
		any.ss_family = client->server_addr.ss_family;
	}
	if (client->udp_fds == NULL)
		client->udp_fds = tr_dp_open_sockets(
		        (struct sockaddr *)&any, len, tr_dp_tuning_workers(&client->cfg.tuning),
		        client->cfg.tuning.udp_gro, client->cfg.tuning.queue_target_us > 0,
		        &client->n_udp, error);
	if (client->udp_fds == NULL)
		return FALSE;
	client->udp_fd = client->udp_fds[0];
	client->udp_port = local_port(client->udp_fd);
	/* Made with the first session: after the daemon dropped its privileges
	 * (its thread holds no more than the main thread). */
	if (client->cfg.portmap.enabled && client->portmap == NULL)
		client->portmap = tr_portmap_new(&client->cfg.portmap, "Trellis client", FALSE);
	if (client->portmap)
		tr_portmap_set_port(client->portmap, client->udp_port);
	return TRUE;
}

/* The workers, once the device is there: one per device queue. */
gboolean
client_start_dataplane(TrClient *client, GError **error)
{
	TrTunnelConfig tc;

	g_clear_pointer(&client->dp, tr_dataplane_free);
	tunnel_config(client, &client->settings, &tc);
	client->dp =
	        tr_tunnel_start_dataplane(&tc, client->dev, client->udp_fds, client->n_udp, error);
	return client->dp != NULL;
}

void
client_close_udp(TrClient *client)
{
	for (guint i = 0; i < client->n_udp; i++)
		tr_sock_close(client->udp_fds[i]);
	g_clear_pointer(&client->udp_fds, g_free);
	client->n_udp = 0;
	client->udp_fd = -1;
}
