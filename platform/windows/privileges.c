/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * platform/process.h on Windows: a Trellis service runs as LocalSystem, the
 * account that may configure the TAP adapter; there is no switching to
 * another user afterwards (--user/--group are refused by the service code).
 */
#include "platform/process.h"

#include <errno.h>

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
