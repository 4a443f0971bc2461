/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client's connection: dial the hub (each --connect in turn), TLS,
 * HELLO, the hub's CONFIG (settings.c, device.c), then the session until
 * it ends; then again after a backoff, unless the hub refused us for a
 * reason retrying cannot fix or we were stopped. And what it tells about
 * itself (the state, the status).
 */
#include "client/client-private.h"

#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "common/base/secret.h"
#include "platform/net.h"
#include "tr-config.h"

#include <gnutls/crypto.h>
#include <string.h>

static void connect_next(TrClient *client);

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
	client_mesh_stop(client);
	/* The link takes its session out of the data plane, which then stops. */
	g_clear_pointer(&client->link, tr_link_free);
	g_clear_pointer(&client->dp, tr_dataplane_free);
	client_close_udp(client);
	g_clear_pointer(&client->server_desc, g_free);
}

static void
schedule_retry(TrClient *client, gboolean was_active)
{
	guint delay_ms;

	if (client->state == STATE_STOPPED)
		return;
	client->state = STATE_IDLE;
	/* The next hub at once while this round has untried ones (hubs.c). */
	delay_ms = client_hubs_next(client, was_active);
	if (delay_ms)
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

	/* The hub's ticket, if it sent one (certificates), resumes the next
	 * session with it: no signatures, the same checks (common/auth/tls.h). */
	if (link && !fatal) {
		GBytes *ticket = tr_tls_take_ticket(tr_link_get_tls(link));

		if (ticket != NULL) {
			g_clear_pointer(&client->tickets[client->hub], g_bytes_unref);
			client->tickets[client->hub] = ticket;
		}
	}
	/* The data plane goes now, the link a little later: part them first. */
	if (link)
		tr_link_leave_dataplane(link);
	teardown_session(client);
	/* We may be inside the link's own callback: free it afterwards. */
	if (link)
		g_idle_add(free_link_idle, link);
	client_hubs_inactive(client);
	/* With several hubs, one that refuses us is skipped (hubs.c). */
	if (fatal && !client_hubs_refused(client, error))
		fatal = FALSE;
	if (fatal) {
		client->state = STATE_STOPPED;
		if (client->cb.refused)
			client->cb.refused(client, error, client->user_data);
		return;
	}
	if (was_active && client->cb.disconnected)
		client->cb.disconnected(client, error, client->user_data);
	schedule_retry(client, was_active);
}

void
client_switch_hub(TrClient *client, const char *target)
{
	g_autoptr(GError) error = g_error_new(TR_ERROR, TR_ERROR_IO, "moving to hub %s", target);

	if (client->link)
		tr_link_close(client->link, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN,
		              "client moving to another hub");
	session_lost(client, error, FALSE);
}

/* ---- Session ----------------------------------------------------------------- */

/* The hub's CONFIG: the settings applied, the data channel started. */
static gboolean
handle_config(TrClient *client, TrMsg *msg, GError **error)
{
	TrClientSettings s = {0};
	TrDcConfig dcc;
	TrLinkTiming timing;
	struct sockaddr_storage ep;

	if (!client_settings_read(&client->cfg, msg, &s, error))
		return FALSE;
	if ((client->cfg.configure_device || client->dev == NULL) &&
	    !client_apply_settings(client, &s, error)) {
		client_settings_clear(&s);
		return FALSE;
	}
	client_settings_clear(&client->settings);
	client->settings = s;
	client->have_settings = TRUE;
	client->hub_pairs = tr_msg_has(msg, TR_ATTR_FEATURES) && (msg->features & TR_FEATURE_PAIRS);

	tr_dc_config_init(&dcc);
	dcc.magic = client->cfg.magic;
	dcc.cipher = client->settings.cipher;
	dcc.allow_plaintext = client->cfg.allow_plaintext;
	dcc.compress = client->settings.compression;
	dcc.local_index = client->rx_index;
	dcc.peer_index = msg->rx_index;
	dcc.csum_partial =
	        tr_msg_has(msg, TR_ATTR_FEATURES) && (msg->features & TR_FEATURE_CSUM_PARTIAL);
	timing.keepalive_sec = client->settings.keepalive;
	timing.peer_timeout_sec = client->settings.peer_timeout;
	timing.udp_enabled = client->cfg.udp && (msg->features & TR_FEATURE_UDP);
	memcpy(&ep, &client->server_addr, client->server_addr_len);
	if (tr_msg_has(msg, TR_ATTR_UDP_PORT))
		tr_sockaddr_set_port((struct sockaddr *)&ep, msg->udp_port);
	if (!client_start_dataplane(client, error))
		return FALSE;
	tr_link_use_dataplane(client->link, client->dp, 1);
	return tr_link_activate(client->link, &dcc, &timing, (struct sockaddr *)&ep,
	                        client->server_addr_len, error);
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
		client_mesh_start(client);
		client_hubs_active(client);
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
		if (client->state == STATE_ACTIVE && client_mesh_message(client, msg))
			return;
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
	tr_msg_set_u16(&hello, TR_ATTR_PROTO_VERSION, TR_PROTO_VERSION);
	tr_msg_set_string(&hello, TR_ATTR_SOFTWARE, "trellis-client " TR_VERSION);
	for (guint i = 0; i < client->cfg.n_ciphers; i++)
		tr_msg_add_u8(&hello, TR_ATTR_CIPHERS, (uint8_t)client->cfg.ciphers[i]);
	tr_msg_add_u8(&hello, TR_ATTR_COMPRESSIONS, TR_COMPRESS_NONE);
	if (client->cfg.compression != TR_COMPRESS_NONE)
		tr_msg_add_u8(&hello, TR_ATTR_COMPRESSIONS, (uint8_t)client->cfg.compression);
	tr_msg_set_u8(&hello, TR_ATTR_DEVICE_TYPE, (uint8_t)client->cfg.dev_type);
	tr_msg_set_u16(&hello, TR_ATTR_MTU, (uint16_t)client->cfg.mtu);
	tr_msg_set_u32(&hello, TR_ATTR_FEATURES,
	               (client->cfg.udp ? TR_FEATURE_UDP : 0) | TR_FEATURE_TCP_FALLBACK |
	                       (client->cfg.allow_plaintext ? TR_FEATURE_PLAINTEXT : 0) |
	                       TR_FEATURE_PAIRS | (client->cfg.direct ? 0 : TR_FEATURE_NO_DIRECT) |
	                       TR_FEATURE_CSUM_PARTIAL);
	do {
		gnutls_rnd(GNUTLS_RND_NONCE, &client->rx_index, sizeof(client->rx_index));
	} while (client->rx_index == 0);
	tr_msg_set_u32(&hello, TR_ATTR_RX_INDEX, client->rx_index);
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
	if (!client_open_udp(client, &err)) {
		tr_sock_close(fd);
		session_lost(client, err, FALSE);
		return;
	}
	client->link = tr_link_new(fd, client->creds, client_hubs_server_name(client),
	                           client->server_desc, FALSE, &link_callbacks, client, &err);
	if (client->link == NULL) {
		session_lost(client, err, FALSE);
		return;
	}
	/* A ticket is used once (RFC 8446 C.4); the new session brings another. */
	tr_tls_offer_ticket(tr_link_get_tls(client->link), client->tickets[client->hub]);
	g_clear_pointer(&client->tickets[client->hub], g_bytes_unref);
	client->state = STATE_TLS;
	tr_link_start(client->link, client->cfg.handshake_timeout_ms);
}

static void
connect_next(TrClient *client)
{
	const char *target = client->cfg.connect[client->hub];

	g_free(client->server_desc);
	client->server_desc = g_strdup(target);
	client->refusal = TR_REFUSE_NONE; /* this hub's answer, if it refuses */
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
	client->cfg.server_names = g_strdupv(config->server_names);
	client->cfg.node_key_file = g_strdup(config->node_key_file);
	tr_tls_config_copy(&client->cfg.tls, &config->tls);
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
	if (!tr_client_config_check_names(&client->cfg, error))
		return NULL;
	client->hub_refused = g_new0(gboolean, client_hubs_count(client));
	client->tickets = g_new0(GBytes *, client_hubs_count(client));
	client->switch_to = -1;
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
	client_hubs_inactive(client);
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
	client_hubs_inactive(client);
	teardown_session(client);
	client_mesh_free(client);
	client_close_device(client);
	client_settings_clear(&client->settings);
	if (client->creds)
		tr_tls_creds_unref(client->creds);
	tr_node_key_free(client->node_key);
	for (guint i = 0; client->tickets && i < client_hubs_count(client); i++)
		g_clear_pointer(&client->tickets[i], g_bytes_unref);
	g_free(client->tickets);
	tr_client_config_clear(&client->cfg);
	g_free(client->hub_refused);
	g_free(client->last_error);
	g_free(client);
}

const char *
tr_client_ifname(TrClient *client)
{
	return client->dev ? tr_device_ifname(client->dev) : NULL;
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
	client_hubs_reset(client);
	client->refusal = TR_REFUSE_NONE;
	g_message("connecting again on request");
	connect_next(client);
}

void
tr_client_set_password(TrClient *client, const char *password)
{
	tr_secret_free(client->cfg.password);
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
	/* Pairs take the new files too. */
	for (guint i = 0; i < G_N_ELEMENTS(client->pair_creds); i++)
		g_clear_pointer(&client->pair_creds[i], tr_tls_creds_unref);
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
	client_hubs_stats_json(client, out, &first);
	tr_portmap_stats_json(client->portmap, client->cfg.portmap.enabled, out, &first);
	if (client->pairs)
		client_mesh_stats_json(client, out, &first);
	g_string_append_c(out, '}');
	return g_string_free(out, FALSE);
}
