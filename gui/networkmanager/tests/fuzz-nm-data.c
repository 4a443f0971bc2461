/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A connection's vpn.data and secrets as any NetworkManager user can set them
 * (nmcli connection modify): lines "key=value", "secret:key=value". The
 * checks and the conversion the service runs on them (settings.c), and the
 * list splitter the editor uses.
 */
#include "gui/networkmanager/settings.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = g_strndup((const char *)data, size);
	g_auto(GStrv) lines = NULL;
	g_autoptr(NMSettingVpn) s = NULL;
	const char *bad = NULL;
	TrClientConfig cfg;

	if (!g_utf8_validate(text, -1, NULL))
		return 0;
	s = NM_SETTING_VPN(nm_setting_vpn_new());
	lines = g_strsplit(text, "\n", 64);
	for (guint i = 0; lines[i]; i++) {
		gboolean secret = g_str_has_prefix(lines[i], "secret:");
		char *kv = lines[i] + (secret ? strlen("secret:") : 0);
		char *eq = strchr(kv, '=');

		if (eq == NULL || eq == kv)
			continue;
		*eq = '\0';
		if (secret)
			nm_setting_vpn_add_secret(s, kv, eq + 1);
		else
			nm_setting_vpn_add_data_item(s, kv, eq + 1);
	}
	tr_nm_validate(s, &bad, NULL);
	tr_nm_missing_secret(s);
	tr_client_config_init(&cfg);
	tr_nm_client_config(s, &cfg, NULL);
	tr_client_config_clear(&cfg);
	g_strfreev(tr_nm_value_split(nm_setting_vpn_get_data_item(s, TR_NM_KEY_CONNECT)));
	return 0;
}
