/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Invites: the token codec (round trip, damage detection), the pending
 * invite files (modes, one redemption, expiry) and the joining side's
 * checks of the hub's answer.
 */
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/pki/invite-token.h"
#include "common/pki/invite.h"
#include "common/pki/join.h"
#include "common/pki/pki.h"
#include "tests/unit/fixture.h"

#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char *tmp;
	char *state; /* the hub's */
	char *join;  /* the joining machine's */
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	f->tmp = g_dir_make_tmp("trellis-invite-XXXXXX", NULL);
	g_assert_nonnull(f->tmp);
	f->state = g_build_filename(f->tmp, "hub", NULL);
	f->join = g_build_filename(f->tmp, "join", NULL);
	g_assert_true(tr_pki_init(f->state, NULL, &error));
	g_assert_no_error(error);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	tr_fixture_remove_tree(f->tmp);
	g_free(f->tmp);
	g_free(f->state);
	g_free(f->join);
}

static void
assert_message(const GError *error, const char *fragment)
{
	g_assert_nonnull(error);
	if (strstr(error->message, fragment) == NULL)
		g_error("message '%s' lacks '%s'", error->message, fragment);
}

static mode_t
file_mode(const char *path)
{
	struct stat st;

	g_assert_cmpint(stat(path, &st), ==, 0);
	return st.st_mode & 07777;
}

static TrInviteToken *
sample_token(void)
{
	TrInviteToken *t = g_new0(TrInviteToken, 1);
	const char *servers[] = {"198.18.1.1", "hub.example:4000", "[fd00::1]:3210", NULL};

	for (guint i = 0; i < sizeof(t->id); i++)
		t->id[i] = (guint8)(0xa0 + i);
	for (guint i = 0; i < sizeof(t->secret); i++)
		t->secret[i] = (guint8)i;
	for (guint i = 0; i < sizeof(t->ca_fingerprint); i++)
		t->ca_fingerprint[i] = (guint8)(0xff - i);
	t->expires = 1900000000;
	t->name = g_strdup("laptop");
	t->servers = g_strdupv((char **)servers);
	return t;
}

static void
test_token_round_trip(void)
{
	g_autoptr(TrInviteToken) t = sample_token();
	g_autoptr(TrInviteToken) back = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = tr_invite_token_encode(t, &error);
	g_autofree char *spaced = NULL;

	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(text, TR_INVITE_TOKEN_PREFIX));
	g_assert_null(strpbrk(text, " \t\n=+/"));
	back = tr_invite_token_parse(text, &error);
	g_assert_no_error(error);
	g_assert_cmpmem(back->id, sizeof(back->id), t->id, sizeof(t->id));
	g_assert_cmpmem(back->secret, sizeof(back->secret), t->secret, sizeof(t->secret));
	g_assert_cmpmem(back->ca_fingerprint, sizeof(back->ca_fingerprint), t->ca_fingerprint,
	                sizeof(t->ca_fingerprint));
	g_assert_cmpint(back->expires, ==, t->expires);
	g_assert_cmpstr(back->name, ==, "laptop");
	g_assert_cmpuint(g_strv_length(back->servers), ==, 3);
	g_assert_cmpstr(back->servers[2], ==, "[fd00::1]:3210");
	g_assert_false(tr_invite_token_expired(back, 1899999999));
	g_assert_true(tr_invite_token_expired(back, 1900000000));

	/* Pasted with blanks around it: still fine. */
	spaced = g_strdup_printf("  %s \n", text);
	g_clear_pointer(&back, tr_invite_token_free);
	back = tr_invite_token_parse(spaced, &error);
	g_assert_no_error(error);
}

/* Every single-character change, every truncation and an extra character
 * are caught by the checksum (or the alphabet) before anything is used. */
static void
test_token_damage(void)
{
	g_autoptr(TrInviteToken) t = sample_token();
	g_autofree char *text = tr_invite_token_encode(t, NULL);
	gsize len = strlen(text), prefix = strlen(TR_INVITE_TOKEN_PREFIX);
	const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

	for (gsize i = prefix; i < len; i++) {
		for (gsize k = 0; k < strlen(alphabet); k += 7) {
			const char *c = alphabet + k;
			g_autofree char *bad = g_strdup(text);
			g_autoptr(GError) error = NULL;
			g_autoptr(TrInviteToken) parsed = NULL;

			if (bad[i] == *c)
				continue;
			bad[i] = *c;
			parsed = tr_invite_token_parse(bad, &error);
			g_assert_null(parsed);
			g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
			assert_message(error, "damaged");
		}
	}
	for (gsize cut = 0; cut < len; cut++) {
		g_autofree char *bad = g_strndup(text, cut);
		g_autoptr(GError) error = NULL;
		g_autoptr(TrInviteToken) parsed = tr_invite_token_parse(bad, &error);

		g_assert_null(parsed);
		g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	}
	{
		g_autofree char *longer = g_strconcat(text, "A", NULL);
		g_autofree char *inner = g_strdup(text);
		g_autoptr(GError) error = NULL;
		g_autoptr(GError) error2 = NULL;
		g_autoptr(TrInviteToken) p1 = tr_invite_token_parse(longer, &error);
		g_autoptr(TrInviteToken) p2 = NULL;

		g_assert_null(p1);
		assert_message(error, "damaged");
		inner[prefix + 5] = ' ';
		p2 = tr_invite_token_parse(inner, &error2);
		g_assert_null(p2);
		assert_message(error2, "damaged");
	}
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(TrInviteToken) p = tr_invite_token_parse("hello", &error);
		g_assert_null(p);
		assert_message(error, "not an invite token");
	}
}

static void
test_token_refuses_bad_fields(void)
{
	g_autoptr(TrInviteToken) t = sample_token();
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;

	g_free(t->name);
	t->name = g_strdup("../etc");
	text = tr_invite_token_encode(t, &error);
	g_assert_null(text);
	g_clear_error(&error);
	g_free(t->name);
	t->name = g_strdup("ok");
	g_free(t->servers[1]);
	t->servers[1] = g_strdup("host with space");
	text = tr_invite_token_encode(t, &error);
	g_assert_null(text);
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
}

static void
test_ids_and_psk(void)
{
	guint8 id[TR_INVITE_ID_LEN] = {0, 1, 2, 3, 0xfc, 0xfd, 0xfe, 0xff}, back[TR_INVITE_ID_LEN];
	guint8 secret[TR_INVITE_SECRET_LEN] = {0}, a[TR_INVITE_PSK_LEN], b[TR_INVITE_PSK_LEN];
	g_autofree char *hex = tr_invite_id_to_hex(id);
	g_autofree char *identity = tr_invite_psk_identity(id);

	g_assert_cmpstr(hex, ==, "00010203fcfdfeff");
	g_assert_cmpstr(identity, ==, "invite:00010203fcfdfeff");
	g_assert_true(tr_invite_id_from_hex(hex, back));
	g_assert_cmpmem(back, sizeof(back), id, sizeof(id));
	g_assert_false(tr_invite_id_from_hex("00010203FCFDFEFF", back));
	g_assert_false(tr_invite_id_from_hex("../../../etc/pw", back));
	g_assert_false(tr_invite_id_from_hex("00010203fcfdfef", back));
	g_assert_false(tr_invite_id_from_hex(NULL, back));

	/* HMAC-SHA256(secret, label || id), independently of the derivation. */
	g_assert_true(tr_invite_derive_psk(secret, id, a, NULL));
	{
		guint8 msg[64];
		gsize n = strlen("trellis invite psk v1");
		memcpy(msg, "trellis invite psk v1", n);
		memcpy(msg + n, id, sizeof(id));
		g_assert_cmpint(gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, sizeof(secret), msg,
		                                 n + sizeof(id), b),
		                ==, 0);
	}
	g_assert_cmpmem(a, sizeof(a), b, sizeof(b));
	secret[0] = 1;
	g_assert_true(tr_invite_derive_psk(secret, id, b, NULL));
	g_assert_true(memcmp(a, b, sizeof(a)) != 0);
}

static TrInviteToken *
make_invite(Fixture *f, const char *name, gint64 now, gint64 lifetime)
{
	const char *servers[] = {"198.18.1.1", NULL};
	TrPrefix ip;
	TrPkiInviteOptions opts = {.name = name,
	                           .servers = servers,
	                           .lifetime = lifetime,
	                           .addresses = &ip,
	                           .n_addresses = 1,
	                           .now = now};
	g_autoptr(GError) error = NULL;
	TrInviteToken *t;

	g_assert_true(tr_prefix_parse("198.19.0.7", TR_PREFIX_IP_ONLY, &ip, NULL));
	t = tr_pki_invite_create(f->state, &opts, &error);
	g_assert_no_error(error);
	g_assert_nonnull(t);
	return t;
}

static void
test_invite_files(Fixture *f, gconstpointer data)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(TrInviteToken) t = make_invite(f, "laptop", now, 3600);
	g_autofree char *id = tr_invite_id_to_hex(t->id);
	g_autofree char *dir = tr_pki_invites_dir(f->state);
	g_autofree char *base = g_strconcat(id, ".invite", NULL);
	g_autofree char *path = g_build_filename(dir, base, NULL);
	g_autoptr(TrPkiInvite) inv = NULL;
	g_autoptr(TrPkiCa) ca = tr_pki_ca_open(f->state, NULL);
	g_autofree char *fp = tr_pki_ca_get_fingerprint(ca);
	g_autofree char *token_fp = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpuint(file_mode(dir), ==, 0700);
	g_assert_cmpuint(file_mode(path), ==, 0600);
	g_assert_cmpint(t->expires, ==, now + 3600);
	token_fp = g_strdup("");
	for (guint i = 0; i < TR_INVITE_FP_LEN; i++) {
		char *next = g_strdup_printf("%s%02x", token_fp, t->ca_fingerprint[i]);
		g_free(token_fp);
		token_fp = next;
	}
	g_assert_cmpstr(token_fp, ==, fp);

	inv = tr_pki_invite_lookup(f->state, id, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(inv->name, ==, "laptop");
	g_assert_false(inv->used);
	g_assert_cmpmem(inv->secret, sizeof(inv->secret), t->secret, sizeof(t->secret));
	g_assert_cmpuint(inv->addresses->len, ==, 1);

	/* Ids are file names only when they are exactly ids. */
	g_assert_null(tr_pki_invite_lookup(f->state, "../ca", &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_null(tr_pki_invite_lookup(f->state, "0000000000000000", &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_NOT_FOUND);
	g_clear_error(&error);

	/* A file others can read is refused. */
	g_assert_cmpint(chmod(path, 0644), ==, 0);
	g_clear_pointer(&inv, tr_pki_invite_free);
	inv = tr_pki_invite_lookup(f->state, id, &error);
	g_assert_null(inv);
	g_assert_error(error, TR_ERROR, TR_ERROR_PERMISSION);
}

static void
test_invite_refuses(Fixture *f, gconstpointer data)
{
	const char *servers[] = {"198.18.1.1", NULL};
	TrPkiInviteOptions opts = {.name = "gw", .servers = servers};
	g_autoptr(TrPkiCa) ca = tr_pki_ca_open(f->state, NULL);
	TrPkiIssueOptions issue = {0};
	g_autoptr(GError) error = NULL;
	g_autoptr(TrInviteToken) t = NULL;

	g_assert_true(tr_pki_issue(ca, "gw", &issue, NULL));
	t = tr_pki_invite_create(f->state, &opts, &error);
	g_assert_null(t);
	g_assert_error(error, TR_ERROR, TR_ERROR_EXISTS);
	assert_message(error, "trellis pki revoke gw");
	g_clear_error(&error);
	opts.name = "new";
	opts.servers = NULL;
	t = tr_pki_invite_create(f->state, &opts, &error);
	g_assert_null(t);
	assert_message(error, "--server");
}

static GBytes *
request_for(const char *name, GBytes **key)
{
	GBytes *req = NULL;

	g_assert_true(tr_pki_make_request(name, TR_PKI_ALG_ED25519, key, &req, NULL));
	return req;
}

/* One redemption, then "already used"; a failed signing leaves it usable. */
static void
test_redeem_once(Fixture *f, gconstpointer data)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(TrInviteToken) t = make_invite(f, "laptop", now, 3600);
	g_autofree char *id = tr_invite_id_to_hex(t->id);
	g_autoptr(TrPkiCa) ca = tr_pki_ca_open(f->state, NULL);
	g_autoptr(GBytes) key = NULL;
	g_autoptr(GBytes) req = request_for("laptop", &key);
	g_autoptr(GBytes) cert = NULL;
	g_autoptr(GBytes) again = NULL;
	g_autoptr(GBytes) junk = g_bytes_new_static("not a request", 13);
	g_autoptr(GError) error = NULL;
	g_autoptr(TrPkiInvite) inv = NULL;
	g_autofree char *name = NULL;
	gsize len;
	const guint8 *data_req = g_bytes_get_data(req, &len);
	gsize jlen;
	const guint8 *jdata = g_bytes_get_data(junk, &jlen);

	/* A request that cannot be signed does not use the invite up. */
	g_assert_null(tr_pki_invite_redeem(ca, id, jdata, jlen, now, NULL, &error));
	g_assert_nonnull(error);
	g_clear_error(&error);
	inv = tr_pki_invite_lookup(f->state, id, NULL);
	g_assert_false(inv->used);
	g_clear_pointer(&inv, tr_pki_invite_free);

	cert = tr_pki_invite_redeem(ca, id, data_req, len, now, &name, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(name, ==, "laptop");
	inv = tr_pki_invite_lookup(f->state, id, NULL);
	g_assert_true(inv->used);

	again = tr_pki_invite_redeem(ca, id, data_req, len, now, NULL, &error);
	g_assert_null(again);
	g_assert_error(error, TR_ERROR, TR_ERROR_EXISTS);
	assert_message(error, "already used");
	g_clear_error(&error);

	/* What was issued carries the invite's address and passes the join checks. */
	{
		gsize clen;
		const guint8 *cdata = g_bytes_get_data(cert, &clen);
		gnutls_x509_crt_t crt = tr_pki_cert_load(cdata, clen, &error);
		g_autoptr(GArray) addrs = NULL;
		g_autofree char *ca_path = tr_pki_ca_cert_path(f->state);
		g_autofree char *ca_text = NULL;
		gsize ca_len;
		g_autoptr(GBytes) ca_bytes = NULL;

		g_assert_nonnull(crt);
		addrs = tr_pki_cert_get_addresses(crt, &error);
		g_assert_cmpuint(addrs->len, ==, 1);
		gnutls_x509_crt_deinit(crt);
		g_assert_true(g_file_get_contents(ca_path, &ca_text, &ca_len, NULL));
		ca_bytes = g_bytes_new(ca_text, ca_len);
		g_assert_true(tr_pki_join_check(t->ca_fingerprint, ca_bytes, cert, key, "laptop",
		                                &error));
		g_assert_no_error(error);
	}
}

static void
test_redeem_expired(Fixture *f, gconstpointer data)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(TrInviteToken) t = make_invite(f, "late", now - 100, 60);
	g_autofree char *id = tr_invite_id_to_hex(t->id);
	g_autoptr(TrPkiCa) ca = tr_pki_ca_open(f->state, NULL);
	g_autoptr(GBytes) key = NULL;
	g_autoptr(GBytes) req = request_for("late", &key);
	g_autoptr(GError) error = NULL;
	g_autoptr(TrPkiInvite) inv = NULL;
	gsize len;
	const guint8 *d = g_bytes_get_data(req, &len);

	g_assert_null(tr_pki_invite_redeem(ca, id, d, len, now, NULL, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_TIMEOUT);
	assert_message(error, "expired");
	inv = tr_pki_invite_lookup(f->state, id, NULL);
	g_assert_false(inv->used);

	/* Pruned once it ended long enough ago. */
	g_assert_cmpuint(tr_pki_invite_prune(f->state, now), ==, 0);
	g_assert_cmpuint(tr_pki_invite_prune(f->state, now + TR_PKI_INVITE_KEEP), ==, 1);
	g_clear_pointer(&inv, tr_pki_invite_free);
	g_assert_null(tr_pki_invite_lookup(f->state, id, NULL));
}

/* The hub's answer is checked against the pinned fingerprint first. */
static void
test_join_check(Fixture *f, gconstpointer data)
{
	g_autofree char *other = g_build_filename(f->tmp, "other", NULL);
	g_autoptr(TrPkiCa) ca = tr_pki_ca_open(f->state, NULL);
	g_autoptr(GBytes) key = NULL;
	g_autoptr(GBytes) key2 = NULL;
	g_autoptr(GBytes) req = request_for("desk", &key);
	g_autoptr(GBytes) req2 = request_for("desk", &key2);
	TrPkiIssueOptions issue = {.kind = TR_PKI_KIND_CLIENT};
	g_autoptr(GBytes) cert = NULL;
	g_autoptr(GBytes) ca_bytes = NULL;
	g_autoptr(GBytes) other_ca = NULL;
	g_autofree char *text = NULL;
	g_autofree char *path = tr_pki_ca_cert_path(f->state);
	g_autofree char *other_path = tr_pki_ca_cert_path(other);
	g_autoptr(GError) error = NULL;
	guint8 fp[32];
	size_t fp_len = sizeof(fp);
	gsize len;
	const guint8 *d = g_bytes_get_data(req, &len);
	const char *const connect[] = {"198.18.1.1:3210", NULL};
	const char *const hub[] = {"hub", NULL};
	TrPkiJoinResult result;
	g_autofree char *conf = NULL;
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *key_path = NULL;

	cert = tr_pki_sign_request(ca, "desk", &issue, d, len, &error);
	g_assert_no_error(error);
	g_assert_true(g_file_get_contents(path, &text, &len, NULL));
	ca_bytes = g_bytes_new_take(g_steal_pointer(&text), len);
	g_assert_cmpint(gnutls_x509_crt_get_fingerprint(tr_pki_ca_get_cert(ca), GNUTLS_DIG_SHA256,
	                                                fp, &fp_len),
	                ==, 0);

	g_assert_true(tr_pki_join_check(fp, ca_bytes, cert, key, "desk", &error));
	g_assert_no_error(error);

	fp[0] ^= 1;
	g_assert_false(tr_pki_join_check(fp, ca_bytes, cert, key, "desk", &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_AUTH);
	assert_message(error, "fingerprint mismatch");
	g_clear_error(&error);
	fp[0] ^= 1;

	/* Another CA, even with a certificate it signed, is not the pinned one. */
	g_assert_true(tr_pki_init(other, NULL, NULL));
	g_assert_true(g_file_get_contents(other_path, &text, &len, NULL));
	other_ca = g_bytes_new_take(g_steal_pointer(&text), len);
	g_assert_false(tr_pki_join_check(fp, other_ca, cert, key, "desk", &error));
	assert_message(error, "fingerprint mismatch");
	g_clear_error(&error);

	g_assert_false(tr_pki_join_check(fp, ca_bytes, cert, key2, "desk", &error));
	assert_message(error, "not for the key made here");
	g_clear_error(&error);
	g_assert_false(tr_pki_join_check(fp, ca_bytes, cert, key, "laptop", &error));
	assert_message(error, "names 'desk'");
	g_clear_error(&error);
	g_assert_false(tr_pki_join_check(fp, ca_bytes, ca_bytes, key, "desk", &error));
	g_assert_nonnull(error);
	g_clear_error(&error);
	(void)req2;

	/* Saving: modes, and a configuration with the client's option names. */
	g_assert_true(tr_pki_join_prepare(f->join, "desk", &error));
	g_assert_no_error(error);
	result = (TrPkiJoinResult){.name = "desk",
	                           .ca = ca_bytes,
	                           .cert = cert,
	                           .key_pem = key,
	                           .connect = connect,
	                           .server_names = hub};
	g_assert_true(tr_pki_join_save(f->join, &result, &conf, &error));
	g_assert_no_error(error);
	key_path = g_build_filename(f->join, "desk.key", NULL);
	g_assert_cmpuint(file_mode(f->join), ==, 0700);
	g_assert_cmpuint(file_mode(key_path), ==, 0600);
	g_assert_true(g_key_file_load_from_file(kf, conf, G_KEY_FILE_NONE, &error));
	{
		g_autofree char *c = g_key_file_get_string(kf, "client", "connect", NULL);
		g_autofree char *sn = g_key_file_get_string(kf, "client", "server-name", NULL);
		g_autofree char *k = g_key_file_get_string(kf, "client", "key", NULL);
		g_auto(GStrv) keys = g_key_file_get_keys(kf, "client", NULL, NULL);

		g_assert_cmpstr(c, ==, "198.18.1.1:3210");
		g_assert_cmpstr(sn, ==, "hub");
		g_assert_cmpstr(k, ==, key_path);
		g_assert_cmpuint(g_strv_length(keys), ==, 5);
	}
	/* Several hubs: one name per hub, or one when they all share it, and no
	 * other count. */
	{
		const char *const two[] = {"198.18.1.1:3210", "198.18.2.1:3210", NULL};
		const char *const names[] = {"hub-a", "hub-b", NULL};
		const char *const same[] = {"hub-a", "hub-a", NULL};
		const char *const three[] = {"hub-a", "hub-b", "hub-c", NULL};
		g_autofree char *file = g_build_filename(f->tmp, "two.conf", NULL);
		g_autofree char *file2 = g_build_filename(f->tmp, "same.conf", NULL);
		g_autoptr(GKeyFile) kf2 = g_key_file_new();
		g_auto(GStrv) got = NULL;
		g_autofree char *one = NULL;

		result.connect = two;
		result.server_names = three;
		result.config_file = file;
		g_assert_false(tr_pki_join_save_config(f->join, &result, NULL, &error));
		assert_message(error, "3 server names for 2 hubs");
		g_clear_error(&error);
		g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
		result.server_names = names;
		g_assert_true(tr_pki_join_save_config(f->join, &result, NULL, &error));
		g_assert_no_error(error);
		g_assert_true(g_key_file_load_from_file(kf2, file, G_KEY_FILE_NONE, &error));
		got = g_key_file_get_string_list(kf2, "client", "server-name", NULL, &error);
		g_assert_no_error(error);
		g_assert_cmpstrv(got, names);
		result.server_names = same;
		result.config_file = file2;
		g_assert_true(tr_pki_join_save_config(f->join, &result, NULL, &error));
		g_assert_true(g_key_file_load_from_file(kf2, file2, G_KEY_FILE_NONE, &error));
		one = g_key_file_get_string(kf2, "client", "server-name", &error);
		g_assert_cmpstr(one, ==, "hub-a");
	}
	/* A second join into the same place is refused before connecting, and so
	 * is a hub's own state directory. */
	g_assert_false(tr_pki_join_prepare(f->join, "desk", &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_EXISTS);
	g_clear_error(&error);
	g_assert_false(tr_pki_join_prepare(f->state, "other", &error));
	assert_message(error, "holds a CA");
}

/* Root writes anywhere: the check runs in a child that drops to nobody. */
static void
test_join_no_permission(void)
{
	g_autofree char *tmp = NULL;
	g_autofree char *locked = NULL;

	if (g_test_subprocess()) {
		g_autofree char *state = g_build_filename(g_getenv("TR_JOIN_LOCKED"), "c", NULL);
		g_autoptr(GError) error = NULL;

		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			g_error("cannot drop to nobody");
		g_assert_false(tr_pki_join_prepare(state, "laptop", &error));
		assert_message(error, "no permission to write the state directory");
		g_clear_error(&error);
		g_assert_false(tr_pki_join_prepare(g_getenv("TR_JOIN_LOCKED"), "laptop", &error));
		assert_message(error, "no permission to write the state directory");
		return;
	}
	tmp = g_dir_make_tmp("trellis-join-XXXXXX", NULL);
	g_assert_nonnull(tmp);
	locked = g_build_filename(tmp, "locked", NULL);
	g_assert_cmpint(g_mkdir(locked, 0500), ==, 0);
	g_assert_cmpint(chmod(locked, 0500), ==, 0);
	g_assert_cmpint(chmod(tmp, 0755), ==, 0);
	if (geteuid() == 0)
		g_assert_cmpint(chown(locked, 65534, 65534), ==, 0);
	g_setenv("TR_JOIN_LOCKED", locked, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
	g_assert_cmpint(chmod(locked, 0700), ==, 0);
	tr_fixture_remove_tree(tmp);
	g_test_trap_assert_passed();
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/invite/token/round-trip", test_token_round_trip);
	g_test_add_func("/invite/token/damage", test_token_damage);
	g_test_add_func("/invite/token/bad-fields", test_token_refuses_bad_fields);
	g_test_add_func("/invite/ids-and-psk", test_ids_and_psk);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/invite/files", test_invite_files);
	ADD("/invite/refuses", test_invite_refuses);
	ADD("/invite/redeem-once", test_redeem_once);
	ADD("/invite/redeem-expired", test_redeem_expired);
	ADD("/invite/join-check", test_join_check);
	g_test_add_func("/invite/join-no-permission", test_join_no_permission);
	return g_test_run();
}
