/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The interface of intl-stub.c: GNU gettext's, without translations. */
#ifndef TRELLIS_LIBINTL_STUB_H
#define TRELLIS_LIBINTL_STUB_H

#include <locale.h>

#ifndef LC_MESSAGES
#define LC_MESSAGES 1729 /* as GNU gettext's libintl.h defines it on Windows */
#endif

#define TR_FORMAT_ARG(n) __attribute__((__format_arg__(n)))

char *gettext(const char *msgid) TR_FORMAT_ARG(1);
char *dgettext(const char *domain, const char *msgid) TR_FORMAT_ARG(2);
char *dcgettext(const char *domain, const char *msgid, int category) TR_FORMAT_ARG(2);
char *ngettext(const char *msgid, const char *plural, unsigned long n) TR_FORMAT_ARG(1)
        TR_FORMAT_ARG(2);
char *dngettext(const char *domain, const char *msgid, const char *plural, unsigned long n)
        TR_FORMAT_ARG(2) TR_FORMAT_ARG(3);
char *dcngettext(const char *domain, const char *msgid, const char *plural, unsigned long n,
                 int category) TR_FORMAT_ARG(2) TR_FORMAT_ARG(3);
char *textdomain(const char *domain);
char *bindtextdomain(const char *domain, const char *dir);
char *bind_textdomain_codeset(const char *domain, const char *codeset);

#endif
