/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `trellis service install|remove|start|stop|list|remove-all` (Windows): one Windows
 * service per network, "TrellisClient$NAME", that runs
 * "trellis-client.exe --daemon --config FILE" as LocalSystem, started at boot
 * and restarted by the Service Control Manager if it dies. Its ACL lets the
 * Trellis Users group start and stop it (platform/windows/access.h).
 */
#include "cli/cli.h"

#include "common/base/error.h"
#include "platform/windows/access.h"
#include "platform/windows/service-name.h"
#include "tr-config.h"

#include <stdio.h>
#include <string.h>
#include <windows.h>

#define SERVICE_PREFIX TR_WIN_SERVICE_PREFIX
#define STOP_WAIT_MS   30000

static gboolean
set_win_error(GError **error, DWORD code, const char *what, const char *name)
{
	g_autofree char *msg = g_win32_error_message((gint)code);

	g_set_error(
	        error, TR_ERROR, code == ERROR_ACCESS_DENIED ? TR_ERROR_PERMISSION : TR_ERROR_IO,
	        "%s %s: %s%s", what, name, msg,
	        code == ERROR_ACCESS_DENIED
	                ? " (run it as an administrator; starting and stopping, also as a member "
	                  "of the group Trellis Users)"
	                : "");
	return FALSE;
}

static wchar_t *
wide(const char *s)
{
	return g_utf8_to_utf16(s, -1, NULL, NULL, NULL);
}

/* A network name: letters, digits, '-', '_' and '.', as the config file's name. */
static gboolean
check_name(const char *name, GError **error)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
	            n) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "network name '%s': expected 1 to 64 letters, digits, '-', '_' or '.'",
		            name);
		return FALSE;
	}
	return TRUE;
}

/* trellis-client.exe beside this program. */
static char *
client_path(void)
{
	wchar_t self[MAX_PATH];
	DWORD n = GetModuleFileNameW(NULL, self, MAX_PATH);
	g_autofree char *utf8 =
	        n > 0 && n < MAX_PATH ? g_utf16_to_utf8(self, n, NULL, NULL, NULL) : NULL;
	g_autofree char *dir = utf8 ? g_path_get_dirname(utf8) : NULL;

	return dir ? g_build_filename(dir, "trellis-client.exe", NULL) : NULL;
}

static SC_HANDLE
open_scm(DWORD access, GError **error)
{
	SC_HANDLE scm = OpenSCManagerW(NULL, NULL, access);

	if (scm == NULL)
		set_win_error(error, GetLastError(), "cannot open the", "Service Control Manager");
	return scm;
}

static SC_HANDLE
open_service(SC_HANDLE scm, const char *name, DWORD access, GError **error)
{
	g_autofree char *svc = g_strconcat(SERVICE_PREFIX, name, NULL);
	g_autofree wchar_t *wsvc = wide(svc);
	SC_HANDLE h = OpenServiceW(scm, wsvc, access);

	if (h == NULL) {
		DWORD e = GetLastError();
		if (e == ERROR_SERVICE_DOES_NOT_EXIST)
			g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND,
			            "no service for network %s (trellis service install %s "
			            "--config FILE)",
			            name, name);
		else
			set_win_error(error, e, "cannot open service", svc);
	}
	return h;
}

static gboolean
install(const char *name, const char *config, GError **error)
{
	g_autofree char *client = client_path();
	g_autofree char *svc = g_strconcat(SERVICE_PREFIX, name, NULL);
	g_autofree char *display = g_strdup_printf("Trellis VPN client (%s)", name);
	g_autofree char *config_abs = NULL;
	g_autofree char *cmd = NULL;
	g_autofree wchar_t *wsvc = NULL, *wdisplay = NULL, *wcmd = NULL;
	SERVICE_DESCRIPTIONW desc = {
	        .lpDescription = (LPWSTR)L"Connects this machine to a Trellis network.",
	};
	SC_ACTION restart[] = {
	        {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 30000}, {SC_ACTION_RESTART, 60000}};
	SERVICE_FAILURE_ACTIONSW failure = {
	        .dwResetPeriod = 86400, .cActions = 3, .lpsaActions = restart};
	SC_HANDLE scm, h;

	if (!check_name(name, error))
		return FALSE;
	if (client == NULL || !g_file_test(client, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND,
		            "trellis-client.exe is not beside trellis.exe (%s)",
		            client ? client : "?");
		return FALSE;
	}
	if (config == NULL)
		config_abs = g_strdup_printf("%s\\%s.conf", TR_SYSCONFDIR, name);
	else
		config_abs = g_canonicalize_filename(config, NULL);
	if (!g_file_test(config_abs, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND,
		            "configuration %s does not exist (trellis join writes one)",
		            config_abs);
		return FALSE;
	}
	cmd = g_strdup_printf("\"%s\" --daemon --config \"%s\"", client, config_abs);
	wsvc = wide(svc);
	wdisplay = wide(display);
	wcmd = wide(cmd);
	scm = open_scm(SC_MANAGER_CREATE_SERVICE, error);
	if (scm == NULL)
		return FALSE;
	h = CreateServiceW(scm, wsvc, wdisplay, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
	                   SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, wcmd, NULL, NULL, L"Tcpip\0\0",
	                   NULL, NULL);
	if (h == NULL) {
		DWORD e = GetLastError();
		CloseServiceHandle(scm);
		if (e == ERROR_SERVICE_EXISTS) {
			g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
			            "network %s already has a service (trellis service remove %s)",
			            name, name);
			return FALSE;
		}
		return set_win_error(error, e, "cannot create service", svc);
	}
	ChangeServiceConfig2W(h, SERVICE_CONFIG_DESCRIPTION, &desc);
	ChangeServiceConfig2W(h, SERVICE_CONFIG_FAILURE_ACTIONS, &failure);
	printf("installed service %s: %s\n", svc, cmd);
	{
		DWORD lookup, rc;
		PSID group = tr_win_users_group_sid(&lookup);
		wchar_t wname[256];
		g_autofree char *group_name = NULL;

		tr_win_users_group_name(wname, G_N_ELEMENTS(wname));
		group_name = g_utf16_to_utf8(wname, -1, NULL, NULL, NULL);
		rc = tr_win_acl_apply_service(h, group);
		if (rc != ERROR_SUCCESS) {
			g_autofree char *msg = g_win32_error_message((gint)rc);
			fprintf(stderr, "trellis: cannot set the ACL of %s: %s\n", svc, msg);
		} else if (group) {
			printf("the group '%s' may start and stop it\n", group_name);
		} else {
			printf("only the Administrators may start and stop it (there is no group "
			       "'%s': trellis access setup)\n",
			       group_name);
		}
		LocalFree(group);
	}
	CloseServiceHandle(h);
	CloseServiceHandle(scm);
	return TRUE;
}

/* The ACL of the service @svc (the full name). */
static gboolean
set_access(SC_HANDLE scm, const wchar_t *svc, PSID group, GError **error)
{
	SC_HANDLE h = OpenServiceW(scm, svc, WRITE_DAC | READ_CONTROL);
	g_autofree char *name = g_utf16_to_utf8(svc, -1, NULL, NULL, NULL);
	DWORD rc;

	if (h == NULL)
		return set_win_error(error, GetLastError(), "cannot open service", name);
	rc = tr_win_acl_apply_service(h, group);
	CloseServiceHandle(h);
	if (rc != ERROR_SUCCESS)
		return set_win_error(error, rc, "cannot set the ACL of service", name);
	return TRUE;
}

/* Waits (bounded) until the service reaches @state. */
static gboolean
wait_state(SC_HANDLE h, DWORD state, const char *name, GError **error)
{
	SERVICE_STATUS st;

	for (int waited = 0; waited <= STOP_WAIT_MS; waited += 250) {
		if (!QueryServiceStatus(h, &st))
			return set_win_error(error, GetLastError(), "cannot query service", name);
		if (st.dwCurrentState == state)
			return TRUE;
		if (state == SERVICE_RUNNING && st.dwCurrentState == SERVICE_STOPPED) {
			g_set_error(error, TR_ERROR, TR_ERROR_IO,
			            "service %s stopped while starting (exit code %lu, %lu): see "
			            "the Application event log",
			            name, (unsigned long)st.dwWin32ExitCode,
			            (unsigned long)st.dwServiceSpecificExitCode);
			return FALSE;
		}
		Sleep(250);
	}
	g_set_error(error, TR_ERROR, TR_ERROR_TIMEOUT, "service %s did not reach its state in %d s",
	            name, STOP_WAIT_MS / 1000);
	return FALSE;
}

static gboolean
control(const char *name, const char *verb, GError **error)
{
	g_autofree char *svc = g_strconcat(SERVICE_PREFIX, name, NULL);
	SC_HANDLE scm, h;
	SERVICE_STATUS st;
	gboolean ok = TRUE;

	if (!check_name(name, error))
		return FALSE;
	scm = open_scm(SC_MANAGER_CONNECT, error);
	if (scm == NULL)
		return FALSE;
	/* Start and stop only what the Trellis Users group may: DELETE for remove. */
	h = open_service(scm, name,
	                 SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS |
	                         (strcmp(verb, "remove") == 0 ? DELETE : 0),
	                 error);
	if (h == NULL) {
		CloseServiceHandle(scm);
		return FALSE;
	}
	if (strcmp(verb, "start") == 0) {
		if (!StartServiceW(h, 0, NULL) && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING)
			ok = set_win_error(error, GetLastError(), "cannot start service", svc);
		else
			ok = wait_state(h, SERVICE_RUNNING, svc, error);
	} else {
		/* stop, and remove (which stops first) */
		if (!ControlService(h, SERVICE_CONTROL_STOP, &st) &&
		    GetLastError() != ERROR_SERVICE_NOT_ACTIVE)
			ok = set_win_error(error, GetLastError(), "cannot stop service", svc);
		else
			ok = wait_state(h, SERVICE_STOPPED, svc, error);
		if (ok && strcmp(verb, "remove") == 0 && !DeleteService(h))
			ok = set_win_error(error, GetLastError(), "cannot remove service", svc);
	}
	CloseServiceHandle(h);
	CloseServiceHandle(scm);
	if (ok)
		printf("%s: %s\n", svc,
		       strcmp(verb, "start") == 0  ? "running"
		       : strcmp(verb, "stop") == 0 ? "stopped"
		                                   : "removed");
	return ok;
}

typedef enum { EACH_LIST, EACH_REMOVE, EACH_ACCESS } EachAction;

/* Every network's service: printed (list), stopped and removed (remove-all),
 * or given its ACL for @group (EACH_ACCESS). */
static gboolean
each_service(EachAction action, PSID group, GError **error)
{
	SC_HANDLE scm = open_scm(SC_MANAGER_ENUMERATE_SERVICE, error);
	DWORD needed = 0, count = 0, resume = 0;
	g_autofree ENUM_SERVICE_STATUS_PROCESSW *services = NULL;
	gboolean ok = TRUE;

	if (scm == NULL)
		return FALSE;
	EnumServicesStatusExW(scm, SC_ENUM_PROCESS_INFO, SERVICE_WIN32, SERVICE_STATE_ALL, NULL, 0,
	                      &needed, &count, &resume, NULL);
	services = g_malloc(needed + 1);
	resume = 0;
	if (!EnumServicesStatusExW(scm, SC_ENUM_PROCESS_INFO, SERVICE_WIN32, SERVICE_STATE_ALL,
	                           (LPBYTE)services, needed, &needed, &count, &resume, NULL)) {
		CloseServiceHandle(scm);
		return set_win_error(error, GetLastError(), "cannot list", "services");
	}
	for (DWORD i = 0; i < count; i++) {
		g_autofree char *svc =
		        g_utf16_to_utf8(services[i].lpServiceName, -1, NULL, NULL, NULL);
		DWORD state = services[i].ServiceStatusProcess.dwCurrentState;

		if (svc == NULL || !g_str_has_prefix(svc, SERVICE_PREFIX))
			continue;
		if (action == EACH_ACCESS) {
			g_autoptr(GError) err = NULL;
			if (!set_access(scm, services[i].lpServiceName, group, &err)) {
				fprintf(stderr, "trellis: %s\n", err->message);
				ok = FALSE;
			}
			continue;
		}
		if (action == EACH_REMOVE) {
			g_autoptr(GError) err = NULL;
			if (!control(svc + strlen(SERVICE_PREFIX), "remove", &err)) {
				fprintf(stderr, "trellis: %s\n", err->message);
				ok = FALSE;
			}
			continue;
		}
		printf("%-24s %s\n", svc + strlen(SERVICE_PREFIX),
		       state == SERVICE_RUNNING   ? "running"
		       : state == SERVICE_STOPPED ? "stopped"
		                                  : "changing");
	}
	CloseServiceHandle(scm);
	if (!ok)
		g_set_error(error, TR_ERROR, TR_ERROR_IO,
		            action == EACH_ACCESS ? "not every service's ACL could be set"
		                                  : "not every service could be removed");
	return ok;
}

gboolean
tr_cli_service_set_access(gpointer group_sid, GError **error)
{
	return each_service(EACH_ACCESS, group_sid, error);
}

int
tr_cli_service(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new(
	        "install|remove|start|stop NAME | list - the Windows service of a network");
	g_autoptr(GError) error = NULL;
	g_autofree char *config = NULL;
	const GOptionEntry entries[] = {
	        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
	         "install: the client's configuration (default: " TR_SYSCONFDIR "\\NAME.conf)",
	         "FILE"},
	        {NULL},
	};
	const char *verb;
	gboolean ok;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		return tr_cli_fail(error);
	verb = argc > 1 ? argv[1] : "";
	if ((strcmp(verb, "list") == 0 || strcmp(verb, "remove-all") == 0) && argc == 2) {
		ok = each_service(strcmp(verb, "remove-all") == 0 ? EACH_REMOVE : EACH_LIST, NULL,
		                  &error);
	} else if (argc == 3 && strcmp(verb, "install") == 0) {
		ok = install(argv[2], config, &error);
	} else if (argc == 3 && (strcmp(verb, "remove") == 0 || strcmp(verb, "start") == 0 ||
	                         strcmp(verb, "stop") == 0)) {
		ok = control(argv[2], verb, &error);
	} else {
		fprintf(stderr, "Usage: trellis service install NAME [--config FILE]\n"
		                "       trellis service remove|start|stop NAME\n"
		                "       trellis service list | remove-all\n");
		return TR_CLI_USAGE;
	}
	return ok ? TR_CLI_OK : tr_cli_fail(error);
}
