/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Path MTU discovery's search, against simulated paths: a path passes every
 * probe up to its MTU (and optionally loses some), the search must find that
 * MTU exactly, in few rounds, and keep working when the peer never answers.
 */
#include "common/datapath/pmtu.h"

#define MS (G_GINT64_CONSTANT(1000))

typedef struct {
	unsigned mtu;        /* largest size that passes */
	unsigned lose_every; /* lose every Nth probe that would pass (0: none) */
	gboolean answers;    /* FALSE: a peer that never acknowledges */
	gint64 rtt;
	unsigned sent, lost;
} Path;

/* Runs ticks every 250 ms (as the link does) until the search settles; returns the rounds used. */
static unsigned
run(TrPmtu *p, Path *path, gint64 *now, gint64 limit)
{
	unsigned rounds = 0;
	struct {
		unsigned round, size;
		gint64 at;
	} pending[64];
	unsigned n_pending = 0;

	while (*now < limit) {
		unsigned sizes[TR_PMTU_PROBES], round = 0, n;
		bool changed;

		/* Answers that arrived since the last tick. */
		for (unsigned i = 0; i < n_pending;) {
			if (pending[i].at <= *now) {
				tr_pmtu_acked(p, pending[i].round, pending[i].size, pending[i].at);
				pending[i] = pending[--n_pending];
			} else {
				i++;
			}
		}
		n = tr_pmtu_tick(p, *now, &round, sizes, &changed);
		if (n > 0)
			rounds++;
		for (unsigned i = 0; i < n; i++) {
			path->sent++;
			if (sizes[i] > path->mtu || !path->answers)
				continue;
			if (path->lose_every && path->sent % path->lose_every == 0) {
				path->lost++;
				continue;
			}
			g_assert_cmpuint(n_pending, <, G_N_ELEMENTS(pending));
			pending[n_pending].round = round;
			pending[n_pending].size = sizes[i];
			pending[n_pending].at = *now + path->rtt;
			n_pending++;
		}
		if (p->state != TR_PMTU_SEARCHING && n == 0 && n_pending == 0)
			return rounds;
		*now += 250 * MS;
	}
	return rounds;
}

static void
test_finds_exact(void)
{
	static const unsigned mtus[] = {1500, 1499, 1480, 1400, 1381, 1300, 1281, 1280};

	for (guint i = 0; i < G_N_ELEMENTS(mtus); i++) {
		TrPmtu p;
		Path path = {.mtu = mtus[i], .answers = TRUE, .rtt = 10 * MS};
		gint64 now = 1000000;
		unsigned rounds;

		tr_pmtu_init(&p, 1280, 1500, now);
		rounds = run(&p, &path, &now, now + 30 * G_USEC_PER_SEC);
		g_assert_cmpint(p.state, ==, TR_PMTU_DONE);
		g_assert_cmpuint(tr_pmtu_get(&p), ==, mtus[i]);
		/* the floor and the ceiling, then 220 bytes in doubt, 8 probes a round: at most
		 * four rounds */
		g_assert_cmpuint(rounds, <=, 4);
		if (mtus[i] == 1500) {
			g_assert_cmpuint(rounds, ==, 1);
			g_assert_cmpuint(path.sent, ==, 2);
		}
	}
}

static void
test_ipv4_floor(void)
{
	TrPmtu p;
	Path path = {.mtu = 700, .answers = TRUE, .rtt = 40 * MS};
	gint64 now = 0;

	tr_pmtu_init(&p, 576, 1500, now);
	run(&p, &path, &now, now + 30 * G_USEC_PER_SEC);
	g_assert_cmpint(p.state, ==, TR_PMTU_DONE);
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 700);
}

static void
test_no_answer(void)
{
	TrPmtu p;
	Path path = {.mtu = 1500, .answers = FALSE, .rtt = 10 * MS};
	gint64 now = 0, start = 0;

	tr_pmtu_init(&p, 1280, 1500, now);
	run(&p, &path, &now, now + 30 * G_USEC_PER_SEC);
	g_assert_cmpint(p.state, ==, TR_PMTU_NO_ANSWER);
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 0);
	/* three rounds of a second each (the floor and the ceiling), then quiet until the retry */
	g_assert_cmpuint(path.sent, ==, 3 * 2);
	g_assert_cmpint(now - start, <, 5 * G_USEC_PER_SEC);

	/* The retry comes after TR_PMTU_RETRY_USEC, and finds the path once it answers. */
	{
		unsigned sizes[TR_PMTU_PROBES], round;
		bool changed;

		g_assert_cmpuint(tr_pmtu_tick(&p, now + G_USEC_PER_SEC, &round, sizes, &changed),
		                 ==, 0);
	}
	path.answers = TRUE;
	path.mtu = 1420;
	now += TR_PMTU_RETRY_USEC;
	run(&p, &path, &now, now + 30 * G_USEC_PER_SEC);
	g_assert_cmpint(p.state, ==, TR_PMTU_DONE);
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 1420);
}

/* A lost answer may make the result smaller than the path, never larger. */
static void
test_loss_never_overestimates(void)
{
	for (unsigned every = 2; every <= 7; every++) {
		TrPmtu p;
		Path path = {.mtu = 1400, .answers = TRUE, .rtt = 5 * MS, .lose_every = every};
		gint64 now = 0;

		tr_pmtu_init(&p, 1280, 1500, now);
		run(&p, &path, &now, now + 60 * G_USEC_PER_SEC);
		g_assert_cmpint(p.state, ==, TR_PMTU_DONE);
		g_assert_cmpuint(tr_pmtu_get(&p), <=, 1400);
		g_assert_cmpuint(tr_pmtu_get(&p), >=, 1280);
	}
}

/* A path that shrinks: the restart finds the new size; the old result holds meanwhile. */
static void
test_restart_and_research(void)
{
	TrPmtu p;
	Path path = {.mtu = 1500, .answers = TRUE, .rtt = 10 * MS};
	gint64 now = 0;
	unsigned sizes[TR_PMTU_PROBES], round;
	bool changed;

	tr_pmtu_init(&p, 1280, 1500, now);
	run(&p, &path, &now, now + 10 * G_USEC_PER_SEC);
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 1500);

	path.mtu = 1350;
	tr_pmtu_restart(&p, now);
	g_assert_cmpint(p.state, ==, TR_PMTU_SEARCHING);
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 1500);
	/* restarting again while searching changes nothing */
	tr_pmtu_restart(&p, now);
	run(&p, &path, &now, now + 10 * G_USEC_PER_SEC);
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 1350);

	/* the path grows back: found at the periodic search */
	path.mtu = 1500;
	g_assert_cmpuint(tr_pmtu_tick(&p, now + G_USEC_PER_SEC, &round, sizes, &changed), ==, 0);
	now += TR_PMTU_RESEARCH_USEC;
	run(&p, &path, &now, now + 10 * G_USEC_PER_SEC);
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 1500);
}

/* Answers to an older round, and sizes beyond the ceiling, are ignored. */
static void
test_stale_answers(void)
{
	TrPmtu p;
	unsigned sizes[TR_PMTU_PROBES], round, first;
	bool changed;

	tr_pmtu_init(&p, 1280, 1500, 0);
	g_assert_cmpuint(tr_pmtu_tick(&p, 0, &first, sizes, &changed), ==, 2);
	g_assert_cmpuint(sizes[0], ==, 1280);
	g_assert_cmpuint(sizes[1], ==, 1500);
	tr_pmtu_acked(&p, first, 1300, 5 * MS);
	/* the round ends 2 x 5 ms after it started; the next one probes above 1300 */
	g_assert_cmpuint(tr_pmtu_tick(&p, 250 * MS, &round, sizes, &changed), ==, TR_PMTU_PROBES);
	g_assert_cmpuint(round, !=, first);
	g_assert_cmpuint(sizes[0], ==, 1301);
	tr_pmtu_acked(&p, first, 1500, 260 * MS); /* late, from the first round */
	tr_pmtu_acked(&p, round, 9000, 260 * MS); /* beyond the ceiling */
	g_assert_cmpuint(p.best, ==, 0);
}

/*
 * A search starts with two probes, the floor and the ceiling (what a hub
 * pays per arriving client): the ceiling passing ends it; the ceiling lost,
 * the floor's answer ends the round within a round trip (not after
 * TR_PMTU_ROUND_USEC), and the next round probes what is in doubt between.
 */
static void
test_first_round(void)
{
	TrPmtu p;
	unsigned sizes[TR_PMTU_PROBES], round, first;
	bool changed;

	tr_pmtu_init(&p, 576, 1500, 0);
	g_assert_cmpuint(tr_pmtu_tick(&p, 0, &first, sizes, &changed), ==, 2);
	g_assert_cmpuint(sizes[0], ==, 576);
	g_assert_cmpuint(sizes[1], ==, 1500);
	tr_pmtu_acked(&p, first, 1500, 3 * MS);
	g_assert_cmpuint(tr_pmtu_tick(&p, 10 * MS, &round, sizes, &changed), ==, 0);
	g_assert_true(changed);
	g_assert_cmpint(p.state, ==, TR_PMTU_DONE);
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 1500);

	/* the ceiling lost: 2 x 3 ms after the start, but at least 20 ms of margin */
	tr_pmtu_restart(&p, 100 * MS);
	g_assert_cmpuint(tr_pmtu_tick(&p, 100 * MS, &first, sizes, &changed), ==, 2);
	tr_pmtu_acked(&p, first, 576, 103 * MS);
	g_assert_cmpuint(tr_pmtu_tick(&p, 110 * MS, &round, sizes, &changed), ==, 0);
	g_assert_cmpuint(tr_pmtu_tick(&p, 130 * MS, &round, sizes, &changed), ==, TR_PMTU_PROBES);
	g_assert_cmpuint(round, !=, first);
	g_assert_cmpuint(sizes[0], ==, 577);
	g_assert_cmpuint(sizes[TR_PMTU_PROBES - 1], ==, 1499);
	/* the earlier result holds until the new one */
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 1500);
}

/* A new ceiling (the tunnel MTU changed) starts over within it. */
static void
test_set_range(void)
{
	TrPmtu p;
	Path path = {.mtu = 1500, .answers = TRUE, .rtt = 10 * MS};
	gint64 now = 0;

	tr_pmtu_init(&p, 1280, 1500, now);
	run(&p, &path, &now, now + 10 * G_USEC_PER_SEC);
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 1500);
	tr_pmtu_set_range(&p, 1280, 1400, now);
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 1400);
	run(&p, &path, &now, now + 10 * G_USEC_PER_SEC);
	g_assert_cmpuint(tr_pmtu_get(&p), ==, 1400);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pmtu/finds-exact", test_finds_exact);
	g_test_add_func("/pmtu/ipv4-floor", test_ipv4_floor);
	g_test_add_func("/pmtu/no-answer", test_no_answer);
	g_test_add_func("/pmtu/loss-never-overestimates", test_loss_never_overestimates);
	g_test_add_func("/pmtu/restart-and-research", test_restart_and_research);
	g_test_add_func("/pmtu/stale-answers", test_stale_answers);
	g_test_add_func("/pmtu/set-range", test_set_range);
	g_test_add_func("/pmtu/first-round", test_first_round);
	return g_test_run();
}
