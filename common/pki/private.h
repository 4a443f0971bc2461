/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Internal to common/pki*.c and the tests: not for the server or client. */
#include "common/pki/pki.h"

#include <sys/types.h>

G_BEGIN_DECLS

/* The URI scheme of a claimed subnet in the SAN: "trellis-subnet:198.19.5.0/24". */
#define TR_PKI_SUBNET_URI_SCHEME "trellis-subnet:"

struct _TrPkiCa {
	char *state_dir;
	gnutls_x509_crt_t crt;
	gnutls_privkey_t key;
};

/* Seconds in a day, for lifetimes given in days. */
#define TR_PKI_DAY ((gint64)86400)
/*
 * Certificates and CRLs start a little in the past, so that peers with a
 * slow clock accept them, and so does GnuTLS right away: it reads the clock
 * with time(), which can still show the previous second when
 * g_get_real_time() has moved on.
 */
#define TR_PKI_BACKDATE_SECONDS 300

/* ---- pki-profile.c: the certificate profile ---------------------------------- */

/*
 * Sets subject, SAN, basic constraints, key usages and key identifiers of an
 * end-entity certificate for @name (see docs/PKI.md).
 */
gboolean tr_pki_profile_apply(gnutls_x509_crt_t crt, gnutls_x509_crt_t ca, const char *name,
                              const TrPkiIssueOptions *opts, GError **error);

/* Lowercase hex of @len bytes. */
char *tr_pki_hex(const guint8 *data, gsize len);

/* Serial number of @crt as lowercase hex. */
char *tr_pki_cert_serial_hex(gnutls_x509_crt_t crt);

/* ---- pki-store.c: files in the state directory ------------------------------- */

/*
 * Writes @data to @path atomically: a temporary file next to it created
 * with O_EXCL and @mode, synced, then renamed over @path.
 */
gboolean tr_pki_write_file(const char *path, const void *data, gsize len, mode_t mode,
                           GError **error);

/*
 * Reads a private key file, refusing (TR_ERROR_PERMISSION) one readable by
 * group or others. The returned bytes are wiped when freed.
 */
GBytes *tr_pki_read_key_file(const char *path, GError **error);

/* Creates @path as a directory with mode 0700 unless it exists; refuses a
 * group- or world-writable one. */
gboolean tr_pki_ensure_dir(const char *path, GError **error);

/* GBytes over a copy of @data that wipes it on free. */
GBytes *tr_pki_secret_bytes_new(const void *data, gsize len);

/* Adds the state directory and a hint to an error about writing it. */
void tr_pki_prefix_write_error(GError **error, const char *state_dir);

/* The state directory holds a CA certificate: TR_ERROR_NOT_FOUND ("no CA in
 * DIR: run 'trellis pki init' first") or, when the directory cannot be read,
 * TR_ERROR_PERMISSION saying so. */
gboolean tr_pki_require_ca(const char *state_dir, GError **error);

/* STATE/issued and STATE/revoked. */
char *tr_pki_issued_dir(const char *state_dir);
char *tr_pki_revoked_dir(const char *state_dir);

/* Now, in Unix seconds. */
gint64 tr_pki_now(void);

/* ---- pki-crl.c: revocation ------------------------------------------------- */

/*
 * Writes crl.pem signed by @ca, listing every serial it listed before,
 * every certificate in revoked/, and @extra (revoked now) when not NULL.
 */
gboolean tr_pki_write_crl(TrPkiCa *ca, gnutls_x509_crt_t extra, GError **error);

/* Moves issued/NAME.crt (and .key) to revoked/NAME.SERIAL.crt (.key). */
gboolean tr_pki_archive_cert(TrPkiCa *ca, const char *name, gnutls_x509_crt_t crt, GError **error);

G_END_DECLS
