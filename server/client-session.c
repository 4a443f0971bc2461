/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A client's session on the hub (trellis-client, the NetworkManager plugin):
 * its HELLO, an optional password check in a worker thread, then the
 * settings: what both sides agree on (cipher, compression, MTU), the
 * addresses it gets (its claims, a certificate's static address, a lease
 * from the pool) and the CONFIG that tells it all.
 */
#include "server/hub-private.h"

#include "common/auth/identity.h"
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/gnutls-auto.h"
#include "common/base/secret.h"
#include "common/pki/pki.h"
#include "tr-config.h"

#include <gio/gio.h>
#include <string.h>

typedef struct {
	TrMsg *hello;          /* until its settings are settled (the password check runs) */
	GCancellable *cancel;  /* the password check, while it runs */
	TrPrefix addr4, addr6; /* leased */
} ClientSession;

/* What the hub and the client agreed on. */
typedef struct {
	TrCipher cipher;
	TrCompress comp;
	guint mtu;
} Agreed;

static ClientSession *
client_of(Session *s)
{
	return s->data;
}

/* The HELLO (6 KiB, most of it room for lists) is not kept once settled. */
static void
client_hello_free(ClientSession *cs)
{
	if (cs->hello != NULL) {
		tr_msg_clear(cs->hello);
		g_clear_pointer(&cs->hello, g_free);
	}
}

static void
client_session_free(gpointer p)
{
	ClientSession *cs = p;

	if (cs->cancel) {
		g_cancellable_cancel(cs->cancel);
		g_object_unref(cs->cancel);
	}
	client_hello_free(cs);
	g_free(cs);
}

/* Its address lease goes with it. */
static void
client_unregistered(Session *s)
{
	hub_graph_client_gone(s);
	if (s->hub->pool)
		tr_pool_release(s->hub->pool, s->identity);
}

/* After HELLO, a client has nothing more to say but its pairs' messages, CLOSE and ERROR. */
static void
client_message(Session *s, TrMsg *msg)
{
	if (s->state == SESSION_ACTIVE && hub_mesh_message(s, msg))
		return;
	hub_session_unexpected(s, msg);
}

static const SessionKind client_kind = {
        .noun = "client",
        .message = client_message,
        .unregistered = client_unregistered,
        .free = client_session_free,
};

/* A certificate as GnuTLS reads it, or NULL. */
static gnutls_x509_crt_t
cert_from_der(GBytes *der)
{
	g_auto(gnutls_x509_crt_t) crt = NULL;
	gnutls_datum_t d;
	gsize len;

	if (gnutls_x509_crt_init(&crt) < 0)
		return NULL;
	d.data = (unsigned char *)g_bytes_get_data(der, &len);
	d.size = (unsigned)len;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) < 0)
		return NULL;
	return g_steal_pointer(&crt);
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
take_claims(Session *s, gnutls_x509_crt_t crt, const TrMsg *hello, char **why)
{
	g_autoptr(GArray) granted = NULL;
	char buf[TR_PREFIX_STRLEN];

	if (hello->n_subnets > HUB_MAX_SUBNETS) {
		*why = g_strdup_printf("more than %d subnets claimed", HUB_MAX_SUBNETS);
		return FALSE;
	}
	if (crt && hello->n_subnets > 0)
		granted = tr_pki_cert_get_subnets(crt, NULL);
	s->n_subnets = 0;
	for (guint i = 0; i < hello->n_subnets; i++) {
		const TrPrefix *want = &hello->subnets[i];
		gboolean ok = crt == NULL;
		TrPrefix *claimed;

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
		claimed = hub_session_next_subnet(s);
		*claimed = *want;
		tr_prefix_mask(claimed);
		/* Without a certificate's grant, a claim takes nothing that is
		 * someone else's. */
		if (crt == NULL && hub_claim_conflict(s->hub, s, claimed, why))
			return FALSE;
		s->n_subnets++;
	}
	return TRUE;
}

/* A static IPv4 address carried in the client's certificate (trellis pki
 * issue --ip), if any. */
static gboolean
static_address(gnutls_x509_crt_t crt, TrPrefix *out)
{
	g_autoptr(GArray) addrs = NULL;

	memset(out, 0, sizeof(*out));
	if (crt == NULL)
		return TRUE;
	addrs = tr_pki_cert_get_addresses(crt, NULL);
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

/* Cipher, compression, device type and MTU, or @s refused. */
static gboolean
negotiate(Session *s, const TrMsg *hello, Agreed *out)
{
	TrHub *hub = s->hub;
	g_autofree char *why = NULL;

	if (!hub_pick_cipher(hub, hello, &out->cipher, &why)) {
		hub_session_refuse(s, TR_REFUSE_CIPHER, why, why);
		return FALSE;
	}
	out->comp = hub_pick_compression(hub, hello);
	if (tr_msg_has(hello, TR_ATTR_DEVICE_TYPE) && hello->device_type != hub->cfg.dev_type) {
		why = g_strdup_printf(
		        "device type mismatch: the server runs %s, the client asked for %s",
		        hub->cfg.dev_type == TR_DEVICE_TUN ? "tun" : "tap",
		        hello->device_type == TR_DEVICE_TUN ? "tun" : "tap");
		hub_session_refuse(s, TR_REFUSE_SETTINGS, why, why);
		return FALSE;
	}
	out->mtu = hub->cfg.mtu;
	if (tr_msg_has(hello, TR_ATTR_MTU)) {
		if (hello->mtu < 576) {
			hub_session_refuse(s, TR_REFUSE_SETTINGS, "client MTU below 576",
			                   "MTU below 576");
			return FALSE;
		}
		out->mtu = MIN(out->mtu, hello->mtu);
	}
	return TRUE;
}

/* The same identity again replaces its older session. */
static void
replace_older(Session *s)
{
	TrHub *hub = s->hub;
	Session *old = g_hash_table_lookup(hub->by_identity, s->identity);

	if (old == NULL || old == s)
		return;
	/* A shared-key name without a bound node key proves nothing: say so. */
	if (hub->names && g_str_has_prefix(s->cert_identity, "psk:") &&
	    tr_names_lookup(hub->names, s->cert_identity + 4) == NULL)
		g_warning("%s connected again from %s while its session from %s is active: "
		          "possibly someone else with the shared key taking the name over "
		          "(the name is bound to no node key; clients that send one bind it)",
		          s->identity, s->remote, old->remote);
	else
		g_message("%s connected again from %s: closing its session from %s", s->identity,
		          s->remote, old->remote);
	hub_session_replace(old);
}

/* Its addresses: the subnets it claims, its certificate's static address
 * and a lease from the pool; or @s refused. */
static gboolean
take_addresses(Session *s, ClientSession *cs)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	g_autofree char *why = NULL;
	g_autoptr(GBytes) der = tr_tls_peer_cert(tr_link_get_tls(s->link));
	g_auto(gnutls_x509_crt_t) crt = der ? cert_from_der(der) : NULL;
	TrPrefix want;

	if (der && crt == NULL) {
		hub_session_refuse(s, TR_REFUSE_POOL, "cannot read the client's certificate",
		                   "internal error");
		return FALSE;
	}
	if (!take_claims(s, crt, cs->hello, &why)) {
		hub_session_refuse(s, TR_REFUSE_SETTINGS, why, why);
		return FALSE;
	}
	if (!static_address(crt, &want)) {
		hub_session_refuse(s, TR_REFUSE_POOL,
		                   "cannot read the certificate's static address",
		                   "internal error");
		return FALSE;
	}
	if (hub->pool && !tr_pool_lease(hub->pool, s->identity, want.family ? &want : NULL,
	                                &cs->addr4, &cs->addr6, &error)) {
		hub_session_refuse(s, TR_REFUSE_POOL, error->message, "no address available");
		return FALSE;
	}
	s->n_addrs = 0;
	if (cs->addr4.family)
		s->addrs[s->n_addrs++] = cs->addr4;
	if (cs->addr6.family)
		s->addrs[s->n_addrs++] = cs->addr6;
	return TRUE;
}

/* The pushed routes, but not the client's own subnets: those are behind
 * it, not us. */
static gboolean
route_is_its_own(Session *s, const TrPrefix *route)
{
	for (guint j = 0; j < s->n_subnets; j++)
		if (tr_prefix_contains(&s->subnets[j], (TrAddrFamily)route->family, route->addr) &&
		    s->subnets[j].len <= route->len)
			return TRUE;
	return FALSE;
}

static void
build_config(Session *s, ClientSession *cs, const Agreed *agreed, TrMsg *cfg)
{
	TrHubConfig *hc = &s->hub->cfg;

	tr_msg_init(cfg, TR_MSG_CONFIG);
	tr_msg_set_u16(cfg, TR_ATTR_PROTO_VERSION, TR_PROTO_VERSION);
	tr_msg_set_string(cfg, TR_ATTR_SOFTWARE, "trellis-server " TR_VERSION);
	tr_msg_set_string(cfg, TR_ATTR_IDENTITY, s->identity);
	tr_msg_set_u32(cfg, TR_ATTR_RX_INDEX, s->rx_index);
	if (cs->addr4.family)
		tr_msg_add_prefix(cfg, TR_ATTR_ADDRESS, &cs->addr4);
	if (cs->addr6.family)
		tr_msg_add_prefix(cfg, TR_ATTR_ADDRESS, &cs->addr6);
	for (guint i = 0; i < hc->n_routes; i++)
		if (!route_is_its_own(s, &hc->routes[i]))
			tr_msg_add_prefix(cfg, TR_ATTR_ROUTE, &hc->routes[i]);
	for (guint i = 0; hc->dns && hc->dns[i]; i++) {
		TrPrefix p;
		if (tr_prefix_parse(hc->dns[i], TR_PREFIX_IP_ONLY, &p, NULL))
			tr_msg_add_prefix(cfg, TR_ATTR_DNS_SERVER, &p);
	}
	for (guint i = 0; hc->dns_search && hc->dns_search[i]; i++)
		tr_msg_add_search(cfg, hc->dns_search[i]);
	tr_msg_set_u16(cfg, TR_ATTR_MTU, (uint16_t)agreed->mtu);
	tr_msg_set_u8(cfg, TR_ATTR_CIPHER, (uint8_t)agreed->cipher);
	tr_msg_set_u8(cfg, TR_ATTR_COMPRESSION, (uint8_t)agreed->comp);
	tr_msg_set_u16(cfg, TR_ATTR_KEEPALIVE, (uint16_t)hc->keepalive);
	tr_msg_set_u32(cfg, TR_ATTR_PEER_TIMEOUT, hc->peer_timeout);
	tr_msg_set_u16(cfg, TR_ATTR_UDP_PORT, s->hub->port);
	tr_msg_set_u32(cfg, TR_ATTR_FEATURES,
	               (hc->udp ? TR_FEATURE_UDP : 0) | TR_FEATURE_TCP_FALLBACK |
	                       (hc->client_to_client ? TR_FEATURE_CLIENT_TO_CLIENT : 0) |
	                       (s->hub->pairs && s->mesh ? TR_FEATURE_PAIRS : 0) |
	                       (cs->hello->features & TR_FEATURE_CSUM_PARTIAL));
	tr_msg_set_magic(cfg, hc->magic.bytes);
}

/* Authenticated (and its password checked): settle its settings, start its
 * data channel and tell it (CONFIG). */
static void
finish_hello(Session *s)
{
	TrHub *hub = s->hub;
	ClientSession *cs = client_of(s);
	g_autoptr(GError) error = NULL;
	g_auto(TrMsg) cfg = {0};
	g_autofree char *why = NULL;
	char a4[TR_PREFIX_STRLEN] = "", a6[TR_PREFIX_STRLEN] = "";
	Agreed agreed;

	/* Layer 2 without a pool: clients take their addresses from the LAN (DHCP),
	 * not from us. Layer 3 without one: a node of a symmetric network, which
	 * takes nodes only. */
	if (hub->pool == NULL && hub->cfg.dev_type != TR_DEVICE_TAP) {
		hub_session_refuse(
		        s, TR_REFUSE_ROLE,
		        "a client connected, but this node assigns no addresses "
		        "(--pool none, --pool6 none): it takes nodes only",
		        "this node takes no clients, only nodes of a symmetric network: it assigns "
		        "no addresses (--pool none, --pool6 none)");
		return;
	}
	if (!negotiate(s, cs->hello, &agreed))
		return;
	replace_older(s);
	if (!take_addresses(s, cs))
		return;
	g_hash_table_insert(hub->by_identity, s->identity, s);
	if (!hub_graph_client_claims(s, &why)) {
		hub_session_refuse(s, TR_REFUSE_SETTINGS, why, why);
		return;
	}

	s->rx_index = hub_new_index(hub);
	if (!hub_session_activate(s, agreed.cipher, agreed.comp, cs->hello->rx_index,
	                          (cs->hello->features & TR_FEATURE_CSUM_PARTIAL) != 0, NULL, 0))
		return;
	hub_register(s);

	build_config(s, cs, &agreed, &cfg);
	if (!tr_link_send_msg(s->link, &cfg, &error)) {
		hub_session_refuse(s, TR_REFUSE_INTERNAL, error->message, "internal error");
		return;
	}
	hub_pending_leave(s);
	s->state = SESSION_ACTIVE;
	if (cs->addr4.family)
		tr_prefix_to_string(&cs->addr4, a4, sizeof(a4));
	if (cs->addr6.family)
		tr_prefix_to_string(&cs->addr6, a6, sizeof(a6));
	g_message("client %s connected from %s: address %s%s%s, cipher %s, compression %s, MTU %u",
	          s->identity, s->remote, a4, *a4 && *a6 ? " " : "", a6,
	          tr_cipher_name(agreed.cipher), tr_compress_name(agreed.comp), agreed.mtu);
	client_hello_free(cs);
}

/* What the worker thread needs: its own copies, as the session may go away. */
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
	tr_secret_free(job->password);
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
	Session *s = p;
	g_autoptr(GError) error = NULL;

	if (!g_task_propagate_boolean(G_TASK(res), &error)) {
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			return;
		hub_session_refuse(s, TR_REFUSE_PASSWORD, error->message,
		                   TR_PASSWORD_REFUSED_MESSAGE);
		return;
	}
	if (s->state != SESSION_AUTH)
		return;
	finish_hello(s);
}

static void
check_password(Session *s, ClientSession *cs)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GTask) task = NULL;
	PasswordJob *job;

	if (cs->hello->username == NULL || cs->hello->password == NULL) {
		hub_session_refuse(s, TR_REFUSE_PASSWORD, "no username or password given",
		                   "this server needs a username and password");
		return;
	}
	if (!tr_identity_validate_username(cs->hello->username, &error)) {
		hub_session_refuse(s, TR_REFUSE_PASSWORD, error->message, error->message);
		return;
	}
	s->identity = g_strdup_printf("%s/%s", s->cert_identity, cs->hello->username);
	s->state = SESSION_AUTH;
	cs->cancel = g_cancellable_new();
	task = g_task_new(NULL, cs->cancel, password_done, s);
	job = g_new0(PasswordJob, 1);
	job->backend = s->hub->passwords;
	job->user = g_strdup(cs->hello->username);
	job->password = g_strdup(cs->hello->password);
	g_task_set_task_data(task, job, password_job_free);
	g_task_run_in_thread(task, password_thread);
}

void
hub_client_hello(Session *s, TrMsg *hello)
{
	g_autoptr(GBytes) cert = tr_tls_peer_cert(tr_link_get_tls(s->link));
	ClientSession *cs;

	/* A hub's server certificate (accepted for hubs joining) is no client's. */
	if (cert != NULL && tr_tls_peer_is_server(tr_link_get_tls(s->link))) {
		hub_session_refuse(
		        s, TR_REFUSE_ROLE,
		        "a server certificate in a client's HELLO (hubs join as nodes)",
		        "this is a server certificate: clients need a client certificate "
		        "(trellis pki issue NAME)");
		return;
	}
	/* Clients with a shared key bind their --name. */
	if (cert == NULL && g_str_has_prefix(s->cert_identity, "psk:") &&
	    !hub_session_check_node_key(s, s->cert_identity + 4, hello))
		return;
	s->mesh = (hello->features & TR_FEATURE_PAIRS) != 0;
	s->no_direct = (hello->features & TR_FEATURE_NO_DIRECT) != 0;
	cs = g_new0(ClientSession, 1);
	cs->hello = g_new(TrMsg, 1);
	*cs->hello = *hello;
	tr_msg_init(hello, 0); /* the strings now belong to cs->hello */
	hub_session_set_kind(s, &client_kind, cs);
	if (s->hub->passwords) {
		check_password(s, cs);
		return;
	}
	s->identity = g_strdup(s->cert_identity);
	finish_hello(s);
}
