/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Thread scheduling: background threads (platform/process.h). */
#include "platform/process.h"

#include <errno.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

int
tr_thread_set_background(int steps)
{
#ifdef __linux__
	/* Linux applies PRIO_PROCESS with a thread id to that thread alone. */
	int tid = (int)syscall(SYS_gettid), nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)tid);
	if (nice == -1 && errno != 0)
		return -errno;
	if (setpriority(PRIO_PROCESS, (id_t)tid, nice + steps < 19 ? nice + steps : 19) < 0)
		return -errno;
	return 0;
#else
	/* The BSDs' nice is per process: the whole hub would yield. */
	(void)steps;
	return -ENOTSUP;
#endif
}
