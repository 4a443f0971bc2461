/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The joining machine's side of an invite: the state directory checked
 * before connecting, the hub's answer checked against the token's pinned
 * CA fingerprint, and the files written.
 */
#include "common/pki/join.h"

#include "common/base/error.h"
#include "common/base/gnutls-auto.h"
#include "common/pki/invite-token.h"
#include "common/pki/private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static char *
own_path(const char *state_dir, const char *name, const char *suffix)
{
	g_autofree char *base = g_strconcat(name, suffix, NULL);
	return g_build_filename(state_dir, base, NULL);
}

gboolean
tr_pki_join_prepare(const char *state_dir, const char *name, GError **error)
{
	g_autofree char *key = own_path(state_dir, name, ".key");
	g_autofree char *probe = NULL;
	g_autofree char *ca_key = g_build_filename(state_dir, "ca.key", NULL);
	int fd;

	if (!tr_pki_ensure_dir(state_dir, error)) {
		tr_pki_prefix_write_error(error, state_dir);
		return FALSE;
	}
	/* Root passes the mode bits: try for real rather than guess with access(). */
	probe = g_build_filename(state_dir, ".join-probe-XXXXXX", NULL);
	fd = g_mkstemp_full(probe, O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		tr_set_error_errno(error, errno, "cannot create a file in %s", state_dir);
		tr_pki_prefix_write_error(error, state_dir);
		return FALSE;
	}
	close(fd);
	unlink(probe);
	/* Never over a hub's own files: its ca.crt and CRL live at the same names. */
	if (g_file_test(ca_key, G_FILE_TEST_EXISTS)) {
		g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
		            "%s holds a CA (it is a hub's state directory); join into another "
		            "one with --state-dir DIR",
		            state_dir);
		return FALSE;
	}
	if (g_file_test(key, G_FILE_TEST_EXISTS)) {
		g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
		            "this machine already joined as '%s' (%s exists); use another "
		            "--state-dir or remove the old files first",
		            name, key);
		return FALSE;
	}
	return TRUE;
}

static gnutls_x509_crt_t
load(GBytes *bytes, const char *what, GError **error)
{
	gsize len = 0;
	const guint8 *data = bytes ? g_bytes_get_data(bytes, &len) : NULL;
	gnutls_x509_crt_t crt;

	if (data == NULL || len == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "the hub sent no %s", what);
		return NULL;
	}
	crt = tr_pki_cert_load(data, len, error);
	if (crt == NULL)
		g_prefix_error(error, "the %s the hub sent: ", what);
	return crt;
}

static gboolean
check_ca(const guint8 *fingerprint, gnutls_x509_crt_t ca, GError **error)
{
	guint8 fp[TR_INVITE_FP_LEN];
	size_t fp_len = sizeof(fp);
	unsigned is_ca = 0;
	int rc;

	rc = gnutls_x509_crt_get_fingerprint(ca, GNUTLS_DIG_SHA256, fp, &fp_len);
	if (rc < 0 || fp_len != sizeof(fp))
		return tr_set_error_gnutls(error, TR_ERROR_FAILED,
		                           rc < 0 ? rc : GNUTLS_E_INTERNAL_ERROR, "CA fingerprint");
	if (memcmp(fp, fingerprint, sizeof(fp)) != 0) {
		g_autofree char *got = tr_pki_hex(fp, sizeof(fp));
		g_autofree char *want = tr_pki_hex(fingerprint, TR_INVITE_FP_LEN);
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "CA fingerprint mismatch: the hub sent a CA with SHA-256 %s, the "
		            "invite pins %s; nothing was written (the token was altered, or this "
		            "is not the hub that made the invite)",
		            got, want);
		return FALSE;
	}
	if (gnutls_x509_crt_get_basic_constraints(ca, NULL, &is_ca, NULL) < 0 || !is_ca) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH, "the CA the hub sent is not a CA");
		return FALSE;
	}
	return TRUE;
}

static gboolean
same_key(gnutls_x509_crt_t crt, GBytes *key_pem, GError **error)
{
	g_auto(gnutls_x509_privkey_t) key = NULL;
	guint8 a[64], b[64];
	size_t a_len = sizeof(a), b_len = sizeof(b);
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(key_pem, &len);
	gnutls_datum_t d = {(unsigned char *)data, (unsigned)len};
	int rc;

	rc = gnutls_x509_privkey_init(&key);
	if (rc >= 0)
		rc = gnutls_x509_privkey_import(key, &d, GNUTLS_X509_FMT_PEM);
	if (rc >= 0)
		rc = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, a, &a_len);
	if (rc >= 0)
		rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, b, &b_len);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "comparing the certificate's key");
	if (a_len != b_len || memcmp(a, b, a_len) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "the certificate the hub sent is not for the key made here");
		return FALSE;
	}
	return TRUE;
}

gboolean
tr_pki_join_check(const guint8 *fingerprint, GBytes *ca_bytes, GBytes *cert_bytes, GBytes *key_pem,
                  const char *name, GError **error)
{
	g_auto(gnutls_x509_crt_t) ca = NULL;
	g_auto(gnutls_x509_crt_t) crt = NULL;
	g_autofree char *identity = NULL;
	unsigned status = 0;
	TrPkiKind kind;
	int rc;

	/* The CA first: nothing else the hub sent means anything until it matches. */
	ca = load(ca_bytes, "CA certificate", error);
	if (ca == NULL || !check_ca(fingerprint, ca, error))
		return FALSE;
	crt = load(cert_bytes, "certificate", error);
	if (crt == NULL)
		return FALSE;
	rc = gnutls_x509_crt_verify(crt, &ca, 1, 0, &status);
	if (rc < 0 || status != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "the certificate the hub sent does not verify against its CA (%s)",
		            rc < 0 ? gnutls_strerror(rc) : "bad signature or not valid now");
		return FALSE;
	}
	identity = tr_pki_cert_get_identity(crt, error);
	if (identity == NULL)
		return FALSE;
	if (strcmp(identity, name) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "the certificate the hub sent names '%s', not '%s'", identity, name);
		return FALSE;
	}
	if (!tr_pki_cert_get_kind(crt, &kind, error))
		return FALSE;
	if (kind != TR_PKI_KIND_CLIENT) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "the certificate the hub sent is not a client certificate");
		return FALSE;
	}
	return same_key(crt, key_pem, error);
}

static GBytes *
to_pem(GBytes *bytes, GError **error)
{
	g_auto(gnutls_x509_crt_t) crt = load(bytes, "certificate", error);
	gnutls_datum_t out = {NULL, 0};
	GBytes *pem;
	int rc;

	if (crt == NULL)
		return NULL;
	rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out);
	if (rc < 0) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "cannot export the certificate");
		return NULL;
	}
	pem = g_bytes_new(out.data, out.size);
	gnutls_free(out.data);
	return pem;
}

static gboolean
write_bytes(const char *path, GBytes *bytes, mode_t mode, GError **error)
{
	gsize len;
	const void *data = g_bytes_get_data(bytes, &len);
	return tr_pki_write_file(path, data, len, mode, error);
}

/* Whether every name is the first: then one name serves every hub. */
static gboolean
one_name(const char *const *names)
{
	for (guint i = 1; names[i] != NULL; i++)
		if (strcmp(names[i], names[0]) != 0)
			return FALSE;
	return TRUE;
}

static char *
config_text(const TrPkiJoinResult *r, const char *ca, const char *cert, const char *key)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *stamp = g_date_time_format(now, "%Y-%m-%d %H:%M:%S UTC");
	g_autofree char *comment = g_strdup_printf(
	        " Written by 'trellis join' for '%s' on %s.\n Use: trellis-client --config FILE",
	        r->name, stamp);
	g_autofree char *connect = g_strjoinv(";", (char **)r->connect);

	g_key_file_set_comment(kf, NULL, NULL, comment, NULL);
	/* Plain "a;b" (no trailing ';') reads the same as a string or a list. */
	g_key_file_set_value(kf, TR_PKI_JOIN_GROUP, "connect", connect);
	if (one_name(r->server_names))
		g_key_file_set_string(kf, TR_PKI_JOIN_GROUP, "server-name", r->server_names[0]);
	else
		g_key_file_set_string_list(kf, TR_PKI_JOIN_GROUP, "server-name", r->server_names,
		                           g_strv_length((char **)r->server_names));
	g_key_file_set_string(kf, TR_PKI_JOIN_GROUP, "ca", ca);
	g_key_file_set_string(kf, TR_PKI_JOIN_GROUP, "cert", cert);
	g_key_file_set_string(kf, TR_PKI_JOIN_GROUP, "key", key);
	return g_key_file_to_data(kf, NULL, NULL);
}

/* One server name for every hub, or one per hub. */
static gboolean
names_fit(const TrPkiJoinResult *r, GError **error)
{
	guint n_names = r->server_names ? g_strv_length((char **)r->server_names) : 0;
	guint n_hubs = r->connect ? g_strv_length((char **)r->connect) : 0;

	if (n_names == 1 || (n_names == n_hubs && n_hubs > 0))
		return TRUE;
	g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
	            "%u server names for %u hubs: expected one for every hub, or one per hub",
	            n_names, n_hubs);
	return FALSE;
}

static char *
config_path(const char *dir, const TrPkiJoinResult *r)
{
	return r->config_file ? g_canonicalize_filename(r->config_file, NULL)
	                      : g_build_filename(dir, TR_PKI_JOIN_CONFIG, NULL);
}

gboolean
tr_pki_join_save_credentials(const char *state_dir, const TrPkiJoinResult *r, GError **error)
{
	g_autofree char *dir = g_canonicalize_filename(state_dir, NULL);
	g_autofree char *ca = g_build_filename(dir, "ca.crt", NULL);
	g_autofree char *cert = own_path(dir, r->name, ".crt");
	g_autofree char *key = own_path(dir, r->name, ".key");
	g_autofree char *conf = config_path(dir, r);
	g_autoptr(GBytes) ca_pem = NULL;
	g_autoptr(GBytes) cert_pem = NULL;

	if (!tr_pki_name_validate(r->name, error))
		return FALSE;
	ca_pem = to_pem(r->ca, error);
	if (ca_pem == NULL)
		return FALSE;
	cert_pem = to_pem(r->cert, error);
	if (cert_pem == NULL)
		return FALSE;
	if (r->config_file && g_file_test(conf, G_FILE_TEST_EXISTS)) {
		g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
		            "%s exists already; choose another network name (--network NAME)",
		            conf);
		return FALSE;
	}
	if (!tr_pki_ensure_dir(dir, error) || !write_bytes(key, r->key_pem, 0600, error) ||
	    !write_bytes(cert, cert_pem, 0644, error) || !write_bytes(ca, ca_pem, 0644, error)) {
		tr_pki_prefix_write_error(error, state_dir);
		return FALSE;
	}
	return TRUE;
}

gboolean
tr_pki_join_save_config(const char *state_dir, const TrPkiJoinResult *r, char **config_path_out,
                        GError **error)
{
	g_autofree char *dir = g_canonicalize_filename(state_dir, NULL);
	g_autofree char *ca = g_build_filename(dir, "ca.crt", NULL);
	g_autofree char *cert = own_path(dir, r->name, ".crt");
	g_autofree char *key = own_path(dir, r->name, ".key");
	g_autofree char *conf = config_path(dir, r);
	g_autofree char *conf_dir = g_path_get_dirname(conf);
	g_autofree char *text = NULL;

	if (!names_fit(r, error))
		return FALSE;
	text = config_text(r, ca, cert, key);
	if (r->config_file && g_file_test(conf, G_FILE_TEST_EXISTS)) {
		g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
		            "%s exists already; choose another network name (--network NAME)",
		            conf);
		return FALSE;
	}
	if (r->config_file && g_mkdir_with_parents(conf_dir, 0755) < 0)
		return tr_set_error_errno(error, errno, "cannot create %s", conf_dir);
	if (!tr_pki_write_file(conf, text, strlen(text), 0644, error)) {
		tr_pki_prefix_write_error(error, state_dir);
		return FALSE;
	}
	if (config_path_out != NULL)
		*config_path_out = g_steal_pointer(&conf);
	return TRUE;
}

gboolean
tr_pki_join_save(const char *state_dir, const TrPkiJoinResult *r, char **config_path_out,
                 GError **error)
{
	return names_fit(r, error) && tr_pki_join_save_credentials(state_dir, r, error) &&
	       tr_pki_join_save_config(state_dir, r, config_path_out, error);
}
