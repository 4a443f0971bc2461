/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/codel.h"

#include <glib.h>

/* Packets every @step us from @from to @to, each having waited @sojourn: the times of the
 * signals, into @at (up to @max); returns how many. */
static unsigned
run(TrCodel *c, int64_t from, int64_t to, int64_t step, int64_t sojourn, int64_t *at, unsigned max)
{
	unsigned n = 0;

	for (int64_t t = from; t < to; t += step)
		if (tr_codel_signal(c, sojourn, t) && n < max)
			at[n++] = t;
	return n;
}

static void
test_off_and_below(void)
{
	TrCodel c;
	int64_t at[8];

	tr_codel_init(&c, 0, 20000);
	g_assert_cmpuint(run(&c, 1, 1000000, 10, 500000, at, 8), ==, 0);
	/* below the target, however long: never */
	tr_codel_init(&c, 1000, 20000);
	g_assert_cmpuint(run(&c, 1, 1000000, 10, 999, at, 8), ==, 0);
	/* above, but never for a whole interval: never */
	for (int64_t t = 1; t < 1000000; t += 10)
		g_assert_false(tr_codel_signal(&c, (t / 15000) % 2 ? 5000 : 0, t));
}

static void
test_control_law(void)
{
	TrCodel c;
	int64_t at[16];
	unsigned n;

	tr_codel_init(&c, 1000, 20000);
	/* Standing at 2 ms from t = 1 s: the first signal one interval later, then at
	 * interval / sqrt(count) spacing, the square root an integer one: 20000 after the
	 * first, second and third, 10000 after the fourth ... */
	n = run(&c, 1000000, 1100000, 10, 2000, at, 16);
	g_assert_cmpuint(n, >=, 5);
	g_assert_cmpint(at[0], ==, 1000000 + 20000);
	g_assert_cmpint(at[1] - at[0], ==, 20000); /* count 1 */
	g_assert_cmpint(at[2] - at[1], ==, 20000); /* count 2: isqrt 1 */
	g_assert_cmpint(at[3] - at[2], ==, 20000); /* count 3: isqrt 1 */
	g_assert_cmpint(at[4] - at[3], ==, 10000); /* count 4: isqrt 2 */
	/* the spacing only shrinks while the queue stands */
	for (unsigned i = 2; i < n; i++)
		g_assert_cmpint(at[i] - at[i - 1], <=, at[i - 1] - at[i - 2]);
	/* Below target: the dropping state ends at once. */
	g_assert_false(tr_codel_signal(&c, 100, 1100000));
	g_assert_false(c.dropping);
	/* Above again soon after: it resumes near the rate it had (count kept), after one
	 * interval above target again. */
	n = run(&c, 1100010, 1200000, 10, 2000, at, 16);
	g_assert_cmpuint(n, >=, 2);
	g_assert_cmpint(at[0], ==, 1100010 + 20000);
	g_assert_cmpint(at[1] - at[0], <, 20000);
}

static void
test_resume_after_long_quiet(void)
{
	TrCodel c;
	int64_t at[16];

	tr_codel_init(&c, 1000, 20000);
	g_assert_cmpuint(run(&c, 1000000, 1200000, 10, 2000, at, 16), >=, 5);
	g_assert_false(tr_codel_signal(&c, 0, 1200000));
	/* 16 intervals later the old rate is forgotten: count starts at 1 */
	g_assert_cmpuint(run(&c, 2000000, 2100000, 10, 2000, at, 16), >=, 2);
	g_assert_cmpint(at[0], ==, 2000000 + 20000);
	g_assert_cmpint(at[1] - at[0], ==, 20000);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/codel/off-and-below", test_off_and_below);
	g_test_add_func("/codel/control-law", test_control_law);
	g_test_add_func("/codel/resume-after-long-quiet", test_resume_after_long_quiet);
	return g_test_run();
}
