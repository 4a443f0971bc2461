/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/daemon/service.h"

#include "tr-config.h"

#include "common/daemon/bus.h"
#include "common/base/error.h"
#include "common/base/log.h"
#include "platform/process.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Windows: the service's life is the Service Control Manager's (service-win.c). */
#ifndef G_OS_WIN32
#include <fcntl.h>
#include <glib-unix.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>

#define MAX_RUNTIME_FILES 4

struct _TrService {
	TrServiceConfig cfg;
	char *pid_file;
	char *user, *group;
	char *state_dir;
	int ready_fd; /* write end to the waiting parent, -1 when none */
	guint watchdog_id;
	gboolean pid_written;
	gboolean dropped;
	char *runtime_files[MAX_RUNTIME_FILES]; /* removed at exit (the pid file is apart) */
	guint n_runtime_files;
	int janitor_fd; /* write end to the janitor, -1 when none */
};

gboolean
tr_sd_notify(const char *state)
{
	const char *path = g_getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd;
	ssize_t n;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sa.sun_path))
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

/*
 * The parent: prints the child's progress lines ("progress TEXT") until one
 * line says "ok" (ready: exit 0) or anything else (the failure: exit 1), the
 * child goes away without a word (exit 1), or the time is up (exit 3; the
 * child keeps trying).
 */
static void G_GNUC_NORETURN
wait_for_child(int fd, pid_t child, const TrServiceConfig *cfg)
{
	char buf[1024] = "";
	size_t got = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	gint64 deadline =
	        g_get_monotonic_time() + (gint64)cfg->startup_timeout_sec * G_USEC_PER_SEC;

	for (;;) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		char *nl;
		ssize_t n;

		while ((nl = memchr(buf, '\n', got)) != NULL) {
			*nl = '\0';
			if (strncmp(buf, "progress ", 9) != 0) {
				if (strcmp(buf, "ok") == 0)
					_exit(0);
				fprintf(stderr, "%s: %s\n", cfg->program, buf);
				_exit(1);
			}
			fprintf(stderr, "%s: %s\n", cfg->program, buf + 9);
			got -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, got);
		}
		if (left <= 0) {
			fprintf(stderr,
			        "%s: not ready after %u s; it keeps trying in the background (pid "
			        "%d; "
			        "trellis status shows how it goes, kill %d stops it)\n",
			        cfg->program, cfg->startup_timeout_sec, (int)child, (int)child);
			_exit(3);
		}
		if (got == sizeof(buf) - 1)
			got = 0; /* an overlong line: drop it */
		if (poll(&p, 1, (int)MIN(left, 1000)) <= 0)
			continue;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	fprintf(stderr, "%s: startup failed (the daemon exited)\n", cfg->program);
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
	s->state_dir = g_strdup(config->state_dir);
	s->cfg.state_dir = s->state_dir;
	s->janitor_fd = -1;
	s->cfg.pid_file = s->pid_file;
	s->cfg.user = s->user;
	s->cfg.group = s->group;
	if (s->cfg.startup_timeout_sec == 0)
		s->cfg.startup_timeout_sec = 30;
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
	/* 0644 on purpose: a pid is no secret (/proc shows it), and tools that
	 * are not root read pid files. */
	if (!g_file_set_contents_full(s->pid_file, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
	                              error)) {
		g_prefix_error(error, "cannot write the pid file: ");
		return FALSE;
	}
	s->pid_written = TRUE;
	return TRUE;
}

gboolean
tr_service_check_privileges(const char *program, GError **error)
{
	if (tr_process_can_admin_network())
		return TRUE;
	g_set_error(error, TR_ERROR, TR_ERROR_PERMISSION,
	            "needs root or the CAP_NET_ADMIN capability to create its network device, and "
	            "runs with neither: run it as root, or through its systemd unit "
	            "(systemctl start %s@NAME, or trellis up NAME)",
	            program);
	return FALSE;
}

void
tr_service_add_runtime_file(TrService *s, const char *path)
{
	g_return_if_fail(s->n_runtime_files < MAX_RUNTIME_FILES);
	s->runtime_files[s->n_runtime_files++] = g_strdup(path);
}

/*
 * The state directory is the daemon's: with --user, everything in it goes to
 * that user (and group) before the drop, so that the CRL, the CA and the
 * leases stay readable and writable afterwards. Symbolic links are not
 * followed. Files that `trellis pki` writes there later, as root, go to the
 * directory's owner too (common/pki/store.c).
 */
static gboolean
hand_over_tree(const char *path, uid_t uid, gid_t gid, GError **error)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? TRUE : tr_set_error_errno(error, errno, "%s", path);
	if (S_ISLNK(st.st_mode))
		return TRUE;
	if ((st.st_uid != uid || st.st_gid != gid) && lchown(path, uid, gid) < 0)
		return tr_set_error_errno(error, errno, "cannot give %s to the daemon's user",
		                          path);
	if (S_ISDIR(st.st_mode)) {
		g_autoptr(GDir) dir = g_dir_open(path, 0, error);
		const char *name;

		if (dir == NULL)
			return FALSE;
		while ((name = g_dir_read_name(dir)) != NULL) {
			g_autofree char *child = g_build_filename(path, name, NULL);
			if (!hand_over_tree(child, uid, gid, error))
				return FALSE;
		}
	}
	return TRUE;
}

static gboolean
lookup_ids(TrService *s, uid_t *uid, gid_t *gid, GError **error)
{
	*uid = getuid();
	*gid = getgid();
	if (s->user) {
		const struct passwd *pw = getpwnam(s->user);
		if (pw == NULL) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "no such user '%s'", s->user);
			return FALSE;
		}
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (s->group) {
		const struct group *gr = getgrnam(s->group);
		if (gr == NULL) {
			g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "no such group '%s'",
			            s->group);
			return FALSE;
		}
		*gid = gr->gr_gid;
	}
	return TRUE;
}

/*
 * With --user, the pid file and the control socket sit in root's
 * directories, which the daemon cannot change once it is another user. A
 * janitor process, forked before the drop, stays root with no capability
 * at all, waits for the daemon to end (its pipe closes) and removes them --
 * only if they are still the daemon's (the pid in the file, the socket's
 * inode). It reads nothing else and only calls async-signal-safe functions.
 */
typedef struct {
	char path[PATH_MAX];
	dev_t dev;
	ino_t ino;
	gboolean is_pid_file;
} JanitorFile;

static void G_GNUC_NORETURN
janitor_run(int fd, const JanitorFile *files, guint n, const char *pid_text)
{
	TrPlatError perr = {0};
	char buf[64];
	struct sigaction sa = {.sa_handler = SIG_IGN};

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd != 3) {
		dup2(fd, 3);
		close(fd);
	}
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	close_range(4, ~0U, 0);
	if (tr_process_drop_privileges(NULL, NULL, false, &perr) < 0)
		_exit(1);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	for (;;) {
		ssize_t got = read(3, buf, sizeof(buf));

		if (got == 0 || (got < 0 && errno != EINTR))
			break;
	}
	for (guint i = 0; i < n; i++) {
		struct stat st;

		if (lstat(files[i].path, &st) < 0 || st.st_dev != files[i].dev ||
		    st.st_ino != files[i].ino)
			continue;
		if (files[i].is_pid_file) {
			int pfd = open(files[i].path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			ssize_t len = pfd >= 0 ? read(pfd, buf, sizeof(buf) - 1) : -1;

			if (pfd >= 0)
				close(pfd);
			if (len != (ssize_t)strlen(pid_text) ||
			    memcmp(buf, pid_text, (size_t)len) != 0)
				continue;
		}
		unlink(files[i].path);
	}
	_exit(0);
}

static gboolean
start_janitor(TrService *s, GError **error)
{
	JanitorFile files[MAX_RUNTIME_FILES + 1];
	char pid_text[32];
	guint n = 0;
	int fds[2];
	pid_t pid;

	g_snprintf(pid_text, sizeof(pid_text), "%d\n", (int)getpid());
	for (guint i = 0; i <= s->n_runtime_files; i++) {
		const char *path = i < s->n_runtime_files ? s->runtime_files[i]
		                                          : (s->pid_written ? s->pid_file : NULL);
		struct stat st;

		if (path == NULL || strlen(path) >= PATH_MAX || lstat(path, &st) < 0)
			continue;
		g_strlcpy(files[n].path, path, PATH_MAX);
		files[n].dev = st.st_dev;
		files[n].ino = st.st_ino;
		files[n].is_pid_file = i == s->n_runtime_files;
		n++;
	}
	if (n == 0)
		return TRUE;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return tr_set_error_errno(error, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return tr_set_error_errno(error, errno, "fork");
	}
	if (pid == 0)
		janitor_run(fds[0], files, n, pid_text);
	close(fds[0]);
	s->janitor_fd = fds[1];
	return TRUE;
}

gboolean
tr_service_drop_privileges(TrService *s, GError **error)
{
	TrPlatError perr = {0};

	if (s->dropped)
		return TRUE;
	if (!write_pid_file(s, error))
		return FALSE;
	if (s->user || s->group) {
		uid_t uid;
		gid_t gid;

		if (!lookup_ids(s, &uid, &gid, error))
			return FALSE;
		if (s->state_dir && geteuid() == 0 &&
		    !hand_over_tree(s->state_dir, uid, gid, error)) {
			g_prefix_error(error, "the state directory for --user: ");
			return FALSE;
		}
		if (geteuid() == 0 && uid != 0 && !start_janitor(s, error))
			return FALSE;
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
	} else {
		/* Not root, but given more than CAP_NET_ADMIN (CAP_BPF for the express queue's
		 * program, loaded by now): no more than the units give. */
		int r = tr_process_drop_extra_capabilities(&perr);

		if (r < 0)
			g_warning("cannot drop capabilities beyond CAP_NET_ADMIN: %s",
			          perr.message);
		else if (r > 0)
			g_debug("capabilities beyond CAP_NET_ADMIN dropped");
	}
	s->dropped = TRUE;
	return TRUE;
}

gboolean
tr_service_ready(TrService *s, const char *status, GError **error)
{
	const char *usec;

	if (!tr_service_drop_privileges(s, error))
		return FALSE;
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

		g_strdelimit(line, "\n", ' ');
		line[strlen(line) - 1] = '\n';
		if (write(s->ready_fd, line, strlen(line)) < 0)
			g_warning("cannot tell the parent process why we failed");
		close(s->ready_fd);
		s->ready_fd = -1;
	}
}

void
tr_service_progress(TrService *s, const char *message)
{
	g_autofree char *line = NULL;

	if (s->ready_fd < 0)
		return;
	line = g_strdup_printf("progress %s\n", message);
	g_strdelimit(line, "\n", ' ');
	line[strlen(line) - 1] = '\n';
	if (write(s->ready_fd, line, strlen(line)) < 0)
		g_debug("cannot tell the parent process how startup goes");
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
	/* With a janitor, it removes the files once this process has ended. */
	if (s->janitor_fd < 0 && s->pid_written && s->pid_file && unlink(s->pid_file) < 0 &&
	    errno != ENOENT)
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
	for (guint i = 0; i < s->n_runtime_files; i++)
		g_free(s->runtime_files[i]);
	g_free(s->state_dir);
	g_free(s->pid_file);
	g_free(s->user);
	g_free(s->group);
	g_free(s);
}

void
tr_service_on_signals(TrService *s, GSourceFunc stop, GSourceFunc reload, gpointer user_data)
{
	g_unix_signal_add(SIGINT, stop, user_data);
	g_unix_signal_add(SIGTERM, stop, user_data);
	if (reload)
		g_unix_signal_add(SIGHUP, reload, user_data);
}
#endif /* !G_OS_WIN32 */

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
		return tr_bus_default_socket(program, base);
	}
	return tr_bus_default_socket(program, NULL);
}

void
tr_service_write_stats(const char *path, const char *json)
{
	g_autoptr(GError) error = NULL;

	/* It names every peer and its public address: the daemon's user and
	 * group only (--group gives a group, e.g. for the tray, read access). */
	if (!g_file_set_contents_full(path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0640, &error))
		g_warning("cannot write the stats file: %s", error->message);
}

const char *
tr_state_dir_default(void)
{
	const char *env = g_getenv("TRELLIS_STATE_DIR");

	return env && *env ? env : TR_LOCALSTATEDIR;
}

static gboolean
make_control(TrService *s, TrOptions *o, const char *program, const char *role, const TrBusOps *ops,
             gpointer data, TrBus **control, GError **error)
{
	g_autofree char *sock = tr_service_control_socket(o, program);

	if (sock == NULL)
		return TRUE;
	*control = tr_bus_new(role, sock, ops, data, error);
	if (*control == NULL)
		return FALSE;
	tr_service_add_runtime_file(s, sock);
	return TRUE;
}

gboolean
tr_service_drop_with_control(TrService *s, TrOptions *o, const char *program, const char *role,
                             const TrBusOps *ops, gpointer data, TrBus **control, GError **error)
{
	gboolean user = tr_options_get_string(o, "user") != NULL;

	*control = NULL;
	if (user && !make_control(s, o, program, role, ops, data, control, error))
		return FALSE;
	if (!tr_service_drop_privileges(s, error))
		return FALSE;
	return user || make_control(s, o, program, role, ops, data, control, error);
}
