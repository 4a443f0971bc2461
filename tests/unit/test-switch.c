/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/switch.h"

#include <glib.h>

#define SEC G_USEC_PER_SEC
/* A fake monotonic clock: an arbitrary start, advanced by hand. */
#define T0 (G_GINT64_CONSTANT(1000) * SEC)

static void
mac_n(uint8_t mac[6], uint32_t n)
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

static int64_t
peer_of(TrSwitch *sw, uint16_t vid, uint32_t n, int64_t now)
{
	uint8_t mac[6];
	uint32_t peer;

	mac_n(mac, n);
	return tr_switch_lookup(sw, vid, mac, now, &peer) ? (int64_t)peer : -1;
}

static TrSwitchLearn
learn(TrSwitch *sw, uint16_t vid, uint32_t n, uint32_t peer, int64_t now)
{
	uint8_t mac[6];

	mac_n(mac, n);
	return tr_switch_learn(sw, vid, mac, peer, now);
}

static void
test_learn(void)
{
	TrSwitch *sw = tr_switch_new(0, 0);
	TrSwitchStats st;
	uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0, 0, 1};

	g_assert_cmpuint(tr_switch_capacity(sw), ==, TR_SWITCH_CAPACITY_DEFAULT);
	g_assert_cmpint(peer_of(sw, 0, 1, T0), ==, -1);
	g_assert_cmpint(learn(sw, 0, 1, 5, T0), ==, TR_SWITCH_LEARN_NEW);
	g_assert_cmpint(learn(sw, 0, 2, 0, T0), ==, TR_SWITCH_LEARN_NEW); /* the local device */
	g_assert_cmpint(peer_of(sw, 0, 1, T0), ==, 5);
	g_assert_cmpint(peer_of(sw, 0, 2, T0), ==, 0);
	g_assert_cmpint(learn(sw, 0, 1, 5, T0 + SEC / 2), ==, TR_SWITCH_LEARN_UNCHANGED);
	g_assert_cmpint(learn(sw, 0, 1, 5, T0 + SEC), ==, TR_SWITCH_LEARN_REFRESHED);
	/* A move to another peer is applied and counted. */
	g_assert_cmpint(learn(sw, 0, 1, 6, T0 + SEC), ==, TR_SWITCH_LEARN_MOVED);
	g_assert_cmpint(peer_of(sw, 0, 1, T0 + SEC), ==, 6);
	/* Multicast sources and the "no peer" id are never learnt. */
	g_assert_cmpint(tr_switch_learn(sw, 0, mcast, 5, T0), ==, TR_SWITCH_LEARN_INVALID);
	g_assert_cmpint(learn(sw, 0, 3, TR_PEER_NONE, T0), ==, TR_SWITCH_LEARN_INVALID);
	g_assert_cmpint(peer_of(sw, 0, 3, T0), ==, -1);

	tr_switch_get_stats(sw, &st);
	g_assert_cmpuint(st.learned, ==, 2);
	g_assert_cmpuint(st.moves, ==, 1);
	g_assert_cmpuint(st.refused, ==, 0);
	g_assert_cmpuint(tr_switch_count(sw, T0 + SEC), ==, 2);
	tr_switch_unref(sw);
}

static void
test_vlans(void)
{
	TrSwitch *sw = tr_switch_new(64, 300);

	/* The same MAC on three VLANs lives behind three peers. */
	g_assert_cmpint(learn(sw, 0, 7, 1, T0), ==, TR_SWITCH_LEARN_NEW);
	g_assert_cmpint(learn(sw, 10, 7, 2, T0), ==, TR_SWITCH_LEARN_NEW);
	g_assert_cmpint(learn(sw, 4095, 7, 3, T0), ==, TR_SWITCH_LEARN_NEW);
	g_assert_cmpint(peer_of(sw, 0, 7, T0), ==, 1);
	g_assert_cmpint(peer_of(sw, 10, 7, T0), ==, 2);
	g_assert_cmpint(peer_of(sw, 4095, 7, T0), ==, 3);
	g_assert_cmpint(peer_of(sw, 11, 7, T0), ==, -1);
	/* Only the 12 VID bits count. */
	g_assert_cmpint(peer_of(sw, 0x100a, 7, T0), ==, 2);
	tr_switch_unref(sw);
}

static void
test_timeout(void)
{
	TrSwitch *sw = tr_switch_new(0, 300);

	g_assert_cmpint(learn(sw, 0, 1, 4, T0), ==, TR_SWITCH_LEARN_NEW);
	g_assert_cmpint(learn(sw, 0, 2, 4, T0), ==, TR_SWITCH_LEARN_NEW);
	g_assert_cmpint(peer_of(sw, 0, 1, T0 + 299 * SEC), ==, 4);
	/* Refreshing 2 keeps it; 1 is forgotten at exactly dst-timeout. */
	g_assert_cmpint(learn(sw, 0, 2, 4, T0 + 200 * SEC), ==, TR_SWITCH_LEARN_REFRESHED);
	g_assert_cmpint(peer_of(sw, 0, 1, T0 + 300 * SEC), ==, -1);
	g_assert_cmpint(peer_of(sw, 0, 2, T0 + 300 * SEC), ==, 4);
	g_assert_cmpuint(tr_switch_count(sw, T0 + 300 * SEC), ==, 1);
	g_assert_cmpint(peer_of(sw, 0, 2, T0 + 500 * SEC), ==, -1);
	/* Relearning an expired address is a new entry, not a move. */
	g_assert_cmpint(learn(sw, 0, 1, 9, T0 + 600 * SEC), ==, TR_SWITCH_LEARN_NEW);
	g_assert_cmpint(peer_of(sw, 0, 1, T0 + 600 * SEC), ==, 9);
	/* A reader whose clock lags the writer's by a second still finds it. */
	g_assert_cmpint(peer_of(sw, 0, 1, T0 + 599 * SEC), ==, 9);
	tr_switch_unref(sw);
}

static void
test_full(void)
{
	/* 16 slots, all in one probe window: the 17th address is refused, none evicted. */
	TrSwitch *sw = tr_switch_new(1, 60);
	TrSwitchStats st;

	g_assert_cmpuint(tr_switch_capacity(sw), ==, TR_SWITCH_PROBE_MAX);
	for (uint32_t i = 0; i < TR_SWITCH_PROBE_MAX; i++)
		g_assert_cmpint(learn(sw, 0, i, 1 + i, T0), ==, TR_SWITCH_LEARN_NEW);
	g_assert_cmpint(learn(sw, 0, 100, 7, T0), ==, TR_SWITCH_LEARN_REFUSED);
	g_assert_cmpint(peer_of(sw, 0, 100, T0), ==, -1);
	for (uint32_t i = 0; i < TR_SWITCH_PROBE_MAX; i++)
		g_assert_cmpint(peer_of(sw, 0, i, T0), ==, 1 + i);
	tr_switch_get_stats(sw, &st);
	g_assert_cmpuint(st.refused, ==, 1);

	/* Keep all but #3 fresh; once #3 expires its slot is reused. */
	for (uint32_t i = 0; i < TR_SWITCH_PROBE_MAX; i++)
		if (i != 3)
			learn(sw, 0, i, 1 + i, T0 + 30 * SEC);
	g_assert_cmpint(learn(sw, 0, 100, 7, T0 + 59 * SEC), ==, TR_SWITCH_LEARN_REFUSED);
	g_assert_cmpint(learn(sw, 0, 100, 7, T0 + 60 * SEC), ==, TR_SWITCH_LEARN_NEW);
	g_assert_cmpint(peer_of(sw, 0, 100, T0 + 60 * SEC), ==, 7);
	g_assert_cmpint(peer_of(sw, 0, 3, T0 + 60 * SEC), ==, -1);
	g_assert_cmpint(peer_of(sw, 0, 4, T0 + 60 * SEC), ==, 5);

	/* A peer that leaves frees its slots at once. */
	g_assert_cmpuint(tr_switch_forget_peer(sw, 5), ==, 1);
	g_assert_cmpint(peer_of(sw, 0, 4, T0 + 60 * SEC), ==, -1);
	g_assert_cmpint(learn(sw, 0, 101, 8, T0 + 60 * SEC), ==, TR_SWITCH_LEARN_NEW);
	g_assert_cmpint(learn(sw, 0, 102, 8, T0 + 60 * SEC), ==, TR_SWITCH_LEARN_REFUSED);
	tr_switch_unref(sw);
}

/* ---- Concurrency: learners and readers on one table, no locks. ---- */

#define N_THREADS 4
#define N_MACS    300
#define ROUNDS    300

typedef struct {
	TrSwitch *sw;
	uint32_t peer;
	guint bad;
} Worker;

static gpointer
worker(gpointer p)
{
	Worker *w = p;

	for (int r = 0; r < ROUNDS; r++) {
		int64_t now = T0 + r * SEC / 10;

		for (uint32_t i = 0; i < N_MACS; i++) {
			int64_t got;

			/* Every thread claims the even MACs; odd ones belong to thread 1's peer. */
			if (i % 2 == 0 || w->peer == 1)
				learn(w->sw, (uint16_t)(i % 3), i, w->peer, now);
			got = peer_of(w->sw, (uint16_t)(i % 3), i, now);
			if (got != -1 && (got < 1 || got > N_THREADS || (i % 2 == 1 && got != 1)))
				w->bad++;
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	TrSwitch *sw = tr_switch_new(1024, 300);
	Worker w[N_THREADS];
	GThread *t[N_THREADS];
	TrSwitchStats st;

	for (int i = 0; i < N_THREADS; i++) {
		w[i] = (Worker){.sw = sw, .peer = (uint32_t)i + 1};
		t[i] = g_thread_new("learner", worker, &w[i]);
	}
	for (int i = 0; i < N_THREADS; i++) {
		g_thread_join(t[i]);
		g_assert_cmpuint(w[i].bad, ==, 0);
	}
	/* Quiet now: every address is found, odd ones behind peer 1. */
	for (uint32_t i = 0; i < N_MACS; i++) {
		int64_t got = peer_of(sw, (uint16_t)(i % 3), i, T0 + ROUNDS * SEC / 10);

		g_assert_cmpint(got, >=, 1);
		g_assert_cmpint(got, <=, N_THREADS);
		if (i % 2)
			g_assert_cmpint(got, ==, 1);
	}
	tr_switch_get_stats(sw, &st);
	g_assert_cmpuint(st.refused, ==, 0);
	g_assert_cmpuint(tr_switch_count(sw, T0 + ROUNDS * SEC / 10), >=, N_MACS);
	tr_switch_unref(sw);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/switch/learn", test_learn);
	g_test_add_func("/switch/vlans", test_vlans);
	g_test_add_func("/switch/timeout", test_timeout);
	g_test_add_func("/switch/full", test_full);
	g_test_add_func("/switch/threads", test_threads);
	return g_test_run();
}
