/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/gnutls-auto.h"
#include "common/pki/private.h"
#include "common/pki/pki.h"
#include "tests/unit/fixture.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char *tmp;   /* removed afterwards */
	char *state; /* TMP/state */
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	f->tmp = g_dir_make_tmp("trellis-pki-XXXXXX", NULL);
	g_assert_nonnull(f->tmp);
	f->state = g_build_filename(f->tmp, "state", NULL);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	tr_fixture_remove_tree(f->tmp);
	g_free(f->tmp);
	g_free(f->state);
}

static mode_t
file_mode(const char *path)
{
	struct stat st;

	g_assert_cmpint(stat(path, &st), ==, 0);
	return st.st_mode & 07777;
}

static void
assert_message(const GError *error, const char *fragment)
{
	g_assert_nonnull(error);
	if (strstr(error->message, fragment) == NULL)
		g_error("message '%s' lacks '%s'", error->message, fragment);
}

static TrPkiCa *
init_ca(const char *state, TrPkiAlgorithm algorithm)
{
	TrPkiInitOptions opts = {.network = "test", .algorithm = algorithm};
	g_autoptr(GError) error = NULL;
	TrPkiCa *ca;

	g_assert_true(tr_pki_init(state, &opts, &error));
	g_assert_no_error(error);
	ca = tr_pki_ca_open(state, &error);
	g_assert_no_error(error);
	return ca;
}

static void
issue(TrPkiCa *ca, const char *name, const TrPkiIssueOptions *opts)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(tr_pki_issue(ca, name, opts, &error));
	g_assert_no_error(error);
}

static gnutls_x509_crt_t
load_issued(const char *state, const char *name)
{
	g_autofree char *path = tr_pki_cert_path(state, name);
	g_autoptr(GError) error = NULL;
	gnutls_x509_crt_t crt = tr_pki_cert_load_file(path, &error);

	g_assert_no_error(error);
	return crt;
}

/* Verifies NAME's issued certificate; NULL @reason means it must pass. */
static void
check_verify(TrPkiTrust *trust, const char *state, const char *name, TrPkiKind kind,
             const char *expect_name, const char *reason)
{
	g_auto(gnutls_x509_crt_t) crt = load_issued(state, name);
	g_autoptr(GError) error = NULL;
	gboolean ok = tr_pki_trust_verify_cert(trust, crt, kind, expect_name, &error);

	if (reason == NULL) {
		g_assert_no_error(error);
		g_assert_true(ok);
	} else {
		g_assert_false(ok);
		g_assert_error(error, TR_ERROR, TR_ERROR_AUTH);
		assert_message(error, reason);
	}
}

static void
test_init_modes(Fixture *f, gconstpointer data)
{
	g_autoptr(TrPkiCa) ca = init_ca(f->state, TR_PKI_ALG_ED25519);
	g_autofree char *key = g_build_filename(f->state, "ca.key", NULL);
	g_autofree char *crt = tr_pki_ca_cert_path(f->state);
	g_autofree char *crl = tr_pki_crl_path(f->state);
	g_autofree char *issued = tr_pki_issued_dir(f->state);
	g_autofree char *fp = tr_pki_ca_get_fingerprint(ca);
	g_autoptr(GError) error = NULL;

	g_assert_cmpuint(file_mode(f->state), ==, 0700);
	g_assert_cmpuint(file_mode(issued), ==, 0700);
	g_assert_cmpuint(file_mode(key), ==, 0600);
	g_assert_cmpuint(file_mode(crt), ==, 0644);
	g_assert_cmpuint(file_mode(crl), ==, 0644);
	g_assert_true(tr_pki_ca_exists(f->state));
	g_assert_cmpuint(strlen(fp), ==, 64);

	/* A second init must not replace the CA. */
	g_assert_false(tr_pki_init(f->state, NULL, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_EXISTS);
}

static void
test_issue_verify(Fixture *f, gconstpointer data)
{
	TrPkiAlgorithm alg = GPOINTER_TO_INT(data);
	g_autoptr(TrPkiCa) ca = init_ca(f->state, alg);
	TrPrefix addrs[2], subnets[2];
	TrPkiIssueOptions opts = {.algorithm = alg,
	                          .addresses = addrs,
	                          .n_addresses = 2,
	                          .subnets = subnets,
	                          .n_subnets = 2};
	TrPkiIssueOptions server = {.kind = TR_PKI_KIND_SERVER, .algorithm = alg};
	g_autoptr(TrPkiTrust) trust = NULL;
	g_auto(gnutls_x509_crt_t) crt = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *identity = NULL;
	g_autoptr(GArray) got_addrs = NULL;
	g_autoptr(GArray) got_subnets = NULL;
	g_autofree char *key = NULL;
	char buf[TR_PREFIX_STRLEN];
	TrPkiKind kind;

	g_assert_true(tr_prefix_parse("198.19.0.5", 0, &addrs[0], NULL));
	g_assert_true(tr_prefix_parse("fd00::5", 0, &addrs[1], NULL));
	g_assert_true(tr_prefix_parse("198.19.5.0/24", 0, &subnets[0], NULL));
	g_assert_true(tr_prefix_parse("fd00:5::/64", 0, &subnets[1], NULL));
	issue(ca, "alice", &opts);
	issue(ca, "hub", &server);
	key = tr_pki_key_path(f->state, "alice");
	g_assert_cmpuint(file_mode(key), ==, 0600);

	trust = tr_pki_trust_new_for_state_dir(f->state, &error);
	g_assert_no_error(error);
	check_verify(trust, f->state, "alice", TR_PKI_KIND_CLIENT, NULL, NULL);
	check_verify(trust, f->state, "hub", TR_PKI_KIND_SERVER, "hub", NULL);
	/* The client checks it reached the server it meant to. */
	check_verify(trust, f->state, "hub", TR_PKI_KIND_SERVER, "other", "identity mismatch");
	/* A client certificate cannot act as a server and the other way round. */
	check_verify(trust, f->state, "alice", TR_PKI_KIND_SERVER, NULL, "wrong key usage");
	check_verify(trust, f->state, "hub", TR_PKI_KIND_CLIENT, NULL, "wrong key usage");

	crt = load_issued(f->state, "alice");
	identity = tr_pki_cert_get_identity(crt, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(identity, ==, "alice");
	g_assert_true(tr_pki_cert_get_kind(crt, &kind, &error));
	g_assert_cmpint(kind, ==, TR_PKI_KIND_CLIENT);
	got_addrs = tr_pki_cert_get_addresses(crt, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(got_addrs->len, ==, 2);
	g_assert_true(tr_prefix_equal(&g_array_index(got_addrs, TrPrefix, 0), &addrs[0]));
	g_assert_cmpstr(
	        tr_prefix_to_string(&g_array_index(got_addrs, TrPrefix, 1), buf, sizeof(buf)), ==,
	        "fd00::5/128");
	got_subnets = tr_pki_cert_get_subnets(crt, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(got_subnets->len, ==, 2);
	g_assert_cmpstr(
	        tr_prefix_to_string(&g_array_index(got_subnets, TrPrefix, 0), buf, sizeof(buf)), ==,
	        "198.19.5.0/24");
	g_assert_true(tr_prefix_equal(&g_array_index(got_subnets, TrPrefix, 1), &subnets[1]));
}

static void
test_chain_der(Fixture *f, gconstpointer data)
{
	g_autoptr(TrPkiCa) ca = init_ca(f->state, TR_PKI_ALG_ED25519);
	TrPkiIssueOptions opts = {0};
	g_autoptr(TrPkiTrust) trust = NULL;
	g_auto(gnutls_x509_crt_t) crt = NULL;
	g_autoptr(GError) error = NULL;
	gnutls_datum_t chain[2] = {{NULL, 0}};
	gnutls_datum_t junk = {(unsigned char *)"junk", 4};

	issue(ca, "bob", &opts);
	crt = load_issued(f->state, "bob");
	g_assert_cmpint(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &chain[0]), >=, 0);
	g_assert_cmpint(
	        gnutls_x509_crt_export2(tr_pki_ca_get_cert(ca), GNUTLS_X509_FMT_DER, &chain[1]), >=,
	        0);
	trust = tr_pki_trust_new_for_state_dir(f->state, &error);
	g_assert_no_error(error);
	/* As gnutls_certificate_get_peers() hands it over: leaf alone, or with the CA. */
	g_assert_true(
	        tr_pki_trust_verify_chain(trust, chain, 1, TR_PKI_KIND_CLIENT, "bob", &error));
	g_assert_no_error(error);
	g_assert_true(tr_pki_trust_verify_chain(trust, chain, 2, TR_PKI_KIND_CLIENT, NULL, &error));
	g_assert_no_error(error);
	g_assert_false(
	        tr_pki_trust_verify_chain(trust, &junk, 1, TR_PKI_KIND_CLIENT, NULL, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_AUTH);
	g_clear_error(&error);
	g_assert_false(
	        tr_pki_trust_verify_chain(trust, chain, 0, TR_PKI_KIND_CLIENT, NULL, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_AUTH);
	gnutls_free(chain[0].data);
	gnutls_free(chain[1].data);
}

static void
test_revoke(Fixture *f, gconstpointer data)
{
	g_autoptr(TrPkiCa) ca = init_ca(f->state, TR_PKI_ALG_ED25519);
	TrPkiIssueOptions opts = {0};
	g_autoptr(TrPkiTrust) trust = NULL;
	g_autoptr(GPtrArray) list = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *key = tr_pki_key_path(f->state, "carol");
	gboolean reloaded = TRUE;

	issue(ca, "carol", &opts);
	issue(ca, "dave", &opts);
	trust = tr_pki_trust_new_for_state_dir(f->state, &error);
	g_assert_no_error(error);
	check_verify(trust, f->state, "carol", TR_PKI_KIND_CLIENT, NULL, NULL);
	g_assert_true(tr_pki_trust_reload_if_changed(trust, &reloaded, &error));
	g_assert_false(reloaded);

	{
		/* Keep the certificate to check it after it moved to revoked/. */
		g_auto(gnutls_x509_crt_t) carol = load_issued(f->state, "carol");

		g_assert_true(tr_pki_revoke(ca, "carol", &error));
		g_assert_no_error(error);
		g_assert_false(g_file_test(key, G_FILE_TEST_EXISTS));
		/* A running server picks the new CRL up without a restart. */
		g_assert_true(tr_pki_trust_reload_if_changed(trust, &reloaded, &error));
		g_assert_no_error(error);
		g_assert_true(reloaded);
		g_assert_false(
		        tr_pki_trust_verify_cert(trust, carol, TR_PKI_KIND_CLIENT, NULL, &error));
		g_assert_error(error, TR_ERROR, TR_ERROR_AUTH);
		assert_message(error, "revoked");
		assert_message(error, "carol");
		g_clear_error(&error);
	}
	check_verify(trust, f->state, "dave", TR_PKI_KIND_CLIENT, NULL, NULL);

	g_assert_false(tr_pki_revoke(ca, "carol", &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(tr_pki_revoke(ca, "nobody", &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_NOT_FOUND);
	assert_message(error, "trellis pki list");
	g_clear_error(&error);

	/* The name can be issued again; the old certificate stays revoked. */
	issue(ca, "carol", &opts);
	list = tr_pki_list(f->state, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(list->len, ==, 4); /* CA, carol, carol (revoked), dave */
	{
		const TrPkiEntry *e0 = g_ptr_array_index(list, 0);
		const TrPkiEntry *e1 = g_ptr_array_index(list, 1);
		const TrPkiEntry *e2 = g_ptr_array_index(list, 2);
		const TrPkiEntry *e3 = g_ptr_array_index(list, 3);

		g_assert_cmpint(e0->kind, ==, TR_PKI_KIND_CA);
		g_assert_cmpstr(e0->name, ==, "Trellis CA test");
		g_assert_cmpstr(e1->name, ==, "carol");
		g_assert_false(e1->revoked);
		g_assert_true(e1->has_key);
		g_assert_cmpstr(e2->name, ==, "carol");
		g_assert_true(e2->revoked);
		g_assert_cmpint(e2->revoked_at, >, 0);
		g_assert_cmpstr(e3->name, ==, "dave");
		g_assert_false(e3->revoked);
	}
	check_verify(trust, f->state, "carol", TR_PKI_KIND_CLIENT, NULL, NULL);
}

static void
test_reissue(Fixture *f, gconstpointer data)
{
	g_autoptr(TrPkiCa) ca = init_ca(f->state, TR_PKI_ALG_ED25519);
	TrPkiIssueOptions opts = {0};
	g_autoptr(TrPkiTrust) trust = NULL;
	g_auto(gnutls_x509_crt_t) old = NULL;
	g_autoptr(GError) error = NULL;

	issue(ca, "erin", &opts);
	old = load_issued(f->state, "erin");
	g_assert_false(tr_pki_issue(ca, "erin", &opts, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_EXISTS);
	assert_message(error, "--force");
	g_clear_error(&error);

	opts.force = TRUE;
	issue(ca, "erin", &opts);
	trust = tr_pki_trust_new_for_state_dir(f->state, &error);
	g_assert_no_error(error);
	check_verify(trust, f->state, "erin", TR_PKI_KIND_CLIENT, NULL, NULL);
	g_assert_false(tr_pki_trust_verify_cert(trust, old, TR_PKI_KIND_CLIENT, NULL, &error));
	assert_message(error, "revoked");
}

static void
test_validity(Fixture *f, gconstpointer data)
{
	g_autoptr(TrPkiCa) ca = init_ca(f->state, TR_PKI_ALG_ED25519);
	gint64 now = tr_pki_now();
	TrPkiIssueOptions expired = {.not_before = now - 10 * TR_PKI_DAY,
	                             .not_after = now - TR_PKI_DAY};
	TrPkiIssueOptions future = {.not_before = now + TR_PKI_DAY};
	TrPkiIssueOptions soon = {.not_after = now + 10 * TR_PKI_DAY};
	TrPkiIssueOptions longer = {.days = 100 * 365};
	g_autoptr(TrPkiTrust) trust = NULL;
	g_autoptr(GPtrArray) list = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(gnutls_x509_crt_t) crt = NULL;

	issue(ca, "old", &expired);
	issue(ca, "early", &future);
	issue(ca, "soon", &soon);
	issue(ca, "long", &longer);
	trust = tr_pki_trust_new_for_state_dir(f->state, &error);
	g_assert_no_error(error);
	check_verify(trust, f->state, "old", TR_PKI_KIND_CLIENT, NULL, "expired");
	check_verify(trust, f->state, "early", TR_PKI_KIND_CLIENT, NULL, "not yet valid");
	check_verify(trust, f->state, "soon", TR_PKI_KIND_CLIENT, NULL, NULL);

	/* A certificate never outlives its CA. */
	crt = load_issued(f->state, "long");
	g_assert_cmpint(gnutls_x509_crt_get_expiration_time(crt), ==,
	                gnutls_x509_crt_get_expiration_time(tr_pki_ca_get_cert(ca)));

	list = tr_pki_list(f->state, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < list->len; i++) {
		const TrPkiEntry *e = g_ptr_array_index(list, i);
		gboolean expect = g_str_equal(e->name, "old") || g_str_equal(e->name, "soon");

		if (tr_pki_entry_is_expiring(e, now) != expect)
			g_error("%s: expiring should be %d", e->name, expect);
	}
}

static void
test_other_ca(Fixture *f, gconstpointer data)
{
	g_autofree char *other = g_build_filename(f->tmp, "other", NULL);
	g_autoptr(TrPkiCa) ca2 = init_ca(other, TR_PKI_ALG_ECDSA_P256);
	TrPkiIssueOptions opts = {0};
	g_autoptr(TrPkiTrust) trust = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *crl2 = tr_pki_crl_path(other);
	g_autofree char *ca_path = tr_pki_ca_cert_path(f->state);

	tr_pki_ca_free(init_ca(f->state, TR_PKI_ALG_ED25519));
	issue(ca2, "mallory", &opts);
	trust = tr_pki_trust_new_for_state_dir(f->state, &error);
	g_assert_no_error(error);
	check_verify(trust, other, "mallory", TR_PKI_KIND_CLIENT, NULL, "unknown CA");

	/* Nor is another CA's CRL accepted. */
	g_assert_null(tr_pki_trust_new(ca_path, crl2, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
}

static void
test_request(Fixture *f, gconstpointer data)
{
	g_autoptr(TrPkiCa) ca = init_ca(f->state, TR_PKI_ALG_ED25519);
	TrPkiIssueOptions opts = {.kind = TR_PKI_KIND_CLIENT};
	g_autoptr(GBytes) key = NULL;
	g_autoptr(GBytes) req = NULL;
	g_autoptr(GBytes) cert = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(TrPkiTrust) trust = NULL;
	g_auto(gnutls_x509_crt_t) crt = NULL;
	g_auto(gnutls_x509_privkey_t) priv = NULL;
	g_autofree char *key_path = tr_pki_key_path(f->state, "frank");
	g_autofree char *identity = NULL;
	gnutls_datum_t d;
	guint8 id1[64], id2[64];
	size_t n1 = sizeof(id1), n2 = sizeof(id2);
	g_autofree guint8 *bad = NULL;
	gsize len;

	/* The machine joining makes its key and request; the CA only sees the request. */
	g_assert_true(
	        tr_pki_make_request("frank-laptop", TR_PKI_ALG_ECDSA_P256, &key, &req, &error));
	g_assert_no_error(error);
	/* Identity comes from the CA side, not from the request's CN. */
	cert = tr_pki_sign_request(ca, "frank", &opts, g_bytes_get_data(req, NULL),
	                           g_bytes_get_size(req), &error);
	g_assert_no_error(error);
	g_assert_false(g_file_test(key_path, G_FILE_TEST_EXISTS));
	crt = tr_pki_cert_load(g_bytes_get_data(cert, NULL), g_bytes_get_size(cert), &error);
	g_assert_no_error(error);
	identity = tr_pki_cert_get_identity(crt, &error);
	g_assert_cmpstr(identity, ==, "frank");

	/* The certificate carries the requester's public key. */
	d.data = (unsigned char *)g_bytes_get_data(key, NULL);
	d.size = (unsigned)g_bytes_get_size(key);
	g_assert_cmpint(gnutls_x509_privkey_init(&priv), ==, 0);
	g_assert_cmpint(gnutls_x509_privkey_import(priv, &d, GNUTLS_X509_FMT_PEM), ==, 0);
	g_assert_cmpint(gnutls_x509_privkey_get_key_id(priv, GNUTLS_KEYID_USE_SHA256, id1, &n1), ==,
	                0);
	g_assert_cmpint(gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id2, &n2), ==, 0);
	g_assert_cmpmem(id1, n1, id2, n2);

	trust = tr_pki_trust_new_for_state_dir(f->state, &error);
	g_assert_no_error(error);
	check_verify(trust, f->state, "frank", TR_PKI_KIND_CLIENT, "frank", NULL);

	/* A request whose signature does not match its contents is refused. */
	len = g_bytes_get_size(req);
	bad = g_memdup2(g_bytes_get_data(req, NULL), len);
	{
		g_auto(gnutls_x509_crq_t) crq = NULL;
		gnutls_datum_t in = {bad, (unsigned)len};
		g_autoptr(gnutls_datum_t) der = g_new0(gnutls_datum_t, 1);
		g_autoptr(GBytes) none = NULL;

		g_assert_cmpint(gnutls_x509_crq_init(&crq), ==, 0);
		g_assert_cmpint(gnutls_x509_crq_import(crq, &in, GNUTLS_X509_FMT_PEM), ==, 0);
		g_assert_cmpint(gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, der), ==, 0);
		/* Flip a byte of the signature, at the very end of the DER. */
		der->data[der->size - 1] ^= 0x01;
		none = tr_pki_sign_request(ca, "mallory", &opts, der->data, der->size, &error);
		g_assert_null(none);
		g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
		assert_message(error, "signature");
		g_clear_error(&error);
	}
	g_assert_null(tr_pki_sign_request(ca, "mallory", &opts, (const guint8 *)"junk", 4, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
}

static void
test_names(void)
{
	const char *good[] = {"a", "alice", "host-1", "db_2", "eu.west.gw", "0", NULL};
	const struct {
		const char *name, *fragment;
	} bad[] = {
	        {"", "empty"},
	        {"Alice", "lower case"},
	        {"-x", "start"},
	        {".hidden", "start"},
	        {"a..b", ".."},
	        {"a/b", "not allowed"},
	        {"a b", "not allowed"},
	        {"x\xc3\xa9", "not allowed"},
	        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "at most"},
	};

	for (guint i = 0; good[i]; i++) {
		g_autoptr(GError) error = NULL;
		g_assert_true(tr_pki_name_validate(good[i], &error));
		g_assert_no_error(error);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_assert_false(tr_pki_name_validate(bad[i].name, &error));
		g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
		assert_message(error, bad[i].fragment);
	}
}

static void
test_bad_name_issue(Fixture *f, gconstpointer data)
{
	g_autoptr(TrPkiCa) ca = init_ca(f->state, TR_PKI_ALG_ED25519);
	TrPkiIssueOptions opts = {0};
	g_autoptr(GError) error = NULL;
	g_autofree char *escape = g_build_filename(f->tmp, "x.crt", NULL);

	g_assert_false(tr_pki_issue(ca, "../x", &opts, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	g_assert_false(g_file_test(escape, G_FILE_TEST_EXISTS));
}

static void
test_key_permissions(Fixture *f, gconstpointer data)
{
	g_autofree char *key = g_build_filename(f->state, "ca.key", NULL);
	g_autoptr(TrPkiCa) again = NULL;
	g_autoptr(GError) error = NULL;

	tr_pki_ca_free(init_ca(f->state, TR_PKI_ALG_ED25519));
	g_assert_cmpint(chmod(key, 0640), ==, 0);
	again = tr_pki_ca_open(f->state, &error);
	g_assert_null(again);
	g_assert_error(error, TR_ERROR, TR_ERROR_PERMISSION);
	assert_message(error, "chmod 600");
	g_clear_error(&error);

	/* A state directory anyone may write to is refused too. */
	g_assert_cmpint(chmod(key, 0600), ==, 0);
	g_assert_cmpint(chmod(f->state, 0777), ==, 0);
	g_assert_false(tr_pki_init(f->state, NULL, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_PERMISSION);
	assert_message(error, "chmod 700");
	g_assert_cmpint(chmod(f->state, 0700), ==, 0);
}

static void
test_missing_ca(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TrPkiCa) ca = tr_pki_ca_open(f->state, &error);
	g_autoptr(GPtrArray) list = NULL;

	g_assert_null(ca);
	g_assert_error(error, TR_ERROR, TR_ERROR_NOT_FOUND);
	assert_message(error, "trellis pki init");
	g_clear_error(&error);
	list = tr_pki_list(f->state, &error);
	g_assert_null(list);
	g_assert_error(error, TR_ERROR, TR_ERROR_NOT_FOUND);
}

/*
 * Writing where one may not. Root may write anywhere, so as root the check
 * runs in a child that drops to nobody first.
 */
static void
test_no_write_permission(void)
{
	g_autofree char *tmp = NULL;
	g_autofree char *locked = NULL;

	if (g_test_subprocess()) {
		g_autofree char *state = g_build_filename(g_getenv("TR_PKI_LOCKED"), "state", NULL);
		g_autoptr(GError) error = NULL;

		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			g_error("cannot drop to nobody");
		g_assert_false(tr_pki_init(state, NULL, &error));
		g_assert_error(error, TR_ERROR, TR_ERROR_PERMISSION);
		assert_message(error, "no permission to write the state directory");
		return;
	}
	tmp = g_dir_make_tmp("trellis-pki-XXXXXX", NULL);
	g_assert_nonnull(tmp);
	locked = g_build_filename(tmp, "locked", NULL);
	g_assert_cmpint(g_mkdir(locked, 0555), ==, 0);
	g_assert_cmpint(chmod(locked, 0555), ==, 0);
	g_assert_cmpint(chmod(tmp, 0755), ==, 0);
	g_setenv("TR_PKI_LOCKED", locked, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_assert_cmpint(chmod(locked, 0755), ==, 0);
	tr_fixture_remove_tree(tmp);
	g_test_trap_assert_passed();
}

/* The files pass GnuTLS's own command-line verifier, independently of our code. */
static void
test_certtool(Fixture *f, gconstpointer data)
{
	g_autofree char *certtool = g_find_program_in_path("certtool");
	g_autoptr(TrPkiCa) ca = NULL;
	TrPrefix addr, subnet;
	TrPkiIssueOptions opts = {.kind = TR_PKI_KIND_SERVER,
	                          .addresses = &addr,
	                          .n_addresses = 1,
	                          .subnets = &subnet,
	                          .n_subnets = 1};
	g_autofree char *ca_path = tr_pki_ca_cert_path(f->state);
	g_autofree char *crl_path = tr_pki_crl_path(f->state);
	g_autofree char *crt = tr_pki_cert_path(f->state, "gw");
	g_autofree char *revoked_crt = NULL;
	g_autofree char *out = NULL;
	g_autoptr(GError) error = NULL;

	if (certtool == NULL) {
		g_test_skip("certtool (gnutls-bin) not installed");
		return;
	}
	ca = init_ca(f->state, TR_PKI_ALG_ED25519);
	g_assert_true(tr_prefix_parse("198.19.0.9", 0, &addr, NULL));
	g_assert_true(tr_prefix_parse("198.19.9.0/24", 0, &subnet, NULL));
	issue(ca, "gw", &opts);
	{
		const char *argv[] = {certtool, "--certificate-info", "--infile", crt, NULL};
		g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
		                           NULL, NULL, &out, NULL, NULL, &error));
		g_assert_no_error(error);
		g_assert_nonnull(strstr(out, "Subject: CN=gw"));
		g_assert_nonnull(strstr(out, "DNSname: gw"));
		g_assert_nonnull(strstr(out, "IPAddress: 198.19.0.9"));
		g_assert_nonnull(strstr(out, "URI: trellis-subnet:198.19.9.0/24"));
		g_assert_nonnull(strstr(out, "TLS WWW Server"));
		g_clear_pointer(&out, g_free);
	}
	{
		const char *argv[] = {certtool,   "--verify",   "--load-ca-certificate",
		                      ca_path,    "--load-crl", crl_path,
		                      "--infile", crt,          NULL};
		g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
		                           NULL, NULL, &out, NULL, NULL, &error));
		g_assert_nonnull(strstr(out, "Verified."));
		g_clear_pointer(&out, g_free);
	}
	{
		g_auto(gnutls_x509_crt_t) c = load_issued(f->state, "gw");
		g_autofree char *serial = tr_pki_cert_serial_hex(c);
		g_autofree char *file = g_strdup_printf("gw.%s.crt", serial);
		revoked_crt = g_build_filename(f->state, "revoked", file, NULL);
	}
	g_assert_true(tr_pki_revoke(ca, "gw", &error));
	{
		const char *argv[] = {certtool,   "--verify",   "--load-ca-certificate",
		                      ca_path,    "--load-crl", crl_path,
		                      "--infile", revoked_crt,  NULL};
		g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
		                           NULL, NULL, &out, NULL, NULL, &error));
		g_assert_nonnull(strstr(out, "revoked"));
		g_clear_pointer(&out, g_free);
	}
	{
		const char *argv[] = {certtool, "--crl-info", "--infile", crl_path, NULL};
		g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
		                           NULL, NULL, &out, NULL, NULL, &error));
		g_assert_nonnull(strstr(out, "Revoked certificates (1)"));
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	umask(022);
#define FIXTURE_TEST(path, fn, data)                                                               \
	g_test_add(path, Fixture, data, fixture_setup, fn, fixture_teardown)
	g_test_add_func("/pki/names", test_names);
	FIXTURE_TEST("/pki/init-modes", test_init_modes, NULL);
	FIXTURE_TEST("/pki/issue-verify/ed25519", test_issue_verify,
	             GINT_TO_POINTER(TR_PKI_ALG_ED25519));
	FIXTURE_TEST("/pki/issue-verify/ecdsa-p256", test_issue_verify,
	             GINT_TO_POINTER(TR_PKI_ALG_ECDSA_P256));
	FIXTURE_TEST("/pki/chain-der", test_chain_der, NULL);
	FIXTURE_TEST("/pki/revoke", test_revoke, NULL);
	FIXTURE_TEST("/pki/reissue-force", test_reissue, NULL);
	FIXTURE_TEST("/pki/validity", test_validity, NULL);
	FIXTURE_TEST("/pki/other-ca", test_other_ca, NULL);
	FIXTURE_TEST("/pki/request", test_request, NULL);
	FIXTURE_TEST("/pki/bad-name-issue", test_bad_name_issue, NULL);
	FIXTURE_TEST("/pki/key-permissions", test_key_permissions, NULL);
	FIXTURE_TEST("/pki/missing-ca", test_missing_ca, NULL);
	g_test_add_func("/pki/no-write-permission", test_no_write_permission);
	FIXTURE_TEST("/pki/certtool", test_certtool, NULL);
	return g_test_run();
}
