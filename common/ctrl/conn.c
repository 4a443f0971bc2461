/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/ctrl/conn.h"

#include "common/base/error.h"
#include "common/base/io-watch.h"
#include "common/ctrl/handshake-pool.h"
#include "platform/net.h"

#include <errno.h>

/* Control messages may wait in a long queue; data packets only in a short
 * one, past which they are dropped (the sender's TCP stream is saturated). */
#define QUEUE_MAX_CONTROL (4u << 20)
#define QUEUE_MAX_DATA    (512u << 10)
#define READ_BUDGET       (256u << 10) /* bytes per dispatch, for fairness */
#define LINGER_MS         2000

typedef enum {
	STATE_HANDSHAKE,
	STATE_OPEN,
	STATE_CLOSING, /* flushing a final message */
	STATE_CLOSED,
} State;

struct _TrCtrl {
	gint ref;
	State state;
	int fd;
	TrTls *tls;
	char *peer;
	TrCtrlCallbacks cb;
	gpointer user_data;
	TrIoWatch *watch;      /* every connection behind one source (common/base/io-watch.h) */
	TrHandshakePool *pool; /* the handshake's threads, or NULL: on this loop */
	TrHandshakeJob *job;   /* while a worker has the session and the socket */
	guint timeout_id;
	GByteArray *in;
	GByteArray *out;
	size_t inflight; /* bytes handed to GnuTLS that returned EAGAIN */
	GError *close_error;
	gboolean in_io; /* on_io runs: it flushes, then sets the events */
};

static void ctrl_finish(TrCtrl *ctrl, GError *error);
static gboolean on_io(int fd, GIOCondition rev, gpointer user_data);

/* TLS is up: the owner hears it, then reads what came behind the handshake. */
static void
handshake_done(TrCtrl *ctrl)
{
	ctrl->state = STATE_OPEN;
	g_clear_handle_id(&ctrl->timeout_id, g_source_remove);
	if (ctrl->cb.established)
		ctrl->cb.established(ctrl, ctrl->user_data);
}

/*
 * What the connection waits for. A message queued while the socket can take
 * it is written without asking the poll set for G_IO_OUT (two epoll_ctl per
 * message, and a wakeup for a writable socket, on each side of every
 * session): within on_io the flush at its end writes it; outside, a kick
 * runs on_io at the next iteration, whose flush takes every message queued
 * meanwhile in one write. Only a write that met EAGAIN waits for G_IO_OUT.
 */
static void
update_events(TrCtrl *ctrl)
{
	GIOCondition cond = G_IO_IN;

	if (ctrl->watch == NULL || ctrl->in_io)
		return;
	if (ctrl->state == STATE_HANDSHAKE)
		cond = tr_tls_wants_write(ctrl->tls) ? G_IO_OUT : G_IO_IN;
	else if (ctrl->inflight > 0)
		cond |= G_IO_OUT;
	else if (ctrl->out->len > 0)
		tr_io_watch_kick(ctrl->watch);
	tr_io_watch_modify(ctrl->watch, cond);
}

/* An emptied buffer gives its memory back: an idle connection holds none. */
static void
release_if_empty(GByteArray *buf)
{
	if (buf->len == 0 && buf->data != NULL)
		g_free(g_byte_array_steal(buf, NULL));
}

static gboolean
flush(TrCtrl *ctrl, GError **error)
{
	while (ctrl->out->len > 0 || ctrl->inflight > 0) {
		gssize n;

		if (ctrl->inflight > 0)
			n = tr_tls_write(ctrl->tls, NULL, 0, error);
		else
			n = tr_tls_write(ctrl->tls, ctrl->out->data, MIN(ctrl->out->len, 16384u),
			                 error);
		if (n == -EAGAIN) {
			if (ctrl->inflight == 0)
				ctrl->inflight = MIN(ctrl->out->len, 16384u);
			return TRUE;
		}
		if (n < 0)
			return FALSE;
		g_byte_array_remove_range(ctrl->out, 0, (guint)n);
		ctrl->inflight = 0;
	}
	release_if_empty(ctrl->out);
	return TRUE;
}

/* Hands the whole messages at @data to the callback; *@used: their bytes. */
static gboolean
process_frames(TrCtrl *ctrl, const uint8_t *data, size_t len, size_t *used, GError **error)
{
	*used = 0;
	while (ctrl->state == STATE_OPEN) {
		int n = tr_msg_frame_length(data + *used, len - *used);
		g_auto(TrMsg) msg = {0};

		if (n == 0)
			break;
		if (n < 0) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "malformed message header");
			return FALSE;
		}
		if (!tr_msg_parse(data + *used, (size_t)n, &msg, error))
			return FALSE;
		*used += (size_t)n;
		if (ctrl->cb.message)
			ctrl->cb.message(ctrl, &msg, ctrl->user_data);
	}
	return TRUE;
}

/*
 * Takes @len bytes just read: messages complete in them are handled from @data
 * itself, and only a message's beginning is kept in ctrl->in until its rest comes.
 */
static gboolean
process_input(TrCtrl *ctrl, const uint8_t *data, size_t len, GError **error)
{
	size_t used;

	if (ctrl->in->len == 0) {
		if (!process_frames(ctrl, data, len, &used, error))
			return FALSE;
		if (used < len && ctrl->state == STATE_OPEN)
			g_byte_array_append(ctrl->in, data + used, (guint)(len - used));
		return TRUE;
	}
	g_byte_array_append(ctrl->in, data, (guint)len);
	if (!process_frames(ctrl, ctrl->in->data, ctrl->in->len, &used, error))
		return FALSE;
	if (used > 0 && ctrl->state != STATE_CLOSED) {
		g_byte_array_remove_range(ctrl->in, 0, (guint)used);
		release_if_empty(ctrl->in);
	}
	return TRUE;
}

static gboolean
read_some(TrCtrl *ctrl, GError **error)
{
	uint8_t buf[16384];
	size_t budget = READ_BUDGET;

	while (budget > 0 && ctrl->state == STATE_OPEN) {
		gssize n = tr_tls_read(ctrl->tls, buf, sizeof(buf), error);

		if (n == -EAGAIN)
			return TRUE;
		if (n < 0)
			return FALSE;
		if (n == 0) {
			g_set_error(error, TR_ERROR, TR_ERROR_IO, "connection closed by the peer");
			return FALSE;
		}
		budget -= MIN(budget, (size_t)n);
		if (!process_input(ctrl, buf, (size_t)n, error))
			return FALSE;
		/* A message bigger than the largest frame can never complete. */
		if (ctrl->in->len > TR_MSG_HEADER_LEN + TR_MSG_MAX_BODY) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "oversized message");
			return FALSE;
		}
	}
	/* Budget spent with bytes still waiting: come back on the next iteration. */
	if (ctrl->state == STATE_OPEN && tr_tls_pending(ctrl->tls))
		tr_io_watch_kick(ctrl->watch);
	return TRUE;
}

/* on_io's work; the events are set after it (a finished connection has no watch left). */
static void
serve_io(TrCtrl *ctrl, GIOCondition rev)
{
	g_autoptr(GError) error = NULL;

	if (ctrl->state == STATE_HANDSHAKE) {
		int rc = tr_tls_handshake(ctrl->tls, &error);
		if (rc < 0) {
			ctrl_finish(ctrl, g_steal_pointer(&error));
			return;
		}
		if (rc == 0)
			return;
		handshake_done(ctrl);
		if (ctrl->state != STATE_OPEN)
			return;
		/* Application data may already be buffered behind the handshake. */
		rev |= G_IO_IN;
	}

	if (ctrl->state == STATE_OPEN &&
	    (rev & (G_IO_IN | G_IO_HUP | G_IO_ERR) || tr_tls_pending(ctrl->tls))) {
		if (!read_some(ctrl, &error)) {
			ctrl_finish(ctrl, g_steal_pointer(&error));
			return;
		}
	}
	if (ctrl->state == STATE_OPEN || ctrl->state == STATE_CLOSING) {
		if (!flush(ctrl, &error)) {
			ctrl_finish(ctrl, g_steal_pointer(&error));
			return;
		}
		if (ctrl->state == STATE_CLOSING && ctrl->out->len == 0 && ctrl->inflight == 0) {
			ctrl_finish(ctrl, g_steal_pointer(&ctrl->close_error));
			return;
		}
	}
	/* While closing, a peer that sends more is drained and ignored. */
	if (ctrl->state == STATE_CLOSING && (rev & G_IO_IN)) {
		uint8_t sink[4096];
		while (tr_tls_read(ctrl->tls, sink, sizeof(sink), NULL) > 0)
			;
	}
}

static gboolean
on_io(int fd, GIOCondition rev, gpointer user_data)
{
	TrCtrl *ctrl = user_data;
	g_autoptr(TrCtrl) hold G_GNUC_UNUSED = tr_ctrl_ref(ctrl);

	(void)fd;
	ctrl->in_io = TRUE;
	serve_io(ctrl, rev);
	ctrl->in_io = FALSE;
	update_events(ctrl);
	return G_SOURCE_CONTINUE;
}

TrCtrl *
tr_ctrl_new(TrTlsCreds *creds, int fd, const char *server_name, const char *peer_desc,
            const TrCtrlCallbacks *callbacks, gpointer user_data, GError **error)
{
	TrCtrl *ctrl;
	TrTls *tls;
	int one = 1;

	if (tr_sock_set_nonblocking(fd, NULL) < 0) {
		tr_set_error_errno(error, tr_sock_errno(), "cannot make socket non-blocking");
		tr_sock_close(fd);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, (const void *)&one, sizeof(one));
	tls = tr_tls_new(creds, fd, server_name, error);
	if (tls == NULL) {
		tr_sock_close(fd);
		return NULL;
	}
	ctrl = g_new0(TrCtrl, 1);
	ctrl->ref = 1;
	ctrl->fd = fd;
	ctrl->tls = tls;
	ctrl->peer = g_strdup(peer_desc);
	ctrl->cb = *callbacks;
	ctrl->user_data = user_data;
	ctrl->in = g_byte_array_new();
	ctrl->out = g_byte_array_new();
	ctrl->state = STATE_HANDSHAKE;
	return ctrl;
}

static gboolean
on_handshake_timeout(gpointer user_data)
{
	TrCtrl *ctrl = user_data;

	ctrl->timeout_id = 0;
	ctrl_finish(ctrl, g_error_new(TR_ERROR, TR_ERROR_TIMEOUT, "TLS handshake timed out"));
	return G_SOURCE_REMOVE;
}

static void
close_fd(TrCtrl *ctrl)
{
	if (ctrl->fd >= 0) {
		tr_sock_close(ctrl->fd);
		ctrl->fd = -1;
	}
}

/* The worker let go of the session: it comes to this loop, or is closed. */
static void
on_pool_done(int rc, GError *error, gpointer user_data)
{
	g_autoptr(TrCtrl) ctrl = user_data; /* the pool's reference */

	ctrl->job = NULL;
	if (ctrl->state == STATE_CLOSED) {
		/* Ended here while the worker had it; its socket closes now. */
		g_clear_error(&error);
		close_fd(ctrl);
		return;
	}
	if (rc <= 0) {
		ctrl_finish(ctrl, error ? error
		                        : g_error_new(TR_ERROR, TR_ERROR_FAILED,
		                                      "TLS handshake: its thread stopped"));
		return;
	}
	ctrl->watch = tr_io_watch_new(ctrl->fd, G_IO_IN, on_io, ctrl);
	ctrl->in_io = TRUE; /* what the established callback sends, on_io's flush writes */
	handshake_done(ctrl);
	/* Application data may already be buffered behind the handshake. */
	on_io(ctrl->fd, G_IO_IN, ctrl);
}

void
tr_ctrl_set_handshake_pool(TrCtrl *ctrl, TrHandshakePool *pool)
{
	g_return_if_fail(ctrl->state == STATE_HANDSHAKE && ctrl->watch == NULL &&
	                 ctrl->job == NULL);
	ctrl->pool = pool;
}

void
tr_ctrl_start(TrCtrl *ctrl, guint timeout_ms)
{
	if (ctrl->pool != NULL) {
		/* The worker has the session and the socket until on_pool_done. */
		ctrl->job = tr_handshake_pool_run(ctrl->pool, ctrl->tls, ctrl->fd, on_pool_done,
		                                  tr_ctrl_ref(ctrl));
	} else {
		ctrl->watch = tr_io_watch_new(ctrl->fd, G_IO_IN | G_IO_OUT, on_io, ctrl);
		/* Clients speak first in TLS: a kick sends the first flight now. */
		tr_io_watch_kick(ctrl->watch);
	}
	if (timeout_ms > 0)
		ctrl->timeout_id = g_timeout_add(timeout_ms, on_handshake_timeout, ctrl);
}

static void
ctrl_teardown(TrCtrl *ctrl)
{
	g_clear_pointer(&ctrl->watch, tr_io_watch_free);
	g_clear_handle_id(&ctrl->timeout_id, g_source_remove);
	/* A worker that has the socket lets go of it first (on_pool_done closes it). */
	if (ctrl->job != NULL)
		tr_handshake_job_cancel(ctrl->job);
	else
		close_fd(ctrl);
	ctrl->state = STATE_CLOSED;
}

/* The end of a connection, for whatever reason: one closed callback. */
static void
ctrl_finish(TrCtrl *ctrl, GError *error)
{
	g_autoptr(TrCtrl) hold G_GNUC_UNUSED = tr_ctrl_ref(ctrl);

	if (ctrl->state == STATE_CLOSED) {
		g_clear_error(&error);
		return;
	}
	if (ctrl->state == STATE_OPEN || ctrl->state == STATE_CLOSING) {
		flush(ctrl, NULL);
		tr_tls_bye(ctrl->tls);
	}
	ctrl_teardown(ctrl);
	if (ctrl->cb.closed)
		ctrl->cb.closed(ctrl, error, ctrl->user_data);
	g_clear_error(&error);
}

static gboolean
on_linger_timeout(gpointer user_data)
{
	TrCtrl *ctrl = user_data;

	ctrl->timeout_id = 0;
	ctrl_finish(ctrl, g_steal_pointer(&ctrl->close_error));
	return G_SOURCE_REMOVE;
}

TrCtrl *
tr_ctrl_ref(TrCtrl *ctrl)
{
	g_atomic_int_inc(&ctrl->ref);
	return ctrl;
}

void
tr_ctrl_unref(TrCtrl *ctrl)
{
	if (ctrl == NULL || !g_atomic_int_dec_and_test(&ctrl->ref))
		return;
	ctrl_teardown(ctrl);
	tr_tls_free(ctrl->tls);
	g_byte_array_unref(ctrl->in);
	g_byte_array_unref(ctrl->out);
	g_clear_error(&ctrl->close_error);
	g_free(ctrl->peer);
	g_free(ctrl);
}

gboolean
tr_ctrl_send(TrCtrl *ctrl, const TrMsg *msg, GError **error)
{
	if (ctrl->state != STATE_OPEN) {
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "connection is not open");
		return FALSE;
	}
	if (ctrl->out->len > QUEUE_MAX_CONTROL) {
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "peer is not reading (queue full)");
		return FALSE;
	}
	if (!tr_msg_encode(msg, ctrl->out, error))
		return FALSE;
	update_events(ctrl);
	return TRUE;
}

gboolean
tr_ctrl_send_frame(TrCtrl *ctrl, const uint8_t *frame, size_t len, GError **error)
{
	if (tr_msg_frame_length(frame, len) != (int)len || len < TR_MSG_HEADER_LEN) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "not one framed message (%zu bytes)",
		            len);
		return FALSE;
	}
	if (ctrl->state != STATE_OPEN) {
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "connection is not open");
		return FALSE;
	}
	if (ctrl->out->len > QUEUE_MAX_CONTROL) {
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "peer is not reading (queue full)");
		return FALSE;
	}
	g_byte_array_append(ctrl->out, frame, (guint)len);
	update_events(ctrl);
	return TRUE;
}

/* DATA and RELAY: dropped rather than queued without end behind a slow stream. */
static gboolean
send_raw(TrCtrl *ctrl, gboolean relay, const uint8_t *body, size_t len)
{
	if (ctrl->state != STATE_OPEN || ctrl->out->len > QUEUE_MAX_DATA)
		return FALSE;
	if (!(relay ? tr_msg_encode_relay : tr_msg_encode_data)(ctrl->out, body, len, NULL))
		return FALSE;
	update_events(ctrl);
	return TRUE;
}

gboolean
tr_ctrl_send_data(TrCtrl *ctrl, const uint8_t *packet, size_t len)
{
	return send_raw(ctrl, FALSE, packet, len);
}

gboolean
tr_ctrl_send_relay(TrCtrl *ctrl, const uint8_t *frame, size_t len)
{
	return send_raw(ctrl, TRUE, frame, len);
}

void
tr_ctrl_close(TrCtrl *ctrl, TrMsgType type, TrRefusal code, const char *reason)
{
	g_auto(TrMsg) msg = {0};

	if (ctrl->state == STATE_CLOSED || ctrl->state == STATE_CLOSING)
		return;
	if (code != TR_REFUSE_NONE && code != TR_REFUSE_SHUTDOWN)
		ctrl->close_error = g_error_new(TR_ERROR, TR_ERROR_AUTH, "%s",
		                                reason ? reason : tr_refusal_to_string(code));
	if (ctrl->state == STATE_HANDSHAKE) {
		ctrl_finish(ctrl, g_steal_pointer(&ctrl->close_error));
		return;
	}
	tr_msg_init(&msg, type);
	tr_msg_set_u16(&msg, TR_ATTR_ERROR_CODE, (uint16_t)code);
	if (reason && *reason)
		tr_msg_set_string(&msg, TR_ATTR_REASON, reason);
	tr_ctrl_send(ctrl, &msg, NULL);
	ctrl->state = STATE_CLOSING;
	g_clear_handle_id(&ctrl->timeout_id, g_source_remove);
	ctrl->timeout_id = g_timeout_add(LINGER_MS, on_linger_timeout, ctrl);
	update_events(ctrl);
}

void
tr_ctrl_abort(TrCtrl *ctrl)
{
	ctrl_teardown(ctrl);
}

TrTls *
tr_ctrl_get_tls(TrCtrl *ctrl)
{
	return ctrl->tls;
}

const char *
tr_ctrl_peer(TrCtrl *ctrl)
{
	return ctrl->peer;
}

int
tr_ctrl_get_fd(TrCtrl *ctrl)
{
	return ctrl->fd;
}
