/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fault scheduler of trellis-faultrelay: rates, reorder/delay semantics,
 * corruption, bounds, and that everything follows from the seed. */
#include "tests/relay/fault.h"

#include "common/base/error.h"

#include <string.h>

#define MS 1000 /* the scheduler counts in microseconds */

static TrFaultConfig
config(const char *spec)
{
	g_autoptr(GError) error = NULL;
	TrFaultConfig cfg;

	tr_fault_config_init(&cfg);
	g_assert_true(tr_fault_config_parse(&cfg, spec, &error));
	g_assert_no_error(error);
	return cfg;
}

/* A datagram that says which one it is: 4 bytes of index, then filler. */
static gsize
make(guint32 i, guint8 *buf)
{
	gsize len = 40 + i % 60;

	memcpy(buf, &i, 4);
	for (gsize k = 4; k < len; k++)
		buf[k] = (guint8)(i * 31 + k);
	return len;
}

static guint32
which(const guint8 *buf)
{
	guint32 i;
	memcpy(&i, buf, 4);
	return i;
}

static void
test_fault_parse(void)
{
	static const char *const bad[] = {
	        "drop",    "drop=",   "drop=x",       "drop=101",
	        "drop=-1", "dup=5%",  "reorder=1e9",  "gap=1001",
	        "bits=0",  "bits=65", "queue=0",      "delay=60001",
	        "skip=-1", "warp=3",  "drop=5,,nope", "reorder=5,gap=0,hold=0",
	};
	TrFaultConfig cfg = config("drop=5, dup=1,reorder=2.5,gap=7,hold=30,corrupt=1,bits=3,"
	                           "skip=12,delay=4,jitter=2,queue=99");
	g_autofree char *desc = tr_fault_config_describe(&cfg);

	g_assert_cmpfloat_with_epsilon(cfg.drop, 0.05, 1e-12);
	g_assert_cmpfloat_with_epsilon(cfg.dup, 0.01, 1e-12);
	g_assert_cmpfloat_with_epsilon(cfg.reorder, 0.025, 1e-12);
	g_assert_cmpfloat_with_epsilon(cfg.corrupt, 0.01, 1e-12);
	g_assert_cmpuint(cfg.reorder_gap, ==, 7);
	g_assert_cmpuint(cfg.reorder_delay_ms, ==, 30);
	g_assert_cmpuint(cfg.corrupt_bits, ==, 3);
	g_assert_cmpuint(cfg.corrupt_skip, ==, 12);
	g_assert_cmpuint(cfg.delay_ms, ==, 4);
	g_assert_cmpuint(cfg.jitter_ms, ==, 2);
	g_assert_cmpuint(cfg.max_queued, ==, 99);
	g_assert_nonnull(strstr(desc, "drop=5%"));
	g_assert_nonnull(strstr(desc, "reorder=2.5%"));

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		TrFaultConfig c;
		tr_fault_config_init(&c);
		if (tr_fault_config_parse(&c, bad[i], &error))
			g_error("accepted \"%s\"", bad[i]);
		g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	}
}

/* No faults: everything out at once, in order, unchanged, with its tag. */
static void
test_fault_passthrough(void)
{
	TrFaultConfig cfg = config("");
	g_autoptr(TrFault) f = tr_fault_new(&cfg, 1);
	guint8 in[128], out[128];
	gpointer tag;
	gsize len;

	for (guint32 i = 0; i < 1000; i++) {
		gsize n = make(i, in);
		g_assert_cmpuint(tr_fault_push(f, in, n, GUINT_TO_POINTER(i + 1), 0), ==, 1);
		g_assert_cmpint(tr_fault_next_due(f), ==, 0);
		g_assert_true(tr_fault_pop(f, 0, out, sizeof(out), &len, &tag));
		g_assert_cmpmem(in, n, out, len);
		g_assert_cmpuint(GPOINTER_TO_UINT(tag), ==, i + 1);
		g_assert_false(tr_fault_pop(f, 0, out, sizeof(out), &len, &tag));
	}
	g_assert_cmpint(tr_fault_next_due(f), ==, G_MAXINT64);
	g_assert_cmpuint(tr_fault_counters(f)->released, ==, 1000);
	g_assert_cmpuint(tr_fault_counters(f)->dropped + tr_fault_counters(f)->corrupted, ==, 0);
}

/* Pushes @n datagrams one per millisecond, popping whatever is due; then
 * drains. Returns the output as one byte string (length-prefixed records). */
static GByteArray *
run(const TrFaultConfig *cfg, guint64 seed, guint n, TrFaultCounters *counters)
{
	g_autoptr(TrFault) f = tr_fault_new(cfg, seed);
	GByteArray *log = g_byte_array_new();
	guint8 in[128], out[128];
	gint64 now = 0;
	gsize len;

	for (guint32 i = 0; i < n; i++, now += MS) {
		tr_fault_push(f, in, make(i, in), NULL, now);
		while (tr_fault_pop(f, now, out, sizeof(out), &len, NULL)) {
			guint16 l = (guint16)len;
			g_byte_array_append(log, (guint8 *)&l, 2);
			g_byte_array_append(log, out, (guint)len);
		}
	}
	/* Everything left falls due in bounded time (delays and holds). */
	for (int spins = 0; tr_fault_queued(f) > 0; spins++) {
		g_assert_cmpint(spins, <, 100000);
		now = tr_fault_next_due(f);
		g_assert_cmpint(now, <, G_MAXINT64);
		while (tr_fault_pop(f, now, out, sizeof(out), &len, NULL)) {
			guint16 l = (guint16)len;
			g_byte_array_append(log, (guint8 *)&l, 2);
			g_byte_array_append(log, out, (guint)len);
		}
	}
	*counters = *tr_fault_counters(f);
	return log;
}

static void
test_fault_deterministic(void)
{
	TrFaultConfig cfg = config("drop=5,dup=1,reorder=5,corrupt=1,delay=1,jitter=3");
	g_autoptr(GByteArray) a = NULL, b = NULL, c = NULL;
	TrFaultCounters ca, cb, cc;

	a = run(&cfg, 42, 5000, &ca);
	b = run(&cfg, 42, 5000, &cb);
	c = run(&cfg, 43, 5000, &cc);
	g_assert_cmpmem(a->data, a->len, b->data, b->len);
	g_assert_cmpmem(&ca, sizeof(ca), &cb, sizeof(cb));
	g_assert_false(a->len == c->len && memcmp(a->data, c->data, a->len) == 0);
	g_assert_cmpuint(ca.seen, ==, 5000);
	g_assert_cmpuint(cc.seen, ==, 5000);

	/* The generator itself is pinned, so a seed means the same on every host. */
	guint64 s = 0;
	g_assert_cmpuint(tr_fault_rand(&s), ==, G_GUINT64_CONSTANT(0xe220a8397b1dcdaf));
	g_assert_cmpuint(tr_fault_rand(&s), ==, G_GUINT64_CONSTANT(0x6e789e6aa1b965f4));
}

static void
assert_rate(const char *what, guint64 count, guint64 total, double rate)
{
	double got = (double)count / (double)total;
	/* 100000 trials: the standard deviation of a 5 % rate is 0.07 %. */
	if (got < rate * 0.9 || got > rate * 1.1)
		g_error("%s: %.3f%% of %" G_GUINT64_FORMAT ", expected %.3f%%", what, got * 100,
		        total, rate * 100);
}

static void
test_fault_rates(void)
{
	TrFaultConfig cfg = config("drop=5,dup=1,reorder=5,corrupt=1,gap=3,hold=10");
	g_autoptr(GByteArray) log = NULL;
	TrFaultCounters c;
	guint n = 100000;

	log = run(&cfg, 7, n, &c);
	g_assert_cmpuint(c.seen, ==, n);
	assert_rate("drop", c.dropped, n, 0.05);
	assert_rate("dup", c.duplicated, n, 0.01);
	assert_rate("reorder", c.reordered, n, 0.05);
	assert_rate("corrupt", c.corrupted, n, 0.01);
	g_assert_cmpuint(c.overflow, ==, 0);
	g_assert_cmpuint(c.delayed, ==, 0);
	/* Nothing lost or invented beyond the faults. */
	g_assert_cmpuint(c.released, ==, c.seen - c.dropped + c.duplicated);
}

/* A held datagram goes out right after the gap-th later one: checked against
 * a naive model fed with which datagrams the scheduler decided to hold. */
static void
test_fault_reorder_gap(void)
{
	TrFaultConfig cfg = config("reorder=30,gap=3,hold=0");
	g_autoptr(TrFault) f = tr_fault_new(&cfg, 99);
	g_autoptr(GArray) got = g_array_new(FALSE, FALSE, sizeof(guint32));
	g_autoptr(GArray) want = g_array_new(FALSE, FALSE, sizeof(guint32));
	g_autoptr(GArray) held = g_array_new(FALSE, FALSE, sizeof(guint32) * 2);
	guint8 in[128], out[128];
	guint n = 2000, displaced = 0;
	gsize len;

	for (guint32 i = 0; i < n; i++) {
		guint64 before = tr_fault_counters(f)->reordered;
		gboolean hold;

		tr_fault_push(f, in, make(i, in), NULL, 0);
		hold = tr_fault_counters(f)->reordered > before;
		while (tr_fault_pop(f, 0, out, sizeof(out), &len, NULL)) {
			guint32 w = which(out);
			g_array_append_val(got, w);
		}
		/* The model. */
		if (!hold)
			g_array_append_val(want, i);
		for (guint k = 0; k < held->len;) {
			guint32 *h = &g_array_index(held, guint32, 2 * k);
			if (--h[1] == 0) {
				g_array_append_val(want, h[0]);
				g_array_remove_index(held, k);
			} else {
				k++;
			}
		}
		if (hold) {
			guint32 h[2] = {i, cfg.reorder_gap};
			g_array_append_vals(held, h, 1);
		}
	}
	g_assert_cmpuint(got->len, ==, want->len);
	for (guint k = 0; k < got->len; k++) {
		g_assert_cmpuint(g_array_index(got, guint32, k), ==,
		                 g_array_index(want, guint32, k));
		displaced += g_array_index(got, guint32, k) != k;
	}
	/* It really reorders, and the last few stay held (no time limit). */
	g_assert_cmpuint(displaced, >, n / 10);
	g_assert_cmpuint(tr_fault_queued(f), ==, held->len);
	g_assert_cmpuint(tr_fault_queued(f), >, 0);
	g_assert_cmpint(tr_fault_next_due(f), ==, G_MAXINT64);
}

/* With no later traffic a held datagram still goes out after the hold time. */
static void
test_fault_hold_deadline(void)
{
	TrFaultConfig cfg = config("reorder=100,gap=0,hold=20");
	g_autoptr(TrFault) f = tr_fault_new(&cfg, 5);
	guint8 in[128], out[128];
	gsize len;

	tr_fault_push(f, in, make(1, in), NULL, 1000 * MS);
	tr_fault_push(f, in, make(2, in), NULL, 1005 * MS);
	g_assert_cmpint(tr_fault_next_due(f), ==, 1020 * MS);
	g_assert_false(tr_fault_pop(f, 1020 * MS - 1, out, sizeof(out), &len, NULL));
	g_assert_true(tr_fault_pop(f, 1020 * MS, out, sizeof(out), &len, NULL));
	g_assert_cmpuint(which(out), ==, 1);
	g_assert_false(tr_fault_pop(f, 1020 * MS, out, sizeof(out), &len, NULL));
	g_assert_cmpint(tr_fault_next_due(f), ==, 1025 * MS);
	g_assert_true(tr_fault_pop(f, 2000 * MS, out, sizeof(out), &len, NULL));
	g_assert_cmpuint(which(out), ==, 2);
	g_assert_cmpuint(tr_fault_counters(f)->reordered, ==, 2);
}

static void
test_fault_delay_jitter(void)
{
	TrFaultConfig cfg = config("delay=10,jitter=5");
	g_autoptr(TrFault) f = tr_fault_new(&cfg, 11);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
	guint8 in[128], out[128];
	gsize len;

	for (guint32 i = 0; i < 500; i++) {
		gint64 t0 = (gint64)i * 100 * MS, due;

		tr_fault_push(f, in, make(i, in), NULL, t0);
		due = tr_fault_next_due(f);
		g_assert_cmpint(due, >=, t0 + 10 * MS);
		g_assert_cmpint(due, <=, t0 + 15 * MS);
		g_hash_table_add(seen, GINT_TO_POINTER((int)(due - t0)));
		g_assert_false(tr_fault_pop(f, due - 1, out, sizeof(out), &len, NULL));
		g_assert_true(tr_fault_pop(f, due, out, sizeof(out), &len, NULL));
		g_assert_cmpuint(which(out), ==, i);
	}
	g_assert_cmpuint(g_hash_table_size(seen), >, 100); /* the jitter varies */
	g_assert_cmpuint(tr_fault_counters(f)->delayed, ==, 500);

	/* Jitter larger than the spacing reorders by itself; nothing is lost. */
	TrFaultConfig wide = config("jitter=20");
	g_autoptr(TrFault) g = tr_fault_new(&wide, 12);
	guint out_of_order = 0, n = 0, last = 0;
	for (guint32 i = 0; i < 1000; i++)
		tr_fault_push(g, in, make(i, in), NULL, (gint64)i * MS);
	while (tr_fault_pop(g, G_MAXINT64 - 1, out, sizeof(out), &len, NULL)) {
		out_of_order += n > 0 && which(out) < last;
		last = which(out);
		n++;
	}
	g_assert_cmpuint(n, ==, 1000);
	g_assert_cmpuint(out_of_order, >, 100);
}

static guint
bit_distance(const guint8 *a, const guint8 *b, gsize len)
{
	guint d = 0;
	for (gsize i = 0; i < len; i++)
		d += (guint)__builtin_popcount((unsigned)(a[i] ^ b[i]));
	return d;
}

static void
test_fault_corrupt(void)
{
	TrFaultConfig cfg = config("corrupt=100,bits=3");
	g_autoptr(TrFault) f = tr_fault_new(&cfg, 3);
	guint8 in[128], out[128], zero[4] = {0};
	gsize n, len;

	for (guint32 i = 0; i < 2000; i++) {
		n = make(i, in);
		tr_fault_push(f, in, n, NULL, 0);
		g_assert_true(tr_fault_pop(f, 0, out, sizeof(out), &len, NULL));
		g_assert_cmpuint(len, ==, n);
		g_assert_cmpuint(bit_distance(in, out, n), ==, 3);
	}
	g_assert_cmpuint(tr_fault_counters(f)->corrupted, ==, 2000);

	/* More bits than the datagram has: every one flips, once. */
	TrFaultConfig all = config("corrupt=100,bits=64");
	g_autoptr(TrFault) g = tr_fault_new(&all, 3);
	tr_fault_push(g, zero, sizeof(zero), NULL, 0);
	g_assert_true(tr_fault_pop(g, 0, out, sizeof(out), &len, NULL));
	g_assert_cmpuint(len, ==, 4);
	g_assert_cmpuint(bit_distance(zero, out, 4), ==, 32);
	/* skip=N leaves the first N bytes alone (a header, say). */
	TrFaultConfig body = config("corrupt=100,bits=8,skip=20");
	g_autoptr(TrFault) h = tr_fault_new(&body, 4);
	for (guint32 i = 0; i < 500; i++) {
		n = make(i, in);
		tr_fault_push(h, in, n, NULL, 0);
		g_assert_true(tr_fault_pop(h, 0, out, sizeof(out), &len, NULL));
		g_assert_cmpmem(in, 20, out, 20);
		g_assert_cmpuint(bit_distance(in + 20, out + 20, n - 20), ==, 8);
	}
	tr_fault_push(h, in, 20, NULL, 0);
	g_assert_true(tr_fault_pop(h, 0, out, sizeof(out), &len, NULL));
	g_assert_cmpmem(in, 20, out, len);
	/* An empty datagram survives it. */
	tr_fault_push(g, zero, 0, NULL, 0);
	g_assert_true(tr_fault_pop(g, 0, out, sizeof(out), &len, NULL));
	g_assert_cmpuint(len, ==, 0);
}

static void
test_fault_dup_and_bounds(void)
{
	TrFaultConfig cfg = config("dup=100");
	g_autoptr(TrFault) f = tr_fault_new(&cfg, 8);
	TrFaultConfig small = config("delay=1000,queue=10");
	g_autoptr(TrFault) g = tr_fault_new(&small, 8);
	guint8 in[128], out[128], a[128];
	gsize n, len, alen;

	for (guint32 i = 0; i < 100; i++) {
		n = make(i, in);
		g_assert_cmpuint(tr_fault_push(f, in, n, NULL, 0), ==, 2);
		g_assert_true(tr_fault_pop(f, 0, a, sizeof(a), &alen, NULL));
		g_assert_true(tr_fault_pop(f, 0, out, sizeof(out), &len, NULL));
		g_assert_cmpmem(a, alen, out, len);
		g_assert_cmpmem(in, n, out, len);
		g_assert_false(tr_fault_pop(f, 0, out, sizeof(out), &len, NULL));
	}
	g_assert_cmpuint(tr_fault_counters(f)->duplicated, ==, 100);

	/* The queue is bounded: past it, datagrams are dropped and counted. */
	for (guint32 i = 0; i < 25; i++)
		tr_fault_push(g, in, make(i, in), NULL, 0);
	g_assert_cmpuint(tr_fault_queued(g), ==, 10);
	g_assert_cmpuint(tr_fault_counters(g)->overflow, ==, 15);
	/* A short output buffer truncates, and says so by the length. */
	g_assert_true(tr_fault_pop(g, 1000 * MS, out, 8, &len, NULL));
	g_assert_cmpuint(len, ==, 8);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fault/parse", test_fault_parse);
	g_test_add_func("/fault/passthrough", test_fault_passthrough);
	g_test_add_func("/fault/deterministic", test_fault_deterministic);
	g_test_add_func("/fault/rates", test_fault_rates);
	g_test_add_func("/fault/reorder-gap", test_fault_reorder_gap);
	g_test_add_func("/fault/hold-deadline", test_fault_hold_deadline);
	g_test_add_func("/fault/delay-jitter", test_fault_delay_jitter);
	g_test_add_func("/fault/corrupt", test_fault_corrupt);
	g_test_add_func("/fault/dup-and-bounds", test_fault_dup_and_bounds);
	return g_test_run();
}
