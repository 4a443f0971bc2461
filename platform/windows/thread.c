/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Thread scheduling: background threads (platform/process.h). */
#include "platform/process.h"

#include <errno.h>
#include <windows.h>

int
tr_thread_set_background(int steps)
{
	/* Windows has priority classes, not steps: one below normal. */
	(void)steps;
	return SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL) ? 0 : -EPERM;
}
