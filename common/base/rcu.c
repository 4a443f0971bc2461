/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/rcu.h"

#include "common/base/error.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One cache line per reader: read_begin writes only its own slot. */
struct TrRcuReader {
	_Atomic uint64_t epoch; /* 0 outside a read section */
	atomic_int used;
	TrRcu *rcu;
} __attribute__((aligned(64)));

typedef struct {
	gpointer snapshot;
	uint64_t epoch; /* freed once every active reader is at this epoch or later */
} Retired;

struct TrRcu {
	_Atomic(gpointer) current;
	_Atomic uint64_t epoch;
	GDestroyNotify destroy;
	GMutex lock;     /* writers only */
	GArray *retired; /* Retired, under lock */
	TrRcuReader readers[TR_RCU_READERS_MAX];
};

TrRcu *
tr_rcu_new(GDestroyNotify destroy)
{
	void *mem = NULL;
	TrRcu *rcu;

	/* g_aligned_alloc0() needs GLib 2.72; the project supports 2.70. */
#ifdef G_OS_WIN32
	mem = _aligned_malloc(sizeof(TrRcu), 64); /* freed with _aligned_free */
	if (mem == NULL)
#else
	if (posix_memalign(&mem, 64, sizeof(TrRcu)) != 0)
#endif
		g_error("out of memory");
	rcu = memset(mem, 0, sizeof(TrRcu));

	atomic_init(&rcu->current, NULL);
	atomic_init(&rcu->epoch, 1);
	rcu->destroy = destroy;
	g_mutex_init(&rcu->lock);
	rcu->retired = g_array_new(FALSE, FALSE, sizeof(Retired));
	for (int i = 0; i < TR_RCU_READERS_MAX; i++) {
		atomic_init(&rcu->readers[i].epoch, 0);
		atomic_init(&rcu->readers[i].used, 0);
		rcu->readers[i].rcu = rcu;
	}
	return rcu;
}

void
tr_rcu_free(TrRcu *rcu)
{
	gpointer cur;

	if (!rcu)
		return;
	for (guint i = 0; i < rcu->retired->len; i++) {
		gpointer s = g_array_index(rcu->retired, Retired, i).snapshot;
		if (s && rcu->destroy)
			rcu->destroy(s);
	}
	g_array_unref(rcu->retired);
	cur = atomic_load(&rcu->current);
	if (cur && rcu->destroy)
		rcu->destroy(cur);
	g_mutex_clear(&rcu->lock);
#ifdef G_OS_WIN32
	_aligned_free(rcu);
#else
	free(rcu);
#endif
}

TrRcuReader *
tr_rcu_reader_new(TrRcu *rcu, GError **error)
{
	for (int i = 0; i < TR_RCU_READERS_MAX; i++) {
		int expect = 0;

		if (atomic_compare_exchange_strong(&rcu->readers[i].used, &expect, 1))
			return &rcu->readers[i];
	}
	g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "more than %d snapshot readers",
	            TR_RCU_READERS_MAX);
	return NULL;
}

void
tr_rcu_reader_free(TrRcuReader *reader)
{
	if (!reader)
		return;
	atomic_store(&reader->epoch, 0);
	atomic_store(&reader->used, 0);
}

gpointer
tr_rcu_read_begin(TrRcuReader *reader)
{
	/* All seq_cst: the epoch store must be visible before the pointer load. */
	atomic_store(&reader->epoch, atomic_load(&reader->rcu->epoch));
	return atomic_load(&reader->rcu->current);
}

void
tr_rcu_read_end(TrRcuReader *reader)
{
	atomic_store_explicit(&reader->epoch, 0, memory_order_release);
}

gpointer
tr_rcu_peek(TrRcu *rcu)
{
	return atomic_load(&rcu->current);
}

static guint
reclaim_locked(TrRcu *rcu)
{
	uint64_t oldest = UINT64_MAX;

	for (int i = 0; i < TR_RCU_READERS_MAX; i++) {
		uint64_t e = atomic_load(&rcu->readers[i].epoch);

		if (e != 0 && e < oldest)
			oldest = e;
	}
	for (guint i = rcu->retired->len; i-- > 0;) {
		Retired r = g_array_index(rcu->retired, Retired, i);

		if (r.epoch <= oldest) {
			g_array_remove_index_fast(rcu->retired, i);
			if (r.snapshot && rcu->destroy)
				rcu->destroy(r.snapshot);
		}
	}
	return rcu->retired->len;
}

void
tr_rcu_publish(TrRcu *rcu, gpointer snapshot)
{
	Retired r;

	g_mutex_lock(&rcu->lock);
	r.snapshot = atomic_exchange(&rcu->current, snapshot);
	r.epoch = atomic_fetch_add(&rcu->epoch, 1) + 1;
	if (r.snapshot)
		g_array_append_val(rcu->retired, r);
	reclaim_locked(rcu);
	g_mutex_unlock(&rcu->lock);
}

guint
tr_rcu_reclaim(TrRcu *rcu)
{
	guint n;

	g_mutex_lock(&rcu->lock);
	n = reclaim_locked(rcu);
	g_mutex_unlock(&rcu->lock);
	return n;
}

void
tr_rcu_synchronize(TrRcu *rcu)
{
	while (tr_rcu_reclaim(rcu) > 0)
		g_usleep(100);
}
