/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "client/options.h"

#include "tr-config.h"

#include "client/password.h"
#include "common/base/error.h"
#include "common/auth/shared-key.h"
#include "common/daemon/dataplane-options.h"
#include "common/daemon/shared-key-options.h"
#include "common/auth/identity.h"
#include "common/pki/pki.h"
#include "common/daemon/service.h"

static const char *const device_types[] = {"tun", "tap", NULL};

const TrOptDesc tr_client_options[] = {
        {"config", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "General",
         "Read options from this key file (section [client], keys are the long option names); the "
         "command line overrides it",
         TR_OPT_FLAG_CLI_ONLY},
        {"connect", 'c', TR_OPT_STRINGS, "HOST[:PORT]", NULL, 0, 0, NULL, "Network",
         "Hub to connect to; with several, in order of preference: when a hub fails or refuses, "
         "the client moves to the next at once, and waits with backoff only once all have failed",
         0},
        {"failback", 0, TR_OPT_INT, "SECS", "0", 0, 86400, NULL, "Network",
         "While connected to a later --connect hub, check this often whether an earlier one "
         "answers again, and move back to it (0: stay where it works)",
         0},
        {"server-name", 0, TR_OPT_STRINGS, "NAME", NULL, 0, 0, NULL, "Security",
         "Name the hub's certificate must carry; with several --connect hubs, one name for all "
         "or one per hub, in the same order",
         0},
        {"ca", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "Security",
         "The network's CA certificate (PEM)", 0},
        {"cert", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "Security",
         "This client's certificate (PEM)", 0},
        {"crl", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "Security",
         "The network's revocation list (PEM): the hub's and other clients' certificates "
         "(pair sessions) must not be on it",
         0},
        {"key", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "Security",
         "This client's private key (PEM, mode 0600)", 0},
        TR_SHARED_KEY_OPTIONS{"name", 0, TR_OPT_STRING, "NAME", "trellis", 0, 0, NULL, "Security",
                              "This node's name when authenticating with a shared key", 0},
        {"node-key", 0, TR_OPT_PATH, "FILE",
         "$TRELLIS_STATE_DIR or " TR_LOCALSTATEDIR "/node-NAME.key", 0, 0, NULL, "Security",
         "With a shared key: this node's own key, made on first use, which binds --name to this "
         "machine at the hub (none to send none)",
         0},
        {"username", 'u', TR_OPT_STRING, "USER", NULL, 0, 0, NULL, "Security",
         "Username, for hubs that also require a password", 0},
        {"password", 0, TR_OPT_STRING, "PASSWORD", NULL, 0, 0, NULL, "Security",
         "Password (prefer password-file or the prompt)", TR_OPT_FLAG_SECRET},
        {"password-file", 0, TR_OPT_PATH, "FILE", NULL, 0, 0, NULL, "Security",
         "Read the password from the first line of this file (mode 0600); without either, the "
         "client prompts",
         0},
        {"ask-password", 0, TR_OPT_STRING, "WHERE", "terminal", 0, 0,
         (const char *const[]){"terminal", "bus", NULL}, "Security",
         "Where to ask for the password when neither password nor password-file is set: on the "
         "terminal, or over the system bus (the tray app asks the person at the desktop and hands "
         "it over; needs system-bus)",
         0},
        {"crypto", 0, TR_OPT_STRINGS, "CIPHER",
         "the faster of aes256-gcm and chacha20-poly1305 first", 0, 0, NULL, "Security",
         "Ciphers offered, in order: aes256-gcm, chacha20-poly1305, plaintext (plaintext only if "
         "the hub also allows it)",
         0},
        {"compression", 0, TR_OPT_STRING, "ALG", "none", 0, 0, NULL, "Security",
         "Offer compression: none or lzo (compressing before encrypting can leak what is sent)", 0},
        {"magic", 0, TR_OPT_STRING, "ID", "74726c01", 0, 0, NULL, "Network",
         "Network magic in every data packet: 8 hex digits, or hash:TEXT", 0},
        {"type", 't', TR_OPT_STRING, "TYPE", "tun", 0, 0, device_types, "Device",
         "Device type: tun carries IP packets, tap Ethernet frames (the hub's must match)", 0},
        {"subnet", 's', TR_OPT_STRINGS, "PREFIX", NULL, 0, 0, NULL, "Network",
         "A subnet (IPv4, IPv6 or MAC prefix) reached through this client, claimed at the hub "
         "(with certificates, it must be granted by the certificate)",
         0},
        {"device", 'd', TR_OPT_STRING, "NAME", "trellis%d", 0, 0, NULL, "Device",
         "Device name; %d becomes a free number", 0},
        /* A string, not a path resolved against the config file: "udp:..." is no file. */
        {"device-path", 0, TR_OPT_STRING, "PATH", "/dev/net/tun", 0, 0, NULL, "Device",
         "Path of the tun clone device (Windows: of the TAP adapter); udp:127.0.0.1:PORT is the "
         "test device on a loopback UDP port (tests; wine has no TAP driver)",
         0},
        {"ifup", 0, TR_OPT_STRING, "CMD", NULL, 0, 0, NULL, "Device",
         "Command run with sh -c, IFNAME set, once the device is configured", 0},
        {"ifdown", 0, TR_OPT_STRING, "CMD", NULL, 0, 0, NULL, "Device",
         "Command run with sh -c, IFNAME set, before the device is removed", 0},
        {"mtu", 0, TR_OPT_INT, "BYTES", NULL, 576, 65535, NULL, "Device",
         "Largest tunnel MTU to accept from the hub; by default 1416 for tun and 1402 for tap, so "
         "that a full packet fits a 1500-byte path over IPv6 (smaller paths are discovered per "
         "peer)",
         0},
        {"no-dns", 0, TR_OPT_BOOL, NULL, NULL, 0, 0, NULL, "Device",
         "Do not apply the DNS servers and search domains the hub pushes", 0},
        {"no-udp", 0, TR_OPT_BOOL, NULL, NULL, 0, 0, NULL, "Network",
         "Carry data over the TLS stream only", 0},
        {"handshake-timeout", 0, TR_OPT_INT, "SECS", "10", 1, 300, NULL, "Network",
         "Time to connect, finish TLS and receive the configuration", 0},
        {"retry-max", 0, TR_OPT_INT, "SECS", "30", 1, 3600, NULL, "Network",
         "Longest wait between reconnection attempts", 0},
        {"no-direct", 0, TR_OPT_BOOL, NULL, NULL, 0, 0, NULL, "Mesh",
         "Never exchange pair traffic with other clients directly: the hub relays it, sealed "
         "end to end (docs/MESH.md); the peers are not told this client's addresses",
         0},
        {"punch-interval", 0, TR_OPT_INT, "MSECS", "250", 50, 5000, NULL, "Mesh",
         "Time between probes of a peer's addresses while punching through NAT", 0},
        {"punch-retry", 0, TR_OPT_INT, "SECS", "30", 5, 3600, NULL, "Mesh",
         "A relayed pair tries the direct path again after this long (and at once when the "
         "peer's addresses change)",
         0},
        {"pair-keepalive", 0, TR_OPT_INT, "SECS", "20", 1, 25, NULL, "Mesh",
         "An idle direct path to a peer gets a keepalive after this long (NAT mappings stay "
         "open)",
         0},
        {"pair-rekey-interval", 0, TR_OPT_INT, "SECS", "600", 2, 86400, NULL, "Mesh",
         "Replace the data keys of pair sessions with other clients after this long (the hub's "
         "--rekey-interval rules the hub session)",
         0},
        TR_DATAPLANE_OPTIONS TR_PORTMAP_OPTIONS TR_SERVICE_OPTIONS};
const guint tr_client_n_options = G_N_ELEMENTS(tr_client_options);

#define S(name) tr_options_get_string(o, name)

gboolean
tr_client_config_from_options(TrOptions *o, TrClientConfig *c, GError **error)
{
	if (!tr_client_config_apply_options(o, c, error))
		return FALSE;
	/* Asked over the bus: the client waits for SetPassword (client/main.c). */
	if (c->username && g_strcmp0(S("ask-password"), "bus") == 0 && !S("password") &&
	    !S("password-file"))
		return TRUE;
	if (c->username &&
	    !tr_password_get(S("password"), S("password-file"), c->username, &c->password, error))
		return FALSE;
	return TRUE;
}

gboolean
tr_client_config_apply_options(TrOptions *o, TrClientConfig *c, GError **error)
{
	const char *const *crypto = tr_options_get_strv(o, "crypto");

	c->connect = g_strdupv((char **)tr_options_get_strv(o, "connect"));
	c->server_names = g_strdupv((char **)tr_options_get_strv(o, "server-name"));
	if (c->server_names && c->server_names[1] && !tr_client_config_check_names(c, error))
		return tr_options_error_at(o, "server-name", error);
	c->tls.ca_file = g_strdup(S("ca"));
	c->tls.cert_file = g_strdup(S("cert"));
	c->tls.crl_file = g_strdup(S("crl"));
	c->tls.key_file = g_strdup(S("key"));
	{
		char *key = NULL;

		if (!tr_shared_key_from_options(o, &key, error))
			return FALSE;
		c->tls.shared_key = key;
	}
	c->tls.psk_identity = g_strdup(S("name"));
	if (c->tls.psk_identity && !tr_pki_name_validate(c->tls.psk_identity, error))
		return tr_options_error_at(o, "name", error);
	/* Used only with a shared key (which the NetworkManager plugin sets later). */
	if (g_strcmp0(S("node-key"), "none") != 0)
		c->node_key_file =
		        S("node-key") ? g_strdup(S("node-key"))
		                      : g_strdup_printf("%s/node-%s.key", tr_state_dir_default(),
		                                        c->tls.psk_identity ? c->tls.psk_identity
		                                                            : "trellis");
	c->username = g_strdup(S("username"));
	c->device = g_strdup(S("device"));
	c->device_path = g_strdup(S("device-path"));
	c->ifup = g_strdup(S("ifup"));
	c->ifdown = g_strdup(S("ifdown"));
	c->udp = !tr_options_get_bool(o, "no-udp");
	if (S("type") && g_strcmp0(S("type"), "tap") == 0)
		c->dev_type = TR_DEVICE_TAP;
	if (!tr_options_get_prefixes(o, "subnet", 0, c->subnets, G_N_ELEMENTS(c->subnets),
	                             &c->n_subnets, error))
		return FALSE;
	c->apply_dns = !tr_options_get_bool(o, "no-dns");
	c->mtu = (guint)tr_options_get_int(
	        o, "mtu", c->dev_type == TR_DEVICE_TAP ? TR_MTU_DEFAULT_TAP : TR_MTU_DEFAULT);
	c->handshake_timeout_ms = (guint)tr_options_get_int(o, "handshake-timeout", 10) * 1000;
	c->retry_max_sec = (guint)tr_options_get_int(o, "retry-max", 30);
	c->failback_sec = (guint)tr_options_get_int(o, "failback", 0);
	c->direct = !tr_options_get_bool(o, "no-direct");
	c->punch_interval_ms = (guint)tr_options_get_int(o, "punch-interval", 250);
	c->punch_retry_sec = (guint)tr_options_get_int(o, "punch-retry", 30);
	c->pair_keepalive_sec = (guint)tr_options_get_int(o, "pair-keepalive", 20);
	c->pair_rekey_sec = (guint)tr_options_get_int(o, "pair-rekey-interval", 600);
	tr_dp_tuning_from_options(o, &c->tuning);
	tr_portmap_settings_from_options(o, &c->portmap);
	if (crypto && !tr_cipher_parse_list(crypto, c->ciphers, G_N_ELEMENTS(c->ciphers),
	                                    &c->n_ciphers, &c->allow_plaintext, error))
		return tr_options_error_at(o, "crypto", error);
	if (S("compression") && !tr_compress_parse(S("compression"), &c->compression, error))
		return tr_options_error_at(o, "compression", error);
	if (S("magic") && !tr_magic_parse(S("magic"), &c->magic, error))
		return tr_options_error_at(o, "magic", error);
	/* The shared key's PSK is bound to the network (common/auth/shared-key.h). */
	tr_magic_to_string(&c->magic, c->tls.psk_network);
	if (c->username && !tr_identity_validate_username(c->username, error))
		return tr_options_error_at(o, "username", error);
	return TRUE;
}
