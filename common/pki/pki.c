/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network's CA: creating it, opening it, and issuing certificates, either
 * with a key made here or over a PKCS#10 request whose key stays elsewhere.
 */
#include "common/pki/private.h"

#include "common/base/error.h"
#include "common/base/gnutls-auto.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <string.h>
#include <unistd.h>

#define SERIAL_BYTES 16

gint64
tr_pki_now(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

char *
tr_pki_ca_cert_path(const char *state_dir)
{
	return g_build_filename(state_dir, "ca.crt", NULL);
}

static char *
ca_key_path(const char *state_dir)
{
	return g_build_filename(state_dir, "ca.key", NULL);
}

char *
tr_pki_crl_path(const char *state_dir)
{
	return g_build_filename(state_dir, "crl.pem", NULL);
}

char *
tr_pki_issued_dir(const char *state_dir)
{
	return g_build_filename(state_dir, "issued", NULL);
}

char *
tr_pki_revoked_dir(const char *state_dir)
{
	return g_build_filename(state_dir, "revoked", NULL);
}

char *
tr_pki_cert_path(const char *state_dir, const char *name)
{
	g_autofree char *file = g_strconcat(name, ".crt", NULL);
	return g_build_filename(state_dir, "issued", file, NULL);
}

char *
tr_pki_key_path(const char *state_dir, const char *name)
{
	g_autofree char *file = g_strconcat(name, ".key", NULL);
	return g_build_filename(state_dir, "issued", file, NULL);
}

gboolean
tr_pki_ca_exists(const char *state_dir)
{
	g_autofree char *crt = tr_pki_ca_cert_path(state_dir);
	g_autofree char *key = ca_key_path(state_dir);

	return g_file_test(crt, G_FILE_TEST_EXISTS) && g_file_test(key, G_FILE_TEST_EXISTS);
}

gboolean
tr_pki_require_ca(const char *state_dir, GError **error)
{
	g_autofree char *crt = tr_pki_ca_cert_path(state_dir);
	int errsv;

	if (access(crt, R_OK) == 0)
		return TRUE;
	errsv = errno;
	if (errsv == EACCES || errsv == EPERM) {
		g_set_error(
		        error, TR_ERROR, TR_ERROR_PERMISSION,
		        "permission denied reading the state directory %s (it holds private keys "
		        "and is root's alone): run this as root",
		        state_dir);
		return FALSE;
	}
	if (errsv == ENOENT || errsv == ENOTDIR) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND,
		            "no CA in %s: run 'trellis pki init' first", state_dir);
		return FALSE;
	}
	return tr_set_error_errno(error, errsv, "cannot read %s", crt);
}

/* ---- Keys ----------------------------------------------------------------- */

static gnutls_x509_privkey_t
generate_key(TrPkiAlgorithm algorithm, GError **error)
{
	g_auto(gnutls_x509_privkey_t) key = NULL;
	int rc;

	rc = gnutls_x509_privkey_init(&key);
	if (rc >= 0) {
		if (algorithm == TR_PKI_ALG_ECDSA_P256)
			rc = gnutls_x509_privkey_generate(
			        key, GNUTLS_PK_ECDSA,
			        GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
		else
			rc = gnutls_x509_privkey_generate(key, GNUTLS_PK_EDDSA_ED25519, 0, 0);
	}
	if (rc < 0) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "cannot generate a key");
		return NULL;
	}
	return g_steal_pointer(&key);
}

/* PKCS#8 PEM, unencrypted: the file mode is the protection. Wiped on free. */
static GBytes *
export_key(gnutls_x509_privkey_t key, GError **error)
{
	g_autoptr(gnutls_datum_t) pem = g_new0(gnutls_datum_t, 1);
	GBytes *out;
	int rc;

	rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
	                                       pem);
	if (rc < 0) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "cannot export the private key");
		return NULL;
	}
	out = tr_pki_secret_bytes_new(pem->data, pem->size);
	gnutls_memset(pem->data, 0, pem->size);
	return out;
}

static GBytes *
export_cert(gnutls_x509_crt_t crt, GError **error)
{
	g_autoptr(gnutls_datum_t) pem = g_new0(gnutls_datum_t, 1);
	int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, pem);

	if (rc < 0) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "cannot export the certificate");
		return NULL;
	}
	return g_bytes_new(pem->data, pem->size);
}

static gboolean
write_bytes(const char *path, GBytes *bytes, mode_t mode, GError **error)
{
	gsize len = 0;
	const void *data = g_bytes_get_data(bytes, &len);

	return tr_pki_write_file(path, data, len, mode, error);
}

/* SHA-512 for Ed25519 is implied by the algorithm; ECDSA signs with SHA-256. */
static gnutls_digest_algorithm_t
sign_digest(gnutls_privkey_t key)
{
	return gnutls_privkey_get_pk_algorithm(key, NULL) == GNUTLS_PK_ECDSA ? GNUTLS_DIG_SHA256
	                                                                     : GNUTLS_DIG_UNKNOWN;
}

/* ---- Certificates --------------------------------------------------------- */

static gboolean
set_serial_and_times(gnutls_x509_crt_t crt, gint64 not_before, gint64 not_after, GError **error)
{
	guint8 serial[SERIAL_BYTES];
	int rc;

	/* Random and positive, with a fixed length: first byte 0x40..0x7f. */
	rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "cannot make a serial number");
	serial[0] = (guint8)((serial[0] & 0x3f) | 0x40);
	rc = gnutls_x509_crt_set_version(crt, 3);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
	if (rc >= 0)
		rc = gnutls_x509_crt_set_activation_time(crt, (time_t)not_before);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_expiration_time(crt, (time_t)not_after);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "cannot set serial and validity");
	return TRUE;
}

gboolean
tr_pki_init(const char *state_dir, const TrPkiInitOptions *opts, GError **error)
{
	const TrPkiInitOptions defaults = {0};
	g_auto(gnutls_x509_privkey_t) key = NULL;
	g_auto(gnutls_x509_crt_t) crt = NULL;
	g_autoptr(TrPkiCa) ca = NULL;
	g_autoptr(GBytes) key_pem = NULL;
	g_autoptr(GBytes) crt_pem = NULL;
	g_autofree char *cn = NULL;
	g_autofree char *crt_path = tr_pki_ca_cert_path(state_dir);
	g_autofree char *key_path = ca_key_path(state_dir);
	g_autofree char *issued = tr_pki_issued_dir(state_dir);
	g_autofree char *revoked = tr_pki_revoked_dir(state_dir);
	gint64 not_before;
	guint days;
	int rc;

	if (opts == NULL)
		opts = &defaults;
	if (opts->network != NULL && !tr_pki_name_validate(opts->network, error)) {
		g_prefix_error(error, "network name: ");
		return FALSE;
	}
	cn = g_strdup_printf("Trellis CA %s", opts->network ? opts->network : "trellis");
	days = opts->days ? opts->days : TR_PKI_CA_DAYS;
	not_before = opts->not_before ? opts->not_before : tr_pki_now() - TR_PKI_BACKDATE_SECONDS;

	if (!tr_pki_ensure_dir(state_dir, error)) {
		tr_pki_prefix_write_error(error, state_dir);
		return FALSE;
	}
	if (g_file_test(crt_path, G_FILE_TEST_EXISTS) ||
	    g_file_test(key_path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
		            "a CA already exists in %s; to start a new network, use another "
		            "state directory",
		            state_dir);
		return FALSE;
	}
	if (!tr_pki_ensure_dir(issued, error) || !tr_pki_ensure_dir(revoked, error)) {
		tr_pki_prefix_write_error(error, state_dir);
		return FALSE;
	}

	key = generate_key(opts->algorithm, error);
	if (key == NULL)
		return FALSE;
	rc = gnutls_x509_crt_init(&crt);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_key(crt, key);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "cannot create the CA certificate");
	if (!set_serial_and_times(crt, not_before, not_before + (gint64)days * TR_PKI_DAY, error))
		return FALSE;
	rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
	                                   (unsigned)strlen(cn));
	if (rc >= 0)
		rc = gnutls_x509_crt_set_basic_constraints(crt, 1, 0);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_key_usage(crt,
		                                   GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "cannot set the CA's subject and usages");
	{
		guint8 id[64];
		size_t size = sizeof(id);

		rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, id, &size);
		if (rc >= 0)
			rc = gnutls_x509_crt_set_subject_key_id(crt, id, size);
	}
	if (rc >= 0)
		rc = gnutls_x509_crt_sign2(crt, crt, key,
		                           opts->algorithm == TR_PKI_ALG_ECDSA_P256
		                                   ? GNUTLS_DIG_SHA256
		                                   : GNUTLS_DIG_UNKNOWN,
		                           0);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "cannot sign the CA certificate");

	key_pem = export_key(key, error);
	crt_pem = key_pem ? export_cert(crt, error) : NULL;
	if (crt_pem == NULL)
		return FALSE;
	/* The key first: ca.crt is what marks the CA as present. */
	if (!write_bytes(key_path, key_pem, 0600, error) ||
	    !write_bytes(crt_path, crt_pem, 0644, error)) {
		tr_pki_prefix_write_error(error, state_dir);
		return FALSE;
	}
	ca = tr_pki_ca_open(state_dir, error);
	return ca != NULL && tr_pki_write_crl(ca, NULL, error);
}

void
tr_pki_ca_free(TrPkiCa *ca)
{
	if (ca == NULL)
		return;
	g_free(ca->state_dir);
	if (ca->crt)
		gnutls_x509_crt_deinit(ca->crt);
	if (ca->key)
		gnutls_privkey_deinit(ca->key);
	g_free(ca);
}

static gboolean
key_matches_cert(gnutls_privkey_t key, gnutls_x509_crt_t crt)
{
	g_auto(gnutls_pubkey_t) pub = NULL;
	guint8 a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);

	if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_privkey(pub, key, 0, 0) < 0)
		return FALSE;
	if (gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &alen) < 0 ||
	    gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, b, &blen) < 0)
		return FALSE;
	return alen == blen && memcmp(a, b, alen) == 0;
}

TrPkiCa *
tr_pki_ca_open(const char *state_dir, GError **error)
{
	g_autoptr(TrPkiCa) ca = g_new0(TrPkiCa, 1);
	g_autofree char *crt_path = tr_pki_ca_cert_path(state_dir);
	g_autofree char *key_path = ca_key_path(state_dir);
	g_autoptr(GBytes) key_pem = NULL;
	gnutls_datum_t d;
	int rc;

	ca->state_dir = g_strdup(state_dir);
	if (!tr_pki_require_ca(state_dir, error))
		return NULL;
	ca->crt = tr_pki_cert_load_file(crt_path, error);
	if (ca->crt == NULL)
		return NULL;
	key_pem = tr_pki_read_key_file(key_path, error);
	if (key_pem == NULL)
		return NULL;
	d.data = (unsigned char *)g_bytes_get_data(key_pem, NULL);
	d.size = (unsigned)g_bytes_get_size(key_pem);
	rc = gnutls_privkey_init(&ca->key);
	if (rc >= 0)
		rc = gnutls_privkey_import_x509_raw(ca->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "%s: not a private key: %s",
		            key_path, gnutls_strerror(rc));
		return NULL;
	}
	if (!key_matches_cert(ca->key, ca->crt)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "%s does not belong to the certificate in %s", key_path, crt_path);
		return NULL;
	}
	return g_steal_pointer(&ca);
}

gnutls_x509_crt_t
tr_pki_ca_get_cert(TrPkiCa *ca)
{
	return ca->crt;
}

char *
tr_pki_ca_get_fingerprint(TrPkiCa *ca)
{
	guint8 fp[32];
	size_t size = sizeof(fp);

	if (gnutls_x509_crt_get_fingerprint(ca->crt, GNUTLS_DIG_SHA256, fp, &size) < 0)
		return NULL;
	return tr_pki_hex(fp, size);
}

/*
 * Refuses an existing certificate for @name unless @force, in which case it
 * is revoked (after the new one is signed, so a failure leaves it in place).
 */
static gboolean
check_existing(TrPkiCa *ca, const char *name, gboolean force, gnutls_x509_crt_t *existing,
               GError **error)
{
	g_autofree char *path = tr_pki_cert_path(ca->state_dir, name);
	g_autofree char *serial = NULL;

	*existing = NULL;
	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return TRUE;
	*existing = tr_pki_cert_load_file(path, error);
	if (*existing == NULL)
		return FALSE;
	if (force)
		return TRUE;
	serial = tr_pki_cert_serial_hex(*existing);
	g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
	            "'%s' already has a certificate (serial %s); revoke it first, or use --force "
	            "to revoke it and issue a new one",
	            name, serial);
	return FALSE;
}

/* Everything but the public key: serial, validity, profile; then the CA's signature. */
static gboolean
finish_cert(TrPkiCa *ca, gnutls_x509_crt_t crt, const char *name, const TrPkiIssueOptions *opts,
            GError **error)
{
	gint64 ca_end = (gint64)gnutls_x509_crt_get_expiration_time(ca->crt);
	gint64 not_before =
	        opts->not_before ? opts->not_before : tr_pki_now() - TR_PKI_BACKDATE_SECONDS;
	gint64 not_after = opts->not_after;
	int rc;

	if (not_after == 0)
		not_after = not_before +
		            (gint64)(opts->days ? opts->days : TR_PKI_CERT_DAYS) * TR_PKI_DAY;
	/* A certificate cannot outlive the CA that vouches for it. */
	if (not_after > ca_end)
		not_after = ca_end;
	if (!set_serial_and_times(crt, not_before, not_after, error) ||
	    !tr_pki_profile_apply(crt, ca->crt, name, opts, error))
		return FALSE;
	rc = gnutls_x509_crt_privkey_sign(crt, ca->crt, ca->key, sign_digest(ca->key), 0);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "cannot sign the certificate");
	return TRUE;
}

/* Revokes @existing (when any) and records the new certificate and key. */
static gboolean
store_cert(TrPkiCa *ca, const char *name, gnutls_x509_crt_t existing, GBytes *key_pem,
           GBytes *crt_pem, GError **error)
{
	g_autofree char *crt_path = tr_pki_cert_path(ca->state_dir, name);
	g_autofree char *key_path = tr_pki_key_path(ca->state_dir, name);
	g_autofree char *issued = tr_pki_issued_dir(ca->state_dir);

	if (!tr_pki_ensure_dir(issued, error)) {
		tr_pki_prefix_write_error(error, ca->state_dir);
		return FALSE;
	}
	if (existing != NULL && (!tr_pki_write_crl(ca, existing, error) ||
	                         !tr_pki_archive_cert(ca, name, existing, error))) {
		g_prefix_error(error, "cannot revoke the old certificate of '%s': ", name);
		return FALSE;
	}
	if ((key_pem != NULL && !write_bytes(key_path, key_pem, 0600, error)) ||
	    !write_bytes(crt_path, crt_pem, 0644, error)) {
		tr_pki_prefix_write_error(error, ca->state_dir);
		return FALSE;
	}
	return TRUE;
}

gboolean
tr_pki_issue(TrPkiCa *ca, const char *name, const TrPkiIssueOptions *opts, GError **error)
{
	g_auto(gnutls_x509_crt_t) existing = NULL;
	g_auto(gnutls_x509_privkey_t) key = NULL;
	g_auto(gnutls_x509_crt_t) crt = NULL;
	g_autoptr(GBytes) key_pem = NULL;
	g_autoptr(GBytes) crt_pem = NULL;
	int rc;

	if (!tr_pki_name_validate(name, error) ||
	    !check_existing(ca, name, opts->force, &existing, error))
		return FALSE;
	key = generate_key(opts->algorithm, error);
	if (key == NULL)
		return FALSE;
	rc = gnutls_x509_crt_init(&crt);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_key(crt, key);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "cannot create the certificate");
	if (!finish_cert(ca, crt, name, opts, error))
		return FALSE;
	key_pem = export_key(key, error);
	crt_pem = key_pem ? export_cert(crt, error) : NULL;
	if (crt_pem == NULL)
		return FALSE;
	return store_cert(ca, name, existing, key_pem, crt_pem, error);
}

static gnutls_x509_crq_t
load_request(const guint8 *data, gsize len, GError **error)
{
	g_auto(gnutls_x509_crq_t) crq = NULL;
	gnutls_datum_t d = {(unsigned char *)data, (unsigned)len};
	int rc;

	if (len == 0 || len > 64 * 1024) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID,
		                    "the certificate request is empty or too large");
		return NULL;
	}
	rc = gnutls_x509_crq_init(&crq);
	if (rc < 0) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "cannot allocate a request");
		return NULL;
	}
	rc = gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_PEM);
	if (rc < 0)
		rc = gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_DER);
	if (rc < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "not a PKCS#10 certificate request: %s", gnutls_strerror(rc));
		return NULL;
	}
	rc = gnutls_x509_crq_verify(crq, 0);
	if (rc < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "the certificate request's signature does not verify: %s",
		            gnutls_strerror(rc));
		return NULL;
	}
	return g_steal_pointer(&crq);
}

/* Keys a Trellis peer may hold: Ed25519, ECDSA P-256 or P-384. */
static gboolean
check_request_key(gnutls_pubkey_t pub, GError **error)
{
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	int pk = gnutls_pubkey_get_pk_algorithm(pub, NULL);

	if (pk == GNUTLS_PK_EDDSA_ED25519)
		return TRUE;
	if (pk == GNUTLS_PK_ECDSA &&
	    gnutls_pubkey_export_ecc_raw2(pub, &curve, NULL, NULL, 0) >= 0 &&
	    (curve == GNUTLS_ECC_CURVE_SECP256R1 || curve == GNUTLS_ECC_CURVE_SECP384R1))
		return TRUE;
	g_set_error_literal(error, TR_ERROR, TR_ERROR_UNSUPPORTED,
	                    "the certificate request's key is not Ed25519 or ECDSA P-256/P-384");
	return FALSE;
}

GBytes *
tr_pki_sign_request(TrPkiCa *ca, const char *name, const TrPkiIssueOptions *opts,
                    const guint8 *request, gsize request_len, GError **error)
{
	g_auto(gnutls_x509_crt_t) existing = NULL;
	g_auto(gnutls_x509_crq_t) crq = NULL;
	g_auto(gnutls_pubkey_t) pub = NULL;
	g_auto(gnutls_x509_crt_t) crt = NULL;
	g_autoptr(GBytes) crt_pem = NULL;
	int rc;

	if (!tr_pki_name_validate(name, error))
		return NULL;
	crq = load_request(request, request_len, error);
	if (crq == NULL || !check_existing(ca, name, opts->force, &existing, error))
		return NULL;
	rc = gnutls_pubkey_init(&pub);
	if (rc >= 0)
		rc = gnutls_pubkey_import_x509_crq(pub, crq, 0);
	if (rc < 0) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                    "cannot read the request's public key");
		return NULL;
	}
	if (!check_request_key(pub, error))
		return NULL;
	rc = gnutls_x509_crt_init(&crt);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_pubkey(crt, pub);
	if (rc < 0) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                    "cannot take the request's public key");
		return NULL;
	}
	if (!finish_cert(ca, crt, name, opts, error))
		return NULL;
	crt_pem = export_cert(crt, error);
	if (crt_pem == NULL || !store_cert(ca, name, existing, NULL, crt_pem, error))
		return NULL;
	return g_steal_pointer(&crt_pem);
}

gboolean
tr_pki_make_request(const char *name, TrPkiAlgorithm algorithm, GBytes **key_pem,
                    GBytes **request_pem, GError **error)
{
	g_auto(gnutls_x509_privkey_t) key = NULL;
	g_auto(gnutls_privkey_t) signer = NULL;
	g_auto(gnutls_x509_crq_t) crq = NULL;
	g_autoptr(gnutls_datum_t) pem = g_new0(gnutls_datum_t, 1);
	g_autoptr(GBytes) key_out = NULL;
	int rc;

	if (!tr_pki_name_validate(name, error))
		return FALSE;
	key = generate_key(algorithm, error);
	if (key == NULL)
		return FALSE;
	rc = gnutls_x509_crq_init(&crq);
	if (rc >= 0)
		rc = gnutls_x509_crq_set_version(crq, 1);
	if (rc >= 0)
		rc = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, name,
		                                   (unsigned)strlen(name));
	if (rc >= 0)
		rc = gnutls_x509_crq_set_key(crq, key);
	if (rc >= 0)
		rc = gnutls_privkey_init(&signer);
	if (rc >= 0)
		rc = gnutls_privkey_import_x509(signer, key, GNUTLS_PRIVKEY_IMPORT_COPY);
	if (rc >= 0)
		rc = gnutls_x509_crq_privkey_sign(crq, signer, sign_digest(signer), 0);
	if (rc >= 0)
		rc = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_PEM, pem);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "cannot make the certificate request");
	key_out = export_key(key, error);
	if (key_out == NULL)
		return FALSE;
	*request_pem = g_bytes_new(pem->data, pem->size);
	*key_pem = g_steal_pointer(&key_out);
	return TRUE;
}
