/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One session on the hub, whatever its kind (session.h): TLS and the
 * verification of the other side, the wait for its first message, the
 * messages every kind handles alike (CLOSE, ERROR), refusals, the data
 * channel's start and the end. The first message decides the kind: a HELLO
 * from a client (client-session.c) or from a node (node.c); an invite's
 * PSK decides it before (invite.c).
 */
#include "server/hub-private.h"

#include "common/auth/identity.h"
#include "common/auth/node-key.h"
#include "common/base/addr.h"
#include "common/base/error.h"
#include "server/node.h"

#include <string.h>

void
hub_session_free(gpointer p)
{
	Session *s = p;

	hub_graph_session_freed(s);
	hub_unregister(s);
	if (s->kind && s->kind->free)
		s->kind->free(s->data);
	g_clear_handle_id(&s->hello_timer, g_source_remove);
	tr_link_free(s->link);
	g_free(s->remote);
	g_free(s->source);
	g_free(s->identity);
	g_free(s->cert_identity);
	g_free(s->graph_name);
	g_free(s->subnets);
	g_free(s->candidates);
	g_free(s);
}

TrPrefix *
hub_session_next_subnet(Session *s)
{
	g_assert(s->n_subnets < HUB_MAX_SUBNETS);
	if (s->subnets == NULL)
		s->subnets = g_new0(TrPrefix, HUB_MAX_SUBNETS);
	return &s->subnets[s->n_subnets];
}

void
hub_session_set_kind(Session *s, const SessionKind *kind, gpointer data)
{
	g_return_if_fail(s->kind == NULL);
	s->kind = kind;
	s->data = data;
}

const char *
hub_session_name(Session *s)
{
	if (s->kind && s->kind->name)
		return s->kind->name(s);
	return s->identity ? s->identity : "(not yet identified)";
}

static gboolean
free_session_idle(gpointer p)
{
	Session *s = p;

	g_hash_table_remove(s->hub->sessions, s);
	return G_SOURCE_REMOVE;
}

static void
session_gone(Session *s)
{
	hub_pending_leave(s);
	if (s->state == SESSION_ACTIVE)
		hub_changed(s->hub);
	hub_unregister(s);
	hub_mesh_gone(s);
	if (s->kind && s->kind->gone)
		s->kind->gone(s);
	s->state = SESSION_GONE;
	/* Not from inside the link's own callback: free on the next iteration. */
	g_idle_add(free_session_idle, s);
}

void
hub_session_refuse(Session *s, TrRefusal code, const char *log_reason, const char *client_reason)
{
	s->refused = TRUE;
	if (tr_log_limit(&s->hub->refusals, "refused or failed connections", 10, 60))
		g_message("refused %s%s%s: %s", s->remote, s->identity ? " as " : "",
		          s->identity ? s->identity : "", log_reason);
	g_clear_handle_id(&s->hello_timer, g_source_remove);
	tr_link_close(s->link, TR_MSG_ERROR, code, client_reason ? client_reason : log_reason);
}

void
hub_session_replace(Session *old)
{
	hub_unregister(old);
	tr_link_close(old->link, TR_MSG_CLOSE, TR_REFUSE_REPLACED,
	              tr_refusal_to_string(TR_REFUSE_REPLACED));
}

/*
 * Identities are checked where they enter (docs/SECURITY.md): what the
 * leases file, the logs and the status show was valid when it came in.
 */
static gboolean
check_identity(Session *s, GError **error)
{
	g_autoptr(GBytes) cert = tr_tls_peer_cert(tr_link_get_tls(s->link));
	const char *id = s->cert_identity;

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
	Session *s = p;

	s->hello_timer = 0;
	hub_session_refuse(s, TR_REFUSE_PROTOCOL, "no HELLO in time", "no HELLO in time");
	return G_SOURCE_REMOVE;
}

static void
on_established(TrLink *link, gpointer p)
{
	Session *s = p;
	g_autoptr(GError) error = NULL;
	g_autofree char *desc = tr_tls_describe(tr_link_get_tls(link));

	if (hub_crl_error(s->hub) != NULL) {
		g_autofree char *why = g_strdup_printf(
		        "the hub's CRL cannot be loaded (%s): no new sessions until it loads",
		        hub_crl_error(s->hub));
		hub_session_refuse(s, TR_REFUSE_INTERNAL, why,
		                   "the hub cannot check revocations right now; try again later");
		return;
	}
	if (!tr_tls_verify_peer(tr_link_get_tls(link), &s->cert_identity, &error)) {
		hub_session_refuse(s, TR_REFUSE_AUTH, error->message, error->message);
		return;
	}
	if (!check_identity(s, &error)) {
		/* The name as it came, cut; the log writer escapes what it holds. */
		g_autofree char *shown = g_strndup(s->cert_identity, 72);
		g_autofree char *why =
		        g_strdup_printf("%s (it came as '%s'%s)", error->message, shown,
		                        strlen(s->cert_identity) > 72 ? "..." : "");

		hub_session_refuse(s, TR_REFUSE_AUTH, why, error->message);
		return;
	}
	if (tr_log_enabled(G_LOG_LEVEL_DEBUG))
		g_debug("%s: TLS established (%s), peer %s", s->remote, desc, s->cert_identity);
	s->state = SESSION_HELLO;
	s->hello_timer = g_timeout_add(s->hub->cfg.handshake_timeout_ms, on_hello_timeout, s);
	if (s->kind && s->kind->established)
		s->kind->established(s);
	else if (s->kind == NULL && s->hub->invite_server_name &&
	         hub_is_invite_identity(s->cert_identity))
		hub_invite_start(s);
}

/*
 * Shared-key names (docs/SECURITY.md, "Names"): a client or node that proves
 * a node key binds its name (@bind_as: "NAME" for clients, "node:NAME" for
 * nodes) to that key on first contact; afterwards the name is refused with
 * any other key, or none. Those that send no key keep the old behaviour
 * (any key holder may use the name) until one binds it. FALSE: refused
 * (and closed).
 */
gboolean
hub_session_check_node_key(Session *s, const char *bind_as, const TrMsg *m)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	gboolean has_key = m->node_key != NULL && m->node_proof != NULL;
	GBytes *bound;

	if (hub->names == NULL)
		return TRUE;
	if (has_key &&
	    !tr_node_key_verify(m->node_key, m->node_proof, tr_link_get_tls(s->link), &error)) {
		hub_session_refuse(s, TR_REFUSE_AUTH, error->message, error->message);
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
			        s->remote, bind_as,
			        has_key ? "with a different node key" : "without a node key",
			        tr_names_file(hub->names));
		why = g_strdup_printf("the name '%s' belongs to another node on this hub (its node "
		                      "key differs); choose another --name, or ask the hub's "
		                      "administrator to release it",
		                      bind_as);
		s->refused = TRUE;
		g_clear_handle_id(&s->hello_timer, g_source_remove);
		tr_link_close(s->link, TR_MSG_ERROR, TR_REFUSE_AUTH, why);
		return FALSE;
	}
	if (has_key) {
		if (!tr_names_bind(hub->names, bind_as, m->node_key, &error))
			g_warning("cannot save the name binding of '%s': %s", bind_as,
			          error->message);
		else
			g_message("the name '%s' is now bound to the node key of its first holder "
			          "(%s)",
			          bind_as, s->remote);
	}
	return TRUE;
}

void
hub_session_add_node_key(Session *s, TrMsg *m)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) pub = NULL, proof = NULL;

	if (s->hub->node_key == NULL)
		return;
	proof = tr_node_key_prove(s->hub->node_key, tr_link_get_tls(s->link), &error);
	if (proof == NULL) {
		g_warning("node key: %s", error->message);
		return;
	}
	pub = tr_node_key_public(s->hub->node_key);
	tr_msg_set_bytes(m, TR_ATTR_NODE_KEY, pub);
	tr_msg_set_bytes(m, TR_ATTR_NODE_PROOF, proof);
}

gboolean
hub_session_activate(Session *s, TrCipher cipher, TrCompress comp, uint32_t peer_index,
                     gboolean csum_partial, const struct sockaddr *endpoint, socklen_t endpoint_len)
{
	TrHub *hub = s->hub;
	g_autoptr(GError) error = NULL;
	TrLinkTiming timing = hub_timing(hub);
	TrDcConfig dcc;

	hub_fill_dc_config(hub, &dcc, cipher, comp, s->rx_index, peer_index);
	dcc.csum_partial = csum_partial;
	tr_link_use_dataplane(s->link, hub->dp, 0);
	if (!tr_link_activate(s->link, &dcc, &timing, endpoint, endpoint_len, &error)) {
		g_autofree char *failed =
		        g_strdup_printf("cannot start the data channel: %s", error->message);
		hub_session_refuse(s, TR_REFUSE_INTERNAL, failed, "internal error");
		return FALSE;
	}
	return TRUE;
}

/* The first HELLO: a client's, or a node's. */
static void
handle_hello(Session *s, TrMsg *msg)
{
	g_autoptr(GError) error = NULL;

	g_clear_handle_id(&s->hello_timer, g_source_remove);
	if (!tr_msg_require(msg, &error, TR_ATTR_PROTO_VERSION, TR_ATTR_CIPHERS, TR_ATTR_RX_INDEX,
	                    0)) {
		hub_session_refuse(s, TR_REFUSE_PROTOCOL, error->message, error->message);
		return;
	}
	if (msg->proto_version != TR_PROTO_VERSION) {
		g_autofree char *why = g_strdup_printf(
		        "protocol version mismatch: client speaks %u, server speaks %u",
		        msg->proto_version, TR_PROTO_VERSION);
		hub_session_refuse(s, TR_REFUSE_VERSION, why, why);
		return;
	}
	if (tr_log_enabled(G_LOG_LEVEL_DEBUG))
		g_debug("%s: HELLO from %s", s->remote, msg->software ? msg->software : "?");
	if (msg->features & TR_FEATURE_NODE)
		hub_node_hello(s, msg);
	else
		hub_client_hello(s, msg);
}

void
hub_session_unexpected(Session *s, const TrMsg *msg)
{
	if (msg->type == TR_MSG_HELLO || msg->type == TR_MSG_CONFIG) {
		g_autofree char *why =
		        g_strdup_printf("unexpected %s", tr_msg_type_to_string(msg->type));
		hub_session_refuse(s, TR_REFUSE_PROTOCOL, why, why);
		return;
	}
	hub_session_refuse(s, TR_REFUSE_PROTOCOL,
	                   s->state == SESSION_ACTIVE ? "unexpected message"
	                                              : "message before HELLO",
	                   "unexpected message");
}

static void
on_message(TrLink *link, TrMsg *msg, gpointer p)
{
	Session *s = p;

	if (msg->type == TR_MSG_CLOSE || msg->type == TR_MSG_ERROR) {
		const char *reason =
		        msg->reason ? msg->reason : tr_refusal_to_string(msg->error_code);
		GError e = {TR_ERROR, tr_refusal_error_code(msg->error_code), (char *)reason};

		if (!(msg->type == TR_MSG_ERROR && s->kind && s->kind->refused &&
		      s->kind->refused(s, &e)))
			g_message("%s %s (%s) closed the session: %s",
			          s->kind ? s->kind->noun : "client", hub_session_name(s),
			          s->remote, reason);
		tr_link_close(link, TR_MSG_CLOSE, TR_REFUSE_NONE, NULL);
		return;
	}
	if (s->kind)
		s->kind->message(s, msg);
	else if (msg->type == TR_MSG_HELLO && s->state == SESSION_HELLO)
		handle_hello(s, msg);
	else
		hub_session_unexpected(s, msg);
}

static void
on_closed(TrLink *link, const GError *error, gpointer p)
{
	Session *s = p;

	if (s->state == SESSION_ACTIVE)
		g_message("%s %s (%s) disconnected%s%s", s->kind->noun, hub_session_name(s),
		          s->remote, error ? ": " : "", error ? error->message : "");
	else if (s->state == SESSION_HANDSHAKE && error && s->kind && s->kind->refused)
		s->kind->refused(s, error);
	else if (s->state != SESSION_GONE && error && !s->refused &&
	         tr_log_limit(&s->hub->refusals, "refused or failed connections", 10, 60))
		g_message("connection from %s failed: %s", s->remote, error->message);
	session_gone(s);
}

static void
on_path_changed(TrLink *link, TrPath path, gpointer p)
{
	Session *s = p;

	if (s->state == SESSION_ACTIVE) {
		if (tr_log_enabled(G_LOG_LEVEL_MESSAGE))
			g_message("%s %s: data now over %s", s->kind->noun, hub_session_name(s),
			          path == TR_PATH_UDP ? "UDP" : "TLS (TCP fallback)");
		hub_mesh_path_changed(s, path);
	}
}

static void
on_roamed(TrLink *link, gpointer p)
{
	Session *s = p;

	if (s->state == SESSION_ACTIVE)
		hub_mesh_roamed(s);
}

static void
on_forwarded(TrLink *link, uint32_t to, const TrPrefix *dst, gpointer p)
{
	hub_mesh_forwarded(p, to, dst);
}

static const TrLinkCallbacks session_callbacks = {
        .message = on_message,
        .established = on_established,
        .closed = on_closed,
        .path_changed = on_path_changed,
        .forwarded = on_forwarded,
        .roamed = on_roamed,
};

Session *
hub_session_new(TrHub *hub, int fd, const char *remote, TrTlsCreds *creds, gboolean tls_server,
                GError **error)
{
	Session *s = g_new0(Session, 1);

	s->hub = hub;
	s->remote = g_strdup(remote);
	s->link = tr_link_new(fd, creds, NULL, remote, tls_server, &session_callbacks, s, error);
	if (s->link == NULL) {
		g_free(s->remote);
		g_free(s);
		return NULL;
	}
	/* Its TLS handshake on the pool's threads; without one (before the hub
	 * starts) on the main loop. */
	if (hub->handshakes)
		tr_link_set_handshake_pool(s->link, hub->handshakes);
	g_hash_table_add(hub->sessions, s);
	return s;
}
