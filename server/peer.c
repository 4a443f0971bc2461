/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The symmetric model (vpncloud's and tinc's): nodes configured alike that
 * --connect each other, each with its own tunnel addresses, nothing pushed.
 * Both sides state their name, addresses and capabilities; the cipher is
 * the accepting node's first choice among what the connecting node offers
 * (with the same configuration on both, the same cipher either way).
 *
 * Two nodes that --connect each other end up with two sessions; both keep
 * the one that the node with the smaller name opened, so they agree without
 * talking about it. A connector whose peer already has a session waits and
 * looks again later instead of dialling.
 */
#include "server/hub-private.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/auth/identity.h"
#include "tr-config.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DORMANT_CHECK_MS 5000

static void connector_dial(Connector *k);

static gboolean
on_retry(gpointer p)
{
	Connector *k = p;

	k->retry_id = 0;
	/* The peer is already there through its own connection to us. */
	if (k->last_identity && g_hash_table_contains(k->hub->by_identity, k->last_identity)) {
		k->retry_id = g_timeout_add(DORMANT_CHECK_MS, on_retry, k);
		return G_SOURCE_REMOVE;
	}
	connector_dial(k);
	return G_SOURCE_REMOVE;
}

static void
connector_retry(Connector *k)
{
	guint ms = tr_backoff_next(k->attempt++, 30);

	g_clear_handle_id(&k->retry_id, g_source_remove);
	k->retry_id = g_timeout_add(ms, on_retry, k);
}

static void
on_dialled(TrDialer *dialer, int fd, const struct sockaddr *remote, socklen_t remote_len,
           const GError *error, gpointer p)
{
	Connector *k = p;
	g_autoptr(GError) err = NULL;
	char desc[80];
	Client *c;

	if (fd < 0) {
		g_message("cannot reach node %s: %s", tr_dialer_target(dialer), error->message);
		connector_retry(k);
		return;
	}
	tr_sockaddr_to_string(remote, desc, sizeof(desc));
	c = hub_session_new(k->hub, fd, desc, k->hub->client_creds, FALSE, &err);
	if (c == NULL) {
		g_warning("node %s: %s", tr_dialer_target(dialer), err->message);
		connector_retry(k);
		return;
	}
	c->is_peer = TRUE;
	c->outgoing = TRUE;
	c->connector = k;
	k->session = c;
	tr_link_start(c->link, k->hub->cfg.handshake_timeout_ms);
}

static void
connector_dial(Connector *k)
{
	g_debug("connecting to node %s", tr_dialer_target(k->dialer));
	tr_dialer_start(k->dialer);
}

void
hub_peers_start(TrHub *hub)
{
	for (guint i = 0; hub->cfg.connect && hub->cfg.connect[i]; i++) {
		Connector *k = g_new0(Connector, 1);

		k->hub = hub;
		k->dialer = tr_dialer_new(hub->cfg.connect[i], TR_DEFAULT_PORT,
		                          hub->cfg.handshake_timeout_ms, on_dialled, k);
		g_ptr_array_add(hub->connectors, k);
		connector_dial(k);
	}
}

void
hub_peers_free(TrHub *hub)
{
	for (guint i = 0; i < hub->connectors->len; i++) {
		Connector *k = g_ptr_array_index(hub->connectors, i);

		g_clear_handle_id(&k->retry_id, g_source_remove);
		if (k->session)
			k->session->connector = NULL;
		tr_dialer_free(k->dialer);
		g_free(k->last_identity);
		g_free(k->refusal);
		g_free(k);
	}
	g_clear_pointer(&hub->connectors, g_ptr_array_unref);
}

void
hub_peer_refused(Client *c, const GError *error)
{
	Connector *k = c->connector;

	if (k == NULL)
		return;
	if (tr_error_is_retryable(error)) {
		g_message("node %s (%s) ended the session: %s", tr_dialer_target(k->dialer),
		          c->peer, error->message);
		return;
	}
	/* Dialling again would get the same answer: say why, once, and stop. */
	g_free(k->refusal);
	k->refusal = g_strdup(error->message);
	g_warning("node %s refused us: %s; not connecting to it again (fix the configuration "
	          "and restart this node)",
	          tr_dialer_target(k->dialer), error->message);
}

void
hub_peer_closed(Client *c)
{
	Connector *k = c->connector;

	if (k == NULL)
		return;
	c->connector = NULL;
	k->session = NULL;
	if (c->identity) {
		g_free(k->last_identity);
		k->last_identity = g_strdup(c->identity);
	}
	if (k->refusal == NULL)
		connector_retry(k);
}

/* Our side of the exchange: name, addresses, capabilities. */
static void
describe_self(TrHub *hub, TrMsg *m)
{
	m->proto_version = TR_PROTO_VERSION;
	tr_msg_set(m, TR_ATTR_PROTO_VERSION);
	tr_msg_set_string(m, TR_ATTR_SOFTWARE, "trellis-server " TR_VERSION);
	tr_msg_set_string(m, TR_ATTR_NODE_NAME, hub->cfg.node_name);
	m->features = TR_FEATURE_PEER | (hub->cfg.udp ? TR_FEATURE_UDP : 0) |
	              TR_FEATURE_TCP_FALLBACK |
	              (hub->cfg.allow_plaintext ? TR_FEATURE_PLAINTEXT : 0);
	tr_msg_set(m, TR_ATTR_FEATURES);
	for (guint i = 0; i < hub->cfg.n_addresses; i++)
		tr_msg_add_prefix(m, TR_ATTR_ADDRESS, &hub->cfg.addresses[i]);
	if (hub->pool) {
		TrPrefix a;
		if (tr_pool_hub_address(hub->pool, TR_ADDR_IPV4, &a))
			tr_msg_add_prefix(m, TR_ATTR_ADDRESS, &a);
		if (tr_pool_hub_address(hub->pool, TR_ADDR_IPV6, &a))
			tr_msg_add_prefix(m, TR_ATTR_ADDRESS, &a);
	}
	for (guint i = 0; i < hub->cfg.n_subnets; i++)
		tr_msg_add_prefix(m, TR_ATTR_SUBNET, &hub->cfg.subnets[i]);
	m->mtu = (uint16_t)hub->cfg.mtu;
	tr_msg_set(m, TR_ATTR_MTU);
	m->device_type = (uint8_t)hub->cfg.dev_type;
	tr_msg_set(m, TR_ATTR_DEVICE_TYPE);
	m->udp_port = hub->port;
	tr_msg_set(m, TR_ATTR_UDP_PORT);
}

void
hub_peer_established(Client *c)
{
	TrHub *hub = c->hub;
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) hello = {0};

	tr_msg_init(&hello, TR_MSG_HELLO);
	describe_self(hub, &hello);
	for (guint i = 0; i < hub->cfg.n_ciphers; i++)
		hello.ciphers[hello.n_ciphers++] = (uint8_t)hub->cfg.ciphers[i];
	tr_msg_set(&hello, TR_ATTR_CIPHERS);
	hello.compressions[hello.n_compressions++] = TR_COMPRESS_NONE;
	if (hub->cfg.compression != TR_COMPRESS_NONE)
		hello.compressions[hello.n_compressions++] = (uint8_t)hub->cfg.compression;
	tr_msg_set(&hello, TR_ATTR_COMPRESSIONS);
	c->rx_index = hub_new_index(hub);
	hello.rx_index = c->rx_index;
	tr_msg_set(&hello, TR_ATTR_RX_INDEX);
	hub_add_node_key(c, &hello);
	if (!tr_link_send_msg(c->link, &hello, &error))
		hub_refuse(c, TR_REFUSE_INTERNAL, error->message, "internal error");
}

/* The peer's addresses: host routes to this session. */
static gboolean
take_addresses(Client *c, const TrMsg *m, char **why)
{
	c->n_addrs = 0;
	for (guint i = 0; i < m->n_addresses && c->n_addrs < HUB_MAX_ADDRS; i++) {
		TrPrefix a = m->addresses[i];

		if (a.family != TR_ADDR_IPV4 && a.family != TR_ADDR_IPV6)
			continue;
		a.len = (uint8_t)(tr_addr_family_bytes((TrAddrFamily)a.family) * 8);
		c->addrs[c->n_addrs++] = a;
	}
	if (c->n_addrs == 0) {
		*why = g_strdup("the node states no tunnel address (--address)");
		return FALSE;
	}
	if (tr_msg_has(m, TR_ATTR_DEVICE_TYPE) && m->device_type != c->hub->cfg.dev_type) {
		*why = g_strdup("the nodes' device types differ (--type tun / tap)");
		return FALSE;
	}
	/* A node's addresses and subnets take nothing someone else has. */
	for (guint i = 0; i < c->n_addrs; i++)
		if (hub_claim_conflict(c->hub, c, &c->addrs[i], why))
			return FALSE;
	c->n_subnets = 0;
	for (guint i = 0; i < m->n_subnets && c->n_subnets < HUB_MAX_SUBNETS; i++) {
		c->subnets[c->n_subnets] = m->subnets[i];
		tr_prefix_mask(&c->subnets[c->n_subnets]);
		if (hub_claim_conflict(c->hub, c, &c->subnets[c->n_subnets], why))
			return FALSE;
		c->n_subnets++;
	}
	return TRUE;
}

/*
 * Both sides keep the session opened by the node with the smaller name.
 * Returns FALSE when @c is the one to drop (it has been closed).
 */
static gboolean
settle_duplicate(Client *c)
{
	TrHub *hub = c->hub;
	Client *old = g_hash_table_lookup(hub->by_identity, c->identity);
	gboolean we_are_smaller = strcmp(hub->cfg.node_name, c->node_name) < 0;
	gboolean keep_new;

	if (old == NULL || old == c)
		return TRUE;
	keep_new = !old->is_peer || c->outgoing == we_are_smaller;
	g_message("node %s: two sessions; keeping the one %s opened", c->node_name,
	          we_are_smaller ? hub->cfg.node_name : c->node_name);
	if (keep_new) {
		hub_unregister(old);
		tr_link_close(old->link, TR_MSG_CLOSE, TR_REFUSE_REPLACED,
		              tr_refusal_to_string(TR_REFUSE_REPLACED));
		return TRUE;
	}
	tr_link_close(c->link, TR_MSG_CLOSE, TR_REFUSE_REPLACED,
	              tr_refusal_to_string(TR_REFUSE_REPLACED));
	return FALSE;
}

static gboolean
activate(Client *c, const TrMsg *m, TrCipher cipher, TrCompress comp, uint32_t peer_index,
         const struct sockaddr *endpoint, socklen_t endpoint_len)
{
	TrHub *hub = c->hub;
	g_autoptr(GError) error = NULL;
	TrLinkTiming timing = hub_timing(hub);
	TrDcConfig dcc;
	char a[TR_PREFIX_STRLEN];

	hub_fill_dc_config(hub, &dcc, cipher, comp, c->rx_index, peer_index);
	tr_link_use_dataplane(c->link, hub->dp, 0);
	if (!tr_link_activate(c->link, &dcc, &timing, endpoint, endpoint_len, &error)) {
		hub_refuse(c, TR_REFUSE_INTERNAL, error->message, "internal error");
		return FALSE;
	}
	if (!settle_duplicate(c))
		return FALSE;
	g_hash_table_insert(hub->by_identity, c->identity, c);
	hub_register(c);
	if (c->connector)
		c->connector->attempt = 0;
	hub_pending_leave(c);
	c->state = CLIENT_ACTIVE;
	g_message("node %s connected %s %s: address %s, cipher %s, compression %s", c->node_name,
	          c->outgoing ? "to" : "from", c->peer,
	          tr_prefix_to_string(&c->addrs[0], a, sizeof(a)), tr_cipher_name(cipher),
	          tr_compress_name(comp));
	(void)m;
	return TRUE;
}

static gboolean
check_name(Client *c, const TrMsg *m)
{
	g_autoptr(GError) error = NULL;

	if (!tr_msg_has(m, TR_ATTR_NODE_NAME)) {
		hub_refuse(c, TR_REFUSE_PROTOCOL, "node without a name",
		           "a node must state its name");
		return FALSE;
	}
	if (!tr_identity_validate_name("node name", m->node_name, &error)) {
		hub_refuse(c, TR_REFUSE_SETTINGS, error->message, error->message);
		return FALSE;
	}
	if (strcmp(m->node_name, c->hub->cfg.node_name) == 0) {
		hub_refuse(c, TR_REFUSE_SETTINGS, "the node has our own name",
		           "both nodes have the same name (--name)");
		return FALSE;
	}
	c->node_name = g_strdup(m->node_name);
	g_free(c->identity);
	c->identity = g_strdup_printf("node:%s", m->node_name);
	return TRUE;
}

void
hub_peer_hello(Client *c, TrMsg *hello)
{
	TrHub *hub = c->hub;
	g_autoptr(GError) error = NULL;
	g_autofree char *why = NULL;
	g_auto(TrMsg) answer = {0};
	TrCipher cipher;
	TrCompress comp;

	c->is_peer = TRUE;
	if (hub->cfg.node_name == NULL) {
		hub_refuse(c, TR_REFUSE_ROLE, "a node connected, but this node has no --name",
		           "this node takes clients only");
		return;
	}
	if (!check_name(c, hello) || !hub_check_node_key(c, c->identity, hello))
		return;
	if (!hub_pick_cipher(hub, hello, &cipher, &why)) {
		hub_refuse(c, TR_REFUSE_CIPHER, why, why);
		return;
	}
	comp = hub_pick_compression(hub, hello);
	if (!take_addresses(c, hello, &why)) {
		hub_refuse(c, TR_REFUSE_SETTINGS, why, why);
		return;
	}
	c->rx_index = hub_new_index(hub);

	tr_msg_init(&answer, TR_MSG_CONFIG);
	describe_self(hub, &answer);
	answer.rx_index = c->rx_index;
	tr_msg_set(&answer, TR_ATTR_RX_INDEX);
	answer.cipher = (uint8_t)cipher;
	tr_msg_set(&answer, TR_ATTR_CIPHER);
	answer.compression = (uint8_t)comp;
	tr_msg_set(&answer, TR_ATTR_COMPRESSION);
	answer.keepalive = (uint16_t)hub->cfg.keepalive;
	tr_msg_set(&answer, TR_ATTR_KEEPALIVE);
	answer.peer_timeout = hub->cfg.peer_timeout;
	tr_msg_set(&answer, TR_ATTR_PEER_TIMEOUT);
	memcpy(answer.magic, hub->cfg.magic.bytes, 4);
	tr_msg_set(&answer, TR_ATTR_MAGIC);
	hub_add_node_key(c, &answer);
	if (!tr_link_send_msg(c->link, &answer, &error)) {
		hub_refuse(c, TR_REFUSE_INTERNAL, error->message, "internal error");
		return;
	}
	/* The endpoint is learnt from the node's first authenticated datagram. */
	activate(c, hello, cipher, comp, hello->rx_index, NULL, 0);
}

static gboolean
udp_is_v6(TrHub *hub)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	return getsockname(hub->udp_fd, (struct sockaddr *)&ss, &sl) == 0 &&
	       ss.ss_family == AF_INET6;
}

void
hub_peer_config(Client *c, TrMsg *config)
{
	TrHub *hub = c->hub;
	g_autoptr(GError) error = NULL;
	g_autofree char *why = NULL;
	socklen_t len;
	struct sockaddr_storage ep, mapped;
	const struct sockaddr *remote;
	gboolean offered = FALSE;

	if (!tr_msg_require(config, &error, TR_ATTR_PROTO_VERSION, TR_ATTR_RX_INDEX, TR_ATTR_CIPHER,
	                    0) ||
	    !(config->features & TR_FEATURE_PEER)) {
		hub_refuse(c, TR_REFUSE_PROTOCOL, error ? error->message : "not a node of our kind",
		           "expected a node's answer");
		return;
	}
	if (!check_name(c, config) || !hub_check_node_key(c, c->identity, config))
		return;
	for (guint i = 0; i < hub->cfg.n_ciphers; i++)
		offered |= hub->cfg.ciphers[i] == config->cipher;
	if (!offered || (config->compression != TR_COMPRESS_NONE &&
	                 config->compression != hub->cfg.compression)) {
		hub_refuse(c, TR_REFUSE_SETTINGS,
		           "the node chose a cipher or compression we did not offer",
		           "cipher or compression not offered");
		return;
	}
	if (!take_addresses(c, config, &why)) {
		hub_refuse(c, TR_REFUSE_SETTINGS, why, why);
		return;
	}
	/* Its UDP endpoint: the address we reached, at the port it states. */
	remote = NULL;
	len = 0;
	{
		int fd = tr_link_get_fd(c->link);
		len = sizeof(ep);
		if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ep, &len) == 0) {
			if (tr_msg_has(config, TR_ATTR_UDP_PORT)) {
				if (ep.ss_family == AF_INET)
					((struct sockaddr_in *)&ep)->sin_port =
					        htons(config->udp_port);
				else if (ep.ss_family == AF_INET6)
					((struct sockaddr_in6 *)&ep)->sin6_port =
					        htons(config->udp_port);
			}
			/* The hub's UDP socket is dual-stack: speak to it in IPv6 form. */
			if (udp_is_v6(hub))
				tr_sockaddr_map_v6((struct sockaddr *)&ep, len, &mapped, &len);
			else
				memcpy(&mapped, &ep, len);
			remote = (struct sockaddr *)&mapped;
		} else {
			len = 0;
		}
	}
	activate(c, config, (TrCipher)config->cipher, (TrCompress)config->compression,
	         config->rx_index, remote, len);
}
