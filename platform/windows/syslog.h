/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * syslog(3) on Windows: the Application Event Log, with the program as the
 * event source (the installer registers it). Enough of the interface for
 * common/base/log.c: openlog() names the source, syslog() reports one event.
 */
#define LOG_ERR     3
#define LOG_WARNING 4
#define LOG_NOTICE  5
#define LOG_INFO    6
#define LOG_DEBUG   7
#define LOG_PID     0x01
#define LOG_DAEMON  (3 << 3)

void openlog(const char *ident, int option, int facility);
void syslog(int priority, const char *format, ...) __attribute__((format(printf, 2, 3)));
