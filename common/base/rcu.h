/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Publishing immutable snapshots to data-path threads without locks on the
 * read side (RCU-like, epoch based).
 *
 * The control plane (one writer at a time; writers serialise on a mutex)
 * publishes a new snapshot with an atomic pointer swap and retires the old
 * one. Each data-path thread registers a reader once; around each batch of
 * packets it calls tr_rcu_read_begin() (one atomic load and one store to its
 * own cache line) and tr_rcu_read_end(). A retired snapshot is freed once
 * every reader that might have seen it has ended its read section:
 *
 *   - a global epoch counts publications; read_begin records the epoch it
 *     observed in the reader's slot, then loads the pointer (all seq_cst);
 *   - publish swaps the pointer, then advances the epoch to E and tags the
 *     old snapshot with E;
 *   - the old snapshot is freed when no reader slot holds an epoch below E:
 *     a reader that recorded E or later loaded the pointer after the swap
 *     and cannot hold the old one.
 *
 * Freeing is deferred, never waited for on the publish path: tr_rcu_publish()
 * and tr_rcu_reclaim() free what is already safe; the control plane calls
 * tr_rcu_reclaim() from a timer until it returns 0. tr_rcu_synchronize()
 * waits (sleeping) for everything, for shutdown and tests.
 *
 * Read sections do not nest and a reader is used by one thread at a time.
 */
#include <glib.h>

G_BEGIN_DECLS

/* Reader slots per domain: one per data-path thread. */
#define TR_RCU_READERS_MAX 64

typedef struct TrRcu TrRcu;
typedef struct TrRcuReader TrRcuReader;

/* A domain publishing snapshots that @destroy frees. It starts with none (NULL). */
TrRcu *tr_rcu_new(GDestroyNotify destroy);
/* Frees the domain, its current snapshot and all retired ones. No reader may be registered. */
void tr_rcu_free(TrRcu *rcu);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrRcu, tr_rcu_free)

/* Registers a reader (a data-path thread starts); TR_ERROR_FAILED when all slots are taken. */
TrRcuReader *tr_rcu_reader_new(TrRcu *rcu, GError **error);
void tr_rcu_reader_free(TrRcuReader *reader);

/*
 * Starts a read section and returns the current snapshot (NULL before the
 * first publication). The snapshot stays valid until tr_rcu_read_end().
 * Lock-free and allocation-free.
 */
gpointer tr_rcu_read_begin(TrRcuReader *reader);
void tr_rcu_read_end(TrRcuReader *reader);

/* Control plane: makes @snapshot (may be NULL) current and retires the previous one. */
void tr_rcu_publish(TrRcu *rcu, gpointer snapshot);

/* The current snapshot, for the control plane itself (no read section needed by writers). */
gpointer tr_rcu_peek(TrRcu *rcu);

/* Frees retired snapshots no reader can hold any more; returns how many still wait. */
guint tr_rcu_reclaim(TrRcu *rcu);

/* Waits until every retired snapshot is freed (readers must be making progress). */
void tr_rcu_synchronize(TrRcu *rcu);

G_END_DECLS
