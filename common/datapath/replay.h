/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Replay protection for one receive key: a sliding window bitmap in the
 * style of RFC 6479. Counters up to TR_REPLAY_WINDOW behind the highest seen
 * are accepted once each, in any order; anything older, and any repeat, is
 * refused. Fixed size, no allocation, O(1) per packet.
 */
#include <stdbool.h>
#include <stdint.h>

#define TR_REPLAY_BLOCKS     64u /* power of two */
#define TR_REPLAY_BLOCK_BITS 64u
/* Guaranteed window: one block of the ring is always the one being refilled. */
#define TR_REPLAY_WINDOW ((TR_REPLAY_BLOCKS - 1) * TR_REPLAY_BLOCK_BITS)

typedef struct {
	uint64_t top; /* highest counter accepted + 1; 0 = nothing yet */
	uint64_t bitmap[TR_REPLAY_BLOCKS];
} TrReplay;

/* Verdicts; the negative errno values the data channel returns. */
typedef enum {
	TR_REPLAY_OK = 0,
	TR_REPLAY_DUPLICATE = 1,
	TR_REPLAY_TOO_OLD = 2,
} TrReplayVerdict;

void tr_replay_reset(TrReplay *r);

/* Whether @counter would be accepted, without recording it. */
TrReplayVerdict tr_replay_check(const TrReplay *r, uint64_t counter);

/*
 * Checks and records @counter; call only after the packet authenticated, so
 * that forged packets cannot move the window.
 */
TrReplayVerdict tr_replay_update(TrReplay *r, uint64_t counter);
