/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/auth/tls.h"

G_BEGIN_DECLS

/*
 * TLS handshakes on worker threads: a small pool of threads, each with a main
 * context of its own, that drive the handshakes handed to them (the key
 * exchange, the signatures, GnuTLS's session set-up: the costly part of a new
 * connection) and hand each session back to the context that created the pool
 * when its handshake has ended. A hub whose main loop only registers the
 * finished sessions takes new ones on every core.
 *
 * GnuTLS's thread rules hold: a session in the pool is touched by its worker
 * alone until its end is reported (the owner keeps its hands off it and off
 * its socket meanwhile); credentials are shared, read-only. Callbacks the
 * credentials make during a handshake (a PSK lookup) run on a worker thread.
 */
typedef struct TrHandshakePool TrHandshakePool;
typedef struct TrHandshakeJob TrHandshakeJob;

/* The end of a job, on the pool's context, exactly once: @rc 1 the handshake
 * is done; -1 it failed (@error, owned by the callee); 0 the job was
 * cancelled (the session's state is then unknown: it is only fit to be
 * freed). The job is gone after this returns. */
typedef void (*TrHandshakeDone)(int rc, GError *error, gpointer user_data);

/* The pool's context takes the ends in turns: each of its dispatches reports
 * at most this many, and stops after this long (µs), the rest at its next
 * iteration. In a storm of new connections a hub's main loop would otherwise
 * spend one long iteration registering hundreds of finished handshakes while
 * its established sessions' sources wait; now they run between turns. */
#define TR_HANDSHAKE_POOL_ENDS_PER_DISPATCH 16
#define TR_HANDSHAKE_POOL_DISPATCH_US       2000

/* @n_threads workers; 0 is one per CPU core. Ends are reported on the
 * calling thread's default context. */
TrHandshakePool *tr_handshake_pool_new(guint n_threads);
guint tr_handshake_pool_threads(TrHandshakePool *pool);
/* Ends (and other word from the workers) waiting for the pool's context. */
guint tr_handshake_pool_waiting(TrHandshakePool *pool);
/* Stops the workers; jobs still in the pool end as cancelled (their
 * callbacks run here). The callbacks must not start new jobs. */
void tr_handshake_pool_free(TrHandshakePool *pool);

/* Drives the handshake of @tls on the non-blocking socket @fd (both stay
 * the caller's) on the least busy worker, starting at once (a client speaks
 * first). */
TrHandshakeJob *tr_handshake_pool_run(TrHandshakePool *pool, TrTls *tls, int fd,
                                      TrHandshakeDone done, gpointer user_data);
/* Asks for the job to stop; its end follows (rc 0) on a later iteration of
 * the pool's context. No-op once its end has been reported or asked. */
void tr_handshake_job_cancel(TrHandshakeJob *job);

G_END_DECLS
