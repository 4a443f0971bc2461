/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/daemon/options.h"
#include "common/daemon/service.h"

G_BEGIN_DECLS

/*
 * A daemon's main loop and the requests it answers alike in every daemon:
 * stop (SIGINT, SIGTERM, the Service Control Manager: a goodbye, then the
 * loop ends a moment later so that CLOSE messages go out), reload (SIGHUP)
 * and the status written to --stats-file every --stats-interval seconds. A
 * process runs one.
 */
typedef struct {
	void (*stop)(gpointer data); /* say goodbye (CLOSE) */
	gboolean (*reload)(gpointer data, GError **error);
	const char *reloaded;                /* what a reload did, for the log */
	char *(*status_json)(gpointer data); /* what --stats-file holds */
} TrDaemonLoopOps;

/* From now on, stop and reload requests are answered on the default main
 * context; tr_daemon_loop_run() runs it. */
void tr_daemon_loop_init(TrService *service, const TrDaemonLoopOps *ops, gpointer data);
/* Runs until stopped (or tr_daemon_loop_quit()); writes the status file
 * meanwhile when @options ask for it. */
void tr_daemon_loop_run(TrOptions *options);
void tr_daemon_loop_quit(void);

G_END_DECLS
