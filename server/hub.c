/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hub: its sockets and device, the routing between them and the
 * sessions, and its lifetime. Sessions are in session.c and peer.c.
 */
#include "server/hub-private.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "tr-config.h"

#include <errno.h>
#include <glib-unix.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

gboolean
tr_hub_parse_listen(const char *listen, char **host, uint16_t *port, GError **error)
{
	*host = NULL;
	if (!strchr(listen, ':') && g_ascii_isdigit(listen[0]))
		return tr_port_parse(listen, port, error);
	if (!tr_hostport_parse(listen, TR_DEFAULT_PORT, host, port, error))
		return FALSE;
	if (g_strcmp0(*host, "*") == 0 || g_strcmp0(*host, "") == 0)
		g_clear_pointer(host, g_free);
	return TRUE;
}

void
tr_hub_config_init(TrHubConfig *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = g_strdup("3210");
	c->mtu = TR_MTU_DEFAULT;
	c->n_ciphers = tr_cipher_default_list(c->ciphers, G_N_ELEMENTS(c->ciphers));
	c->compression = TR_COMPRESS_NONE;
	c->magic = TR_MAGIC_DEFAULT;
	c->keepalive = 10;
	c->peer_timeout = 60;
	c->client_to_client = TRUE;
	c->udp = TRUE;
	c->dev_type = TR_DEVICE_TUN;
	c->mode = TR_FWD_MODE_NORMAL;
	c->dst_timeout = 300;
	c->handshake_timeout_ms = 10000;
	c->max_pending = 64;
	c->max_pending_per_source = 16;
	tr_dp_tuning_init(&c->tuning);
	tr_portmap_settings_init(&c->portmap);
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
	g_free(c->ifup);
	g_free(c->ifdown);
	g_free(c->state_dir);
	g_strfreev(c->connect);
	g_free(c->node_name);
	memset(c, 0, sizeof(*c));
}

/* ---- Settings ------------------------------------------------------------------ */

TrLinkTiming
hub_timing(TrHub *hub)
{
	return (TrLinkTiming){hub->cfg.keepalive, hub->cfg.peer_timeout, hub->cfg.udp};
}

static char *
cipher_list(const TrCipher *list, guint n)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < n; i++)
		g_string_append_printf(s, "%s%s", i ? "," : "", tr_cipher_name(list[i]));
	return g_string_free(s, FALSE);
}

/* The hub's preference among what the peer offers; plaintext only when both
 * sides configured it explicitly. */
gboolean
hub_pick_cipher(TrHub *hub, const TrMsg *hello, TrCipher *out, char **why)
{
	TrCipher theirs[TR_MAX_LIST];
	g_autofree char *a = NULL, *b = NULL;

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
	for (guint j = 0; j < hello->n_ciphers; j++)
		theirs[j] = (TrCipher)hello->ciphers[j];
	a = cipher_list(theirs, hello->n_ciphers);
	b = cipher_list(hub->cfg.ciphers, hub->cfg.n_ciphers);
	*why = g_strdup_printf("no common cipher (the peer offers %s, this node allows %s%s)", a, b,
	                       (hello->features & TR_FEATURE_PLAINTEXT) || hub->cfg.allow_plaintext
	                               ? "; plaintext needs both sides to allow it"
	                               : "");
	return FALSE;
}

/* Compression only when this node enables it and the peer offers it. */
TrCompress
hub_pick_compression(TrHub *hub, const TrMsg *hello)
{
	for (guint i = 0; i < hello->n_compressions; i++) {
		if (hub->cfg.compression != TR_COMPRESS_NONE &&
		    hello->compressions[i] == hub->cfg.compression)
			return hub->cfg.compression;
	}
	return TR_COMPRESS_NONE;
}

uint32_t
hub_new_index(TrHub *hub)
{
	uint32_t index;

	do {
		gnutls_rnd(GNUTLS_RND_NONCE, &index, sizeof(index));
	} while (index == 0 || g_hash_table_contains(hub->by_index, GUINT_TO_POINTER(index)));
	return index;
}

void
hub_fill_dc_config(TrHub *hub, TrDcConfig *dcc, TrCipher cipher, TrCompress comp,
                   uint32_t local_index, uint32_t peer_index)
{
	tr_dc_config_init(dcc);
	dcc->magic = hub->cfg.magic;
	dcc->cipher = cipher;
	dcc->allow_plaintext = cipher == TR_CIPHER_NONE;
	dcc->compress = comp;
	dcc->local_index = local_index;
	dcc->peer_index = peer_index;
	if (hub->cfg.rekey_sec) {
		dcc->rekey_after_usec = (gint64)hub->cfg.rekey_sec * G_USEC_PER_SEC;
		dcc->reject_after_usec = 3 * dcc->rekey_after_usec;
	}
}

/* ---- Sockets ---------------------------------------------------------------- */

/* ---- Admission ---------------------------------------------------------------- */

/*
 * Connections that have not authenticated yet are capped twice: at most
 * --max-pending in all and --max-pending-per-source from one source (an
 * IPv4 address, an IPv6 /64). When the global cap is reached, a connection
 * from a source with fewer pending handshakes than the busiest source
 * takes the place of the busiest source's oldest one: one source, however
 * many connections it opens, cannot keep everyone else out.
 */
static char *
source_key(const struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		struct in6_addr a = ((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(&a))
			return g_strdup(inet_ntop(AF_INET, &a.s6_addr[12], buf, sizeof(buf)));
		memset(&a.s6_addr[8], 0, 8); /* a /64 is one source */
		return g_strdup_printf("%s/64", inet_ntop(AF_INET6, &a, buf, sizeof(buf)));
	}
	if (ss->ss_family == AF_INET)
		return g_strdup(inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
		                          sizeof(buf)));
	return g_strdup("?");
}

static guint
source_pending(TrHub *hub, const char *source)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(hub->pending_by_source, source));
}

void
hub_pending_leave(Client *c)
{
	TrHub *hub = c->hub;
	guint n;

	if (!c->pending)
		return;
	c->pending = FALSE;
	hub->n_pending--;
	n = source_pending(hub, c->source);
	if (n <= 1)
		g_hash_table_remove(hub->pending_by_source, c->source);
	else
		g_hash_table_insert(hub->pending_by_source, g_strdup(c->source),
		                    GUINT_TO_POINTER(n - 1));
}

/* The oldest pending connection of the source with the most, if that source
 * has more than @than. */
static Client *
pick_victim(TrHub *hub, guint than)
{
	GHashTableIter it;
	gpointer k, v;
	const char *busiest = NULL;
	guint most = than;
	Client *victim = NULL;

	g_hash_table_iter_init(&it, hub->pending_by_source);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (GPOINTER_TO_UINT(v) > most) {
			most = GPOINTER_TO_UINT(v);
			busiest = k;
		}
	}
	if (busiest == NULL)
		return NULL;
	g_hash_table_iter_init(&it, hub->clients);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		Client *c = k;

		if (c->pending && strcmp(c->source, busiest) == 0 &&
		    (victim == NULL || c->admitted_at < victim->admitted_at))
			victim = c;
	}
	return victim;
}

/* Whether a connection from @source may start its handshake now (making room
 * if the cap is reached and it is fair to). */
static gboolean
admit(TrHub *hub, const char *source, const char *peer)
{
	guint mine = source_pending(hub, source);
	Client *victim;

	if (mine >= hub->cfg.max_pending_per_source) {
		if (tr_log_limit(&hub->admission_log, "connections refused at admission", 5, 60))
			g_message("refused %s: %u handshakes from %s are pending already "
			          "(--max-pending-per-source)",
			          peer, mine, source);
		return FALSE;
	}
	if (hub->n_pending < hub->cfg.max_pending)
		return TRUE;
	victim = pick_victim(hub, mine + 1);
	if (victim == NULL) {
		if (tr_log_limit(&hub->admission_log, "connections refused at admission", 5, 60))
			g_warning("too many pending handshakes (%u): refusing %s", hub->n_pending,
			          peer);
		return FALSE;
	}
	if (tr_log_limit(&hub->admission_log, "connections refused at admission", 5, 60))
		g_message("too many pending handshakes (%u): %s takes the place of one of the %u "
		          "from %s",
		          hub->n_pending, peer, source_pending(hub, victim->source),
		          victim->source);
	hub_pending_leave(victim);
	victim->refused = TRUE;
	tr_link_close(victim->link, TR_MSG_ERROR, TR_REFUSE_TIMEOUT, "too many pending handshakes");
	return TRUE;
}

static gboolean
on_accept(gint fd, GIOCondition cond, gpointer p)
{
	TrHub *hub = p;

	for (int n = 0; n < 64; n++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		g_autoptr(GError) error = NULL;
		g_autofree char *source = NULL;
		char peer[80];
		Client *c;
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0)
			break;
		tr_sockaddr_to_string((struct sockaddr *)&ss, peer, sizeof(peer));
		source = source_key(&ss);
		if (!admit(hub, source, peer)) {
			close(cfd);
			continue;
		}
		c = hub_session_new(hub, cfd, peer, hub->creds, TRUE, &error);
		if (c == NULL) {
			if (tr_log_limit(&hub->admission_log, "connections refused at admission", 5,
			                 60))
				g_warning("cannot accept %s: %s", peer, error->message);
			continue;
		}
		c->source = g_steal_pointer(&source);
		c->pending = TRUE;
		c->admitted_at = g_get_monotonic_time();
		hub->n_pending++;
		g_hash_table_insert(hub->pending_by_source, g_strdup(c->source),
		                    GUINT_TO_POINTER(source_pending(hub, c->source) + 1));
		tr_link_start(c->link, hub->cfg.handshake_timeout_ms);
	}
	return G_SOURCE_CONTINUE;
}

/* The TCP control socket; the UDP sockets join its address and port (tr_dp_open_sockets). */
static int
listen_tcp(const char *host, guint16 port, GError **error)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	int fd, one = 1, zero = 0;

	if (host == NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons(port);
		sl = sizeof(*sin6);
	} else {
		g_autofree char *text =
		        g_strdup_printf(strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
		if (!tr_sockaddr_parse(text, port, &ss, &sl, error))
			return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && host == NULL && errno == EAFNOSUPPORT) {
		/* No IPv6 on this host: all IPv4 addresses instead. */
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		memset(&ss, 0, sizeof(ss));
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sl = sizeof(*sin);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0) {
		tr_set_error_errno(error, errno, "socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		tr_set_error_errno(error, errno, "cannot listen on port %u (TCP)", port);
		close(fd);
		return -1;
	}
	if (listen(fd, 128) < 0) {
		tr_set_error_errno(error, errno, "listen");
		close(fd);
		return -1;
	}
	return fd;
}

static gboolean
setup_device(TrHub *hub, GError **error)
{
	TrPlatError perr = {0};
	TrPrefix a;

	hub->dev = tr_device_open_ex(hub->cfg.dev_type, hub->cfg.device, hub->cfg.device_path,
	                             tr_dp_tuning_workers(&hub->cfg.tuning),
	                             hub->cfg.tuning.tun_offload ? TR_DEVICE_OFFLOAD : 0, &perr);
	if (hub->dev == NULL)
		goto fail;
	if (tr_device_set_mtu(hub->dev, hub->cfg.mtu, &perr) < 0)
		goto fail;
	if (hub->pool && tr_pool_hub_address(hub->pool, TR_ADDR_IPV4, &a) &&
	    tr_device_add_address(hub->dev, &a, &perr) < 0)
		goto fail;
	if (hub->pool && tr_pool_hub_address(hub->pool, TR_ADDR_IPV6, &a) &&
	    tr_device_add_address(hub->dev, &a, &perr) < 0)
		goto fail;
	for (guint i = 0; i < hub->cfg.n_addresses; i++)
		if (tr_device_add_address(hub->dev, &hub->cfg.addresses[i], &perr) < 0)
			goto fail;
	if (tr_device_set_up(hub->dev, true, &perr) < 0)
		goto fail;
	if ((hub->cfg.ifup || hub->cfg.ifdown) &&
	    tr_device_ifup(hub->dev, hub->cfg.ifup, hub->cfg.ifdown, &perr) < 0)
		goto fail;
	return TRUE;
fail:
	g_set_error(error, TR_ERROR,
	            perr.code == -EPERM || perr.code == -EACCES ? TR_ERROR_PERMISSION : TR_ERROR_IO,
	            "%s", perr.message);
	return FALSE;
}

static gboolean
start_dataplane(TrHub *hub, GError **error)
{
	TrDpConfig dpc;

	tr_dp_config_setup(&dpc, &hub->cfg.tuning, hub->dev, hub->udp_fds, hub->n_udp);
	dpc.magic = hub->cfg.magic;
	dpc.frame = (TrFrameType)hub->cfg.dev_type;
	dpc.mtu = hub->cfg.mtu;
	dpc.hub = TRUE;
	dpc.client_to_client = hub->cfg.client_to_client;
	hub->dp = tr_dataplane_new(&dpc, error);
	return hub->dp != NULL;
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
	hub->cfg.ifup = g_strdup(config->ifup);
	hub->cfg.ifdown = g_strdup(config->ifdown);
	hub->cfg.state_dir = g_strdup(config->state_dir);
	hub->cfg.connect = g_strdupv(config->connect);
	hub->cfg.node_name = g_strdup(config->node_name);
	hub->cfg.tls.is_server = TRUE;

	hub->clients = g_hash_table_new_full(g_direct_hash, g_direct_equal, hub_session_free, NULL);
	hub->by_identity = g_hash_table_new(g_str_hash, g_str_equal);
	hub->by_index = g_hash_table_new(g_direct_hash, g_direct_equal);
	hub->pending_by_source = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	if (!tr_hub_parse_listen(config->listen, &host, &port, error))
		return NULL;

	hub_invites_setup(hub);
	hub->creds = tr_tls_creds_new(&hub->cfg.tls, error);
	if (hub->creds == NULL)
		return NULL;
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
		if (config->tls.shared_key == NULL) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "--connect between nodes needs --shared-key (certificates are "
			            "issued for one role, client or server, and a node is both)");
			return NULL;
		}
		cc.is_server = FALSE;
		cc.psk_lookup = NULL;
		cc.ca_file = cc.cert_file = cc.key_file = cc.crl_file = NULL;
		cc.psk_identity = config->node_name;
		hub->client_creds = tr_tls_creds_new(&cc, error);
		if (hub->client_creds == NULL)
			return NULL;
	}
	hub->connectors = g_ptr_array_new();

	hub->tcp_fd = listen_tcp(host, port, error);
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
	{
		/* The UDP sockets take the address the TCP socket got, and its port. */
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		getsockname(hub->tcp_fd, (struct sockaddr *)&ss, &sl);
		hub->udp_fds = tr_dp_open_sockets((struct sockaddr *)&ss, sl,
		                                  tr_dp_tuning_workers(&hub->cfg.tuning),
		                                  hub->cfg.tuning.udp_gro, &hub->n_udp, error);
		if (hub->udp_fds == NULL)
			return NULL;
		hub->udp_fd = hub->udp_fds[0];
	}
	if (!setup_device(hub, error))
		return NULL;
	if (!start_dataplane(hub, error))
		return NULL;
	if (!hub_forward_init(hub, error))
		return NULL;
	return g_steal_pointer(&hub);
}

static gint64
file_mtime(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 0;
	return (gint64)st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
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

	hub->tcp_watch = g_unix_fd_add(hub->tcp_fd, G_IO_IN, on_accept, hub);
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
	hub_peers_start(hub);
	hub_portmap_start(hub);
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
			tr_link_close(c->link, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN,
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
		hub_peers_free(hub);
	if (hub->clients)
		g_hash_table_unref(hub->clients);
	/* The sessions removed their peers; now the workers stop. */
	g_clear_pointer(&hub->dp, tr_dataplane_free);
	g_clear_pointer(&hub->by_identity, g_hash_table_unref);
	g_clear_pointer(&hub->by_index, g_hash_table_unref);
	g_clear_pointer(&hub->pending_by_source, g_hash_table_unref);
	hub_forward_free(hub);
	if (hub->dev && tr_device_close(hub->dev, &perr) < 0)
		g_warning("closing the device: %s", perr.message);
	if (hub->tcp_fd >= 0)
		close(hub->tcp_fd);
	for (guint i = 0; i < hub->n_udp; i++)
		close(hub->udp_fds[i]);
	g_free(hub->udp_fds);
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

	if (!tr_tls_creds_reload_crl(hub->creds, error)) {
		if (hub->cfg.tls.crl_file)
			crl_failed(hub, *error);
		return FALSE;
	}
	crl_loaded(hub);
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
			hub_unregister(c);
			tr_link_close(c->link, TR_MSG_ERROR, TR_REFUSE_REVOKED,
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

char *
tr_hub_stats_json(TrHub *hub)
{
	GString *out = g_string_new("{");
	gboolean first = TRUE, first_peer = TRUE;
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
	tr_json_key(out, &first, "peers");
	g_string_append_c(out, '[');
	g_hash_table_iter_init(&it, hub->clients);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		Client *c = k;
		gboolean f = TRUE;

		if (c->state != CLIENT_ACTIVE)
			continue;
		if (!first_peer)
			g_string_append_c(out, ',');
		first_peer = FALSE;
		g_string_append_c(out, '{');
		tr_json_key_string(out, &f, "kind", c->is_peer ? "node" : "client");
		tr_json_key_string(out, &f, "identity", c->identity);
		tr_json_key_string(out, &f, "connection", c->peer);
		tr_json_key(out, &f, "addresses");
		g_string_append_c(out, '[');
		for (guint i = 0; i < c->n_addrs; i++) {
			if (i)
				g_string_append_c(out, ',');
			tr_json_string(out, tr_prefix_to_string(&c->addrs[i], a, sizeof(a)));
		}
		g_string_append_c(out, ']');
		tr_link_stats_json(c->link, out, &f);
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
	Client *c = g_hash_table_lookup(hub->by_identity, identity);

	if (c == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND, "no session of '%s'", identity);
		return FALSE;
	}
	g_message("disconnecting %s on request", identity);
	hub_unregister(c);
	tr_link_close(c->link, TR_MSG_CLOSE, TR_REFUSE_SHUTDOWN,
	              "disconnected by the administrator");
	hub_changed(hub);
	return TRUE;
}
