/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "server/options.h"

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/auth/shared-key.h"
#include "common/daemon/dataplane-options.h"
#include "common/daemon/shared-key-options.h"
#include "common/pki/pki.h"
#include "server/auth-password.h"
#include "common/daemon/service.h"
#include "tr-config.h"

#include <string.h>

static const char *const device_types[] = {"tun", "tap", NULL};
static const char *const modes[] = {"normal", "hub", "switch", "router", NULL};

const TrOptDesc tr_server_options[] = {
        {"config", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "General",
         "Read options from this key file (section [server], keys are the long option names); the "
         "command line overrides it",
         TR_OPT_FLAG_CLI_ONLY},
        {"listen", 'l', TR_OPT_STRING, "[ADDR:]PORT", "3210", 0, 0, NULL, "Network",
         "Port, or address and port, for TCP control and UDP data", 0},
        {"ca", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "Security",
         "The network's CA certificate (PEM)", 0},
        {"cert", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "Security",
         "This hub's certificate (PEM)", 0},
        {"key", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "Security",
         "This hub's private key (PEM, mode 0600)", 0},
        {"crl", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "Security",
         "Certificate revocation list (PEM); re-read when it changes and on SIGHUP", 0},
        TR_SHARED_KEY_OPTIONS{
                "password-file", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "Security",
                "Also require a password, checked against this file of user:crypt-hash lines", 0},
        {"pam-service", 0, TR_OPT_STRING, "NAME", NULL, 0, 0, NULL, "Security",
         "Also require a password, checked by PAM with this service", 0},
        {"crypto", 0, TR_OPT_STRINGS, "CIPHER",
         "the faster of aes256-gcm and chacha20-poly1305 first", 0, 0, NULL, "Security",
         "Ciphers allowed, in order of preference: aes256-gcm, chacha20-poly1305, plaintext "
         "(plaintext only with clients that also ask for it)",
         0},
        {"compression", 0, TR_OPT_STRING, "ALG", "none", 0, 0, NULL, "Security",
         "Allow compression: none or lzo (compressing before encrypting can leak what is sent)", 0},
        {"magic", 0, TR_OPT_STRING, "ID", "74726c01", 0, 0, NULL, "Network",
         "Network magic in every data packet: 8 hex digits, or hash:TEXT", 0},
        {"pool", 0, TR_OPT_STRING, "PREFIX", "198.19.0.0/24", 0, 0, NULL, "Addresses",
         "IPv4 pool for client addresses, or none; the hub takes the first address", 0},
        {"pool6", 0, TR_OPT_STRING, "PREFIX", "fd00:7472::/64", 0, 0, NULL, "Addresses",
         "IPv6 pool for client addresses, or none", 0},
        {"address", 'a', TR_OPT_STRINGS, "ADDR/LEN", NULL, 0, 0, NULL, "Addresses",
         "This node's own tunnel address; given without a pool, the node assigns no addresses", 0},
        {"route", 0, TR_OPT_STRINGS, "PREFIX", NULL, 0, 0, NULL, "Addresses",
         "A route to push to clients", 0},
        {"dns", 0, TR_OPT_STRINGS, "ADDR", NULL, 0, 0, NULL, "Addresses",
         "A DNS server to push to clients", 0},
        {"dns-search", 0, TR_OPT_STRINGS, "DOMAIN", NULL, 0, 0, NULL, "Addresses",
         "A DNS search domain to push to clients", 0},
        {"mtu", 0, TR_OPT_INT, "BYTES", NULL, 576, 65535, NULL, "Device",
         "Tunnel MTU; by default 1416 for tun and 1402 for tap, so that a full packet fits a "
         "1500-byte path over IPv6 (smaller paths are discovered per peer)",
         0},
        {"type", 't', TR_OPT_STRING, "TYPE", "tun", 0, 0, device_types, "Device",
         "Device type: tun carries IP packets, tap Ethernet frames", 0},
        {"mode", 'm', TR_OPT_STRING, "MODE", "normal", 0, 0, modes, "Network",
         "hub sends every packet to every peer; switch learns MAC addresses (tap); router forwards "
         "by claimed subnets and drops the rest; normal is switch for tap, router for tun",
         0},
        {"subnet", 's', TR_OPT_STRINGS, "PREFIX", NULL, 0, 0, NULL, "Addresses",
         "A subnet (IPv4, IPv6 or MAC prefix) reached through this node's device", 0},
        {"dst-timeout", 0, TR_OPT_INT, "SECS", "300", 1, 86400, NULL, "Network",
         "Switch mode: forget a learnt MAC address after this long", 0},
        {"device", 'd', TR_OPT_STRING, "NAME", "trellis%d", 0, 0, NULL, "Device",
         "Device name; %d becomes a free number", 0},
        {"device-path", 0, TR_OPT_PATH, "PATH", "/dev/net/tun", 0, 0, NULL, "Device",
         "Path of the tun clone device", 0},
        {"ifup", 0, TR_OPT_STRING, "CMD", NULL, 0, 0, NULL, "Device",
         "Command run with sh -c, IFNAME set, once the device is configured", 0},
        {"ifdown", 0, TR_OPT_STRING, "CMD", NULL, 0, 0, NULL, "Device",
         "Command run with sh -c, IFNAME set, before the device is removed", 0},
        {"keepalive", 0, TR_OPT_INT, "SECS", "10", 1, 3600, NULL, "Network",
         "Keepalive interval pushed to clients; UDP falls back to TLS after keepalive + 2 s of "
         "silence",
         0},
        {"rekey-interval", 0, TR_OPT_INT, "SECS", "600", 2, 86400, NULL, "Security",
         "Replace each session's data keys after this long (new keys from the TLS exporter; no "
         "packet is lost)",
         0},
        {"peer-timeout", 0, TR_OPT_INT, "SECS", "60", 5, 86400, NULL, "Network",
         "Drop peers silent for this long", 0},
        {"no-client-to-client", 0, TR_OPT_BOOL, NULL, NULL, 0, 0, NULL, "Network",
         "Do not route traffic between clients", 0},
        {"no-mesh", 0, TR_OPT_BOOL, NULL, NULL, 0, 0, NULL, "Network",
         "Do not introduce clients that exchange traffic to each other (pair sessions, "
         "docs/MESH.md): their traffic goes through the hub",
         0},
        {"no-relay", 0, TR_OPT_BOOL, NULL, NULL, 0, 0, NULL, "Network",
         "Relay no sealed datagrams between paired clients (docs/MESH.md)", 0},
        {"relay-rate", 0, TR_OPT_INT, "KBIT", "0", 0, 100000000, NULL, "Network",
         "Relay at most this many kbit/s for each pair of clients, both ways together (0: no "
         "limit; frames over it are dropped)",
         0},
        {"no-udp", 0, TR_OPT_BOOL, NULL, NULL, 0, 0, NULL, "Network",
         "Carry data over the TLS stream only", 0},
        {"connect", 'c', TR_OPT_STRINGS, "HOST[:PORT]", NULL, 0, 0, NULL, "Network",
         "Another node configured alike, or another hub of the network (each with its own "
         "--pool slice), to connect to, retried for ever (needs --name, and --shared-key or "
         "this hub's server certificate of the network's CA, whose name is its --name)",
         0},
        {"name", 0, TR_OPT_STRING, "NAME", "hub", 0, 0, NULL, "Security",
         "This node's name: its certificate's name on the state directory's CA, and its unique "
         "name among nodes that connect each other",
         0},
        {"state-dir", 0, TR_OPT_PATH, "DIR", "$TRELLIS_STATE_DIR or " TR_LOCALSTATEDIR, 0, 0, NULL,
         "General",
         "Address leases and, when no ca/cert/key/shared-key is given, the network's CA (created "
         "on first run with this hub's certificate)",
         0},
        {"handshake-timeout", 0, TR_OPT_INT, "SECS", "10", 1, 300, NULL, "Network",
         "Time a client has to finish TLS and send HELLO", 0},
        {"max-pending", 0, TR_OPT_INT, "N", "64", 1, 100000, NULL, "Network",
         "Most connections in the handshake at once; when full, a source with fewer takes the "
         "place of the busiest source's oldest, and the others wait their turn "
         "(--max-waiting)",
         0},
        {"max-waiting", 0, TR_OPT_INT, "N", "16384", 1, 1000000, NULL, "Network",
         "Most connections accepted and waiting for a handshake slot (a reconnection storm: "
         "every client of the hub at once; one file descriptor each); more are closed at once",
         0},
        {"max-pending-per-source", 0, TR_OPT_INT, "N", "16", 1, 100000, NULL, "Network",
         "Most connections in the handshake at once from one address (IPv6: one /64); more are "
         "closed at once",
         0},
        {"handshake-threads", 0, TR_OPT_INT, "N", "0", 0, 64, NULL, "Performance",
         "Threads that do the TLS handshakes of new connections, off the main loop; 0 is one per "
         "CPU core",
         0},
        TR_DATAPLANE_OPTIONS TR_PORTMAP_OPTIONS TR_SERVICE_OPTIONS};
const guint tr_server_n_options = G_N_ELEMENTS(tr_server_options);

#define S(name) tr_options_get_string(o, name)

static gboolean
parse_pool(TrOptions *o, const char *name, TrAddrFamily family, TrPrefix *out, GError **error)
{
	const char *text = S(name);

	if (text == NULL)
		return TRUE;
	memset(out, 0, sizeof(*out));
	if (strcmp(text, "none") == 0)
		return TRUE;
	if (!tr_prefix_parse(text, TR_PREFIX_IP_ONLY | TR_PREFIX_REQUIRE_LEN, out, error))
		return tr_options_error_at(o, name, error);
	if (out->family != family) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "'%s' is not an %s prefix", text,
		            family == TR_ADDR_IPV4 ? "IPv4" : "IPv6");
		return tr_options_error_at(o, name, error);
	}
	return TRUE;
}

gboolean
tr_hub_config_from_options(TrOptions *o, TrHubConfig *c, GError **error)
{
	const char *const *crypto = tr_options_get_strv(o, "crypto");

	if (S("listen")) {
		g_autofree char *host = NULL;
		uint16_t port;

		if (!tr_hub_parse_listen(S("listen"), &host, &port, error))
			return tr_options_error_at(o, "listen", error);
		g_free(c->listen);
		c->listen = g_strdup(S("listen"));
	}
	c->tls.ca_file = g_strdup(S("ca"));
	c->tls.cert_file = g_strdup(S("cert"));
	c->tls.key_file = g_strdup(S("key"));
	c->tls.crl_file = g_strdup(S("crl"));
	{
		char *key = NULL;

		if (!tr_shared_key_from_options(o, &key, error))
			return FALSE;
		c->tls.shared_key = key;
	}
#ifdef G_OS_WIN32
	/* Refused here too, to name the config line (auth-password-none.c). */
	if (S("password-file") || S("pam-service")) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_UNSUPPORTED, TR_PASSWORD_NONE_REASON);
		return tr_options_error_at(o, S("password-file") ? "password-file" : "pam-service",
		                           error);
	}
#endif
	c->password_file = g_strdup(S("password-file"));
	c->pam_service = g_strdup(S("pam-service"));
	c->pam_confdir = g_strdup(g_getenv("TRELLIS_PAM_CONFDIR"));
	c->dns = g_strdupv((char **)tr_options_get_strv(o, "dns"));
	c->dns_search = g_strdupv((char **)tr_options_get_strv(o, "dns-search"));
	c->device = g_strdup(S("device"));
	c->device_path = g_strdup(S("device-path"));
	c->ifup = g_strdup(S("ifup"));
	c->ifdown = g_strdup(S("ifdown"));
	c->state_dir = g_strdup(S("state-dir") ? S("state-dir") : tr_state_dir_default());
	c->client_to_client = !tr_options_get_bool(o, "no-client-to-client");
	c->udp = !tr_options_get_bool(o, "no-udp");
	c->mesh = !tr_options_get_bool(o, "no-mesh");
	c->relay = !tr_options_get_bool(o, "no-relay");
	/* A test switch, not an option: a hub of an older version (docs/TESTING.md). */
	c->no_pairs_across = g_getenv("TRELLIS_TEST_NO_PAIRS_ACROSS") != NULL;
	c->relay_rate = (guint64)tr_options_get_int(o, "relay-rate", 0) * 1000 / 8;
	c->keepalive = (guint)tr_options_get_int(o, "keepalive", 10);
	c->peer_timeout = (guint)tr_options_get_int(o, "peer-timeout", 60);
	c->rekey_sec = (guint)tr_options_get_int(o, "rekey-interval", 600);
	c->max_pending = (guint)tr_options_get_int(o, "max-pending", 64);
	c->max_pending_per_source = (guint)tr_options_get_int(o, "max-pending-per-source", 16);
	c->max_waiting = (guint)tr_options_get_int(o, "max-waiting", 16384);
	c->handshake_timeout_ms = (guint)tr_options_get_int(o, "handshake-timeout", 10) * 1000;
	c->handshake_threads = (guint)tr_options_get_int(o, "handshake-threads", 0);
	c->connect = g_strdupv((char **)tr_options_get_strv(o, "connect"));
	c->dst_timeout = (guint)tr_options_get_int(o, "dst-timeout", 300);
	tr_dp_tuning_from_options(o, &c->tuning);
	tr_portmap_settings_from_options(o, &c->portmap);
	if (S("type") && g_strcmp0(S("type"), "tap") == 0)
		c->dev_type = TR_DEVICE_TAP;
	c->mtu = (guint)tr_options_get_int(
	        o, "mtu", c->dev_type == TR_DEVICE_TAP ? TR_MTU_DEFAULT_TAP : TR_MTU_DEFAULT);
	if (S("mode") && !tr_fwd_mode_parse(S("mode"), &c->mode, error))
		return tr_options_error_at(o, "mode", error);
	if (!tr_fwd_mode_check(c->mode, (TrFrameType)c->dev_type, error))
		return tr_options_error_at(o, "mode", error);
	if (!tr_options_get_prefixes(o, "subnet", 0, c->subnets, G_N_ELEMENTS(c->subnets),
	                             &c->n_subnets, error))
		return FALSE;
	c->node_name = g_strdup(S("name"));
	if (c->node_name && !tr_pki_name_validate(c->node_name, error))
		return tr_options_error_at(o, "name", error);

	if (!tr_options_get_prefixes(
	            o, "address",
	            TR_PREFIX_IP_ONLY | TR_PREFIX_ALLOW_HOST_BITS | TR_PREFIX_REQUIRE_LEN,
	            c->addresses, G_N_ELEMENTS(c->addresses), &c->n_addresses, error))
		return FALSE;
	/* A node with its own address and no pool assigns none. */
	if (c->n_addresses > 0 && !S("pool") && !S("pool6")) {
		memset(&c->pool4, 0, sizeof(c->pool4));
		memset(&c->pool6, 0, sizeof(c->pool6));
	}
	if (!parse_pool(o, "pool", TR_ADDR_IPV4, &c->pool4, error) ||
	    !parse_pool(o, "pool6", TR_ADDR_IPV6, &c->pool6, error))
		return FALSE;
	/* Caught here, not by clients and nodes retrying for ever. A tap network
	 * may push no addresses (a DHCP server on the tunnel gives them). */
	if (c->n_addresses == 0 && c->pool4.family == TR_ADDR_NONE &&
	    c->pool6.family == TR_ADDR_NONE && c->dev_type != TR_DEVICE_TAP) {
		g_set_error(
		        error, TR_ERROR, TR_ERROR_CONFIG,
		        "this node would have no tunnel address and assign none: give it a pool "
		        "for its clients (--pool, --pool6: a hub) or its own --address ADDR/LEN "
		        "(a node of a symmetric network); only a tap network (--type tap) may "
		        "leave addresses to DHCP");
		return FALSE;
	}
	/* A hub joining hubs names its slice: the default pool is every hub's. */
	if (c->connect && c->connect[0] && c->n_addresses == 0 && !S("pool") && !S("pool6")) {
		g_set_error(
		        error, TR_ERROR, TR_ERROR_CONFIG,
		        "--connect makes this a node of a symmetric network, which needs its own "
		        "tunnel address: add --address ADDR/LEN (each node its own, in one prefix; "
		        "nodes assign no addresses); or, for a hub joining other hubs, give it its "
		        "own slice with --pool and --pool6 (docs/MESH.md, \"Many hubs\")");
		return FALSE;
	}
	if (!tr_options_get_prefixes(o, "route", TR_PREFIX_IP_ONLY, c->routes, TR_HUB_MAX_PUSH,
	                             &c->n_routes, error))
		return FALSE;
	for (guint i = 0; c->dns && c->dns[i]; i++) {
		TrPrefix p;
		if (!tr_prefix_parse(c->dns[i], TR_PREFIX_IP_ONLY, &p, error))
			return tr_options_error_at(o, "dns", error);
	}
	if (crypto && !tr_cipher_parse_list(crypto, c->ciphers, G_N_ELEMENTS(c->ciphers),
	                                    &c->n_ciphers, &c->allow_plaintext, error))
		return tr_options_error_at(o, "crypto", error);
	if (S("compression") && !tr_compress_parse(S("compression"), &c->compression, error))
		return tr_options_error_at(o, "compression", error);
	if (S("magic") && !tr_magic_parse(S("magic"), &c->magic, error))
		return tr_options_error_at(o, "magic", error);
	/* The shared key's PSK is bound to the network (common/auth/shared-key.h). */
	tr_magic_to_string(&c->magic, c->tls.psk_network);
	return TRUE;
}
