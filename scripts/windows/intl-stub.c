/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A libintl for the Windows dependency build: GLib links against libintl, and
 * Debian has no mingw-w64 gettext. Every call returns the untranslated msgid,
 * so Windows builds show English (docs/WINDOWS.md says so).
 */
#include <stddef.h>

#include "libintl.h"

char *
gettext(const char *msgid)
{
	return (char *)msgid;
}

char *
dgettext(const char *domain, const char *msgid)
{
	(void)domain;
	return (char *)msgid;
}

char *
dcgettext(const char *domain, const char *msgid, int category)
{
	(void)domain;
	(void)category;
	return (char *)msgid;
}

char *
ngettext(const char *msgid, const char *plural, unsigned long n)
{
	return (char *)(n == 1 ? msgid : plural);
}

char *
dngettext(const char *domain, const char *msgid, const char *plural, unsigned long n)
{
	(void)domain;
	return (char *)(n == 1 ? msgid : plural);
}

char *
dcngettext(const char *domain, const char *msgid, const char *plural, unsigned long n, int category)
{
	(void)domain;
	(void)category;
	return (char *)(n == 1 ? msgid : plural);
}

char *
textdomain(const char *domain)
{
	return (char *)(domain ? domain : "messages");
}

char *
bindtextdomain(const char *domain, const char *dir)
{
	(void)domain;
	return (char *)dir;
}

char *
bind_textdomain_codeset(const char *domain, const char *codeset)
{
	(void)domain;
	return (char *)codeset;
}
