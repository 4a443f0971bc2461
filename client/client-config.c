/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The client's configuration: its defaults, and freeing it. */
#include "client/client-private.h"

#include "common/base/secret.h"
#include "common/mesh/path.h"

#include <string.h>

void
tr_client_config_init(TrClientConfig *c)
{
	memset(c, 0, sizeof(*c));
	c->dev_type = TR_DEVICE_TUN;
	c->configure_device = TRUE;
	c->apply_dns = TRUE;
	c->mtu = TR_MTU_DEFAULT;
	c->n_ciphers = tr_cipher_default_list(c->ciphers, G_N_ELEMENTS(c->ciphers));
	c->magic = TR_MAGIC_DEFAULT;
	c->udp = TRUE;
	c->handshake_timeout_ms = 10000;
	c->retry_max_sec = 30;
	c->direct = TRUE;
	c->punch_interval_ms = TR_PATH_PROBE_INTERVAL_USEC / 1000;
	c->punch_retry_sec = TR_PATH_RETRY_USEC / G_USEC_PER_SEC;
	c->pair_keepalive_sec = TR_PATH_KEEPALIVE_USEC / G_USEC_PER_SEC;
	c->pair_rekey_sec = TR_DC_REKEY_AFTER_USEC / G_USEC_PER_SEC;
	tr_dp_tuning_init(&c->tuning);
	tr_portmap_settings_init(&c->portmap);
}

void
tr_client_config_clear(TrClientConfig *c)
{
	g_strfreev(c->connect);
	g_strfreev(c->server_names);
	g_free(c->node_key_file);
	tr_tls_config_clear(&c->tls);
	g_free(c->username);
	tr_secret_free(c->password);
	g_free(c->device);
	g_free(c->device_path);
	g_free(c->ifup);
	g_free(c->ifdown);
	memset(c, 0, sizeof(*c));
}

gboolean
tr_client_config_check_names(const TrClientConfig *c, GError **error)
{
	guint names = c->server_names ? g_strv_length(c->server_names) : 0;
	guint hubs = c->connect ? g_strv_length(c->connect) : 0;

	if (c->tls.cert_file && names == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "certificate authentication needs the server's name (--server-name)");
		return FALSE;
	}
	/* Hubs of one CA carry their own names: one per hub, in order. */
	if (names > 1 && names != hubs) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "%u server names for %u hub%s (--connect): give one name "
		            "for every hub, or one per hub in the same order",
		            names, hubs, hubs == 1 ? "" : "s");
		return FALSE;
	}
	return TRUE;
}
