/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/replay.h"

#include <glib.h>

static void
test_replay_sequence(void)
{
	TrReplay r;

	tr_replay_reset(&r);
	for (uint64_t c = 0; c < 10000; c++)
		g_assert_cmpint(tr_replay_update(&r, c), ==, TR_REPLAY_OK);
	g_assert_cmpint(tr_replay_update(&r, 9999), ==, TR_REPLAY_DUPLICATE);
	g_assert_cmpint(tr_replay_update(&r, 5000), ==, TR_REPLAY_TOO_OLD);
	g_assert_cmpint(tr_replay_check(&r, 10000), ==, TR_REPLAY_OK);
}

static void
test_replay_window_edges(void)
{
	TrReplay r;
	uint64_t top = 100000;

	tr_replay_reset(&r);
	g_assert_cmpint(tr_replay_update(&r, top), ==, TR_REPLAY_OK);
	/* Exactly TR_REPLAY_WINDOW counters (top included) are inside the window. */
	g_assert_cmpint(tr_replay_check(&r, top + 1 - TR_REPLAY_WINDOW), ==, TR_REPLAY_OK);
	g_assert_cmpint(tr_replay_check(&r, top - TR_REPLAY_WINDOW), ==, TR_REPLAY_TOO_OLD);
	g_assert_cmpint(tr_replay_update(&r, top + 1 - TR_REPLAY_WINDOW), ==, TR_REPLAY_OK);
	g_assert_cmpint(tr_replay_update(&r, top + 1 - TR_REPLAY_WINDOW), ==, TR_REPLAY_DUPLICATE);
	g_assert_cmpint(tr_replay_update(&r, UINT64_MAX), ==, TR_REPLAY_TOO_OLD);
	/* A jump far ahead forgets everything before the new window. */
	g_assert_cmpint(tr_replay_update(&r, top + 10 * TR_REPLAY_WINDOW), ==, TR_REPLAY_OK);
	g_assert_cmpint(tr_replay_update(&r, top), ==, TR_REPLAY_TOO_OLD);
	g_assert_cmpint(tr_replay_update(&r, top + 9 * TR_REPLAY_WINDOW + 1), ==, TR_REPLAY_OK);
}

static void
test_replay_reorder(void)
{
	TrReplay r;

	tr_replay_reset(&r);
	/* 2048 packets, last first: every one is accepted once. */
	for (uint64_t c = 2048; c-- > 0;)
		g_assert_cmpint(tr_replay_update(&r, c), ==, TR_REPLAY_OK);
	for (uint64_t c = 0; c < 2048; c++)
		g_assert_cmpint(tr_replay_update(&r, c), ==, TR_REPLAY_DUPLICATE);
}

/* Compare with a naive model (a hash set and the same window) on random input. */
static void
test_replay_model(void)
{
	g_autoptr(GHashTable) seen =
	        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	g_autoptr(GRand) rand = g_rand_new_with_seed(6479);
	uint64_t top = 0, base = 0;
	TrReplay r;

	tr_replay_reset(&r);
	for (int i = 0; i < 200000; i++) {
		uint64_t c;
		TrReplayVerdict expect, got;

		switch (g_rand_int_range(rand, 0, 4)) {
		case 0: /* fresh, a little ahead */
			base += (uint64_t)g_rand_int_range(rand, 0, 100);
			c = base;
			break;
		case 1: /* near the bottom edge of the window */
			c = top > TR_REPLAY_WINDOW + 3
			            ? top - TR_REPLAY_WINDOW +
			                      (uint64_t)g_rand_int_range(rand, -3, 3)
			            : 0;
			break;
		case 2: /* a rare jump */
			base += (uint64_t)g_rand_int_range(rand, 0, 3) * TR_REPLAY_WINDOW / 2;
			c = base;
			break;
		default: /* anywhere in or just behind the window */
			c = top > 5000 ? top - (uint64_t)g_rand_int_range(rand, 0, 5000) : base;
			break;
		}
		if (c >= top)
			expect = TR_REPLAY_OK;
		else if (top - c > TR_REPLAY_WINDOW)
			expect = TR_REPLAY_TOO_OLD;
		else
			expect = g_hash_table_contains(seen, &c) ? TR_REPLAY_DUPLICATE
			                                         : TR_REPLAY_OK;
		got = tr_replay_update(&r, c);
		g_assert_cmpint(got, ==, expect);
		if (got == TR_REPLAY_OK) {
			g_hash_table_add(seen, g_memdup2(&c, sizeof(c)));
			if (c >= top)
				top = c + 1;
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/replay/sequence", test_replay_sequence);
	g_test_add_func("/replay/window-edges", test_replay_window_edges);
	g_test_add_func("/replay/reorder", test_replay_reorder);
	g_test_add_func("/replay/model", test_replay_model);
	return g_test_run();
}
