/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Certificate readers on whatever a peer presents: loading (PEM or DER),
 * identity, static addresses, claimed subnets and kind.
 */
#include "common/base/addr.h"
#include "common/pki/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gnutls_x509_crt_t crt = tr_pki_cert_load(data, size, NULL);
	GArray *addrs, *subnets;
	char *identity;
	TrPkiKind kind;

	if (crt == NULL)
		return 0;
	identity = tr_pki_cert_get_identity(crt, NULL);
	if (identity != NULL && !tr_pki_name_validate(identity, NULL))
		__builtin_trap();
	g_free(identity);
	addrs = tr_pki_cert_get_addresses(crt, NULL);
	for (guint i = 0; addrs != NULL && i < addrs->len; i++) {
		const TrPrefix *p = &g_array_index(addrs, TrPrefix, i);
		if (p->len != tr_addr_family_bytes(p->family) * 8)
			__builtin_trap();
	}
	if (addrs)
		g_array_unref(addrs);
	subnets = tr_pki_cert_get_subnets(crt, NULL);
	for (guint i = 0; subnets != NULL && i < subnets->len; i++) {
		TrPrefix p = g_array_index(subnets, TrPrefix, i);
		tr_prefix_mask(&p);
		if (!tr_prefix_equal(&p, &g_array_index(subnets, TrPrefix, i)))
			__builtin_trap();
	}
	if (subnets)
		g_array_unref(subnets);
	(void)tr_pki_cert_get_kind(crt, &kind, NULL);
	gnutls_x509_crt_deinit(crt);
	return 0;
}
