/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/datapath/fwd.h"
#include "common/base/rcu.h"

#include "tests/unit/pkt-build.h"

#include <stdatomic.h>

/* ---- A plain snapshot: readers check it is whole and never goes back. ---- */

#define WORDS 16

typedef struct {
	uint64_t version;
	uint64_t words[WORDS]; /* version * (i + 1) */
} Snap;

static atomic_uint snaps_freed;

static Snap *
snap_new(uint64_t version)
{
	Snap *s = g_new(Snap, 1);

	s->version = version;
	for (int i = 0; i < WORDS; i++)
		s->words[i] = version * (uint64_t)(i + 1);
	return s;
}

static void
snap_free(gpointer p)
{
	/* Poisoned before it goes: a reader still holding it would see the damage. */
	memset(p, 0xdd, sizeof(Snap));
	g_free(p);
	atomic_fetch_add(&snaps_freed, 1);
}

typedef struct {
	TrRcu *rcu;
	atomic_bool *stop;
	atomic_bool running; /* has read at least once */
	guint64 reads, bad, backwards;
} Reader;

static gpointer
reader_thread(gpointer p)
{
	Reader *r = p;
	g_autoptr(GError) error = NULL;
	TrRcuReader *rd = tr_rcu_reader_new(r->rcu, &error);
	uint64_t last = 0;

	g_assert_no_error(error);
	while (!atomic_load(r->stop)) {
		const Snap *s = tr_rcu_read_begin(rd);

		if (s) {
			if (s->version < last)
				r->backwards++;
			last = s->version;
			for (int i = 0; i < WORDS; i++)
				if (s->words[i] != s->version * (uint64_t)(i + 1))
					r->bad++;
		}
		tr_rcu_read_end(rd);
		r->reads++;
		atomic_store(&r->running, true);
	}
	tr_rcu_reader_free(rd);
	return NULL;
}

#define N_READERS  3
#define N_VERSIONS 2000

static void
test_publish_concurrent(void)
{
	TrRcu *rcu = tr_rcu_new(snap_free);
	atomic_bool stop = false;
	Reader r[N_READERS];
	GThread *t[N_READERS];

	atomic_store(&snaps_freed, 0);
	g_assert_null(tr_rcu_peek(rcu));
	for (int i = 0; i < N_READERS; i++) {
		r[i] = (Reader){.rcu = rcu, .stop = &stop};
		t[i] = g_thread_new("reader", reader_thread, &r[i]);
	}
	/* Publish only once every reader runs, however busy the machine is
	 * (bounded: 20 s), so the publishing really races the readers. */
	for (int i = 0; i < N_READERS; i++) {
		for (int w = 0; w < 20000 && !atomic_load(&r[i].running); w++)
			g_usleep(1000);
		g_assert_true(atomic_load(&r[i].running));
	}
	for (uint64_t v = 1; v <= N_VERSIONS; v++) {
		tr_rcu_publish(rcu, snap_new(v));
		if (v % 100 == 0)
			g_usleep(200); /* let the readers run now and then */
	}
	g_assert_cmpuint(((Snap *)tr_rcu_peek(rcu))->version, ==, N_VERSIONS);
	atomic_store(&stop, true);
	for (int i = 0; i < N_READERS; i++) {
		g_thread_join(t[i]);
		g_assert_cmpuint(r[i].bad, ==, 0);
		g_assert_cmpuint(r[i].backwards, ==, 0);
		g_assert_cmpuint(r[i].reads, >, 0);
	}
	/* No reader left: everything retired goes; the current one stays. */
	tr_rcu_synchronize(rcu);
	g_assert_cmpuint(atomic_load(&snaps_freed), ==, N_VERSIONS - 1);
	tr_rcu_free(rcu);
	g_assert_cmpuint(atomic_load(&snaps_freed), ==, N_VERSIONS);
}

/* A reader inside its section pins what it read; ending the section releases it. */
static void
test_grace(void)
{
	TrRcu *rcu = tr_rcu_new(snap_free);
	TrRcuReader *rd = tr_rcu_reader_new(rcu, NULL);
	const Snap *s;

	atomic_store(&snaps_freed, 0);
	tr_rcu_publish(rcu, snap_new(1));
	s = tr_rcu_read_begin(rd);
	g_assert_cmpuint(s->version, ==, 1);
	tr_rcu_publish(rcu, snap_new(2));
	tr_rcu_publish(rcu, snap_new(3));
	/* Version 1 is held; 2 was published after the reader began, but may be pinned too. */
	g_assert_cmpuint(tr_rcu_reclaim(rcu), ==, 2);
	g_assert_cmpuint(s->version, ==, 1);
	g_assert_cmpuint(atomic_load(&snaps_freed), ==, 0);
	tr_rcu_read_end(rd);
	g_assert_cmpuint(tr_rcu_reclaim(rcu), ==, 0);
	g_assert_cmpuint(atomic_load(&snaps_freed), ==, 2);

	/* A reader that began after a publication does not hold what went before. */
	s = tr_rcu_read_begin(rd);
	g_assert_cmpuint(s->version, ==, 3);
	tr_rcu_publish(rcu, snap_new(4));
	g_assert_cmpuint(tr_rcu_reclaim(rcu), ==, 1); /* 3 is held */
	tr_rcu_read_end(rd);
	tr_rcu_publish(rcu, NULL);
	g_assert_cmpuint(tr_rcu_reclaim(rcu), ==, 0);
	g_assert_null(tr_rcu_peek(rcu));
	tr_rcu_reader_free(rd);
	tr_rcu_free(rcu);
	g_assert_cmpuint(atomic_load(&snaps_freed), ==, 4);
}

static void
test_reader_slots(void)
{
	TrRcu *rcu = tr_rcu_new(snap_free);
	TrRcuReader *rd[TR_RCU_READERS_MAX];
	g_autoptr(GError) error = NULL;

	for (int i = 0; i < TR_RCU_READERS_MAX; i++)
		g_assert_nonnull(rd[i] = tr_rcu_reader_new(rcu, NULL));
	g_assert_null(tr_rcu_reader_new(rcu, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_FAILED);
	tr_rcu_reader_free(rd[5]);
	rd[5] = tr_rcu_reader_new(rcu, NULL);
	g_assert_nonnull(rd[5]);
	for (int i = 0; i < TR_RCU_READERS_MAX; i++)
		tr_rcu_reader_free(rd[i]);
	tr_rcu_free(rcu);
}

/* ---- Forwarding snapshots: data threads decide while the control plane republishes. ---- */

typedef struct {
	TrRcu *rcu;
	atomic_bool *stop;
	const uint8_t *pkt;
	size_t len;
	guint64 decisions, bad;
} FwdReader;

static gpointer
fwd_reader_thread(gpointer p)
{
	FwdReader *r = p;
	TrRcuReader *rd = tr_rcu_reader_new(r->rcu, NULL);
	uint32_t last = 0;

	while (!atomic_load(r->stop)) {
		const TrFwd *fwd = tr_rcu_read_begin(rd);
		TrFwdResult res;

		if (fwd) {
			/* Version v routes 10.0.0.0/8 to peer v: never an older one. */
			if (tr_fwd_decide(fwd, r->pkt, r->len, TR_PEER_LOCAL, 0, &res) !=
			            TR_FWD_PEER ||
			    res.peer < last)
				r->bad++;
			last = res.peer;
			r->decisions++;
		}
		tr_rcu_read_end(rd);
	}
	tr_rcu_reader_free(rd);
	return NULL;
}

static void
test_fwd_snapshots(void)
{
	TrRcu *rcu = tr_rcu_new((GDestroyNotify)tr_fwd_free);
	TrFwdConfig cfg = {.mode = TR_FWD_MODE_ROUTER, .type = TR_FRAME_IP};
	atomic_bool stop = false;
	FwdReader r[N_READERS];
	GThread *t[N_READERS];
	uint8_t pkt[64];
	size_t len = pb_ip4(pkt, "198.19.0.1", "10.1.2.3", 17, false, (const uint8_t *)"hi", 2);

	for (int i = 0; i < N_READERS; i++) {
		r[i] = (FwdReader){.rcu = rcu, .stop = &stop, .pkt = pkt, .len = len};
		t[i] = g_thread_new("fwd-reader", fwd_reader_thread, &r[i]);
	}
	for (uint32_t v = 1; v <= 500; v++) {
		g_autoptr(TrRouteBuilder) b = tr_route_builder_new();
		g_autoptr(GError) error = NULL;
		TrPrefix p;

		g_assert_true(tr_prefix_parse("10.0.0.0/8", 0, &p, NULL));
		g_assert_true(tr_route_builder_add(b, &p, v, TR_ROUTE_CLAIMED, NULL, NULL, NULL));
		tr_rcu_publish(rcu, tr_fwd_new(&cfg, tr_route_table_build(b), NULL, &error));
		g_assert_no_error(error);
		tr_rcu_reclaim(rcu);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < N_READERS; i++) {
		g_thread_join(t[i]);
		g_assert_cmpuint(r[i].bad, ==, 0);
	}
	tr_rcu_synchronize(rcu);
	tr_rcu_free(rcu);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rcu/publish-concurrent", test_publish_concurrent);
	g_test_add_func("/rcu/grace", test_grace);
	g_test_add_func("/rcu/reader-slots", test_reader_slots);
	g_test_add_func("/rcu/fwd-snapshots", test_fwd_snapshots);
	return g_test_run();
}
