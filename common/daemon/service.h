/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/daemon/bus.h"
#include "common/daemon/options.h"

G_BEGIN_DECLS

/*
 * The options every daemon has for running as a service, logging and
 * control (rows of a TrOptDesc table, common/daemon/options.h), described once.
 */
#define TR_SERVICE_OPTIONS                                                                         \
	{"daemon",                                                                                 \
	 0,                                                                                        \
	 TR_OPT_BOOL,                                                                              \
	 NULL,                                                                                     \
	 NULL,                                                                                     \
	 0,                                                                                        \
	 0,                                                                                        \
	 NULL,                                                                                     \
	 "Service",                                                                                \
	 "Run in the background; the command shows progress and returns once the device is up "    \
	 "and configured (0), when startup failed (1, with the reason) or after --daemon-timeout " \
	 "(3; the daemon keeps trying)",                                                           \
	 0},                                                                                       \
	        {"daemon-timeout",                                                                 \
	         0,                                                                                \
	         TR_OPT_INT,                                                                       \
	         "SECS",                                                                           \
	         "30",                                                                             \
	         1,                                                                                \
	         3600,                                                                             \
	         NULL,                                                                             \
	         "Service",                                                                        \
	         "How long --daemon waits for the daemon to be ready",                             \
	         0},                                                                               \
	        {"pid-file", 0, TR_OPT_PATH, "FILE",    NULL,                                      \
	         0,          0, NULL,        "Service", "Write the process id here once running",  \
	         0},                                                                               \
	        {"user",                                                                           \
	         0,                                                                                \
	         TR_OPT_STRING,                                                                    \
	         "USER",                                                                           \
	         NULL,                                                                             \
	         0,                                                                                \
	         0,                                                                                \
	         NULL,                                                                             \
	         "Service",                                                                        \
	         "Switch to this user once set up, keeping only CAP_NET_ADMIN",                    \
	         0},                                                                               \
	        {"group", 0, TR_OPT_STRING, "GROUP",   NULL,                                       \
	         0,       0, NULL,          "Service", "Switch to this group once set up",         \
	         0},                                                                               \
	        {"stats-file",                                                                     \
	         0,                                                                                \
	         TR_OPT_PATH,                                                                      \
	         "FILE",                                                                           \
	         NULL,                                                                             \
	         0,                                                                                \
	         0,                                                                                \
	         NULL,                                                                             \
	         "Service",                                                                        \
	         "Write the state and counters of every session here as JSON, replaced "           \
	         "atomically every stats-interval",                                                \
	         0},                                                                               \
	        {"stats-interval",                                                                 \
	         0,                                                                                \
	         TR_OPT_INT,                                                                       \
	         "SECS",                                                                           \
	         "10",                                                                             \
	         1,                                                                                \
	         3600,                                                                             \
	         NULL,                                                                             \
	         "Service",                                                                        \
	         "How often the stats file is rewritten",                                          \
	         0},                                                                               \
	        {"control-socket",                                                                 \
	         0,                                                                                \
	         TR_OPT_PATH,                                                                      \
	         "FILE",                                                                           \
	         "/run/trellis/PROGRAM-CONFIGNAME.sock or PROGRAM.PID.sock",                       \
	         0,                                                                                \
	         0,                                                                                \
	         NULL,                                                                             \
	         "Service",                                                                        \
	         "Serve the control interface (D-Bus, for trellis status) on this unix socket; "   \
	         "none to disable",                                                                \
	         0},                                                                               \
	        {"system-bus",                                                                     \
	         0,                                                                                \
	         TR_OPT_STRING,                                                                    \
	         "WHEN",                                                                           \
	         "auto",                                                                           \
	         0,                                                                                \
	         0,                                                                                \
	         (const char *const[]){"auto", "yes", "no", NULL},                                 \
	         "Service",                                                                        \
	         "Also serve the control interface on the system bus, for the tray app (auto: "    \
	         "when started by systemd)",                                                       \
	         0},                                                                               \
	        {"log-file", 0, TR_OPT_PATH, "FILE",    NULL,                                      \
	         0,          0, NULL,        "General", "Also append the log to this file",        \
	         0},                                                                               \
	        {"verbose", 'v', TR_OPT_BOOL, NULL,      NULL,                                     \
	         0,         0,   NULL,        "General", "Print debug information",                \
	         0},                                                                               \
	        {"quiet", 'q', TR_OPT_BOOL, NULL,      NULL,                                       \
	         0,       0,   NULL,        "General", "Print only errors and warnings",           \
	         0},                                                                               \
	        {"version",                                                                        \
	         0,                                                                                \
	         TR_OPT_BOOL,                                                                      \
	         NULL,                                                                             \
	         NULL,                                                                             \
	         0,                                                                                \
	         0,                                                                                \
	         NULL,                                                                             \
	         "General",                                                                        \
	         "Print the version and exit",                                                     \
	         TR_OPT_FLAG_CLI_ONLY},                                                            \
	        {"help-man",                                                                       \
	         0,                                                                                \
	         TR_OPT_BOOL,                                                                      \
	         NULL,                                                                             \
	         NULL,                                                                             \
	         0,                                                                                \
	         0,                                                                                \
	         NULL,                                                                             \
	         "General",                                                                        \
	         "Print the manual page (roff) and exit",                                          \
	         TR_OPT_FLAG_CLI_ONLY | TR_OPT_FLAG_HIDDEN},

/* The network's name: the config file's without ".conf", else @program.PID. */
char *tr_service_network_name(TrOptions *options, const char *program);
/* Whether --system-bus asks for the control interface on the system bus. */
gboolean tr_service_wants_system_bus(TrOptions *options);

/*
 * Running as a service: --daemon (the parent returns only once the device is
 * up and configured, with a non-zero status if startup failed), the pid
 * file, dropping to --user/--group, and systemd's notification protocol
 * (READY, STATUS, STOPPING, WATCHDOG) spoken directly over $NOTIFY_SOCKET.
 */
typedef struct _TrService TrService;

typedef struct {
	const char *program;
	gboolean daemonize;
	const char *pid_file;
	const char *user;
	const char *group;
	const char *state_dir;     /* with --user: given to that user before the drop */
	guint startup_timeout_sec; /* how long the parent waits for readiness */
} TrServiceConfig;

/*
 * With daemonize, forks here: the parent waits for tr_service_ready() or
 * tr_service_failed() in the child and exits with 0 or 1 (3 when the child
 * is not ready in time: it keeps trying, the message says its pid). Only
 * the child returns.
 */
TrService *tr_service_new(const TrServiceConfig *config, GError **error);

/* Before anything is made: the daemon @program may create network devices
 * (root or CAP_NET_ADMIN); TR_ERROR_PERMISSION saying so otherwise. */
gboolean tr_service_check_privileges(const char *program, GError **error);
void tr_service_free(TrService *service);

/*
 * Initialisation is complete: writes the pid file, drops privileges
 * (keeping the right to reconfigure network devices), detaches from the
 * terminal, releases the waiting parent and tells systemd READY=1.
 */
gboolean tr_service_ready(TrService *service, const char *status, GError **error);

/*
 * The first half of tr_service_ready(), for daemons to call as soon as the
 * device and sockets exist and before anything starts a thread (GLib's
 * signal and D-Bus threads would keep root's capabilities, which are per
 * thread on Linux): writes the pid file, hands the state directory to
 * --user, and drops privileges. tr_service_ready() does it if not done.
 */
gboolean tr_service_drop_privileges(TrService *service, GError **error);

/*
 * The control socket (--control-socket; *@control stays NULL for "none") and
 * tr_service_drop_privileges(), in the order that leaves no thread
 * privileged: the socket's D-Bus server starts GLib's "gmain" thread, so a
 * daemon that stays root drops first; with --user the socket comes first
 * (the run directory is root's) and the user switch clears every thread's
 * capabilities.
 */
gboolean tr_service_drop_with_control(TrService *service, TrOptions *options, const char *program,
                                      const char *role, const TrBusOps *ops, gpointer data,
                                      TrBus **control, GError **error);

/* A file this daemon made before the drop (its control socket) that must go
 * at exit even when --user cannot remove it any more. */
void tr_service_add_runtime_file(TrService *service, const char *path);

/* Startup failed: the waiting parent prints @message and exits 1. */
void tr_service_failed(TrService *service, const char *message);

/* Before ready: the waiting --daemon parent prints @message (one line) and
 * goes on waiting; without --daemon, nothing (the log says it already). */
void tr_service_progress(TrService *service, const char *message);

/* STATUS=... for systemctl status. */
void tr_service_status(TrService *service, const char *status);

/* STOPPING=1, pid file removed. */
void tr_service_stopping(TrService *service);

/*
 * Calls @stop in the main loop when the daemon is asked to stop: SIGINT and
 * SIGTERM; on Windows Ctrl+C, closing its console, or the Service Control
 * Manager's Stop and system shutdown. @reload (may be NULL) on SIGHUP, which
 * Windows does not have (the control interface's Reload does the same).
 */
void tr_service_on_signals(TrService *service, GSourceFunc stop, GSourceFunc reload,
                           gpointer user_data);

/*
 * From a daemon's parsed options: the log (-v/-q/--log-file), and the
 * control socket path (--control-socket; else named after --config; else
 * after the pid; NULL for "none").
 */
void tr_service_init_log(TrOptions *options, const char *program);
char *tr_service_control_socket(TrOptions *options, const char *program);

/* The state directory when none is given: $TRELLIS_STATE_DIR (as for
 * `trellis`), else the build's default. */
const char *tr_state_dir_default(void);

/* Writes a stats snapshot to @path atomically (temp file + rename). */
void tr_service_write_stats(const char *path, const char *json);

/* Sends one notification (a newline-separated list of VAR=VALUE) to
 * $NOTIFY_SOCKET; FALSE when there is none or it failed. */
gboolean tr_sd_notify(const char *state);

G_END_DECLS
