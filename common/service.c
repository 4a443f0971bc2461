/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/service.h"

#include "common/control.h"
#include "common/error.h"
#include "common/log.h"
#include "platform/process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct _TrService {
	TrServiceConfig cfg;
	char *pid_file;
	char *user, *group;
	int ready_fd; /* write end to the waiting parent, -1 when none */
	guint watchdog_id;
	gboolean pid_written;
};

gboolean
tr_sd_notify(const char *state)
{
	const char *path = g_getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;
	ssize_t n;

	if (path == NULL || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return FALSE;
	memcpy(sa.sun_path, path, strlen(path));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return FALSE;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
	return n == (ssize_t)strlen(state);
}

static gboolean
on_watchdog(gpointer p)
{
	tr_sd_notify("WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

/* The parent: wait for one line from the child, bounded, and exit. */
static void G_GNUC_NORETURN
wait_for_child(int fd, pid_t child, const TrServiceConfig *cfg)
{
	char buf[512];
	size_t got = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	gint64 deadline = g_get_monotonic_time() + (gint64)cfg->startup_timeout_sec * G_USEC_PER_SEC;

	for (;;) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		ssize_t n;

		if (left <= 0) {
			fprintf(stderr,
				"%s: not ready after %u s; it keeps trying in the background (pid %d)\n",
				cfg->program, cfg->startup_timeout_sec, (int)child);
			_exit(3);
		}
		if (poll(&p, 1, (int)MIN(left, 1000)) <= 0)
			continue;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got) || got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	if (strncmp(buf, "ok", 2) == 0)
		_exit(0);
	fprintf(stderr, "%s: %s\n", cfg->program,
		got ? g_strstrip(buf) : "startup failed (the daemon exited)");
	_exit(1);
}

TrService *
tr_service_new(const TrServiceConfig *config, GError **error)
{
	TrService *s = g_new0(TrService, 1);

	s->cfg = *config;
	s->pid_file = g_strdup(config->pid_file);
	s->user = g_strdup(config->user);
	s->group = g_strdup(config->group);
	s->cfg.pid_file = s->pid_file;
	s->cfg.user = s->user;
	s->cfg.group = s->group;
	if (s->cfg.startup_timeout_sec == 0)
		s->cfg.startup_timeout_sec = 120;
	s->ready_fd = -1;

	if (config->daemonize) {
		int fds[2];
		pid_t pid;

		if (pipe2(fds, O_CLOEXEC) < 0) {
			tr_set_error_errno(error, errno, "pipe");
			tr_service_free(s);
			return NULL;
		}
		pid = fork();
		if (pid < 0) {
			tr_set_error_errno(error, errno, "fork");
			tr_service_free(s);
			return NULL;
		}
		if (pid > 0) {
			close(fds[1]);
			wait_for_child(fds[0], pid, &s->cfg);
		}
		close(fds[0]);
		s->ready_fd = fds[1];
		setsid();
		/* Daemons log to syslog (the journal); stderr goes away at ready. */
		tr_log_use_syslog(TRUE);
	}
	return s;
}

static gboolean
write_pid_file(TrService *s, GError **error)
{
	g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());

	if (s->pid_file == NULL)
		return TRUE;
	if (!g_file_set_contents_full(s->pid_file, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
				      error)) {
		g_prefix_error(error, "cannot write the pid file: ");
		return FALSE;
	}
	s->pid_written = TRUE;
	return TRUE;
}

gboolean
tr_service_ready(TrService *s, const char *status, GError **error)
{
	TrPlatError perr = { 0 };
	const char *usec;

	if (!write_pid_file(s, error))
		return FALSE;
	if (s->user || s->group) {
		if (tr_process_drop_privileges(s->user, s->group, true, &perr) < 0) {
			g_set_error(error, TR_ERROR, TR_ERROR_PERMISSION, "%s", perr.message);
			return FALSE;
		}
		g_message("running as %s%s%s, keeping only CAP_NET_ADMIN", s->user ? s->user : "",
			  s->group ? ":" : "", s->group ? s->group : "");
	} else if (geteuid() == 0) {
		/* Secure by default: still root, but with nothing beyond what
		 * reconfiguring the device needs. */
		if (tr_process_drop_privileges(NULL, NULL, true, &perr) < 0)
			g_warning("cannot drop capabilities, running with all of root's: %s",
				  perr.message);
		else
			g_debug("capabilities dropped to CAP_NET_ADMIN");
	}
	if (s->ready_fd >= 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (write(s->ready_fd, "ok\n", 3) != 3)
			g_warning("cannot tell the parent process we are ready");
		close(s->ready_fd);
		s->ready_fd = -1;
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			close(null);
		}
	}
	if (status) {
		g_autofree char *msg = g_strdup_printf("READY=1\nSTATUS=%s", status);
		tr_sd_notify(msg);
	} else {
		tr_sd_notify("READY=1");
	}
	/* systemd's WatchdogSec: ping at half the interval. */
	usec = g_getenv("WATCHDOG_USEC");
	if (usec) {
		guint64 us = g_ascii_strtoull(usec, NULL, 10);
		if (us >= 2000)
			s->watchdog_id = g_timeout_add((guint)(us / 2000), on_watchdog, s);
	}
	return TRUE;
}

void
tr_service_failed(TrService *s, const char *message)
{
	if (s->ready_fd >= 0) {
		g_autofree char *line = g_strdup_printf("%s\n", message);
		if (write(s->ready_fd, line, strlen(line)) < 0)
			g_warning("cannot tell the parent process why we failed");
		close(s->ready_fd);
		s->ready_fd = -1;
	}
}

void
tr_service_status(TrService *s, const char *status)
{
	g_autofree char *msg = g_strdup_printf("STATUS=%s", status);
	tr_sd_notify(msg);
}

void
tr_service_stopping(TrService *s)
{
	tr_sd_notify("STOPPING=1");
	g_clear_handle_id(&s->watchdog_id, g_source_remove);
	if (s->pid_written && s->pid_file && unlink(s->pid_file) < 0 && errno != ENOENT)
		g_warning("cannot remove the pid file %s: %s", s->pid_file, g_strerror(errno));
	s->pid_written = FALSE;
}

void
tr_service_free(TrService *s)
{
	if (s == NULL)
		return;
	g_clear_handle_id(&s->watchdog_id, g_source_remove);
	if (s->ready_fd >= 0)
		close(s->ready_fd);
	g_free(s->pid_file);
	g_free(s->user);
	g_free(s->group);
	g_free(s);
}

void
tr_service_init_log(TrOptions *o, const char *program)
{
	tr_log_init(program,
		    tr_options_get_bool(o, "verbose") ? TR_LOG_VERBOSE
		    : tr_options_get_bool(o, "quiet") ? TR_LOG_QUIET
							: TR_LOG_NORMAL,
		    tr_options_get_string(o, "log-file"), NULL);
}

char *
tr_service_network_name(TrOptions *o, const char *program)
{
	const char *config = tr_options_get_string(o, "config");
	char *base;

	if (config == NULL)
		return g_strdup_printf("%s.%d", program, (int)getpid());
	base = g_path_get_basename(config);
	if (g_str_has_suffix(base, ".conf"))
		base[strlen(base) - 5] = '\0';
	return base;
}

gboolean
tr_service_wants_system_bus(TrOptions *o)
{
	const char *when = tr_options_get_string(o, "system-bus");

	if (g_strcmp0(when, "yes") == 0)
		return TRUE;
	if (g_strcmp0(when, "no") == 0)
		return FALSE;
	return g_getenv("INVOCATION_ID") != NULL;
}

char *
tr_service_control_socket(TrOptions *o, const char *program)
{
	const char *path = tr_options_get_string(o, "control-socket");
	const char *config = tr_options_get_string(o, "config");

	if (path)
		return g_strcmp0(path, "none") == 0 ? NULL : g_strdup(path);
	if (config) {
		g_autofree char *base = tr_service_network_name(o, program);
		return tr_control_default_socket(program, base);
	}
	return tr_control_default_socket(program, NULL);
}

void
tr_service_write_stats(const char *path, const char *json)
{
	g_autoptr(GError) error = NULL;

	if (!g_file_set_contents_full(path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
		g_warning("cannot write the stats file: %s", error->message);
}
