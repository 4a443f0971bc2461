/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ifup/ifdown hooks: "sh -c COMMAND" with IFNAME set, waited for. */
#include "platform/posix/posix.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Declared by unistd.h with _GNU_SOURCE on glibc, by nobody on the BSDs. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wredundant-decls"
extern char **environ;
#pragma GCC diagnostic pop

/* Feeds @input to the child; small (a resolv.conf), so the pipe holds it. */
static int
feed(int fd, const char *input)
{
	size_t len = strlen(input), off = 0;

	while (off < len) {
		ssize_t w = write(fd, input + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return 0;
}

int
tr_posix_run(const char *const *argv, const char *ifname, const char *input, const char *what,
             TrPlatError *err)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2] = {-1, -1};
	int feed_rc = 0;
	char ifname_var[TR_IFNAME_MAX + sizeof("IFNAME=")];
	char ebuf[128];
	size_t n = 0, j = 0;
	char **envp;
	pid_t pid;
	int rc, status;

	while (environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return tr_plat_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "IFNAME=", 7) != 0)
			envp[j++] = environ[i];
	if (ifname) {
		snprintf(ifname_var, sizeof(ifname_var), "IFNAME=%s", ifname);
		envp[j++] = ifname_var;
	}
	envp[j] = NULL;
	posix_spawn_file_actions_init(&fa);
	if (input) {
		if (pipe(pipefd) < 0) {
			rc = errno;
			free(envp);
			posix_spawn_file_actions_destroy(&fa);
			return tr_plat_error_set(err, rc, "cannot run %s: pipe: %s", what,
			                         tr_plat_strerror(rc, ebuf, sizeof(ebuf)));
		}
		posix_spawn_file_actions_adddup2(&fa, pipefd[0], 0);
		posix_spawn_file_actions_addclose(&fa, pipefd[1]);
	}
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	if (input)
		close(pipefd[0]);
	if (rc != 0) {
		if (input)
			close(pipefd[1]);
		return tr_plat_error_set(err, rc, "cannot run %s: %s", what,
		                         tr_plat_strerror(rc, ebuf, sizeof(ebuf)));
	}
	if (input) {
		/* A child that exits without reading must not kill us with SIGPIPE. */
		sigset_t pending, block, old;
		sigemptyset(&block);
		sigaddset(&block, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &block, &old);
		feed_rc = feed(pipefd[1], input);
		close(pipefd[1]);
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE)) {
			int sig;
			sigwait(&block, &sig);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return tr_plat_error_set(err, errno, "waiting for %s: %s", what,
			                         tr_plat_strerror(errno, ebuf, sizeof(ebuf)));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (feed_rc < 0)
			return tr_plat_error_set(err, -feed_rc, "%s did not read its input: %s",
			                         what,
			                         tr_plat_strerror(-feed_rc, ebuf, sizeof(ebuf)));
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return tr_plat_error_set(err, ENOENT,
		                         "%s exited with status 127 (command not found?)", what);
	if (WIFEXITED(status))
		return tr_plat_error_set(err, ECHILD, "%s exited with status %d", what,
		                         WEXITSTATUS(status));
	return tr_plat_error_set(err, ECHILD, "%s was killed by signal %d (%s)", what,
	                         WTERMSIG(status), strsignal(WTERMSIG(status)));
}

int
tr_posix_run_hook(TrDevice *dev, const char *command, TrPlatError *err)
{
	const char *argv[] = {"sh", "-c", command, NULL};
	char what[128];

	snprintf(what, sizeof(what), "command '%.100s'", command);
	return tr_posix_run(argv, dev->ifname, NULL, what, err);
}
