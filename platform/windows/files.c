/* SPDX-License-Identifier: GPL-2.0-or-later */
/* platform/windows/files.h: private files through security descriptors (SDDL). */
#include "platform/windows/files.h"
#include "platform/windows/windows.h"

#include <aclapi.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <sddl.h>
#include <stdbool.h>

/* Protected (P): SYSTEM, Administrators and the owner, full control, inherited by children. */
#define PRIVATE_SDDL L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)"

static bool
widen(const char *path, wchar_t *out, int size)
{
	return MultiByteToWideChar(CP_UTF8, 0, path, -1, out, size) > 0;
}

/* Security attributes for @mode: a private descriptor, or NULL (inherit). */
static bool
attributes(unsigned mode, SECURITY_ATTRIBUTES *sa, PSECURITY_DESCRIPTOR *sd)
{
	*sd = NULL;
	if (mode & 077)
		return true;
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(PRIVATE_SDDL, SDDL_REVISION_1, sd,
	                                                          NULL))
		return false;
	sa->nLength = sizeof(*sa);
	sa->lpSecurityDescriptor = *sd;
	sa->bInheritHandle = FALSE;
	return true;
}

int
tr_win_create_file(const char *path, unsigned mode)
{
	wchar_t wpath[MAX_PATH * 2];
	SECURITY_ATTRIBUTES sa;
	PSECURITY_DESCRIPTOR sd;
	HANDLE h;
	int fd;

	if (!widen(path, wpath, MAX_PATH * 2))
		return -ENAMETOOLONG;
	if (!attributes(mode, &sa, &sd))
		return -tr_win_errno(GetLastError());
	h = CreateFileW(wpath, GENERIC_WRITE, 0, sd ? &sa : NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL,
	                NULL);
	if (sd)
		LocalFree(sd);
	if (h == INVALID_HANDLE_VALUE) {
		DWORD e = GetLastError();
		return e == ERROR_FILE_EXISTS ? -EEXIST : -tr_win_errno(e);
	}
	fd = _open_osfhandle((intptr_t)h, _O_WRONLY | _O_BINARY);
	if (fd < 0) {
		CloseHandle(h);
		return -EMFILE;
	}
	return fd;
}

int
tr_win_mkdir(const char *path, unsigned mode)
{
	wchar_t wpath[MAX_PATH * 2];
	SECURITY_ATTRIBUTES sa;
	PSECURITY_DESCRIPTOR sd;
	BOOL ok;
	DWORD e;

	if (!widen(path, wpath, MAX_PATH * 2))
		return -ENAMETOOLONG;
	if (!attributes(mode, &sa, &sd))
		return -tr_win_errno(GetLastError());
	ok = CreateDirectoryW(wpath, sd ? &sa : NULL);
	e = GetLastError();
	if (sd)
		LocalFree(sd);
	if (ok)
		return 0;
	return e == ERROR_ALREADY_EXISTS ? -EEXIST : -tr_win_errno(e);
}

/* SYSTEM, Administrators, the owner (and "owner rights"): the ones allowed. */
static bool
trusted(PSID sid, PSID owner)
{
	static const WELL_KNOWN_SID_TYPE ok[] = {WinLocalSystemSid, WinBuiltinAdministratorsSid,
	                                         WinCreatorOwnerRightsSid, WinCreatorOwnerSid};

	if (owner && EqualSid(sid, owner))
		return true;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (IsWellKnownSid(sid, ok[i]))
			return true;
	return false;
}

int
tr_win_file_is_shared(const char *path)
{
	wchar_t wpath[MAX_PATH * 2];
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID owner = NULL;
	PACL dacl = NULL;
	DWORD rc;
	int shared = 0;

	if (!widen(path, wpath, MAX_PATH * 2))
		return -ENAMETOOLONG;
	rc = GetNamedSecurityInfoW(wpath, SE_FILE_OBJECT,
	                           OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
	                           NULL, &dacl, NULL, &sd);
	if (rc != ERROR_SUCCESS)
		return -tr_win_errno(rc);
	if (!dacl) {
		shared = 1; /* no DACL: everyone has access */
	} else {
		for (DWORD i = 0; i < dacl->AceCount && !shared; i++) {
			ACE_HEADER *ace;
			if (!GetAce(dacl, i, (void **)&ace) ||
			    ace->AceType != ACCESS_ALLOWED_ACE_TYPE)
				continue;
			ACCESS_ALLOWED_ACE *a = (ACCESS_ALLOWED_ACE *)ace;
			if ((a->Mask & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL)) &&
			    !trusted((PSID)&a->SidStart, owner))
				shared = 1;
		}
	}
	LocalFree(sd);
	return shared;
}
