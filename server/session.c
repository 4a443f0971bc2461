/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One session on the hub: TLS and peer verification, the client's HELLO
 * (with an optional password check in a worker thread), the settings
 * decision and the CONFIG push. Sessions with other nodes branch off to
 * peer.c after TLS.
 */
#include "server/hub-private.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/auth/identity.h"
#include "common/auth/node-key.h"
#include "common/pki/pki.h"
#include "tr-config.h"

#include <gio/gio.h>
#include <gnutls/gnutls.h>
#include <string.h>

void
hub_session_free(gpointer p)
{
	Client *c = p;

	hub_unregister(c);
	if (c->cancel) {
		g_cancellable_cancel(c->cancel);
		g_object_unref(c->cancel);
	}
	g_clear_handle_id(&c->hello_timer, g_source_remove);
	tr_link_free(c->link);
	tr_msg_clear(&c->hello);
	g_free(c->peer);
	g_free(c->source);
	g_free(c->identity);
	g_free(c->cert_identity);
	g_free(c->node_name);
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
	hub_pending_leave(c);
	if (c->state == CLIENT_ACTIVE)
		hub_changed(c->hub);
	hub_unregister(c);
	if (c->is_peer || c->outgoing)
		hub_peer_closed(c);
	c->state = CLIENT_GONE;
	/* Not from inside the link's own callback: free on the next iteration. */
	g_idle_add(free_client_idle, c);
}

void
hub_refuse(Client *c, TrRefusal code, const char *log_reason, const char *client_reason)
{
	c->refused = TRUE;
	if (tr_log_limit(&c->hub->refusals, "refused or failed connections", 10, 60))
		g_message("refused %s%s%s: %s", c->peer, c->identity ? " as " : "",
		          c->identity ? c->identity : "", log_reason);
	g_clear_handle_id(&c->hello_timer, g_source_remove);
	tr_link_close(c->link, TR_MSG_ERROR, code, client_reason ? client_reason : log_reason);
}

/*
 * Identities are checked where they enter (docs/SECURITY.md): what the
 * leases file, the logs and the status show was valid when it came in.
 */
static gboolean
check_identity(Client *c, GError **error)
{
	g_autoptr(GBytes) cert = tr_tls_peer_cert(tr_link_get_tls(c->link));
	const char *id = c->cert_identity;

	if (cert != NULL)
		return tr_identity_validate_name("certificate name", id, error);
	if (hub_is_invite_identity(id))
		return TRUE; /* the id was looked up (a hex id), nothing else got in */
	if (g_str_has_prefix(id, "psk:"))
		return tr_identity_validate_name("shared-key name (--name)", id + 4, error);
	g_set_error(error, TR_ERROR, TR_ERROR_AUTH, "unexpected identity");
	return FALSE;
}

static gboolean
on_hello_timeout(gpointer p)
{
	Client *c = p;

	c->hello_timer = 0;
	hub_refuse(c, TR_REFUSE_PROTOCOL, "no HELLO in time", "no HELLO in time");
	return G_SOURCE_REMOVE;
}

static void
on_established(TrLink *link, gpointer p)
{
	Client *c = p;
	g_autoptr(GError) error = NULL;
	g_autofree char *desc = tr_tls_describe(tr_link_get_tls(link));

	if (hub_crl_error(c->hub) != NULL) {
		g_autofree char *why = g_strdup_printf(
		        "the hub's CRL cannot be loaded (%s): no new sessions until it loads",
		        hub_crl_error(c->hub));
		hub_refuse(c, TR_REFUSE_INTERNAL, why,
		           "the hub cannot check revocations right now; try again later");
		return;
	}
	if (!tr_tls_verify_peer(tr_link_get_tls(link), &c->cert_identity, &error)) {
		hub_refuse(c, TR_REFUSE_AUTH, error->message, error->message);
		return;
	}
	if (!check_identity(c, &error)) {
		/* The name as it came, cut; the log writer escapes what it holds. */
		g_autofree char *shown = g_strndup(c->cert_identity, 72);
		g_autofree char *why =
		        g_strdup_printf("%s (it came as '%s'%s)", error->message, shown,
		                        strlen(c->cert_identity) > 72 ? "..." : "");

		hub_refuse(c, TR_REFUSE_AUTH, why, error->message);
		return;
	}
	g_debug("%s: TLS established (%s), peer %s", c->peer, desc, c->cert_identity);
	c->state = CLIENT_HELLO;
	c->hello_timer = g_timeout_add(c->hub->cfg.handshake_timeout_ms, on_hello_timeout, c);
	if (c->outgoing)
		hub_peer_established(c);
	else if (c->hub->invite_server_name && hub_is_invite_identity(c->cert_identity))
		hub_invite_established(c);
}

/*
 * The subnets a client claims in HELLO. With a certificate, each must lie
 * inside a subnet the certificate grants (trellis pki issue --subnet): a
 * client cannot draw other people's traffic by claiming it. Shared-key
 * clients have no grants: their claims may not overlap anything someone
 * else owns (hub_claim_conflict: other sessions, the pools, the pushed
 * routes).
 */
static gboolean
take_claims(Client *c, const TrMsg *hello, char **why)
{
	g_autoptr(GBytes) der = tr_tls_peer_cert(tr_link_get_tls(c->link));
	g_autoptr(GArray) granted = NULL;
	char buf[TR_PREFIX_STRLEN];

	if (hello->n_subnets > HUB_MAX_SUBNETS) {
		*why = g_strdup_printf("more than %d subnets claimed", HUB_MAX_SUBNETS);
		return FALSE;
	}
	if (der && hello->n_subnets > 0) {
		gnutls_x509_crt_t crt;
		gsize len;
		const guint8 *data = g_bytes_get_data(der, &len);
		gnutls_datum_t d = {(unsigned char *)data, (unsigned)len};

		if (gnutls_x509_crt_init(&crt) < 0)
			return FALSE;
		if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) >= 0)
			granted = tr_pki_cert_get_subnets(crt, NULL);
		gnutls_x509_crt_deinit(crt);
	}
	c->n_subnets = 0;
	for (guint i = 0; i < hello->n_subnets; i++) {
		const TrPrefix *want = &hello->subnets[i];
		gboolean ok = der == NULL;

		for (guint j = 0; !ok && granted && j < granted->len; j++) {
			const TrPrefix *g = &g_array_index(granted, TrPrefix, j);
			ok = g->family == want->family && g->len <= want->len &&
			     tr_prefix_contains(g, (TrAddrFamily)want->family, want->addr);
		}
		if (!ok) {
			*why = g_strdup_printf("the certificate does not grant subnet %s "
			                       "(trellis pki issue NAME --subnet PREFIX)",
			                       tr_prefix_to_string(want, buf, sizeof(buf)));
			return FALSE;
		}
		c->subnets[c->n_subnets] = *want;
		tr_prefix_mask(&c->subnets[c->n_subnets]);
		/* Without a certificate's grant, a claim takes nothing that is
		 * someone else's. */
		if (der == NULL && hub_claim_conflict(c->hub, c, &c->subnets[c->n_subnets], why))
			return FALSE;
		c->n_subnets++;
	}
	return TRUE;
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
	gnutls_datum_t d = {(unsigned char *)data, (unsigned)len};
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
	g_auto(TrMsg) cfg = {0};
	g_autofree char *why = NULL;
	TrDcConfig dcc;
	TrLinkTiming timing = hub_timing(hub);
	TrCipher cipher;
	TrCompress comp;
	Client *old;
	guint mtu;
	char a4[TR_PREFIX_STRLEN] = "", a6[TR_PREFIX_STRLEN] = "";
	TrPrefix want = {0};

	/* Layer 2 without a pool: clients take their addresses from the LAN (DHCP),
	 * not from us. Layer 3 without one: a node of a symmetric network, which
	 * takes nodes only. */
	if (hub->pool == NULL && hub->cfg.dev_type != TR_DEVICE_TAP) {
		hub_refuse(
		        c, TR_REFUSE_ROLE,
		        "a client connected, but this node assigns no addresses "
		        "(--pool none, --pool6 none): it takes nodes only",
		        "this node takes no clients, only nodes of a symmetric network: it assigns "
		        "no addresses (--pool none, --pool6 none)");
		return;
	}
	if (!hub_pick_cipher(hub, hello, &cipher, &why)) {
		hub_refuse(c, TR_REFUSE_CIPHER, why, why);
		return;
	}
	comp = hub_pick_compression(hub, hello);
	if (tr_msg_has(hello, TR_ATTR_DEVICE_TYPE) && hello->device_type != hub->cfg.dev_type) {
		g_autofree char *mismatch = g_strdup_printf(
		        "device type mismatch: the server runs %s, the client asked for %s",
		        hub->cfg.dev_type == TR_DEVICE_TUN ? "tun" : "tap",
		        hello->device_type == TR_DEVICE_TUN ? "tun" : "tap");
		hub_refuse(c, TR_REFUSE_SETTINGS, mismatch, mismatch);
		return;
	}
	mtu = hub->cfg.mtu;
	if (tr_msg_has(hello, TR_ATTR_MTU)) {
		if (hello->mtu < 576) {
			hub_refuse(c, TR_REFUSE_SETTINGS, "client MTU below 576", "MTU below 576");
			return;
		}
		mtu = MIN(mtu, hello->mtu);
	}

	/* The same identity again replaces its older session. */
	old = g_hash_table_lookup(hub->by_identity, c->identity);
	if (old && old != c) {
		/* A shared-key name without a bound node key proves nothing: say so. */
		if (hub->names && g_str_has_prefix(c->cert_identity, "psk:") &&
		    tr_names_lookup(hub->names, c->cert_identity + 4) == NULL)
			g_warning(
			        "%s connected again from %s while its session from %s is active: "
			        "possibly someone else with the shared key taking the name over "
			        "(the name is bound to no node key; clients that send one bind it)",
			        c->identity, c->peer, old->peer);
		else
			g_message("%s connected again from %s: closing its session from %s",
			          c->identity, c->peer, old->peer);
		hub_unregister(old);
		tr_link_close(old->link, TR_MSG_CLOSE, TR_REFUSE_REPLACED,
		              tr_refusal_to_string(TR_REFUSE_REPLACED));
	}

	if (!take_claims(c, hello, &why)) {
		hub_refuse(c, TR_REFUSE_SETTINGS, why, why);
		return;
	}
	if (!static_address(c, &want)) {
		hub_refuse(c, TR_REFUSE_POOL, "cannot read the certificate's static address",
		           "internal error");
		return;
	}
	if (hub->pool && !tr_pool_lease(hub->pool, c->identity, want.family ? &want : NULL,
	                                &c->addr4, &c->addr6, &error)) {
		hub_refuse(c, TR_REFUSE_POOL, error->message, "no address available");
		return;
	}
	g_hash_table_insert(hub->by_identity, c->identity, c);

	c->rx_index = hub_new_index(hub);
	hub_fill_dc_config(hub, &dcc, cipher, comp, c->rx_index, hello->rx_index);
	tr_link_use_dataplane(c->link, hub->dp, 0);
	if (!tr_link_activate(c->link, &dcc, &timing, NULL, 0, &error)) {
		g_autofree char *failed =
		        g_strdup_printf("cannot start the data channel: %s", error->message);
		hub_refuse(c, TR_REFUSE_INTERNAL, failed, "internal error");
		return;
	}
	c->n_addrs = 0;
	if (c->addr4.family)
		c->addrs[c->n_addrs++] = c->addr4;
	if (c->addr6.family)
		c->addrs[c->n_addrs++] = c->addr6;
	hub_register(c);

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
	for (guint i = 0; i < hub->cfg.n_routes; i++) {
		/* Not the client's own subnets: those are behind it, not us. */
		gboolean own = FALSE;
		for (guint j = 0; j < c->n_subnets; j++)
			own |= tr_prefix_contains(&c->subnets[j],
			                          (TrAddrFamily)hub->cfg.routes[i].family,
			                          hub->cfg.routes[i].addr) &&
			       c->subnets[j].len <= hub->cfg.routes[i].len;
		if (!own)
			tr_msg_add_prefix(&cfg, TR_ATTR_ROUTE, &hub->cfg.routes[i]);
	}
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
		hub_refuse(c, TR_REFUSE_INTERNAL, error->message, "internal error");
		return;
	}
	hub_pending_leave(c);
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
		hub_refuse(c, TR_REFUSE_AUTH, error->message, TR_PASSWORD_REFUSED_MESSAGE);
		return;
	}
	if (c->state != CLIENT_AUTH)
		return;
	finish_hello(c);
}

/*
 * Shared-key names (docs/SECURITY.md, "Names"): a client or node that proves
 * a node key binds its name (@bind_as: "NAME" for clients, "node:NAME" for
 * nodes) to that key on first contact; afterwards the name is refused with
 * any other key, or none. Peers that send no key keep the old behaviour
 * (any key holder may use the name) until one binds it. FALSE: refused
 * (and closed).
 */
gboolean
hub_check_node_key(Client *c, const char *bind_as, const TrMsg *m)
{
	TrHub *hub = c->hub;
	g_autoptr(GError) error = NULL;
	gboolean has_key = m->node_key != NULL && m->node_proof != NULL;
	GBytes *bound;

	if (hub->names == NULL)
		return TRUE;
	if (has_key &&
	    !tr_node_key_verify(m->node_key, m->node_proof, tr_link_get_tls(c->link), &error)) {
		hub_refuse(c, TR_REFUSE_AUTH, error->message, error->message);
		return FALSE;
	}
	bound = tr_names_lookup(hub->names, bind_as);
	if (bound != NULL) {
		g_autofree char *why = NULL;

		if (has_key && g_bytes_equal(bound, m->node_key))
			return TRUE;
		if (tr_log_limit(&hub->takeovers, "name takeover attempts", 10, 60))
			g_warning(
			        "takeover attempt: %s connected as '%s' %s, but that name is bound "
			        "to another node's key (to let a reinstalled node have it again, "
			        "remove its line from %s)",
			        c->peer, bind_as,
			        has_key ? "with a different node key" : "without a node key",
			        tr_names_file(hub->names));
		why = g_strdup_printf("the name '%s' belongs to another node on this hub (its node "
		                      "key differs); choose another --name, or ask the hub's "
		                      "administrator to release it",
		                      bind_as);
		c->refused = TRUE;
		g_clear_handle_id(&c->hello_timer, g_source_remove);
		tr_link_close(c->link, TR_MSG_ERROR, TR_REFUSE_AUTH, why);
		return FALSE;
	}
	if (has_key) {
		if (!tr_names_bind(hub->names, bind_as, m->node_key, &error))
			g_warning("cannot save the name binding of '%s': %s", bind_as,
			          error->message);
		else
			g_message("the name '%s' is now bound to the node key of its first holder "
			          "(%s)",
			          bind_as, c->peer);
	}
	return TRUE;
}

/* Clients with a shared key bind their --name. */
static gboolean
check_node_key(Client *c, const TrMsg *hello)
{
	g_autoptr(GBytes) cert = tr_tls_peer_cert(tr_link_get_tls(c->link));

	if (cert != NULL || !g_str_has_prefix(c->cert_identity, "psk:"))
		return TRUE;
	return hub_check_node_key(c, c->cert_identity + 4, hello);
}

/* Our own proof, for nodes we talk to (peer.c). */
void
hub_add_node_key(Client *c, TrMsg *m)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) pub = NULL, proof = NULL;

	if (c->hub->node_key == NULL)
		return;
	proof = tr_node_key_prove(c->hub->node_key, tr_link_get_tls(c->link), &error);
	if (proof == NULL) {
		g_warning("node key: %s", error->message);
		return;
	}
	pub = tr_node_key_public(c->hub->node_key);
	tr_msg_set_bytes(m, TR_ATTR_NODE_KEY, pub);
	tr_msg_set_bytes(m, TR_ATTR_NODE_PROOF, proof);
}

static void
handle_hello(Client *c, TrMsg *msg)
{
	TrHub *hub = c->hub;
	g_autoptr(GError) error = NULL;

	g_clear_handle_id(&c->hello_timer, g_source_remove);
	if (!tr_msg_require(msg, &error, TR_ATTR_PROTO_VERSION, TR_ATTR_CIPHERS, TR_ATTR_RX_INDEX,
	                    0)) {
		hub_refuse(c, TR_REFUSE_PROTOCOL, error->message, error->message);
		return;
	}
	if (msg->proto_version != TR_PROTO_VERSION) {
		g_autofree char *why = g_strdup_printf(
		        "protocol version mismatch: client speaks %u, server speaks %u",
		        msg->proto_version, TR_PROTO_VERSION);
		hub_refuse(c, TR_REFUSE_VERSION, why, why);
		return;
	}
	g_debug("%s: HELLO from %s", c->peer, msg->software ? msg->software : "?");
	if (msg->features & TR_FEATURE_PEER) {
		hub_peer_hello(c, msg);
		return;
	}
	if (!check_node_key(c, msg))
		return;
	c->hello = *msg;
	tr_msg_init(msg, 0); /* the strings now belong to c->hello */

	if (hub->passwords) {
		g_autoptr(GTask) task = NULL;
		PasswordJob *job;

		if (c->hello.username == NULL || c->hello.password == NULL) {
			hub_refuse(c, TR_REFUSE_AUTH, "no username or password given",
			           "this server needs a username and password");
			return;
		}
		if (!tr_identity_validate_username(c->hello.username, &error)) {
			hub_refuse(c, TR_REFUSE_AUTH, error->message, error->message);
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

	/* An invite's session may redeem it and nothing else. */
	if (c->is_invite && msg->type != TR_MSG_CLOSE && msg->type != TR_MSG_ERROR) {
		if (msg->type == TR_MSG_JOIN && c->state == CLIENT_HELLO)
			hub_invite_join(c, msg);
		else
			hub_refuse(c, TR_REFUSE_PROTOCOL,
			           "an invite session sent something else than JOIN",
			           "an invite may only be redeemed (JOIN)");
		return;
	}
	switch (msg->type) {
	case TR_MSG_CONFIG:
		if (!c->outgoing || c->state != CLIENT_HELLO) {
			hub_refuse(c, TR_REFUSE_PROTOCOL, "unexpected CONFIG", "unexpected CONFIG");
			return;
		}
		g_clear_handle_id(&c->hello_timer, g_source_remove);
		hub_peer_config(c, msg);
		return;
	case TR_MSG_HELLO:
		if (c->state != CLIENT_HELLO || c->outgoing) {
			hub_refuse(c, TR_REFUSE_PROTOCOL, "unexpected HELLO", "unexpected HELLO");
			return;
		}
		handle_hello(c, msg);
		return;
	case TR_MSG_CLOSE:
	case TR_MSG_ERROR: {
		const char *reason =
		        msg->reason ? msg->reason : tr_refusal_to_string(msg->error_code);
		GError e = {TR_ERROR, tr_refusal_error_code(msg->error_code), (char *)reason};

		if (c->outgoing && msg->type == TR_MSG_ERROR)
			hub_peer_refused(c, &e);
		else
			g_message("%s %s (%s) closed the session: %s",
			          c->is_peer || c->outgoing ? "node" : "client",
			          c->node_name  ? c->node_name
			          : c->identity ? c->identity
			                        : "(not yet identified)",
			          c->peer, reason);
		tr_link_close(link, TR_MSG_CLOSE, TR_REFUSE_NONE, NULL);
		return;
	}
	default:
		hub_refuse(c, TR_REFUSE_PROTOCOL,
		           c->state == CLIENT_ACTIVE ? "unexpected message"
		                                     : "message before HELLO",
		           "unexpected message");
	}
}

static void
on_closed(TrLink *link, const GError *error, gpointer p)
{
	Client *c = p;

	if (c->state == CLIENT_ACTIVE)
		g_message("%s %s (%s) disconnected%s%s", c->is_peer ? "node" : "client",
		          c->is_peer ? c->node_name : c->identity, c->peer, error ? ": " : "",
		          error ? error->message : "");
	else if (c->outgoing && c->state == CLIENT_HANDSHAKE && error)
		hub_peer_refused(c, error);
	else if (c->state != CLIENT_GONE && error && !c->refused &&
	         tr_log_limit(&c->hub->refusals, "refused or failed connections", 10, 60))
		g_message("connection from %s failed: %s", c->peer, error->message);
	client_gone(c);
}

static void
on_path_changed(TrLink *link, TrPath path, gpointer p)
{
	Client *c = p;

	if (c->state == CLIENT_ACTIVE)
		g_message("%s %s: data now over %s", c->is_peer ? "node" : "client",
		          c->is_peer ? c->node_name : c->identity,
		          path == TR_PATH_UDP ? "UDP" : "TLS (TCP fallback)");
}

const TrLinkCallbacks hub_session_callbacks = {
        .message = on_message,
        .established = on_established,
        .closed = on_closed,
        .path_changed = on_path_changed,
};

Client *
hub_session_new(TrHub *hub, int fd, const char *peer, TrTlsCreds *creds, gboolean tls_server,
                GError **error)
{
	Client *c = g_new0(Client, 1);

	c->hub = hub;
	c->peer = g_strdup(peer);
	c->link = tr_link_new(fd, creds, NULL, peer, tls_server, &hub_session_callbacks, c, error);
	if (c->link == NULL) {
		g_free(c->peer);
		g_free(c);
		return NULL;
	}
	g_hash_table_add(hub->clients, c);
	return c;
}
