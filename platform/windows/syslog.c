/* SPDX-License-Identifier: GPL-2.0-or-later */
/* platform/windows/syslog.h: ReportEventW into the Application log. */
#include "platform/windows/syslog.h"

#include <stdarg.h>
#include <stdio.h>
#include <windows.h>

static HANDLE source;

void
openlog(const char *ident, int option, int facility)
{
	wchar_t name[128];

	(void)option;
	(void)facility;
	if (MultiByteToWideChar(CP_UTF8, 0, ident ? ident : "trellis", -1, name, 128) == 0)
		wcscpy(name, L"trellis");
	if (source)
		DeregisterEventSource(source);
	source = RegisterEventSourceW(NULL, name);
}

void
syslog(int priority, const char *format, ...)
{
	char text[2048];
	wchar_t wtext[2048];
	const wchar_t *strings[1] = {wtext};
	WORD type = priority <= LOG_ERR       ? EVENTLOG_ERROR_TYPE
	            : priority == LOG_WARNING ? EVENTLOG_WARNING_TYPE
	                                      : EVENTLOG_INFORMATION_TYPE;
	va_list ap;

	if (!source)
		openlog(NULL, 0, 0);
	if (!source)
		return;
	va_start(ap, format);
	vsnprintf(text, sizeof(text), format, ap);
	va_end(ap);
	if (MultiByteToWideChar(CP_UTF8, 0, text, -1, wtext, 2048) == 0)
		return;
	/* Event id 1 with the whole message as its one insertion string. */
	ReportEventW(source, type, 0, 1, NULL, 1, 0, strings, NULL);
}
