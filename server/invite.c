/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Redeeming invites on the hub (docs/PROTOCOL.md, "Joining with an
 * invite"): the TLS PSK of an identity "invite:<id>" comes from the pending
 * invite in STATE/invites; a session authenticated so may send one JOIN
 * (its certificate request) and is closed after the JOINED answer.
 *
 * Invites are on when the hub runs on its state directory's CA (the default
 * without --ca/--cert/--key): that CA signs the request, and the client
 * then connects with the certificate like any other.
 */
#include "server/hub-private.h"

#include "common/base/error.h"
#include "common/pki/invite-token.h"
#include "common/pki/invite.h"
#include "common/pki/pki.h"

#include <gnutls/gnutls.h>
#include <string.h>

static gboolean
same_file_contents(const char *a, const char *b)
{
	g_autofree char *da = NULL, *db = NULL;
	gsize la = 0, lb = 0;

	return g_file_get_contents(a, &da, &la, NULL) && g_file_get_contents(b, &db, &lb, NULL) &&
	       la == lb && memcmp(da, db, la) == 0;
}

static int
invite_psk_lookup(const char *identity, uint8_t *key, gpointer p)
{
	TrHub *hub = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(TrPkiInvite) inv = NULL;
	const char *id;
	guint8 raw[TR_INVITE_ID_LEN];

	if (identity == NULL || !g_str_has_prefix(identity, TR_INVITE_PSK_IDENTITY_PREFIX))
		return 0;
	id = identity + strlen(TR_INVITE_PSK_IDENTITY_PREFIX);
	inv = tr_pki_invite_lookup(hub->cfg.state_dir, id, &error);
	if (inv == NULL) {
		/* Anyone can send an invite id: a bounded rate of lines. */
		if (!tr_log_limit(&hub->refusals, "refused or failed connections", 10, 60))
			return -1;
		g_message("refused a joining machine: invite %s: %s",
		          tr_invite_id_from_hex(id, raw) ? id : "(malformed id)",
		          g_error_matches(error, TR_ERROR, TR_ERROR_NOT_FOUND)
		                  ? "unknown (never made, or used and pruned)"
		                  : error->message);
		return -1;
	}
	/* A used or expired invite still completes the handshake, so that the
	 * joining machine can be told why over the channel. */
	if (!tr_invite_id_from_hex(id, raw) ||
	    !tr_invite_derive_psk(inv->secret, raw, key, &error)) {
		if (tr_log_limit(&hub->refusals, "refused or failed connections", 10, 60))
			g_warning("invite %s: %s", id, error ? error->message : "bad id");
		return -1;
	}
	return 1;
}

void
hub_invites_setup(TrHub *hub)
{
	const char *dir = hub->cfg.state_dir;
	g_autofree char *ca = NULL;
	g_autoptr(GError) error = NULL;
	gnutls_x509_crt_t crt;

	if (dir == NULL || !tr_pki_ca_exists(dir) || hub->cfg.tls.ca_file == NULL ||
	    hub->cfg.tls.cert_file == NULL)
		return;
	ca = tr_pki_ca_cert_path(dir);
	if (!same_file_contents(ca, hub->cfg.tls.ca_file)) {
		g_debug("invites off: the hub's --ca is not %s", ca);
		return;
	}
	crt = tr_pki_cert_load_file(hub->cfg.tls.cert_file, &error);
	if (crt != NULL) {
		hub->invite_server_name = tr_pki_cert_get_identity(crt, &error);
		gnutls_x509_crt_deinit(crt);
	}
	if (hub->invite_server_name == NULL) {
		g_warning("invites off: cannot read this hub's certificate name: %s",
		          error->message);
		return;
	}
	hub->cfg.tls.psk_lookup = invite_psk_lookup;
	hub->cfg.tls.psk_lookup_data = hub;
}

gboolean
hub_is_invite_identity(const char *identity)
{
	return identity != NULL && g_str_has_prefix(identity, TR_INVITE_PSK_IDENTITY_PREFIX);
}

void
hub_invite_established(Client *c)
{
	const char *id = c->cert_identity + strlen(TR_INVITE_PSK_IDENTITY_PREFIX);
	g_autoptr(GError) error = NULL;
	g_autoptr(TrPkiInvite) inv = tr_pki_invite_lookup(c->hub->cfg.state_dir, id, &error);

	c->is_invite = TRUE;
	c->identity = g_strdup(c->cert_identity);
	if (inv == NULL) {
		hub_refuse(c, TR_REFUSE_AUTH, error->message, "unknown invite");
		return;
	}
	if (inv->used) {
		hub_refuse(
		        c, TR_REFUSE_AUTH, "invite already used",
		        "this invite was already used (an invite works once); ask for a new one");
		return;
	}
	if (g_get_real_time() / G_USEC_PER_SEC >= inv->expires) {
		hub_refuse(c, TR_REFUSE_AUTH, "invite expired",
		           "this invite has expired; ask for a new one");
		return;
	}
	g_message("%s: invite %s for '%s': waiting for the certificate request", c->peer, id,
	          inv->name);
}

void
hub_invite_join(Client *c, TrMsg *msg)
{
	TrHub *hub = c->hub;
	const char *id = c->cert_identity + strlen(TR_INVITE_PSK_IDENTITY_PREFIX);
	g_autoptr(GError) error = NULL;
	g_autoptr(TrPkiCa) ca = NULL;
	g_autoptr(GBytes) cert = NULL;
	g_autoptr(GBytes) ca_pem = NULL;
	g_autofree char *ca_path = tr_pki_ca_cert_path(hub->cfg.state_dir);
	g_autofree char *ca_text = NULL;
	g_autofree char *name = NULL;
	g_auto(TrMsg) answer = {0};
	gsize ca_len = 0;
	gsize req_len = 0;
	const guint8 *req;

	g_clear_handle_id(&c->hello_timer, g_source_remove);
	if (!tr_msg_require(msg, &error, TR_ATTR_CERT_REQUEST, 0)) {
		hub_refuse(c, TR_REFUSE_PROTOCOL, error->message, error->message);
		return;
	}
	req = g_bytes_get_data(msg->cert_request, &req_len);
	ca = tr_pki_ca_open(hub->cfg.state_dir, &error);
	if (ca == NULL || !g_file_get_contents(ca_path, &ca_text, &ca_len, &error)) {
		g_prefix_error(&error, "invite %s: ", id);
		hub_refuse(c, TR_REFUSE_INTERNAL, error->message, "internal error");
		return;
	}
	cert = tr_pki_invite_redeem(ca, id, req, req_len, g_get_real_time() / G_USEC_PER_SEC, &name,
	                            &error);
	if (cert == NULL) {
		hub_refuse(c, TR_REFUSE_AUTH, error->message, error->message);
		return;
	}
	ca_pem = g_bytes_new_take(g_steal_pointer(&ca_text), ca_len);
	tr_msg_init(&answer, TR_MSG_JOINED);
	tr_msg_set_bytes(&answer, TR_ATTR_CERTIFICATE, cert);
	tr_msg_set_bytes(&answer, TR_ATTR_CA_CERT, ca_pem);
	tr_msg_set_string(&answer, TR_ATTR_SERVER_NAME, hub->invite_server_name);
	answer.udp_port = hub->port;
	tr_msg_set(&answer, TR_ATTR_UDP_PORT);
	if (!tr_link_send_msg(c->link, &answer, &error)) {
		hub_refuse(c, TR_REFUSE_INTERNAL, error->message, "internal error");
		return;
	}
	g_message("invite %s redeemed from %s: issued a certificate for '%s'", id, c->peer, name);
	tr_link_close(c->link, TR_MSG_CLOSE, TR_REFUSE_NONE, "joined");
}
