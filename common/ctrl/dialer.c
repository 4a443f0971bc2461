/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/ctrl/dialer.h"

#include "common/base/error.h"

#include "platform/net.h"

#include <errno.h>

struct _TrDialer {
	char *target;
	guint16 default_port;
	guint timeout_ms;
	guint16 local_port; /* 0: any */
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
tr_dialer_set_local_port(TrDialer *d, guint16 port)
{
	d->local_port = port;
}

#ifdef SO_REUSEPORT
/* GIO's own local address binding turns SO_REUSEPORT off for TCP: bind the
 * socket here, between its creation and its connect(). A failed bind leaves
 * the socket to connect from any port (the old behaviour), said in the log. */
static void
on_client_event(GSocketClient *sc, GSocketClientEvent event, GSocketConnectable *connectable,
                GIOStream *stream, gpointer p)
{
	TrDialer *d = p;
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	int fd, one = 1;

	(void)sc;
	(void)connectable;
	if (event != G_SOCKET_CLIENT_CONNECTING || d->local_port == 0 ||
	    !G_IS_SOCKET_CONNECTION(stream))
		return;
	fd = g_socket_get_fd(g_socket_connection_get_socket(G_SOCKET_CONNECTION(stream)));
	if (g_socket_get_family(g_socket_connection_get_socket(G_SOCKET_CONNECTION(stream))) ==
	    G_SOCKET_FAMILY_IPV6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(d->local_port);
		sl = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(d->local_port);
		sl = sizeof(*in);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0)
		g_message("connecting to %s from any port: cannot use port %u: %s", d->target,
		          d->local_port, g_strerror(errno));
}
#endif

void
tr_dialer_start(TrDialer *d)
{
	g_autoptr(GSocketClient) sc = g_socket_client_new();

	tr_dialer_cancel(d);
	d->cancel = g_cancellable_new();
	g_socket_client_set_timeout(sc, MAX(1u, d->timeout_ms / 1000));
#ifdef SO_REUSEPORT
	if (d->local_port)
		g_signal_connect(sc, "event", G_CALLBACK(on_client_event), d);
#endif
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
