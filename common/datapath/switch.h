/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The switch table: which peer a MAC address lives behind, per VLAN, learnt
 * from the source addresses of frames (switch mode, tap devices).
 *
 * Unlike the routing table this one changes on the data path, so it is not
 * an immutable snapshot: it is one fixed-size open-addressing hash table that
 * every data-path thread reads and learns into without locks. Each slot is
 * guarded by its own sequence counter (a per-slot seqlock built only from
 * atomics):
 *   - a reader loads the counter, the key and the value, and the counter
 *     again; an odd or changed counter is a miss (the frame is flooded once);
 *   - a writer takes a slot by moving its counter from even to odd with one
 *     compare-and-swap; when that fails another thread is writing that slot
 *     and this learn is skipped (the next frame from that MAC learns again).
 * Nobody ever waits for anybody. Keys are never removed, only expired or
 * marked dead, so probe chains stay intact; an expired or dead slot is
 * reused by the next learn that probes through it. Two threads learning the
 * same new MAC at the same instant may store it twice; lookups and learns
 * both stop at the first copy in probe order, so the other one just ages out.
 *
 * Bound: the capacity is fixed at creation (a power of two, at most
 * TR_SWITCH_CAPACITY_MAX); a learn probes at most TR_SWITCH_PROBE_MAX slots
 * from the address's hash. When none of them is free, expired or dead the
 * learn is refused (counted in `refused`): established entries are never
 * evicted by a flood of new addresses, and frames to the refused address
 * are flooded, which is still correct.
 *
 * Times are monotonic microseconds, passed in; entries are kept with second
 * resolution and expire when they were not refreshed for dst_timeout
 * seconds. Memory: 24 bytes per slot (4096 slots: 96 KiB).
 */
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TR_SWITCH_CAPACITY_DEFAULT    4096u
#define TR_SWITCH_CAPACITY_MAX        (1u << 20)
#define TR_SWITCH_PROBE_MAX           16u
#define TR_SWITCH_DST_TIMEOUT_DEFAULT 300u /* seconds, --dst-timeout */
/* Not a peer: marks a dead entry. Peer 0 is the local device. */
#define TR_PEER_NONE UINT32_MAX

typedef struct TrSwitch TrSwitch;

typedef enum {
	TR_SWITCH_LEARN_NEW,       /* a new (or expired) address */
	TR_SWITCH_LEARN_REFRESHED, /* known behind this peer; its time was renewed */
	TR_SWITCH_LEARN_UNCHANGED, /* known behind this peer, seen this second: nothing written */
	TR_SWITCH_LEARN_MOVED,     /* was behind another peer: moved (counted) */
	TR_SWITCH_LEARN_REFUSED,   /* no free slot in the probe window (counted) */
	TR_SWITCH_LEARN_BUSY,      /* another thread was writing the slot: skipped */
	TR_SWITCH_LEARN_INVALID,   /* multicast source or TR_PEER_NONE: not learnt */
} TrSwitchLearn;

/* Counters, updated with relaxed atomics on learn events only (never per lookup). */
typedef struct {
	uint64_t learned;
	uint64_t moves;
	uint64_t refused;
	uint64_t busy;
} TrSwitchStats;

/*
 * Creates a table of @capacity slots (rounded up to a power of two, at least
 * TR_SWITCH_PROBE_MAX, at most TR_SWITCH_CAPACITY_MAX; 0 means the default)
 * forgetting entries after @dst_timeout seconds (0 means the default).
 * Returns a reference; the table is freed with the last tr_switch_unref().
 */
TrSwitch *tr_switch_new(unsigned capacity, unsigned dst_timeout);
TrSwitch *tr_switch_ref(TrSwitch *sw);
void tr_switch_unref(TrSwitch *sw);

unsigned tr_switch_capacity(const TrSwitch *sw);

/* Learns that (@vid, @mac) lives behind @peer at time @now. Lock-free; never allocates. */
TrSwitchLearn tr_switch_learn(TrSwitch *sw, uint16_t vid, const uint8_t mac[6], uint32_t peer,
                              int64_t now);

/* The peer (@vid, @mac) lives behind, if learnt and not expired at @now. Lock-free. */
bool tr_switch_lookup(const TrSwitch *sw, uint16_t vid, const uint8_t mac[6], int64_t now,
                      uint32_t *peer);

/* Control plane: forgets every entry behind @peer (it disconnected). Returns how many. */
unsigned tr_switch_forget_peer(TrSwitch *sw, uint32_t peer);

/* Live (unexpired) entries at @now; walks the whole table (status, tests). */
unsigned tr_switch_count(const TrSwitch *sw, int64_t now);

void tr_switch_get_stats(const TrSwitch *sw, TrSwitchStats *out);

#ifdef __cplusplus
}
#endif
