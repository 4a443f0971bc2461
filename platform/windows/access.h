/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Who may use Trellis on Windows (docs/WINDOWS.md, "Who may use it").
 * SYSTEM and the Administrators may do everything. Besides them, the members
 * of one local group, "Trellis Users" (made by the installer; another group
 * when HKLM\Software\Trellis has a value UsersGroup naming it, as
 * OpenVPN's ovpn_admin_group), may see the networks, start and stop their
 * services, and use the daemons' control interface (status, connect,
 * disconnect, a password): they may read the control directory and the
 * daemons' control and nonce files, and start and stop the TrellisClient$NAME
 * services. Keys, configuration and installing services stay the
 * Administrators'. Plain Win32, no GLib: paths and names are UTF-16.
 */
#include <stdbool.h>
#include <windows.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TR_WIN_USERS_GROUP       L"Trellis Users"
#define TR_WIN_SETTINGS_KEY      L"Software\\Trellis"
#define TR_WIN_USERS_GROUP_VALUE L"UsersGroup"

/* What an ACL is for; each grants SYSTEM and the Administrators everything. */
typedef enum {
	/* ProgramData\Trellis, and its run\: the group may list them (the
	 * networks' names, the control files), not read what is in them. */
	TR_WIN_ACL_DIR,
	/* A daemon's control file (its address) and nonce file: the group reads. */
	TR_WIN_ACL_CONTROL_FILE,
	/* ProgramData\Trellis\state (certificates, keys): nothing for the group. */
	TR_WIN_ACL_PRIVATE_DIR,
	/* A TrellisClient$NAME service: Windows' default service ACL, and the
	 * group may query, start and stop it (not change or delete it). */
	TR_WIN_ACL_SERVICE,
} TrWinAcl;

/* The group's name: the registry's UsersGroup, else TR_WIN_USERS_GROUP.
 * Returns whether it is the default one (the group Trellis makes). */
bool tr_win_users_group_name(wchar_t *name, DWORD size);

/* The group's SID (free with LocalFree), or NULL with the Win32 error in
 * *@error: ERROR_NONE_MAPPED when there is no such group. */
PSID tr_win_users_group_sid(DWORD *error);

/*
 * The security descriptor for @kind (free with LocalFree): with an ACE for
 * @group when it is not NULL, else for SYSTEM and the Administrators only.
 * Returns a Win32 error code.
 */
DWORD tr_win_acl_descriptor(TrWinAcl kind, PSID group, PSECURITY_DESCRIPTOR *sd);

/* Sets the ACL of the file or directory @path (replacing, not inheriting). */
DWORD tr_win_acl_apply_path(const wchar_t *path, TrWinAcl kind, PSID group);

/* Sets the ACL of the service @service (opened with WRITE_DAC). */
DWORD tr_win_acl_apply_service(SC_HANDLE service, PSID group);

#ifdef __cplusplus
}
#endif
