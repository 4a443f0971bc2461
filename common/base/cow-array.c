/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/cow-array.h"

#include <string.h>

static TrCowChunk *
chunk_new(guint elem_size)
{
	TrCowChunk *c = g_malloc0(sizeof(TrCowChunk) + (gsize)elem_size * TR_COW_CHUNK);

	atomic_init(&c->ref, 1);
	return c;
}

static void
chunk_unref(TrCowChunk *c)
{
	if (c && atomic_fetch_sub_explicit(&c->ref, 1, memory_order_acq_rel) == 1)
		g_free(c);
}

void
tr_cow_array_init(TrCowArray *a, guint elem_size, guint n)
{
	a->dir = NULL;
	a->n_chunks = 0;
	a->elem_size = elem_size;
	tr_cow_array_grow(a, n);
}

void
tr_cow_array_clear(TrCowArray *a)
{
	for (guint i = 0; i < a->n_chunks; i++)
		chunk_unref(a->dir[i]);
	g_clear_pointer(&a->dir, g_free);
	a->n_chunks = 0;
}

void
tr_cow_array_grow(TrCowArray *a, guint n)
{
	guint want = (n + TR_COW_CHUNK - 1) >> TR_COW_SHIFT;

	if (want <= a->n_chunks)
		return;
	a->dir = g_renew(TrCowChunk *, a->dir, want);
	for (guint i = a->n_chunks; i < want; i++)
		a->dir[i] = chunk_new(a->elem_size);
	a->n_chunks = want;
}

void
tr_cow_array_snapshot(const TrCowArray *a, TrCowArray *out)
{
	out->elem_size = a->elem_size;
	out->n_chunks = a->n_chunks;
	out->dir = g_memdup2(a->dir, sizeof(*a->dir) * a->n_chunks);
	for (guint i = 0; i < a->n_chunks; i++)
		atomic_fetch_add_explicit(&a->dir[i]->ref, 1, memory_order_relaxed);
}

gpointer
tr_cow_array_write(TrCowArray *a, guint i)
{
	TrCowChunk **c = &a->dir[i >> TR_COW_SHIFT];

	/* Only the writer takes references, so a count of one cannot go up
	 * behind its back; a stale count above one costs a needless copy. */
	if (atomic_load_explicit(&(*c)->ref, memory_order_acquire) > 1) {
		TrCowChunk *copy = chunk_new(a->elem_size);

		memcpy(copy->data, (*c)->data, (gsize)a->elem_size * TR_COW_CHUNK);
		chunk_unref(*c);
		*c = copy;
	}
	return (char *)(*c)->data + (gsize)(i & (TR_COW_CHUNK - 1)) * a->elem_size;
}
