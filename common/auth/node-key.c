/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/auth/node-key.h"

#include "common/base/error.h"
#include "common/base/gnutls-auto.h"
#include "common/base/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef G_OS_WIN32
#include "platform/windows/files.h"
#endif

#define EXPORTER_LABEL "EXPORTER-trellis node key"
#define EXPORTER_LEN   32

struct _TrNodeKey {
	gnutls_privkey_t priv;
	GBytes *public_key;
};

void
tr_node_key_free(TrNodeKey *key)
{
	if (key == NULL)
		return;
	g_clear_pointer(&key->priv, gnutls_privkey_deinit);
	g_clear_pointer(&key->public_key, g_bytes_unref);
	g_free(key);
}

static gboolean
create_file(const char *path, GError **error)
{
	g_auto(gnutls_x509_privkey_t) x = NULL;
	g_autoptr(TrSecretDatum) pem = g_new0(TrSecretDatum, 1);
	gboolean ok;
	int rc, fd;

	rc = gnutls_x509_privkey_init(&x);
	if (rc >= 0)
		rc = gnutls_x509_privkey_generate(x, GNUTLS_PK_EDDSA_ED25519, 0, 0);
	if (rc >= 0)
		rc = gnutls_x509_privkey_export2_pkcs8(x, GNUTLS_X509_FMT_PEM, NULL,
		                                       GNUTLS_PKCS_PLAIN, pem);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "cannot make a node key");
	{
		g_autofree char *dir = g_path_get_dirname(path);
		g_mkdir_with_parents(dir, 0700);
	}
#ifdef G_OS_WIN32
	fd = tr_win_create_file(path, 0600); /* a private ACL (platform/windows/files.h) */
	if (fd < 0)
		errno = -fd;
#else
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
#endif
	if (fd < 0)
		return tr_set_error_errno(error, errno, "cannot create the node key %s", path);
	ok = write(fd, pem->data, pem->size) == (ssize_t)pem->size && fsync(fd) == 0;
	if (close(fd) < 0 || !ok) {
		tr_set_error_errno(error, errno ? errno : EIO, "cannot write the node key %s",
		                   path);
		unlink(path);
		return FALSE;
	}
	return TRUE;
}

TrNodeKey *
tr_node_key_load_or_create(const char *path, GError **error)
{
	g_autoptr(TrNodeKey) key = g_new0(TrNodeKey, 1);
	g_autoptr(GBytes) pem = NULL;
	g_auto(gnutls_pubkey_t) pub = NULL;
	g_autoptr(gnutls_datum_t) x = g_new0(gnutls_datum_t, 1);
	gnutls_datum_t d;
	gnutls_ecc_curve_t curve;
	gsize len;
	int rc;

	if (!g_file_test(path, G_FILE_TEST_EXISTS) && !create_file(path, error))
		return NULL;
	pem = tr_secret_file_load(path, "node key", error);
	if (pem == NULL)
		return NULL;
	d.data = (unsigned char *)g_bytes_get_data(pem, &len);
	d.size = (unsigned)len;
	rc = gnutls_privkey_init(&key->priv);
	if (rc >= 0)
		rc = gnutls_privkey_import_x509_raw(key->priv, &d, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc >= 0 && gnutls_privkey_get_pk_algorithm(key->priv, NULL) != GNUTLS_PK_EDDSA_ED25519)
		rc = GNUTLS_E_UNKNOWN_PK_ALGORITHM;
	if (rc >= 0)
		rc = gnutls_pubkey_init(&pub);
	if (rc >= 0)
		rc = gnutls_pubkey_import_privkey(pub, key->priv, 0, 0);
	if (rc >= 0)
		rc = gnutls_pubkey_export_ecc_raw2(pub, &curve, x, NULL, 0);
	if (rc < 0 || x->size != TR_NODE_KEY_PUBLIC_LEN) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "node key %s is not an Ed25519 private key (PEM)%s%s", path,
		            rc < 0 ? ": " : "", rc < 0 ? gnutls_strerror(rc) : "");
		return NULL;
	}
	key->public_key = g_bytes_new(x->data, x->size);
	return g_steal_pointer(&key);
}

GBytes *
tr_node_key_public(TrNodeKey *key)
{
	return g_bytes_ref(key->public_key);
}

static gboolean
exporter(TrTls *tls, guint8 out[EXPORTER_LEN], GError **error)
{
	return tr_tls_export(tls, EXPORTER_LABEL, NULL, 0, out, EXPORTER_LEN, error);
}

GBytes *
tr_node_key_prove(TrNodeKey *key, TrTls *tls, GError **error)
{
	guint8 data[EXPORTER_LEN];
	gnutls_datum_t d = {data, sizeof(data)};
	g_autoptr(gnutls_datum_t) sig = g_new0(gnutls_datum_t, 1);
	int rc;

	if (!exporter(tls, data, error))
		return NULL;
	rc = gnutls_privkey_sign_data2(key->priv, GNUTLS_SIGN_EDDSA_ED25519, 0, &d, sig);
	if (rc < 0) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "signing with the node key");
		return NULL;
	}
	return g_bytes_new(sig->data, sig->size);
}

gboolean
tr_node_key_verify(GBytes *public_key, GBytes *proof, TrTls *tls, GError **error)
{
	guint8 data[EXPORTER_LEN];
	g_auto(gnutls_pubkey_t) pub = NULL;
	gsize klen, slen;
	gnutls_datum_t x, sig, d = {data, sizeof(data)};
	int rc;

	x.data = (unsigned char *)g_bytes_get_data(public_key, &klen);
	x.size = (unsigned)klen;
	sig.data = (unsigned char *)g_bytes_get_data(proof, &slen);
	sig.size = (unsigned)slen;
	if (klen != TR_NODE_KEY_PUBLIC_LEN || slen != TR_NODE_KEY_PROOF_LEN) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "node key or proof of the wrong size (%zu and %zu bytes, expected %d "
		            "and %d)",
		            (size_t)klen, (size_t)slen, TR_NODE_KEY_PUBLIC_LEN,
		            TR_NODE_KEY_PROOF_LEN);
		return FALSE;
	}
	if (!exporter(tls, data, error))
		return FALSE;
	rc = gnutls_pubkey_init(&pub);
	if (rc >= 0)
		rc = gnutls_pubkey_import_ecc_raw(pub, GNUTLS_ECC_CURVE_ED25519, &x, NULL);
	if (rc >= 0)
		rc = gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_EDDSA_ED25519, 0, &d, &sig);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_AUTH, rc,
		                           "the node key proof does not verify");
	return TRUE;
}
