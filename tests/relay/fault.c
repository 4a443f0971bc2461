/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tests/relay/fault.h"

#include "common/base/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CORRUPT_BITS 64

typedef struct {
	gint64 due;        /* when it may go out */
	guint64 seq;       /* ties on @due go out in this order */
	gint64 hold_until; /* held: released at this time ... */
	guint hold_left;   /* ... or after this many later datagrams */
	gpointer tag;
	gsize len;
	guint8 data[];
} Entry;

struct _TrFault {
	TrFaultConfig cfg;
	guint64 rng;
	guint64 next_seq;
	GPtrArray *heap; /* Entry*, a binary min-heap on (due, seq) */
	GQueue held;     /* Entry*, in arrival order */
	TrFaultCounters c;
};

void
tr_fault_config_init(TrFaultConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->reorder_gap = 3;
	cfg->reorder_delay_ms = 100;
	cfg->corrupt_bits = 1;
	cfg->max_queued = 65536;
}

static gboolean
parse_number(const char *key, const char *text, double min, double max, double *out, GError **error)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = g_ascii_strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !(v >= min && v <= max)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "%s=%s: expected a number in %g..%g",
		            key, text, min, max);
		return FALSE;
	}
	*out = v;
	return TRUE;
}

gboolean
tr_fault_config_parse(TrFaultConfig *cfg, const char *spec, GError **error)
{
	g_auto(GStrv) items = g_strsplit(spec, ",", -1);

	for (guint i = 0; items[i]; i++) {
		const char *item = g_strstrip(items[i]);
		const char *eq = strchr(item, '=');
		g_autofree char *key = NULL;
		double v;

		if (*item == '\0')
			continue;
		if (eq == NULL) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "%s: expected KEY=VALUE",
			            item);
			return FALSE;
		}
		key = g_strndup(item, (gsize)(eq - item));
		eq++;
		if (g_str_equal(key, "drop") || g_str_equal(key, "dup") ||
		    g_str_equal(key, "reorder") || g_str_equal(key, "corrupt")) {
			if (!parse_number(key, eq, 0, 100, &v, error))
				return FALSE;
			v /= 100;
			if (g_str_equal(key, "drop"))
				cfg->drop = v;
			else if (g_str_equal(key, "dup"))
				cfg->dup = v;
			else if (g_str_equal(key, "reorder"))
				cfg->reorder = v;
			else
				cfg->corrupt = v;
		} else if (g_str_equal(key, "gap")) {
			if (!parse_number(key, eq, 0, 1000, &v, error))
				return FALSE;
			cfg->reorder_gap = (guint)v;
		} else if (g_str_equal(key, "hold") || g_str_equal(key, "delay") ||
		           g_str_equal(key, "jitter")) {
			if (!parse_number(key, eq, 0, 60000, &v, error))
				return FALSE;
			if (g_str_equal(key, "hold"))
				cfg->reorder_delay_ms = (guint)v;
			else if (g_str_equal(key, "delay"))
				cfg->delay_ms = (guint)v;
			else
				cfg->jitter_ms = (guint)v;
		} else if (g_str_equal(key, "bits")) {
			if (!parse_number(key, eq, 1, MAX_CORRUPT_BITS, &v, error))
				return FALSE;
			cfg->corrupt_bits = (guint)v;
		} else if (g_str_equal(key, "skip")) {
			if (!parse_number(key, eq, 0, 65535, &v, error))
				return FALSE;
			cfg->corrupt_skip = (guint)v;
		} else if (g_str_equal(key, "queue")) {
			if (!parse_number(key, eq, 1, 1 << 20, &v, error))
				return FALSE;
			cfg->max_queued = (guint)v;
		} else {
			g_set_error(
			        error, TR_ERROR, TR_ERROR_INVALID,
			        "%s: unknown fault (drop, dup, reorder, gap, hold, corrupt, bits, "
			        "skip, delay, jitter, queue)",
			        key);
			return FALSE;
		}
	}
	if (cfg->reorder > 0 && cfg->reorder_gap == 0 && cfg->reorder_delay_ms == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "reorder needs gap > 0 or hold > 0 to ever release what it holds");
		return FALSE;
	}
	return TRUE;
}

char *
tr_fault_config_describe(const TrFaultConfig *c)
{
	return g_strdup_printf("drop=%g%% dup=%g%% reorder=%g%% (gap %u, hold %u ms) corrupt=%g%% "
	                       "(%u bits past byte %u) delay=%u ms jitter=%u ms",
	                       c->drop * 100, c->dup * 100, c->reorder * 100, c->reorder_gap,
	                       c->reorder_delay_ms, c->corrupt * 100, c->corrupt_bits,
	                       c->corrupt_skip, c->delay_ms, c->jitter_ms);
}

guint64
tr_fault_rand(guint64 *state)
{
	/* splitmix64: tiny, fast, and the same everywhere (unlike rand()). */
	guint64 z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in 0..n-1 (n > 0); the modulo bias is far below what tests see. */
static guint64
rand_below(TrFault *f, guint64 n)
{
	return tr_fault_rand(&f->rng) % n;
}

static gboolean
chance(TrFault *f, double p)
{
	double u = (double)(tr_fault_rand(&f->rng) >> 11) * 0x1.0p-53;
	return u < p;
}

TrFault *
tr_fault_new(const TrFaultConfig *cfg, guint64 seed)
{
	TrFault *f = g_new0(TrFault, 1);

	f->cfg = *cfg;
	if (f->cfg.corrupt_bits == 0)
		f->cfg.corrupt_bits = 1;
	if (f->cfg.corrupt_bits > MAX_CORRUPT_BITS)
		f->cfg.corrupt_bits = MAX_CORRUPT_BITS;
	if (f->cfg.max_queued == 0)
		f->cfg.max_queued = 1;
	f->rng = seed;
	f->heap = g_ptr_array_new_with_free_func(g_free);
	g_queue_init(&f->held);
	return f;
}

void
tr_fault_free(TrFault *f)
{
	if (f == NULL)
		return;
	g_ptr_array_unref(f->heap);
	g_queue_clear_full(&f->held, g_free);
	g_free(f);
}

static gboolean
before(const Entry *a, const Entry *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
heap_push(TrFault *f, Entry *e)
{
	guint i;

	e->seq = f->next_seq++;
	g_ptr_array_add(f->heap, e);
	i = f->heap->len - 1;
	while (i > 0) {
		guint parent = (i - 1) / 2;
		Entry *p = f->heap->pdata[parent];
		if (!before(e, p))
			break;
		f->heap->pdata[i] = p;
		i = parent;
	}
	f->heap->pdata[i] = e;
}

static Entry *
heap_pop(TrFault *f)
{
	Entry *top = f->heap->pdata[0];
	Entry *last = g_ptr_array_steal_index_fast(f->heap, f->heap->len - 1);
	guint n = f->heap->len, i = 0;

	if (n == 0)
		return top; /* it was the only one (and @last is @top) */
	for (;;) {
		guint l = 2 * i + 1, r = l + 1, m = i;
		Entry *best = last;
		if (l < n && before(f->heap->pdata[l], best)) {
			m = l;
			best = f->heap->pdata[l];
		}
		if (r < n && before(f->heap->pdata[r], best))
			m = r;
		if (m == i)
			break;
		f->heap->pdata[i] = f->heap->pdata[m];
		i = m;
	}
	f->heap->pdata[i] = last;
	return top;
}

static void
release(TrFault *f, GList *link, gint64 now)
{
	Entry *e = link->data;

	g_queue_delete_link(&f->held, link);
	e->due = MAX(e->due, now);
	heap_push(f, e);
}

/* Flips distinct bits past the skipped bytes (Floyd's sampling: exactly one
 * draw per bit). */
static void
corrupt(TrFault *f, guint8 *data, gsize len)
{
	guint64 picked[MAX_CORRUPT_BITS];
	guint64 n;
	guint k, got = 0;

	if (len <= f->cfg.corrupt_skip)
		return;
	data += f->cfg.corrupt_skip;
	len -= f->cfg.corrupt_skip;
	n = (guint64)len * 8;
	k = (guint)MIN((guint64)f->cfg.corrupt_bits, n);
	for (guint64 j = n - k; j < n; j++) {
		guint64 t = rand_below(f, j + 1);
		for (guint i = 0; i < got; i++) {
			if (picked[i] == t) {
				t = j;
				break;
			}
		}
		picked[got++] = t;
	}
	for (guint i = 0; i < got; i++)
		data[picked[i] / 8] ^= (guint8)(1u << (picked[i] % 8));
}

guint
tr_fault_push(TrFault *f, const guint8 *data, gsize len, gpointer tag, gint64 now)
{
	const TrFaultConfig *cfg = &f->cfg;
	gboolean drop, dup, hold, bad;
	gint64 delay = (gint64)cfg->delay_ms * 1000;
	Entry *e, *copy = NULL;
	GList *l;

	/* Every decision is drawn every time, so one fault's rate never shifts
	 * which datagrams get another. */
	f->c.seen++;
	drop = chance(f, cfg->drop);
	bad = chance(f, cfg->corrupt);
	dup = chance(f, cfg->dup);
	hold = chance(f, cfg->reorder) && (cfg->reorder_gap > 0 || cfg->reorder_delay_ms > 0);
	if (cfg->jitter_ms > 0)
		delay += (gint64)rand_below(f, (guint64)cfg->jitter_ms * 1000 + 1);
	if (drop) {
		f->c.dropped++;
		return 0;
	}
	if (tr_fault_queued(f) >= cfg->max_queued) {
		f->c.overflow++;
		return 0;
	}

	e = g_malloc(sizeof(Entry) + len);
	e->len = len;
	e->tag = tag;
	memcpy(e->data, data, len);
	if (bad) {
		corrupt(f, e->data, len);
		f->c.corrupted++;
	}
	e->due = now + delay;
	if (delay > 0)
		f->c.delayed++;
	if (dup && tr_fault_queued(f) + 1 < cfg->max_queued) {
		copy = g_malloc(sizeof(Entry) + len);
		memcpy(copy, e, sizeof(Entry) + len);
		f->c.duplicated++;
	}

	if (!hold)
		heap_push(f, e);
	if (copy)
		heap_push(f, copy);
	/* This one counts as a later datagram for everything held before it,
	 * which goes out right after it. */
	l = f->held.head;
	while (l) {
		GList *next = l->next;
		Entry *h = l->data;
		if (h->hold_left > 0 && --h->hold_left == 0)
			release(f, l, now);
		l = next;
	}
	if (hold) {
		e->hold_left = cfg->reorder_gap;
		e->hold_until = cfg->reorder_delay_ms ? now + (gint64)cfg->reorder_delay_ms * 1000
		                                      : G_MAXINT64;
		g_queue_push_tail(&f->held, e);
		f->c.reordered++;
	}
	return copy ? 2 : 1;
}

static void
release_expired(TrFault *f, gint64 now)
{
	GList *l = f->held.head;

	while (l) {
		GList *next = l->next;
		Entry *h = l->data;
		if (h->hold_until <= now)
			release(f, l, h->hold_until);
		l = next;
	}
}

gboolean
tr_fault_pop(TrFault *f, gint64 now, guint8 *buf, gsize size, gsize *len, gpointer *tag)
{
	Entry *e;

	release_expired(f, now);
	if (f->heap->len == 0 || ((Entry *)f->heap->pdata[0])->due > now)
		return FALSE;
	e = heap_pop(f);
	*len = MIN(e->len, size);
	memcpy(buf, e->data, *len);
	if (tag)
		*tag = e->tag;
	f->c.released++;
	g_free(e);
	return TRUE;
}

gint64
tr_fault_next_due(TrFault *f)
{
	gint64 due = f->heap->len ? ((Entry *)f->heap->pdata[0])->due : G_MAXINT64;

	for (GList *l = f->held.head; l; l = l->next) {
		Entry *h = l->data;
		due = MIN(due, MAX(h->hold_until, h->due));
	}
	return due;
}

guint
tr_fault_queued(TrFault *f)
{
	return f->heap->len + f->held.length;
}

const TrFaultCounters *
tr_fault_counters(TrFault *f)
{
	return &f->c;
}
