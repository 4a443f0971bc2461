/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Path selection for one pair session (docs/PROTOCOL.md, "Punching and path
 * choice"; docs/MESH.md): which way the pair's sealed datagrams go, direct to
 * one of the peer's candidates, relayed by the hub over UDP, or relayed over
 * the TLS stream. Pure logic with the clock injected, like common/pmtu.c: the
 * caller sends the probes it is asked for (data-channel PINGs sealed under
 * the pair's keys, carrying the probe id), reports what answered, and calls
 * tr_path_tick() by tr_path_next_wakeup().
 *
 * - A punch burst (tr_path_start(), new candidates, and every
 *   TR_PATH_RETRY_USEC while relayed) probes every candidate not yet known to
 *   work, each every TR_PATH_PROBE_INTERVAL_USEC, and the other working ones
 *   every TR_PATH_REMEASURE_USEC (their RTT), never more than one probe per
 *   TR_PATH_PROBE_GAP_USEC on average, for TR_PATH_BURST_USEC.
 * - A candidate works once a probe to it is answered (authenticated PONG with
 *   its id). The first one that works is taken at once; a LAN (host)
 *   candidate replaces a public one at once; otherwise a candidate must beat
 *   the current RTT by a fifth and 1 ms, and TR_PATH_DWELL_USEC must have
 *   passed since the last switch (hysteresis).
 * - An authenticated datagram from an endpoint no candidate names is added as
 *   a peer-reflexive candidate and probed at once (the far side of a NAT
 *   that maps per destination).
 * - The direct path gets a probe when it has been idle for
 *   TR_PATH_KEEPALIVE_USEC (NAT mappings stay open), and when we sent on it
 *   but heard nothing for TR_PATH_SUSPECT_USEC; a probe unanswered for
 *   TR_PATH_FALLBACK_USEC takes the path down and the pair falls back to the
 *   relay (or another working candidate) at once.
 */
#include "common/base/candidate.h"

#include <glib.h>

#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

#define TR_PATH_MS                  (G_GINT64_CONSTANT(1000))
#define TR_PATH_PROBE_INTERVAL_USEC (250 * TR_PATH_MS)
#define TR_PATH_PROBE_GAP_USEC      (50 * TR_PATH_MS) /* at most 20 probes a second */
#define TR_PATH_BURST_USEC          (10 * G_USEC_PER_SEC)
#define TR_PATH_RETRY_USEC          (30 * G_USEC_PER_SEC)
#define TR_PATH_KEEPALIVE_USEC      (20 * G_USEC_PER_SEC)
#define TR_PATH_SUSPECT_USEC        (1500 * TR_PATH_MS)
#define TR_PATH_FALLBACK_USEC       (3 * G_USEC_PER_SEC)
#define TR_PATH_RECHECK_USEC        (500 * TR_PATH_MS) /* probes of a suspect path */
#define TR_PATH_REMEASURE_USEC      (G_USEC_PER_SEC)   /* working ones, in a burst */
#define TR_PATH_DWELL_USEC          (10 * G_USEC_PER_SEC)
#define TR_PATH_MAX                 (TR_CANDIDATE_MAX + 4u) /* + peer-reflexive ones */
#define TR_PATH_INFLIGHT            32u

typedef enum {
	TR_PAIR_PATH_NONE,    /* no pair path: traffic stays on the hub session */
	TR_PAIR_PATH_DIRECT,  /* UDP straight to the peer's endpoint */
	TR_PAIR_PATH_RELAYED, /* UDP relay frames through the hub */
	TR_PAIR_PATH_TCP,     /* relay frames over the TLS stream to the hub */
} TrPairPathKind;

typedef struct {
	TrCandidate cand;
	bool works;        /* a probe to it was answered and it has not failed since */
	bool triggered;    /* probe at the next tick (heard from it first) */
	gint64 last_rx;    /* last authenticated datagram from it (0: never) */
	gint64 last_probe; /* last probe sent to it */
	gint64 unanswered; /* first probe sent since it last answered (0: none) */
	gint64 srtt;       /* smoothed RTT in microseconds (0: unknown) */
} TrPairPathCandidate;

typedef struct {
	unsigned cand; /* index in TrPairPath.c */
	uint32_t id;   /* goes into the PING; the PONG echoes it */
} TrPairPathProbe;

typedef struct {
	TrPairPathCandidate c[TR_PATH_MAX];
	unsigned n;
	TrPairPathKind kind;
	int current; /* the candidate in use when kind is DIRECT, else -1 */
	bool up;     /* tr_path_start() was called */
	bool direct_allowed, relay_allowed, relay_udp;
	/* The tunable times (tr_path_init() sets the TR_PATH_ defaults; the caller may
	 * change them before tr_path_start(): --punch-interval, --punch-retry,
	 * --pair-keepalive). */
	gint64 probe_interval, retry, keepalive;
	gint64 burst_until, next_burst;
	gint64 last_switch, last_tx, last_probe_any;
	uint32_t next_id;
	struct {
		uint32_t id;
		unsigned cand;
		gint64 sent;
	} inflight[TR_PATH_INFLIGHT];
	unsigned inflight_next;
	const char *reason; /* why the last change happened (static text) */
} TrPairPath;

/*
 * Nothing known yet: kind NONE until tr_path_start(). @direct_allowed FALSE
 * (--no-direct) never probes; @relay_allowed FALSE (the hub relays nothing)
 * leaves NONE when no direct path works.
 */
void tr_path_init(TrPairPath *p, bool direct_allowed, bool relay_allowed);

/* The pair session is up: take the relay at once and start a punch burst. */
void tr_path_start(TrPairPath *p, gint64 now);

/* The peer's candidates (new or changed): what is known about endpoints that
 * stay is kept; a burst starts at once. */
void tr_path_set_candidates(TrPairPath *p, const TrCandidateList *list, gint64 now);

/* Whether the relay reaches the hub over UDP (else over TLS). */
void tr_path_set_relay_udp(TrPairPath *p, bool udp, gint64 now);

/*
 * Advances the timers. Writes the probes to send now (at most @max) and
 * returns how many; *@changed is set when tr_path_kind() or the endpoint
 * changed (tr_path_reason() says why).
 */
unsigned tr_path_tick(TrPairPath *p, gint64 now, TrPairPathProbe *probes, unsigned max,
                      bool *changed);

/* A PONG with @id arrived from @from. Returns whether the path changed. */
bool tr_path_answered(TrPairPath *p, const TrCandidate *from, uint32_t id, gint64 now);

/* Any other authenticated datagram of the pair arrived straight from @from.
 * Returns whether the path changed (it never does; a new endpoint is probed). */
bool tr_path_heard(TrPairPath *p, const TrCandidate *from, gint64 now);

/* A datagram was sent on the direct path (the caller says so once a batch). */
void tr_path_sent(TrPairPath *p, gint64 now);

/* When tr_path_tick() has something to do next. */
gint64 tr_path_next_wakeup(const TrPairPath *p, gint64 now);

TrPairPathKind tr_path_kind(const TrPairPath *p);
/* The direct endpoint (NULL unless DIRECT). */
const TrPairPathCandidate *tr_path_current(const TrPairPath *p);
const char *tr_path_reason(const TrPairPath *p);
/* "none", "direct", "relayed", "tcp" */
const char *tr_path_kind_name(TrPairPathKind kind);

G_END_DECLS
