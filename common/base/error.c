/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/error.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <string.h>

G_DEFINE_QUARK(trellis - error - quark, tr_error)

gboolean
tr_set_error_errno(GError **error, int errsv, const char *format, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;
	int code;

	va_start(ap, format);
	msg = g_strdup_vprintf(format, ap);
	va_end(ap);

	switch (errsv) {
	case EACCES:
	case EPERM:
		code = TR_ERROR_PERMISSION;
		break;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		code = TR_ERROR_NOT_FOUND;
		break;
	case EEXIST:
	case EBUSY:
		code = TR_ERROR_EXISTS;
		break;
	case ETIMEDOUT:
		code = TR_ERROR_TIMEOUT;
		break;
	case EINVAL:
		code = TR_ERROR_INVALID;
		break;
	case ENOSYS:
	case EOPNOTSUPP:
		code = TR_ERROR_UNSUPPORTED;
		break;
	default:
		code = TR_ERROR_IO;
		break;
	}
	g_set_error(error, TR_ERROR, code, "%s: %s", msg, g_strerror(errsv));
	return FALSE;
}

gboolean
tr_set_error_gnutls(GError **error, int code, int rc, const char *format, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, format);
	msg = g_strdup_vprintf(format, ap);
	va_end(ap);
	g_set_error(error, TR_ERROR, code, "%s: %s", msg, gnutls_strerror(rc));
	return FALSE;
}

gboolean
tr_error_is_retryable(const GError *error)
{
	if (error == NULL || error->domain != TR_ERROR)
		return TRUE;
	switch ((TrError)error->code) {
	case TR_ERROR_AUTH:
	case TR_ERROR_NEGOTIATE:
	case TR_ERROR_CONFIG:
	case TR_ERROR_PERMISSION:
	case TR_ERROR_UNSUPPORTED:
		return FALSE;
	default:
		return TRUE;
	}
}
