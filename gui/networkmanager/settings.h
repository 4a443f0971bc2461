/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * A Trellis client configuration file and a NetworkManager VPN connection are
 * the same thing written two ways; this is the one place that knows how.
 *
 * The connection's vpn.data keys are trellis-client's option names and their
 * values are written as in the file ("connect" = "hub-a:3210;hub-b"), so
 * the file, the connection and the service that runs it agree by
 * construction. The shared key and the password are secrets (vpn.secrets),
 * with NetworkManager's secret flags ("password-flags" in vpn.data). What a
 * daemon needs but NetworkManager does itself (pid file, user, log file,
 * control socket) is dropped on import; scripts run as root (ifup, ifdown)
 * are refused.
 *
 * GTK-free: NetworkManager and nmcli load it (the editor plugin) and the
 * service links it.
 */
#include "client/client.h"

#include <NetworkManager.h>

G_BEGIN_DECLS

#define TR_NM_SERVICE "org.freedesktop.NetworkManager.trellis"

#define TR_NM_KEY_CONNECT     "connect"
#define TR_NM_KEY_SERVER_NAME "server-name"
#define TR_NM_KEY_CA          "ca"
#define TR_NM_KEY_CERT        "cert"
#define TR_NM_KEY_KEY         "key"
#define TR_NM_KEY_USERNAME    "username"
#define TR_NM_KEY_PASSWORD    "password"   /* secret */
#define TR_NM_KEY_SHARED_KEY  "shared-key" /* secret */

/* The client library refuses shorter shared keys. */
#define TR_NM_SHARED_KEY_MIN 8

/* Whether @key may appear in vpn.data: a client option, not a secret, not
 * one NetworkManager does itself. */
gboolean tr_nm_is_data_key(const char *key);

/* Writes @value as a file value: backslashes, tabs, newlines, edge spaces
 * (and in a list, ';') escaped. */
char *tr_nm_value_escape(const char *value, gboolean list_item);

/* The items of list value @value ("a;b\;c" -> "a", "b;c"). */
char **tr_nm_value_split(const char *value);

/* The certificate is the credential when set; else the shared key. */
gboolean tr_nm_uses_certificate(NMSettingVpn *s_vpn);

/*
 * Checks vpn.data as a whole: every value as trellis-client would read it
 * (type, range, choice, cipher names, prefixes) and what goes together (a
 * hub, a certificate with its key, CA and server name, absolute paths). On
 * failure *@bad_key (if given) names the key at fault, or NULL when one is
 * missing.
 */
gboolean tr_nm_validate(NMSettingVpn *s_vpn, const char **bad_key, GError **error);

/* The secret the connection still needs (TR_NM_KEY_PASSWORD or
 * TR_NM_KEY_SHARED_KEY), or NULL. Secrets flagged NOT_REQUIRED never are. */
const char *tr_nm_missing_secret(NMSettingVpn *s_vpn);

/* The connection made from client config file @path. Errors name the file,
 * the line and what is wrong. */
NMConnection *tr_nm_import(const char *path, GError **error);

/* The client config file for @connection (no password; the shared key when
 * it is among the connection's secrets). */
char *tr_nm_export_text(NMConnection *connection, GError **error);

/* tr_nm_export_text() written to @path, mode 0600. */
gboolean tr_nm_export(NMConnection *connection, const char *path, GError **error);

/* The client library's configuration for @s_vpn, secrets included
 * (tr_client_config_init first; configure_device is left to the caller). */
gboolean tr_nm_client_config(NMSettingVpn *s_vpn, TrClientConfig *config, GError **error);

G_END_DECLS
