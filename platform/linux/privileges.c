/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dropping root on Linux while keeping CAP_NET_ADMIN: the kernel clears
 * capabilities on setuid() unless PR_SET_KEEPCAPS is set, and then only
 * keeps the permitted set; the effective set is restored with capset().
 */
#include "platform/process.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Counts successful drops, for threads that must follow (tr_process_privileges_generation). */
static unsigned generation;

static int
set_caps(bool net_admin)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (net_admin) {
		data[0].effective = data[0].permitted = 1u << CAP_NET_ADMIN;
	}
	return (int)syscall(SYS_capset, &hdr, data);
}

int
tr_process_drop_privileges(const char *user, const char *group, bool keep_net_admin,
                           TrPlatError *err)
{
	uid_t uid = getuid();
	gid_t gid = getgid();

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
	if (setgroups(1, &gid) < 0)
		return tr_plat_error_set(err, errno, "cannot drop supplementary groups: %s",
		                         strerror(errno));
	if (setgid(gid) < 0)
		return tr_plat_error_set(err, errno, "cannot switch to group %u: %s", (unsigned)gid,
		                         strerror(errno));
	if (keep_net_admin && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return tr_plat_error_set(err, errno, "cannot keep capabilities: %s",
		                         strerror(errno));
	if (setuid(uid) < 0)
		return tr_plat_error_set(err, errno, "cannot switch to user %u: %s", (unsigned)uid,
		                         strerror(errno));
	/* Exactly CAP_NET_ADMIN (or nothing) from here on. */
	if (set_caps(keep_net_admin) < 0)
		return tr_plat_error_set(err, errno, "cannot set capabilities: %s",
		                         strerror(errno));
	if (keep_net_admin)
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* No way back to root. */
	if (uid != 0 && setuid(0) == 0)
		return tr_plat_error_set(err, EPERM, "could still become root after dropping it");
	__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
	return 0;
}

int
tr_process_drop_extra_capabilities(TrPlatError *err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	const uint32_t net_admin = 1u << CAP_NET_ADMIN;
	uint32_t inheritable;
	bool keep;

	if (syscall(SYS_capget, &hdr, data) < 0)
		return tr_plat_error_set(err, errno, "cannot read capabilities: %s",
		                         strerror(errno));
	keep = (data[0].permitted & net_admin) != 0;
	if ((data[0].permitted & ~net_admin) == 0 && data[1].permitted == 0 &&
	    (data[0].inheritable & ~net_admin) == 0 && data[1].inheritable == 0)
		return 0;
	/* Lowering the permitted and inheritable sets takes the ambient set with them,
	 * but for CAP_NET_ADMIN where it stays in both: an ambient CAP_NET_ADMIN (the
	 * units') is still handed to the ifup/ifdown hooks, as before. */
	inheritable = data[0].inheritable & net_admin;
	memset(data, 0, sizeof(data));
	if (keep) {
		data[0].effective = data[0].permitted = net_admin;
		data[0].inheritable = inheritable;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return tr_plat_error_set(err, errno, "cannot set capabilities: %s",
		                         strerror(errno));
	__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
	return 1;
}

unsigned
tr_process_privileges_generation(void)
{
	return __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
}

int
tr_process_adopt_privileges(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	/* The process's main thread (its id is the pid) holds what is left. */
	hdr.pid = getpid();
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	hdr.pid = 0;
	/* A thread that already holds less (setuid cleared it) cannot gain: fine. */
	if (syscall(SYS_capset, &hdr, data) < 0 && errno != EPERM)
		return -errno;
	return 0;
}

bool
tr_process_can_admin_network(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return geteuid() == 0;
	return (data[0].effective & (1u << CAP_NET_ADMIN)) != 0;
}
