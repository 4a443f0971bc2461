/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `trellis access setup|add|remove|show` (Windows): who besides SYSTEM and
 * the Administrators may use Trellis: the members of the local group
 * "Trellis Users" (platform/windows/access.h). setup makes the group (the
 * installer runs it), gives it its ACLs on the data and control directories
 * and the right to start and stop every network's service; add puts a user
 * in it; remove takes all of that back and deletes the group (the
 * uninstaller); show prints the group and the ACLs as they are.
 */
#include "cli/cli.h"

#include "common/base/error.h"
#include "platform/windows/access.h"
#include "tr-config.h"

#include <aclapi.h>
#include <lm.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

static char *
narrow(const wchar_t *s)
{
	return g_utf16_to_utf8(s, -1, NULL, NULL, NULL);
}

/* The group's name in UTF-8 into *@out; whether it is Trellis' own. */
static gboolean
group_name(char **out)
{
	wchar_t name[256];
	gboolean ours = tr_win_users_group_name(name, G_N_ELEMENTS(name));

	*out = narrow(name);
	return ours;
}

static gboolean
win_error(GError **error, DWORD code, const char *what)
{
	g_autofree char *msg = g_win32_error_message((gint)code);

	g_set_error(error, TR_ERROR,
	            code == ERROR_ACCESS_DENIED ? TR_ERROR_PERMISSION : TR_ERROR_IO, "%s: %s%s",
	            what, msg, code == ERROR_ACCESS_DENIED ? " (run it as an administrator)" : "");
	return FALSE;
}

/* C:\ProgramData\Trellis, its run\ and its state\, with their ACL kinds. */
static const struct {
	const char *dir;
	TrWinAcl kind;
} dirs[] = {
        {TR_SYSCONFDIR, TR_WIN_ACL_DIR},
        {TR_RUNSTATEDIR, TR_WIN_ACL_DIR},
        {TR_LOCALSTATEDIR, TR_WIN_ACL_PRIVATE_DIR},
};

/* Every directory's ACL, with @group's entries or without (@group NULL). */
static gboolean
set_dirs(PSID group, GError **error)
{
	for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
		g_autofree wchar_t *w = g_utf8_to_utf16(dirs[i].dir, -1, NULL, NULL, NULL);
		DWORD rc;

		if (!CreateDirectoryW(w, NULL) && GetLastError() != ERROR_ALREADY_EXISTS)
			return win_error(error, GetLastError(), dirs[i].dir);
		rc = tr_win_acl_apply_path(w, dirs[i].kind, group);
		if (rc != ERROR_SUCCESS) {
			g_autofree char *what =
			        g_strdup_printf("cannot set the ACL of %s", dirs[i].dir);
			return win_error(error, rc, what);
		}
	}
	return TRUE;
}

static gboolean
create_group(const wchar_t *name, GError **error)
{
	LOCALGROUP_INFO_1 info = {
	        .lgrpi1_name = (LPWSTR)name,
	        .lgrpi1_comment = (LPWSTR)L"Members may see, connect and disconnect the "
	                                  L"Trellis VPN networks of this computer.",
	};
	g_autofree char *uname = narrow(name);
	NET_API_STATUS rc = NetLocalGroupAdd(NULL, 1, (LPBYTE)&info, NULL);

	if (rc == NERR_GroupExists || rc == ERROR_ALIAS_EXISTS) {
		printf("the local group '%s' exists\n", uname);
		return TRUE;
	}
	if (rc != NERR_Success) {
		g_autofree char *what =
		        g_strdup_printf("cannot create the local group '%s'", uname);
		return win_error(error, rc, what);
	}
	printf("created the local group '%s'\n", uname);
	return TRUE;
}

static int
setup(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *uname = NULL;
	gboolean ours = group_name(&uname);
	DWORD lookup;
	PSID group;
	gboolean ok;

	if (ours && !create_group(TR_WIN_USERS_GROUP, &error))
		return tr_cli_fail(error);
	group = tr_win_users_group_sid(&lookup);
	/* Without the group, still the administrators-only ACLs. */
	ok = set_dirs(group, &error) && tr_cli_service_set_access(group, &error);
	if (ok && group == NULL) {
		g_autofree char *what = g_strdup_printf(
		        "the group '%s'%s cannot be found, so only SYSTEM and the Administrators "
		        "may "
		        "use Trellis",
		        uname, ours ? "" : " (HKLM\\Software\\Trellis, UsersGroup)");
		ok = win_error(&error, lookup, what);
	}
	if (ok) {
		wchar_t *sid = NULL;
		g_autofree char *usid = NULL;
		if (ConvertSidToStringSidW(group, &sid)) {
			usid = narrow(sid);
			LocalFree(sid);
		}
		printf("the group '%s' (%s) may use Trellis: %s and %s are listed for it, every "
		       "network's service may be started and stopped by it\n",
		       uname, usid ? usid : "?", TR_SYSCONFDIR, TR_RUNSTATEDIR);
	}
	LocalFree(group);
	return ok ? TR_CLI_OK : tr_cli_fail(error);
}

/* @user (DOMAIN\name or name), or the user running this, into the group. */
static int
add(const char *user)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *uname = NULL;
	g_autofree char *who = NULL;
	g_autofree wchar_t *name = NULL;
	NET_API_STATUS rc;

	group_name(&uname);
	name = g_utf8_to_utf16(uname, -1, NULL, NULL, NULL);
	if (user) {
		g_autofree wchar_t *wuser = g_utf8_to_utf16(user, -1, NULL, NULL, NULL);
		LOCALGROUP_MEMBERS_INFO_3 m = {.lgrmi3_domainandname = wuser};
		who = g_strdup(user);
		rc = NetLocalGroupAddMembers(NULL, name, 3, (LPBYTE)&m, 1);
	} else {
		/* The token's user: the one who runs the installer (elevated or not). */
		union {
			TOKEN_USER user;
			BYTE bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
		} buf;
		DWORD len = sizeof(buf);
		HANDLE token;
		wchar_t account[256], domain[256];
		DWORD alen = 256, dlen = 256;
		SID_NAME_USE use;
		LOCALGROUP_MEMBERS_INFO_0 m;

		if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
			win_error(&error, GetLastError(), "cannot open this process's token");
			return tr_cli_fail(error);
		}
		if (!GetTokenInformation(token, TokenUser, &buf, len, &len)) {
			DWORD e = GetLastError();
			CloseHandle(token);
			win_error(&error, e, "cannot read the token's user");
			return tr_cli_fail(error);
		}
		CloseHandle(token);
		m.lgrmi0_sid = buf.user.User.Sid;
		/* An installer run by a deployment tool as LocalSystem: nobody to add. */
		if (IsWellKnownSid(m.lgrmi0_sid, WinLocalSystemSid)) {
			printf("run as SYSTEM: no user put in '%s' (trellis access add USER)\n",
			       uname);
			return TR_CLI_OK;
		}
		if (LookupAccountSidW(NULL, m.lgrmi0_sid, account, &alen, domain, &dlen, &use)) {
			g_autofree char *a = narrow(account), *d = narrow(domain);
			who = g_strdup_printf("%s\\%s", d, a);
		} else {
			wchar_t *sid = NULL;
			ConvertSidToStringSidW(m.lgrmi0_sid, &sid);
			who = sid ? narrow(sid) : g_strdup("this user");
			LocalFree(sid);
		}
		rc = NetLocalGroupAddMembers(NULL, name, 0, (LPBYTE)&m, 1);
	}
	if (rc == ERROR_MEMBER_IN_ALIAS) {
		printf("%s is a member of '%s'\n", who, uname);
		return TR_CLI_OK;
	}
	if (rc != NERR_Success) {
		g_autofree char *what = g_strdup_printf("cannot add %s to '%s'", who, uname);
		win_error(&error, rc, what);
		return tr_cli_fail(error);
	}
	printf("added %s to '%s' (from their next sign-in)\n", who, uname);
	return TR_CLI_OK;
}

static int
remove_access(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *uname = NULL;
	gboolean ours = group_name(&uname);
	NET_API_STATUS rc;

	if (!set_dirs(NULL, &error) || !tr_cli_service_set_access(NULL, &error))
		return tr_cli_fail(error);
	printf("%s and every network's service: SYSTEM and the Administrators only\n",
	       TR_SYSCONFDIR);
	if (!ours) {
		printf("kept the group '%s' (HKLM\\Software\\Trellis, UsersGroup): Trellis did "
		       "not make it\n",
		       uname);
		return TR_CLI_OK;
	}
	rc = NetLocalGroupDel(NULL, TR_WIN_USERS_GROUP);
	if (rc == NERR_GroupNotFound || rc == ERROR_NO_SUCH_ALIAS) {
		printf("there is no local group '%s'\n", uname);
	} else if (rc != NERR_Success) {
		g_autofree char *what =
		        g_strdup_printf("cannot delete the local group '%s'", uname);
		win_error(&error, rc, what);
		return tr_cli_fail(error);
	} else {
		printf("deleted the local group '%s'\n", uname);
	}
	return TR_CLI_OK;
}

/* The ACL of @path as SDDL (what icacls shows, in SDDL's words). */
static void
show_path(const char *path)
{
	g_autofree wchar_t *w = g_utf8_to_utf16(path, -1, NULL, NULL, NULL);
	PSECURITY_DESCRIPTOR sd = NULL;
	wchar_t *sddl = NULL;
	DWORD rc = GetNamedSecurityInfoW(w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL,
	                                 NULL, NULL, &sd);

	if (rc != ERROR_SUCCESS) {
		g_autofree char *msg = g_win32_error_message((gint)rc);
		printf("%s: %s\n", path, msg);
		return;
	}
	if (ConvertSecurityDescriptorToStringSecurityDescriptorW(
	            sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &sddl, NULL)) {
		g_autofree char *u = narrow(sddl);
		printf("%s: %s\n", path, u);
		LocalFree(sddl);
	}
	LocalFree(sd);
}

static int
show(void)
{
	g_autofree char *uname = NULL;
	gboolean ours = group_name(&uname);
	DWORD lookup;
	PSID group = tr_win_users_group_sid(&lookup);
	g_autoptr(GDir) run = NULL;
	const char *file;

	if (group) {
		wchar_t *sid = NULL;
		g_autofree char *usid = NULL;
		ConvertSidToStringSidW(group, &sid);
		usid = sid ? narrow(sid) : NULL;
		LocalFree(sid);
		printf("group: %s (%s)%s\n", uname, usid ? usid : "?",
		       ours ? "" : ", from HKLM\\Software\\Trellis UsersGroup");
		LocalFree(group);
	} else {
		g_autofree char *msg = g_win32_error_message((gint)lookup);
		printf("group: %s: not found (%s): SYSTEM and the Administrators only\n", uname,
		       msg);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++)
		show_path(dirs[i].dir);
	/* Each daemon's control file, and the nonce file its address names. */
	run = g_dir_open(TR_RUNSTATEDIR, 0, NULL);
	while (run && (file = g_dir_read_name(run)) != NULL) {
		g_autofree char *path = g_build_filename(TR_RUNSTATEDIR, file, NULL);
		g_autofree char *address = NULL;
		const char *nonce;

		if (!g_str_has_suffix(file, ".sock"))
			continue;
		show_path(path);
		if (g_file_get_contents(path, &address, NULL, NULL) &&
		    (nonce = strstr(address, "noncefile=")) != NULL) {
			g_autofree char *escaped = g_strndup(nonce + 10, strcspn(nonce + 10, ",;"));
			g_autofree char *nonce_path = g_uri_unescape_string(escaped, NULL);
			if (nonce_path)
				show_path(nonce_path);
		}
	}
	return TR_CLI_OK;
}

int
tr_cli_access(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new(
	        "setup | add [USER] | remove | show - who besides the Administrators may use "
	        "Trellis: the local group \"Trellis Users\"");
	g_autoptr(GError) error = NULL;
	const char *verb;

	g_option_context_parse(ctx, &argc, &argv, &error);
	if (error)
		return tr_cli_fail(error);
	verb = argc > 1 ? argv[1] : "";
	if (strcmp(verb, "setup") == 0 && argc == 2)
		return setup();
	if (strcmp(verb, "add") == 0 && argc <= 3)
		return add(argc == 3 ? argv[2] : NULL);
	if (strcmp(verb, "remove") == 0 && argc == 2)
		return remove_access();
	if (strcmp(verb, "show") == 0 && argc == 2)
		return show();
	fprintf(stderr, "Usage: trellis access setup      make the group, give it its rights\n"
	                "       trellis access add [USER] put USER (default: you) in it\n"
	                "       trellis access remove     take the rights back, delete the group\n"
	                "       trellis access show       the group and the ACLs as they are\n");
	return TR_CLI_USAGE;
}
