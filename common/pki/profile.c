/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The certificate profile: how a NAME, its kind, static addresses and claimed
 * subnets are written into an X.509 certificate and read back from one.
 *
 *   subject   CN=NAME
 *   SAN       dNSName NAME, iPAddress per static address,
 *             URI "trellis-subnet:PREFIX" per claimed subnet
 *   EKU       clientAuth (client) or serverAuth (server)
 *   KU        digitalSignature; basicConstraints CA:FALSE
 */
#include "common/pki/private.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/gnutls-auto.h"

#include <string.h>

/* Longest SAN entry read back: a NAME, or a subnet URI. */
#define SAN_MAX 256

gboolean
tr_pki_name_validate(const char *name, GError **error)
{
	size_t len;

	if (name == NULL || name[0] == '\0') {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID, "the name is empty");
		return FALSE;
	}
	len = strlen(name);
	if (len > TR_PKI_NAME_MAX) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "name is %zu characters long; at most %d are allowed", len,
		            TR_PKI_NAME_MAX);
		return FALSE;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		gboolean alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (c >= 'A' && c <= 'Z') {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "name '%s' has upper-case letters; names are lower case", name);
			return FALSE;
		}
		if (!alnum && c != '-' && c != '_' && c != '.') {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "name has a character that is not allowed at position %zu; "
			            "use a-z, 0-9, '-', '_' and '.'",
			            i + 1);
			return FALSE;
		}
		if (i == 0 && !alnum) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "name '%s' must start with a letter or digit", name);
			return FALSE;
		}
		if (c == '.' && name[i + 1] == '.') {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "name '%s' must not contain '..'", name);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
tr_pki_algorithm_parse(const char *text, TrPkiAlgorithm *out, GError **error)
{
	if (g_strcmp0(text, "ed25519") == 0) {
		*out = TR_PKI_ALG_ED25519;
		return TRUE;
	}
	if (g_strcmp0(text, "ecdsa-p256") == 0) {
		*out = TR_PKI_ALG_ECDSA_P256;
		return TRUE;
	}
	g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
	            "unknown key algorithm '%s'; use ed25519 or ecdsa-p256", text ? text : "");
	return FALSE;
}

const char *
tr_pki_algorithm_to_string(TrPkiAlgorithm algorithm)
{
	return algorithm == TR_PKI_ALG_ECDSA_P256 ? "ecdsa-p256" : "ed25519";
}

const char *
tr_pki_kind_to_string(TrPkiKind kind)
{
	switch (kind) {
	case TR_PKI_KIND_SERVER:
		return "server";
	case TR_PKI_KIND_CA:
		return "ca";
	case TR_PKI_KIND_CLIENT:
	default:
		return "client";
	}
}

char *
tr_pki_hex(const guint8 *data, gsize len)
{
	static const char digits[] = "0123456789abcdef";
	char *out = g_malloc(len * 2 + 1);

	for (gsize i = 0; i < len; i++) {
		out[i * 2] = digits[data[i] >> 4];
		out[i * 2 + 1] = digits[data[i] & 15];
	}
	out[len * 2] = '\0';
	return out;
}

char *
tr_pki_cert_serial_hex(gnutls_x509_crt_t crt)
{
	guint8 serial[64];
	size_t size = sizeof(serial);

	if (gnutls_x509_crt_get_serial(crt, serial, &size) < 0)
		return g_strdup("?");
	return tr_pki_hex(serial, size);
}

/* ---- Writing -------------------------------------------------------------- */

static gboolean
add_san(gnutls_x509_crt_t crt, gnutls_x509_subject_alt_name_t type, const void *data, unsigned size,
        GError **error)
{
	int rc = gnutls_x509_crt_set_subject_alt_name(crt, type, data, size, GNUTLS_FSAN_APPEND);

	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "cannot add a subject alternative name");
	return TRUE;
}

static gboolean
set_key_ids(gnutls_x509_crt_t crt, gnutls_x509_crt_t ca, GError **error)
{
	guint8 id[64];
	size_t size = sizeof(id);
	int rc;

	rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, id, &size);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_subject_key_id(crt, id, size);
	if (rc >= 0 && ca != NULL) {
		size = sizeof(id);
		rc = gnutls_x509_crt_get_subject_key_id(ca, id, &size, NULL);
		if (rc >= 0)
			rc = gnutls_x509_crt_set_authority_key_id(crt, id, size);
	}
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
		                           "cannot set the key identifiers");
	return TRUE;
}

gboolean
tr_pki_profile_apply(gnutls_x509_crt_t crt, gnutls_x509_crt_t ca, const char *name,
                     const TrPkiIssueOptions *opts, GError **error)
{
	const char *purpose = opts->kind == TR_PKI_KIND_SERVER ? GNUTLS_KP_TLS_WWW_SERVER
	                                                       : GNUTLS_KP_TLS_WWW_CLIENT;
	int rc;

	if (opts->kind != TR_PKI_KIND_CLIENT && opts->kind != TR_PKI_KIND_SERVER) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID,
		                    "only client and server certificates can be issued");
		return FALSE;
	}
	rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, name,
	                                   (unsigned)strlen(name));
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "cannot set the subject");
	if (!add_san(crt, GNUTLS_SAN_DNSNAME, name, (unsigned)strlen(name), error))
		return FALSE;

	for (guint i = 0; i < opts->n_addresses; i++) {
		const TrPrefix *a = &opts->addresses[i];
		unsigned bytes = tr_addr_family_bytes(a->family);

		if ((a->family != TR_ADDR_IPV4 && a->family != TR_ADDR_IPV6) ||
		    a->len != bytes * 8) {
			char buf[TR_PREFIX_STRLEN];
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "static address %s is not a single IPv4 or IPv6 address",
			            tr_prefix_to_string(a, buf, sizeof(buf)));
			return FALSE;
		}
		if (!add_san(crt, GNUTLS_SAN_IPADDRESS, a->addr, bytes, error))
			return FALSE;
	}
	for (guint i = 0; i < opts->n_subnets; i++) {
		TrPrefix net = opts->subnets[i];
		char buf[TR_PREFIX_STRLEN];
		g_autofree char *uri = NULL;

		tr_prefix_mask(&net);
		if (!tr_prefix_equal(&net, &opts->subnets[i]) ||
		    tr_addr_family_bytes(net.family) == 0) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "claimed subnet %s is not a network prefix",
			            tr_prefix_to_string(&opts->subnets[i], buf, sizeof(buf)));
			return FALSE;
		}
		uri = g_strconcat(TR_PKI_SUBNET_URI_SCHEME,
		                  tr_prefix_to_string(&net, buf, sizeof(buf)), NULL);
		if (!add_san(crt, GNUTLS_SAN_URI, uri, (unsigned)strlen(uri), error))
			return FALSE;
	}

	rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_key_purpose_oid(crt, purpose, 1);
	if (rc < 0)
		return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "cannot set the key usages");
	return set_key_ids(crt, ca, error);
}

/* ---- Reading -------------------------------------------------------------- */

gnutls_x509_crt_t
tr_pki_cert_load(const guint8 *data, gsize len, GError **error)
{
	g_auto(gnutls_x509_crt_t) crt = NULL;
	gnutls_datum_t d = {(unsigned char *)data, (unsigned)len};
	int rc;

	if (len > G_MAXUINT32 / 2) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID, "certificate too large");
		return NULL;
	}
	rc = gnutls_x509_crt_init(&crt);
	if (rc < 0) {
		tr_set_error_gnutls(error, TR_ERROR_FAILED, rc, "cannot allocate a certificate");
		return NULL;
	}
	rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
	if (rc < 0)
		rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER);
	if (rc < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "not an X.509 certificate: %s",
		            gnutls_strerror(rc));
		return NULL;
	}
	return g_steal_pointer(&crt);
}

gnutls_x509_crt_t
tr_pki_cert_load_file(const char *path, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	gnutls_x509_crt_t crt;

	if (!g_file_get_contents(path, &data, &len, error))
		return NULL;
	crt = tr_pki_cert_load((const guint8 *)data, len, error);
	if (crt == NULL)
		g_prefix_error(error, "%s: ", path);
	return crt;
}

/*
 * Calls @fn for every SAN entry of @crt. Entries longer than SAN_MAX are an
 * error: nothing Trellis writes is that long.
 */
typedef gboolean (*SanFunc)(int type, const char *data, size_t size, gpointer user_data,
                            GError **error);

static gboolean
foreach_san(gnutls_x509_crt_t crt, SanFunc fn, gpointer user_data, GError **error)
{
	for (unsigned seq = 0;; seq++) {
		char data[SAN_MAX + 1];
		size_t size = SAN_MAX;
		unsigned type = 0;
		int rc;

		rc = gnutls_x509_crt_get_subject_alt_name2(crt, seq, data, &size, &type, NULL);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return TRUE;
		if (rc < 0)
			return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
			                           "cannot read the subject alternative names");
		if (size > SAN_MAX)
			size = SAN_MAX;
		data[size] = '\0';
		if (!fn((int)type, data, size, user_data, error))
			return FALSE;
	}
}

static gboolean
find_dns_name(int type, const char *data, size_t size, gpointer user_data, GError **error)
{
	char **dns = user_data;

	if (type != GNUTLS_SAN_DNSNAME)
		return TRUE;
	if (*dns != NULL) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID,
		                    "the certificate names more than one identity");
		return FALSE;
	}
	if (strlen(data) != size) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID,
		                    "the certificate's dNSName holds a NUL byte");
		return FALSE;
	}
	*dns = g_strdup(data);
	return TRUE;
}

char *
tr_pki_cert_get_identity(gnutls_x509_crt_t crt, GError **error)
{
	char cn[TR_PKI_NAME_MAX + 2];
	size_t size = sizeof(cn);
	g_autofree char *dns = NULL;
	int rc;

	rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &size);
	if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID,
		                    "the certificate's common name is too long for a name");
		return NULL;
	}
	if (rc < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "the certificate has no common name: %s", gnutls_strerror(rc));
		return NULL;
	}
	size = 0;
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 1, 0, NULL, &size) !=
	    GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID,
		                    "the certificate has more than one common name");
		return NULL;
	}
	if (!tr_pki_name_validate(cn, error)) {
		g_prefix_error(error, "the certificate's identity is not a Trellis name: ");
		return NULL;
	}
	if (!foreach_san(crt, find_dns_name, &dns, error))
		return NULL;
	if (g_strcmp0(dns, cn) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "the certificate's common name '%s' and dNSName '%s' differ", cn,
		            dns ? dns : "(none)");
		return NULL;
	}
	return g_steal_pointer(&dns);
}

static gboolean
collect_address(int type, const char *data, size_t size, gpointer user_data, GError **error)
{
	GArray *out = user_data;
	TrPrefix p = {0};

	if (type != GNUTLS_SAN_IPADDRESS)
		return TRUE;
	if (size == 4)
		p.family = TR_ADDR_IPV4;
	else if (size == 16)
		p.family = TR_ADDR_IPV6;
	else {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "the certificate holds an iPAddress of %zu bytes", size);
		return FALSE;
	}
	p.len = (uint8_t)(size * 8);
	memcpy(p.addr, data, size);
	g_array_append_val(out, p);
	return TRUE;
}

GArray *
tr_pki_cert_get_addresses(gnutls_x509_crt_t crt, GError **error)
{
	g_autoptr(GArray) out = g_array_new(FALSE, TRUE, sizeof(TrPrefix));

	if (!foreach_san(crt, collect_address, out, error))
		return NULL;
	return g_steal_pointer(&out);
}

static gboolean
collect_subnet(int type, const char *data, size_t size, gpointer user_data, GError **error)
{
	GArray *out = user_data;
	const size_t scheme_len = strlen(TR_PKI_SUBNET_URI_SCHEME);
	TrPrefix p;

	/* Other URIs are not ours to judge. */
	if (type != GNUTLS_SAN_URI || size < scheme_len ||
	    strncmp(data, TR_PKI_SUBNET_URI_SCHEME, scheme_len) != 0)
		return TRUE;
	if (strlen(data) != size) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID,
		                    "the certificate's subnet URI holds a NUL byte");
		return FALSE;
	}
	if (!tr_prefix_parse(data + scheme_len, TR_PREFIX_REQUIRE_LEN, &p, error)) {
		g_prefix_error(error, "the certificate claims a malformed subnet: ");
		return FALSE;
	}
	g_array_append_val(out, p);
	return TRUE;
}

GArray *
tr_pki_cert_get_subnets(gnutls_x509_crt_t crt, GError **error)
{
	g_autoptr(GArray) out = g_array_new(FALSE, TRUE, sizeof(TrPrefix));

	if (!foreach_san(crt, collect_subnet, out, error))
		return NULL;
	return g_steal_pointer(&out);
}

gboolean
tr_pki_cert_get_kind(gnutls_x509_crt_t crt, TrPkiKind *kind, GError **error)
{
	gboolean server = FALSE, client = FALSE;
	unsigned ca = 0;

	if (gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL) >= 0 && ca) {
		*kind = TR_PKI_KIND_CA;
		return TRUE;
	}
	for (unsigned i = 0;; i++) {
		char oid[128];
		size_t size = sizeof(oid);
		int rc = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &size, NULL);

		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue;
		if (rc < 0)
			return tr_set_error_gnutls(error, TR_ERROR_FAILED, rc,
			                           "cannot read the key purposes");
		server |= strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER) == 0;
		client |= strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0;
	}
	if (server == client) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_INVALID,
		                    "the certificate is neither a Trellis client nor a server "
		                    "certificate (wrong key usage)");
		return FALSE;
	}
	*kind = server ? TR_PKI_KIND_SERVER : TR_PKI_KIND_CLIENT;
	return TRUE;
}
