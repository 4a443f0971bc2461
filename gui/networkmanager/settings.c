/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "gui/networkmanager/settings.h"

#include "client/options.h"
#include "client/password.h"
#include "common/base/error.h"
#include "common/base/secret.h"

#include <string.h>

/* Label of the synthetic file made from vpn.data; errors are rewritten to
 * name the key instead of its line in it. */
#define DATA_LABEL "vpn.data"

/* What a daemon needs and NetworkManager does itself. */
static const char *const dropped_keys[] = {
        "daemon",         "pid-file", "user",    "group", "stats-file", "stats-interval",
        "control-socket", "log-file", "verbose", "quiet", NULL,
};

/* Commands run as root from a connection any NetworkManager user may edit. */
static const char *const refused_keys[] = {"ifup", "ifdown", NULL};

/* Keys that must hold absolute paths (the service has no current folder to
 * resolve them against). */
static const char *const path_keys[] = {TR_NM_KEY_CA, TR_NM_KEY_CERT, TR_NM_KEY_KEY, "device-path",
                                        NULL};

static const TrOptDesc *
find_option(const char *key)
{
	for (guint i = 0; i < tr_client_n_options; i++)
		if (strcmp(tr_client_options[i].name, key) == 0)
			return &tr_client_options[i];
	return NULL;
}

gboolean
tr_nm_is_data_key(const char *key)
{
	const TrOptDesc *d = find_option(key);

	if (d == NULL || (d->flags & (TR_OPT_FLAG_CLI_ONLY | TR_OPT_FLAG_SECRET)))
		return FALSE;
	return !g_strv_contains(dropped_keys, key) && !g_strv_contains(refused_keys, key) &&
	       strcmp(key, "password-file") != 0;
}

static gboolean
is_flags_key(const char *key)
{
	return strcmp(key, TR_NM_KEY_PASSWORD "-flags") == 0 ||
	       strcmp(key, TR_NM_KEY_SHARED_KEY "-flags") == 0;
}

char *
tr_nm_value_escape(const char *value, gboolean list_item)
{
	GString *out = g_string_sized_new(strlen(value) + 8);
	gsize n = strlen(value);

	for (gsize i = 0; i < n; i++) {
		char c = value[i];

		if (c == '\\')
			g_string_append(out, "\\\\");
		else if (c == '\n')
			g_string_append(out, "\\n");
		else if (c == '\t')
			g_string_append(out, "\\t");
		else if (c == ' ' && (i == 0 || i == n - 1))
			g_string_append(out, "\\s");
		else if (c == ';' && list_item)
			g_string_append(out, "\\;");
		else
			g_string_append_c(out, c);
	}
	return g_string_free(out, FALSE);
}

char **
tr_nm_value_split(const char *value)
{
	GPtrArray *items = g_ptr_array_new();
	const char *p = value ? value : "";

	while (*p) {
		const char *q = p;
		GString *item = g_string_new(NULL);

		while (*q && !(*q == ';' && (q == p || q[-1] != '\\')))
			q++;
		for (const char *s = p; s < q; s++) {
			if (*s == '\\' && s + 1 < q) {
				s++;
				g_string_append_c(item, *s == 's'   ? ' '
				                        : *s == 'n' ? '\n'
				                        : *s == 't' ? '\t'
				                                    : *s);
			} else {
				g_string_append_c(item, *s);
			}
		}
		g_strstrip(item->str);
		if (item->str[0])
			g_ptr_array_add(items, g_string_free(item, FALSE));
		else
			g_string_free(item, TRUE);
		p = *q ? q + 1 : q;
	}
	g_ptr_array_add(items, NULL);
	return (char **)g_ptr_array_free(items, FALSE);
}

static const char *
data(NMSettingVpn *s_vpn, const char *key)
{
	const char *v = nm_setting_vpn_get_data_item(s_vpn, key);
	return v && *v ? v : NULL;
}

gboolean
tr_nm_uses_certificate(NMSettingVpn *s_vpn)
{
	return data(s_vpn, TR_NM_KEY_CERT) != NULL;
}

static gboolean fail_at(const char **bad_key, const char *key, GError **error, const char *format,
                        ...) G_GNUC_PRINTF(4, 5);

static gboolean
fail_at(const char **bad_key, const char *key, GError **error, const char *format, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start(ap, format);
	msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	if (bad_key)
		*bad_key = key;
	g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "%s", msg);
	return FALSE;
}

/*
 * Rewrites "vpn.data:N: " in an error from the synthetic file to nothing,
 * and reports the key on line N.
 */
static void
name_key(GError *error, const char *const *line_keys, guint n_keys, const char **bad_key)
{
	const char *at = strstr(error->message, DATA_LABEL ":");
	GString *msg;
	char *end;
	guint64 ln;

	if (at == NULL)
		return;
	ln = g_ascii_strtoull(at + strlen(DATA_LABEL ":"), &end, 10);
	if (ln >= 2 && ln - 2 < n_keys && bad_key)
		*bad_key = line_keys[ln - 2];
	if (g_str_has_prefix(end, ": "))
		end += 2;
	msg = g_string_new_len(error->message, at - error->message);
	g_string_append(msg, end);
	g_free(error->message);
	error->message = g_string_free(msg, FALSE);
}

/* vpn.data as trellis-client options, checked as the client checks a file. */
static TrOptions *
load_options(NMSettingVpn *s_vpn, const char **bad_key, GError **error)
{
	g_autoptr(TrOptions) opts =
	        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
	g_autoptr(GString) text = g_string_new("[client]\n");
	g_autoptr(GPtrArray) line_keys = g_ptr_array_new();
	g_autofree const char **keys = NULL;
	g_autoptr(GError) err = NULL;
	TrClientConfig cfg;
	guint n = 0;
	gboolean ok;

	keys = nm_setting_vpn_get_data_keys(s_vpn, &n);
	for (guint i = 0; i < n; i++) {
		const char *value = nm_setting_vpn_get_data_item(s_vpn, keys[i]);

		if (is_flags_key(keys[i]))
			continue;
		if (!tr_nm_is_data_key(keys[i])) {
			fail_at(bad_key, keys[i], error,
			        find_option(keys[i]) ? "%s: not for a NetworkManager connection"
			                             : "%s: not a Trellis client option",
			        keys[i]);
			return NULL;
		}
		if (strchr(value, '\n') || strchr(value, '\r')) {
			fail_at(bad_key, keys[i], error, "%s: a value is one line", keys[i]);
			return NULL;
		}
		g_string_append_printf(text, "%s = %s\n", keys[i], value);
		g_ptr_array_add(line_keys, (gpointer)keys[i]);
	}
	if (!tr_options_load_data(opts, text->str, text->len, DATA_LABEL, "client", &err))
		goto fail;
	tr_client_config_init(&cfg);
	ok = tr_client_config_apply_options(opts, &cfg, &err);
	tr_client_config_clear(&cfg);
	if (!ok)
		goto fail;
	return g_steal_pointer(&opts);
fail:
	if (bad_key)
		*bad_key = NULL;
	name_key(err, (const char *const *)line_keys->pdata, line_keys->len, bad_key);
	g_propagate_error(error, g_steal_pointer(&err));
	return NULL;
}

gboolean
tr_nm_validate(NMSettingVpn *s_vpn, const char **bad_key, GError **error)
{
	g_autoptr(TrOptions) opts = NULL;
	const char *shared;

	if (bad_key)
		*bad_key = NULL;
	opts = load_options(s_vpn, bad_key, error);
	if (opts == NULL)
		return FALSE;
	if (data(s_vpn, TR_NM_KEY_CONNECT) == NULL)
		return fail_at(bad_key, NULL, error,
		               "no hub to connect to: 'connect' (HOST[:PORT]) is missing");
	for (guint i = 0; path_keys[i]; i++) {
		const char *v = data(s_vpn, path_keys[i]);
		if (v && !g_path_is_absolute(v))
			return fail_at(bad_key, path_keys[i], error,
			               "%s: '%s' is not an absolute path", path_keys[i], v);
	}
	if (tr_nm_uses_certificate(s_vpn)) {
		if (data(s_vpn, TR_NM_KEY_KEY) == NULL)
			return fail_at(bad_key, TR_NM_KEY_CERT, error,
			               "cert: the certificate's private key ('key') is missing");
		if (data(s_vpn, TR_NM_KEY_CA) == NULL)
			return fail_at(bad_key, TR_NM_KEY_CERT, error,
			               "cert: certificate authentication needs the network's CA "
			               "('ca')");
		if (data(s_vpn, TR_NM_KEY_SERVER_NAME) == NULL)
			return fail_at(bad_key, TR_NM_KEY_CERT, error,
			               "cert: certificate authentication needs 'server-name', the "
			               "name the hub's certificate carries");
		if (nm_setting_vpn_get_secret(s_vpn, TR_NM_KEY_SHARED_KEY))
			return fail_at(bad_key, TR_NM_KEY_SHARED_KEY, error,
			               "shared-key: a certificate and a shared key exclude each "
			               "other; keep one");
	} else if (data(s_vpn, TR_NM_KEY_KEY) || data(s_vpn, TR_NM_KEY_CA)) {
		const char *k = data(s_vpn, TR_NM_KEY_KEY) ? TR_NM_KEY_KEY : TR_NM_KEY_CA;
		return fail_at(bad_key, k, error,
		               "%s: given without a certificate ('cert'); certificate "
		               "authentication needs ca, cert and key",
		               k);
	}
	shared = nm_setting_vpn_get_secret(s_vpn, TR_NM_KEY_SHARED_KEY);
	if (shared && *shared && strlen(shared) < TR_NM_SHARED_KEY_MIN)
		return fail_at(bad_key, TR_NM_KEY_SHARED_KEY, error,
		               "shared-key: too short (at least %d characters; use a long random "
		               "phrase)",
		               TR_NM_SHARED_KEY_MIN);
	return TRUE;
}

static gboolean
secret_wanted(NMSettingVpn *s_vpn, const char *key)
{
	NMSettingSecretFlags flags = NM_SETTING_SECRET_FLAG_NONE;
	const char *v = nm_setting_vpn_get_secret(s_vpn, key);

	if (v && *v)
		return FALSE;
	nm_setting_get_secret_flags(NM_SETTING(s_vpn), key, &flags, NULL);
	return !(flags & NM_SETTING_SECRET_FLAG_NOT_REQUIRED);
}

const char *
tr_nm_missing_secret(NMSettingVpn *s_vpn)
{
	if (!tr_nm_uses_certificate(s_vpn) && secret_wanted(s_vpn, TR_NM_KEY_SHARED_KEY))
		return TR_NM_KEY_SHARED_KEY;
	if (data(s_vpn, TR_NM_KEY_USERNAME) && secret_wanted(s_vpn, TR_NM_KEY_PASSWORD))
		return TR_NM_KEY_PASSWORD;
	return NULL;
}

gboolean
tr_nm_client_config(NMSettingVpn *s_vpn, TrClientConfig *config, GError **error)
{
	g_autoptr(TrOptions) opts = NULL;
	const char *secret;

	if (!tr_nm_validate(s_vpn, NULL, error))
		return FALSE;
	opts = load_options(s_vpn, NULL, error);
	if (opts == NULL || !tr_client_config_apply_options(opts, config, error))
		return FALSE;
	secret = nm_setting_vpn_get_secret(s_vpn, TR_NM_KEY_SHARED_KEY);
	if (!tr_nm_uses_certificate(s_vpn) && secret && *secret)
		config->tls.shared_key = g_strdup(secret);
	secret = nm_setting_vpn_get_secret(s_vpn, TR_NM_KEY_PASSWORD);
	if (config->username && secret && *secret)
		config->password = g_strdup(secret);
	return TRUE;
}

/* ---- Import ------------------------------------------------------------------ */

/* The option's value as the file writes it. */
static char *
file_value(TrOptions *opts, const TrOptDesc *d)
{
	switch (d->type) {
	case TR_OPT_BOOL:
		return g_strdup(tr_options_get_bool(opts, d->name) ? "true" : "false");
	case TR_OPT_INT:
		return g_strdup_printf("%" G_GINT64_FORMAT, tr_options_get_int(opts, d->name, 0));
	case TR_OPT_STRING:
	case TR_OPT_PATH:
		return tr_nm_value_escape(tr_options_get_string(opts, d->name), FALSE);
	case TR_OPT_STRINGS:
	case TR_OPT_PATHS: {
		const char *const *items = tr_options_get_strv(opts, d->name);
		GString *out = g_string_new(NULL);
		for (guint i = 0; items && items[i]; i++) {
			g_autofree char *e = tr_nm_value_escape(items[i], TRUE);
			if (i)
				g_string_append_c(out, ';');
			g_string_append(out, e);
		}
		return g_string_free(out, FALSE);
	}
	}
	return NULL;
}

/* "laptop.conf" -> "laptop"; trellis join's "NET/client.conf" -> "NET". */
static char *
connection_name(const char *path)
{
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *parent = g_path_get_basename(dir);

	if (g_str_has_suffix(base, ".conf"))
		base[strlen(base) - 5] = '\0';
	if (strcmp(base, "client") == 0 && strcmp(parent, ".") != 0 && strcmp(parent, "/") != 0)
		return g_steal_pointer(&parent);
	return g_steal_pointer(&base);
}

static gboolean
error_at(TrOptions *opts, const char *path, const char *key, GError **error)
{
	if (key && tr_options_is_set(opts, key))
		return tr_options_error_at(opts, key, error);
	g_prefix_error(error, "%s: ", path);
	return FALSE;
}

NMConnection *
tr_nm_import(const char *path, GError **error)
{
	g_autoptr(TrOptions) opts =
	        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
	g_autoptr(NMConnection) connection = NULL;
	NMSettingVpn *s_vpn;
	NMSettingConnection *s_con;
	g_autofree char *id = NULL;
	g_autofree char *uuid = NULL;
	g_auto(TrSecret) password = NULL;
	const char *bad_key = NULL;
	TrClientConfig cfg;
	gboolean ok;

	if (!tr_options_load_file(opts, path, "client", error))
		return NULL;
	for (guint i = 0; refused_keys[i]; i++) {
		if (!tr_options_is_set(opts, refused_keys[i]))
			continue;
		g_set_error(error, TR_ERROR, TR_ERROR_UNSUPPORTED,
		            "%s: a NetworkManager connection does not run commands as root; use a "
		            "dispatcher script (/etc/NetworkManager/dispatcher.d, see "
		            "NetworkManager-dispatcher(8))",
		            refused_keys[i]);
		error_at(opts, path, refused_keys[i], error);
		return NULL;
	}
	tr_client_config_init(&cfg);
	ok = tr_client_config_apply_options(opts, &cfg, error);
	tr_client_config_clear(&cfg);
	if (!ok)
		return NULL;

	s_vpn = NM_SETTING_VPN(nm_setting_vpn_new());
	connection = nm_simple_connection_new();
	nm_connection_add_setting(connection, NM_SETTING(s_vpn));
	g_object_set(s_vpn, NM_SETTING_VPN_SERVICE_TYPE, TR_NM_SERVICE, NULL);
	for (guint i = 0; i < tr_client_n_options; i++) {
		const TrOptDesc *d = &tr_client_options[i];
		g_autofree char *value = NULL;

		if (!tr_nm_is_data_key(d->name) || !tr_options_is_set(opts, d->name))
			continue;
		value = file_value(opts, d);
		nm_setting_vpn_add_data_item(s_vpn, d->name, value);
	}
	if (tr_options_is_set(opts, TR_NM_KEY_SHARED_KEY))
		nm_setting_vpn_add_secret(s_vpn, TR_NM_KEY_SHARED_KEY,
		                          tr_options_get_string(opts, TR_NM_KEY_SHARED_KEY));
	if (tr_options_is_set(opts, TR_NM_KEY_PASSWORD) ||
	    tr_options_is_set(opts, "password-file")) {
		const char *key = tr_options_is_set(opts, "password-file") ? "password-file"
		                                                           : TR_NM_KEY_PASSWORD;

		if (!tr_options_is_set(opts, TR_NM_KEY_USERNAME)) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
			            "%s: a password without a username", key);
			error_at(opts, path, key, error);
			return NULL;
		}
		if (!tr_password_get(tr_options_get_string(opts, TR_NM_KEY_PASSWORD),
		                     tr_options_get_string(opts, "password-file"), NULL, &password,
		                     error)) {
			error_at(opts, path, key, error);
			return NULL;
		}
		nm_setting_vpn_add_secret(s_vpn, TR_NM_KEY_PASSWORD, password);
	}
	if (!tr_nm_validate(s_vpn, &bad_key, error)) {
		error_at(opts, path, bad_key, error);
		return NULL;
	}

	id = connection_name(path);
	uuid = nm_utils_uuid_generate();
	s_con = NM_SETTING_CONNECTION(nm_setting_connection_new());
	g_object_set(s_con, NM_SETTING_CONNECTION_ID, id, NM_SETTING_CONNECTION_UUID, uuid,
	             NM_SETTING_CONNECTION_TYPE, NM_SETTING_VPN_SETTING_NAME, NULL);
	nm_connection_add_setting(connection, NM_SETTING(s_con));
	return g_steal_pointer(&connection);
}

/* ---- Export ------------------------------------------------------------------ */

char *
tr_nm_export_text(NMConnection *connection, GError **error)
{
	NMSettingVpn *s_vpn = nm_connection_get_setting_vpn(connection);
	GString *out;
	const char *secret;

	if (s_vpn == NULL ||
	    g_strcmp0(nm_setting_vpn_get_service_type(s_vpn), TR_NM_SERVICE) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "connection '%s' is not a Trellis VPN connection",
		            nm_connection_get_id(connection));
		return NULL;
	}
	if (!tr_nm_validate(s_vpn, NULL, error)) {
		g_prefix_error(error, "connection '%s': ", nm_connection_get_id(connection));
		return NULL;
	}
	out = g_string_new(NULL);
	g_string_append_printf(out,
	                       "# Trellis client configuration, exported from the NetworkManager "
	                       "connection '%s'.\n"
	                       "# Import: nmcli connection import type trellis file FILE\n"
	                       "# Run without NetworkManager: trellis-client --config FILE\n"
	                       "[client]\n",
	                       nm_connection_get_id(connection));
	for (guint i = 0; i < tr_client_n_options; i++) {
		const char *name = tr_client_options[i].name;
		const char *v;

		if (strcmp(name, TR_NM_KEY_SHARED_KEY) == 0) {
			secret = nm_setting_vpn_get_secret(s_vpn, TR_NM_KEY_SHARED_KEY);
			if (secret && *secret) {
				g_autofree char *e = tr_nm_value_escape(secret, FALSE);
				g_string_append_printf(out, "%s = %s\n", name, e);
			}
			continue;
		}
		if (!tr_nm_is_data_key(name) || (v = data(s_vpn, name)) == NULL)
			continue;
		g_string_append_printf(out, "%s = %s\n", name, v);
		if (strcmp(name, TR_NM_KEY_USERNAME) == 0)
			g_string_append(out,
			                "# The password is not exported: trellis-client asks "
			                "for it, or reads password-file = FILE (mode 0600).\n");
	}
	return g_string_free(out, FALSE);
}

gboolean
tr_nm_export(NMConnection *connection, const char *path, GError **error)
{
	g_autofree char *text = tr_nm_export_text(connection, error);

	if (text == NULL)
		return FALSE;
	return g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
	                                error);
}
