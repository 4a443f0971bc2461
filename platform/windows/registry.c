/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Finding TAP-Windows6 adapters: the network adapter class key lists every
 * adapter with its driver's ComponentId and its NetCfgInstanceId (GUID); the
 * network key beside it holds each connection's friendly name.
 */
#include "platform/windows/windows.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ADAPTER_KEY                                                                                \
	"SYSTEM\\CurrentControlSet\\Control\\Class\\{4D36E972-E325-11CE-BFC1-08002BE10318}"
#define NETWORK_KEY                                                                                \
	"SYSTEM\\CurrentControlSet\\Control\\Network\\{4D36E972-E325-11CE-BFC1-08002BE10318}"

static bool
read_string(HKEY key, const char *value, char *out, DWORD size)
{
	DWORD type, len = size - 1;

	if (RegQueryValueExA(key, value, NULL, &type, (BYTE *)out, &len) != ERROR_SUCCESS ||
	    (type != REG_SZ && type != REG_EXPAND_SZ))
		return false;
	out[len < size ? len : size - 1] = '\0';
	return true;
}

static void
friendly_name(const char *guid, char *out, DWORD size)
{
	char path[512];
	HKEY key;

	snprintf(path, sizeof(path), NETWORK_KEY "\\%s\\Connection", guid);
	out[0] = '\0';
	if (RegOpenKeyExA(HKEY_LOCAL_MACHINE, path, 0, KEY_READ, &key) != ERROR_SUCCESS)
		return;
	read_string(key, "Name", out, size);
	RegCloseKey(key);
}

int
tr_win_tap_list(TrWinTap *out, int max, TrPlatError *err)
{
	char ebuf[256];
	HKEY adapters;
	LONG rc;
	int n = 0;

	rc = RegOpenKeyExA(HKEY_LOCAL_MACHINE, ADAPTER_KEY, 0, KEY_READ, &adapters);
	if (rc == ERROR_FILE_NOT_FOUND)
		return 0; /* no network adapter class at all (wine): no TAP adapter */
	if (rc != ERROR_SUCCESS)
		return tr_plat_error_set(err, tr_win_errno((DWORD)rc),
		                         "cannot read the network adapter list (HKLM\\%s): %s",
		                         ADAPTER_KEY,
		                         tr_win_strerror((DWORD)rc, ebuf, sizeof(ebuf)));
	for (DWORD i = 0; n < max; i++) {
		char sub[256], component[256];
		DWORD sublen = sizeof(sub);
		HKEY key;

		rc = RegEnumKeyExA(adapters, i, sub, &sublen, NULL, NULL, NULL, NULL);
		if (rc == ERROR_NO_MORE_ITEMS)
			break;
		if (rc != ERROR_SUCCESS)
			continue;
		if (RegOpenKeyExA(adapters, sub, 0, KEY_READ, &key) != ERROR_SUCCESS)
			continue;
		if (read_string(key, "ComponentId", component, sizeof(component)) &&
		    (_stricmp(component, TR_TAP_COMPONENT_ID) == 0 ||
		     _stricmp(component, "root\\" TR_TAP_COMPONENT_ID) == 0) &&
		    read_string(key, "NetCfgInstanceId", out[n].guid, sizeof(out[n].guid))) {
			friendly_name(out[n].guid, out[n].name, sizeof(out[n].name));
			n++;
		}
		RegCloseKey(key);
	}
	RegCloseKey(adapters);
	return n;
}
