/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	TR_LOG_QUIET = -1,  /* errors and warnings only */
	TR_LOG_NORMAL = 0,  /* + messages and info */
	TR_LOG_VERBOSE = 1, /* + debug */
} TrLogLevel;

/*
 * Installs the process-wide log writer: "program[pid]: LEVEL: message" on
 * stderr, optionally also appended to @log_file. Safe to call again to
 * change the level or the file (e.g. after SIGHUP).
 */
gboolean tr_log_init(const char *program, TrLogLevel level, const char *log_file, GError **error);

/* Sends log lines to syslog/the journal instead of stderr (service mode). */
void tr_log_use_syslog(gboolean use_syslog);

void tr_log_set_level(TrLogLevel level);
TrLogLevel tr_log_get_level(void);

/*
 * Whether a line of @level would be written. GLib formats every message
 * before the writer can drop it: lines logged for each session (a hub's
 * thousands of arrivals) check this first, so a quiet hub does not format
 * them for nothing.
 */
gboolean tr_log_enabled(GLogLevelFlags level);

/*
 * A bound on how fast one kind of event may fill the log (failed
 * handshakes, refused peers...): at most @burst lines per @window_sec. Call
 * before logging; FALSE means skip this line. When a window ends with lines
 * skipped, the next call first logs how many, under @what. Any thread.
 */
typedef struct {
	gint64 window_start;
	guint count;
	guint suppressed;
} TrLogLimit;

gboolean tr_log_limit(TrLogLimit *limit, const char *what, guint burst, guint window_sec);

/* The last @max lines logged at notice and above (at most 200 are kept),
 * oldest first, "HH:MM:SS level: message"; whatever the log goes to. */
char **tr_log_recent(guint max);

/* Closes the log file, if any. */
void tr_log_shutdown(void);

G_END_DECLS
