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
#include "common/base/gnutls-auto.h"
#include "common/pki/invite-token.h"
#include "common/pki/invite.h"
#include "common/pki/pki.h"

#include <string.h>

/* A session authenticated with an invite's PSK. */
typedef struct {
	const char *id; /* the invite's, in the session's identity "invite:<id>" */
} InviteSession;

static InviteSession *
invite_of(Session *s)
{
	return s->data;
}

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
	g_auto(gnutls_x509_crt_t) crt = NULL;

	if (dir == NULL || !tr_pki_ca_exists(dir) || hub->cfg.tls.ca_file == NULL ||
	    hub->cfg.tls.cert_file == NULL)
		return;
	ca = tr_pki_ca_cert_path(dir);
	if (!same_file_contents(ca, hub->cfg.tls.ca_file)) {
		g_debug("invites off: the hub's --ca is not %s", ca);
		return;
	}
	crt = tr_pki_cert_load_file(hub->cfg.tls.cert_file, &error);
	if (crt != NULL)
		hub->invite_server_name = tr_pki_cert_get_identity(crt, &error);
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

/* Its JOIN: the certificate request, signed by the CA and answered
 * (JOINED), then closed. */
static void
invite_join(Session *s, TrMsg *msg)
{
	TrHub *hub = s->hub;
	const char *id = invite_of(s)->id;
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

	g_clear_handle_id(&s->hello_timer, g_source_remove);
	if (!tr_msg_require(msg, &error, TR_ATTR_CERT_REQUEST, 0)) {
		hub_session_refuse(s, TR_REFUSE_PROTOCOL, error->message, error->message);
		return;
	}
	req = g_bytes_get_data(msg->cert_request, &req_len);
	ca = tr_pki_ca_open(hub->cfg.state_dir, &error);
	if (ca == NULL || !g_file_get_contents(ca_path, &ca_text, &ca_len, &error)) {
		g_prefix_error(&error, "invite %s: ", id);
		hub_session_refuse(s, TR_REFUSE_INTERNAL, error->message, "internal error");
		return;
	}
	cert = tr_pki_invite_redeem(ca, id, req, req_len, g_get_real_time() / G_USEC_PER_SEC, &name,
	                            &error);
	if (cert == NULL) {
		hub_session_refuse(s, TR_REFUSE_AUTH, error->message, error->message);
		return;
	}
	ca_pem = g_bytes_new_take(g_steal_pointer(&ca_text), ca_len);
	tr_msg_init(&answer, TR_MSG_JOINED);
	tr_msg_set_bytes(&answer, TR_ATTR_CERTIFICATE, cert);
	tr_msg_set_bytes(&answer, TR_ATTR_CA_CERT, ca_pem);
	tr_msg_set_string(&answer, TR_ATTR_SERVER_NAME, hub->invite_server_name);
	tr_msg_set_u16(&answer, TR_ATTR_UDP_PORT, hub->port);
	if (!tr_link_send_msg(s->link, &answer, &error)) {
		hub_session_refuse(s, TR_REFUSE_INTERNAL, error->message, "internal error");
		return;
	}
	g_message("invite %s redeemed from %s: issued a certificate for '%s'", id, s->remote, name);
	tr_link_close(s->link, TR_MSG_CLOSE, TR_REFUSE_NONE, "joined");
}

/* An invite's session may redeem it and nothing else. */
static void
invite_message(Session *s, TrMsg *msg)
{
	if (msg->type == TR_MSG_JOIN && s->state == SESSION_HELLO)
		invite_join(s, msg);
	else
		hub_session_refuse(s, TR_REFUSE_PROTOCOL,
		                   "an invite session sent something else than JOIN",
		                   "an invite may only be redeemed (JOIN)");
}

static const SessionKind invite_kind = {
        .noun = "invite",
        .message = invite_message,
        .free = g_free,
};

void
hub_invite_start(Session *s)
{
	InviteSession *inv_s = g_new0(InviteSession, 1);
	g_autoptr(GError) error = NULL;
	g_autoptr(TrPkiInvite) inv = NULL;

	inv_s->id = s->cert_identity + strlen(TR_INVITE_PSK_IDENTITY_PREFIX);
	hub_session_set_kind(s, &invite_kind, inv_s);
	s->identity = g_strdup(s->cert_identity);
	inv = tr_pki_invite_lookup(s->hub->cfg.state_dir, inv_s->id, &error);
	if (inv == NULL) {
		hub_session_refuse(s, TR_REFUSE_AUTH, error->message, "unknown invite");
		return;
	}
	if (inv->used) {
		hub_session_refuse(
		        s, TR_REFUSE_AUTH, "invite already used",
		        "this invite was already used (an invite works once); ask for a new one");
		return;
	}
	if (g_get_real_time() / G_USEC_PER_SEC >= inv->expires) {
		hub_session_refuse(s, TR_REFUSE_AUTH, "invite expired",
		                   "this invite has expired; ask for a new one");
		return;
	}
	g_message("%s: invite %s for '%s': waiting for the certificate request", s->remote,
	          inv_s->id, inv->name);
}
