/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RFC 6479 replay window: the bitmap is a ring of 64-bit blocks. Moving the
 * window forward clears whole blocks instead of shifting bits, so an update
 * costs O(1) however far the counter jumps (at most the whole ring is
 * cleared). Bit (counter % 64) of block (counter / 64) % BLOCKS marks a
 * counter as seen.
 */
#include "common/datapath/replay.h"

#include <string.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))

#define BLOCK_MASK  (TR_REPLAY_BLOCKS - 1)
#define BIT_MASK    (TR_REPLAY_BLOCK_BITS - 1)
#define BLOCK_SHIFT 6

_Static_assert(TR_REPLAY_BLOCK_BITS == 1u << BLOCK_SHIFT, "block size");
_Static_assert((TR_REPLAY_BLOCKS & BLOCK_MASK) == 0, "blocks: power of two");
_Static_assert(TR_REPLAY_WINDOW >= 2048, "window of at least 2048");

void
tr_replay_reset(TrReplay *r)
{
	memset(r, 0, sizeof(*r));
}

static bool
is_set(const TrReplay *r, uint64_t counter)
{
	uint64_t block = (counter >> BLOCK_SHIFT) & BLOCK_MASK;

	return (r->bitmap[block] >> (counter & BIT_MASK)) & 1;
}

TrReplayVerdict
tr_replay_check(const TrReplay *r, uint64_t counter)
{
	if (counter == UINT64_MAX)
		return TR_REPLAY_TOO_OLD; /* top would wrap; the data channel never gets here */
	if (counter >= r->top)
		return TR_REPLAY_OK; /* ahead of everything seen */
	if (r->top - counter > TR_REPLAY_WINDOW)
		return TR_REPLAY_TOO_OLD;
	return is_set(r, counter) ? TR_REPLAY_DUPLICATE : TR_REPLAY_OK;
}

TrReplayVerdict
tr_replay_update(TrReplay *r, uint64_t counter)
{
	TrReplayVerdict verdict = tr_replay_check(r, counter);

	if (verdict != TR_REPLAY_OK)
		return verdict;
	if (counter >= r->top) {
		/*
		 * Clear the blocks after the old highest counter's, up to the
		 * new one's. Nothing to clear on the first counter: the ring
		 * starts empty.
		 */
		if (r->top) {
			uint64_t old_block = (r->top - 1) >> BLOCK_SHIFT;
			uint64_t diff = MIN((counter >> BLOCK_SHIFT) - old_block, TR_REPLAY_BLOCKS);

			for (uint64_t i = 1; i <= diff; i++)
				r->bitmap[(old_block + i) & BLOCK_MASK] = 0;
		}
		r->top = counter + 1;
	}
	r->bitmap[(counter >> BLOCK_SHIFT) & BLOCK_MASK] |= UINT64_C(1) << (counter & BIT_MASK);
	return TR_REPLAY_OK;
}
