/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Node sessions: the symmetric model (vpncloud's and tinc's). Nodes
 * configured alike --connect each other, each with its own tunnel
 * addresses, nothing pushed. Both sides state their name, addresses and
 * capabilities (the connecting node in HELLO, the accepting one in CONFIG);
 * the cipher is the accepting node's first choice among what the connecting
 * node offers (with the same configuration on both, the same cipher either
 * way).
 *
 * Two nodes that --connect each other end up with two sessions; both keep
 * the one that the node with the smaller name opened, so they agree without
 * talking about it.
 */
#include "server/node.h"

#include "common/auth/identity.h"
#include "common/base/addr.h"
#include "common/base/error.h"
#include "server/hub-private.h"
#include "tr-config.h"

#include <string.h>
#include "platform/net.h"

typedef struct {
	char *name;           /* its --name */
	gboolean outgoing;    /* we connected (--connect) */
	Connector *connector; /* the one that dialled it, while both live */
	TrHubLinkPairs pairs; /* whether it takes pairs across hubs (features) */
} NodeSession;

static NodeSession *
node_of(Session *s)
{
	return s->data;
}

static void
node_session_free(gpointer p)
{
	NodeSession *n = p;

	g_free(n->name);
	g_free(n);
}

static const char *
node_name(Session *s)
{
	return node_of(s)->name ? node_of(s)->name : "(not yet identified)";
}

static gboolean
node_refused(Session *s, const GError *error)
{
	NodeSession *n = node_of(s);

	if (!n->outgoing)
		return FALSE;
	if (n->connector)
		hub_connector_refused(n->connector, s, error);
	return TRUE;
}

static void
node_gone(Session *s)
{
	NodeSession *n = node_of(s);
	Connector *k = g_steal_pointer(&n->connector);

	hub_graph_link_down(s);
	if (k)
		hub_connector_ended(k, s->identity);
}

static void node_established(Session *s);
static gboolean udp_endpoint(Session *s, const TrMsg *config, struct sockaddr_storage *out,
                             socklen_t *len);
static void node_message(Session *s, TrMsg *msg);

static const SessionKind node_kind = {
        .noun = "node",
        .name = node_name,
        .established = node_established,
        .message = node_message,
        .refused = node_refused,
        .gone = node_gone,
        .free = node_session_free,
};

gboolean
hub_session_is_node(Session *s)
{
	return s->kind == &node_kind;
}

TrHubLinkPairs *
hub_node_link_pairs(Session *s)
{
	return &node_of(s)->pairs;
}

void
hub_node_forget_connector(Session *s)
{
	node_of(s)->connector = NULL;
}

void
hub_node_dialled(Session *s, Connector *k)
{
	NodeSession *n = g_new0(NodeSession, 1);

	n->outgoing = TRUE;
	n->connector = k;
	hub_session_set_kind(s, &node_kind, n);
}

/* Our side of the exchange: name, addresses, capabilities. */
static void
describe_self(TrHub *hub, TrMsg *m)
{
	tr_msg_set_u16(m, TR_ATTR_PROTO_VERSION, TR_PROTO_VERSION);
	tr_msg_set_string(m, TR_ATTR_SOFTWARE, "trellis-server " TR_VERSION);
	tr_msg_set_string(m, TR_ATTR_NODE_NAME, hub->cfg.node_name);
	tr_msg_set_u32(
	        m, TR_ATTR_FEATURES,
	        TR_FEATURE_NODE | (hub->cfg.udp ? TR_FEATURE_UDP : 0) | TR_FEATURE_TCP_FALLBACK |
	                (hub->cfg.allow_plaintext ? TR_FEATURE_PLAINTEXT : 0) |
	                tr_hub_link_pairs_feature(hub->pairs != NULL, hub->cfg.no_pairs_across));
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
	tr_msg_set_u16(m, TR_ATTR_MTU, (uint16_t)hub->cfg.mtu);
	tr_msg_set_u8(m, TR_ATTR_DEVICE_TYPE, (uint8_t)hub->cfg.dev_type);
	tr_msg_set_u16(m, TR_ATTR_UDP_PORT, hub->port);
	hub_graph_describe(hub, m);
}

/* Outgoing: TLS is up, our HELLO goes first. */
static void
node_established(Session *s)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) hello = {0};

	tr_msg_init(&hello, TR_MSG_HELLO);
	describe_self(hub, &hello);
	for (guint i = 0; i < hub->cfg.n_ciphers; i++)
		tr_msg_add_u8(&hello, TR_ATTR_CIPHERS, (uint8_t)hub->cfg.ciphers[i]);
	tr_msg_add_u8(&hello, TR_ATTR_COMPRESSIONS, TR_COMPRESS_NONE);
	if (hub->cfg.compression != TR_COMPRESS_NONE)
		tr_msg_add_u8(&hello, TR_ATTR_COMPRESSIONS, (uint8_t)hub->cfg.compression);
	s->rx_index = hub_new_index(hub);
	tr_msg_set_u32(&hello, TR_ATTR_RX_INDEX, s->rx_index);
	hub_session_add_node_key(s, &hello);
	if (!tr_link_send_msg(s->link, &hello, &error))
		hub_session_refuse(s, TR_REFUSE_INTERNAL, error->message, "internal error");
}

/* The node's addresses: host routes to this session. */
static gboolean
take_addresses(Session *s, const TrMsg *m, char **why)
{
	s->n_addrs = 0;
	for (guint i = 0; i < m->n_addresses && s->n_addrs < HUB_MAX_ADDRS; i++) {
		TrPrefix a = m->addresses[i];

		if (a.family != TR_ADDR_IPV4 && a.family != TR_ADDR_IPV6)
			continue;
		a.len = (uint8_t)(tr_addr_family_bytes((TrAddrFamily)a.family) * 8);
		s->addrs[s->n_addrs++] = a;
	}
	if (s->n_addrs == 0) {
		*why = g_strdup("the node states no tunnel address (--address)");
		return FALSE;
	}
	s->node_port = tr_msg_has(m, TR_ATTR_UDP_PORT) ? m->udp_port : 0;
	if (tr_msg_has(m, TR_ATTR_DEVICE_TYPE) && m->device_type != s->hub->cfg.dev_type) {
		*why = g_strdup("the nodes' device types differ (--type tun / tap)");
		return FALSE;
	}
	/* A node's addresses and subnets take nothing someone else has. */
	for (guint i = 0; i < s->n_addrs; i++)
		if (!hub_graph_in_pools(m, &s->addrs[i]) &&
		    hub_claim_conflict(s->hub, s, &s->addrs[i], why))
			return FALSE;
	s->n_subnets = 0;
	for (guint i = 0; i < m->n_subnets && s->n_subnets < HUB_MAX_SUBNETS; i++) {
		TrPrefix *claimed = hub_session_next_subnet(s);

		*claimed = m->subnets[i];
		tr_prefix_mask(claimed);
		if (hub_claim_conflict(s->hub, s, claimed, why))
			return FALSE;
		s->n_subnets++;
	}
	return TRUE;
}

/*
 * Both sides keep the session opened by the node with the smaller name.
 * Returns FALSE when @s is the one to drop (it has been closed).
 */
static gboolean
settle_duplicate(Session *s)
{
	TrHub *hub = s->hub;
	NodeSession *n = node_of(s);
	Session *old = g_hash_table_lookup(hub->by_identity, s->identity);
	gboolean we_are_smaller = strcmp(hub->cfg.node_name, n->name) < 0;

	if (old == NULL || old == s)
		return TRUE;
	g_message("node %s: two sessions; keeping the one %s opened", n->name,
	          we_are_smaller ? hub->cfg.node_name : n->name);
	if (!hub_session_is_node(old) || n->outgoing == we_are_smaller) {
		hub_session_replace(old);
		return TRUE;
	}
	tr_link_close(s->link, TR_MSG_CLOSE, TR_REFUSE_REPLACED,
	              tr_refusal_to_string(TR_REFUSE_REPLACED));
	return FALSE;
}

static void
activate(Session *s, TrCipher cipher, TrCompress comp, uint32_t peer_index,
         const struct sockaddr *endpoint, socklen_t endpoint_len)
{
	TrHub *hub = s->hub;
	NodeSession *n = node_of(s);
	char a[TR_PREFIX_STRLEN];

	if (!hub_session_activate(s, cipher, comp, peer_index, FALSE, endpoint, endpoint_len))
		return;
	/* Packets to it are for nodes behind it: the data plane notes for whom (pairs
	 * across hubs, mesh.c). */
	if (tr_link_get_dp_session(s->link))
		tr_dp_session_set_transit(tr_link_get_dp_session(s->link), TRUE);
	if (!settle_duplicate(s))
		return;
	g_hash_table_insert(hub->by_identity, s->identity, s);
	hub_register(s);
	if (n->connector)
		hub_connector_connected(n->connector);
	hub_pending_leave(s);
	s->state = SESSION_ACTIVE;
	hub_graph_link_up(s, n->name);
	g_message("node %s connected %s %s: address %s, cipher %s, compression %s", n->name,
	          n->outgoing ? "to" : "from", s->remote,
	          tr_prefix_to_string(&s->addrs[0], a, sizeof(a)), tr_cipher_name(cipher),
	          tr_compress_name(comp));
}

/*
 * With certificates, a node is a hub: its certificate must be a server
 * certificate of our CA (checked against the CRL with the chain; a client
 * certificate cannot pose as a hub) and carry the name it states. With a
 * shared key, the node key binds the name instead.
 */
static gboolean
certified_as(Session *s, const char *name)
{
	TrTls *tls = tr_link_get_tls(s->link);
	g_autoptr(GBytes) cert = tr_tls_peer_cert(tls);
	g_autofree char *why = NULL;

	if (cert == NULL)
		return TRUE;
	if (!tr_tls_peer_is_server(tls)) {
		why = g_strdup_printf("'%s' presented a client certificate; hubs join hubs with "
		                      "their server certificates of the network's CA (trellis pki "
		                      "issue NAME --server)",
		                      s->cert_identity);
		hub_session_refuse(s, TR_REFUSE_ROLE, why, why);
		return FALSE;
	}
	if (strcmp(name, s->cert_identity) != 0) {
		why = g_strdup_printf("the node states the name '%s' but its certificate is for "
		                      "'%s' (--name must be the certificate's name)",
		                      name, s->cert_identity);
		hub_session_refuse(s, TR_REFUSE_AUTH, why, why);
		return FALSE;
	}
	return TRUE;
}

/* Its name: stated, valid, not ours; it becomes the identity "node:NAME". */
static gboolean
take_name(Session *s, const TrMsg *m)
{
	NodeSession *n = node_of(s);
	g_autoptr(GError) error = NULL;

	if (!tr_msg_has(m, TR_ATTR_NODE_NAME)) {
		hub_session_refuse(s, TR_REFUSE_PROTOCOL, "node without a name",
		                   "a node must state its name");
		return FALSE;
	}
	if (!tr_identity_validate_name("node name", m->node_name, &error)) {
		hub_session_refuse(s, TR_REFUSE_SETTINGS, error->message, error->message);
		return FALSE;
	}
	if (strcmp(m->node_name, s->hub->cfg.node_name) == 0) {
		hub_session_refuse(s, TR_REFUSE_SETTINGS, "the node has our own name",
		                   "both nodes have the same name (--name)");
		return FALSE;
	}
	if (!certified_as(s, m->node_name))
		return FALSE;
	g_free(n->name);
	n->name = g_strdup(m->node_name);
	g_free(s->identity);
	s->identity = g_strdup_printf("node:%s", m->node_name);
	return hub_session_check_node_key(s, s->identity, m);
}

void
hub_node_hello(Session *s, TrMsg *hello)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	g_autofree char *why = NULL;
	g_auto(TrMsg) answer = {0};
	TrCipher cipher;
	TrCompress comp;
	struct sockaddr_storage ep;
	socklen_t ep_len = 0;

	hub_session_set_kind(s, &node_kind, g_new0(NodeSession, 1));
	if (hub->cfg.node_name == NULL) {
		hub_session_refuse(s, TR_REFUSE_ROLE,
		                   "a node connected, but this node has no --name",
		                   "this node takes clients only");
		return;
	}
	if (!take_name(s, hello))
		return;
	tr_hub_link_pairs_init(&node_of(s)->pairs, hello->features);
	if (!hub_pick_cipher(hub, hello, &cipher, &why)) {
		hub_session_refuse(s, TR_REFUSE_CIPHER, why, why);
		return;
	}
	comp = hub_pick_compression(hub, hello);
	if (!hub_graph_check_pools(s, node_of(s)->name, hello, &why)) {
		hub_session_refuse(s, TR_REFUSE_POOL_COLLISION, why, why);
		return;
	}
	if (!take_addresses(s, hello, &why)) {
		hub_session_refuse(s, TR_REFUSE_SETTINGS, why, why);
		return;
	}
	hub_graph_take_pools(s, hello);
	s->rx_index = hub_new_index(hub);

	tr_msg_init(&answer, TR_MSG_CONFIG);
	describe_self(hub, &answer);
	tr_msg_set_u32(&answer, TR_ATTR_RX_INDEX, s->rx_index);
	tr_msg_set_u8(&answer, TR_ATTR_CIPHER, (uint8_t)cipher);
	tr_msg_set_u8(&answer, TR_ATTR_COMPRESSION, (uint8_t)comp);
	tr_msg_set_u16(&answer, TR_ATTR_KEEPALIVE, (uint16_t)hub->cfg.keepalive);
	tr_msg_set_u32(&answer, TR_ATTR_PEER_TIMEOUT, hub->cfg.peer_timeout);
	tr_msg_set_magic(&answer, hub->cfg.magic.bytes);
	hub_session_add_node_key(s, &answer);
	if (!tr_link_send_msg(s->link, &answer, &error)) {
		hub_session_refuse(s, TR_REFUSE_INTERNAL, error->message, "internal error");
		return;
	}
	/* Probe it where the node's edge says it is (its address as the
	 * connection shows it, the port it stated): behind a NAT that keeps ports
	 * that opens our router for its datagrams while it opens its own for
	 * ours. Wrong or not, the endpoint moves to where the node's first
	 * authenticated datagram comes from, and data takes UDP only once the
	 * node says it hears us. */
	if (!tr_msg_has(hello, TR_ATTR_UDP_PORT) || !udp_endpoint(s, hello, &ep, &ep_len))
		ep_len = 0;
	activate(s, cipher, comp, hello->rx_index, ep_len > 0 ? (struct sockaddr *)&ep : NULL,
	         ep_len);
}

/* Its UDP endpoint: the address we reached, at the port it states, in the
 * form of the hub's UDP socket (dual-stack: IPv6). FALSE: unknown. */
static gboolean
udp_endpoint(Session *s, const TrMsg *config, struct sockaddr_storage *out, socklen_t *len)
{
	struct sockaddr_storage ep, local;
	socklen_t ep_len = sizeof(ep), local_len = sizeof(local);
	int fd = tr_link_get_fd(s->link);

	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ep, &ep_len) != 0)
		return FALSE;
	if (tr_msg_has(config, TR_ATTR_UDP_PORT))
		tr_sockaddr_set_port((struct sockaddr *)&ep, config->udp_port);
	if (getsockname(s->hub->udp_fd, (struct sockaddr *)&local, &local_len) == 0 &&
	    local.ss_family == AF_INET6) {
		tr_sockaddr_map_v6((struct sockaddr *)&ep, ep_len, out, len);
	} else {
		memcpy(out, &ep, ep_len);
		*len = ep_len;
	}
	return TRUE;
}

/* Outgoing: the accepting node's answer. */
static void
node_config(Session *s, TrMsg *config)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	g_autofree char *why = NULL;
	struct sockaddr_storage ep;
	socklen_t ep_len = 0;
	gboolean offered = FALSE;

	if (!tr_msg_require(config, &error, TR_ATTR_PROTO_VERSION, TR_ATTR_RX_INDEX, TR_ATTR_CIPHER,
	                    0) ||
	    !(config->features & TR_FEATURE_NODE)) {
		hub_session_refuse(s, TR_REFUSE_PROTOCOL,
		                   error ? error->message : "not a node of our kind",
		                   "expected a node's answer");
		return;
	}
	if (!take_name(s, config))
		return;
	tr_hub_link_pairs_init(&node_of(s)->pairs, config->features);
	for (guint i = 0; i < hub->cfg.n_ciphers; i++)
		offered |= hub->cfg.ciphers[i] == config->cipher;
	if (!offered || (config->compression != TR_COMPRESS_NONE &&
	                 config->compression != hub->cfg.compression)) {
		hub_session_refuse(s, TR_REFUSE_SETTINGS,
		                   "the node chose a cipher or compression we did not offer",
		                   "cipher or compression not offered");
		return;
	}
	if (!hub_graph_check_pools(s, node_of(s)->name, config, &why)) {
		hub_session_refuse(s, TR_REFUSE_POOL_COLLISION, why, why);
		return;
	}
	if (!take_addresses(s, config, &why)) {
		hub_session_refuse(s, TR_REFUSE_SETTINGS, why, why);
		return;
	}
	hub_graph_take_pools(s, config);
	/* Its endpoint first: the order in which a call's arguments are
	 * evaluated is unspecified, and ep_len must be read after it is set. */
	if (!udp_endpoint(s, config, &ep, &ep_len))
		ep_len = 0;
	activate(s, (TrCipher)config->cipher, (TrCompress)config->compression, config->rx_index,
	         ep_len > 0 ? (struct sockaddr *)&ep : NULL, ep_len);
}

static void
node_message(Session *s, TrMsg *msg)
{
	if (msg->type == TR_MSG_CONFIG && node_of(s)->outgoing && s->state == SESSION_HELLO) {
		g_clear_handle_id(&s->hello_timer, g_source_remove);
		node_config(s, msg);
		return;
	}
	if (hub_graph_message(s, msg))
		return;
	/* Pairs with members behind this link (mesh.c); none for a hub that plays one
	 * built before pairs across hubs (a test switch, TrHubConfig). */
	if (s->state == SESSION_ACTIVE && !s->hub->cfg.no_pairs_across && hub_mesh_message(s, msg))
		return;
	hub_session_unexpected(s, msg);
}
