/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pair handshake between two clients, both ends in memory: the bytes one
 * side's TLS writes are handed to the other as a hub would forward PAIR_TLS
 * messages. Real certificates from a real CA (common/pki.h), a real CRL, real
 * shared keys and node keys; no mock of GnuTLS.
 */
#include "common/base/error.h"
#include "common/mesh/pair.h"
#include "common/pki/pki.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct _End {
	TrPair *pair;
	GQueue queue; /* GBytes the other side sent, not yet delivered */
	GError *error;
	GPtrArray *messages; /* types of messages after HELLO */
	guint chunks;
	struct _End *peer;
} End;

typedef struct {
	char *dir, *state, *other;
	End a, b;
} Fixture;

static void
on_send(const uint8_t *bytes, size_t len, gpointer user_data)
{
	End *to = ((End *)user_data)->peer;

	g_assert_cmpuint(len, >, 0);
	g_assert_cmpuint(len, <=, TR_PAIR_CHUNK);
	g_queue_push_tail(&to->queue, g_bytes_new(bytes, len));
	to->chunks++;
}

static void
on_message(const TrMsg *msg, gpointer user_data)
{
	End *self = user_data;

	g_ptr_array_add(self->messages, GUINT_TO_POINTER(msg->type));
	if (msg->type == TR_MSG_REKEY)
		g_assert_cmpuint(msg->epoch, ==, 7);
}

static void
issue(TrPkiCa *ca, const char *name)
{
	TrPkiIssueOptions opts = {.kind = TR_PKI_KIND_CLIENT};
	g_autoptr(GError) error = NULL;

	g_assert_true(tr_pki_issue(ca, name, &opts, &error));
	g_assert_no_error(error);
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TrPkiCa) ca = NULL;
	g_autoptr(TrPkiCa) other = NULL;
	TrPkiInitOptions init = {.network = "mesh"};

	(void)data;
	f->dir = g_dir_make_tmp("trellis-pair-XXXXXX", &error);
	g_assert_no_error(error);
	f->state = g_build_filename(f->dir, "state", NULL);
	f->other = g_build_filename(f->dir, "other", NULL);
	g_assert_true(tr_pki_init(f->state, &init, &error));
	init.network = "elsewhere";
	g_assert_true(tr_pki_init(f->other, &init, &error));
	g_assert_no_error(error);
	ca = tr_pki_ca_open(f->state, &error);
	g_assert_no_error(error);
	issue(ca, "alice");
	issue(ca, "bob");
	issue(ca, "carol");
	/* Revoking moves the files away: keep a copy, as carol's machine would. */
	{
		g_autofree char *crt = tr_pki_cert_path(f->state, "carol");
		g_autofree char *key = tr_pki_key_path(f->state, "carol");
		g_autofree char *pem = NULL, *kpem = NULL;
		g_autofree char *crt2 = g_build_filename(f->dir, "carol.crt", NULL);
		g_autofree char *key2 = g_build_filename(f->dir, "carol.key", NULL);

		g_assert_true(g_file_get_contents(crt, &pem, NULL, &error));
		g_assert_true(g_file_get_contents(key, &kpem, NULL, &error));
		g_assert_true(g_file_set_contents_full(crt2, pem, -1, G_FILE_SET_CONTENTS_NONE,
		                                       0644, &error));
		g_assert_true(g_file_set_contents_full(key2, kpem, -1, G_FILE_SET_CONTENTS_NONE,
		                                       0600, &error));
	}
	g_assert_true(tr_pki_revoke(ca, "carol", &error));
	g_assert_no_error(error);
	other = tr_pki_ca_open(f->other, &error);
	g_assert_no_error(error);
	issue(other, "mallory");
	f->a.messages = g_ptr_array_new();
	f->b.messages = g_ptr_array_new();
}

static void
end_clear(End *e)
{
	g_clear_pointer(&e->pair, tr_pair_free);
	g_queue_clear_full(&e->queue, (GDestroyNotify)g_bytes_unref);
	g_clear_error(&e->error);
	g_ptr_array_unref(e->messages);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	const char *argv[] = {"rm", "-rf", f->dir, NULL};

	(void)data;
	end_clear(&f->a);
	end_clear(&f->b);
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
	                           NULL, NULL, NULL));
	g_free(f->dir);
	g_free(f->state);
	g_free(f->other);
}

/* The TLS configuration of a client whose certificate is NAME in @state. */
static TrTlsConfig
cert_config(const char *state, const char *name, GPtrArray *keep)
{
	TrTlsConfig c = {
	        .ca_file = tr_pki_ca_cert_path(state),
	        .crl_file = tr_pki_crl_path(state),
	        .cert_file = tr_pki_cert_path(state, name),
	        .key_file = tr_pki_key_path(state, name),
	};

	g_ptr_array_add(keep, (char *)c.ca_file);
	g_ptr_array_add(keep, (char *)c.crl_file);
	g_ptr_array_add(keep, (char *)c.cert_file);
	g_ptr_array_add(keep, (char *)c.key_file);
	return c;
}

static const uint8_t ciphers_a[] = {2, 1};
static const uint8_t ciphers_b[] = {1, 2};

/* Makes one end; the other end receives what it sends. */
static void
make_end(End *self, End *other, const TrTlsConfig *tls, const TrPairConfig *cfg)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TrTlsCreds) creds = tr_pair_creds_new(tls, cfg->role, &error);

	g_assert_no_error(error);
	self->peer = other;
	self->pair = tr_pair_new(creds, cfg, on_send, on_message, self, &error);
	g_assert_no_error(error);
	g_assert_nonnull(self->pair);
}

/* The pair's messages back and forth until both are quiet (bounded). */
static void
pump(Fixture *f)
{
	if (!tr_pair_start(f->a.pair, &f->a.error))
		return;
	for (unsigned round = 0; round < 64; round++) {
		gboolean moved = FALSE;
		End *ends[2] = {&f->a, &f->b};

		for (unsigned i = 0; i < 2; i++) {
			End *e = ends[i];
			GBytes *b;

			while ((b = g_queue_pop_head(&e->queue)) != NULL) {
				gsize len;
				const uint8_t *p = g_bytes_get_data(b, &len);

				moved = TRUE;
				if (e->error == NULL)
					tr_pair_receive(e->pair, p, len, &e->error);
				g_bytes_unref(b);
			}
		}
		if (!moved)
			return;
	}
	g_assert_not_reached();
}

static void
check_keys_match(Fixture *f)
{
	uint8_t atx[32], arx[32], btx[32], brx[32];
	g_autoptr(GError) error = NULL;

	g_assert_true(tr_pair_derive_keys(f->a.pair, 0, atx, arx, &error));
	g_assert_true(tr_pair_derive_keys(f->b.pair, 0, btx, brx, &error));
	g_assert_no_error(error);
	g_assert_cmpmem(atx, 32, brx, 32);
	g_assert_cmpmem(arx, 32, btx, 32);
	g_assert_true(memcmp(atx, arx, 32) != 0);
	/* Another epoch, other keys. */
	g_assert_true(tr_pair_derive_keys(f->a.pair, 1, btx, brx, &error));
	g_assert_true(memcmp(atx, btx, 32) != 0);
}

static void
test_certificates(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) pa = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) pb = g_ptr_array_new_with_free_func(g_free);
	TrTlsConfig ta = cert_config(f->state, "alice", pa);
	TrTlsConfig tb = cert_config(f->state, "bob", pb);
	TrPairConfig ca = {.role = TR_PAIR_ROLE_CLIENT,
	                   .peer_identity = "bob/user2",
	                   .rx_index = 0x1111,
	                   .ciphers = ciphers_a,
	                   .n_ciphers = 2,
	                   .mtu = 1400};
	TrPairConfig cb = {.role = TR_PAIR_ROLE_SERVER,
	                   .peer_identity = "alice",
	                   .rx_index = 0x2222,
	                   .ciphers = ciphers_b,
	                   .n_ciphers = 2,
	                   .mtu = 1380};
	g_auto(TrMsg) rekey = {0};
	g_autoptr(GError) error = NULL;

	(void)data;
	make_end(&f->a, &f->b, &ta, &ca);
	make_end(&f->b, &f->a, &tb, &cb);
	pump(f);
	g_assert_no_error(f->a.error);
	g_assert_no_error(f->b.error);
	g_assert_cmpint(tr_pair_state(f->a.pair), ==, TR_PAIR_ESTABLISHED);
	g_assert_cmpint(tr_pair_state(f->b.pair), ==, TR_PAIR_ESTABLISHED);
	g_assert_cmpuint(tr_pair_peer_rx_index(f->a.pair), ==, 0x2222);
	g_assert_cmpuint(tr_pair_peer_rx_index(f->b.pair), ==, 0x1111);
	/* The TLS client's preference decides, the same on both sides. */
	g_assert_cmpuint(tr_pair_cipher(f->a.pair), ==, 2);
	g_assert_cmpuint(tr_pair_cipher(f->b.pair), ==, 2);
	g_assert_cmpuint(tr_pair_mtu(f->a.pair), ==, 1380);
	g_assert_cmpuint(tr_pair_mtu(f->b.pair), ==, 1380);
	g_assert_cmpstr(tr_pair_auth(f->a.pair), ==, "certificate");
	g_assert_cmpstr(tr_pair_auth(f->b.pair), ==, "certificate");
	check_keys_match(f);
	/* The stream carries control messages afterwards (rekeying). */
	tr_msg_init(&rekey, TR_MSG_REKEY);
	tr_msg_set_u32(&rekey, TR_ATTR_EPOCH, 7);
	g_assert_true(tr_pair_send(f->a.pair, &rekey, &error));
	g_assert_no_error(error);
	pump(f);
	g_assert_cmpuint(f->b.messages->len, ==, 1);
	g_assert_cmpuint(GPOINTER_TO_UINT(f->b.messages->pdata[0]), ==, TR_MSG_REKEY);
	g_assert_cmpuint(f->a.messages->len, ==, 0);
}

/* Runs a handshake that must fail; returns both ends' errors joined. */
static char *
failing(Fixture *f, const TrTlsConfig *ta, const TrTlsConfig *tb, const char *a_names_b,
        const char *b_names_a)
{
	TrPairConfig ca = {.role = TR_PAIR_ROLE_CLIENT,
	                   .peer_identity = a_names_b,
	                   .rx_index = 1,
	                   .ciphers = ciphers_a,
	                   .n_ciphers = 2,
	                   .mtu = 1400};
	TrPairConfig cb = {.role = TR_PAIR_ROLE_SERVER,
	                   .peer_identity = b_names_a,
	                   .rx_index = 2,
	                   .ciphers = ciphers_b,
	                   .n_ciphers = 2,
	                   .mtu = 1400};

	make_end(&f->a, &f->b, ta, &ca);
	make_end(&f->b, &f->a, tb, &cb);
	pump(f);
	g_assert_true(f->a.error != NULL || f->b.error != NULL);
	g_assert_true(tr_pair_state(f->a.pair) != TR_PAIR_ESTABLISHED ||
	              tr_pair_state(f->b.pair) != TR_PAIR_ESTABLISHED);
	g_test_message("client: %s", f->a.error ? f->a.error->message : "-");
	g_test_message("server: %s", f->b.error ? f->b.error->message : "-");
	return g_strdup_printf("client: %s | server: %s", f->a.error ? f->a.error->message : "-",
	                       f->b.error ? f->b.error->message : "-");
}

static void
test_wrong_ca(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) pa = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) pb = g_ptr_array_new_with_free_func(g_free);
	TrTlsConfig ta = cert_config(f->other, "mallory", pa);
	TrTlsConfig tb = cert_config(f->state, "bob", pb);
	g_autofree char *why = NULL;

	(void)data;
	why = failing(f, &ta, &tb, "bob", "mallory");
	g_assert_nonnull(f->b.error);
	g_assert_error(f->b.error, TR_ERROR, TR_ERROR_AUTH);
	g_assert_nonnull(strstr(f->b.error->message, "pair session with mallory"));
	g_assert_nonnull(strstr(f->b.error->message, "unknown CA"));
	/* mallory's side refuses bob's certificate too, or is told why by alert. */
	g_assert_nonnull(f->a.error);
	g_assert_error(f->a.error, TR_ERROR, TR_ERROR_AUTH);
}

static void
test_revoked(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) pa = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) pb = g_ptr_array_new_with_free_func(g_free);
	TrTlsConfig ta = cert_config(f->state, "carol", pa);
	TrTlsConfig tb = cert_config(f->state, "bob", pb);
	g_autofree char *why = NULL;
	g_autofree char *crt = g_build_filename(f->dir, "carol.crt", NULL);
	g_autofree char *key = g_build_filename(f->dir, "carol.key", NULL);

	(void)data;
	ta.cert_file = crt;
	ta.key_file = key;
	why = failing(f, &ta, &tb, "bob", "carol");
	g_assert_nonnull(f->b.error);
	g_assert_nonnull(strstr(f->b.error->message, "certificate revoked"));
	g_assert_nonnull(f->a.error);
	g_assert_nonnull(strstr(f->a.error->message, "revoked"));
}

static void
test_wrong_name(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) pa = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) pb = g_ptr_array_new_with_free_func(g_free);
	TrTlsConfig ta = cert_config(f->state, "alice", pa);
	TrTlsConfig tb = cert_config(f->state, "bob", pb);
	g_autofree char *why = NULL;

	(void)data;
	/* The hub says the peer is dave; bob answers. */
	why = failing(f, &ta, &tb, "dave", "alice");
	g_assert_nonnull(f->a.error);
	g_assert_nonnull(strstr(f->a.error->message, "the hub named the peer 'dave'"));
	g_assert_nonnull(strstr(f->a.error->message, "'bob'"));
}

#define KEY_1 "trk1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define KEY_2 "trk1-HwECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

static void
test_shared_key(Fixture *f, gconstpointer data)
{
	TrTlsConfig ta = {.shared_key = KEY_1};
	TrTlsConfig tb = {.shared_key = KEY_1};
	TrPairConfig ca = {.role = TR_PAIR_ROLE_CLIENT,
	                   .peer_identity = "psk:desk",
	                   .own_name = "laptop",
	                   .rx_index = 5,
	                   .ciphers = ciphers_a,
	                   .n_ciphers = 1,
	                   .mtu = 1400};
	TrPairConfig cb = {.role = TR_PAIR_ROLE_SERVER,
	                   .peer_identity = "psk:laptop",
	                   .rx_index = 6,
	                   .ciphers = ciphers_b,
	                   .n_ciphers = 2,
	                   .mtu = 1400};

	(void)data;
	make_end(&f->a, &f->b, &ta, &ca);
	make_end(&f->b, &f->a, &tb, &cb);
	pump(f);
	g_assert_no_error(f->a.error);
	g_assert_no_error(f->b.error);
	g_assert_cmpint(tr_pair_state(f->a.pair), ==, TR_PAIR_ESTABLISHED);
	g_assert_cmpstr(tr_pair_auth(f->a.pair), ==, "shared key; name vouched for by the hub");
	g_assert_cmpuint(tr_pair_cipher(f->b.pair), ==, 2);
	check_keys_match(f);
}

static void
test_shared_key_wrong(Fixture *f, gconstpointer data)
{
	TrTlsConfig ta = {.shared_key = KEY_1};
	TrTlsConfig tb = {.shared_key = KEY_2};
	g_autofree char *why = NULL;

	(void)data;
	why = failing(f, &ta, &tb, "psk:desk", "psk:trellis");
	g_assert_nonnull(strstr(why, "shared key"));
	g_assert_nonnull(f->a.error);
	g_assert_error(f->a.error, TR_ERROR, TR_ERROR_AUTH);
}

static void
test_shared_key_name(Fixture *f, gconstpointer data)
{
	TrTlsConfig ta = {.shared_key = KEY_1};
	TrTlsConfig tb = {.shared_key = KEY_1};
	TrPairConfig ca = {.role = TR_PAIR_ROLE_CLIENT,
	                   .peer_identity = "psk:desk",
	                   .own_name = "mallory",
	                   .rx_index = 5,
	                   .ciphers = ciphers_a,
	                   .n_ciphers = 2,
	                   .mtu = 1400};
	TrPairConfig cb = {.role = TR_PAIR_ROLE_SERVER,
	                   .peer_identity = "psk:laptop",
	                   .rx_index = 6,
	                   .ciphers = ciphers_b,
	                   .n_ciphers = 2,
	                   .mtu = 1400};

	(void)data;
	make_end(&f->a, &f->b, &ta, &ca);
	make_end(&f->b, &f->a, &tb, &cb);
	pump(f);
	g_assert_nonnull(f->b.error);
	g_assert_nonnull(strstr(f->b.error->message, "it calls itself 'psk:mallory'"));
}

static TrNodeKey *
node_key(Fixture *f, const char *name)
{
	g_autofree char *path = g_build_filename(f->dir, name, NULL);
	g_autoptr(GError) error = NULL;
	TrNodeKey *k = tr_node_key_load_or_create(path, &error);

	g_assert_no_error(error);
	return k;
}

static void
node_keys(Fixture *f, gboolean right_key)
{
	g_autoptr(TrNodeKey) ka = node_key(f, "a.key");
	g_autoptr(TrNodeKey) kb = node_key(f, "b.key");
	g_autoptr(TrNodeKey) kx = node_key(f, "x.key");
	g_autoptr(GBytes) pa = tr_node_key_public(ka);
	g_autoptr(GBytes) pb = tr_node_key_public(right_key ? kb : kx);
	TrTlsConfig t = {.shared_key = KEY_1};
	TrPairConfig ca = {.role = TR_PAIR_ROLE_CLIENT,
	                   .peer_identity = "psk:desk",
	                   .peer_node_key = pb,
	                   .node_key = ka,
	                   .own_name = "laptop",
	                   .rx_index = 5,
	                   .ciphers = ciphers_a,
	                   .n_ciphers = 2,
	                   .mtu = 1400};
	TrPairConfig cb = {.role = TR_PAIR_ROLE_SERVER,
	                   .peer_identity = "psk:laptop",
	                   .peer_node_key = pa,
	                   .node_key = kb,
	                   .rx_index = 6,
	                   .ciphers = ciphers_b,
	                   .n_ciphers = 2,
	                   .mtu = 1400};

	make_end(&f->a, &f->b, &t, &ca);
	make_end(&f->b, &f->a, &t, &cb);
	pump(f);
	if (right_key) {
		g_assert_no_error(f->a.error);
		g_assert_no_error(f->b.error);
		g_assert_cmpstr(tr_pair_auth(f->a.pair), ==, "shared key and node key");
		g_assert_cmpstr(tr_pair_auth(f->b.pair), ==, "shared key and node key");
		check_keys_match(f);
	} else {
		g_assert_nonnull(f->a.error);
		g_assert_error(f->a.error, TR_ERROR, TR_ERROR_AUTH);
		g_assert_nonnull(strstr(f->a.error->message, "not the one the hub knows"));
		g_assert_cmpint(tr_pair_state(f->a.pair), ==, TR_PAIR_FAILED);
	}
}

static void
test_node_keys(Fixture *f, gconstpointer data)
{
	(void)data;
	node_keys(f, TRUE);
}

static void
test_node_keys_wrong(Fixture *f, gconstpointer data)
{
	(void)data;
	node_keys(f, FALSE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
	ADD("/mesh/pair/certificates", test_certificates);
	ADD("/mesh/pair/wrong-ca", test_wrong_ca);
	ADD("/mesh/pair/revoked", test_revoked);
	ADD("/mesh/pair/wrong-name", test_wrong_name);
	ADD("/mesh/pair/shared-key", test_shared_key);
	ADD("/mesh/pair/shared-key-wrong", test_shared_key_wrong);
	ADD("/mesh/pair/shared-key-name", test_shared_key_name);
	ADD("/mesh/pair/node-keys", test_node_keys);
	ADD("/mesh/pair/node-keys-wrong", test_node_keys_wrong);
	return g_test_run();
}
