/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/log.h"

#include "common/base/error.h"

#include <errno.h>
#include <string.h>
#include <stdio.h>
#ifdef G_OS_WIN32
#include "platform/windows/syslog.h" /* the Event Log */
#else
#include <syslog.h>
#endif
#include <time.h>
#include <unistd.h>

/*
 * One writer for the whole process. The writer runs on whichever thread logs,
 * so its state is guarded; nothing on the packet path logs per packet.
 */
static GMutex log_lock;
static char *log_program;
static TrLogLevel log_level = TR_LOG_NORMAL;
static FILE *log_fp;
static gboolean log_syslog;
/* The last lines at notice and above, for the control interface's GetLog
 * (the tray's Details window): "HH:MM:SS level: message". */
#define RECENT_MAX 200
static GQueue recent = G_QUEUE_INIT;

static void
remember(const char *stamp, const char *level, const char *message)
{
	g_queue_push_tail(&recent, g_strdup_printf("%s %s: %s", stamp, level, message));
	if (recent.length > RECENT_MAX)
		g_free(g_queue_pop_head(&recent));
}

char **
tr_log_recent(guint max)
{
	GPtrArray *out = g_ptr_array_new();
	GList *l;

	if (max == 0) {
		g_ptr_array_add(out, NULL);
		return (char **)g_ptr_array_free(out, FALSE);
	}
	g_mutex_lock(&log_lock);
	l = recent.tail;
	for (guint n = 1; l && n < max; n++)
		l = l->prev;
	for (l = l ? l : recent.head; l; l = l->next)
		g_ptr_array_add(out, g_strdup(l->data));
	g_mutex_unlock(&log_lock);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

static const char *
level_name(GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return "error";
	if (level & G_LOG_LEVEL_CRITICAL)
		return "critical";
	if (level & G_LOG_LEVEL_WARNING)
		return "warning";
	if (level & G_LOG_LEVEL_MESSAGE)
		return "notice";
	if (level & G_LOG_LEVEL_INFO)
		return "info";
	return "debug";
}

static int
syslog_priority(GLogLevelFlags level)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		return LOG_ERR;
	if (level & G_LOG_LEVEL_WARNING)
		return LOG_WARNING;
	if (level & G_LOG_LEVEL_MESSAGE)
		return LOG_NOTICE;
	if (level & G_LOG_LEVEL_INFO)
		return LOG_INFO;
	return LOG_DEBUG;
}

gboolean
tr_log_enabled(GLogLevelFlags level)
{
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
		return TRUE;
	if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
		return log_level >= TR_LOG_NORMAL;
	return log_level >= TR_LOG_VERBOSE;
}

/*
 * What peers send (names, reasons, versions) ends up in messages; a log line
 * stays one line of valid UTF-8 whatever it holds: control characters,
 * backslashes and bytes that are not UTF-8 are written as \n, \t, \\ and
 * \xNN. Returns @message itself when nothing needs escaping.
 */
static const char *
escape_line(const char *message, GString **buf)
{
	const char *p = message, *end = message + strlen(message);
	gboolean clean = g_utf8_validate(message, -1, NULL);

	for (const unsigned char *q = (const unsigned char *)message; clean && *q; q++)
		clean = *q >= 0x20 && *q != 0x7f && *q != '\\';
	if (clean)
		return message;
	*buf = g_string_sized_new(strlen(message) + 16);
	while (p < end) {
		gunichar c = g_utf8_get_char_validated(p, end - p);

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append_printf(*buf, "\\x%02x", (unsigned char)*p);
			p++;
			continue;
		}
		if (c == '\n')
			g_string_append(*buf, "\\n");
		else if (c == '\t')
			g_string_append(*buf, "\\t");
		else if (c == '\\')
			g_string_append(*buf, "\\\\");
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
			g_string_append_printf(*buf, "\\x%02x", c);
		else
			g_string_append_len(*buf, p, g_utf8_next_char(p) - p);
		p = g_utf8_next_char(p);
	}
	return (*buf)->str;
}

static GLogWriterOutput
tr_log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	const char *message = NULL;
	const char *domain = NULL;
	g_autoptr(GString) escaped = NULL;
	char stamp[32];
	struct tm tm;
	time_t now;

	if (!tr_log_enabled(level))
		return G_LOG_WRITER_HANDLED;

	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			message = fields[i].value;
		else if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
			domain = fields[i].value;
	}
	if (message == NULL)
		return G_LOG_WRITER_UNHANDLED;
	message = escape_line(message, &escaped);

	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);

	g_mutex_lock(&log_lock);
	if (level &
	    (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE))
		remember(stamp + 11, level_name(level), message);
	if (log_syslog) {
		syslog(syslog_priority(level), "%s%s%s",
		       domain && g_strcmp0(domain, "trellis") != 0 ? domain : "",
		       domain && g_strcmp0(domain, "trellis") != 0 ? ": " : "", message);
	} else {
		fprintf(stderr, "%s[%d]: %s: %s\n", log_program ? log_program : g_get_prgname(),
		        (int)getpid(), level_name(level), message);
	}
	if (log_fp != NULL) {
		fprintf(log_fp, "%s %s[%d]: %s: %s\n", stamp, log_program ? log_program : "trellis",
		        (int)getpid(), level_name(level), message);
		fflush(log_fp);
	}
	g_mutex_unlock(&log_lock);
	return G_LOG_WRITER_HANDLED;
}

gboolean
tr_log_init(const char *program, TrLogLevel level, const char *log_file, GError **error)
{
	FILE *fp = NULL;

	if (log_file != NULL) {
		fp = fopen(log_file, "ae");
		if (fp == NULL)
			return tr_set_error_errno(error, errno, "cannot open log file %s",
			                          log_file);
	}

	g_mutex_lock(&log_lock);
	g_free(log_program);
	log_program = g_strdup(program);
	log_level = level;
	if (log_fp != NULL)
		fclose(log_fp);
	log_fp = fp;
	g_mutex_unlock(&log_lock);

	/* The writer can only be installed once per process. */
	static gsize installed;
	if (g_once_init_enter(&installed)) {
		g_log_set_writer_func(tr_log_writer, NULL, NULL);
		g_once_init_leave(&installed, 1);
	}
	return TRUE;
}

void
tr_log_use_syslog(gboolean use_syslog)
{
	g_mutex_lock(&log_lock);
	if (use_syslog && !log_syslog)
		openlog(log_program ? log_program : "trellis", LOG_PID, LOG_DAEMON);
	log_syslog = use_syslog;
	g_mutex_unlock(&log_lock);
}

void
tr_log_set_level(TrLogLevel level)
{
	g_mutex_lock(&log_lock);
	log_level = level;
	g_mutex_unlock(&log_lock);
}

TrLogLevel
tr_log_get_level(void)
{
	return log_level;
}

void
tr_log_shutdown(void)
{
	g_mutex_lock(&log_lock);
	if (log_fp != NULL)
		fclose(log_fp);
	log_fp = NULL;
	g_mutex_unlock(&log_lock);
}

/* One lock for every limit: they are taken on rare paths (refusals), now and
 * then from a handshake thread (common/ctrl/handshake-pool.h). */
static GMutex limit_lock;

gboolean
tr_log_limit(TrLogLimit *l, const char *what, guint burst, guint window_sec)
{
	gint64 now = g_get_monotonic_time();
	guint suppressed = 0;
	gboolean ok;

	g_mutex_lock(&limit_lock);
	if (now - l->window_start >= (gint64)window_sec * G_USEC_PER_SEC) {
		suppressed = l->suppressed;
		l->window_start = now;
		l->count = 0;
		l->suppressed = 0;
	}
	ok = l->count < burst;
	if (ok)
		l->count++;
	else
		l->suppressed++;
	g_mutex_unlock(&limit_lock);
	if (suppressed)
		g_message("%u more %s in the last %u s (not logged one by one)", suppressed, what,
		          window_sec);
	return ok;
}
