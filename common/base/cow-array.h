/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * An array of fixed-size elements in chunks copied on write, for tables
 * published through common/base/rcu.h that change one element at a time.
 *
 * The writer keeps a live array and publishes snapshots of it. A snapshot
 * copies only the directory of chunks and takes a reference on each chunk
 * (TR_COW_CHUNK elements); a write to the live array copies the one chunk it
 * touches when a snapshot still shares it. So a change and its publication
 * cost a chunk and a directory, not the whole array: with 32,768 elements,
 * a directory of 128 pointers instead of every element.
 *
 * Readers see a snapshot as immutable; tr_cow_array_at() is one more
 * pointer to follow than a flat array. Chunk references are atomic, so a
 * snapshot may be freed on any thread; everything else is the writer's.
 */
#include <glib.h>

#include <stdatomic.h>

G_BEGIN_DECLS

#define TR_COW_SHIFT 8u
#define TR_COW_CHUNK (1u << TR_COW_SHIFT) /* elements per chunk */

typedef struct {
	atomic_int ref;
	int pad_;
	max_align_t data[]; /* TR_COW_CHUNK elements */
} TrCowChunk;

typedef struct {
	TrCowChunk **dir;
	guint n_chunks;
	guint elem_size;
} TrCowArray;

/* A live array of @n zeroed elements of @elem_size bytes (rounded up to whole chunks). */
void tr_cow_array_init(TrCowArray *a, guint elem_size, guint n);
/* Drops the chunks (and the directory) of @a; it is empty after. */
void tr_cow_array_clear(TrCowArray *a);
/* Elements @a holds (a multiple of TR_COW_CHUNK). */
static inline guint
tr_cow_array_len(const TrCowArray *a)
{
	return a->n_chunks << TR_COW_SHIFT;
}
/* Grows @a to at least @n elements, new ones zeroed. */
void tr_cow_array_grow(TrCowArray *a, guint n);
/* A snapshot of @a into @out: shares every chunk (the directory is copied). */
void tr_cow_array_snapshot(const TrCowArray *a, TrCowArray *out);
/* Element @i of the live array @a, to write: its chunk is copied first when shared. */
gpointer tr_cow_array_write(TrCowArray *a, guint i);

/* Element @i (< tr_cow_array_len()), to read. */
static inline gconstpointer
tr_cow_array_at(const TrCowArray *a, guint i)
{
	return (const char *)a->dir[i >> TR_COW_SHIFT]->data +
	       (gsize)(i & (TR_COW_CHUNK - 1)) * a->elem_size;
}

G_END_DECLS
