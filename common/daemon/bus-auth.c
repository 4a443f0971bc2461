/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/daemon/bus-auth.h"

#include "common/base/error.h"
#include "tr-config.h"

#ifdef TR_HAVE_POLKIT
#include <polkit/polkit.h>
#endif

typedef struct {
	char *action;
	char *network;
	char *sender;
	TrBusAuthFunc done;
	gpointer user_data;
} AuthRequest;

static void
auth_finish(AuthRequest *req, gboolean allowed, const GError *error)
{
	req->done(allowed, error, req->user_data);
	g_free(req->action);
	g_free(req->network);
	g_free(req->sender);
	g_free(req);
}

static void G_GNUC_PRINTF(2, 3) deny(AuthRequest *req, const char *format, ...)
{
	g_autoptr(GError) error = NULL;
	va_list ap;

	va_start(ap, format);
	error = g_error_new_valist(TR_ERROR, TR_ERROR_PERMISSION, format, ap);
	va_end(ap);
	auth_finish(req, FALSE, error);
}

#ifdef TR_HAVE_POLKIT
static void
on_checked(GObject *source, GAsyncResult *res, gpointer p)
{
	AuthRequest *req = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(PolkitAuthorizationResult) result =
	        polkit_authority_check_authorization_finish(POLKIT_AUTHORITY(source), res, &error);

	if (result == NULL) {
		g_warning("polkit: cannot check %s for %s: %s", req->action, req->sender,
		          error->message);
		deny(req, "not authorized: polkit could not be asked (%s)", error->message);
		return;
	}
	if (polkit_authorization_result_get_is_authorized(result)) {
		g_message("polkit: %s allowed for %s", req->action, req->sender);
		auth_finish(req, TRUE, NULL);
		return;
	}
	g_message("polkit: %s refused for %s", req->action, req->sender);
	deny(req, "not authorized by polkit for %s", req->action);
}

static void
on_authority(GObject *source, GAsyncResult *res, gpointer p)
{
	AuthRequest *req = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(PolkitAuthority) authority = polkit_authority_get_finish(res, &error);
	g_autoptr(PolkitSubject) subject = NULL;
	g_autoptr(PolkitDetails) details = NULL;

	if (authority == NULL) {
		deny(req, "not authorized: polkit is not available (%s)", error->message);
		return;
	}
	subject = polkit_system_bus_name_new(req->sender);
	details = polkit_details_new();
	polkit_details_insert(details, "network", req->network);
	polkit_authority_check_authorization(
	        authority, subject, req->action, details,
	        POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION, NULL, on_checked, req);
}
#endif

static void
on_uid(GObject *source, GAsyncResult *res, gpointer p)
{
	AuthRequest *req = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);
	guint32 uid;

	if (reply == NULL) {
		deny(req, "not authorized: the caller's user is unknown (%s)", error->message);
		return;
	}
	g_variant_get(reply, "(u)", &uid);
	if (uid == 0) {
		auth_finish(req, TRUE, NULL);
		return;
	}
#ifdef TR_HAVE_POLKIT
	polkit_authority_get_async(NULL, on_authority, req);
#else
	deny(req, "not authorized: only root may do %s (built without polkit)", req->action);
#endif
}

void
tr_bus_authorize(GDBusMethodInvocation *inv, const char *action, const char *network,
                 TrBusAuthFunc done, gpointer user_data)
{
	AuthRequest *req = g_new0(AuthRequest, 1);
	GDBusConnection *conn = g_dbus_method_invocation_get_connection(inv);

	req->action = g_strdup(action);
	req->network = g_strdup(network);
	req->sender = g_strdup(g_dbus_method_invocation_get_sender(inv));
	req->done = done;
	req->user_data = user_data;
	g_dbus_connection_call(conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	                       "org.freedesktop.DBus", "GetConnectionUnixUser",
	                       g_variant_new("(s)", req->sender), G_VARIANT_TYPE("(u)"),
	                       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, on_uid, req);
}
