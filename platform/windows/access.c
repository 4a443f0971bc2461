/* SPDX-License-Identifier: GPL-2.0-or-later */
/* platform/windows/access.h: the Trellis Users group and the ACLs that let it in. */
#include "platform/windows/access.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <wchar.h>

/* FILE_GENERIC_READ | FILE_GENERIC_EXECUTE: list, traverse, read attributes. */
#define DIR_LIST L"0x1200a9"

bool
tr_win_users_group_name(wchar_t *name, DWORD size)
{
	DWORD type, len = (size - 1) * sizeof(wchar_t);
	HKEY key;
	LSTATUS rc;

	if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, TR_WIN_SETTINGS_KEY, 0,
	                  KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key) == ERROR_SUCCESS) {
		rc = RegQueryValueExW(key, TR_WIN_USERS_GROUP_VALUE, NULL, &type, (BYTE *)name,
		                      &len);
		RegCloseKey(key);
		if (rc == ERROR_SUCCESS && type == REG_SZ && len >= sizeof(wchar_t)) {
			name[len / sizeof(wchar_t)] = L'\0';
			if (name[0] != L'\0')
				return false;
		}
	}
	wcsncpy(name, TR_WIN_USERS_GROUP, size - 1);
	name[size - 1] = L'\0';
	return true;
}

PSID
tr_win_users_group_sid(DWORD *error)
{
	wchar_t name[256], domain[256];
	DWORD sid_len = 0, domain_len = 256;
	SID_NAME_USE use;
	PSID sid;

	tr_win_users_group_name(name, 256);
	LookupAccountNameW(NULL, name, NULL, &sid_len, domain, &domain_len, &use);
	if (sid_len == 0) {
		*error = GetLastError();
		return NULL;
	}
	sid = LocalAlloc(LPTR, sid_len);
	domain_len = 256;
	if (sid == NULL ||
	    !LookupAccountNameW(NULL, name, sid, &sid_len, domain, &domain_len, &use)) {
		*error = sid ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY;
		LocalFree(sid);
		return NULL;
	}
	/* A user of that name is not a group to let in. */
	if (use != SidTypeAlias && use != SidTypeGroup && use != SidTypeWellKnownGroup) {
		LocalFree(sid);
		*error = ERROR_NO_SUCH_ALIAS;
		return NULL;
	}
	*error = ERROR_SUCCESS;
	return sid;
}

DWORD
tr_win_acl_descriptor(TrWinAcl kind, PSID group, PSECURITY_DESCRIPTOR *sd)
{
	static const wchar_t *const base[] = {
	        [TR_WIN_ACL_DIR] = L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)",
	        [TR_WIN_ACL_CONTROL_FILE] = L"D:P(A;;FA;;;SY)(A;;FA;;;BA)",
	        [TR_WIN_ACL_PRIVATE_DIR] = L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)",
	        /* What Windows gives a new service (sc sdshow). */
	        [TR_WIN_ACL_SERVICE] = L"D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)"
	                               L"(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)"
	                               L"(A;;CCLCSWLOCRRC;;;IU)(A;;CCLCSWLOCRRC;;;SU)",
	};
	/* The group's ACE: not inherited by what the directories hold. */
	static const wchar_t *const member[] = {
	        [TR_WIN_ACL_DIR] = L"(A;;" DIR_LIST L";;;%ls)",
	        [TR_WIN_ACL_CONTROL_FILE] = L"(A;;FR;;;%ls)",
	        [TR_WIN_ACL_PRIVATE_DIR] = NULL,
	        /* query, start, stop, interrogate; no change, no delete */
	        [TR_WIN_ACL_SERVICE] = L"(A;;CCLCSWRPWPLORC;;;%ls)",
	};
	wchar_t sddl[512], ace[160];
	wchar_t *sid = NULL;

	*sd = NULL;
	if ((unsigned)kind >= sizeof(base) / sizeof(base[0]))
		return ERROR_INVALID_PARAMETER;
	wcscpy(sddl, base[kind]);
	if (group && member[kind]) {
		if (!ConvertSidToStringSidW(group, &sid))
			return GetLastError();
		swprintf(ace, sizeof(ace) / sizeof(ace[0]), member[kind], sid);
		LocalFree(sid);
		wcsncat(sddl, ace, sizeof(sddl) / sizeof(sddl[0]) - wcslen(sddl) - 1);
	}
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, sd, NULL))
		return GetLastError();
	return ERROR_SUCCESS;
}

/* The DACL of @sd, and whether it is protected. */
static DWORD
dacl_of(PSECURITY_DESCRIPTOR sd, PACL *dacl, bool *protect)
{
	BOOL present = FALSE, defaulted = FALSE;
	SECURITY_DESCRIPTOR_CONTROL control = 0;
	DWORD revision;

	if (!GetSecurityDescriptorDacl(sd, &present, dacl, &defaulted) ||
	    !GetSecurityDescriptorControl(sd, &control, &revision))
		return GetLastError();
	*protect = (control & SE_DACL_PROTECTED) != 0;
	return present ? ERROR_SUCCESS : ERROR_INVALID_SECURITY_DESCR;
}

DWORD
tr_win_acl_apply_path(const wchar_t *path, TrWinAcl kind, PSID group)
{
	PSECURITY_DESCRIPTOR sd;
	PACL dacl = NULL;
	bool protect = false;
	DWORD rc;

	if (kind == TR_WIN_ACL_SERVICE)
		return ERROR_INVALID_PARAMETER;
	rc = tr_win_acl_descriptor(kind, group, &sd);
	if (rc != ERROR_SUCCESS)
		return rc;
	rc = dacl_of(sd, &dacl, &protect);
	if (rc == ERROR_SUCCESS)
		rc = SetNamedSecurityInfoW(
		        (LPWSTR)path, SE_FILE_OBJECT,
		        DACL_SECURITY_INFORMATION |
		                (protect ? PROTECTED_DACL_SECURITY_INFORMATION : 0),
		        NULL, NULL, dacl, NULL);
	LocalFree(sd);
	return rc;
}

DWORD
tr_win_acl_apply_service(SC_HANDLE service, PSID group)
{
	PSECURITY_DESCRIPTOR sd;
	DWORD rc = tr_win_acl_descriptor(TR_WIN_ACL_SERVICE, group, &sd);

	if (rc != ERROR_SUCCESS)
		return rc;
	if (!SetServiceObjectSecurity(service, DACL_SECURITY_INFORMATION, sd))
		rc = GetLastError();
	LocalFree(sd);
	return rc;
}
