/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "client/password.h"
#include "common/base/error.h"
#include "tests/unit/assert-message.h"
#include "common/base/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static char *tmpdir;

/* Writes @len bytes of @data to a fresh file with @mode; returns its path. */
static char *
make_file(const char *name, const char *data, gssize len, int mode)
{
	g_autoptr(GError) error = NULL;
	char *path = g_build_filename(tmpdir, name, NULL);

	g_assert_true(g_file_set_contents(path, data, len, &error));
	g_assert_no_error(error);
	g_assert_cmpint(g_chmod(path, mode), ==, 0);
	return path;
}

static void
test_from_config(void)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrSecret) password = NULL;
	g_autofree char *path = make_file("cfg", "from-file\n", -1, 0600);

	g_assert_true(tr_password_get("from config", NULL, "alice", &password, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(password, ==, "from config");
	g_clear_pointer(&password, tr_secret_free);

	g_assert_true(tr_password_get(NULL, path, "alice", &password, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(password, ==, "from-file");
	g_clear_pointer(&password, tr_secret_free);

	g_assert_false(tr_password_get("x", path, "alice", &password, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	tr_assert_message_has(error, "both 'password' and 'password-file'");
	g_clear_error(&error);

	g_assert_false(tr_password_get("", NULL, "alice", &password, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	g_assert_null(password);
	g_assert_cmpint(g_unlink(path), ==, 0);
}

static void
read_ok(const char *name, const char *data, gssize len, const char *expect)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrSecret) password = NULL;
	g_autofree char *path = make_file(name, data, len, 0600);

	g_assert_true(tr_password_read_file(path, &password, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(password, ==, expect);
	g_assert_cmpint(g_unlink(path), ==, 0);
}

static void
read_fails(const char *name, const char *data, gssize len, int mode, int code, const char *fragment)
{
	g_autoptr(GError) error = NULL;
	g_auto(TrSecret) password = NULL;
	g_autofree char *path = make_file(name, data, len, mode);

	g_assert_false(tr_password_read_file(path, &password, &error));
	g_assert_error(error, TR_ERROR, code);
	tr_assert_message_has(error, fragment);
	g_assert_null(password);
	g_assert_cmpint(g_unlink(path), ==, 0);
}

static void
test_file(void)
{
	g_autofree char *longest = g_strnfill(TR_PASSWORD_MAX_LEN, 'p');
	g_autofree char *too_long = g_strnfill(TR_PASSWORD_MAX_LEN + 1, 'p');
	g_autofree char *longest_nl = g_strconcat(longest, "\n", NULL);
	g_autoptr(GError) error = NULL;
	g_auto(TrSecret) password = NULL;
	g_autofree char *missing = g_build_filename(tmpdir, "missing", NULL);

	read_ok("plain", "s3cret\n", -1, "s3cret");
	read_ok("first-line", "s3cret\nsecond line\n", -1, "s3cret");
	read_ok("no-newline", "s3cret", -1, "s3cret");
	read_ok("crlf", "s3 cret \r\n", -1, "s3 cret ");
	read_ok("longest", longest_nl, -1, longest);
	read_ok("longest-eof", longest, -1, longest);

	read_fails("group", "s3cret\n", -1, 0640, TR_ERROR_PERMISSION, "chmod 600");
	read_fails("world", "s3cret\n", -1, 0604, TR_ERROR_PERMISSION, "(mode 0604)");
	read_fails("gwrite", "s3cret\n", -1, 0620, TR_ERROR_PERMISSION, "group or others");
	read_fails("empty", "", -1, 0600, TR_ERROR_INVALID, "is empty");
	read_fails("blank", "\nsecond\n", -1, 0600, TR_ERROR_INVALID, "is empty");
	read_fails("nul", "s3\0cret\n", 8, 0600, TR_ERROR_INVALID, "NUL byte");
	read_fails("long", too_long, -1, 0600, TR_ERROR_INVALID, "longer than 1024");

	g_assert_false(tr_password_read_file(missing, &password, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_NOT_FOUND);
	tr_assert_message_has(error, missing);
	g_clear_error(&error);

	g_assert_false(tr_password_read_file(tmpdir, &password, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	tr_assert_message_has(error, "not a regular file");
}

/* Without a controlling terminal (a service), the prompt fails and says what to set. */
static void
test_no_terminal(void)
{
	int status;
	pid_t pid = fork();

	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		GError *error = NULL;
		char *password = NULL;

		if (setsid() < 0)
			_exit(2);
		if (tr_password_get(NULL, NULL, "alice", &password, &error))
			_exit(3);
		if (!g_error_matches(error, TR_ERROR, TR_ERROR_NOT_FOUND) ||
		    !strstr(error->message, "no terminal") ||
		    !strstr(error->message, "'password' or 'password-file'"))
			_exit(4);
		_exit(0);
	}
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* Reads from @fd into @out until @needle shows up (bounded: 10 s). */
static void
read_until(int fd, GString *out, const char *needle)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	while (!strstr(out->str, needle)) {
		struct pollfd pfd = {fd, POLLIN, 0};
		char buf[256];
		ssize_t n;

		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		g_assert_cmpint(n, >, 0);
		g_string_append_len(out, buf, n);
	}
}

/* A real prompt on a pseudo-terminal: the password is read with echo off. */
static void
test_prompt_pty(void)
{
	/* Allocated after the fork: the child leaves by _exit(), and under
	 * valgrind its copy of anything allocated before counts as leaked. */
	g_autoptr(GString) screen = NULL;
	g_autoptr(GString) answer = NULL;
	struct termios tio;
	int master, pipefd[2], status;
	pid_t pid;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	g_assert_cmpint(master, >=, 0);
	g_assert_cmpint(grantpt(master), ==, 0);
	g_assert_cmpint(unlockpt(master), ==, 0);
	g_assert_cmpint(pipe(pipefd), ==, 0);

	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		GError *error = NULL;
		char *password = NULL;
		int slave;

		close(pipefd[0]);
		/* A new session whose first terminal becomes its controlling one. */
		if (setsid() < 0)
			_exit(2);
		slave = open(ptsname(master), O_RDWR);
		if (slave < 0)
			_exit(3);
		close(master);
		if (!tr_password_get(NULL, NULL, "alice", &password, &error)) {
			dprintf(pipefd[1], "error: %s", error->message);
			_exit(4);
		}
		dprintf(pipefd[1], "[%s]", password);
		_exit(0);
	}
	close(pipefd[1]);
	screen = g_string_new(NULL);
	answer = g_string_new(NULL);

	read_until(master, screen, "Password for alice: ");
	/* Echo is off while the prompt waits. */
	g_assert_cmpint(tcgetattr(master, &tio), ==, 0);
	g_assert_false(tio.c_lflag & ECHO);
	g_assert_cmpint(write(master, "pass word\n", 10), ==, 10);

	read_until(pipefd[0], answer, "]");
	g_assert_cmpstr(answer->str, ==, "[pass word]");
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);

	/* Echo is back on, and what was typed never reached the screen. */
	g_assert_cmpint(tcgetattr(master, &tio), ==, 0);
	g_assert_true(tio.c_lflag & ECHO);
	{
		struct pollfd pfd = {master, POLLIN, 0};
		char buf[256];
		ssize_t n;

		while (poll(&pfd, 1, 50) > 0 && (n = read(master, buf, sizeof(buf))) > 0)
			g_string_append_len(screen, buf, n);
	}
	g_assert_null(strstr(screen->str, "pass word"));
	close(pipefd[0]);
	close(master);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int rc;

	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("trellis-pw-XXXXXX", &error);
	g_assert_no_error(error);

	g_test_add_func("/client-password/config", test_from_config);
	g_test_add_func("/client-password/file", test_file);
	g_test_add_func("/client-password/no-terminal", test_no_terminal);
	g_test_add_func("/client-password/prompt-pty", test_prompt_pty);
	rc = g_test_run();
	g_rmdir(tmpdir);
	g_free(tmpdir);
	return rc;
}
