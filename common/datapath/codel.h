/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * CoDel (RFC 8289) on the queue a worker reads: its UDP socket's receive
 * buffer. A single TCP stream through the tunnel is limited by the slower
 * daemon's worker, so the standing queue of the whole path forms in that
 * daemon's socket; the socket is large (it must ride out a burst while the
 * worker is off the CPU) and nothing there drops, so a stream fills it to its
 * receive window and every other packet waits behind that (a ping, a call).
 * CoDel watches how long each datagram waited (the kernel's receive
 * timestamp against the time it is read, its "sojourn time"): once that has
 * stayed above @target for a whole @interval, it asks for one congestion
 * signal, then more at a rate that grows (interval / sqrt(count)) until the
 * wait falls below the target. The caller gives the signal to a bulk packet:
 * ECN CE when the packet's transport said it understands ECN, else the
 * packet is dropped; small packets are never asked about (they are not what
 * fills the queue).
 *
 * Times in microseconds, one state per queue, no allocation, no lock: the
 * owning worker alone calls it.
 */
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
	int64_t target;      /* acceptable standing wait */
	int64_t interval;    /* how long it may stay above before a signal */
	int64_t first_above; /* when the wait first stayed above target, + interval; 0: below */
	int64_t drop_next;   /* in the dropping state: when the next signal is due */
	uint32_t count;      /* signals since the dropping state began */
	uint32_t last_count; /* count when the last dropping state ended */
	bool dropping;
} TrCodel;

/* @target_us 0 turns it off (tr_codel_signal always false). */
void tr_codel_init(TrCodel *c, int64_t target_us, int64_t interval_us);

/*
 * A packet that waited @sojourn_us leaves the queue at @now_us (monotonic).
 * Returns true when it is to carry a congestion signal (be marked or
 * dropped).
 */
bool tr_codel_signal(TrCodel *c, int64_t sojourn_us, int64_t now_us);

#ifdef __cplusplus
}
#endif
