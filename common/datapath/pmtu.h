/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Path MTU discovery for one peer: which outer packet size (IP header, UDP
 * header, sealed datagram) gets through to it. Pure logic, no sockets and no
 * clock of its own: the caller sends the probes it asks for (PROBE messages
 * of the data channel, padded to the size, on a socket that never fragments),
 * reports what the peer acknowledged, and calls tr_pmtu_tick() regularly.
 *
 * A search is a few rounds. The first probes two sizes, the ceiling and the
 * floor: most paths carry the ceiling, and the search then ends with two
 * probes (each costs both ends a datagram and its answer, per session, so a
 * hub with thousands of clients arriving pays for every one). Each later
 * round probes up to TR_PMTU_PROBES sizes at once, spread evenly over the
 * range still in doubt. The largest size the peer acknowledges is known to
 * pass; the smallest larger size that was not acknowledged bounds the range
 * from above. Rounds end when the answers are in (twice the first answer's
 * delay) or after TR_PMTU_ROUND_USEC, so the floor's answer ends a first
 * round whose ceiling was lost within a round trip. The search ends when
 * the range is closed: usually in four rounds, one when the ceiling passes. A round with no answer
 * at all is repeated; after TR_PMTU_TRIES such rounds with nothing ever acknowledged the peer is
 * taken not to answer probes (an older version, or a path that loses everything) and the result
 * stays unknown. A finished search is repeated every TR_PMTU_RESEARCH_USEC (the path may have
 * grown), and at once after tr_pmtu_restart() (the path changed, or a datagram was refused as too
 * big).
 */
#include <glib.h>

#include <stdbool.h>

G_BEGIN_DECLS

#define TR_PMTU_PROBES        8u
#define TR_PMTU_ROUND_USEC    (G_USEC_PER_SEC)
#define TR_PMTU_TRIES         3u
#define TR_PMTU_RESEARCH_USEC (G_GINT64_CONSTANT(600) * G_USEC_PER_SEC)
#define TR_PMTU_RETRY_USEC    (G_GINT64_CONSTANT(60) * G_USEC_PER_SEC)

typedef enum {
	TR_PMTU_SEARCHING, /* rounds in progress */
	TR_PMTU_DONE,      /* tr_pmtu_get() is the path MTU */
	TR_PMTU_NO_ANSWER, /* the peer answered no probe: unknown, retried later */
} TrPmtuState;

typedef struct {
	unsigned floor, ceiling; /* the sizes worth probing */
	unsigned lo;             /* largest size acknowledged (0: none yet) */
	unsigned hi;             /* smallest size known not to pass (ceiling + 1: none) */
	unsigned pmtu;           /* the result of the last finished search (0: unknown) */
	TrPmtuState state;
	unsigned round;    /* the number of the latest round (never 0 once one started) */
	bool round_active; /* a round is in flight */
	unsigned sizes[TR_PMTU_PROBES];
	unsigned n_sizes;
	unsigned best; /* largest size acknowledged in this round */
	gint64 started, first_ack;
	unsigned silent; /* rounds in a row without any answer */
	gint64 next_search;
} TrPmtu;

/* Sizes are outer IP packet sizes; @floor <= @ceiling. The first search starts at the first tick.
 */
void tr_pmtu_init(TrPmtu *p, unsigned floor, unsigned ceiling, gint64 now);

/* Changes the range (a new ceiling: the tunnel MTU changed) and searches again. */
void tr_pmtu_set_range(TrPmtu *p, unsigned floor, unsigned ceiling, gint64 now);

/* Searches again at the next tick, keeping the last result until the new one. */
void tr_pmtu_restart(TrPmtu *p, gint64 now);

/*
 * Advances the search. When a round starts, returns how many probes to send
 * now (their sizes in @sizes, at most TR_PMTU_PROBES) and the round's number
 * in *@round; otherwise 0. *@changed is set when tr_pmtu_get() changed.
 */
unsigned tr_pmtu_tick(TrPmtu *p, gint64 now, unsigned *round, unsigned *sizes, bool *changed);

/* The peer acknowledged a probe of @size in @round (answers to old rounds are ignored). */
void tr_pmtu_acked(TrPmtu *p, unsigned round, unsigned size, gint64 now);

/* The path MTU found (0: not known yet; use the configured MTU). */
unsigned tr_pmtu_get(const TrPmtu *p);

/* "searching", "done", "no answer" */
const char *tr_pmtu_state_name(TrPmtuState state);

G_END_DECLS
