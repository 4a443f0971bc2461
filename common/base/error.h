/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The project's error domain. GLib-level code returns gboolean + GError in
 * this domain and adds context with g_prefix_error(); the packet path returns
 * negative errno or bool instead (no allocation there).
 */
#define TR_ERROR (tr_error_quark())
GQuark tr_error_quark(void);

typedef enum {
	TR_ERROR_FAILED,     /* anything not covered below */
	TR_ERROR_INVALID,    /* malformed input: a value, a packet, a message */
	TR_ERROR_CONFIG,     /* a configuration that cannot work */
	TR_ERROR_PROTOCOL,   /* the peer broke the protocol */
	TR_ERROR_AUTH,       /* authentication refused */
	TR_ERROR_NEGOTIATE,  /* no common version, cipher or setting */
	TR_ERROR_TIMEOUT,    /* a bounded wait ran out */
	TR_ERROR_IO,         /* a system call failed */
	TR_ERROR_PERMISSION, /* not allowed: privileges, file modes */
	TR_ERROR_NOT_FOUND,  /* a named thing does not exist */
	TR_ERROR_EXISTS,     /* a named thing already exists */
	TR_ERROR_UNSUPPORTED /* not available on this system or build */
} TrError;

/*
 * Whether retrying what failed with @error can help: FALSE for refused
 * credentials, settings that cannot be agreed, configurations that cannot
 * work and missing permissions (TR_ERROR_AUTH, _NEGOTIATE, _CONFIG,
 * _PERMISSION, _UNSUPPORTED), TRUE for everything else (timeouts, I/O, a peer
 * that went away). Clients stop their retry loop on the first kind.
 */
gboolean tr_error_is_retryable(const GError *error);

/* Sets @error from errno with a message prefix; returns FALSE for chaining. */
gboolean tr_set_error_errno(GError **error, int errsv, const char *format, ...) G_GNUC_PRINTF(3, 4);

/* Sets @error to "<message>: <GnuTLS's words for @rc>" with @code (TrError:
 * what the failure means where it happened; TR_ERROR_FAILED when nothing
 * more is known); returns FALSE for chaining. */
gboolean tr_set_error_gnutls(GError **error, int code, int rc, const char *format, ...)
        G_GNUC_PRINTF(4, 5);

G_END_DECLS
