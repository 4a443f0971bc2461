/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "client/client.h"

#include "common/ctrl/dialer.h"
#include "common/base/error.h"
#include "common/auth/node-key.h"
#include "common/base/json-writer.h"
#include "common/datapath/mangle.h"
#include "tr-config.h"

#include <errno.h>
#include <gio/gio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

typedef enum {
	STATE_IDLE,
	STATE_CONNECTING, /* TCP connect running */
	STATE_TLS,        /* handshake */
	STATE_HELLO,      /* HELLO sent, waiting for CONFIG */
	STATE_ACTIVE,
	STATE_STOPPED,
} State;

struct _TrClient {
	TrClientConfig cfg;
	TrClientCallbacks cb;
	gpointer user_data;
	TrTlsCreds *creds;
	State state;
	const char *waiting; /* not started: what for ("needs-password"), or NULL */
	guint attempt;
	guint next_server;
	guint retry_id;
	guint config_timer;
	TrDialer *dialer;
	char *server_desc;
	struct sockaddr_storage server_addr;
	socklen_t server_addr_len;

	TrLink *link;
	uint32_t rx_index;
	int udp_fd;   /* udp_fds[0] */
	int *udp_fds; /* one per worker, or one */
	guint n_udp;
	TrDataplane *dp;

	TrDevice *dev;
	TrClientSettings settings;
	gboolean have_settings;
	char *last_error;    /* why the last session or attempt ended */
	TrNodeKey *node_key; /* shared key: binds our name at the hub */
	TrRefusal refusal;   /* the hub's, with the last ERROR */

	/* NAT port mapping of the UDP port (NULL when off); the port is kept
	 * across reconnections, so the mapping is too. */
	TrPortmap *portmap;
	guint16 udp_port;
};

void
tr_client_config_init(TrClientConfig *c)
{
	memset(c, 0, sizeof(*c));
	c->dev_type = TR_DEVICE_TUN;
	c->configure_device = TRUE;
	c->apply_dns = TRUE;
	c->mtu = TR_MTU_DEFAULT;
	c->n_ciphers = tr_cipher_default_list(c->ciphers, G_N_ELEMENTS(c->ciphers));
	c->magic = TR_MAGIC_DEFAULT;
	c->udp = TRUE;
	c->handshake_timeout_ms = 10000;
	c->retry_max_sec = 30;
	tr_dp_tuning_init(&c->tuning);
	tr_portmap_settings_init(&c->portmap);
}

static void
wipe_free(char *s)
{
	if (s) {
		gnutls_memset(s, 0, strlen(s));
		g_free(s);
	}
}

void
tr_client_config_clear(TrClientConfig *c)
{
	g_strfreev(c->connect);
	g_free(c->server_name);
	g_free(c->node_key_file);
	g_free((char *)c->tls.ca_file);
	g_free((char *)c->tls.crl_file);
	g_free((char *)c->tls.cert_file);
	g_free((char *)c->tls.key_file);
	wipe_free((char *)c->tls.shared_key);
	g_free((char *)c->tls.psk_identity);
	g_free(c->username);
	wipe_free(c->password);
	g_free(c->device);
	g_free(c->device_path);
	g_free(c->ifup);
	g_free(c->ifdown);
	memset(c, 0, sizeof(*c));
}

static void
settings_clear(TrClientSettings *s)
{
	g_free(s->identity);
	g_strfreev(s->dns);
	g_strfreev(s->dns_search);
	memset(s, 0, sizeof(*s));
}

static void connect_next(TrClient *client);
static gboolean start_dataplane(TrClient *client, GError **error);

static gboolean
on_retry(gpointer p)
{
	TrClient *client = p;

	client->retry_id = 0;
	connect_next(client);
	return G_SOURCE_REMOVE;
}

static void
teardown_session(TrClient *client)
{
	g_clear_handle_id(&client->config_timer, g_source_remove);
	/* The link takes its session out of the data plane, which then stops. */
	g_clear_pointer(&client->link, tr_link_free);
	g_clear_pointer(&client->dp, tr_dataplane_free);
	for (guint i = 0; i < client->n_udp; i++)
		tr_sock_close(client->udp_fds[i]);
	g_clear_pointer(&client->udp_fds, g_free);
	client->n_udp = 0;
	client->udp_fd = -1;
	g_clear_pointer(&client->server_desc, g_free);
}

static void
schedule_retry(TrClient *client)
{
	guint delay_ms;

	if (client->state == STATE_STOPPED)
		return;
	client->state = STATE_IDLE;
	delay_ms = tr_backoff_next(client->attempt++, client->cfg.retry_max_sec);
	g_message("reconnecting in %.1f s", delay_ms / 1000.0);
	client->retry_id = g_timeout_add(delay_ms, on_retry, client);
	if (client->cb.retrying)
		client->cb.retrying(client,
		                    client->last_error ? client->last_error : "connection lost",
		                    delay_ms, client->user_data);
}

static gboolean
free_link_idle(gpointer p)
{
	tr_link_free(p);
	return G_SOURCE_REMOVE;
}

/* The session is over: drop it now, retry later (or stop for good). */
static void
session_lost(TrClient *client, const GError *error, gboolean fatal)
{
	TrLink *link = g_steal_pointer(&client->link);
	gboolean was_active = client->state == STATE_ACTIVE;

	g_free(client->last_error);
	client->last_error = g_strdup(error ? error->message : "connection closed");

	/* The data plane goes now, the link a little later: part them first. */
	if (link)
		tr_link_leave_dataplane(link);
	teardown_session(client);
	/* We may be inside the link's own callback: free it afterwards. */
	if (link)
		g_idle_add(free_link_idle, link);
	if (fatal) {
		client->state = STATE_STOPPED;
		if (client->cb.refused)
			client->cb.refused(client, error, client->user_data);
		return;
	}
	if (was_active && client->cb.disconnected)
		client->cb.disconnected(client, error, client->user_data);
	schedule_retry(client);
}

/* ---- Device ---------------------------------------------------------------- */

static gboolean
settings_equal(const TrClientSettings *a, const TrClientSettings *b)
{
	if (a->n_addresses != b->n_addresses || a->n_routes != b->n_routes || a->mtu != b->mtu)
		return FALSE;
	for (guint i = 0; i < a->n_addresses; i++)
		if (!tr_prefix_equal(&a->addresses[i], &b->addresses[i]) ||
		    memcmp(a->addresses[i].addr, b->addresses[i].addr, 16) != 0)
			return FALSE;
	for (guint i = 0; i < a->n_routes; i++)
		if (!tr_prefix_equal(&a->routes[i], &b->routes[i]))
			return FALSE;
	if (!g_strv_equal((const char *const *)(a->dns ? a->dns : (char *[]){NULL}),
	                  (const char *const *)(b->dns ? b->dns : (char *[]){NULL})))
		return FALSE;
	return TRUE;
}

static void
close_device(TrClient *client)
{
	TrPlatError perr = {0};

	g_clear_pointer(&client->dp, tr_dataplane_free);
	if (client->dev && tr_device_close(client->dev, &perr) < 0)
		g_warning("undoing the device configuration: %s", perr.message);
	client->dev = NULL;
}

static gboolean
apply_settings(TrClient *client, const TrClientSettings *s, GError **error)
{
	TrPlatError perr = {0};

	if (client->dev != NULL && client->have_settings && settings_equal(&client->settings, s))
		return TRUE;
	close_device(client);
	client->dev = tr_device_open_ex(
	        client->cfg.dev_type, client->cfg.device, client->cfg.device_path,
	        client->n_udp > 1 ? client->n_udp : tr_dp_tuning_workers(&client->cfg.tuning),
	        client->cfg.tuning.tun_offload ? TR_DEVICE_OFFLOAD : 0, &perr);
	if (client->dev == NULL)
		goto fail;
	if (client->cfg.configure_device) {
		if (tr_device_set_mtu(client->dev, s->mtu, &perr) < 0)
			goto fail;
		for (guint i = 0; i < s->n_addresses; i++)
			if (tr_device_add_address(client->dev, &s->addresses[i], &perr) < 0)
				goto fail;
	}
	if (tr_device_set_up(client->dev, true, &perr) < 0)
		goto fail;
	if (client->cfg.configure_device) {
		for (guint i = 0; i < s->n_routes; i++)
			if (tr_device_add_route(client->dev, &s->routes[i], &perr) < 0)
				goto fail;
		if (client->cfg.apply_dns && s->dns && s->dns[0]) {
			TrDnsConfig dns = {
			        .servers = (const char *const *)s->dns,
			        .n_servers = g_strv_length(s->dns),
			        .domains = (const char *const *)s->dns_search,
			        .n_domains = s->dns_search ? g_strv_length(s->dns_search) : 0,
			};
			if (tr_device_set_dns(client->dev, &dns, &perr) < 0)
				goto fail;
		}
	}
	if (client->cfg.ifup || client->cfg.ifdown) {
		if (tr_device_ifup(client->dev, client->cfg.ifup, client->cfg.ifdown, &perr) < 0)
			goto fail;
	}
	return TRUE;
fail:
	g_set_error(error, TR_ERROR,
	            perr.code == -EPERM || perr.code == -EACCES ? TR_ERROR_PERMISSION : TR_ERROR_IO,
	            "%s", perr.message);
	close_device(client);
	return FALSE;
}

/* ---- Session ----------------------------------------------------------------- */

static gboolean
handle_config(TrClient *client, TrMsg *msg, GError **error)
{
	TrClientSettings s = {0};
	TrDcConfig dcc;
	TrLinkTiming timing;
	GPtrArray *dns = g_ptr_array_new();
	char buf[TR_PREFIX_STRLEN];
	struct sockaddr_storage ep;
	gboolean ok = FALSE;

	if (!tr_msg_require(msg, error, TR_ATTR_PROTO_VERSION, TR_ATTR_RX_INDEX, TR_ATTR_CIPHER,
	                    TR_ATTR_MTU, 0))
		goto out;
	if (msg->proto_version != TR_PROTO_VERSION) {
		g_set_error(error, TR_ERROR, TR_ERROR_NEGOTIATE,
		            "the server speaks protocol %u, we speak %u", msg->proto_version,
		            TR_PROTO_VERSION);
		goto out;
	}
	s.identity = g_strdup(msg->identity);
	for (guint i = 0; i < msg->n_addresses && s.n_addresses < 2; i++)
		s.addresses[s.n_addresses++] = msg->addresses[i];
	for (guint i = 0; i < msg->n_routes; i++)
		s.routes[s.n_routes++] = msg->routes[i];
	for (guint i = 0; i < msg->n_dns_servers; i++)
		g_ptr_array_add(dns, g_strdup(tr_addr_to_string(
		                             (TrAddrFamily)msg->dns_servers[i].family,
		                             msg->dns_servers[i].addr, buf, sizeof(buf))));
	g_ptr_array_add(dns, NULL);
	s.dns = (char **)g_ptr_array_free(dns, FALSE);
	dns = NULL;
	if (msg->n_dns_search) {
		s.dns_search = g_new0(char *, msg->n_dns_search + 1);
		for (guint i = 0; i < msg->n_dns_search; i++)
			s.dns_search[i] = g_strdup(msg->dns_search[i]);
	}
	s.mtu = msg->mtu;
	s.cipher = (TrCipher)msg->cipher;
	s.compression = (TrCompress)msg->compression;
	s.keepalive = msg->keepalive;
	s.peer_timeout = msg->peer_timeout;

	/* The server must pick from what we offered. */
	ok = FALSE;
	for (guint i = 0; i < client->cfg.n_ciphers; i++)
		ok |= client->cfg.ciphers[i] == s.cipher;
	if (!ok ||
	    (s.compression != TR_COMPRESS_NONE && s.compression != client->cfg.compression)) {
		g_set_error(error, TR_ERROR, TR_ERROR_NEGOTIATE,
		            "the server chose %s / %s, which we did not offer",
		            tr_cipher_name(s.cipher), tr_compress_name(s.compression));
		ok = FALSE;
		goto out;
	}
	ok = FALSE;

	if (client->cfg.configure_device || client->dev == NULL) {
		if (!apply_settings(client, &s, error))
			goto out;
	}
	settings_clear(&client->settings);
	client->settings = s;
	memset(&s, 0, sizeof(s));
	client->have_settings = TRUE;

	tr_dc_config_init(&dcc);
	dcc.magic = client->cfg.magic;
	dcc.cipher = client->settings.cipher;
	dcc.allow_plaintext = client->cfg.allow_plaintext;
	dcc.compress = client->settings.compression;
	dcc.local_index = client->rx_index;
	dcc.peer_index = msg->rx_index;
	timing.keepalive_sec = client->settings.keepalive;
	timing.peer_timeout_sec = client->settings.peer_timeout;
	timing.udp_enabled = client->cfg.udp && (msg->features & TR_FEATURE_UDP);
	memcpy(&ep, &client->server_addr, client->server_addr_len);
	if (tr_msg_has(msg, TR_ATTR_UDP_PORT)) {
		if (ep.ss_family == AF_INET)
			((struct sockaddr_in *)&ep)->sin_port = htons(msg->udp_port);
		else
			((struct sockaddr_in6 *)&ep)->sin6_port = htons(msg->udp_port);
	}
	if (!start_dataplane(client, error))
		goto out;
	tr_link_use_dataplane(client->link, client->dp, 1);
	if (!tr_link_activate(client->link, &dcc, &timing, (struct sockaddr *)&ep,
	                      client->server_addr_len, error))
		goto out;
	ok = TRUE;
out:
	if (dns)
		g_ptr_array_free(dns, TRUE);
	settings_clear(&s);
	return ok;
}

static void
on_message(TrLink *link, TrMsg *msg, gpointer p)
{
	TrClient *client = p;
	g_autoptr(GError) error = NULL;

	switch (msg->type) {
	case TR_MSG_CONFIG:
		if (client->state != STATE_HELLO) {
			tr_link_close(link, TR_MSG_ERROR, TR_REFUSE_PROTOCOL, "unexpected CONFIG");
			return;
		}
		g_clear_handle_id(&client->config_timer, g_source_remove);
		if (!handle_config(client, msg, &error)) {
			g_warning("cannot use the server's configuration: %s", error->message);
			tr_link_close(link, TR_MSG_ERROR,
			              error->code == TR_ERROR_NEGOTIATE ? TR_REFUSE_SETTINGS
			                                                : TR_REFUSE_INTERNAL,
			              error->message);
			session_lost(client, error, !tr_error_is_retryable(error));
			return;
		}
		client->state = STATE_ACTIVE;
		client->attempt = 0;
		{
			char a[TR_PREFIX_STRLEN] = "-";
			if (client->settings.n_addresses)
				tr_prefix_to_string(&client->settings.addresses[0], a, sizeof(a));
			g_message(
			        "connected to %s as %s: device %s, address %s, MTU %u, cipher %s, "
			        "compression %s",
			        client->server_desc,
			        client->settings.identity ? client->settings.identity : "?",
			        client->dev ? tr_device_ifname(client->dev) : "-", a,
			        client->settings.mtu, tr_cipher_name(client->settings.cipher),
			        tr_compress_name(client->settings.compression));
		}
		if (client->cb.configured)
			client->cb.configured(client, &client->settings, client->user_data);
		return;
	case TR_MSG_ERROR:
	case TR_MSG_CLOSE: {
		TrRefusal code = (TrRefusal)msg->error_code;
		const char *reason = msg->reason ? msg->reason : tr_refusal_to_string(code);

		error = g_error_new(TR_ERROR, tr_refusal_error_code(code), "%s", reason);
		if (msg->type == TR_MSG_ERROR) {
			client->refusal = code;
			g_warning("the server refused us: %s", reason);
		} else
			g_message("the server closed the session: %s", reason);
		tr_link_close(link, TR_MSG_CLOSE, TR_REFUSE_NONE, NULL);
		session_lost(client, error,
		             msg->type == TR_MSG_ERROR && !tr_error_is_retryable(error));
		return;
	}
	default:
		tr_link_close(link, TR_MSG_ERROR, TR_REFUSE_PROTOCOL, "unexpected message");
	}
}

static gboolean
on_config_timeout(gpointer p)
{
	TrClient *client = p;
	g_autoptr(GError) error =
	        g_error_new(TR_ERROR, TR_ERROR_TIMEOUT, "the server sent no configuration in time");

	client->config_timer = 0;
	g_warning("%s", error->message);
	session_lost(client, error, FALSE);
	return G_SOURCE_REMOVE;
}

static void
send_hello(TrClient *client)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) hello = {0};

	tr_msg_init(&hello, TR_MSG_HELLO);
	hello.proto_version = TR_PROTO_VERSION;
	tr_msg_set(&hello, TR_ATTR_PROTO_VERSION);
	tr_msg_set_string(&hello, TR_ATTR_SOFTWARE, "trellis-client " TR_VERSION);
	for (guint i = 0; i < client->cfg.n_ciphers; i++)
		hello.ciphers[hello.n_ciphers++] = (uint8_t)client->cfg.ciphers[i];
	tr_msg_set(&hello, TR_ATTR_CIPHERS);
	hello.compressions[hello.n_compressions++] = TR_COMPRESS_NONE;
	if (client->cfg.compression != TR_COMPRESS_NONE)
		hello.compressions[hello.n_compressions++] = (uint8_t)client->cfg.compression;
	tr_msg_set(&hello, TR_ATTR_COMPRESSIONS);
	hello.device_type = (uint8_t)client->cfg.dev_type;
	tr_msg_set(&hello, TR_ATTR_DEVICE_TYPE);
	hello.mtu = (uint16_t)client->cfg.mtu;
	tr_msg_set(&hello, TR_ATTR_MTU);
	hello.features = (client->cfg.udp ? TR_FEATURE_UDP : 0) | TR_FEATURE_TCP_FALLBACK |
	                 (client->cfg.allow_plaintext ? TR_FEATURE_PLAINTEXT : 0);
	tr_msg_set(&hello, TR_ATTR_FEATURES);
	do {
		gnutls_rnd(GNUTLS_RND_NONCE, &client->rx_index, sizeof(client->rx_index));
	} while (client->rx_index == 0);
	hello.rx_index = client->rx_index;
	tr_msg_set(&hello, TR_ATTR_RX_INDEX);
	for (guint i = 0; i < client->cfg.n_subnets; i++)
		tr_msg_add_prefix(&hello, TR_ATTR_SUBNET, &client->cfg.subnets[i]);
	if (client->cfg.username)
		tr_msg_set_string(&hello, TR_ATTR_USERNAME, client->cfg.username);
	if (client->cfg.password)
		tr_msg_set_string(&hello, TR_ATTR_PASSWORD, client->cfg.password);
	if (client->node_key) {
		g_autoptr(GBytes) pub = tr_node_key_public(client->node_key);
		g_autoptr(GBytes) proof =
		        tr_node_key_prove(client->node_key, tr_link_get_tls(client->link), &error);
		if (proof == NULL) {
			session_lost(client, error, FALSE);
			return;
		}
		tr_msg_set_bytes(&hello, TR_ATTR_NODE_KEY, pub);
		tr_msg_set_bytes(&hello, TR_ATTR_NODE_PROOF, proof);
	}
	if (!tr_link_send_msg(client->link, &hello, &error)) {
		session_lost(client, error, FALSE);
		return;
	}
	client->state = STATE_HELLO;
	client->config_timer =
	        g_timeout_add(client->cfg.handshake_timeout_ms, on_config_timeout, client);
}

static void
on_established(TrLink *link, gpointer p)
{
	TrClient *client = p;
	g_autoptr(GError) error = NULL;
	g_autofree char *identity = NULL;
	g_autofree char *desc = tr_tls_describe(tr_link_get_tls(link));

	if (!tr_tls_verify_peer(tr_link_get_tls(link), &identity, &error)) {
		g_prefix_error(&error, "refusing the server %s: ", client->server_desc);
		g_warning("%s", error->message);
		/* The hub hears why: a TLS alert (a control message may not get
		 * out before the connection closes). */
		tr_tls_send_refusal(tr_link_get_tls(link));
		tr_link_close(link, TR_MSG_ERROR, TR_REFUSE_AUTH, "server certificate refused");
		session_lost(client, error, TRUE);
		return;
	}
	g_debug("TLS to %s established (%s), server is %s", client->server_desc, desc, identity);
	send_hello(client);
}

static void
on_closed(TrLink *link, const GError *error, gpointer p)
{
	TrClient *client = p;
	g_autoptr(GError) err = error ? g_error_copy(error)
	                              : g_error_new(TR_ERROR, TR_ERROR_IO, "connection closed");

	if (client->link != link)
		return;
	if (client->state == STATE_TLS)
		g_warning("TLS handshake with %s failed: %s", client->server_desc, err->message);
	else
		g_message("connection to %s lost: %s", client->server_desc, err->message);
	/* A refused handshake (wrong key, CA or certificate: the TLS layer tells
	 * from the alert) will not change by retrying; a lost connection may. */
	session_lost(client, err, client->state == STATE_TLS && !tr_error_is_retryable(err));
}

static void
on_path_changed(TrLink *link, TrPath path, gpointer p)
{
	TrClient *client = p;

	if (client->state == STATE_ACTIVE)
		g_message("data now over %s", path == TR_PATH_UDP ? "UDP" : "TLS (TCP fallback)");
}

static const TrLinkCallbacks link_callbacks = {
        .message = on_message,
        .established = on_established,
        .closed = on_closed,
        .path_changed = on_path_changed,
};

/* The local port of a bound socket. */
static guint16
local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                      : ((struct sockaddr_in *)&ss)->sin_port);
}

/* One socket per worker, all on one local port (any address, the server's
 * family): the port of the last session when it is still free, so that a
 * port mapping made for it stays valid. */
static gboolean
open_udp(TrClient *client, GError **error)
{
	struct sockaddr_storage any = {0};
	socklen_t len;

	any.ss_family = client->server_addr.ss_family;
	len = any.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (client->udp_port) {
		if (any.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&any)->sin6_port = htons(client->udp_port);
		else
			((struct sockaddr_in *)&any)->sin_port = htons(client->udp_port);
		client->udp_fds = tr_dp_open_sockets(
		        (struct sockaddr *)&any, len, tr_dp_tuning_workers(&client->cfg.tuning),
		        client->cfg.tuning.udp_gro, &client->n_udp, NULL);
		memset(&any, 0, sizeof(any));
		any.ss_family = client->server_addr.ss_family;
	}
	if (client->udp_fds == NULL)
		client->udp_fds = tr_dp_open_sockets(
		        (struct sockaddr *)&any, len, tr_dp_tuning_workers(&client->cfg.tuning),
		        client->cfg.tuning.udp_gro, &client->n_udp, error);
	if (client->udp_fds == NULL)
		return FALSE;
	client->udp_fd = client->udp_fds[0];
	client->udp_port = local_port(client->udp_fd);
	/* Made with the first session: after the daemon dropped its privileges
	 * (its thread holds no more than the main thread). */
	if (client->cfg.portmap.enabled && client->portmap == NULL)
		client->portmap = tr_portmap_new(&client->cfg.portmap, "Trellis client", FALSE);
	if (client->portmap)
		tr_portmap_set_port(client->portmap, client->udp_port);
	return TRUE;
}

/* The workers, once the device is there: one per device queue. */
static gboolean
start_dataplane(TrClient *client, GError **error)
{
	TrDpConfig dpc;

	g_clear_pointer(&client->dp, tr_dataplane_free);
	tr_dp_config_setup(&dpc, &client->cfg.tuning, client->dev, client->udp_fds, client->n_udp);
	dpc.magic = client->cfg.magic;
	dpc.frame = (TrFrameType)client->cfg.dev_type;
	dpc.mtu = client->settings.mtu;
	client->dp = tr_dataplane_new(&dpc, error);
	return client->dp != NULL;
}

static void
on_connected(TrDialer *dialer, int fd, const struct sockaddr *remote, socklen_t remote_len,
             const GError *error, gpointer p)
{
	TrClient *client = p;
	g_autoptr(GError) err = NULL;

	if (fd < 0) {
		g_message("cannot reach %s: %s", client->server_desc, error->message);
		session_lost(client, error, FALSE);
		return;
	}
	memcpy(&client->server_addr, remote, remote_len);
	client->server_addr_len = remote_len;
	if (!open_udp(client, &err)) {
		tr_sock_close(fd);
		session_lost(client, err, FALSE);
		return;
	}
	client->link = tr_link_new(fd, client->creds, client->cfg.server_name, client->server_desc,
	                           FALSE, &link_callbacks, client, &err);
	if (client->link == NULL) {
		session_lost(client, err, FALSE);
		return;
	}
	client->state = STATE_TLS;
	tr_link_start(client->link, client->cfg.handshake_timeout_ms);
}

static void
connect_next(TrClient *client)
{
	const char *target = client->cfg.connect[client->next_server];

	client->next_server = (client->next_server + 1) % g_strv_length(client->cfg.connect);
	client->server_desc = g_strdup(target);
	client->state = STATE_CONNECTING;
	tr_dialer_free(client->dialer);
	client->dialer = tr_dialer_new(target, TR_DEFAULT_PORT, client->cfg.handshake_timeout_ms,
	                               on_connected, client);
	g_debug("connecting to %s", target);
	tr_dialer_start(client->dialer);
}

TrClient *
tr_client_new(const TrClientConfig *config, const TrClientCallbacks *callbacks, gpointer user_data,
              GError **error)
{
	g_autoptr(TrClient) client = g_new0(TrClient, 1);

	client->udp_fd = -1;
	client->cfg = *config;
	client->cfg.connect = g_strdupv(config->connect);
	client->cfg.server_name = g_strdup(config->server_name);
	client->cfg.node_key_file = g_strdup(config->node_key_file);
	client->cfg.tls.ca_file = g_strdup(config->tls.ca_file);
	client->cfg.tls.crl_file = g_strdup(config->tls.crl_file);
	client->cfg.tls.cert_file = g_strdup(config->tls.cert_file);
	client->cfg.tls.key_file = g_strdup(config->tls.key_file);
	client->cfg.tls.shared_key = g_strdup(config->tls.shared_key);
	client->cfg.tls.psk_identity = g_strdup(config->tls.psk_identity);
	client->cfg.tls.is_server = FALSE;
	client->cfg.username = g_strdup(config->username);
	client->cfg.password = g_strdup(config->password);
	client->cfg.device = g_strdup(config->device);
	client->cfg.device_path = g_strdup(config->device_path);
	client->cfg.ifup = g_strdup(config->ifup);
	client->cfg.ifdown = g_strdup(config->ifdown);
	if (callbacks)
		client->cb = *callbacks;
	client->user_data = user_data;

	if (client->cfg.connect == NULL || client->cfg.connect[0] == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "no server to connect to (--connect)");
		return NULL;
	}
	if (config->tls.cert_file && config->server_name == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "certificate authentication needs the server's name (--server-name)");
		return NULL;
	}
	client->creds = tr_tls_creds_new(&client->cfg.tls, error);
	if (client->creds == NULL)
		return NULL;
	if (client->cfg.node_key_file && client->cfg.tls.shared_key) {
		g_autoptr(GError) local = NULL;

		/* Without it the session still works; the name just stays unbound. */
		client->node_key = tr_node_key_load_or_create(client->cfg.node_key_file, &local);
		if (client->node_key == NULL)
			g_warning("no node key, so the hub cannot bind the name '%s' to this "
			          "machine: %s",
			          client->cfg.tls.psk_identity ? client->cfg.tls.psk_identity
			                                       : "trellis",
			          local->message);
	}
	return g_steal_pointer(&client);
}

void
tr_client_start(TrClient *client)
{
	connect_next(client);
}

void
tr_client_stop(TrClient *client)
{
	client->state = STATE_STOPPED;
	g_clear_handle_id(&client->retry_id, g_source_remove);
	if (client->dialer)
		tr_dialer_cancel(client->dialer);
	if (client->link)
		tr_link_close(client->link, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN,
		              "client shutting down");
	/* Stopped: the router need not forward anything to us (the next
	 * session's socket maps its port again). */
	if (client->portmap)
		tr_portmap_set_port(client->portmap, 0);
}

void
tr_client_free(TrClient *client)
{
	if (client == NULL)
		return;
	g_clear_handle_id(&client->retry_id, g_source_remove);
	/* Deletes the mapping on the router (a bounded wait). */
	g_clear_pointer(&client->portmap, tr_portmap_free);
	tr_dialer_free(client->dialer);
	teardown_session(client);
	close_device(client);
	settings_clear(&client->settings);
	if (client->creds)
		tr_tls_creds_unref(client->creds);
	tr_node_key_free(client->node_key);
	tr_client_config_clear(&client->cfg);
	g_free(client->last_error);
	g_free(client);
}

const char *
tr_client_ifname(TrClient *client)
{
	return client->dev ? tr_device_ifname(client->dev) : NULL;
}

gboolean
tr_client_is_connected(TrClient *client)
{
	return client->state == STATE_ACTIVE;
}

TrPath
tr_client_path(TrClient *client)
{
	return client->link ? tr_link_get_path(client->link) : TR_PATH_NONE;
}

TrRefusal
tr_client_refusal(TrClient *client)
{
	return client->refusal;
}

const struct sockaddr *
tr_client_server_address(TrClient *client, socklen_t *len)
{
	if (client->server_addr_len == 0)
		return NULL;
	if (len)
		*len = client->server_addr_len;
	return (const struct sockaddr *)&client->server_addr;
}

static const char *const state_names[] = {"idle",  "connecting", "tls",
                                          "hello", "connected",  "stopped"};

const char *
tr_client_state_name(TrClient *client)
{
	return client->waiting ? client->waiting : state_names[client->state];
}

void
tr_client_set_waiting(TrClient *client, const char *why)
{
	client->waiting = why;
}

void
tr_client_restart(TrClient *client)
{
	if (client->state != STATE_STOPPED)
		return;
	client->state = STATE_IDLE;
	client->attempt = 0;
	client->refusal = TR_REFUSE_NONE;
	g_message("connecting again on request");
	connect_next(client);
}

void
tr_client_set_password(TrClient *client, const char *password)
{
	wipe_free(client->cfg.password);
	client->cfg.password = g_strdup(password);
}

gboolean
tr_client_reload(TrClient *client, GError **error)
{
	TrTlsCreds *creds = tr_tls_creds_new(&client->cfg.tls, error);

	if (creds == NULL)
		return FALSE;
	tr_tls_creds_unref(client->creds);
	client->creds = creds;
	return TRUE;
}

char *
tr_client_stats_json(TrClient *client)
{
	const char *const *states = state_names;
	GString *out = g_string_new("{");
	gboolean first = TRUE;
	char a[TR_PREFIX_STRLEN];

	tr_json_key_string(out, &first, "role", "client");
	tr_json_key_string(out, &first, "state",
	                   client->waiting ? client->waiting : states[client->state]);
	/* Between attempts (state idle with a retry pending) and why. */
	tr_json_key_bool(out, &first, "retrying", client->retry_id != 0);
	if (client->last_error && client->state != STATE_ACTIVE)
		tr_json_key_string(out, &first, "last_error", client->last_error);
	tr_json_key_string(out, &first, "server", client->server_desc);
	if (client->cfg.username)
		tr_json_key_string(out, &first, "username", client->cfg.username);
	tr_json_key_string(out, &first, "device",
	                   client->dev ? tr_device_ifname(client->dev) : NULL);
	if (client->dp) {
		TrDpStats st;
		tr_dataplane_stats(client->dp, &st);
		tr_json_key_uint(out, &first, "drops", st.rx_drops + st.tx_drops + st.dev_drops);
		tr_dataplane_stats_json(client->dp, out, &first);
	} else {
		tr_json_key_uint(out, &first, "drops", 0);
	}
	if (client->have_settings) {
		tr_json_key_string(out, &first, "identity", client->settings.identity);
		tr_json_key(out, &first, "addresses");
		g_string_append_c(out, '[');
		for (guint i = 0; i < client->settings.n_addresses; i++) {
			if (i)
				g_string_append_c(out, ',');
			tr_json_string(out, tr_prefix_to_string(&client->settings.addresses[i], a,
			                                        sizeof(a)));
		}
		g_string_append_c(out, ']');
		tr_json_key_uint(out, &first, "mtu", client->settings.mtu);
	}
	if (client->link && client->state == STATE_ACTIVE)
		tr_link_stats_json(client->link, out, &first);
	tr_portmap_stats_json(client->portmap, client->cfg.portmap.enabled, out, &first);
	g_string_append_c(out, '}');
	return g_string_free(out, FALSE);
}
