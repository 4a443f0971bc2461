/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

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
	guint startup_timeout_sec; /* how long the parent waits for readiness */
} TrServiceConfig;

/*
 * With daemonize, forks here: the parent waits for tr_service_ready() or
 * tr_service_failed() in the child and exits with 0 or 1 (3 when the child
 * is not ready in time: it keeps trying, the message says its pid). Only
 * the child returns.
 */
TrService *tr_service_new(const TrServiceConfig *config, GError **error);
void tr_service_free(TrService *service);

/*
 * Initialisation is complete: writes the pid file, drops privileges
 * (keeping the right to reconfigure network devices), detaches from the
 * terminal, releases the waiting parent and tells systemd READY=1.
 */
gboolean tr_service_ready(TrService *service, const char *status, GError **error);

/* Startup failed: the waiting parent prints @message and exits 1. */
void tr_service_failed(TrService *service, const char *message);

/* STATUS=... for systemctl status. */
void tr_service_status(TrService *service, const char *status);

/* STOPPING=1, pid file removed. */
void tr_service_stopping(TrService *service);

/* Sends one notification (a newline-separated list of VAR=VALUE) to
 * $NOTIFY_SOCKET; FALSE when there is none or it failed. */
gboolean tr_sd_notify(const char *state);

G_END_DECLS
