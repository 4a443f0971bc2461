/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "platform/windows/compat.h"

#include <io.h>
#include <windows.h>

void
explicit_bzero(void *p, size_t n)
{
	SecureZeroMemory(p, n);
}

int
fsync(int fd)
{
	return _commit(fd);
}
