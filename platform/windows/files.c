/* SPDX-License-Identifier: GPL-2.0-or-later */
/* platform/windows/files.h: private files through security descriptors (SDDL). */
#include "platform/windows/files.h"
#include "platform/windows/windows.h"

#include "platform/windows/access.h"

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

/* Creates @wpath for writing with the descriptor @sd (NULL: inherited). */
static int
create_with(const wchar_t *wpath, PSECURITY_DESCRIPTOR sd)
{
	SECURITY_ATTRIBUTES sa = {.nLength = sizeof(sa), .lpSecurityDescriptor = sd};
	HANDLE h;
	int fd;

	h = CreateFileW(wpath, GENERIC_WRITE, 0, sd ? &sa : NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL,
	                NULL);
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
tr_win_create_file(const char *path, unsigned mode)
{
	wchar_t wpath[MAX_PATH * 2];
	SECURITY_ATTRIBUTES sa;
	PSECURITY_DESCRIPTOR sd;
	int fd;

	if (!widen(path, wpath, MAX_PATH * 2))
		return -ENAMETOOLONG;
	if (!attributes(mode, &sa, &sd))
		return -tr_win_errno(GetLastError());
	fd = create_with(wpath, sd);
	if (sd)
		LocalFree(sd);
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

/* The control ACL @kind, with the group when it exists. */
static DWORD
control_descriptor(TrWinAcl kind, PSECURITY_DESCRIPTOR *sd, bool *group_used)
{
	DWORD lookup;
	PSID group = tr_win_users_group_sid(&lookup);
	DWORD rc = tr_win_acl_descriptor(kind, group, sd);

	*group_used = group != NULL;
	LocalFree(group);
	return rc;
}

int
tr_win_create_control_file(const char *path, bool *group_used)
{
	wchar_t wpath[MAX_PATH * 2];
	PSECURITY_DESCRIPTOR sd;
	DWORD rc;
	int fd;

	if (!widen(path, wpath, MAX_PATH * 2))
		return -ENAMETOOLONG;
	rc = control_descriptor(TR_WIN_ACL_CONTROL_FILE, &sd, group_used);
	if (rc != ERROR_SUCCESS)
		return -tr_win_errno(rc);
	fd = create_with(wpath, sd);
	LocalFree(sd);
	return fd;
}

int
tr_win_protect_control_file(const char *path, bool *group_used)
{
	wchar_t wpath[MAX_PATH * 2];
	DWORD lookup, rc;
	PSID group;

	if (!widen(path, wpath, MAX_PATH * 2))
		return -ENAMETOOLONG;
	group = tr_win_users_group_sid(&lookup);
	*group_used = group != NULL;
	rc = tr_win_acl_apply_path(wpath, TR_WIN_ACL_CONTROL_FILE, group);
	LocalFree(group);
	return rc == ERROR_SUCCESS ? 0 : -tr_win_errno(rc);
}

int
tr_win_mkdir_control(const char *path, bool *group_used)
{
	wchar_t wpath[MAX_PATH * 2];
	SECURITY_ATTRIBUTES sa = {.nLength = sizeof(sa)};
	PSECURITY_DESCRIPTOR sd;
	DWORD rc;
	BOOL ok;

	if (!widen(path, wpath, MAX_PATH * 2))
		return -ENAMETOOLONG;
	rc = control_descriptor(TR_WIN_ACL_DIR, &sd, group_used);
	if (rc != ERROR_SUCCESS)
		return -tr_win_errno(rc);
	sa.lpSecurityDescriptor = sd;
	ok = CreateDirectoryW(wpath, &sa);
	rc = ok ? ERROR_SUCCESS : GetLastError();
	LocalFree(sd);
	if (ok)
		return 0;
	return rc == ERROR_ALREADY_EXISTS ? -EEXIST : -tr_win_errno(rc);
}

void
tr_win_users_group_utf8(char *name, int size)
{
	wchar_t wname[256];

	tr_win_users_group_name(wname, 256);
	if (WideCharToMultiByte(CP_UTF8, 0, wname, -1, name, size, NULL, NULL) <= 0 && size > 0)
		name[0] = '\0';
}
