/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers every POSIX backend shares. */
#include "platform/device-ops.h"

#include <stdio.h>
#include <string.h>

/* strerror_r is the GNU one on glibc with _GNU_SOURCE, the XSI one elsewhere. */
static const char *
from_gnu(const char *msg, char *buf)
{
	(void)buf;
	return msg ? msg : "unknown error";
}

static const char *
from_xsi(int rc, char *buf)
{
	return rc == 0 ? buf : "unknown error";
}

const char *
tr_plat_strerror(int errnum, char *buf, size_t size)
{
	buf[0] = '\0';
	return _Generic(strerror_r(errnum, buf, size), char *: from_gnu, int: from_xsi)(
		strerror_r(errnum, buf, size), buf);
}
