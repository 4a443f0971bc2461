/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The client's password: from the config, a file, or the terminal. */
#include "client/password.h"
#include "common/base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef G_OS_WIN32
#include "platform/windows/files.h"
#include <conio.h>
#include <io.h>
#include <windows.h>
#else
#include <termios.h>
#endif

#define NO_TERMINAL_HINT "set 'password' or 'password-file' in the configuration"

/*
 * Checks the line in @buf (@len bytes, newline already cut) and copies it out.
 * @what names the source in errors.
 */
static gboolean
take_line(const char *buf, size_t len, const char *what, char **password, GError **error)
{
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (memchr(buf, '\0', len)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "the password from %s contains a NUL byte", what);
		return FALSE;
	}
	if (len == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "the password from %s is empty",
		            what);
		return FALSE;
	}
	*password = g_strndup(buf, len);
	return TRUE;
}

gboolean
tr_password_read_file(const char *path, char **password, GError **error)
{
	char buf[TR_PASSWORD_MAX_LEN + 2];
	size_t len = 0;
	char *nl = NULL;
	struct stat st;
	gboolean ok = FALSE;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return tr_set_error_errno(error, errno, "password file %s", path);
	if (fstat(fd, &st) < 0) {
		tr_set_error_errno(error, errno, "password file %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "password file %s is not a regular file", path);
		goto out;
	}
#ifdef G_OS_WIN32
	if (tr_win_file_is_shared(path) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_PERMISSION,
		            "password file %s can be read by users other than its owner, SYSTEM "
		            "and the Administrators (or its ACL cannot be read)",
		            path);
		goto out;
	}
#else
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		g_set_error(error, TR_ERROR, TR_ERROR_PERMISSION,
		            "password file %s is open to group or others (mode %04o); "
		            "run: chmod 600 %s",
		            path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
#endif
	while (len < sizeof(buf) && !nl) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tr_set_error_errno(error, errno, "reading password file %s", path);
			goto out;
		}
		if (n == 0)
			break;
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
	}
	if (nl)
		len = (size_t)(nl - buf);
	if (len > TR_PASSWORD_MAX_LEN) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "the password in %s is longer than %d bytes", path,
		            TR_PASSWORD_MAX_LEN);
		goto out;
	}
	{
		g_autofree char *what = g_strdup_printf("file %s", path);

		ok = take_line(buf, len, what, password, error);
	}
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return ok;
}

#ifdef G_OS_WIN32
/* The console, without echo: _getwch reads keys, not the input line. */
gboolean
tr_password_prompt(const char *prompt, char **password, GError **error)
{
	char buf[TR_PASSWORD_MAX_LEN];
	gboolean ok = FALSE, too_long = FALSE;
	size_t len = 0;

	if (!_isatty(_fileno(stdin))) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND,
		            "no console to ask for the password on; " NO_TERMINAL_HINT);
		return FALSE;
	}
	fputs(prompt, stderr);
	fflush(stderr);
	for (;;) {
		wint_t c = _getwch();
		char utf8[8];
		int n;

		if (c == L'\r' || c == L'\n' || c == WEOF)
			break;
		if (c == 3) { /* Ctrl+C */
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "password entry interrupted");
			goto out;
		}
		if (c == 8) { /* backspace: drop the last UTF-8 character */
			while (len > 0 && ((unsigned char)buf[--len] & 0xc0) == 0x80)
				;
			continue;
		}
		n = WideCharToMultiByte(CP_UTF8, 0, (wchar_t[]){(wchar_t)c}, 1, utf8, sizeof(utf8),
		                        NULL, NULL);
		if (n <= 0)
			continue;
		if (len + (size_t)n > sizeof(buf)) {
			too_long = TRUE;
			continue;
		}
		memcpy(buf + len, utf8, (size_t)n);
		len += (size_t)n;
	}
	fputc('\n', stderr);
	if (too_long)
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "the password is longer than %d bytes", TR_PASSWORD_MAX_LEN);
	else
		ok = take_line(buf, len, "the console", password, error);
out:
	explicit_bzero(buf, sizeof(buf));
	return ok;
}
#else
/* Reads one line from the terminal @fd into @buf; returns its length or -1. */
static gssize
read_tty_line(int fd, char *buf, size_t size, GError **error)
{
	size_t len = 0;
	gboolean too_long = FALSE;

	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tr_set_error_errno(error, errno, "reading the password from the terminal");
			return -1;
		}
		if (n == 0 || c == '\n')
			break;
		if (len < size)
			buf[len++] = c;
		else
			too_long = TRUE; /* keep reading: drop the rest of the line */
	}
	if (too_long) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "the password is longer than %d bytes", TR_PASSWORD_MAX_LEN);
		return -1;
	}
	return (gssize)len;
}

gboolean
tr_password_prompt(const char *prompt, char **password, GError **error)
{
	char buf[TR_PASSWORD_MAX_LEN];
	struct termios saved, quiet;
	gboolean ok = FALSE;
	gssize len;
	int fd;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND,
		            "no terminal to ask for the password on (%s); " NO_TERMINAL_HINT,
		            g_strerror(errno));
		return FALSE;
	}
	if (tcgetattr(fd, &saved) < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND,
		            "/dev/tty is not a usable terminal (%s); " NO_TERMINAL_HINT,
		            g_strerror(errno));
		close(fd);
		return FALSE;
	}
	/* Echo off before the prompt shows, so nothing typed early is echoed. */
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL | ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
		tr_set_error_errno(error, errno, "turning terminal echo off");
		close(fd);
		return FALSE;
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		tr_set_error_errno(error, errno, "writing the password prompt");
		goto out;
	}
	len = read_tty_line(fd, buf, sizeof(buf), error);
	if (len >= 0)
		ok = take_line(buf, (size_t)len, "the terminal", password, error);
out:
	explicit_bzero(buf, sizeof(buf));
	tcsetattr(fd, TCSAFLUSH, &saved);
	close(fd);
	return ok;
}
#endif

gboolean
tr_password_get(const char *config_value, const char *config_file, const char *user,
                char **password, GError **error)
{
	g_autofree char *prompt = NULL;

	if (config_value && config_file) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_CONFIG,
		                    "both 'password' and 'password-file' are set; keep one");
		return FALSE;
	}
	if (config_value) {
		if (config_value[0] == '\0') {
			g_set_error_literal(error, TR_ERROR, TR_ERROR_CONFIG,
			                    "the 'password' option is empty");
			return FALSE;
		}
		*password = g_strdup(config_value);
		return TRUE;
	}
	if (config_file)
		return tr_password_read_file(config_file, password, error);
	prompt = user ? g_strdup_printf("Password for %s: ", user) : g_strdup("Password: ");
	return tr_password_prompt(prompt, password, error);
}
