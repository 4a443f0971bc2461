/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * g_auto() cleanups for the GnuTLS handles Trellis uses, fwupd style:
 *
 *	g_auto(gnutls_x509_crt_t) crt = NULL;
 *	g_autoptr(gnutls_datum_t) der = g_new0(gnutls_datum_t, 1);
 *
 * Keep every such definition in this one header: defining one twice in two
 * headers that meet in a translation unit does not compile.
 */
#include <glib.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* A trust list owns the CAs and CRLs added to it. */
static inline void
tr_gnutls_trust_list_deinit(gnutls_x509_trust_list_t list)
{
	gnutls_x509_trust_list_deinit(list, 1);
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC(gnutls_x509_crt_t, gnutls_x509_crt_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(gnutls_x509_crq_t, gnutls_x509_crq_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(gnutls_x509_crl_t, gnutls_x509_crl_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(gnutls_x509_privkey_t, gnutls_x509_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(gnutls_privkey_t, gnutls_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(gnutls_pubkey_t, gnutls_pubkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(gnutls_x509_trust_list_t, tr_gnutls_trust_list_deinit, NULL)

/* A datum GnuTLS allocated (an export); plain, not wiped. */
static inline void
tr_gnutls_datum_free(gnutls_datum_t *d)
{
	if (d == NULL)
		return;
	gnutls_free(d->data);
	g_free(d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(gnutls_datum_t, tr_gnutls_datum_free)

/* A datum holding a secret (an exported private key): wiped, then freed. */
static inline void
tr_gnutls_datum_wipe(gnutls_datum_t *d)
{
	if (d == NULL)
		return;
	if (d->data != NULL)
		gnutls_memset(d->data, 0, d->size);
	tr_gnutls_datum_free(d);
}
/* g_autoptr(TrSecretDatum) key = g_new0(TrSecretDatum, 1): a secret GnuTLS
 * exported into a datum of its own allocation. */
typedef gnutls_datum_t TrSecretDatum;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrSecretDatum, tr_gnutls_datum_wipe)
