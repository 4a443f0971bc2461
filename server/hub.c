/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hub's lifetime (made, started, reloaded, stopped, freed) and what it
 * tells about itself (the status). What it talks through is in sockets.c,
 * its sessions in session.h.
 */
#include "server/hub-private.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "server/node.h"

#include <errno.h>
#include <sys/stat.h>

TrHub *
tr_hub_new(const TrHubConfig *config, GError **error)
{
	g_autoptr(TrHub) hub = g_new0(TrHub, 1);
	g_autofree char *host = NULL;
	g_autofree char *lease_file = NULL;
	guint16 port;

	hub->tcp_fd = hub->udp_fd = -1;
	hub_config_copy(&hub->cfg, config);
	hub->cfg.tls.is_server = TRUE;

	hub->sessions =
	        g_hash_table_new_full(g_direct_hash, g_direct_equal, hub_session_free, NULL);
	hub->by_identity = g_hash_table_new(g_str_hash, g_str_equal);
	hub->by_index = g_hash_table_new(g_direct_hash, g_direct_equal);
	hub->pending_by_source = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	if (!tr_hub_parse_listen(config->listen, &host, &port, error))
		return NULL;

	hub_invites_setup(hub);
	{
		TrTlsConfig sc = hub->cfg.tls;

		/* A hub with a name takes other hubs: their server certificates. */
		sc.accept_servers = config->node_name != NULL;
		hub->creds = tr_tls_creds_new(&sc, error);
		if (hub->creds == NULL)
			return NULL;
	}
	if (config->password_file) {
		hub->passwords = tr_password_file_backend_new(config->password_file, error);
		if (hub->passwords == NULL)
			return NULL;
	} else if (config->pam_service) {
		hub->passwords = tr_password_pam_backend_new(config->pam_service,
		                                             config->pam_confdir, error);
		if (hub->passwords == NULL)
			return NULL;
	}
	if (config->state_dir) {
		if (g_mkdir_with_parents(config->state_dir, 0700) == 0)
			lease_file = g_build_filename(config->state_dir, "leases", NULL);
		else
			g_warning("cannot create the state directory %s (%s): address leases will "
			          "not survive a restart",
			          config->state_dir, g_strerror(errno));
	}
	if (config->tls.shared_key) {
		g_autofree char *file =
		        lease_file ? g_build_filename(config->state_dir, "names", NULL) : NULL;
		hub->names = tr_names_new(file);
		/* Our own node key, for the nodes we talk to (--connect, or they to us). */
		if (lease_file && config->node_name) {
			g_autofree char *path = g_strdup_printf("%s/node-%s.key", config->state_dir,
			                                        config->node_name);
			g_autoptr(GError) local = NULL;

			hub->node_key = tr_node_key_load_or_create(path, &local);
			if (hub->node_key == NULL)
				g_warning(
				        "no node key, so other nodes cannot bind the name '%s' to "
				        "this node: %s",
				        config->node_name, local->message);
		}
	}
	if (config->pool4.family || config->pool6.family) {
		hub->pool = tr_pool_new(config->pool4.family ? &config->pool4 : NULL,
		                        config->pool6.family ? &config->pool6 : NULL, lease_file,
		                        error);
		if (hub->pool == NULL)
			return NULL;
	}
	if (config->connect && config->connect[0]) {
		TrTlsConfig cc = hub->cfg.tls;

		if (config->node_name == NULL) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "--connect needs this node's unique name (--name)");
			return NULL;
		}
		if (config->tls.shared_key == NULL && config->tls.cert_file == NULL) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "--connect between nodes needs --shared-key, or the hub's "
			            "server certificate (--ca, --cert, --key)");
			return NULL;
		}
		cc.is_server = FALSE;
		cc.psk_lookup = NULL;
		cc.accept_servers = FALSE;
		if (config->tls.shared_key) {
			cc.ca_file = cc.cert_file = cc.key_file = cc.crl_file = NULL;
			cc.psk_identity = config->node_name;
		} else {
			/* Our server certificate, as the TLS client: the other hub
			 * checks it is a server certificate of the CA (a hub), and we
			 * that its own is (and against the CRL). */
			cc.shared_key = NULL;
		}
		hub->client_creds = tr_tls_creds_new(&cc, error);
		if (hub->client_creds == NULL)
			return NULL;
	}
	hub->connectors = g_ptr_array_new();

	hub_mesh_init(hub);
	if (!hub_open_sockets(hub, host, port, error) || !hub_open_tunnel(hub, error))
		return NULL;
	if (!hub_forward_init(hub, error) || !hub_graph_init(hub, error))
		return NULL;
	return g_steal_pointer(&hub);
}

static gint64
file_mtime(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 0;
#ifdef G_OS_WIN32
	return (gint64)st.st_mtime * G_USEC_PER_SEC; /* seconds only there */
#else
	return (gint64)st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
#endif
}

/*
 * A CRL that cannot be loaded is never ignored: until it loads again the hub
 * refuses every new connection (session.c), says so in its log at least once
 * a minute, and tries again at every check.
 */
static void
crl_failed(TrHub *hub, const GError *error)
{
	gint64 now = g_get_monotonic_time();

	if (hub->crl_error == NULL || now - hub->crl_last_warning >= 60 * G_USEC_PER_SEC) {
		g_warning("the CRL %s cannot be loaded: %s; refusing every new connection until it "
		          "loads (revocations cannot be checked)",
		          hub->cfg.tls.crl_file, error->message);
		hub->crl_last_warning = now;
	}
	g_free(hub->crl_error);
	hub->crl_error = g_strdup(error->message);
}

static void
crl_loaded(TrHub *hub)
{
	if (hub->crl_error)
		g_message("the CRL %s loads again: accepting connections", hub->cfg.tls.crl_file);
	g_clear_pointer(&hub->crl_error, g_free);
}

const char *
hub_crl_error(TrHub *hub)
{
	return hub->crl_error;
}

/* A CRL written by `trellis pki revoke` takes effect without a restart. */
static gboolean
on_crl_check(gpointer p)
{
	TrHub *hub = p;
	g_autoptr(GError) error = NULL;
	gint64 mtime = file_mtime(hub->cfg.tls.crl_file);

	if (mtime == hub->crl_mtime && hub->crl_error == NULL)
		return G_SOURCE_CONTINUE;
	hub->crl_mtime = mtime;
	if (tr_hub_reload(hub, &error))
		g_message("the CRL changed: reloaded it");
	return G_SOURCE_CONTINUE;
}

/* ---- NAT port mapping (common/portmap/portmap.c) ------------------------------------------ */

static void
on_portmap_changed(gpointer p)
{
	hub_changed(p);
}

/* The listening port, TCP and UDP, mapped on the router in front of us. */
static void
hub_portmap_start(TrHub *hub)
{
	if (!hub->cfg.portmap.enabled) {
		g_debug("port mapping: off");
		return;
	}
	hub->portmap = tr_portmap_new(
	        &hub->cfg.portmap,
	        hub->cfg.connect && hub->cfg.connect[0] ? "Trellis node" : "Trellis hub", TRUE);
	tr_portmap_set_changed_func(hub->portmap, on_portmap_changed, hub);
	tr_portmap_set_port(hub->portmap, hub->port);
}

void
tr_hub_start(TrHub *hub)
{
	char a[TR_PREFIX_STRLEN];
	TrPrefix p;

	/* After the privileges are dropped: a thread keeps its own capabilities. */
	hub->handshakes = tr_handshake_pool_new(hub->cfg.handshake_threads);
	hub_accept_start(hub);
	memset(&p, 0, sizeof(p));
	if (hub->pool)
		tr_pool_hub_address(hub->pool, TR_ADDR_IPV4, &p);
	else if (hub->cfg.n_addresses)
		p = hub->cfg.addresses[0];
	g_message(
	        "listening on port %u (TCP control, UDP data); device %s, address %s, auth: %s%s%s",
	        hub->port, tr_device_ifname(hub->dev),
	        p.family ? tr_prefix_to_string(&p, a, sizeof(a)) : "-",
	        tr_tls_creds_has_cert(hub->creds) ? "certificates" : "",
	        tr_tls_creds_has_cert(hub->creds) && tr_tls_creds_has_psk(hub->creds) ? " + " : "",
	        tr_tls_creds_has_psk(hub->creds) ? "shared key" : "");
	if (hub->passwords)
		g_message("clients also need a password (%s)",
		          tr_password_backend_name(hub->passwords));
	if (hub->invite_server_name)
		g_message("invites (trellis invite) are redeemed here, with the CA in %s",
		          hub->cfg.state_dir);
	if (hub->cfg.tls.crl_file) {
		hub->crl_mtime = file_mtime(hub->cfg.tls.crl_file);
		hub->crl_watch = g_timeout_add_seconds(2, on_crl_check, hub);
	}
	hub_connectors_start(hub);
	hub_portmap_start(hub);
}

void
tr_hub_stop(TrHub *hub)
{
	GHashTableIter it;
	gpointer k;

	g_clear_handle_id(&hub->tcp_watch, g_source_remove);
	hub_graph_close(hub); /* BYE before CLOSE */
	g_hash_table_iter_init(&it, hub->sessions);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		Session *s = k;
		if (s->state != SESSION_GONE)
			tr_link_close(s->link, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN,
			              "server shutting down");
	}
}

void
tr_hub_free(TrHub *hub)
{
	TrPlatError perr = {0};

	if (hub == NULL)
		return;
	/* Deletes the mapping on the router (a bounded wait). */
	g_clear_pointer(&hub->portmap, tr_portmap_free);
	g_clear_handle_id(&hub->tcp_watch, g_source_remove);
	g_clear_handle_id(&hub->crl_watch, g_source_remove);
	if (hub->connectors)
		hub_connectors_free(hub);
	g_clear_pointer(&hub->sessions, g_hash_table_unref);
	/* After the sessions: those still handshaking are closed as the threads let go. */
	g_clear_pointer(&hub->handshakes, tr_handshake_pool_free);
	/* The sessions left the data plane; now the workers stop. */
	g_clear_pointer(&hub->dp, tr_dataplane_free);
	g_clear_pointer(&hub->by_identity, g_hash_table_unref);
	g_clear_pointer(&hub->by_index, g_hash_table_unref);
	hub_admission_free(hub);
	g_clear_pointer(&hub->pending_by_source, g_hash_table_unref);
	hub_graph_free(hub);
	hub_forward_free(hub);
	hub_mesh_free(hub);
	if (hub->dev && tr_device_close(hub->dev, &perr) < 0)
		g_warning("closing the device: %s", perr.message);
	hub_close_sockets(hub);
	tr_pool_free(hub->pool);
	tr_names_free(hub->names);
	tr_node_key_free(hub->node_key);
	if (hub->passwords)
		tr_password_backend_free(hub->passwords);
	if (hub->creds)
		tr_tls_creds_unref(hub->creds);
	if (hub->client_creds)
		tr_tls_creds_unref(hub->client_creds);
	g_free(hub->invite_server_name);
	g_free(hub->crl_error);
	tr_hub_config_clear(&hub->cfg);
	g_free(hub);
}

gboolean
tr_hub_reload(TrHub *hub, GError **error)
{
	GHashTableIter it;
	gpointer k;

	if (!tr_tls_creds_reload_crl(hub->creds, error) ||
	    (hub->client_creds && !tr_tls_creds_reload_crl(hub->client_creds, error))) {
		if (hub->cfg.tls.crl_file)
			crl_failed(hub, *error);
		return FALSE;
	}
	crl_loaded(hub);
	if (hub->passwords && !tr_password_backend_reload(hub->passwords, error))
		return FALSE;
	/* Drop connected clients whose certificate is now revoked. */
	g_hash_table_iter_init(&it, hub->sessions);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		Session *s = k;
		g_autoptr(GBytes) cert = NULL;

		if (s->state != SESSION_ACTIVE)
			continue;
		cert = tr_tls_peer_cert(tr_link_get_tls(s->link));
		if (cert && tr_tls_creds_is_revoked(hub->creds, cert)) {
			g_message("client %s: certificate revoked, disconnecting", s->identity);
			hub_unregister(s);
			tr_link_close(s->link, TR_MSG_ERROR, TR_REFUSE_REVOKED,
			              "certificate revoked");
		}
	}
	return TRUE;
}

gboolean
tr_hub_check_access(TrHub *hub, GError **error)
{
	if (hub->cfg.tls.crl_file && !tr_tls_creds_reload_crl(hub->creds, error)) {
		g_prefix_error(error, "cannot read the CRL %s (revocations could not be checked): ",
		               hub->cfg.tls.crl_file);
		return FALSE;
	}
	if (hub->pool && !tr_pool_save(hub->pool, error)) {
		g_prefix_error(error, "cannot save the address leases: ");
		return FALSE;
	}
	if (hub->passwords)
		tr_password_backend_warn_access(hub->passwords);
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

char *
tr_hub_stats_json(TrHub *hub)
{
	GString *out = g_string_new("{");
	gboolean first = TRUE, first_session = TRUE;
	GHashTableIter it;
	gpointer k;
	char a[TR_PREFIX_STRLEN];

	tr_json_key_string(out, &first, "role", "hub");
	tr_json_key_string(out, &first, "device", hub->dev ? tr_device_ifname(hub->dev) : NULL);
	tr_json_key_uint(out, &first, "port", hub->port);
	tr_portmap_stats_json(hub->portmap, hub->cfg.portmap.enabled, out, &first);
	if (hub->dp) {
		TrDpStats st;
		tr_dataplane_stats(hub->dp, &st);
		tr_json_key_uint(out, &first, "rx_drops", st.rx_drops);
		tr_json_key_uint(out, &first, "tun_drops", st.dev_drops);
		tr_json_key_uint(out, &first, "tx_drops", st.tx_drops);
		tr_dataplane_stats_json(hub->dp, out, &first);
	}
	tr_json_key_uint(out, &first, "pending_handshakes", hub->n_pending);
	tr_json_key_uint(out, &first, "waiting_connections", hub->waiting.length);
	tr_json_key_uint(out, &first, "shed_connections", hub->n_shed);
	hub_graph_stats_json(hub, out, &first);
	hub_mesh_stats_json(hub, out, &first);
	tr_json_key(out, &first, "peers");
	g_string_append_c(out, '[');
	g_hash_table_iter_init(&it, hub->sessions);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		Session *s = k;
		gboolean f = TRUE;

		if (s->state != SESSION_ACTIVE)
			continue;
		if (!first_session)
			g_string_append_c(out, ',');
		first_session = FALSE;
		g_string_append_c(out, '{');
		tr_json_key_string(out, &f, "kind", s->kind->noun);
		tr_json_key_string(out, &f, "identity", s->identity);
		tr_json_key_string(out, &f, "connection", s->remote);
		tr_json_key(out, &f, "addresses");
		g_string_append_c(out, '[');
		for (guint i = 0; i < s->n_addrs; i++) {
			if (i)
				g_string_append_c(out, ',');
			tr_json_string(out, tr_prefix_to_string(&s->addrs[i], a, sizeof(a)));
		}
		g_string_append_c(out, ']');
		if (hub_session_is_node(s))
			tr_json_key_bool(out, &f, "pairs_across_hubs",
			                 hub_node_link_pairs(s)->takes);
		tr_link_stats_json(s->link, out, &f);
		g_string_append_c(out, '}');
	}
	g_string_append(out, "]}");
	return g_string_free(out, FALSE);
}

void
tr_hub_set_changed_func(TrHub *hub, void (*func)(gpointer), gpointer user_data)
{
	hub->changed = func;
	hub->changed_data = user_data;
}

void
hub_changed(TrHub *hub)
{
	if (hub->changed)
		hub->changed(hub->changed_data);
}

gboolean
tr_hub_disconnect(TrHub *hub, const char *identity, GError **error)
{
	Session *s = g_hash_table_lookup(hub->by_identity, identity);

	if (s == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND, "no session of '%s'", identity);
		return FALSE;
	}
	g_message("disconnecting %s on request", identity);
	hub_unregister(s);
	tr_link_close(s->link, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN,
	              "disconnected by the administrator");
	hub_changed(hub);
	return TRUE;
}
