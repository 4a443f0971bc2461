/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/mesh/pair.h"

#include "common/base/error.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define PAIR_KEY_LABEL "EXPORTER-trellis pair key"

struct _TrPair {
	TrTls *tls;
	TrPairState state;
	TrPairRole role;
	char *peer_identity;
	GBytes *peer_node_key;
	TrNodeKey *node_key; /* not owned */
	uint32_t rx_index;
	uint8_t ciphers[TR_MAX_LIST];
	unsigned n_ciphers;
	uint16_t mtu;

	TrPairSend send;
	TrPairMessage message;
	gpointer user_data;

	GByteArray *in; /* TLS bytes from the peer not yet read by GnuTLS */
	guint in_off;
	GByteArray *msg; /* decrypted bytes not yet a whole message */

	uint32_t peer_rx_index;
	uint8_t cipher;
	uint16_t agreed_mtu;
	const char *auth;
};

static const TrTlsTransport transport;

TrTlsCreds *
tr_pair_creds_new(const TrTlsConfig *config, TrPairRole role, GError **error)
{
	TrTlsConfig c = *config;

	c.is_server = role == TR_PAIR_ROLE_SERVER;
	c.pair = TRUE;
	c.psk_lookup = NULL; /* invites are the hub's */
	c.psk_lookup_data = NULL;
	c.psk_key = NULL;
	return tr_tls_creds_new(&c, error);
}

static gssize
push(gpointer user_data, const void *buf, size_t len)
{
	TrPair *pair = user_data;
	const uint8_t *p = buf;

	for (size_t off = 0; off < len; off += TR_PAIR_CHUNK)
		pair->send(p + off, MIN(len - off, (size_t)TR_PAIR_CHUNK), pair->user_data);
	return (gssize)len;
}

static gssize
pull(gpointer user_data, void *buf, size_t len)
{
	TrPair *pair = user_data;
	size_t have = pair->in->len - pair->in_off;

	if (have == 0) {
		errno = EAGAIN;
		return -1;
	}
	len = MIN(len, have);
	memcpy(buf, pair->in->data + pair->in_off, len);
	pair->in_off += (guint)len;
	if (pair->in_off == pair->in->len) {
		g_byte_array_set_size(pair->in, 0);
		pair->in_off = 0;
	}
	return (gssize)len;
}

static const TrTlsTransport transport = {push, pull};

TrPair *
tr_pair_new(TrTlsCreds *creds, const TrPairConfig *config, TrPairSend send, TrPairMessage message,
            gpointer user_data, GError **error)
{
	g_autoptr(TrPair) pair = g_new0(TrPair, 1);

	g_return_val_if_fail(config->peer_identity != NULL && send != NULL, NULL);
	g_return_val_if_fail(config->n_ciphers > 0 && config->n_ciphers <= TR_MAX_LIST, NULL);
	pair->role = config->role;
	pair->state = TR_PAIR_HANDSHAKE;
	pair->peer_identity = g_strdup(config->peer_identity);
	pair->peer_node_key = config->peer_node_key ? g_bytes_ref(config->peer_node_key) : NULL;
	pair->node_key = config->node_key;
	pair->rx_index = config->rx_index;
	memcpy(pair->ciphers, config->ciphers, config->n_ciphers);
	pair->n_ciphers = config->n_ciphers;
	pair->mtu = config->mtu;
	pair->send = send;
	pair->message = message;
	pair->user_data = user_data;
	pair->in = g_byte_array_new();
	pair->msg = g_byte_array_new();
	pair->tls = tr_tls_new_transport(creds, &transport, pair, error);
	if (pair->tls == NULL) {
		g_prefix_error(error, "pair session with %s: ", config->peer_identity);
		return NULL;
	}
	if (config->role == TR_PAIR_ROLE_CLIENT && config->own_name != NULL &&
	    tr_tls_creds_has_psk(creds))
		tr_tls_set_psk_identity(pair->tls, config->own_name);
	return g_steal_pointer(&pair);
}

void
tr_pair_free(TrPair *pair)
{
	if (pair == NULL)
		return;
	tr_tls_free(pair->tls);
	g_free(pair->peer_identity);
	if (pair->peer_node_key)
		g_bytes_unref(pair->peer_node_key);
	if (pair->in)
		g_byte_array_unref(pair->in);
	if (pair->msg)
		g_byte_array_unref(pair->msg);
	g_free(pair);
}

static gboolean
fail(TrPair *pair, GError **error)
{
	pair->state = TR_PAIR_FAILED;
	g_prefix_error(error, "pair session with %s: ", pair->peer_identity);
	return FALSE;
}

static gboolean
write_all(TrPair *pair, const uint8_t *buf, size_t len, GError **error)
{
	while (len > 0) {
		gssize n = tr_tls_write(pair->tls, buf, len, error);

		if (n < 0) {
			if (n == -EAGAIN) /* push takes everything: cannot happen */
				g_set_error(error, TR_ERROR, TR_ERROR_IO, "TLS send would block");
			return FALSE;
		}
		buf += n;
		len -= (size_t)n;
	}
	return TRUE;
}

gboolean
tr_pair_send(TrPair *pair, const TrMsg *msg, GError **error)
{
	g_autoptr(GByteArray) out = g_byte_array_new();

	if (pair->state != TR_PAIR_ESTABLISHED && msg->type != TR_MSG_HELLO) {
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED,
		            "pair session with %s: not established", pair->peer_identity);
		return FALSE;
	}
	return tr_msg_encode(msg, out, error) && write_all(pair, out->data, out->len, error);
}

/* The name on a certificate for @identity: "alice" for "alice/bob". */
static char *
identity_name(const char *identity)
{
	const char *slash = strchr(identity, '/');

	return slash ? g_strndup(identity, (gsize)(slash - identity)) : g_strdup(identity);
}

static gboolean
verify_peer(TrPair *pair, GError **error)
{
	g_autofree char *seen = NULL;
	g_autofree char *expected = identity_name(pair->peer_identity);
	g_autoptr(GBytes) cert = NULL;

	if (!tr_tls_verify_peer(pair->tls, &seen, error)) {
		tr_tls_send_refusal(pair->tls);
		return FALSE;
	}
	cert = tr_tls_peer_cert(pair->tls);
	if (cert != NULL) {
		if (g_strcmp0(seen, expected) != 0) {
			g_set_error(
			        error, TR_ERROR, TR_ERROR_AUTH,
			        "certificate name does not match: the hub named the peer '%s', its "
			        "certificate is for '%s'",
			        expected, seen);
			tr_tls_send_refusal(pair->tls);
			return FALSE;
		}
		pair->auth = "certificate";
		return TRUE;
	}
	/* A shared key: the TLS server sees the client's name ("psk:NAME"); the
	 * client sees nothing. The node key in HELLO settles the name. */
	if (pair->role == TR_PAIR_ROLE_SERVER && g_strcmp0(seen, expected) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
		            "name does not match: the hub named the peer '%s', it calls itself "
		            "'%s'",
		            expected, seen);
		return FALSE;
	}
	pair->auth = "shared key; name vouched for by the hub";
	return TRUE;
}

static gboolean
send_hello(TrPair *pair, GError **error)
{
	g_auto(TrMsg) hello = {0};

	tr_msg_init(&hello, TR_MSG_HELLO);
	tr_msg_set_u16(&hello, TR_ATTR_PROTO_VERSION, TR_PROTO_VERSION);
	tr_msg_set_u32(&hello, TR_ATTR_RX_INDEX, pair->rx_index);
	for (unsigned i = 0; i < pair->n_ciphers; i++)
		tr_msg_add_u8(&hello, TR_ATTR_CIPHERS, pair->ciphers[i]);
	tr_msg_set_u16(&hello, TR_ATTR_MTU, pair->mtu);
	if (pair->node_key != NULL) {
		g_autoptr(GBytes) pub = tr_node_key_public(pair->node_key);
		g_autoptr(GBytes) proof = tr_node_key_prove(pair->node_key, pair->tls, error);

		if (proof == NULL)
			return FALSE;
		tr_msg_set_bytes(&hello, TR_ATTR_NODE_KEY, pub);
		tr_msg_set_bytes(&hello, TR_ATTR_NODE_PROOF, proof);
	}
	return tr_pair_send(pair, &hello, error);
}

static gboolean
has_cipher(const uint8_t *list, unsigned n, uint8_t c)
{
	return memchr(list, c, n) != NULL;
}

static gboolean
take_hello(TrPair *pair, const TrMsg *hello, GError **error)
{
	const uint8_t *first, *second;
	unsigned n_first, n_second;

	if (hello->type != TR_MSG_HELLO) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "expected HELLO first on the pair session, got %s",
		            tr_msg_type_to_string(hello->type));
		return FALSE;
	}
	if (!tr_msg_require(hello, error, TR_ATTR_PROTO_VERSION, TR_ATTR_RX_INDEX, TR_ATTR_CIPHERS,
	                    TR_ATTR_MTU, 0))
		return FALSE;
	if (hello->proto_version != TR_PROTO_VERSION) {
		g_set_error(error, TR_ERROR, TR_ERROR_NEGOTIATE, "protocol version %u, expected %u",
		            hello->proto_version, TR_PROTO_VERSION);
		return FALSE;
	}
	if (pair->peer_node_key != NULL) {
		if (hello->node_key == NULL || hello->node_proof == NULL) {
			g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
			            "the hub knows a node key for '%s', but the peer proved none",
			            pair->peer_identity);
			return FALSE;
		}
		if (!g_bytes_equal(hello->node_key, pair->peer_node_key)) {
			g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
			            "the peer's node key is not the one the hub knows for '%s'",
			            pair->peer_identity);
			return FALSE;
		}
		if (!tr_node_key_verify(hello->node_key, hello->node_proof, pair->tls, error))
			return FALSE;
		pair->auth = "shared key and node key";
	}
	/* The TLS client's preference decides; both sides compute the same. */
	if (pair->role == TR_PAIR_ROLE_CLIENT) {
		first = pair->ciphers, n_first = pair->n_ciphers;
		second = hello->ciphers, n_second = hello->n_ciphers;
	} else {
		first = hello->ciphers, n_first = hello->n_ciphers;
		second = pair->ciphers, n_second = pair->n_ciphers;
	}
	pair->cipher = 0xff;
	for (unsigned i = 0; i < n_first; i++) {
		if (has_cipher(second, n_second, first[i])) {
			pair->cipher = first[i];
			break;
		}
	}
	if (pair->cipher == 0xff) {
		g_set_error(error, TR_ERROR, TR_ERROR_NEGOTIATE,
		            "no common cipher: the peer offers none of ours");
		return FALSE;
	}
	pair->peer_rx_index = hello->rx_index;
	pair->agreed_mtu = MIN(pair->mtu, hello->mtu);
	pair->state = TR_PAIR_ESTABLISHED;
	return TRUE;
}

/* Whole messages out of the decrypted stream. */
static gboolean
take_messages(TrPair *pair, GError **error)
{
	guint off = 0;
	gboolean ok = TRUE;

	while (ok && off < pair->msg->len) {
		int n = tr_msg_frame_length(pair->msg->data + off, pair->msg->len - off);
		g_auto(TrMsg) msg = {0};

		if (n < 0) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "malformed message frame");
			ok = FALSE;
			break;
		}
		if (n == 0)
			break;
		if (!tr_msg_parse(pair->msg->data + off, (size_t)n, &msg, error)) {
			ok = FALSE;
			break;
		}
		off += (guint)n;
		if (pair->state == TR_PAIR_HELLO)
			ok = take_hello(pair, &msg, error);
		else if (pair->message)
			pair->message(&msg, pair->user_data);
	}
	g_byte_array_remove_range(pair->msg, 0, off);
	return ok;
}

static gboolean
drive(TrPair *pair, GError **error)
{
	if (pair->state == TR_PAIR_HANDSHAKE) {
		int rc = tr_tls_handshake(pair->tls, error);

		if (rc < 0)
			return FALSE;
		if (rc == 0)
			return TRUE;
		if (!verify_peer(pair, error))
			return FALSE;
		pair->state = TR_PAIR_HELLO;
		if (!send_hello(pair, error))
			return FALSE;
	}
	for (;;) {
		uint8_t buf[16384];
		gssize n = tr_tls_read(pair->tls, buf, sizeof(buf), error);

		if (n == -EAGAIN)
			return TRUE;
		if (n < 0)
			return FALSE;
		if (n == 0) {
			g_set_error(error, TR_ERROR, TR_ERROR_IO,
			            "the peer closed the pair session");
			return FALSE;
		}
		if (pair->msg->len + (guint)n > 2 * (TR_MSG_HEADER_LEN + TR_MSG_MAX_BODY)) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
			            "message backlog too large");
			return FALSE;
		}
		g_byte_array_append(pair->msg, buf, (guint)n);
		if (!take_messages(pair, error))
			return FALSE;
	}
}

gboolean
tr_pair_start(TrPair *pair, GError **error)
{
	if (pair->role != TR_PAIR_ROLE_CLIENT)
		return TRUE;
	if (!drive(pair, error))
		return fail(pair, error);
	return TRUE;
}

gboolean
tr_pair_receive(TrPair *pair, const uint8_t *bytes, size_t len, GError **error)
{
	if (pair->state == TR_PAIR_FAILED) {
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "pair session with %s: failed before",
		            pair->peer_identity);
		return FALSE;
	}
	if (pair->in->len + len > 4u * TR_PAIR_CHUNK) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "more than %u TLS bytes waiting",
		            4u * TR_PAIR_CHUNK);
		return fail(pair, error);
	}
	g_byte_array_append(pair->in, bytes, (guint)len);
	if (!drive(pair, error))
		return fail(pair, error);
	return TRUE;
}

TrPairState
tr_pair_state(const TrPair *pair)
{
	return pair->state;
}

uint32_t
tr_pair_peer_rx_index(const TrPair *pair)
{
	return pair->peer_rx_index;
}

uint8_t
tr_pair_cipher(const TrPair *pair)
{
	return pair->cipher;
}

uint16_t
tr_pair_mtu(const TrPair *pair)
{
	return pair->agreed_mtu;
}

const char *
tr_pair_auth(const TrPair *pair)
{
	return pair->auth;
}

gboolean
tr_pair_derive_keys(TrPair *pair, uint32_t epoch, uint8_t *tx, uint8_t *rx, GError **error)
{
	uint8_t ctx[7] = {(uint8_t)(epoch >> 24), (uint8_t)(epoch >> 16), (uint8_t)(epoch >> 8),
	                  (uint8_t)epoch};
	gboolean client = pair->role == TR_PAIR_ROLE_CLIENT;

	if (pair->state != TR_PAIR_ESTABLISHED) {
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED,
		            "pair session with %s: not established", pair->peer_identity);
		return FALSE;
	}
	memcpy(ctx + 4, client ? "c2s" : "s2c", 3);
	if (!tr_tls_export(pair->tls, PAIR_KEY_LABEL, ctx, sizeof(ctx), tx, TR_PAIR_KEY_LEN, error))
		return FALSE;
	memcpy(ctx + 4, client ? "s2c" : "c2s", 3);
	if (!tr_tls_export(pair->tls, PAIR_KEY_LABEL, ctx, sizeof(ctx), rx, TR_PAIR_KEY_LEN,
	                   error)) {
		gnutls_memset(tx, 0, TR_PAIR_KEY_LEN);
		return FALSE;
	}
	return TRUE;
}
