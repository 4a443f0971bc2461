/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Revocation and listing. crl.pem is rebuilt whole on every change from the
 * serials it already lists plus every certificate kept in revoked/, so a lost
 * or damaged crl.pem is rebuilt rather than silently emptied.
 */
#include "common/pki/private.h"

#include "common/base/error.h"
#include "common/base/gnutls-auto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	guint8 serial[64];
	size_t len;
	gint64 revoked_at;
} Revocation;

typedef struct {
	GArray *items;    /* Revocation */
	GHashTable *seen; /* serial hex, owned */
	guint64 number;   /* the last CRL number */
} RevocationSet;

static void
revocation_set_clear(RevocationSet *set)
{
	g_clear_pointer(&set->items, g_array_unref);
	g_clear_pointer(&set->seen, g_hash_table_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(RevocationSet, revocation_set_clear)

static void
revocation_add(RevocationSet *set, const guint8 *serial, size_t len, gint64 when)
{
	Revocation r = {.len = len, .revoked_at = when};
	char *hex;

	if (len == 0 || len > sizeof(r.serial))
		return;
	hex = tr_pki_hex(serial, len);
	if (!g_hash_table_add(set->seen, hex))
		return;
	memcpy(r.serial, serial, len);
	g_array_append_val(set->items, r);
}

/* The CRL's entries, once it is known to come from the CA. Missing: empty. */
static gboolean
read_crl(const char *state_dir, gnutls_x509_crt_t ca, RevocationSet *set, GError **error)
{
	g_autofree char *path = tr_pki_crl_path(state_dir);
	g_autofree char *data = NULL;
	g_auto(gnutls_x509_crl_t) crl = NULL;
	gnutls_datum_t d;
	unsigned status = 0;
	gsize len = 0;
	int count, rc;

	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return TRUE;
	if (!g_file_get_contents(path, &data, &len, error))
		return FALSE;
	d.data = (unsigned char *)data;
	d.size = (unsigned)len;
	rc = gnutls_x509_crl_init(&crl);
	if (rc >= 0)
		rc = gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_PEM);
	if (rc >= 0)
		rc = gnutls_x509_crl_verify(crl, &ca, 1, 0, &status);
	if (rc < 0 || status != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "%s is damaged or not signed by this CA%s%s", path, rc < 0 ? ": " : "",
		            rc < 0 ? gnutls_strerror(rc) : "");
		return FALSE;
	}
	{
		guint8 num[20];
		size_t size = sizeof(num);

		if (gnutls_x509_crl_get_number(crl, num, &size, NULL) >= 0 && size <= 8)
			for (size_t i = 0; i < size; i++)
				set->number = set->number << 8 | num[i];
	}
	count = gnutls_x509_crl_get_crt_count(crl);
	for (int i = 0; i < count; i++) {
		guint8 serial[64];
		size_t size = sizeof(serial);
		time_t when = 0;

		if (gnutls_x509_crl_get_crt_serial(crl, i, serial, &size, &when) >= 0)
			revocation_add(set, serial, size, (gint64)when);
	}
	return TRUE;
}

static void
read_revoked_dir(const char *state_dir, RevocationSet *set)
{
	g_autofree char *dir_path = tr_pki_revoked_dir(state_dir);
	g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
	const char *file;

	while (dir != NULL && (file = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = g_build_filename(dir_path, file, NULL);
		g_auto(gnutls_x509_crt_t) crt = NULL;
		guint8 serial[64];
		size_t size = sizeof(serial);
		struct stat st;

		if (!g_str_has_suffix(file, ".crt") || stat(path, &st) < 0)
			continue;
		crt = tr_pki_cert_load_file(path, NULL);
		if (crt != NULL && gnutls_x509_crt_get_serial(crt, serial, &size) >= 0)
			revocation_add(set, serial, size, (gint64)st.st_mtime);
	}
}

static gboolean
revocations_load(const char *state_dir, gnutls_x509_crt_t ca, RevocationSet *set, GError **error)
{
	set->items = g_array_new(FALSE, TRUE, sizeof(Revocation));
	set->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	set->number = 0;
	if (!read_crl(state_dir, ca, set, error))
		return FALSE;
	read_revoked_dir(state_dir, set);
	return TRUE;
}

gboolean
tr_pki_write_crl(TrPkiCa *ca, gnutls_x509_crt_t extra, GError **error)
{
	g_auto(RevocationSet) set = {0};
	g_auto(gnutls_x509_crl_t) crl = NULL;
	g_autoptr(gnutls_datum_t) pem = g_new0(gnutls_datum_t, 1);
	g_autofree char *path = tr_pki_crl_path(ca->state_dir);
	gint64 now = tr_pki_now();
	guint8 number[8], id[64];
	size_t id_len = sizeof(id);
	int rc;

	if (!revocations_load(ca->state_dir, ca->crt, &set, error))
		return FALSE;
	if (extra != NULL) {
		guint8 serial[64];
		size_t size = sizeof(serial);

		if (gnutls_x509_crt_get_serial(extra, serial, &size) >= 0)
			revocation_add(&set, serial, size, now);
	}
	for (int i = 7; i >= 0; i--) {
		number[i] = (guint8)((set.number + 1) >> (8 * (7 - i)));
	}

	rc = gnutls_x509_crl_init(&crl);
	if (rc >= 0)
		rc = gnutls_x509_crl_set_version(crl, 2);
	if (rc >= 0)
		rc = gnutls_x509_crl_set_this_update(crl, (time_t)(now - TR_PKI_BACKDATE_SECONDS));
	if (rc >= 0)
		rc = gnutls_x509_crl_set_next_update(crl,
		                                     (time_t)(now + TR_PKI_CRL_DAYS * TR_PKI_DAY));
	for (guint i = 0; rc >= 0 && i < set.items->len; i++) {
		const Revocation *r = &g_array_index(set.items, Revocation, i);
		rc = gnutls_x509_crl_set_crt_serial(crl, r->serial, r->len, (time_t)r->revoked_at);
	}
	if (rc >= 0)
		rc = gnutls_x509_crl_set_number(crl, number, sizeof(number));
	if (rc >= 0 && gnutls_x509_crt_get_subject_key_id(ca->crt, id, &id_len, NULL) >= 0)
		rc = gnutls_x509_crl_set_authority_key_id(crl, id, id_len);
	if (rc >= 0)
		rc = gnutls_x509_crl_privkey_sign(crl, ca->crt, ca->key,
		                                  gnutls_privkey_get_pk_algorithm(ca->key, NULL) ==
		                                                  GNUTLS_PK_ECDSA
		                                          ? GNUTLS_DIG_SHA256
		                                          : GNUTLS_DIG_UNKNOWN,
		                                  0);
	if (rc >= 0)
		rc = gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_PEM, pem);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "cannot make the CRL");
	if (!tr_pki_write_file(path, pem->data, pem->size, 0644, error)) {
		tr_pki_prefix_write_error(error, ca->state_dir);
		return FALSE;
	}
	return TRUE;
}

gboolean
tr_pki_archive_cert(TrPkiCa *ca, const char *name, gnutls_x509_crt_t crt, GError **error)
{
	g_autofree char *serial = tr_pki_cert_serial_hex(crt);
	g_autofree char *crt_path = tr_pki_cert_path(ca->state_dir, name);
	g_autofree char *key_path = tr_pki_key_path(ca->state_dir, name);
	g_autofree char *revoked = tr_pki_revoked_dir(ca->state_dir);
	g_autofree char *file = g_strdup_printf("%s.%s.crt", name, serial);
	g_autofree char *dst = g_build_filename(revoked, file, NULL);

	if (!tr_pki_ensure_dir(revoked, error) ||
	    (rename(crt_path, dst) < 0 &&
	     !tr_set_error_errno(error, errno, "cannot move %s to %s", crt_path, dst))) {
		tr_pki_prefix_write_error(error, ca->state_dir);
		return FALSE;
	}
	/* A revoked certificate's key is of no further use. */
	if (unlink(key_path) < 0 && errno != ENOENT) {
		tr_set_error_errno(error, errno, "cannot remove %s", key_path);
		tr_pki_prefix_write_error(error, ca->state_dir);
		return FALSE;
	}
	return TRUE;
}

gboolean
tr_pki_revoke(TrPkiCa *ca, const char *name, GError **error)
{
	g_autofree char *path = NULL;
	g_auto(gnutls_x509_crt_t) crt = NULL;

	if (!tr_pki_name_validate(name, error))
		return FALSE;
	path = tr_pki_cert_path(ca->state_dir, name);
	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND,
		            "no current certificate is issued to '%s' (see 'trellis pki list')",
		            name);
		return FALSE;
	}
	crt = tr_pki_cert_load_file(path, error);
	if (crt == NULL)
		return FALSE;
	/* The CRL first: once it is written the certificate is refused. */
	return tr_pki_write_crl(ca, crt, error) && tr_pki_archive_cert(ca, name, crt, error);
}

gboolean
tr_pki_refresh_crl(TrPkiCa *ca, GError **error)
{
	return tr_pki_write_crl(ca, NULL, error);
}

/* ---- Listing -------------------------------------------------------------- */

void
tr_pki_entry_free(TrPkiEntry *entry)
{
	if (entry == NULL)
		return;
	g_free(entry->name);
	g_free(entry->serial);
	g_free(entry);
}

gboolean
tr_pki_entry_is_expiring(const TrPkiEntry *entry, gint64 now)
{
	gint64 days = entry->kind == TR_PKI_KIND_CA ? TR_PKI_CA_WARN_DAYS : TR_PKI_WARN_DAYS;

	return !entry->revoked && entry->not_after - now < days * TR_PKI_DAY;
}

static TrPkiEntry *
entry_new(const char *path, RevocationSet *revoked, GError **error)
{
	g_auto(gnutls_x509_crt_t) crt = tr_pki_cert_load_file(path, error);
	g_autoptr(TrPkiEntry) entry = g_new0(TrPkiEntry, 1);
	guint8 serial[64];
	size_t size = sizeof(serial);

	if (crt == NULL)
		return NULL;
	if (!tr_pki_cert_get_kind(crt, &entry->kind, error))
		goto fail;
	if (entry->kind == TR_PKI_KIND_CA) {
		char cn[256];
		size_t cn_len = sizeof(cn);

		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn,
		                                  &cn_len) < 0)
			g_strlcpy(cn, "CA", sizeof(cn));
		entry->name = g_strdup(cn);
	} else {
		entry->name = tr_pki_cert_get_identity(crt, error);
		if (entry->name == NULL)
			goto fail;
	}
	entry->serial = tr_pki_cert_serial_hex(crt);
	entry->not_before = (gint64)gnutls_x509_crt_get_activation_time(crt);
	entry->not_after = (gint64)gnutls_x509_crt_get_expiration_time(crt);
	if (gnutls_x509_crt_get_serial(crt, serial, &size) >= 0) {
		for (guint i = 0; i < revoked->items->len; i++) {
			const Revocation *r = &g_array_index(revoked->items, Revocation, i);
			if (r->len == size && memcmp(r->serial, serial, size) == 0) {
				entry->revoked = TRUE;
				entry->revoked_at = r->revoked_at;
			}
		}
	}
	return g_steal_pointer(&entry);
fail:
	g_prefix_error(error, "%s: ", path);
	return NULL;
}

static gboolean
list_dir(const char *dir_path, RevocationSet *revoked, GPtrArray *out, GError **error)
{
	g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
	const char *file;

	while (dir != NULL && (file = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = g_build_filename(dir_path, file, NULL);
		g_autofree char *stem = NULL;
		g_autofree char *key = NULL;
		TrPkiEntry *entry;

		if (!g_str_has_suffix(file, ".crt"))
			continue;
		entry = entry_new(path, revoked, error);
		if (entry == NULL)
			return FALSE;
		stem = g_strndup(path, strlen(path) - strlen(".crt"));
		key = g_strconcat(stem, ".key", NULL);
		entry->has_key = g_file_test(key, G_FILE_TEST_EXISTS);
		g_ptr_array_add(out, entry);
	}
	return TRUE;
}

static int
entry_cmp(gconstpointer a, gconstpointer b)
{
	const TrPkiEntry *x = *(TrPkiEntry *const *)a, *y = *(TrPkiEntry *const *)b;
	int c;

	if ((x->kind == TR_PKI_KIND_CA) != (y->kind == TR_PKI_KIND_CA))
		return x->kind == TR_PKI_KIND_CA ? -1 : 1;
	c = strcmp(x->name, y->name);
	if (c != 0)
		return c;
	if (x->revoked != y->revoked)
		return x->revoked ? 1 : -1;
	return x->not_after < y->not_after ? 1 : x->not_after > y->not_after ? -1 : 0;
}

GPtrArray *
tr_pki_list(const char *state_dir, GError **error)
{
	g_autoptr(GPtrArray) out =
	        g_ptr_array_new_with_free_func((GDestroyNotify)tr_pki_entry_free);
	g_autofree char *ca_path = tr_pki_ca_cert_path(state_dir);
	g_autofree char *issued = tr_pki_issued_dir(state_dir);
	g_autofree char *revoked_dir = tr_pki_revoked_dir(state_dir);
	g_auto(gnutls_x509_crt_t) ca = NULL;
	g_auto(RevocationSet) revoked = {0};
	TrPkiEntry *ca_entry;

	if (!tr_pki_require_ca(state_dir, error))
		return NULL;
	ca = tr_pki_cert_load_file(ca_path, error);
	if (ca == NULL || !revocations_load(state_dir, ca, &revoked, error))
		return NULL;
	ca_entry = entry_new(ca_path, &revoked, error);
	if (ca_entry == NULL)
		return NULL;
	ca_entry->kind = TR_PKI_KIND_CA;
	{
		g_autofree char *key = g_build_filename(state_dir, "ca.key", NULL);
		ca_entry->has_key = g_file_test(key, G_FILE_TEST_EXISTS);
	}
	g_ptr_array_add(out, ca_entry);
	if (!list_dir(issued, &revoked, out, error) || !list_dir(revoked_dir, &revoked, out, error))
		return NULL;
	g_ptr_array_sort(out, entry_cmp);
	return g_steal_pointer(&out);
}
