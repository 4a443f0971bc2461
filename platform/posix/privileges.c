/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dropping root on the BSDs: setgid/setuid. These systems have no
 * capability that lets an unprivileged process reconfigure interfaces, so
 * keeping that right is refused (-ENOTSUP) rather than silently lost.
 */
#include "platform/process.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

int
tr_process_drop_privileges(const char *user, const char *group, bool keep_net_admin,
                           TrPlatError *err)
{
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (keep_net_admin)
		return tr_plat_error_set(err, ENOTSUP,
		                         "this OS cannot keep the right to configure network "
		                         "devices without root; run without --user/--group");
	if (user) {
		const struct passwd *pw = getpwnam(user);
		if (pw == NULL)
			return tr_plat_error_set(err, ENOENT, "no such user '%s'", user);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (group) {
		const struct group *gr = getgrnam(group);
		if (gr == NULL)
			return tr_plat_error_set(err, ENOENT, "no such group '%s'", group);
		gid = gr->gr_gid;
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return tr_plat_error_set(err, errno, "cannot switch to %u:%u: %s", (unsigned)uid,
		                         (unsigned)gid, strerror(errno));
	return 0;
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

bool
tr_process_can_admin_network(void)
{
	return geteuid() == 0;
}
