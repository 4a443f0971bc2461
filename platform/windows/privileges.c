/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * platform/process.h on Windows: a Trellis service runs as LocalSystem, the
 * account that may configure the TAP adapter; there is no switching to
 * another user afterwards (--user/--group are refused by the service code).
 */
#include "platform/process.h"

#include <errno.h>
#include <windows.h>

int
tr_process_drop_privileges(const char *user, const char *group, bool keep_net_admin,
                           TrPlatError *err)
{
	(void)user;
	(void)group;
	(void)keep_net_admin;
	return tr_plat_error_set(err, ENOTSUP,
	                         "Windows has no switching to another user here: the service "
	                         "runs as LocalSystem");
}

unsigned
tr_process_privileges_generation(void)
{
	return 0;
}

int
tr_process_adopt_privileges(void)
{
	return 0;
}

int
tr_process_drop_extra_capabilities(TrPlatError *err)
{
	(void)err;
	return 0;
}

/* An administrator's elevated token (or LocalSystem, a member too). */
bool
tr_process_can_admin_network(void)
{
	SID_IDENTIFIER_AUTHORITY nt = SECURITY_NT_AUTHORITY;
	PSID admins = NULL;
	BOOL member = FALSE;

	if (!AllocateAndInitializeSid(&nt, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS,
	                              0, 0, 0, 0, 0, 0, &admins))
		return false;
	if (!CheckTokenMembership(NULL, admins, &member))
		member = FALSE;
	FreeSid(admins);
	return member;
}
