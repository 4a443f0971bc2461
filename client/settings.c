/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hub's CONFIG as the client's settings: what it pushed (addresses,
 * routes, DNS, MTU), and what it chose among what we offered (cipher,
 * compression), checked.
 */
#include "client/client-private.h"

#include "common/base/error.h"

#include <string.h>

gboolean
client_settings_read(const TrClientConfig *cfg, const TrMsg *msg, TrClientSettings *out,
                     GError **error)
{
	g_autoptr(GPtrArray) dns = g_ptr_array_new_with_free_func(g_free);
	char buf[TR_PREFIX_STRLEN];
	TrClientSettings s = {0};
	gboolean offered = FALSE;

	if (!tr_msg_require(msg, error, TR_ATTR_PROTO_VERSION, TR_ATTR_RX_INDEX, TR_ATTR_CIPHER,
	                    TR_ATTR_MTU, 0))
		return FALSE;
	if (msg->proto_version != TR_PROTO_VERSION) {
		g_set_error(error, TR_ERROR, TR_ERROR_NEGOTIATE,
		            "the server speaks protocol %u, we speak %u", msg->proto_version,
		            TR_PROTO_VERSION);
		return FALSE;
	}
	/* The server must pick from what we offered. */
	for (guint i = 0; i < cfg->n_ciphers; i++)
		offered |= cfg->ciphers[i] == msg->cipher;
	if (!offered ||
	    (msg->compression != TR_COMPRESS_NONE && msg->compression != cfg->compression)) {
		g_set_error(error, TR_ERROR, TR_ERROR_NEGOTIATE,
		            "the server chose %s / %s, which we did not offer",
		            tr_cipher_name((TrCipher)msg->cipher),
		            tr_compress_name((TrCompress)msg->compression));
		return FALSE;
	}
	s.identity = g_strdup(msg->identity);
	for (guint i = 0; i < msg->n_addresses && s.n_addresses < G_N_ELEMENTS(s.addresses); i++)
		s.addresses[s.n_addresses++] = msg->addresses[i];
	for (guint i = 0; i < msg->n_routes; i++)
		s.routes[s.n_routes++] = msg->routes[i];
	for (guint i = 0; i < msg->n_dns_servers; i++)
		g_ptr_array_add(dns, g_strdup(tr_addr_to_string(
		                             (TrAddrFamily)msg->dns_servers[i].family,
		                             msg->dns_servers[i].addr, buf, sizeof(buf))));
	g_ptr_array_add(dns, NULL);
	s.dns = (char **)g_ptr_array_steal(dns, NULL);
	if (msg->n_dns_search) {
		s.dns_search = g_new0(char *, msg->n_dns_search + 1);
		for (guint i = 0; i < msg->n_dns_search; i++)
			s.dns_search[i] = g_strdup(msg->dns_search[i]);
	}
	s.mtu = msg->mtu;
	s.cipher = (TrCipher)msg->cipher;
	s.compression = (TrCompress)msg->compression;
	s.keepalive = msg->keepalive;
	s.peer_timeout = msg->peer_timeout;
	*out = s;
	return TRUE;
}

gboolean
client_settings_equal(const TrClientSettings *a, const TrClientSettings *b)
{
	if (a->n_addresses != b->n_addresses || a->n_routes != b->n_routes || a->mtu != b->mtu)
		return FALSE;
	for (guint i = 0; i < a->n_addresses; i++)
		if (!tr_prefix_equal(&a->addresses[i], &b->addresses[i]) ||
		    memcmp(a->addresses[i].addr, b->addresses[i].addr, 16) != 0)
			return FALSE;
	for (guint i = 0; i < a->n_routes; i++)
		if (!tr_prefix_equal(&a->routes[i], &b->routes[i]))
			return FALSE;
	if (!g_strv_equal((const char *const *)(a->dns ? a->dns : (char *[]){NULL}),
	                  (const char *const *)(b->dns ? b->dns : (char *[]){NULL})))
		return FALSE;
	return TRUE;
}

void
client_settings_clear(TrClientSettings *s)
{
	g_free(s->identity);
	g_strfreev(s->dns);
	g_strfreev(s->dns_search);
	memset(s, 0, sizeof(*s));
}
