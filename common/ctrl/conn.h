/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/ctrl/msg.h"
#include "common/auth/tls.h"
#include "common/ctrl/handshake-pool.h"

G_BEGIN_DECLS

/*
 * One control connection: a TLS session on a TCP socket, driven by the GLib
 * main loop, carrying framed control messages (common/ctrl/msg.h) both ways.
 * The owner reacts through callbacks; all of them run on the main loop.
 */
typedef struct _TrCtrl TrCtrl;

typedef struct {
	/* The TLS handshake finished; the owner verifies the peer now
	 * (tr_tls_verify_peer on tr_ctrl_get_tls) and says HELLO or waits. */
	void (*established)(TrCtrl *ctrl, gpointer user_data);
	/* One complete, parsed message. */
	void (*message)(TrCtrl *ctrl, TrMsg *msg, gpointer user_data);
	/* The connection is over: @error says why (NULL after an orderly
	 * close). The owner may drop its reference here. */
	void (*closed)(TrCtrl *ctrl, const GError *error, gpointer user_data);
} TrCtrlCallbacks;

/* Takes ownership of the connected socket @fd (made non-blocking). */
TrCtrl *tr_ctrl_new(TrTlsCreds *creds, int fd, const char *server_name, const char *peer_desc,
                    const TrCtrlCallbacks *callbacks, gpointer user_data, GError **error);
TrCtrl *tr_ctrl_ref(TrCtrl *ctrl);
void tr_ctrl_unref(TrCtrl *ctrl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrCtrl, tr_ctrl_unref)

/* The TLS handshake on @pool's threads (common/ctrl/handshake-pool.h)
 * instead of this loop: set before tr_ctrl_start. The callbacks still all
 * run on this loop; until the established one, the session is the pool's. */
void tr_ctrl_set_handshake_pool(TrCtrl *ctrl, TrHandshakePool *pool);

/* Starts the handshake; it must finish within @timeout_ms. */
void tr_ctrl_start(TrCtrl *ctrl, guint timeout_ms);

/* Queues a message. FALSE (and @error) if it cannot be encoded or the
 * connection is closing. */
gboolean tr_ctrl_send(TrCtrl *ctrl, const TrMsg *msg, GError **error);

/* Queues one message already framed by its owner (the graph's, TR_MSG_GRAPH_*):
 * @frame must be exactly one message (tr_msg_frame_length() == @len). */
gboolean tr_ctrl_send_frame(TrCtrl *ctrl, const uint8_t *frame, size_t len, GError **error);

/* Queues one data packet (TCP fallback). Dropped, returning FALSE, when the
 * output queue is already long: a slow stream must not buffer without end. */
gboolean tr_ctrl_send_data(TrCtrl *ctrl, const uint8_t *packet, size_t len);
/* Queues one relay frame (a pair's sealed datagram, common/mesh/relay.h) as a RELAY
 * message, dropped like data when the queue is long. */
gboolean tr_ctrl_send_relay(TrCtrl *ctrl, const uint8_t *frame, size_t len);

/*
 * Ends the connection: sends an ERROR (for a refusal) or CLOSE message with
 * @code and @reason, flushes what is queued (bounded), then closes.
 * The closed callback follows with an error carrying @reason (or NULL for
 * TR_REFUSE_NONE / TR_REFUSE_SHUTDOWN).
 */
void tr_ctrl_close(TrCtrl *ctrl, TrMsgType type, TrRefusal code, const char *reason);

/* Drops the connection at once, without a closed callback. */
void tr_ctrl_abort(TrCtrl *ctrl);

TrTls *tr_ctrl_get_tls(TrCtrl *ctrl);
const char *tr_ctrl_peer(TrCtrl *ctrl);
int tr_ctrl_get_fd(TrCtrl *ctrl);

G_END_DECLS
