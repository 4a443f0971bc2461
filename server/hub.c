/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "server/hub.h"

#include "common/addr.h"
#include "common/ctrl-msg.h"
#include "common/datachannel.h"
#include "common/error.h"
#include "common/link.h"
#include "common/pki.h"
#include "server/auth-password.h"
#include "server/pool.h"
#include "tr-config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef enum {
	CLIENT_HANDSHAKE, /* TLS running */
	CLIENT_HELLO,     /* authenticated, waiting for HELLO */
	CLIENT_AUTH,      /* password check running in a thread */
	CLIENT_ACTIVE,    /* configured, data flows */
	CLIENT_GONE,      /* closing */
} ClientState;

typedef struct {
	guint8 addr[16];
} Addr6;

typedef struct _Client Client;
struct _Client {
	TrHub *hub;
	TrLink *link;
	ClientState state;
	char *peer;     /* "198.18.0.2:40000" */
	char *identity; /* certificate name or psk:NAME, plus "/user" with passwords */
	char *cert_identity;
	uint32_t rx_index;
	TrPrefix addr4, addr6;
	guint hello_timer;
	TrMsg hello; /* kept while the password check runs */
	GCancellable *cancel;
};

struct _TrHub {
	TrHubConfig cfg;
	TrTlsCreds *creds;
	TrPasswordBackend *passwords;
	TrPool *pool;
	TrDevice *dev;
	int tcp_fd, udp_fd;
	guint16 port;
	guint tcp_watch, udp_watch, tun_watch;
	GHashTable *clients;     /* Client* set */
	GHashTable *by_identity; /* identity -> Client (active) */
	GHashTable *by_index;    /* rx index -> Client */
	GHashTable *by_addr4;    /* guint32 -> Client */
	GHashTable *by_addr6;    /* Addr6* -> Client */
	guint n_pending;
	gint64 last_pending_warning;
	TrPacket *pkt; /* scratch for the main-loop data path */
	guint64 rx_drops, tun_drops;
};

void
tr_hub_config_init(TrHubConfig *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = g_strdup("3210");
	c->mtu = 1420;
	c->ciphers[0] = tr_cipher_default();
	c->ciphers[1] = c->ciphers[0] == TR_CIPHER_AES256_GCM ? TR_CIPHER_CHACHA20_POLY1305
							      : TR_CIPHER_AES256_GCM;
	c->n_ciphers = 2;
	c->compression = TR_COMPRESS_NONE;
	c->magic = TR_MAGIC_DEFAULT;
	c->keepalive = 10;
	c->peer_timeout = 60;
	c->client_to_client = TRUE;
	c->udp = TRUE;
	c->dev_type = TR_DEVICE_TUN;
	c->handshake_timeout_ms = 10000;
	c->max_pending = 64;
	tr_prefix_parse("198.19.0.0/24", 0, &c->pool4, NULL);
	tr_prefix_parse("fd00:7472::/64", 0, &c->pool6, NULL);
}

void
tr_hub_config_clear(TrHubConfig *c)
{
	g_free(c->listen);
	g_free((char *)c->tls.ca_file);
	g_free((char *)c->tls.crl_file);
	g_free((char *)c->tls.cert_file);
	g_free((char *)c->tls.key_file);
	if (c->tls.shared_key)
		gnutls_memset((char *)c->tls.shared_key, 0, strlen(c->tls.shared_key));
	g_free((char *)c->tls.shared_key);
	g_free(c->password_file);
	g_free(c->pam_service);
	g_free(c->pam_confdir);
	g_strfreev(c->dns);
	g_strfreev(c->dns_search);
	g_free(c->device);
	g_free(c->device_path);
	g_free(c->state_dir);
	memset(c, 0, sizeof(*c));
}

static guint
addr6_hash(gconstpointer p)
{
	const guint8 *a = p;
	guint h = 5381;
	for (int i = 0; i < 16; i++)
		h = h * 33 + a[i];
	return h;
}

static gboolean
addr6_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, 16) == 0;
}

static guint32
addr4_key(const guint8 *a)
{
	return (guint32)a[0] << 24 | (guint32)a[1] << 16 | (guint32)a[2] << 8 | a[3];
}

/* ---- Clients --------------------------------------------------------------- */

static void
client_unregister(Client *c)
{
	TrHub *hub = c->hub;

	if (c->rx_index && g_hash_table_lookup(hub->by_index, GUINT_TO_POINTER(c->rx_index)) == c)
		g_hash_table_remove(hub->by_index, GUINT_TO_POINTER(c->rx_index));
	if (c->addr4.family &&
	    g_hash_table_lookup(hub->by_addr4, GUINT_TO_POINTER(addr4_key(c->addr4.addr))) == c)
		g_hash_table_remove(hub->by_addr4, GUINT_TO_POINTER(addr4_key(c->addr4.addr)));
	if (c->addr6.family && g_hash_table_lookup(hub->by_addr6, c->addr6.addr) == c)
		g_hash_table_remove(hub->by_addr6, c->addr6.addr);
	if (c->identity && g_hash_table_lookup(hub->by_identity, c->identity) == c) {
		g_hash_table_remove(hub->by_identity, c->identity);
		tr_pool_release(hub->pool, c->identity);
	}
}

static void
client_free(gpointer p)
{
	Client *c = p;

	client_unregister(c);
	if (c->cancel) {
		g_cancellable_cancel(c->cancel);
		g_object_unref(c->cancel);
	}
	g_clear_handle_id(&c->hello_timer, g_source_remove);
	tr_link_free(c->link);
	tr_msg_clear(&c->hello);
	g_free(c->peer);
	g_free(c->identity);
	g_free(c->cert_identity);
	g_free(c);
}

static gboolean
free_client_idle(gpointer p)
{
	Client *c = p;
	g_hash_table_remove(c->hub->clients, c);
	return G_SOURCE_REMOVE;
}

static void
client_gone(Client *c)
{
	if (c->state == CLIENT_HANDSHAKE || c->state == CLIENT_HELLO || c->state == CLIENT_AUTH)
		c->hub->n_pending--;
	client_unregister(c);
	c->state = CLIENT_GONE;
	/* Not from inside the link's own callback: free on the next iteration. */
	g_idle_add(free_client_idle, c);
}

static void
refuse(Client *c, TrRefusal code, const char *log_reason, const char *client_reason)
{
	g_message("refused %s%s%s: %s", c->peer, c->identity ? " as " : "",
		  c->identity ? c->identity : "", log_reason);
	tr_link_close(c->link, TR_MSG_ERROR, code, client_reason ? client_reason : log_reason);
}

static gboolean
on_hello_timeout(gpointer p)
{
	Client *c = p;

	c->hello_timer = 0;
	refuse(c, TR_REFUSE_PROTOCOL, "no HELLO in time", "no HELLO in time");
	return G_SOURCE_REMOVE;
}

static void
on_established(TrLink *link, gpointer p)
{
	Client *c = p;
	g_autoptr(GError) error = NULL;
	g_autofree char *desc = tr_tls_describe(tr_link_get_tls(link));

	if (!tr_tls_verify_peer(tr_link_get_tls(link), &c->cert_identity, &error)) {
		refuse(c, TR_REFUSE_AUTH, error->message, error->message);
		return;
	}
	g_debug("%s: TLS established (%s), peer %s", c->peer, desc, c->cert_identity);
	c->state = CLIENT_HELLO;
	c->hello_timer = g_timeout_add(c->hub->cfg.handshake_timeout_ms, on_hello_timeout, c);
}

static gboolean
pick_cipher(TrHub *hub, const TrMsg *hello, TrCipher *out)
{
	for (guint i = 0; i < hub->cfg.n_ciphers; i++) {
		for (guint j = 0; j < hello->n_ciphers; j++) {
			if (hello->ciphers[j] != hub->cfg.ciphers[i])
				continue;
			if (hub->cfg.ciphers[i] == TR_CIPHER_NONE &&
			    !(hub->cfg.allow_plaintext && (hello->features & TR_FEATURE_PLAINTEXT)))
				continue;
			*out = hub->cfg.ciphers[i];
			return TRUE;
		}
	}
	return FALSE;
}

static char *
cipher_list(const uint8_t *list, guint n)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < n; i++)
		g_string_append_printf(s, "%s%s", i ? "," : "", tr_cipher_name((TrCipher)list[i]));
	return g_string_free(s, FALSE);
}

/* A static IPv4 address carried in the client's certificate (trellis pki
 * issue --ip), if any. */
static gboolean
static_address(Client *c, TrPrefix *out)
{
	g_autoptr(GBytes) der = tr_tls_peer_cert(tr_link_get_tls(c->link));
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) addrs = NULL;
	gnutls_x509_crt_t crt;
	gsize len;
	const guint8 *data;

	memset(out, 0, sizeof(*out));
	if (der == NULL)
		return TRUE;
	data = g_bytes_get_data(der, &len);
	if (gnutls_x509_crt_init(&crt) < 0)
		return FALSE;
	gnutls_datum_t d = { (unsigned char *)data, (unsigned)len };
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return FALSE;
	}
	addrs = tr_pki_cert_get_addresses(crt, &error);
	gnutls_x509_crt_deinit(crt);
	if (addrs == NULL)
		return FALSE;
	for (guint i = 0; i < addrs->len; i++) {
		const TrPrefix *p = &g_array_index(addrs, TrPrefix, i);
		if (p->family == TR_ADDR_IPV4) {
			*out = *p;
			break;
		}
	}
	return TRUE;
}

static void
finish_hello(Client *c)
{
	TrHub *hub = c->hub;
	const TrMsg *hello = &c->hello;
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) cfg = { 0 };
	TrDcConfig dcc;
	TrLinkTiming timing = { hub->cfg.keepalive, hub->cfg.peer_timeout, hub->cfg.udp };
	TrCipher cipher;
	TrCompress comp = TR_COMPRESS_NONE;
	Client *old;
	guint mtu;
	char a4[TR_PREFIX_STRLEN] = "", a6[TR_PREFIX_STRLEN] = "";
	uint8_t hub_ciphers[4];
	TrPrefix want = { 0 };

	/* Cipher: the hub's preference among what the client offers. */
	if (!pick_cipher(hub, hello, &cipher)) {
		g_autofree char *theirs = cipher_list(hello->ciphers, hello->n_ciphers);
		g_autofree char *ours = NULL;
		for (guint i = 0; i < hub->cfg.n_ciphers; i++)
			hub_ciphers[i] = (uint8_t)hub->cfg.ciphers[i];
		ours = cipher_list(hub_ciphers, hub->cfg.n_ciphers);
		g_autofree char *why = g_strdup_printf(
			"no common cipher (client offers %s, server allows %s%s)", theirs, ours,
			(hello->features & TR_FEATURE_PLAINTEXT) ? "; plaintext needs both sides" : "");
		refuse(c, TR_REFUSE_CIPHER, why, why);
		return;
	}
	/* Compression only when the hub enables it and the client can. */
	for (guint i = 0; i < hello->n_compressions; i++) {
		if (hub->cfg.compression != TR_COMPRESS_NONE &&
		    hello->compressions[i] == hub->cfg.compression)
			comp = hub->cfg.compression;
	}
	if (tr_msg_has(hello, TR_ATTR_DEVICE_TYPE) && hello->device_type != hub->cfg.dev_type) {
		g_autofree char *why = g_strdup_printf(
			"device type mismatch: the server runs %s, the client asked for %s",
			hub->cfg.dev_type == TR_DEVICE_TUN ? "tun" : "tap",
			hello->device_type == TR_DEVICE_TUN ? "tun" : "tap");
		refuse(c, TR_REFUSE_SETTINGS, why, why);
		return;
	}
	mtu = hub->cfg.mtu;
	if (tr_msg_has(hello, TR_ATTR_MTU)) {
		if (hello->mtu < 576) {
			refuse(c, TR_REFUSE_SETTINGS, "client MTU below 576", "MTU below 576");
			return;
		}
		mtu = MIN(mtu, hello->mtu);
	}

	/* The same identity again replaces its older session. */
	old = g_hash_table_lookup(hub->by_identity, c->identity);
	if (old && old != c) {
		g_message("%s connected again from %s: closing its session from %s", c->identity,
			  c->peer, old->peer);
		client_unregister(old);
		tr_link_close(old->link, TR_MSG_CLOSE, TR_REFUSE_REPLACED,
			      tr_refusal_to_string(TR_REFUSE_REPLACED));
	}

	if (!static_address(c, &want)) {
		refuse(c, TR_REFUSE_POOL, "cannot read the certificate's static address",
		       "internal error");
		return;
	}
	if (!tr_pool_lease(hub->pool, c->identity, want.family ? &want : NULL, &c->addr4, &c->addr6,
			   &error)) {
		refuse(c, TR_REFUSE_POOL, error->message, "no address available");
		return;
	}
	g_hash_table_insert(hub->by_identity, c->identity, c);

	do {
		gnutls_rnd(GNUTLS_RND_NONCE, &c->rx_index, sizeof(c->rx_index));
	} while (c->rx_index == 0 || g_hash_table_contains(hub->by_index, GUINT_TO_POINTER(c->rx_index)));

	tr_dc_config_init(&dcc);
	dcc.magic = hub->cfg.magic;
	dcc.cipher = cipher;
	dcc.allow_plaintext = cipher == TR_CIPHER_NONE;
	dcc.compress = comp;
	dcc.local_index = c->rx_index;
	dcc.peer_index = hello->rx_index;
	if (!tr_link_activate(c->link, &dcc, &timing, hub->udp_fd, NULL, 0, &error)) {
		g_autofree char *why = g_strdup_printf("cannot start the data channel: %s",
						       error->message);
		refuse(c, TR_REFUSE_INTERNAL, why, "internal error");
		return;
	}
	g_hash_table_insert(hub->by_index, GUINT_TO_POINTER(c->rx_index), c);
	if (c->addr4.family)
		g_hash_table_insert(hub->by_addr4, GUINT_TO_POINTER(addr4_key(c->addr4.addr)), c);
	if (c->addr6.family)
		g_hash_table_insert(hub->by_addr6, c->addr6.addr, c);

	tr_msg_init(&cfg, TR_MSG_CONFIG);
	cfg.proto_version = TR_PROTO_VERSION;
	tr_msg_set(&cfg, TR_ATTR_PROTO_VERSION);
	tr_msg_set_string(&cfg, TR_ATTR_SOFTWARE, "trellis-server " TR_VERSION);
	tr_msg_set_string(&cfg, TR_ATTR_IDENTITY, c->identity);
	cfg.rx_index = c->rx_index;
	tr_msg_set(&cfg, TR_ATTR_RX_INDEX);
	if (c->addr4.family)
		tr_msg_add_prefix(&cfg, TR_ATTR_ADDRESS, &c->addr4);
	if (c->addr6.family)
		tr_msg_add_prefix(&cfg, TR_ATTR_ADDRESS, &c->addr6);
	for (guint i = 0; i < hub->cfg.n_routes; i++)
		tr_msg_add_prefix(&cfg, TR_ATTR_ROUTE, &hub->cfg.routes[i]);
	for (guint i = 0; hub->cfg.dns && hub->cfg.dns[i]; i++) {
		TrPrefix p;
		if (tr_prefix_parse(hub->cfg.dns[i], TR_PREFIX_IP_ONLY, &p, NULL))
			tr_msg_add_prefix(&cfg, TR_ATTR_DNS_SERVER, &p);
	}
	for (guint i = 0; hub->cfg.dns_search && hub->cfg.dns_search[i]; i++)
		tr_msg_add_search(&cfg, hub->cfg.dns_search[i]);
	cfg.mtu = (uint16_t)mtu;
	cfg.cipher = (uint8_t)cipher;
	cfg.compression = (uint8_t)comp;
	cfg.keepalive = (uint16_t)hub->cfg.keepalive;
	cfg.peer_timeout = hub->cfg.peer_timeout;
	cfg.udp_port = hub->port;
	cfg.features = (hub->cfg.udp ? TR_FEATURE_UDP : 0) | TR_FEATURE_TCP_FALLBACK |
		       (hub->cfg.client_to_client ? TR_FEATURE_CLIENT_TO_CLIENT : 0);
	memcpy(cfg.magic, hub->cfg.magic.bytes, 4);
	tr_msg_set(&cfg, TR_ATTR_MTU);
	tr_msg_set(&cfg, TR_ATTR_CIPHER);
	tr_msg_set(&cfg, TR_ATTR_COMPRESSION);
	tr_msg_set(&cfg, TR_ATTR_KEEPALIVE);
	tr_msg_set(&cfg, TR_ATTR_PEER_TIMEOUT);
	tr_msg_set(&cfg, TR_ATTR_UDP_PORT);
	tr_msg_set(&cfg, TR_ATTR_FEATURES);
	tr_msg_set(&cfg, TR_ATTR_MAGIC);
	if (!tr_link_send_msg(c->link, &cfg, &error)) {
		refuse(c, TR_REFUSE_INTERNAL, error->message, "internal error");
		return;
	}
	hub->n_pending--;
	c->state = CLIENT_ACTIVE;
	if (c->addr4.family)
		tr_prefix_to_string(&c->addr4, a4, sizeof(a4));
	if (c->addr6.family)
		tr_prefix_to_string(&c->addr6, a6, sizeof(a6));
	g_message("client %s connected from %s: address %s%s%s, cipher %s, compression %s, MTU %u",
		  c->identity, c->peer, a4, *a4 && *a6 ? " " : "", a6, tr_cipher_name(cipher),
		  tr_compress_name(comp), mtu);
	tr_msg_clear(&c->hello);
}

/* What the worker thread needs: its own copies, as the client may go away. */
typedef struct {
	TrPasswordBackend *backend;
	char *user;
	char *password;
} PasswordJob;

static void
password_job_free(gpointer p)
{
	PasswordJob *job = p;

	g_free(job->user);
	if (job->password) {
		gnutls_memset(job->password, 0, strlen(job->password));
		g_free(job->password);
	}
	g_free(job);
}

static void
password_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancel)
{
	PasswordJob *job = task_data;
	GError *error = NULL;

	if (tr_password_backend_check(job->backend, job->user, job->password, &error))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, error);
}

static void
password_done(GObject *source, GAsyncResult *res, gpointer p)
{
	Client *c = p;
	g_autoptr(GError) error = NULL;

	if (!g_task_propagate_boolean(G_TASK(res), &error)) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			return;
		refuse(c, TR_REFUSE_AUTH, error->message, TR_PASSWORD_REFUSED_MESSAGE);
		return;
	}
	if (c->state != CLIENT_AUTH)
		return;
	finish_hello(c);
}

static void
handle_hello(Client *c, TrMsg *msg)
{
	TrHub *hub = c->hub;
	g_autoptr(GError) error = NULL;

	g_clear_handle_id(&c->hello_timer, g_source_remove);
	if (!tr_msg_require(msg, &error, TR_ATTR_PROTO_VERSION, TR_ATTR_CIPHERS, TR_ATTR_RX_INDEX, 0)) {
		refuse(c, TR_REFUSE_PROTOCOL, error->message, error->message);
		return;
	}
	if (msg->proto_version != TR_PROTO_VERSION) {
		g_autofree char *why = g_strdup_printf(
			"protocol version mismatch: client speaks %u, server speaks %u",
			msg->proto_version, TR_PROTO_VERSION);
		refuse(c, TR_REFUSE_VERSION, why, why);
		return;
	}
	g_debug("%s: HELLO from %s", c->peer, msg->software ? msg->software : "?");
	c->hello = *msg;
	tr_msg_init(msg, 0); /* the strings now belong to c->hello */

	if (hub->passwords) {
		g_autoptr(GTask) task = NULL;
		PasswordJob *job;

		if (c->hello.username == NULL || c->hello.password == NULL) {
			refuse(c, TR_REFUSE_AUTH, "no username or password given",
			       "this server needs a username and password");
			return;
		}
		c->identity = g_strdup_printf("%s/%s", c->cert_identity, c->hello.username);
		c->state = CLIENT_AUTH;
		c->cancel = g_cancellable_new();
		task = g_task_new(NULL, c->cancel, password_done, c);
		job = g_new0(PasswordJob, 1);
		job->backend = hub->passwords;
		job->user = g_strdup(c->hello.username);
		job->password = g_strdup(c->hello.password);
		g_task_set_task_data(task, job, password_job_free);
		g_task_run_in_thread(task, password_thread);
		return;
	}
	c->identity = g_strdup(c->cert_identity);
	finish_hello(c);
}

static void
on_message(TrLink *link, TrMsg *msg, gpointer p)
{
	Client *c = p;

	switch (msg->type) {
	case TR_MSG_HELLO:
		if (c->state != CLIENT_HELLO) {
			refuse(c, TR_REFUSE_PROTOCOL, "unexpected HELLO", "unexpected HELLO");
			return;
		}
		handle_hello(c, msg);
		return;
	case TR_MSG_CLOSE:
	case TR_MSG_ERROR:
		g_message("client %s (%s) closed the session: %s", c->identity ? c->identity : "?",
			  c->peer, msg->reason ? msg->reason : tr_refusal_to_string(msg->error_code));
		tr_link_close(link, TR_MSG_CLOSE, TR_REFUSE_NONE, NULL);
		return;
	default:
		refuse(c, TR_REFUSE_PROTOCOL,
		       c->state == CLIENT_ACTIVE ? "unexpected message" : "message before HELLO",
		       "unexpected message");
	}
}

static void
on_closed(TrLink *link, const GError *error, gpointer p)
{
	Client *c = p;

	if (c->state == CLIENT_ACTIVE)
		g_message("client %s (%s) disconnected%s%s", c->identity, c->peer,
			  error ? ": " : "", error ? error->message : "");
	else if (c->state != CLIENT_GONE && error)
		g_message("connection from %s failed: %s", c->peer, error->message);
	client_gone(c);
}

static void
on_data(TrLink *link, TrPacket *pkt, gpointer p)
{
	Client *c = p;
	TrHub *hub = c->hub;
	const uint8_t *ip = tr_packet_data(pkt);
	Client *dst = NULL;

	if (pkt->len < 20)
		goto drop;
	if ((ip[0] >> 4) == 4) {
		/* Clients may only send from their own address. */
		if (c->addr4.family == 0 || memcmp(ip + 12, c->addr4.addr, 4) != 0)
			goto drop;
		dst = g_hash_table_lookup(hub->by_addr4, GUINT_TO_POINTER(addr4_key(ip + 16)));
	} else if ((ip[0] >> 4) == 6 && pkt->len >= 40) {
		if (c->addr6.family == 0 || memcmp(ip + 8, c->addr6.addr, 16) != 0)
			goto drop;
		dst = g_hash_table_lookup(hub->by_addr6, ip + 24);
	} else {
		goto drop;
	}
	if (dst && dst != c) {
		if (hub->cfg.client_to_client)
			tr_link_send(dst->link, pkt);
		else
			hub->rx_drops++;
		return;
	}
	if (tr_device_write(hub->dev, 0, ip, pkt->len) < 0)
		hub->tun_drops++;
	return;
drop:
	hub->rx_drops++;
}

static void
on_path_changed(TrLink *link, TrPath path, gpointer p)
{
	Client *c = p;

	if (c->state == CLIENT_ACTIVE)
		g_message("client %s: data now over %s", c->identity,
			  path == TR_PATH_UDP ? "UDP" : "TLS (TCP fallback)");
}

static const TrLinkCallbacks client_callbacks = {
	.data = on_data,
	.message = on_message,
	.established = on_established,
	.closed = on_closed,
	.path_changed = on_path_changed,
};

/* ---- Sockets ---------------------------------------------------------------- */

static gboolean
on_accept(gint fd, GIOCondition cond, gpointer p)
{
	TrHub *hub = p;

	for (int n = 0; n < 64; n++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		g_autoptr(GError) error = NULL;
		char peer[80];
		Client *c;
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			break;
		tr_sockaddr_to_string((struct sockaddr *)&ss, peer, sizeof(peer));
		if (hub->n_pending >= hub->cfg.max_pending) {
			gint64 now = g_get_monotonic_time();
			if (now - hub->last_pending_warning > 10 * G_USEC_PER_SEC) {
				g_warning("too many pending handshakes (%u): refusing %s and others",
					  hub->n_pending, peer);
				hub->last_pending_warning = now;
			}
			close(cfd);
			continue;
		}
		c = g_new0(Client, 1);
		c->hub = hub;
		c->peer = g_strdup(peer);
		c->link = tr_link_new(cfd, hub->creds, NULL, peer, TRUE, &client_callbacks, c, &error);
		if (c->link == NULL) {
			g_warning("cannot accept %s: %s", peer, error->message);
			g_free(c->peer);
			g_free(c);
			continue;
		}
		g_hash_table_add(hub->clients, c);
		hub->n_pending++;
		tr_link_start(c->link, hub->cfg.handshake_timeout_ms);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
on_udp(gint fd, GIOCondition cond, gpointer p)
{
	TrHub *hub = p;
	TrPacket *pkt = hub->pkt;

	for (int n = 0; n < 256; n++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		TrDcHeader hdr;
		Client *c;
		ssize_t len;

		pkt->off = TR_PACKET_HEADROOM - TR_DC_HEADER_LEN;
		len = recvfrom(fd, tr_packet_data(pkt), TR_PACKET_BUFSIZE - pkt->off, MSG_DONTWAIT,
			       (struct sockaddr *)&from, &fl);
		if (len < 0)
			break;
		pkt->len = (uint32_t)len;
		if (tr_dc_peek(&hub->cfg.magic, tr_packet_data(pkt), pkt->len, &hdr) < 0) {
			hub->rx_drops++;
			continue;
		}
		c = g_hash_table_lookup(hub->by_index, GUINT_TO_POINTER(hdr.receiver_index));
		if (c == NULL || c->state != CLIENT_ACTIVE) {
			hub->rx_drops++;
			continue;
		}
		if (tr_link_udp_input(c->link, pkt, (struct sockaddr *)&from, fl) < 0)
			hub->rx_drops++;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
on_tun(gint fd, GIOCondition cond, gpointer p)
{
	TrHub *hub = p;
	TrPacket *pkt = hub->pkt;

	for (int n = 0; n < 256; n++) {
		const uint8_t *ip;
		Client *dst = NULL;
		ssize_t len;

		tr_packet_reset(pkt);
		len = tr_device_read(hub->dev, 0, tr_packet_data(pkt), TR_PACKET_PAYLOAD_MAX);
		if (len == -EAGAIN)
			break;
		if (len < 20) {
			hub->tun_drops++;
			continue;
		}
		pkt->len = (uint32_t)len;
		ip = tr_packet_data(pkt);
		if ((ip[0] >> 4) == 4)
			dst = g_hash_table_lookup(hub->by_addr4, GUINT_TO_POINTER(addr4_key(ip + 16)));
		else if ((ip[0] >> 4) == 6 && len >= 40)
			dst = g_hash_table_lookup(hub->by_addr6, ip + 24);
		if (dst == NULL || !tr_link_send(dst->link, pkt))
			hub->tun_drops++;
	}
	return G_SOURCE_CONTINUE;
}

static int
bind_socket(int type, const char *host, guint16 port, GError **error)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd, one = 1, zero = 0;

	if (host == NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons(port);
		sl = sizeof(*sin6);
	} else {
		g_autofree char *text = g_strdup_printf(strchr(host, ':') ? "[%s]:%u" : "%s:%u",
							host, port);
		if (!tr_sockaddr_parse(text, port, &ss, &sl, error))
			return -1;
	}
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && host == NULL && errno == EAFNOSUPPORT) {
		/* No IPv6 on this host: all IPv4 addresses instead. */
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		memset(&ss, 0, sizeof(ss));
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sl = sizeof(*sin);
		fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0) {
		tr_set_error_errno(error, errno, "socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		tr_set_error_errno(error, errno, "cannot listen on port %u (%s)", port,
				   type == SOCK_STREAM ? "TCP" : "UDP");
		close(fd);
		return -1;
	}
	if (type == SOCK_STREAM && listen(fd, 128) < 0) {
		tr_set_error_errno(error, errno, "listen");
		close(fd);
		return -1;
	}
	if (type == SOCK_DGRAM) {
		int size = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	return fd;
}

static gboolean
setup_device(TrHub *hub, GError **error)
{
	TrPlatError perr = { 0 };
	TrPrefix a;

	hub->dev = tr_device_open(hub->cfg.dev_type, hub->cfg.device, hub->cfg.device_path, 1, &perr);
	if (hub->dev == NULL)
		goto fail;
	if (tr_device_set_mtu(hub->dev, hub->cfg.mtu, &perr) < 0)
		goto fail;
	if (tr_pool_hub_address(hub->pool, TR_ADDR_IPV4, &a) &&
	    tr_device_add_address(hub->dev, &a, &perr) < 0)
		goto fail;
	if (tr_pool_hub_address(hub->pool, TR_ADDR_IPV6, &a) &&
	    tr_device_add_address(hub->dev, &a, &perr) < 0)
		goto fail;
	if (tr_device_set_up(hub->dev, true, &perr) < 0)
		goto fail;
	return TRUE;
fail:
	g_set_error(error, TR_ERROR, perr.code == -EPERM || perr.code == -EACCES ? TR_ERROR_PERMISSION : TR_ERROR_IO,
		    "%s", perr.message);
	return FALSE;
}

TrHub *
tr_hub_new(const TrHubConfig *config, GError **error)
{
	g_autoptr(TrHub) hub = g_new0(TrHub, 1);
	g_autofree char *host = NULL;
	g_autofree char *lease_file = NULL;
	guint16 port;

	hub->tcp_fd = hub->udp_fd = -1;
	hub->cfg = *config;
	/* Deep-copy what the config owns. */
	hub->cfg.listen = g_strdup(config->listen);
	hub->cfg.tls.ca_file = g_strdup(config->tls.ca_file);
	hub->cfg.tls.crl_file = g_strdup(config->tls.crl_file);
	hub->cfg.tls.cert_file = g_strdup(config->tls.cert_file);
	hub->cfg.tls.key_file = g_strdup(config->tls.key_file);
	hub->cfg.tls.shared_key = g_strdup(config->tls.shared_key);
	hub->cfg.password_file = g_strdup(config->password_file);
	hub->cfg.pam_service = g_strdup(config->pam_service);
	hub->cfg.pam_confdir = g_strdup(config->pam_confdir);
	hub->cfg.dns = g_strdupv(config->dns);
	hub->cfg.dns_search = g_strdupv(config->dns_search);
	hub->cfg.device = g_strdup(config->device);
	hub->cfg.device_path = g_strdup(config->device_path);
	hub->cfg.state_dir = g_strdup(config->state_dir);
	hub->cfg.tls.is_server = TRUE;

	hub->clients = g_hash_table_new_full(g_direct_hash, g_direct_equal, client_free, NULL);
	hub->by_identity = g_hash_table_new(g_str_hash, g_str_equal);
	hub->by_index = g_hash_table_new(g_direct_hash, g_direct_equal);
	hub->by_addr4 = g_hash_table_new(g_direct_hash, g_direct_equal);
	hub->by_addr6 = g_hash_table_new(addr6_hash, addr6_equal);
	hub->pkt = g_new(TrPacket, 1);

	if (!tr_hostport_parse(strchr(config->listen, ':') || !g_ascii_isdigit(config->listen[0])
				       ? config->listen
				       : "*",
			       TR_DEFAULT_PORT, &host, &port, error))
		return NULL;
	if (!strchr(config->listen, ':') && g_ascii_isdigit(config->listen[0])) {
		if (!tr_port_parse(config->listen, &port, error))
			return NULL;
		g_clear_pointer(&host, g_free);
	} else if (g_strcmp0(host, "*") == 0 || g_strcmp0(host, "") == 0) {
		g_clear_pointer(&host, g_free);
	}

	hub->creds = tr_tls_creds_new(&hub->cfg.tls, error);
	if (hub->creds == NULL)
		return NULL;
	if (config->password_file) {
		hub->passwords = tr_password_file_backend_new(config->password_file, error);
		if (hub->passwords == NULL)
			return NULL;
	} else if (config->pam_service) {
		hub->passwords = tr_password_pam_backend_new(config->pam_service, config->pam_confdir,
							     error);
		if (hub->passwords == NULL)
			return NULL;
	}
	if (config->state_dir)
		lease_file = g_build_filename(config->state_dir, "leases", NULL);
	hub->pool = tr_pool_new(config->pool4.family ? &config->pool4 : NULL,
				config->pool6.family ? &config->pool6 : NULL, lease_file, error);
	if (hub->pool == NULL)
		return NULL;

	hub->tcp_fd = bind_socket(SOCK_STREAM, host, port, error);
	if (hub->tcp_fd < 0)
		return NULL;
	if (port == 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		getsockname(hub->tcp_fd, (struct sockaddr *)&ss, &sl);
		port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						     : ((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	hub->port = port;
	hub->udp_fd = bind_socket(SOCK_DGRAM, host, port, error);
	if (hub->udp_fd < 0)
		return NULL;
	if (!setup_device(hub, error))
		return NULL;
	return g_steal_pointer(&hub);
}

void
tr_hub_start(TrHub *hub)
{
	char a[TR_PREFIX_STRLEN];
	TrPrefix p;

	hub->tcp_watch = g_unix_fd_add(hub->tcp_fd, G_IO_IN, on_accept, hub);
	hub->udp_watch = g_unix_fd_add(hub->udp_fd, G_IO_IN, on_udp, hub);
	hub->tun_watch = g_unix_fd_add((int)tr_device_queue_fd(hub->dev, 0), G_IO_IN, on_tun, hub);
	tr_pool_hub_address(hub->pool, TR_ADDR_IPV4, &p);
	g_message("listening on port %u (TCP control, UDP data); device %s, address %s, auth: %s%s%s",
		  hub->port, tr_device_ifname(hub->dev),
		  p.family ? tr_prefix_to_string(&p, a, sizeof(a)) : "-",
		  tr_tls_creds_has_cert(hub->creds) ? "certificates" : "",
		  tr_tls_creds_has_cert(hub->creds) && tr_tls_creds_has_psk(hub->creds) ? " + " : "",
		  tr_tls_creds_has_psk(hub->creds) ? "shared key" : "");
	if (hub->passwords)
		g_message("clients also need a password (%s)", tr_password_backend_name(hub->passwords));
}

void
tr_hub_stop(TrHub *hub)
{
	GHashTableIter it;
	gpointer k;

	g_clear_handle_id(&hub->tcp_watch, g_source_remove);
	g_hash_table_iter_init(&it, hub->clients);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		Client *c = k;
		if (c->state != CLIENT_GONE)
			tr_link_close(c->link, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN, "server shutting down");
	}
}

void
tr_hub_free(TrHub *hub)
{
	TrPlatError perr = { 0 };

	if (hub == NULL)
		return;
	g_clear_handle_id(&hub->tcp_watch, g_source_remove);
	g_clear_handle_id(&hub->udp_watch, g_source_remove);
	g_clear_handle_id(&hub->tun_watch, g_source_remove);
	if (hub->clients)
		g_hash_table_unref(hub->clients);
	g_clear_pointer(&hub->by_identity, g_hash_table_unref);
	g_clear_pointer(&hub->by_index, g_hash_table_unref);
	g_clear_pointer(&hub->by_addr4, g_hash_table_unref);
	g_clear_pointer(&hub->by_addr6, g_hash_table_unref);
	if (hub->dev && tr_device_close(hub->dev, &perr) < 0)
		g_warning("closing the device: %s", perr.message);
	if (hub->tcp_fd >= 0)
		close(hub->tcp_fd);
	if (hub->udp_fd >= 0)
		close(hub->udp_fd);
	tr_pool_free(hub->pool);
	if (hub->passwords)
		tr_password_backend_free(hub->passwords);
	if (hub->creds)
		tr_tls_creds_unref(hub->creds);
	g_free(hub->pkt);
	tr_hub_config_clear(&hub->cfg);
	g_free(hub);
}

gboolean
tr_hub_reload(TrHub *hub, GError **error)
{
	GHashTableIter it;
	gpointer k;

	if (!tr_tls_creds_reload_crl(hub->creds, error))
		return FALSE;
	if (hub->passwords && !tr_password_backend_reload(hub->passwords, error))
		return FALSE;
	/* Drop connected clients whose certificate is now revoked. */
	g_hash_table_iter_init(&it, hub->clients);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		Client *c = k;
		g_autoptr(GBytes) cert = NULL;

		if (c->state != CLIENT_ACTIVE)
			continue;
		cert = tr_tls_peer_cert(tr_link_get_tls(c->link));
		if (cert && tr_tls_creds_is_revoked(hub->creds, cert)) {
			g_message("client %s: certificate revoked, disconnecting", c->identity);
			client_unregister(c);
			tr_link_close(c->link, TR_MSG_ERROR, TR_REFUSE_REVOKED, "certificate revoked");
		}
	}
	return TRUE;
}

const char *
tr_hub_ifname(TrHub *hub)
{
	return tr_device_ifname(hub->dev);
}

guint16
tr_hub_port(TrHub *hub)
{
	return hub->port;
}

guint
tr_hub_n_clients(TrHub *hub)
{
	return g_hash_table_size(hub->by_identity);
}
