/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A link's keys: epoch N's two keys come from the TLS exporter; either side
 * starts a rekey with REKEY(N+1) when its data channel wants one; the
 * receiver installs and switches, answers REKEY_ACK, and the initiator
 * switches on the ACK (or on the first packet under the new key). Key
 * changes happen with the data plane's workers quiesced.
 */
#include "common/link/private.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

/* RFC 8446 7.5 exporter label; the context is epoch(u32 BE) || direction. */
#define KEY_LABEL "EXPORTER-trellis data key"

gboolean
tr_link_derive_keys(TrTls *tls, gboolean is_tls_server, uint32_t epoch, uint8_t *tx_key,
                    uint8_t *rx_key, GError **error)
{
	uint8_t ctx[7] = {(uint8_t)(epoch >> 24), (uint8_t)(epoch >> 16), (uint8_t)(epoch >> 8),
	                  (uint8_t)epoch};
	uint8_t c2s[TR_CIPHER_KEY_LEN], s2c[TR_CIPHER_KEY_LEN];

	memcpy(ctx + 4, "c2s", 3);
	if (!tr_tls_export(tls, KEY_LABEL, ctx, sizeof(ctx), c2s, sizeof(c2s), error))
		return FALSE;
	memcpy(ctx + 4, "s2c", 3);
	if (!tr_tls_export(tls, KEY_LABEL, ctx, sizeof(ctx), s2c, sizeof(s2c), error)) {
		gnutls_memset(c2s, 0, sizeof(c2s));
		return FALSE;
	}
	memcpy(tx_key, is_tls_server ? s2c : c2s, TR_CIPHER_KEY_LEN);
	memcpy(rx_key, is_tls_server ? c2s : s2c, TR_CIPHER_KEY_LEN);
	gnutls_memset(c2s, 0, sizeof(c2s));
	gnutls_memset(s2c, 0, sizeof(s2c));
	return TRUE;
}

/* Key changes: with workers sending and receiving, only while they are stopped. */
static void
quiesce(TrLink *link)
{
	if (link->dp_session)
		tr_dataplane_quiesce(link->dp);
}

static void
resume(TrLink *link)
{
	if (link->dp_session)
		tr_dataplane_resume(link->dp);
}

gboolean
link_install_epoch(TrLink *link, uint32_t epoch, GError **error)
{
	uint8_t tx[TR_CIPHER_KEY_LEN], rx[TR_CIPHER_KEY_LEN];
	gboolean ok;

	if (!tr_link_derive_keys(tr_ctrl_get_tls(link->ctrl), link->is_tls_server, epoch, tx, rx,
	                         error))
		return FALSE;
	quiesce(link);
	ok = tr_dc_install_keys(link->dc, epoch, tx, rx, g_get_monotonic_time(), error);
	resume(link);
	gnutls_memset(tx, 0, sizeof(tx));
	gnutls_memset(rx, 0, sizeof(rx));
	return ok;
}

static void
activate_next(TrLink *link)
{
	quiesce(link);
	tr_dc_activate_next(link->dc, g_get_monotonic_time());
	resume(link);
}

static void
start_rekey(TrLink *link)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) msg = {0};
	uint32_t epoch;

	if (!tr_dc_current_epoch(link->dc, &epoch))
		return;
	epoch++;
	if (!link_install_epoch(link, epoch, &error)) {
		g_warning("%s: rekey to epoch %u failed: %s", tr_link_peer(link), epoch,
		          error->message);
		return;
	}
	link->rekey_pending = epoch;
	tr_msg_init(&msg, TR_MSG_REKEY);
	tr_msg_set_u32(&msg, TR_ATTR_EPOCH, epoch);
	tr_link_send_msg(link, &msg, NULL);
	g_debug("%s: rekey to epoch %u started", tr_link_peer(link), epoch);
}

static void
handle_rekey(TrLink *link, const TrMsg *msg)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) ack = {0};
	uint32_t current = 0;

	tr_dc_current_epoch(link->dc, &current);
	if (msg->epoch == link->rekey_pending) {
		/* Both sides started the same rekey: ours is theirs. */
		activate_next(link);
		link->rekey_pending = 0;
	} else if (msg->epoch > current) {
		if (!link_install_epoch(link, msg->epoch, &error)) {
			g_warning("%s: cannot install epoch %u: %s", tr_link_peer(link), msg->epoch,
			          error->message);
			tr_link_close(link, TR_MSG_ERROR, TR_REFUSE_PROTOCOL, "rekey failed");
			return;
		}
		activate_next(link);
	}
	link->stats.rekeys++;
	tr_msg_init(&ack, TR_MSG_REKEY_ACK);
	tr_msg_set_u32(&ack, TR_ATTR_EPOCH, msg->epoch);
	tr_link_send_msg(link, &ack, NULL);
}

void
link_keys_message(TrLink *link, const TrMsg *msg)
{
	switch (msg->type) {
	case TR_MSG_REKEY:
		if (link->dc && tr_msg_has(msg, TR_ATTR_EPOCH))
			handle_rekey(link, msg);
		break;
	case TR_MSG_REKEY_ACK:
		if (link->dc && msg->epoch == link->rekey_pending) {
			activate_next(link);
			link->rekey_pending = 0;
			link->stats.rekeys++;
		}
		break;
	default:
		break;
	}
}

void
link_keys_tick(TrLink *link, gint64 now)
{
	if (link->rekey_pending == 0 && tr_dc_wants_rekey(link->dc, now))
		start_rekey(link);
	if (tr_dc_activation_due(link->dc))
		activate_next(link);
	if (tr_dc_expire_due(link->dc, now)) {
		quiesce(link);
		tr_dc_expire(link->dc, now);
		resume(link);
	}
}
