/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers of the Windows backend: messages and error codes. */
#include "platform/windows/windows.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *
tr_plat_strerror(int errnum, char *buf, size_t size)
{
	if (strerror_s(buf, size, errnum) != 0)
		snprintf(buf, size, "error %d", errnum);
	return buf;
}

const char *
tr_win_strerror(DWORD code, char *buf, size_t size)
{
	DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
	                         code, 0, buf, (DWORD)size, NULL);

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == '.'))
		buf[--n] = '\0';
	if (n == 0)
		snprintf(buf, size, "Windows error %lu", (unsigned long)code);
	return buf;
}

int
tr_win_errno(DWORD code)
{
	switch (code) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
	case ERROR_NOT_FOUND:
		return ENOENT;
	case ERROR_ACCESS_DENIED:
		return EACCES;
	case ERROR_SHARING_VIOLATION:
	case ERROR_BUSY:
		return EBUSY;
	case ERROR_OBJECT_ALREADY_EXISTS:
	case ERROR_ALREADY_EXISTS:
		return EEXIST;
	case ERROR_INVALID_PARAMETER:
		return EINVAL;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return ENOMEM;
	case ERROR_NOT_SUPPORTED:
		return ENOTSUP;
	default:
		return EIO;
	}
}

/* "cmd.exe /c COMMAND" with IFNAME set, waited for. */
int
tr_win_run_hook(TrDevice *dev, const char *command, TrPlatError *err)
{
	STARTUPINFOA si = {.cb = sizeof(si)};
	PROCESS_INFORMATION pi;
	char line[4096], ebuf[256];
	DWORD code = 1;

	if (snprintf(line, sizeof(line), "cmd.exe /c %s", command) >= (int)sizeof(line))
		return tr_plat_error_set(err, E2BIG, "command is too long");
	SetEnvironmentVariableA("IFNAME", dev->ifname);
	if (!CreateProcessA(NULL, line, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
		DWORD e = GetLastError();
		SetEnvironmentVariableA("IFNAME", NULL);
		return tr_plat_error_set(err, tr_win_errno(e), "cannot run command '%.100s': %s",
		                         command, tr_win_strerror(e, ebuf, sizeof(ebuf)));
	}
	SetEnvironmentVariableA("IFNAME", NULL);
	WaitForSingleObject(pi.hProcess, INFINITE);
	GetExitCodeProcess(pi.hProcess, &code);
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
	if (code != 0)
		return tr_plat_error_set(err, ECHILD, "command '%.100s' exited with status %lu",
		                         command, (unsigned long)code);
	return 0;
}
