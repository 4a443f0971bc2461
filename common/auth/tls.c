/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/auth/tls.h"

#include "common/base/error.h"
#include "common/base/gnutls-auto.h"
#include "common/base/secret.h"
#include "common/auth/shared-key.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <unistd.h>

/* TLS 1.3 only. PSK only together with (EC)DHE, so PSK sessions keep
 * forward secrecy; plain PSK key exchange is not enabled. */
/* X25519 first (GnuTLS's NORMAL puts SECP256R1 first): the same groups
 * stay allowed, so peers that prefer another still agree on it. */
#define GROUPS                                                                                     \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-X448:+GROUP-SECP384R1:"                  \
	"+GROUP-SECP521R1:+GROUP-FFDHE2048:+GROUP-FFDHE3072:+GROUP-FFDHE4096:"                     \
	"+GROUP-FFDHE6144:+GROUP-FFDHE8192"
#define PRIORITY_CERT "NORMAL:-VERS-ALL:+VERS-TLS1.3:" GROUPS
#define PRIORITY_PSK  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK:" GROUPS

/* The longest certificate chain a peer's is checked to. */
#define MAX_CHAIN 8

/* --shared-key text -> PSK: common/auth/shared-key.h, once at start-up. */
#define PSK_LEN TR_TLS_PSK_LEN
G_STATIC_ASSERT(TR_TLS_PSK_LEN == TR_SHARED_KEY_PSK_LEN);

struct _TrTlsCreds {
	gint ref;
	gboolean is_server;
	gnutls_certificate_credentials_t x509;
	gnutls_x509_trust_list_t trust; /* CA + CRL, for verify_peer */
	char *ca_file;
	char *crl_file;
	gnutls_psk_server_credentials_t psk_server;
	gnutls_psk_client_credentials_t psk_client;
	uint8_t psk[PSK_LEN];
	gboolean has_psk;
	char *psk_identity; /* client */
	TrTlsPskLookup psk_lookup;
	gpointer psk_lookup_data;
	gboolean pair; /* the peer is a client whatever its TLS role */
	gboolean accept_servers;
	gnutls_datum_t ticket_key; /* server with certificates: tickets' master key (memory only) */
};

struct _TrTls {
	TrTlsCreds *creds;
	gnutls_session_t session;
	char *server_name;
	char *psk_identity; /* client: overrides the credentials' identity */
	gboolean handshake_done;
	gboolean used_psk;
	gboolean psk_from_lookup;        /* the key came from creds->psk_lookup */
	int refusal_alert;               /* why verify_peer refused, as a TLS alert */
	gboolean peer_is_server;         /* its certificate is a server certificate */
	const TrTlsTransport *transport; /* NULL: the socket given to tr_tls_new() */
	gpointer transport_data;
	gboolean verified; /* tr_tls_verify_peer() accepted the peer */
	GBytes *ticket;    /* client: the newest ticket the server sent (resumption) */
};

/* ---- Resumption: TLS 1.3 session tickets ------------------------------------
 *
 * Only sessions authenticated with certificates are resumed, and only with
 * (EC)DHE (psk_dhe_ke): the resumed session's keys depend on a fresh
 * exchange, so forward secrecy stays, and the costly part skipped is the
 * signatures (the server's CertificateVerify, the client's, the certificates
 * sent). The ticket carries the client's certificate chain; the hub checks
 * it again on every resumption against its CA and current CRL
 * (tr_tls_verify_peer), so a revoked or expired certificate cannot resume.
 * Shared-key sessions are never resumed: their handshake is already
 * PSK + (EC)DHE, so a ticket would save nothing, and it would skip the
 * lookup of invite keys (single use) and outlive a changed shared key. The
 * tickets' master key lives in the hub's memory only (GnuTLS derives the
 * encryption keys from it and rotates them every 3 x 6 h): whoever read it
 * could forge a ticket for any client certificate, which a key file on disk
 * would hand to anyone who can read the hub's state directory. A restarted
 * hub so accepts no old ticket: its clients make one full handshake.
 * docs/SECURITY.md, "Session resumption".
 */

/* Whether sessions of @creds take part in resumption (hub sessions with
 * certificates; not pair sessions, whose two ends are both clients). */
static gboolean
resumable(const TrTlsCreds *creds)
{
	return creds->x509 != NULL && !creds->psk_client && !creds->pair;
}

static gboolean
tickets_init(TrTlsCreds *creds, GError **error)
{
	int rc;

	if (!creds->is_server || !resumable(creds))
		return TRUE;
	rc = gnutls_session_ticket_key_generate(&creds->ticket_key);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "session ticket key");
	return TRUE;
}

static void
tickets_clear(TrTlsCreds *creds)
{
	if (creds->ticket_key.data == NULL)
		return;
	gnutls_memset(creds->ticket_key.data, 0, creds->ticket_key.size);
	gnutls_free(creds->ticket_key.data);
	creds->ticket_key.data = NULL;
	creds->ticket_key.size = 0;
}

/* gnutls_init flags: no tickets at all where there is no resumption. */
static unsigned
tickets_flags(const TrTlsCreds *creds)
{
	return resumable(creds) ? 0 : GNUTLS_NO_TICKETS;
}

/*
 * A client keeps each ticket as it arrives, while the session is sound:
 * GnuTLS makes a session that ends in an error (a reset connection, the
 * usual reason to reconnect) unresumable, so a ticket packed at the end
 * would be lost.
 */
static int
on_ticket(gnutls_session_t session, unsigned htype, unsigned when, unsigned incoming,
          const gnutls_datum_t *msg)
{
	TrTls *tls = gnutls_session_get_ptr(session);
	gnutls_datum_t data = {NULL, 0};

	(void)htype;
	(void)when;
	(void)incoming;
	(void)msg;
	if (tls == NULL || gnutls_session_get_data2(session, &data) < 0)
		return 0;
	g_clear_pointer(&tls->ticket, g_bytes_unref);
	tls->ticket = g_bytes_new(data.data, data.size);
	gnutls_memset(data.data, 0, data.size); /* holds the resumption secret */
	gnutls_free(data.data);
	return 0;
}

/* A new server session issues tickets (after its handshake) and takes them;
 * a client one keeps the tickets it gets. */
static int
tickets_enable(TrTls *tls)
{
	if (!resumable(tls->creds))
		return 0;
	if (!tls->creds->is_server) {
		gnutls_handshake_set_hook_function(tls->session,
		                                   GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
		                                   GNUTLS_HOOK_POST, on_ticket);
		return 0;
	}
	if (tls->creds->ticket_key.data == NULL)
		return 0;
	return gnutls_session_ticket_enable_server(tls->session, &tls->creds->ticket_key);
}

/* After a handshake: a resumed session must have made a fresh (EC)DHE
 * exchange (a peer that chose psk_ke, no key share, is refused). */
static gboolean
resumption_check(TrTls *tls, GError **error)
{
	if (!gnutls_session_is_resumed(tls->session))
		return TRUE;
	if (gnutls_group_get(tls->session) == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_NEGOTIATE,
		            "TLS handshake: the session was resumed without an (EC)DHE exchange "
		            "(no forward secrecy): refused");
		return FALSE;
	}
	return TRUE;
}

gboolean
tr_tls_resumed(TrTls *tls)
{
	return tls->handshake_done && gnutls_session_is_resumed(tls->session);
}

GBytes *
tr_tls_take_ticket(TrTls *tls)
{
	/* Only from a hub this end accepted (tr_tls_verify_peer). */
	if (!tls->verified || tls->used_psk)
		return NULL;
	return g_steal_pointer(&tls->ticket);
}

void
tr_tls_offer_ticket(TrTls *tls, GBytes *ticket)
{
	gsize len;
	const void *data;

	if (ticket == NULL || tls->creds->is_server || !resumable(tls->creds) ||
	    tls->handshake_done)
		return;
	data = g_bytes_get_data(ticket, &len);
	/* A ticket GnuTLS cannot read only means a full handshake. */
	if (gnutls_session_set_data(tls->session, data, len) < 0)
		g_debug("TLS: the stored session ticket is not usable; full handshake");
}

static int
psk_server_cb(gnutls_session_t session, const char *username, gnutls_datum_t *key)
{
	TrTls *tls = gnutls_session_get_ptr(session);
	TrTlsCreds *creds = tls ? tls->creds : NULL;
	uint8_t found[PSK_LEN];
	int rc = 0;

	if (creds == NULL)
		return -1;
	if (creds->psk_lookup != NULL) {
		rc = creds->psk_lookup(username, found, creds->psk_lookup_data);
		if (rc < 0)
			return -1;
	}
	if (rc == 0 && !creds->has_psk)
		return -1;
	key->data = gnutls_malloc(PSK_LEN);
	if (key->data == NULL) {
		gnutls_memset(found, 0, sizeof(found));
		return -1;
	}
	memcpy(key->data, rc > 0 ? found : creds->psk, PSK_LEN);
	key->size = PSK_LEN;
	tls->psk_from_lookup = rc > 0;
	gnutls_memset(found, 0, sizeof(found));
	return 0;
}

static gboolean
load_trust(TrTlsCreds *creds, gnutls_x509_trust_list_t *out, GError **error)
{
	g_auto(gnutls_x509_trust_list_t) tl = NULL;
	int rc;

	rc = gnutls_x509_trust_list_init(&tl, 0);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "trust list");
	rc = gnutls_x509_trust_list_add_trust_file(tl, creds->ca_file, NULL, GNUTLS_X509_FMT_PEM, 0,
	                                           0);
	if (rc <= 0) {
		if (rc == 0) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "expected a PEM CA certificate in %s (--ca), found none",
			            creds->ca_file);
			return FALSE;
		}
		return tr_set_error_gnutls(error, TR_ERROR_CONFIG, rc, "%s", creds->ca_file);
	}
	if (creds->crl_file != NULL) {
		rc = gnutls_x509_trust_list_add_trust_file(
		        tl, NULL, creds->crl_file, GNUTLS_X509_FMT_PEM, GNUTLS_TL_VERIFY_CRL, 0);
		if (rc < 0)
			return tr_set_error_gnutls(error, TR_ERROR_CONFIG, rc, "%s",
			                           creds->crl_file);
	}
	*out = g_steal_pointer(&tl);
	return TRUE;
}

/* The client's PSK: the session's identity (or the credentials'), the key. */
static int
psk_client_cb(gnutls_session_t session, gnutls_datum_t *username, gnutls_datum_t *key)
{
	TrTls *tls = gnutls_session_get_ptr(session);
	const char *id;

	if (tls == NULL || !tls->creds->has_psk)
		return -1;
	id = tls->psk_identity ? tls->psk_identity : tls->creds->psk_identity;
	username->data = gnutls_malloc(strlen(id) + 1);
	key->data = gnutls_malloc(PSK_LEN);
	if (username->data == NULL || key->data == NULL) {
		gnutls_free(username->data);
		gnutls_free(key->data);
		return -1;
	}
	memcpy(username->data, id, strlen(id) + 1);
	username->size = (unsigned)strlen(id);
	memcpy(key->data, tls->creds->psk, PSK_LEN);
	key->size = PSK_LEN;
	return 0;
}

/* Certificates GnuTLS allocated, the array too (gnutls_certificate_get_x509_crt). */
typedef struct {
	gnutls_x509_crt_t *crts;
	unsigned n;
} CertChain;

static void
cert_chain_clear(CertChain *chain)
{
	for (unsigned i = 0; i < chain->n; i++)
		gnutls_x509_crt_deinit(chain->crts[i]);
	gnutls_free(chain->crts);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CertChain, cert_chain_clear)

/* A file the credentials need, named by its option when it cannot be read. */
static gboolean
check_file(const char *path, const char *what, const char *option, GError **error)
{
	if (access(path, R_OK) == 0)
		return TRUE;
	tr_set_error_errno(error, errno, "cannot read %s %s (%s)", what, path, option);
	return FALSE;
}

/* The key is the one the certificate was issued for. */
static gboolean
check_key_matches(gnutls_certificate_credentials_t x509, const char *cert_file,
                  const char *key_file, GError **error)
{
	g_auto(CertChain) chain = {0};
	g_auto(gnutls_x509_privkey_t) key = NULL;
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);

	if (gnutls_certificate_get_x509_crt(x509, 0, &chain.crts, &chain.n) < 0 || chain.n == 0 ||
	    gnutls_certificate_get_x509_key(x509, 0, &key) < 0)
		return TRUE;
	if (gnutls_x509_crt_get_key_id(chain.crts[0], GNUTLS_KEYID_USE_SHA256, a, &alen) == 0 &&
	    gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b, &blen) == 0 &&
	    (alen != blen || memcmp(a, b, alen) != 0)) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "the key %s (--key) does not belong to the certificate %s (--cert): "
		            "expected the key the certificate was issued for",
		            key_file, cert_file);
		return FALSE;
	}
	return TRUE;
}

void
tr_tls_config_copy(TrTlsConfig *dst, const TrTlsConfig *src)
{
	*dst = *src;
	dst->ca_file = g_strdup(src->ca_file);
	dst->crl_file = g_strdup(src->crl_file);
	dst->cert_file = g_strdup(src->cert_file);
	dst->key_file = g_strdup(src->key_file);
	dst->shared_key = g_strdup(src->shared_key);
	dst->psk_identity = g_strdup(src->psk_identity);
}

void
tr_tls_config_clear(TrTlsConfig *c)
{
	g_free((char *)c->ca_file);
	g_free((char *)c->crl_file);
	g_free((char *)c->cert_file);
	g_free((char *)c->key_file);
	tr_secret_free((char *)c->shared_key);
	g_free((char *)c->psk_identity);
	c->ca_file = c->crl_file = c->cert_file = c->key_file = NULL;
	c->shared_key = c->psk_identity = NULL;
}

TrTlsCreds *
tr_tls_creds_new(const TrTlsConfig *config, GError **error)
{
	g_autoptr(TrTlsCreds) creds = g_new0(TrTlsCreds, 1);
	g_autoptr(GBytes) key = NULL;
	g_autofree char *cert_pem = NULL;
	gsize cert_len = 0;
	gboolean want_cert = config->cert_file || config->key_file || config->ca_file;
	int rc;

	creds->ref = 1;
	creds->is_server = config->is_server;
	creds->pair = config->pair;
	creds->accept_servers = config->is_server && config->accept_servers;

	if (want_cert) {
		if (config->ca_file == NULL || config->cert_file == NULL ||
		    config->key_file == NULL) {
			g_set_error(
			        error, TR_ERROR, TR_ERROR_CONFIG,
			        "certificate authentication needs a CA, a certificate and a key "
			        "(ca, cert, key)");
			return NULL;
		}
		if (!check_file(config->ca_file, "the CA certificate", "--ca", error) ||
		    !check_file(config->cert_file, "the certificate", "--cert", error) ||
		    !check_file(config->key_file, "the private key", "--key", error) ||
		    (config->crl_file &&
		     !check_file(config->crl_file, "the revocation list", "--crl", error)))
			return NULL;
		creds->ca_file = g_strdup(config->ca_file);
		creds->crl_file = g_strdup(config->crl_file);
		rc = gnutls_certificate_allocate_credentials(&creds->x509);
		if (rc < 0)
			return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "credentials"), NULL;
		/* The private key only from a file nobody else can read. */
		key = tr_secret_file_load(config->key_file, "private key", error);
		if (key == NULL)
			return NULL;
		if (!g_file_get_contents(config->cert_file, &cert_pem, &cert_len, NULL)) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "cannot read the certificate %s", config->cert_file);
			return NULL;
		}
		{
			gsize key_len;
			gnutls_datum_t cd = {(unsigned char *)cert_pem, (unsigned)cert_len};
			gnutls_datum_t kd = {(unsigned char *)g_bytes_get_data(key, &key_len), 0};

			kd.size = (unsigned)key_len;
			rc = gnutls_certificate_set_x509_key_mem(creds->x509, &cd, &kd,
			                                         GNUTLS_X509_FMT_PEM);
		}
		if (rc < 0)
			return tr_set_error_gnutls(
			               error, TR_ERROR_CONFIG, rc,
			               "expected a PEM certificate in %s (--cert) and its "
			               "PEM private key in %s (--key)",
			               config->cert_file, config->key_file),
			       NULL;
		if (!check_key_matches(creds->x509, config->cert_file, config->key_file, error))
			return NULL;
		/* The CA goes to the handshake too so that the server's
		 * CertificateRequest names it. */
		rc = gnutls_certificate_set_x509_trust_file(creds->x509, config->ca_file,
		                                            GNUTLS_X509_FMT_PEM);
		if (rc <= 0) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "expected a PEM CA certificate in %s (--ca): %s",
			            config->ca_file, rc == 0 ? "found none" : gnutls_strerror(rc));
			return NULL;
		}
		if (!load_trust(creds, &creds->trust, error))
			return NULL;
	}

	if (config->shared_key != NULL && config->psk_key != NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "a shared key and a raw pre-shared key exclude each other");
		return NULL;
	}
	if (config->shared_key != NULL) {
		if (!tr_shared_key_derive(config->shared_key, config->psk_network, creds->psk,
		                          error))
			return NULL;
		creds->has_psk = TRUE;
	} else if (config->psk_key != NULL) {
		memcpy(creds->psk, config->psk_key, PSK_LEN);
		creds->has_psk = TRUE;
	}
	if (config->is_server && config->psk_lookup != NULL) {
		creds->psk_lookup = config->psk_lookup;
		creds->psk_lookup_data = config->psk_lookup_data;
	}
	if (config->is_server && (creds->has_psk || creds->psk_lookup != NULL)) {
		rc = gnutls_psk_allocate_server_credentials(&creds->psk_server);
		if (rc < 0)
			return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "PSK"), NULL;
		gnutls_psk_set_server_credentials_function(creds->psk_server, psk_server_cb);
	} else if (!config->is_server && creds->has_psk) {
		rc = gnutls_psk_allocate_client_credentials(&creds->psk_client);
		if (rc < 0)
			return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "PSK"), NULL;
		creds->psk_identity =
		        g_strdup(config->psk_identity ? config->psk_identity : "trellis");
		gnutls_psk_set_client_credentials_function2(creds->psk_client, psk_client_cb);
	}

	if (creds->x509 == NULL && !creds->has_psk) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "no authentication configured: give a CA, certificate and key, or a "
		            "shared key");
		return NULL;
	}
	if (!tickets_init(creds, error))
		return NULL;
	return g_steal_pointer(&creds);
}

TrTlsCreds *
tr_tls_creds_ref(TrTlsCreds *creds)
{
	g_atomic_int_inc(&creds->ref);
	return creds;
}

void
tr_tls_creds_unref(TrTlsCreds *creds)
{
	if (creds == NULL || !g_atomic_int_dec_and_test(&creds->ref))
		return;
	g_clear_pointer(&creds->x509, gnutls_certificate_free_credentials);
	g_clear_pointer(&creds->trust, tr_gnutls_trust_list_deinit);
	g_clear_pointer(&creds->psk_server, gnutls_psk_free_server_credentials);
	g_clear_pointer(&creds->psk_client, gnutls_psk_free_client_credentials);
	tickets_clear(creds);
	gnutls_memset(creds->psk, 0, sizeof(creds->psk));
	g_free(creds->psk_identity);
	g_free(creds->ca_file);
	g_free(creds->crl_file);
	g_free(creds);
}

gboolean
tr_tls_creds_has_cert(const TrTlsCreds *creds)
{
	return creds->x509 != NULL;
}

gboolean
tr_tls_creds_has_psk(const TrTlsCreds *creds)
{
	return creds->has_psk;
}

gboolean
tr_tls_creds_reload_crl(TrTlsCreds *creds, GError **error)
{
	gnutls_x509_trust_list_t tl;

	if (creds->trust == NULL)
		return TRUE;
	if (!load_trust(creds, &tl, error))
		return FALSE;
	tr_gnutls_trust_list_deinit(creds->trust);
	creds->trust = tl;
	return TRUE;
}

/* Reasons, most specific first. */
static const char *
status_reason(unsigned status)
{
	if (status & GNUTLS_CERT_REVOKED)
		return "certificate revoked";
	if (status & GNUTLS_CERT_EXPIRED)
		return "certificate expired";
	if (status & GNUTLS_CERT_NOT_ACTIVATED)
		return "certificate not yet valid";
	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
		return "certificate from an unknown CA";
	if (status & GNUTLS_CERT_SIGNATURE_FAILURE)
		return "certificate signature invalid";
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
		return "certificate name does not match";
	if (status & GNUTLS_CERT_PURPOSE_MISMATCH)
		return "certificate not meant for this use";
	if (status & GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED)
		return "CRL superseded";
	if (status & GNUTLS_CERT_INSECURE_ALGORITHM)
		return "certificate uses an insecure algorithm";
	return "certificate invalid";
}

/* The TLS alert that says the same to the peer (RFC 8446 6.2). */
static int
status_alert(unsigned status)
{
	if (status & GNUTLS_CERT_REVOKED)
		return GNUTLS_A_CERTIFICATE_REVOKED;
	if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
		return GNUTLS_A_CERTIFICATE_EXPIRED;
	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
		return GNUTLS_A_UNKNOWN_CA;
	if (status & GNUTLS_CERT_PURPOSE_MISMATCH)
		return GNUTLS_A_UNSUPPORTED_CERTIFICATE;
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
		return GNUTLS_A_BAD_CERTIFICATE;
	return GNUTLS_A_CERTIFICATE_UNKNOWN;
}

void
tr_tls_send_refusal(TrTls *tls)
{
	if (tls->handshake_done)
		gnutls_alert_send(tls->session, GNUTLS_AL_FATAL,
		                  tls->refusal_alert
		                          ? (gnutls_alert_description_t)tls->refusal_alert
		                          : GNUTLS_A_BAD_CERTIFICATE);
}

gboolean
tr_tls_creds_is_revoked(TrTlsCreds *creds, const GBytes *cert_der)
{
	g_auto(gnutls_x509_crt_t) crt = NULL;
	gnutls_datum_t d;
	unsigned status = 0;
	gsize len;

	if (creds->trust == NULL || cert_der == NULL)
		return FALSE;
	d.data = (unsigned char *)g_bytes_get_data((GBytes *)cert_der, &len);
	d.size = (unsigned)len;
	if (gnutls_x509_crt_init(&crt) < 0)
		return FALSE;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) >= 0)
		gnutls_x509_trust_list_verify_crt2(creds->trust, &crt, 1, NULL, 0, 0, &status,
		                                   NULL);
	return (status & GNUTLS_CERT_REVOKED) != 0;
}

/*
 * One priority cache per priority string for the whole process, referenced by
 * every session (gnutls_priority_set): gnutls_priority_set_direct would parse
 * the string into a cache of its own, about 8 KiB per session, kept as long as
 * the session (a hub with 10,000 clients held 80 MiB of identical copies).
 */
static int
set_priority(gnutls_session_t session, gboolean psk, const char **err_pos)
{
	static gsize ready[2];
	static gnutls_priority_t cache[2];
	const char *text = psk ? PRIORITY_PSK : PRIORITY_CERT;

	if (g_once_init_enter(&ready[psk])) {
		if (gnutls_priority_init(&cache[psk], text, NULL) < 0)
			cache[psk] = NULL;
		g_once_init_leave(&ready[psk], 1);
	}
	if (cache[psk] == NULL) /* reports what is wrong with the string */
		return gnutls_priority_set_direct(session, text, err_pos);
	return gnutls_priority_set(session, cache[psk]);
}

static TrTls *
tls_new(TrTlsCreds *creds, const char *server_name, GError **error)
{
	g_autoptr(TrTls) tls = g_new0(TrTls, 1);
	const char *err_pos = NULL;
	int rc;

	tls->creds = tr_tls_creds_ref(creds);
	tls->server_name = g_strdup(server_name);
	rc = gnutls_init(&tls->session, (creds->is_server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
	                                        GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL |
	                                        tickets_flags(creds));
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "TLS session"), NULL;
	gnutls_session_set_ptr(tls->session, tls);

	if (creds->is_server) {
		if (creds->x509) {
			gnutls_credentials_set(tls->session, GNUTLS_CRD_CERTIFICATE, creds->x509);
			gnutls_certificate_server_set_request(tls->session, GNUTLS_CERT_REQUIRE);
			/* Name no CAs in the request: a client with a certificate from
			 * another CA still sends it, and is told "unknown CA" rather
			 * than failing with nothing to show. */
			gnutls_certificate_send_x509_rdn_sequence(tls->session, 1);
		}
		if (creds->psk_server)
			gnutls_credentials_set(tls->session, GNUTLS_CRD_PSK, creds->psk_server);
		rc = set_priority(tls->session, creds->psk_server != NULL, &err_pos);
	} else if (creds->psk_client) {
		gnutls_credentials_set(tls->session, GNUTLS_CRD_PSK, creds->psk_client);
		rc = set_priority(tls->session, TRUE, &err_pos);
	} else {
		gnutls_credentials_set(tls->session, GNUTLS_CRD_CERTIFICATE, creds->x509);
		rc = set_priority(tls->session, FALSE, &err_pos);
		if (rc >= 0 && server_name && g_hostname_is_ip_address(server_name) == FALSE)
			gnutls_server_name_set(tls->session, GNUTLS_NAME_DNS, server_name,
			                       strlen(server_name));
	}
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "TLS priority"), NULL;
	rc = tickets_enable(tls);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "session tickets"), NULL;
	gnutls_handshake_set_timeout(tls->session, 0); /* the caller bounds it */
	return g_steal_pointer(&tls);
}

TrTls *
tr_tls_new(TrTlsCreds *creds, int fd, const char *server_name, GError **error)
{
	TrTls *tls = tls_new(creds, server_name, error);

	if (tls != NULL)
		gnutls_transport_set_int(tls->session, fd);
	return tls;
}

static ssize_t
transport_push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
	TrTls *tls = ptr;
	gssize n = tls->transport->push(tls->transport_data, buf, len);

	if (n < 0)
		gnutls_transport_set_errno(tls->session, errno);
	return n;
}

static ssize_t
transport_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	TrTls *tls = ptr;
	gssize n = tls->transport->pull(tls->transport_data, buf, len);

	if (n < 0)
		gnutls_transport_set_errno(tls->session, errno);
	return n;
}

TrTls *
tr_tls_new_transport(TrTlsCreds *creds, const TrTlsTransport *transport, gpointer user_data,
                     GError **error)
{
	TrTls *tls = tls_new(creds, NULL, error);

	if (tls == NULL)
		return NULL;
	tls->transport = transport;
	tls->transport_data = user_data;
	gnutls_transport_set_ptr(tls->session, tls);
	gnutls_transport_set_push_function(tls->session, transport_push);
	gnutls_transport_set_pull_function(tls->session, transport_pull);
	return tls;
}

void
tr_tls_free(TrTls *tls)
{
	if (tls == NULL)
		return;
	g_clear_pointer(&tls->session, gnutls_deinit);
	tr_tls_creds_unref(tls->creds);
	g_free(tls->server_name);
	g_free(tls->psk_identity);
	g_clear_pointer(&tls->ticket, g_bytes_unref);
	g_free(tls);
}

/*
 * What an alert from the peer says about us, as a TR_ERROR code and words a
 * person can act on (@what, @hint: "the peer <what> (TLS alert: NAME)<hint>").
 * A refusal of our key or certificate, or nothing in common, is
 * TR_ERROR_AUTH or _NEGOTIATE: retrying cannot fix it. An alert that says
 * nothing about us is TR_ERROR_IO (@what NULL): it may work next time. With
 * a shared key alone (@psk), a key mismatch shows as a failed decryption or
 * no common parameters.
 */
static TrError
alert_meaning(int alert, gboolean psk, const char **what, const char **hint)
{
	*what = NULL;
	*hint = "";
	switch (alert) {
	case GNUTLS_A_DECRYPT_ERROR:
	case GNUTLS_A_ILLEGAL_PARAMETER:
	case GNUTLS_A_UNKNOWN_PSK_IDENTITY:
	case GNUTLS_A_BAD_RECORD_MAC:
		if (!psk)
			return TR_ERROR_IO;
		*what = "refused our shared key";
		*hint = ": the two sides' --shared-key differ";
		return TR_ERROR_AUTH;
	case GNUTLS_A_UNKNOWN_CA:
	case GNUTLS_A_BAD_CERTIFICATE:
	case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
	case GNUTLS_A_CERTIFICATE_UNKNOWN:
		*what = "refused our certificate";
		*hint = ": it was not issued by the CA the peer trusts";
		return TR_ERROR_AUTH;
	case GNUTLS_A_CERTIFICATE_REVOKED:
		*what = "says our certificate is revoked";
		return TR_ERROR_AUTH;
	case GNUTLS_A_CERTIFICATE_EXPIRED:
		*what = "says our certificate has expired";
		return TR_ERROR_AUTH;
	case GNUTLS_A_CERTIFICATE_REQUIRED:
		*what = "wants a certificate";
		*hint = ": give --cert and --key, or use its shared key";
		return TR_ERROR_AUTH;
	case GNUTLS_A_ACCESS_DENIED:
		*what = "denied access";
		return TR_ERROR_AUTH;
	case GNUTLS_A_PROTOCOL_VERSION:
	case GNUTLS_A_INSUFFICIENT_SECURITY:
	case GNUTLS_A_HANDSHAKE_FAILURE:
		*what = "found nothing in common with us";
		if (!psk)
			return TR_ERROR_NEGOTIATE;
		*hint = ": it may not take shared keys, or its --shared-key differs";
		return TR_ERROR_AUTH;
	default:
		return TR_ERROR_IO;
	}
}

TrError
tr_tls_error_code(int rc, int alert, gboolean psk)
{
	const char *what, *hint;

	switch (rc) {
	case GNUTLS_E_WARNING_ALERT_RECEIVED:
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		return alert_meaning(alert, psk, &what, &hint);
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
	case GNUTLS_E_CERTIFICATE_ERROR:
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
		return TR_ERROR_AUTH;
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
	case GNUTLS_E_NO_CIPHER_SUITES:
	case GNUTLS_E_NO_COMMON_KEY_SHARE:
	case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
		return TR_ERROR_NEGOTIATE;
	default:
		return TR_ERROR_IO;
	}
}

/* Whether this end authenticates with a shared key alone. */
static gboolean
psk_only(TrTls *tls)
{
	return tls->creds->has_psk && tls->creds->x509 == NULL;
}

/* A failed handshake, by code (tr_tls_error_code) and in words. */
static void
handshake_error(TrTls *tls, int rc, GError **error)
{
	gnutls_alert_description_t alert = gnutls_alert_get(tls->session);
	TrError code = tr_tls_error_code(rc, alert, psk_only(tls));
	const char *what, *hint;

	if (rc == GNUTLS_E_WARNING_ALERT_RECEIVED || rc == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		alert_meaning(alert, psk_only(tls), &what, &hint);
		if (what)
			g_set_error(error, TR_ERROR, code, "the peer %s (TLS alert: %s)%s", what,
			            gnutls_alert_get_name(alert), hint);
		else
			g_set_error(error, TR_ERROR, code,
			            "TLS handshake: the peer sent the alert \"%s\"",
			            gnutls_alert_get_name(alert));
		return;
	}
	if (code == TR_ERROR_AUTH)
		g_set_error(error, TR_ERROR, code, "TLS handshake: the peer sent no certificate");
	else if (code == TR_ERROR_NEGOTIATE)
		tr_set_error_gnutls(error, code, rc,
		                    "TLS handshake: nothing in common with the peer (one side uses "
		                    "certificates, the other a shared key, or it is not a Trellis "
		                    "node)");
	else
		tr_set_error_gnutls(error, code, rc, "TLS handshake");
}

int
tr_tls_handshake(TrTls *tls, GError **error)
{
	int rc;

	if (tls->handshake_done)
		return 1;
	rc = gnutls_handshake(tls->session);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
		return 0;
	if (rc < 0) {
		/* Tell the peer why, so that it need not guess from a closed socket. */
		if (rc != GNUTLS_E_WARNING_ALERT_RECEIVED && rc != GNUTLS_E_FATAL_ALERT_RECEIVED)
			gnutls_alert_send_appropriate(tls->session, rc);
		handshake_error(tls, rc, error);
		return -1;
	}
	tls->used_psk = gnutls_auth_get_type(tls->session) == GNUTLS_CRD_PSK;
	if (!resumption_check(tls, error)) {
		gnutls_alert_send(tls->session, GNUTLS_AL_FATAL, GNUTLS_A_INSUFFICIENT_SECURITY);
		return -1;
	}
	tls->handshake_done = TRUE;
	return 1;
}

gboolean
tr_tls_wants_write(TrTls *tls)
{
	return gnutls_record_get_direction(tls->session) == 1;
}

static char *
cert_common_name(gnutls_x509_crt_t crt)
{
	char buf[256];
	size_t len = sizeof(buf);

	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &len) < 0)
		return NULL;
	return g_strndup(buf, len);
}

static gboolean verify_peer(TrTls *tls, char **identity, GError **error);

gboolean
tr_tls_verify_peer(TrTls *tls, char **identity, GError **error)
{
	g_return_val_if_fail(tls->handshake_done, FALSE);

	if (!verify_peer(tls, identity, error))
		return FALSE;
	tls->verified = TRUE;
	return TRUE;
}

static gboolean
verify_peer(TrTls *tls, char **identity, GError **error)
{
	const gnutls_datum_t *sent;
	unsigned n_sent = 0, status = 0;
	g_auto(CertChain) chain = {0};
	gnutls_typed_vdata_st vdata[2];
	unsigned n_vdata = 0;
	int rc;

	if (tls->used_psk && gnutls_session_is_resumed(tls->session)) {
		/* Never issued to shared-key sessions; refused should one come. */
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "a resumed shared-key session (only certificate sessions resume)");
		return FALSE;
	}
	if (tls->used_psk) {
		const char *id = tls->creds->is_server
		                         ? gnutls_psk_server_get_username(tls->session)
		                         : "server";
		if (tls->psk_from_lookup && id != NULL && *id != '\0') {
			*identity = g_strdup(id);
			return TRUE;
		}
		if (!tls->creds->has_psk) {
			g_set_error(error, TR_ERROR, TR_ERROR_AUTH, "PSK not configured");
			return FALSE;
		}
		*identity = g_strdup_printf("psk:%s", id && *id ? id : "anonymous");
		return TRUE;
	}
	if (tls->creds->trust == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH, "no CA configured to verify the peer");
		return FALSE;
	}
	sent = gnutls_certificate_get_peers(tls->session, &n_sent);
	if (sent == NULL || n_sent == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH, "the peer sent no certificate");
		return FALSE;
	}
	n_sent = MIN(n_sent, MAX_CHAIN);
	chain.crts = gnutls_calloc(n_sent, sizeof(*chain.crts));
	if (chain.crts == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "out of memory");
		return FALSE;
	}
	for (; chain.n < n_sent; chain.n++) {
		rc = gnutls_x509_crt_init(&chain.crts[chain.n]);
		if (rc < 0)
			return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "peer certificate");
		rc = gnutls_x509_crt_import(chain.crts[chain.n], &sent[chain.n],
		                            GNUTLS_X509_FMT_DER);
		if (rc < 0) {
			chain.n++;
			return tr_set_error_gnutls(error, TR_ERROR_AUTH, rc, "peer certificate");
		}
	}

	/* Servers prove they are servers, clients that they are clients. */
	vdata[n_vdata].type = GNUTLS_DT_KEY_PURPOSE_OID;
	vdata[n_vdata].data = (unsigned char *)(tls->creds->is_server || tls->creds->pair
	                                                ? GNUTLS_KP_TLS_WWW_CLIENT
	                                                : GNUTLS_KP_TLS_WWW_SERVER);
	vdata[n_vdata++].size = 0;
	if (!tls->creds->is_server && tls->server_name) {
		vdata[n_vdata].type = GNUTLS_DT_DNS_HOSTNAME;
		vdata[n_vdata].data = (unsigned char *)tls->server_name;
		vdata[n_vdata++].size = 0;
	}
	rc = gnutls_x509_trust_list_verify_crt2(tls->creds->trust, chain.crts, chain.n, vdata,
	                                        n_vdata, 0, &status, NULL);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_AUTH, rc,
		                           "verifying the peer certificate");
	/* Not a client certificate: another hub's server certificate may do. */
	if ((status & ~(unsigned)GNUTLS_CERT_INVALID) == GNUTLS_CERT_PURPOSE_MISMATCH &&
	    tls->creds->accept_servers) {
		unsigned as_server = 0;

		vdata[0].data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER;
		rc = gnutls_x509_trust_list_verify_crt2(tls->creds->trust, chain.crts, chain.n,
		                                        vdata, n_vdata, 0, &as_server, NULL);
		/* Its reasons as a server certificate (revoked, expired) are the ones. */
		if (rc >= 0) {
			status = as_server;
			tls->peer_is_server = as_server == 0;
		}
	} else if (status == 0 && !tls->creds->is_server && !tls->creds->pair) {
		tls->peer_is_server = TRUE;
	}
	if (status != 0) {
		g_autofree char *cn = cert_common_name(chain.crts[0]);
		unsigned worse = GNUTLS_CERT_REVOKED | GNUTLS_CERT_EXPIRED |
		                 GNUTLS_CERT_NOT_ACTIVATED | GNUTLS_CERT_SIGNER_NOT_FOUND |
		                 GNUTLS_CERT_SIGNATURE_FAILURE;

		/* The hub's reason goes to the client: no path of the hub's in it. */
		if ((status & GNUTLS_CERT_SIGNER_NOT_FOUND) && tls->creds->pair)
			g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
			            "certificate from an unknown CA: the peer's certificate "
			            "(subject %s) "
			            "was not issued by the CA in %s (--ca)",
			            cn ? cn : "?", tls->creds->ca_file);
		else if ((status & GNUTLS_CERT_SIGNER_NOT_FOUND) && tls->creds->is_server)
			g_set_error(
			        error, TR_ERROR, TR_ERROR_AUTH,
			        "certificate from an unknown CA: the certificate (subject %s) was "
			        "not issued by this hub's CA",
			        cn ? cn : "?");
		else if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
			g_set_error(
			        error, TR_ERROR, TR_ERROR_AUTH,
			        "certificate from an unknown CA: the server's certificate (subject "
			        "%s) was not issued by the CA in %s (--ca)",
			        cn ? cn : "?", tls->creds->ca_file);
		else if ((status & GNUTLS_CERT_UNEXPECTED_OWNER) && !(status & worse) &&
		         tls->server_name)
			g_set_error(
			        error, TR_ERROR, TR_ERROR_AUTH,
			        "certificate name does not match: the server's certificate is for "
			        "'%s', but --server-name expects '%s'",
			        cn ? cn : "?", tls->server_name);
		else if ((status & ~(unsigned)GNUTLS_CERT_INVALID) ==
		                 GNUTLS_CERT_PURPOSE_MISMATCH &&
		         !tls->creds->pair)
			g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
			            "certificate not meant for this use: the peer's certificate "
			            "(subject %s) is not a %s certificate%s",
			            cn ? cn : "?", tls->creds->is_server ? "client" : "server",
			            tls->creds->is_server
			                    ? (tls->creds->accept_servers
			                               ? " nor a hub's server certificate"
			                               : "")
			                    : " (a hub's: trellis pki issue NAME --server)");
		else
			g_set_error(error, TR_ERROR, TR_ERROR_AUTH, "%s (subject %s)",
			            status_reason(status), cn ? cn : "?");
		tls->refusal_alert = status_alert(status);
		return FALSE;
	}
	*identity = cert_common_name(chain.crts[0]);
	if (*identity == NULL || **identity == '\0') {
		g_clear_pointer(identity, g_free);
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH, "the peer certificate has no name");
		return FALSE;
	}
	return TRUE;
}

gboolean
tr_tls_peer_is_server(TrTls *tls)
{
	return tls->peer_is_server;
}

GBytes *
tr_tls_peer_cert(TrTls *tls)
{
	const gnutls_datum_t *chain;
	unsigned n = 0;

	chain = gnutls_certificate_get_peers(tls->session, &n);
	if (chain == NULL || n == 0)
		return NULL;
	return g_bytes_new(chain[0].data, chain[0].size);
}

gssize
tr_tls_read(TrTls *tls, void *buf, size_t len, GError **error)
{
	ssize_t n = gnutls_record_recv(tls->session, buf, len);

	if (n >= 0)
		return n;
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
		return -EAGAIN;
	if (n == GNUTLS_E_PREMATURE_TERMINATION) {
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "connection closed by the peer");
		return -EIO;
	}
	if (n == GNUTLS_E_FATAL_ALERT_RECEIVED || n == GNUTLS_E_WARNING_ALERT_RECEIVED) {
		gnutls_alert_description_t a = gnutls_alert_get(tls->session);
		const char *what, *hint;

		/* After the handshake: the peer's verdict on our certificate. */
		alert_meaning(a, psk_only(tls), &what, &hint);
		g_set_error(error, TR_ERROR, tr_tls_error_code((int)n, a, psk_only(tls)),
		            "%s%s%sthe peer sent the TLS alert '%s'", what ? "the peer " : "",
		            what ? what : "", what ? ": " : "", gnutls_alert_get_name(a));
		return -EIO;
	}
	tr_set_error_gnutls(error, tr_tls_error_code((int)n, 0, psk_only(tls)), (int)n,
	                    "TLS receive");
	return -EIO;
}

gssize
tr_tls_write(TrTls *tls, const void *buf, size_t len, GError **error)
{
	ssize_t n = gnutls_record_send(tls->session, buf, len);

	if (n >= 0)
		return n;
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
		return -EAGAIN;
	tr_set_error_gnutls(error, tr_tls_error_code((int)n, 0, psk_only(tls)), (int)n, "TLS send");
	return -EIO;
}

gboolean
tr_tls_pending(TrTls *tls)
{
	return gnutls_record_check_pending(tls->session) > 0;
}

void
tr_tls_bye(TrTls *tls)
{
	if (tls->handshake_done)
		gnutls_bye(tls->session, GNUTLS_SHUT_WR);
}

gboolean
tr_tls_export(TrTls *tls, const char *label, const void *context, size_t context_len, void *out,
              size_t out_len, GError **error)
{
	int rc = gnutls_prf_rfc5705(tls->session, strlen(label), label, context_len, context,
	                            out_len, out);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "TLS exporter");
	return TRUE;
}

char *
tr_tls_describe(TrTls *tls)
{
	return g_strdup_printf("%s / %s / %s%s%s",
	                       gnutls_protocol_get_name(gnutls_protocol_get_version(tls->session)),
	                       gnutls_cipher_get_name(gnutls_cipher_get(tls->session)),
	                       gnutls_group_get_name(gnutls_group_get(tls->session)) ?: "?",
	                       tls->used_psk ? " / PSK" : " / certificate",
	                       tr_tls_resumed(tls) ? " (resumed)" : "");
}

void
tr_tls_set_psk_identity(TrTls *tls, const char *identity)
{
	g_free(tls->psk_identity);
	tls->psk_identity = g_strdup(identity);
}
