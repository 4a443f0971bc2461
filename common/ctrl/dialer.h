/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gio/gio.h>
#include "platform/net.h"

G_BEGIN_DECLS

/*
 * Outgoing TCP connections with retries: resolves and connects to
 * "HOST[:PORT]" asynchronously with a time limit, and hands over a plain
 * connected socket. tr_backoff_next() spaces retries: 1 s doubling to a
 * maximum, with +-25 % jitter so that many nodes do not return in lock step.
 */
typedef struct _TrDialer TrDialer;

/* @fd: connected, non-blocking, owned by the callee; -1 with @error on failure. */
typedef void (*TrDialerFunc)(TrDialer *dialer, int fd, const struct sockaddr *remote,
                             socklen_t remote_len, const GError *error, gpointer user_data);

TrDialer *tr_dialer_new(const char *target, guint16 default_port, guint timeout_ms,
                        TrDialerFunc func, gpointer user_data);
/* Connect from this local port (0: any), shared with the daemon's listener
 * (SO_REUSEPORT): a NAT that keeps ports then shows the peers one address and
 * port, which two such nodes can dial at each other at once (TCP
 * simultaneous open, docs/MESH.md "Symmetric nodes"). Without SO_REUSEPORT
 * (Windows) the port is ignored. */
void tr_dialer_set_local_port(TrDialer *dialer, guint16 port);
void tr_dialer_start(TrDialer *dialer);
/* Cancels a connection attempt in progress (no callback follows). */
void tr_dialer_cancel(TrDialer *dialer);
void tr_dialer_free(TrDialer *dialer);
const char *tr_dialer_target(TrDialer *dialer);

/* Milliseconds to wait before retry number @attempt (0-based). */
guint tr_backoff_next(guint attempt, guint max_sec);

G_END_DECLS
