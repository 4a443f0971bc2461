/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/cow-array.h"

static guint32
at(const TrCowArray *a, guint i)
{
	return *(const guint32 *)tr_cow_array_at(a, i);
}

static void
put(TrCowArray *a, guint i, guint32 v)
{
	*(guint32 *)tr_cow_array_write(a, i) = v;
}

/* Sizes round up to whole chunks, new elements are zero, growing keeps the old ones. */
static void
test_grow(void)
{
	TrCowArray a;

	tr_cow_array_init(&a, sizeof(guint32), 1);
	g_assert_cmpuint(tr_cow_array_len(&a), ==, TR_COW_CHUNK);
	for (guint i = 0; i < TR_COW_CHUNK; i++)
		g_assert_cmpuint(at(&a, i), ==, 0);
	put(&a, 7, 70);
	tr_cow_array_grow(&a, 3 * TR_COW_CHUNK + 1);
	g_assert_cmpuint(tr_cow_array_len(&a), ==, 4 * TR_COW_CHUNK);
	g_assert_cmpuint(at(&a, 7), ==, 70);
	g_assert_cmpuint(at(&a, 4 * TR_COW_CHUNK - 1), ==, 0);
	tr_cow_array_grow(&a, 2); /* never shrinks */
	g_assert_cmpuint(tr_cow_array_len(&a), ==, 4 * TR_COW_CHUNK);
	tr_cow_array_clear(&a);
	g_assert_cmpuint(tr_cow_array_len(&a), ==, 0);
}

/* A snapshot keeps what it saw; the live array copies only the chunk it writes. */
static void
test_snapshot(void)
{
	TrCowArray a, s1, s2;
	guint n = 8 * TR_COW_CHUNK;
	TrCowChunk *before;

	tr_cow_array_init(&a, sizeof(guint32), n);
	for (guint i = 0; i < n; i++)
		put(&a, i, i);
	/* Nobody shares it yet: written in place. */
	before = a.dir[2];
	put(&a, 2 * TR_COW_CHUNK, 5);
	g_assert_true(a.dir[2] == before);

	tr_cow_array_snapshot(&a, &s1);
	put(&a, 3 * TR_COW_CHUNK + 1, 1000);
	put(&a, 3 * TR_COW_CHUNK + 2, 1001); /* the same chunk: copied once */
	for (guint c = 0; c < a.n_chunks; c++)
		g_assert_true((a.dir[c] == s1.dir[c]) == (c != 3));
	g_assert_cmpuint(at(&s1, 3 * TR_COW_CHUNK + 1), ==, 3 * TR_COW_CHUNK + 1);
	g_assert_cmpuint(at(&a, 3 * TR_COW_CHUNK + 1), ==, 1000);
	g_assert_cmpuint(at(&a, 3 * TR_COW_CHUNK + 2), ==, 1001);

	tr_cow_array_snapshot(&a, &s2);
	tr_cow_array_grow(&a, 2 * n);
	put(&a, n + 3, 9);
	put(&a, 0, 99);
	g_assert_cmpuint(tr_cow_array_len(&s2), ==, n);
	g_assert_cmpuint(at(&s2, 0), ==, 0);
	g_assert_cmpuint(at(&s2, 3 * TR_COW_CHUNK + 1), ==, 1000);
	g_assert_cmpuint(at(&s1, 3 * TR_COW_CHUNK + 1), ==, 3 * TR_COW_CHUNK + 1);

	/* The snapshots go in any order; the live array outlives them and the other way round. */
	tr_cow_array_clear(&s1);
	g_assert_cmpuint(at(&s2, 2 * TR_COW_CHUNK), ==, 5);
	tr_cow_array_clear(&a);
	for (guint i = 1; i < n; i++)
		g_assert_cmpuint(at(&s2, i), ==,
		                 i == 2 * TR_COW_CHUNK       ? 5
		                 : i == 3 * TR_COW_CHUNK + 1 ? 1000
		                 : i == 3 * TR_COW_CHUNK + 2 ? 1001
		                                             : i);
	tr_cow_array_clear(&s2);
}

/* Random writes against a flat model, with snapshots taken and checked along the way. */
static void
test_model(void)
{
	enum { N = 3 * TR_COW_CHUNK + 17, SNAPS = 4, ROUNDS = 2000 };
	static guint32 model[N], snap_model[SNAPS][N];
	TrCowArray a, snaps[SNAPS];
	GRand *rand = g_rand_new_with_seed(24);

	memset(model, 0, sizeof(model));
	tr_cow_array_init(&a, sizeof(guint32), N);
	for (int s = 0; s < SNAPS; s++) {
		tr_cow_array_snapshot(&a, &snaps[s]);
		memcpy(snap_model[s], model, sizeof(model));
	}
	for (int r = 0; r < ROUNDS; r++) {
		guint i = g_rand_int_range(rand, 0, N);
		guint32 v = g_rand_int(rand);

		put(&a, i, v);
		model[i] = v;
		if (r % 97 == 0) {
			int s = g_rand_int_range(rand, 0, SNAPS);

			for (guint k = 0; k < N; k++)
				g_assert_cmpuint(at(&snaps[s], k), ==, snap_model[s][k]);
			tr_cow_array_clear(&snaps[s]);
			tr_cow_array_snapshot(&a, &snaps[s]);
			memcpy(snap_model[s], model, sizeof(model));
		}
	}
	for (guint k = 0; k < N; k++)
		g_assert_cmpuint(at(&a, k), ==, model[k]);
	for (int s = 0; s < SNAPS; s++)
		tr_cow_array_clear(&snaps[s]);
	tr_cow_array_clear(&a);
	g_rand_free(rand);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cow-array/grow", test_grow);
	g_test_add_func("/cow-array/snapshot", test_snapshot);
	g_test_add_func("/cow-array/model", test_model);
	return g_test_run();
}
