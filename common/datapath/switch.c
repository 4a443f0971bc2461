/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/switch.h"

#include <glib.h>
#include <stdatomic.h>
#include <string.h>

/*
 * A slot: key 0 = never used (ends a probe chain); otherwise bit 63 set,
 * the VID in bits 48..59 and the MAC in bits 0..47. Value: the peer in the
 * high 32 bits, the second it was last seen in the low 32.
 */
typedef struct {
	_Atomic uint32_t seq;
	_Atomic uint64_t key;
	_Atomic uint64_t val;
} Slot;

struct TrSwitch {
	atomic_int refs;
	uint32_t mask;
	uint32_t timeout;
	uint64_t seed;
	_Atomic uint64_t learned, moves, refused, busy;
	Slot slots[];
};

#define KEY_USED (UINT64_C(1) << 63)

static uint64_t
make_key(uint16_t vid, const uint8_t mac[6])
{
	uint64_t k = KEY_USED | (uint64_t)(vid & 0x0fffu) << 48;

	for (int i = 0; i < 6; i++)
		k |= (uint64_t)mac[i] << (40 - 8 * i);
	return k;
}

static uint32_t
hash_key(const TrSwitch *sw, uint64_t k)
{
	/* splitmix64's finaliser over a per-table random seed: MACs cannot be picked to collide. */
	k ^= sw->seed;
	k = (k ^ (k >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	k = (k ^ (k >> 27)) * UINT64_C(0x94d049bb133111eb);
	k ^= k >> 31;
	return (uint32_t)k & sw->mask;
}

static uint32_t
seconds(int64_t now)
{
	return (uint32_t)(now / G_USEC_PER_SEC);
}

static uint32_t
val_peer(uint64_t v)
{
	return (uint32_t)(v >> 32);
}

/* Live: not dead and refreshed less than timeout seconds ago (signed: threads' clocks differ). */
static bool
val_live(const TrSwitch *sw, uint64_t v, uint32_t now_s)
{
	return val_peer(v) != TR_PEER_NONE && (int32_t)(now_s - (uint32_t)v) < (int32_t)sw->timeout;
}

/* A consistent copy of a slot, or false while a writer holds it. */
static bool
slot_read(Slot *s, uint32_t *seq, uint64_t *key, uint64_t *val)
{
	uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);

	if (s1 & 1)
		return false;
	*key = atomic_load_explicit(&s->key, memory_order_relaxed);
	*val = atomic_load_explicit(&s->val, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	*seq = s1;
	return atomic_load_explicit(&s->seq, memory_order_relaxed) == s1;
}

/* Writes a slot if it is still at @seq (unchanged since read); false when another writer won. */
static bool
slot_write(Slot *s, uint32_t seq, uint64_t key, uint64_t val)
{
	uint32_t expect = seq;

	if (!atomic_compare_exchange_strong_explicit(&s->seq, &expect, seq + 1,
	                                             memory_order_relaxed, memory_order_relaxed))
		return false;
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->key, key, memory_order_relaxed);
	atomic_store_explicit(&s->val, val, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
	return true;
}

TrSwitch *
tr_switch_new(unsigned capacity, unsigned dst_timeout)
{
	TrSwitch *sw;
	unsigned cap = TR_SWITCH_PROBE_MAX;

	if (capacity == 0)
		capacity = TR_SWITCH_CAPACITY_DEFAULT;
	if (capacity > TR_SWITCH_CAPACITY_MAX)
		capacity = TR_SWITCH_CAPACITY_MAX;
	while (cap < capacity)
		cap <<= 1;
	if (dst_timeout == 0)
		dst_timeout = TR_SWITCH_DST_TIMEOUT_DEFAULT;
	if (dst_timeout > G_MAXINT32)
		dst_timeout = G_MAXINT32;

	sw = g_malloc0(sizeof(*sw) + (size_t)cap * sizeof(Slot));
	atomic_init(&sw->refs, 1);
	sw->mask = cap - 1;
	sw->timeout = dst_timeout;
	sw->seed = (uint64_t)g_random_int() << 32 | g_random_int();
	return sw;
}

TrSwitch *
tr_switch_ref(TrSwitch *sw)
{
	atomic_fetch_add_explicit(&sw->refs, 1, memory_order_relaxed);
	return sw;
}

void
tr_switch_unref(TrSwitch *sw)
{
	if (sw && atomic_fetch_sub_explicit(&sw->refs, 1, memory_order_acq_rel) == 1)
		g_free(sw);
}

unsigned
tr_switch_capacity(const TrSwitch *sw)
{
	return sw->mask + 1;
}

bool
tr_switch_lookup(const TrSwitch *csw, uint16_t vid, const uint8_t mac[6], int64_t now,
                 uint32_t *peer)
{
	/* Atomic loads need non-const objects; nothing is written here. */
	TrSwitch *sw = (TrSwitch *)csw;
	uint64_t k = make_key(vid, mac);
	uint32_t i = hash_key(sw, k);

	for (unsigned n = 0; n < TR_SWITCH_PROBE_MAX; n++, i = (i + 1) & sw->mask) {
		uint32_t seq;
		uint64_t key, val;

		if (!slot_read(&sw->slots[i], &seq, &key, &val))
			continue;
		if (key == 0)
			return false;
		if (key != k)
			continue;
		/* The first copy in probe order is the one learns keep current. */
		if (!val_live(sw, val, seconds(now)))
			return false;
		*peer = val_peer(val);
		return true;
	}
	return false;
}

TrSwitchLearn
tr_switch_learn(TrSwitch *sw, uint16_t vid, const uint8_t mac[6], uint32_t peer, int64_t now)
{
	uint64_t k = make_key(vid, mac);
	uint32_t now_s = seconds(now);
	uint64_t nval = (uint64_t)peer << 32 | now_s;
	uint32_t i = hash_key(sw, k);
	uint32_t free_i = 0, free_seq = 0;
	bool have_free = false;

	if ((mac[0] & 1) || peer == TR_PEER_NONE)
		return TR_SWITCH_LEARN_INVALID;

	for (unsigned n = 0; n < TR_SWITCH_PROBE_MAX; n++, i = (i + 1) & sw->mask) {
		uint32_t seq;
		uint64_t key, val;

		if (!slot_read(&sw->slots[i], &seq, &key, &val))
			continue;
		if (key == k) {
			TrSwitchLearn res;

			if (!val_live(sw, val, now_s))
				res = TR_SWITCH_LEARN_NEW;
			else if (val_peer(val) != peer)
				res = TR_SWITCH_LEARN_MOVED;
			else if ((uint32_t)val == now_s)
				return TR_SWITCH_LEARN_UNCHANGED;
			else
				res = TR_SWITCH_LEARN_REFRESHED;
			if (!slot_write(&sw->slots[i], seq, k, nval)) {
				atomic_fetch_add_explicit(&sw->busy, 1, memory_order_relaxed);
				return TR_SWITCH_LEARN_BUSY;
			}
			if (res == TR_SWITCH_LEARN_MOVED)
				atomic_fetch_add_explicit(&sw->moves, 1, memory_order_relaxed);
			else if (res == TR_SWITCH_LEARN_NEW)
				atomic_fetch_add_explicit(&sw->learned, 1, memory_order_relaxed);
			return res;
		}
		if (!have_free && (key == 0 || !val_live(sw, val, now_s))) {
			have_free = true;
			free_i = i;
			free_seq = seq;
		}
		if (key == 0)
			break; /* the end of the chain: the address is not further on */
	}
	if (!have_free) {
		atomic_fetch_add_explicit(&sw->refused, 1, memory_order_relaxed);
		return TR_SWITCH_LEARN_REFUSED;
	}
	if (!slot_write(&sw->slots[free_i], free_seq, k, nval)) {
		atomic_fetch_add_explicit(&sw->busy, 1, memory_order_relaxed);
		return TR_SWITCH_LEARN_BUSY;
	}
	atomic_fetch_add_explicit(&sw->learned, 1, memory_order_relaxed);
	return TR_SWITCH_LEARN_NEW;
}

unsigned
tr_switch_forget_peer(TrSwitch *sw, uint32_t peer)
{
	unsigned n = 0;

	for (uint32_t i = 0; i <= sw->mask; i++) {
		uint32_t seq;
		uint64_t key, val;

		/* A data-path writer holds a slot for a few stores only: retry until stable. */
		for (;;) {
			if (!slot_read(&sw->slots[i], &seq, &key, &val))
				continue;
			if (key == 0 || val_peer(val) != peer)
				break;
			if (slot_write(&sw->slots[i], seq, key,
			               (uint64_t)TR_PEER_NONE << 32 | (uint32_t)val)) {
				n++;
				break;
			}
		}
	}
	return n;
}

unsigned
tr_switch_count(const TrSwitch *csw, int64_t now)
{
	TrSwitch *sw = (TrSwitch *)csw;
	unsigned n = 0;

	for (uint32_t i = 0; i <= sw->mask; i++) {
		uint32_t seq;
		uint64_t key, val;

		if (slot_read(&sw->slots[i], &seq, &key, &val) && key != 0 &&
		    val_live(sw, val, seconds(now)))
			n++;
	}
	return n;
}

void
tr_switch_get_stats(const TrSwitch *csw, TrSwitchStats *out)
{
	TrSwitch *sw = (TrSwitch *)csw;

	out->learned = atomic_load_explicit(&sw->learned, memory_order_relaxed);
	out->moves = atomic_load_explicit(&sw->moves, memory_order_relaxed);
	out->refused = atomic_load_explicit(&sw->refused, memory_order_relaxed);
	out->busy = atomic_load_explicit(&sw->busy, memory_order_relaxed);
}
