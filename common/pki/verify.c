/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Verifying a peer against the network's CA and CRL: chain, time, revocation,
 * key purpose (client or server) and, for a client, the server's identity.
 */
#include "common/pki/private.h"

#include "common/base/error.h"
#include "common/base/gnutls-auto.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* Our CA signs leaves directly; a longer chain is not one of ours. */
#define CHAIN_MAX 4

typedef struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	gint64 mtime_ns;
} FileStamp;

struct _TrPkiTrust {
	char *ca_path;
	char *crl_path; /* NULL: no CRL */
	gnutls_x509_trust_list_t list;
	FileStamp ca_stamp, crl_stamp;
};

static void
stamp_file(const char *path, FileStamp *stamp)
{
	struct stat st;

	memset(stamp, 0, sizeof(*stamp));
	if (path == NULL || stat(path, &st) < 0)
		return;
	stamp->dev = st.st_dev;
	stamp->ino = st.st_ino;
	stamp->size = st.st_size;
#ifdef G_OS_WIN32
	stamp->mtime_ns = (gint64)st.st_mtime * 1000000000; /* seconds only there */
#else
	stamp->mtime_ns = (gint64)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
#endif
}

static gnutls_x509_crl_t
load_crl(const char *path, gnutls_x509_crt_t ca, GError **error)
{
	g_auto(gnutls_x509_crl_t) crl = NULL;
	g_autofree char *data = NULL;
	unsigned status = 0;
	gnutls_datum_t d;
	gsize len = 0;
	int rc;

	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	d.data = (unsigned char *)data;
	d.size = (unsigned)len;
	rc = gnutls_x509_crl_init(&crl);
	if (rc >= 0)
		rc = gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_PEM);
	if (rc < 0)
		rc = gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_DER);
	if (rc < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "%s: not a CRL: %s", path,
		            gnutls_strerror(rc));
		return NULL;
	}
	rc = gnutls_x509_crl_verify(crl, &ca, 1, 0, &status);
	if (rc < 0 || status != 0) {
		gnutls_datum_t why = {NULL, 0};

		if (rc >= 0)
			gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why,
			                                             0);
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "%s: CRL not signed by the CA in use (%s)", path,
		            rc < 0     ? gnutls_strerror(rc)
		            : why.data ? (const char *)why.data
		                       : "?");
		gnutls_free(why.data);
		return NULL;
	}
	return g_steal_pointer(&crl);
}

/* A fresh trust list from the files, or NULL with the error. */
static gnutls_x509_trust_list_t
load_list(const char *ca_path, const char *crl_path, GError **error)
{
	g_auto(gnutls_x509_trust_list_t) list = NULL;
	g_auto(gnutls_x509_crt_t) ca = NULL;
	g_auto(gnutls_x509_crl_t) crl = NULL;
	unsigned is_ca = 0;
	int rc;

	ca = tr_pki_cert_load_file(ca_path, error);
	if (ca == NULL)
		return NULL;
	if (gnutls_x509_crt_get_basic_constraints(ca, NULL, &is_ca, NULL) < 0 || !is_ca) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "%s is not a CA certificate",
		            ca_path);
		return NULL;
	}
	if (crl_path != NULL) {
		crl = load_crl(crl_path, ca, error);
		if (crl == NULL)
			return NULL;
	}
	rc = gnutls_x509_trust_list_init(&list, 0);
	if (rc < 0) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "cannot create a trust list");
		return NULL;
	}
	/* The list owns what is added to it from here on. */
	rc = gnutls_x509_trust_list_add_cas(list, &ca, 1, 0);
	if (rc != 1) {
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "cannot trust %s", ca_path);
		return NULL;
	}
	ca = NULL;
	if (crl != NULL) {
		rc = gnutls_x509_trust_list_add_crls(list, &crl, 1, 0, 0);
		if (rc != 1) {
			g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "cannot load the CRL %s",
			            crl_path);
			return NULL;
		}
		crl = NULL;
	}
	return g_steal_pointer(&list);
}

TrPkiTrust *
tr_pki_trust_new(const char *ca_path, const char *crl_path, GError **error)
{
	g_autoptr(TrPkiTrust) trust = g_new0(TrPkiTrust, 1);

	trust->ca_path = g_strdup(ca_path);
	trust->crl_path = g_strdup(crl_path);
	stamp_file(trust->ca_path, &trust->ca_stamp);
	stamp_file(trust->crl_path, &trust->crl_stamp);
	trust->list = load_list(ca_path, crl_path, error);
	if (trust->list == NULL)
		return NULL;
	return g_steal_pointer(&trust);
}

TrPkiTrust *
tr_pki_trust_new_for_state_dir(const char *state_dir, GError **error)
{
	g_autofree char *ca = tr_pki_ca_cert_path(state_dir);
	g_autofree char *crl = tr_pki_crl_path(state_dir);

	if (!tr_pki_require_ca(state_dir, error))
		return NULL;
	return tr_pki_trust_new(ca, crl, error);
}

void
tr_pki_trust_free(TrPkiTrust *trust)
{
	if (trust == NULL)
		return;
	if (trust->list)
		gnutls_x509_trust_list_deinit(trust->list, 1);
	g_free(trust->ca_path);
	g_free(trust->crl_path);
	g_free(trust);
}

gboolean
tr_pki_trust_reload_if_changed(TrPkiTrust *trust, gboolean *reloaded, GError **error)
{
	FileStamp ca, crl;
	gnutls_x509_trust_list_t list;

	if (reloaded)
		*reloaded = FALSE;
	stamp_file(trust->ca_path, &ca);
	stamp_file(trust->crl_path, &crl);
	if (memcmp(&ca, &trust->ca_stamp, sizeof(ca)) == 0 &&
	    memcmp(&crl, &trust->crl_stamp, sizeof(crl)) == 0)
		return TRUE;
	list = load_list(trust->ca_path, trust->crl_path, error);
	if (list == NULL) {
		g_prefix_error(error, "keeping the CA and CRL loaded before: ");
		return FALSE;
	}
	gnutls_x509_trust_list_deinit(trust->list, 1);
	trust->list = list;
	trust->ca_stamp = ca;
	trust->crl_stamp = crl;
	if (reloaded)
		*reloaded = TRUE;
	return TRUE;
}

static const char *
status_reason(unsigned status)
{
	if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
		return "unknown CA: not issued by this network's CA";
	if (status & GNUTLS_CERT_REVOKED)
		return "revoked";
	if (status & GNUTLS_CERT_EXPIRED)
		return "expired";
	if (status & GNUTLS_CERT_NOT_ACTIVATED)
		return "not yet valid";
	if (status & (GNUTLS_CERT_PURPOSE_MISMATCH | GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE))
		return "wrong key usage";
	if (status & GNUTLS_CERT_SIGNATURE_FAILURE)
		return "bad signature";
	if (status & GNUTLS_CERT_INSECURE_ALGORITHM)
		return "insecure algorithm";
	return NULL;
}

/* "'alice' (serial 4a..)" for messages; whatever can be read. */
static char *
describe(gnutls_x509_crt_t crt)
{
	g_autofree char *serial = tr_pki_cert_serial_hex(crt);
	g_autofree char *name = tr_pki_cert_get_identity(crt, NULL);

	return g_strdup_printf("certificate of '%s' (serial %s)", name ? name : "?", serial);
}

static gboolean
verify_list(TrPkiTrust *trust, gnutls_x509_crt_t *chain, guint n, TrPkiKind expect_kind,
            const char *expect_name, GError **error)
{
	const char *purpose = expect_kind == TR_PKI_KIND_SERVER ? GNUTLS_KP_TLS_WWW_SERVER
	                                                        : GNUTLS_KP_TLS_WWW_CLIENT;
	gnutls_typed_vdata_st vdata = {
	        .type = GNUTLS_DT_KEY_PURPOSE_OID,
	        .data = (unsigned char *)purpose,
	};
	g_autofree char *what = describe(chain[0]);
	g_autofree char *identity = NULL;
	g_autoptr(GError) local = NULL;
	unsigned status = 0;
	TrPkiKind kind;
	int rc;

	if (expect_kind != TR_PKI_KIND_CLIENT && expect_kind != TR_PKI_KIND_SERVER) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID,
		                    "a peer is either a client or a server");
		return FALSE;
	}
	rc = gnutls_x509_trust_list_verify_crt2(trust->list, chain, n, &vdata, 1, 0, &status, NULL);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "cannot verify the certificate");
	if (status != 0) {
		const char *reason = status_reason(status);
		g_autoptr(gnutls_datum_t) text = g_new0(gnutls_datum_t, 1);

		if (reason == NULL && gnutls_certificate_verification_status_print(
		                              status, GNUTLS_CRT_X509, text, 0) >= 0)
			reason = (const char *)text->data;
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH, "%s refused: %s", what,
		            reason ? reason : "not trusted");
		return FALSE;
	}
	/* GnuTLS accepts a leaf without EKU for any purpose; ours always carry one. */
	if (!tr_pki_cert_get_kind(chain[0], &kind, NULL) || kind != expect_kind) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "%s refused: wrong key usage (not a %s certificate)", what,
		            tr_pki_kind_to_string(expect_kind));
		return FALSE;
	}
	identity = tr_pki_cert_get_identity(chain[0], &local);
	if (identity == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH, "%s refused: %s", what, local->message);
		return FALSE;
	}
	if (expect_name != NULL && strcmp(identity, expect_name) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "%s refused: identity mismatch (expected '%s')", what, expect_name);
		return FALSE;
	}
	return TRUE;
}

gboolean
tr_pki_trust_verify_cert(TrPkiTrust *trust, gnutls_x509_crt_t crt, TrPkiKind expect_kind,
                         const char *expect_name, GError **error)
{
	return verify_list(trust, &crt, 1, expect_kind, expect_name, error);
}

gboolean
tr_pki_trust_verify_chain(TrPkiTrust *trust, const gnutls_datum_t *chain, guint n_chain,
                          TrPkiKind expect_kind, const char *expect_name, GError **error)
{
	gnutls_x509_crt_t crts[CHAIN_MAX] = {NULL};
	gboolean ok = FALSE;
	guint n = 0;

	if (n_chain == 0 || n_chain > CHAIN_MAX) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "the peer sent %u certificates; expected 1 to %d", n_chain, CHAIN_MAX);
		return FALSE;
	}
	for (; n < n_chain; n++) {
		int rc = gnutls_x509_crt_init(&crts[n]);

		if (rc >= 0)
			rc = gnutls_x509_crt_import(crts[n], &chain[n], GNUTLS_X509_FMT_DER);
		if (rc < 0) {
			g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
			            "the peer's certificate %u is malformed: %s", n + 1,
			            gnutls_strerror(rc));
			n++;
			goto out;
		}
	}
	ok = verify_list(trust, crts, n, expect_kind, expect_name, error);
out:
	for (guint i = 0; i < n; i++)
		if (crts[i] != NULL)
			gnutls_x509_crt_deinit(crts[i]);
	return ok;
}
