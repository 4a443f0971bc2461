/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The fault scheduler of trellis-faultrelay: one per direction. Datagrams go
 * in with tr_fault_push() and come out, when due, from tr_fault_pop(). On the
 * way each one may be dropped, corrupted (random bits flipped), duplicated,
 * held back (reordered: released after the next N datagrams or after a
 * delay, whichever comes first) and delayed (fixed + uniform jitter).
 *
 * No I/O and no clock of its own: the caller passes the time, so the whole
 * thing is a pure function of the seed, the configuration and the sequence
 * of pushes and pops -- which is what the unit test checks.
 */

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct {
	double drop; /* probabilities, 0..1 */
	double dup;
	double reorder;
	double corrupt;
	guint reorder_gap;      /* a held datagram goes out after this many later ones */
	guint reorder_delay_ms; /* ... or after this long, whichever first (0: gap only) */
	guint delay_ms;         /* every datagram: fixed delay ... */
	guint jitter_ms;        /* ... plus uniform 0..jitter */
	guint corrupt_bits;     /* bits flipped in a corrupted datagram (distinct) */
	guint corrupt_skip;     /* ... none of them in its first this many bytes */
	guint max_queued;       /* datagrams held or delayed at once; more are dropped */
} TrFaultConfig;

typedef struct {
	guint64 seen;    /* datagrams pushed */
	guint64 dropped; /* dropped on purpose */
	guint64 corrupted;
	guint64 duplicated; /* extra copies made */
	guint64 reordered;  /* held back */
	guint64 delayed;    /* given a non-zero delay */
	guint64 overflow;   /* dropped because too many were queued */
	guint64 released;   /* handed back by tr_fault_pop (copies included) */
} TrFaultCounters;

/* No faults, no delay; reorder gap 3, hold 100 ms; 1 corrupt bit; 65536 queued. */
void tr_fault_config_init(TrFaultConfig *cfg);

/*
 * Parses "drop=5,dup=1,reorder=5,gap=3,hold=20,corrupt=1,bits=1,skip=20,
 * delay=2,jitter=1,queue=4096" into @cfg, on top of what it holds. Rates are in
 * percent (0..100, decimals allowed), times in milliseconds. Unknown keys,
 * bad numbers and out-of-range values are errors.
 */
gboolean tr_fault_config_parse(TrFaultConfig *cfg, const char *spec, GError **error);

/* "drop=5%,dup=1%,..." for logs. */
char *tr_fault_config_describe(const TrFaultConfig *cfg);

typedef struct _TrFault TrFault;

/* @seed: the same seed and the same pushes and pops give the same output. */
TrFault *tr_fault_new(const TrFaultConfig *cfg, guint64 seed);
void tr_fault_free(TrFault *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrFault, tr_fault_free)

/*
 * One datagram in at @now_us (copied; @tag travels with it, e.g. where it
 * goes). Returns how many copies were queued (0: dropped).
 */
guint tr_fault_push(TrFault *f, const guint8 *data, gsize len, gpointer tag, gint64 now_us);

/*
 * The next datagram due at @now_us, if any: fills @buf (its length, at most
 * @size, goes to *@len, longer datagrams are truncated) and *@tag.
 */
gboolean tr_fault_pop(TrFault *f, gint64 now_us, guint8 *buf, gsize size, gsize *len,
                      gpointer *tag);

/* When the next datagram falls due (G_MAXINT64: nothing queued). */
gint64 tr_fault_next_due(TrFault *f);
guint tr_fault_queued(TrFault *f);
const TrFaultCounters *tr_fault_counters(TrFault *f);

/* The generator behind the decisions (splitmix64), exposed for the test. */
guint64 tr_fault_rand(guint64 *state);

G_END_DECLS
