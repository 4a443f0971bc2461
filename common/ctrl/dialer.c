/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/ctrl/dialer.h"

#include "common/base/error.h"

#include "platform/net.h"

#include <errno.h>

struct _TrDialer {
	char *target;
	guint16 default_port;
	guint timeout_ms;
	TrDialerFunc func;
	gpointer user_data;
	GCancellable *cancel;
};

guint
tr_backoff_next(guint attempt, guint max_sec)
{
	guint base = MIN(MAX(max_sec, 1u) * 1000u, 1000u << MIN(attempt, 10u));

	return (guint)g_random_int_range((gint32)(base * 3 / 4), (gint32)(base * 5 / 4) + 1);
}

TrDialer *
tr_dialer_new(const char *target, guint16 default_port, guint timeout_ms, TrDialerFunc func,
              gpointer user_data)
{
	TrDialer *d = g_new0(TrDialer, 1);

	d->target = g_strdup(target);
	d->default_port = default_port;
	d->timeout_ms = timeout_ms;
	d->func = func;
	d->user_data = user_data;
	return d;
}

static void
on_connected(GObject *source, GAsyncResult *res, gpointer p)
{
	TrDialer *d = p;
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GSocketAddress) remote = NULL;
	struct sockaddr_storage ss;
	gssize len;
	int fd;

	conn = g_socket_client_connect_to_host_finish(G_SOCKET_CLIENT(source), res, &error);
	if (conn == NULL) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			d->func(d, -1, NULL, 0, error, d->user_data);
		return;
	}
	remote = g_socket_connection_get_remote_address(conn, &error);
	len = remote ? g_socket_address_get_native_size(remote) : -1;
	if (remote == NULL || len <= 0 || (gsize)len > sizeof(ss) ||
	    !g_socket_address_to_native(remote, &ss, sizeof(ss), &error)) {
		if (error == NULL)
			g_set_error(&error, TR_ERROR, TR_ERROR_IO,
			            "cannot read the peer's address");
		d->func(d, -1, NULL, 0, error, d->user_data);
		return;
	}
	/* GIO closes its socket with the connection: keep a duplicate. */
	fd = tr_sock_dup(g_socket_get_fd(g_socket_connection_get_socket(conn)), NULL);
	if (fd < 0) {
		tr_set_error_errno(&error, -fd, "cannot duplicate the connected socket");
		d->func(d, -1, NULL, 0, error, d->user_data);
		return;
	}
	d->func(d, fd, (struct sockaddr *)&ss, (socklen_t)len, NULL, d->user_data);
}

void
tr_dialer_start(TrDialer *d)
{
	g_autoptr(GSocketClient) sc = g_socket_client_new();

	tr_dialer_cancel(d);
	d->cancel = g_cancellable_new();
	g_socket_client_set_timeout(sc, MAX(1u, d->timeout_ms / 1000));
	g_socket_client_connect_to_host_async(sc, d->target, d->default_port, d->cancel,
	                                      on_connected, d);
}

void
tr_dialer_cancel(TrDialer *d)
{
	if (d->cancel) {
		g_cancellable_cancel(d->cancel);
		g_clear_object(&d->cancel);
	}
}

void
tr_dialer_free(TrDialer *d)
{
	if (d == NULL)
		return;
	tr_dialer_cancel(d);
	g_free(d->target);
	g_free(d);
}

const char *
tr_dialer_target(TrDialer *d)
{
	return d->target;
}
