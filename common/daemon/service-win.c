/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running as a service on Windows (common/daemon/service.h): with --daemon the
 * process is a Windows service started by the Service Control Manager
 * (`trellis service install` registers it). The SCM's dispatcher runs in a
 * thread of its own; its Stop and the system's shutdown reach the main loop
 * as the stop callback. The log goes to the Event Log (and --log-file).
 * There is no fork, no systemd, and no --user/--group: the service runs as
 * LocalSystem, which owns the TAP adapter's configuration.
 */
#include "common/daemon/service.h"

#include "common/base/error.h"
#include "common/base/log.h"
#include "platform/process.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <process.h>
#include <string.h>
#include <windows.h>

#define START_WAIT_MS     30000u /* the SCM gives a service 30 s to connect */
#define MAX_RUNTIME_FILES 4

struct _TrService {
	TrServiceConfig cfg;
	char *pid_file;
	gboolean pid_written;
	gboolean dropped;
	char *runtime_files[MAX_RUNTIME_FILES]; /* removed at exit (the control file) */
	guint n_runtime_files;
	gboolean scm; /* started by the Service Control Manager */
	gboolean failed;
	GThread *dispatcher;
	HANDLE started; /* ServiceMain ran, or the dispatcher gave up */
	DWORD dispatch_error;
	SERVICE_STATUS_HANDLE handle;
	SERVICE_STATUS status;
};

/* The one service of this process, for the SCM's callbacks. */
static TrService *the_service;
static GSourceFunc stop_func;
static gpointer stop_data;

gboolean
tr_sd_notify(const char *state)
{
	(void)state;
	return FALSE;
}

static void
report(TrService *s, DWORD state, DWORD exit_code)
{
	if (s->handle == NULL)
		return;
	s->status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	s->status.dwCurrentState = state;
	s->status.dwControlsAccepted =
	        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
	s->status.dwWin32ExitCode = exit_code ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
	s->status.dwServiceSpecificExitCode = exit_code;
	s->status.dwWaitHint =
	        state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING ? 60000 : 0;
	if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING)
		s->status.dwCheckPoint++;
	else
		s->status.dwCheckPoint = 0;
	SetServiceStatus(s->handle, &s->status);
}

/* Runs @stop_func in the main loop (from any thread). */
static void
request_stop(void)
{
	if (stop_func)
		g_main_context_invoke(NULL, stop_func, stop_data);
}

static DWORD WINAPI
on_control(DWORD control, DWORD type, LPVOID data, LPVOID context)
{
	(void)type;
	(void)data;
	(void)context;
	switch (control) {
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
		report(the_service, SERVICE_STOP_PENDING, 0);
		request_stop();
		return NO_ERROR;
	case SERVICE_CONTROL_INTERROGATE:
		return NO_ERROR;
	default:
		return ERROR_CALL_NOT_IMPLEMENTED;
	}
}

static void WINAPI
service_main(DWORD argc, LPWSTR *argv)
{
	TrService *s = the_service;

	(void)argc;
	/* SERVICE_WIN32_OWN_PROCESS: the name is not looked at. */
	s->handle =
	        RegisterServiceCtrlHandlerExW(argv && argv[0] ? argv[0] : L"", on_control, NULL);
	report(s, SERVICE_START_PENDING, 0);
	SetEvent(s->started);
	/* Returning is allowed: the dispatcher runs until the service reports STOPPED. */
}

static gpointer
dispatcher_thread(gpointer p)
{
	TrService *s = p;
	SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)L"", service_main}, {NULL, NULL}};

	if (!StartServiceCtrlDispatcherW(table)) {
		s->dispatch_error = GetLastError();
		SetEvent(s->started);
	}
	return NULL;
}

TrService *
tr_service_new(const TrServiceConfig *config, GError **error)
{
	TrService *s;

	if (config->user || config->group) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "--user and --group do not exist on Windows: the service runs as "
		            "LocalSystem");
		return NULL;
	}
	s = g_new0(TrService, 1);
	s->cfg = *config;
	s->pid_file = g_strdup(config->pid_file);
	s->cfg.pid_file = s->pid_file;
	the_service = s;
	if (!config->daemonize)
		return s;

	s->started = CreateEventW(NULL, TRUE, FALSE, NULL);
	s->dispatcher = g_thread_new("scm-dispatcher", dispatcher_thread, s);
	if (WaitForSingleObject(s->started, START_WAIT_MS) != WAIT_OBJECT_0) {
		g_set_error(error, TR_ERROR, TR_ERROR_TIMEOUT,
		            "the Service Control Manager did not start the service within %u s",
		            START_WAIT_MS / 1000);
		g_thread_unref(s->dispatcher); /* still waiting for the SCM: the process exits */
		s->dispatcher = NULL;
		tr_service_free(s);
		return NULL;
	}
	if (s->dispatch_error) {
		g_autofree char *why = g_win32_error_message((gint)s->dispatch_error);
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "--daemon on Windows runs the program as a service of the Service "
		            "Control Manager, which did not start this process (%s): install it "
		            "with 'trellis service install' and start it with 'trellis service "
		            "start', or run without --daemon",
		            why);
		g_thread_join(s->dispatcher);
		s->dispatcher = NULL;
		tr_service_free(s);
		return NULL;
	}
	s->scm = TRUE;
	tr_log_use_syslog(TRUE);
	return s;
}

void
tr_service_add_runtime_file(TrService *s, const char *path)
{
	g_return_if_fail(s->n_runtime_files < MAX_RUNTIME_FILES);
	s->runtime_files[s->n_runtime_files++] = g_strdup(path);
}

/* Windows has no dropping to another user: the pid file is all there is to do. */
gboolean
tr_service_drop_privileges(TrService *s, GError **error)
{
	if (s->dropped)
		return TRUE;
	if (s->pid_file) {
		g_autofree char *text =
		        g_strdup_printf("%lu\n", (unsigned long)GetCurrentProcessId());
		if (!g_file_set_contents(s->pid_file, text, -1, error)) {
			g_prefix_error(error, "cannot write the pid file: ");
			return FALSE;
		}
		s->pid_written = TRUE;
	}
	s->dropped = TRUE;
	return TRUE;
}

gboolean
tr_service_ready(TrService *s, const char *status, GError **error)
{
	if (!tr_service_drop_privileges(s, error))
		return FALSE;
	report(s, SERVICE_RUNNING, 0);
	if (status)
		g_message("%s", status);
	return TRUE;
}

void
tr_service_failed(TrService *s, const char *message)
{
	if (s->scm)
		g_critical("startup failed: %s", message);
	s->failed = TRUE;
}

gboolean
tr_service_check_privileges(const char *program, GError **error)
{
	if (tr_process_can_admin_network())
		return TRUE;
	g_set_error(error, TR_ERROR, TR_ERROR_PERMISSION,
	            "needs an administrator's rights to configure its network adapter, and runs "
	            "without: run it from an administrator's console, or as its Windows service "
	            "(trellis service install NAME --config FILE)");
	(void)program;
	return FALSE;
}

/* No waiting parent on Windows (the SCM waits for RUNNING): the log has it. */
void
tr_service_progress(TrService *s, const char *message)
{
	(void)s;
	(void)message;
}

void
tr_service_status(TrService *s, const char *status)
{
	(void)s;
	g_message("%s", status);
}

void
tr_service_stopping(TrService *s)
{
	report(s, SERVICE_STOP_PENDING, 0);
	if (s->pid_written && s->pid_file && g_unlink(s->pid_file) < 0 && errno != ENOENT)
		g_warning("cannot remove the pid file %s: %s", s->pid_file, g_strerror(errno));
	s->pid_written = FALSE;
}

void
tr_service_free(TrService *s)
{
	if (s == NULL)
		return;
	/* STOPPED ends the dispatcher (StartServiceCtrlDispatcher returns). */
	report(s, SERVICE_STOPPED, s->failed ? 1 : 0);
	if (s->dispatcher)
		g_thread_join(s->dispatcher);
	if (s->started)
		CloseHandle(s->started);
	if (the_service == s)
		the_service = NULL;
	for (guint i = 0; i < s->n_runtime_files; i++) {
		g_unlink(s->runtime_files[i]);
		g_free(s->runtime_files[i]);
	}
	g_free(s->pid_file);
	g_free(s);
}

static BOOL WINAPI
on_console(DWORD type)
{
	switch (type) {
	case CTRL_C_EVENT:
	case CTRL_BREAK_EVENT:
	case CTRL_CLOSE_EVENT:
	case CTRL_SHUTDOWN_EVENT:
		request_stop();
		return TRUE;
	default:
		return FALSE;
	}
}

void
tr_service_on_signals(TrService *s, GSourceFunc stop, GSourceFunc reload, gpointer user_data)
{
	(void)s;
	(void)reload; /* no SIGHUP: the control interface's Reload */
	stop_func = stop;
	stop_data = user_data;
	SetConsoleCtrlHandler(on_console, TRUE);
}
