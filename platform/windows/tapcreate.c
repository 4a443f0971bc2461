/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Creating a TAP-Windows6 adapter from its driver package, as devcon
 * "install" does: a root-enumerated device of class Net with hardware id
 * tap0901, registered, then given the driver of the .inf
 * (UpdateDriverForPlugAndPlayDevices installs the package too).
 */
#include "platform/windows/windows.h"

#include <devguid.h>
#include <errno.h>
#include <newdev.h>
#include <setupapi.h>
#include <stdio.h>

int
tr_win_tap_create(const char *inf, TrPlatError *err)
{
	static const wchar_t hwid[] = L"" TR_TAP_COMPONENT_ID "\0";
	wchar_t winf[MAX_PATH], full[MAX_PATH];
	SP_DEVINFO_DATA info = {.cbSize = sizeof(info)};
	HDEVINFO set;
	BOOL reboot = FALSE;
	char ebuf[256];
	DWORD e;

	if (MultiByteToWideChar(CP_UTF8, 0, inf, -1, winf, MAX_PATH) == 0 ||
	    GetFullPathNameW(winf, MAX_PATH, full, NULL) == 0)
		return tr_plat_error_set(err, ENAMETOOLONG, "bad driver path %s", inf);
	set = SetupDiCreateDeviceInfoList(&GUID_DEVCLASS_NET, NULL);
	if (set == INVALID_HANDLE_VALUE)
		goto fail;
	if (!SetupDiCreateDeviceInfoW(set, L"Net", &GUID_DEVCLASS_NET, NULL, NULL, DICD_GENERATE_ID,
	                              &info) ||
	    !SetupDiSetDeviceRegistryPropertyW(set, &info, SPDRP_HARDWAREID, (const BYTE *)hwid,
	                                       sizeof(hwid)) ||
	    !SetupDiCallClassInstaller(DIF_REGISTERDEVICE, set, &info))
		goto fail_set;
	if (!UpdateDriverForPlugAndPlayDevicesW(NULL, hwid, full, INSTALLFLAG_FORCE, &reboot)) {
		e = GetLastError();
		SetupDiCallClassInstaller(DIF_REMOVE, set, &info);
		SetupDiDestroyDeviceInfoList(set);
		return tr_plat_error_set(err, tr_win_errno(e), "cannot install the driver %s: %s",
		                         inf, tr_win_strerror(e, ebuf, sizeof(ebuf)));
	}
	SetupDiDestroyDeviceInfoList(set);
	return reboot ? 1 : 0;
fail_set:
	e = GetLastError();
	SetupDiDestroyDeviceInfoList(set);
	return tr_plat_error_set(err, tr_win_errno(e), "cannot create a TAP-Windows6 adapter: %s",
	                         tr_win_strerror(e, ebuf, sizeof(ebuf)));
fail:
	e = GetLastError();
	return tr_plat_error_set(err, tr_win_errno(e), "cannot create a TAP-Windows6 adapter: %s",
	                         tr_win_strerror(e, ebuf, sizeof(ebuf)));
}
