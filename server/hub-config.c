/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hub's configuration: its defaults, --listen, and the copy the hub keeps. */
#include "server/hub-private.h"

#include "common/base/addr.h"
#include "tr-config.h"

#include <string.h>

gboolean
tr_hub_parse_listen(const char *listen, char **host, uint16_t *port, GError **error)
{
	*host = NULL;
	if (!strchr(listen, ':') && g_ascii_isdigit(listen[0]))
		return tr_port_parse(listen, port, error);
	if (!tr_hostport_parse(listen, TR_DEFAULT_PORT, host, port, error))
		return FALSE;
	if (g_strcmp0(*host, "*") == 0 || g_strcmp0(*host, "") == 0)
		g_clear_pointer(host, g_free);
	return TRUE;
}

void
tr_hub_config_init(TrHubConfig *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = g_strdup("3210");
	c->mtu = TR_MTU_DEFAULT;
	c->n_ciphers = tr_cipher_default_list(c->ciphers, G_N_ELEMENTS(c->ciphers));
	c->compression = TR_COMPRESS_NONE;
	c->magic = TR_MAGIC_DEFAULT;
	c->keepalive = 10;
	c->peer_timeout = 60;
	c->client_to_client = TRUE;
	c->mesh = TRUE;
	c->relay = TRUE;
	c->udp = TRUE;
	c->dev_type = TR_DEVICE_TUN;
	c->mode = TR_FWD_MODE_NORMAL;
	c->dst_timeout = 300;
	c->handshake_timeout_ms = 10000;
	c->max_pending = 64;
	c->max_pending_per_source = 16;
	c->max_waiting = 16384;
	tr_dp_tuning_init(&c->tuning);
	tr_portmap_settings_init(&c->portmap);
	tr_prefix_parse("198.19.0.0/24", 0, &c->pool4, NULL);
	tr_prefix_parse("fd00:7472::/64", 0, &c->pool6, NULL);
}

void
tr_hub_config_clear(TrHubConfig *c)
{
	g_free(c->listen);
	tr_tls_config_clear(&c->tls);
	g_free(c->password_file);
	g_free(c->pam_service);
	g_free(c->pam_confdir);
	g_strfreev(c->dns);
	g_strfreev(c->dns_search);
	g_free(c->device);
	g_free(c->device_path);
	g_free(c->ifup);
	g_free(c->ifdown);
	g_free(c->state_dir);
	g_strfreev(c->connect);
	g_free(c->node_name);
	memset(c, 0, sizeof(*c));
}

void
hub_config_copy(TrHubConfig *dst, const TrHubConfig *src)
{
	*dst = *src;
	dst->listen = g_strdup(src->listen);
	tr_tls_config_copy(&dst->tls, &src->tls);
	dst->password_file = g_strdup(src->password_file);
	dst->pam_service = g_strdup(src->pam_service);
	dst->pam_confdir = g_strdup(src->pam_confdir);
	dst->dns = g_strdupv(src->dns);
	dst->dns_search = g_strdupv(src->dns_search);
	dst->device = g_strdup(src->device);
	dst->device_path = g_strdup(src->device_path);
	dst->ifup = g_strdup(src->ifup);
	dst->ifdown = g_strdup(src->ifdown);
	dst->state_dir = g_strdup(src->state_dir);
	dst->connect = g_strdupv(src->connect);
	dst->node_name = g_strdup(src->node_name);
}
