/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the hub agrees on with a client or node: the cipher (its preference
 * among what the other side offers), compression (only when both want
 * it), the receiver index and the data channel's settings.
 */
#include "server/hub-private.h"

#include <gnutls/crypto.h>

TrLinkTiming
hub_timing(TrHub *hub)
{
	return (TrLinkTiming){hub->cfg.keepalive, hub->cfg.peer_timeout, hub->cfg.udp};
}

static char *
cipher_list(const TrCipher *list, guint n)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < n; i++)
		g_string_append_printf(s, "%s%s", i ? "," : "", tr_cipher_name(list[i]));
	return g_string_free(s, FALSE);
}

/* The hub's preference among what the peer offers; plaintext only when both
 * sides configured it explicitly. */
gboolean
hub_pick_cipher(TrHub *hub, const TrMsg *hello, TrCipher *out, char **why)
{
	TrCipher theirs[TR_MAX_LIST];
	g_autofree char *a = NULL, *b = NULL;

	for (guint i = 0; i < hub->cfg.n_ciphers; i++) {
		for (guint j = 0; j < hello->n_ciphers; j++) {
			if (hello->ciphers[j] != hub->cfg.ciphers[i])
				continue;
			if (hub->cfg.ciphers[i] == TR_CIPHER_NONE &&
			    !(hub->cfg.allow_plaintext && (hello->features & TR_FEATURE_PLAINTEXT)))
				continue;
			*out = hub->cfg.ciphers[i];
			return TRUE;
		}
	}
	for (guint j = 0; j < hello->n_ciphers; j++)
		theirs[j] = (TrCipher)hello->ciphers[j];
	a = cipher_list(theirs, hello->n_ciphers);
	b = cipher_list(hub->cfg.ciphers, hub->cfg.n_ciphers);
	*why = g_strdup_printf("no common cipher (the peer offers %s, this node allows %s%s)", a, b,
	                       (hello->features & TR_FEATURE_PLAINTEXT) || hub->cfg.allow_plaintext
	                               ? "; plaintext needs both sides to allow it"
	                               : "");
	return FALSE;
}

/* Compression only when this node enables it and the peer offers it. */
TrCompress
hub_pick_compression(TrHub *hub, const TrMsg *hello)
{
	for (guint i = 0; i < hello->n_compressions; i++) {
		if (hub->cfg.compression != TR_COMPRESS_NONE &&
		    hello->compressions[i] == hub->cfg.compression)
			return hub->cfg.compression;
	}
	return TR_COMPRESS_NONE;
}

uint32_t
hub_new_index(TrHub *hub)
{
	uint32_t index;

	do {
		gnutls_rnd(GNUTLS_RND_NONCE, &index, sizeof(index));
	} while (index == 0 || g_hash_table_contains(hub->by_index, GUINT_TO_POINTER(index)));
	return index;
}

void
hub_fill_dc_config(TrHub *hub, TrDcConfig *dcc, TrCipher cipher, TrCompress comp,
                   uint32_t local_index, uint32_t peer_index)
{
	tr_dc_config_init(dcc);
	dcc->magic = hub->cfg.magic;
	dcc->cipher = cipher;
	dcc->allow_plaintext = cipher == TR_CIPHER_NONE;
	dcc->compress = comp;
	dcc->local_index = local_index;
	dcc->peer_index = peer_index;
	if (hub->cfg.rekey_sec) {
		dcc->rekey_after_usec = (gint64)hub->cfg.rekey_sec * G_USEC_PER_SEC;
		dcc->reject_after_usec = 3 * dcc->rekey_after_usec;
	}
}
