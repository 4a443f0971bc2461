/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/mesh/path.h"

#include <string.h>

/* A working path that stays quiet this long (not the one in use) is stale. */
#define STALE_USEC(p) ((p)->keepalive + TR_PATH_FALLBACK_USEC)

void
tr_path_init(TrPairPath *p, bool direct_allowed, bool relay_allowed)
{
	memset(p, 0, sizeof(*p));
	p->kind = TR_PAIR_PATH_NONE;
	p->current = -1;
	p->direct_allowed = direct_allowed;
	p->relay_allowed = relay_allowed;
	p->relay_udp = true;
	p->next_id = 1;
	p->probe_interval = TR_PATH_PROBE_INTERVAL_USEC;
	p->retry = TR_PATH_RETRY_USEC;
	p->keepalive = TR_PATH_KEEPALIVE_USEC;
	p->reason = "no pair session yet";
}

static TrPairPathKind
relay_kind(const TrPairPath *p)
{
	if (!p->relay_allowed)
		return TR_PAIR_PATH_NONE;
	return p->relay_udp ? TR_PAIR_PATH_RELAYED : TR_PAIR_PATH_TCP;
}

static bool
started(const TrPairPath *p)
{
	return p->up;
}

static void
set_path(TrPairPath *p, TrPairPathKind kind, int current, gint64 now, const char *reason,
         bool *changed)
{
	if (kind == p->kind && current == p->current)
		return;
	p->kind = kind;
	p->current = current;
	p->last_switch = now;
	p->reason = reason;
	*changed = true;
}

static void
begin_burst(TrPairPath *p, gint64 now)
{
	if (!p->direct_allowed || p->n == 0 || !started(p))
		return;
	p->burst_until = now + TR_PATH_BURST_USEC;
	p->next_burst = 0;
}

/* Host candidates are on a LAN the two share: they win over any public path. */
static unsigned
path_class(const TrPairPathCandidate *c)
{
	return c->cand.kind == TR_CANDIDATE_HOST ? 0 : 1;
}

static int
best_working(const TrPairPath *p)
{
	int best = -1;

	for (unsigned i = 0; i < p->n; i++) {
		const TrPairPathCandidate *c = &p->c[i];

		if (!c->works)
			continue;
		if (best < 0 || path_class(c) < path_class(&p->c[best]) ||
		    (path_class(c) == path_class(&p->c[best]) && c->srtt < p->c[best].srtt))
			best = (int)i;
	}
	return best;
}

static void
reselect(TrPairPath *p, gint64 now, bool *changed)
{
	int best, cur = p->current;

	if (!started(p))
		return;
	if (!p->direct_allowed) {
		set_path(p, relay_kind(p), -1, now, "direct paths are off (--no-direct)", changed);
		return;
	}
	best = best_working(p);
	if (cur >= 0 && p->c[cur].works) {
		const TrPairPathCandidate *b = &p->c[best], *c = &p->c[cur];

		if (best == cur)
			return;
		if (path_class(b) < path_class(c))
			set_path(p, TR_PAIR_PATH_DIRECT, best, now, "a LAN path answered", changed);
		else if (path_class(b) == path_class(c) && b->srtt * 5 < c->srtt * 4 &&
		         c->srtt - b->srtt >= TR_PATH_MS &&
		         now - p->last_switch >= TR_PATH_DWELL_USEC)
			set_path(p, TR_PAIR_PATH_DIRECT, best, now,
			         "a path with a lower RTT answered", changed);
		return;
	}
	if (best >= 0) {
		set_path(p, TR_PAIR_PATH_DIRECT, best, now,
		         cur >= 0 ? "the direct path stopped answering; another one works"
		                  : "a direct path answered",
		         changed);
		return;
	}
	if (p->kind == TR_PAIR_PATH_DIRECT) {
		set_path(p, relay_kind(p), -1, now, "the direct path stopped answering", changed);
		begin_burst(p, now); /* a NAT may have moved the mapping: look again at once */
		return;
	}
	if (p->kind != relay_kind(p))
		set_path(p, relay_kind(p), -1, now,
		         p->relay_udp ? "relayed until a direct path answers"
		                      : "relayed over TLS: UDP does not reach the hub",
		         changed);
}

void
tr_path_start(TrPairPath *p, gint64 now)
{
	bool changed = false;

	if (started(p))
		return;
	p->up = true;
	p->last_switch = now;
	p->kind = relay_kind(p);
	p->reason =
	        p->relay_allowed ? "no direct path yet" : "pair session up; the hub relays nothing";
	if (!p->direct_allowed)
		p->reason = "direct paths are off (--no-direct)";
	begin_burst(p, now);
	reselect(p, now, &changed);
}

static int
find(const TrPairPath *p, const TrCandidate *c)
{
	for (unsigned i = 0; i < p->n; i++) {
		if (tr_candidate_same_endpoint(&p->c[i].cand, c))
			return (int)i;
	}
	return -1;
}

static int
add_peer_reflexive(TrPairPath *p, const TrCandidate *from)
{
	TrPairPathCandidate *c;

	if (p->n >= TR_PATH_MAX || !tr_candidate_usable(from))
		return -1;
	c = &p->c[p->n];
	memset(c, 0, sizeof(*c));
	c->cand = *from;
	c->cand.kind = TR_CANDIDATE_PEER_REFLEXIVE;
	return (int)p->n++;
}

void
tr_path_set_candidates(TrPairPath *p, const TrCandidateList *list, gint64 now)
{
	TrPairPathCandidate old[TR_PATH_MAX];
	unsigned n_old = p->n;
	int cur = -1;
	bool changed = false;

	memcpy(old, p->c, sizeof(old));
	p->n = 0;
	for (unsigned i = 0; i < list->n && p->n < TR_PATH_MAX; i++) {
		TrPairPathCandidate *c = &p->c[p->n];

		if (!tr_candidate_usable(&list->items[i]))
			continue;
		memset(c, 0, sizeof(*c));
		for (unsigned j = 0; j < n_old; j++) {
			if (tr_candidate_same_endpoint(&old[j].cand, &list->items[i])) {
				*c = old[j];
				if (p->current == (int)j)
					cur = (int)p->n;
				break;
			}
		}
		c->cand = list->items[i];
		p->n++;
	}
	/* Endpoints learned from the peer's own datagrams stay while they work. */
	for (unsigned j = 0; j < n_old && p->n < TR_PATH_MAX; j++) {
		if (old[j].cand.kind != TR_CANDIDATE_PEER_REFLEXIVE || !old[j].works ||
		    find(p, &old[j].cand) >= 0)
			continue;
		if (p->current == (int)j)
			cur = (int)p->n;
		p->c[p->n++] = old[j];
	}
	memset(p->inflight, 0, sizeof(p->inflight)); /* indices changed */
	if (p->current >= 0 && cur < 0) {
		/* The endpoint in use is gone (the peer moved): fall back now. */
		set_path(p, relay_kind(p), -1, now, "the peer's candidates changed", &changed);
	} else {
		p->current = cur;
	}
	begin_burst(p, now);
	reselect(p, now, &changed);
}

void
tr_path_set_relay_udp(TrPairPath *p, bool udp, gint64 now)
{
	bool changed = false;

	p->relay_udp = udp;
	if (p->kind == TR_PAIR_PATH_RELAYED || p->kind == TR_PAIR_PATH_TCP)
		set_path(p, relay_kind(p), -1, now,
		         udp ? "UDP reaches the hub again" : "UDP does not reach the hub",
		         &changed);
}

/* Whether @i wants a probe now, and why (for the caller: any reason will do). */
static bool
probe_due(const TrPairPath *p, unsigned i, gint64 now)
{
	const TrPairPathCandidate *c = &p->c[i];

	if (c->triggered)
		return true;
	if ((int)i == p->current) {
		gint64 active = MAX(p->last_tx, c->last_probe);

		if (now - active >= p->keepalive)
			return true; /* keepalive: keep the NAT mappings open */
		if (now - c->last_probe < TR_PATH_RECHECK_USEC)
			return false;
		if (c->unanswered)
			return true; /* a probe went unanswered: ask again */
		return p->last_tx > c->last_rx && now - c->last_rx >= TR_PATH_SUSPECT_USEC;
	}
	if (c->works && c->unanswered && now - c->last_probe >= TR_PATH_RECHECK_USEC)
		return true;
	if (p->burst_until <= now)
		return false;
	/* In a burst: what does not work yet often, what works now and then (its RTT). */
	return now - c->last_probe >= (c->works ? TR_PATH_REMEASURE_USEC : p->probe_interval);
}

unsigned
tr_path_tick(TrPairPath *p, gint64 now, TrPairPathProbe *probes, unsigned max, bool *changed)
{
	unsigned n = 0, budget;

	*changed = false;
	if (!started(p))
		return 0;

	for (unsigned i = 0; i < p->n; i++) {
		TrPairPathCandidate *c = &p->c[i];

		if (c->works && c->unanswered && now - c->unanswered >= TR_PATH_FALLBACK_USEC)
			c->works = false; /* no answer for the fallback time */
		else if (c->works && (int)i != p->current && now - c->last_rx >= STALE_USEC(p))
			c->works = false; /* nobody kept its NAT mapping open */
	}
	if (p->burst_until && now >= p->burst_until)
		p->burst_until = 0;
	if (!p->burst_until && p->kind != TR_PAIR_PATH_DIRECT && p->direct_allowed && p->n > 0) {
		if (p->next_burst == 0)
			p->next_burst = now + p->retry;
		else if (now >= p->next_burst)
			begin_burst(p, now);
	}
	reselect(p, now, changed);

	if (!p->direct_allowed)
		return 0;
	budget = p->last_probe_any
	                 ? (unsigned)MIN((now - p->last_probe_any) / TR_PATH_PROBE_GAP_USEC, 4)
	                 : 4;
	budget = MIN(budget, max);
	/* The path in use first, then triggered ones, then the oldest probed. */
	while (n < budget) {
		int pick = -1;

		for (unsigned i = 0; i < p->n; i++) {
			if (!probe_due(p, i, now))
				continue;
			if (pick < 0 || (int)i == p->current ||
			    (pick != p->current && (p->c[i].triggered > p->c[pick].triggered ||
			                            (p->c[i].triggered == p->c[pick].triggered &&
			                             p->c[i].last_probe < p->c[pick].last_probe))))
				pick = (int)i;
		}
		if (pick < 0)
			break;
		{
			TrPairPathCandidate *c = &p->c[pick];
			unsigned slot = p->inflight_next++ % TR_PATH_INFLIGHT;

			if (p->next_id == 0)
				p->next_id = 1;
			probes[n].cand = (unsigned)pick;
			probes[n].id = p->next_id++;
			p->inflight[slot].id = probes[n].id;
			p->inflight[slot].cand = (unsigned)pick;
			p->inflight[slot].sent = now;
			c->last_probe = now;
			c->triggered = false;
			if (c->unanswered == 0)
				c->unanswered = now;
			n++;
		}
	}
	if (n > 0)
		p->last_probe_any = now;
	return n;
}

bool
tr_path_answered(TrPairPath *p, const TrCandidate *from, uint32_t id, gint64 now)
{
	bool changed = false;
	gint64 sent = 0;
	int idx;

	if (id == 0 || !started(p) || !p->direct_allowed)
		return false;
	for (unsigned i = 0; i < TR_PATH_INFLIGHT; i++) {
		if (p->inflight[i].id == id) {
			sent = p->inflight[i].sent;
			p->inflight[i].id = 0;
			break;
		}
	}
	if (sent == 0)
		return false; /* not ours, answered already, or too old */
	idx = find(p, from);
	if (idx < 0)
		idx = add_peer_reflexive(p, from);
	if (idx < 0)
		return false;
	{
		TrPairPathCandidate *c = &p->c[idx];
		gint64 rtt = MAX(now - sent, 1);

		/* Paths are compared on a few samples: follow them quickly. */
		c->srtt = c->srtt ? (c->srtt + rtt) / 2 : rtt;
		c->works = true;
		c->last_rx = now;
		c->unanswered = 0;
	}
	reselect(p, now, &changed);
	return changed;
}

bool
tr_path_heard(TrPairPath *p, const TrCandidate *from, gint64 now)
{
	int idx;

	if (!started(p) || !p->direct_allowed)
		return false;
	idx = find(p, from);
	if (idx < 0) {
		idx = add_peer_reflexive(p, from);
		if (idx >= 0)
			p->c[idx].triggered = true;
		return false;
	}
	p->c[idx].last_rx = now;
	if (p->c[idx].works)
		p->c[idx].unanswered = 0;
	else if (now - p->c[idx].last_probe >= TR_PATH_PROBE_GAP_USEC)
		p->c[idx].triggered = true; /* it reaches us: see whether we reach it */
	return false;
}

void
tr_path_sent(TrPairPath *p, gint64 now)
{
	p->last_tx = now;
}

gint64
tr_path_next_wakeup(const TrPairPath *p, gint64 now)
{
	gint64 next = G_MAXINT64;

	if (!started(p))
		return next;
	if (p->burst_until)
		next = MIN(next, p->burst_until);
	if (p->next_burst)
		next = MIN(next, p->next_burst);
	if (p->kind == TR_PAIR_PATH_DIRECT && p->last_switch + TR_PATH_DWELL_USEC > now)
		next = MIN(next,
		           p->last_switch + TR_PATH_DWELL_USEC); /* a lower RTT may win then */
	for (unsigned i = 0; i < p->n; i++) {
		const TrPairPathCandidate *c = &p->c[i];

		if (!p->direct_allowed)
			break;
		if (c->triggered || (p->burst_until && (int)i != p->current))
			next = MIN(next, MAX(c->last_probe + (c->works ? TR_PATH_REMEASURE_USEC
			                                               : p->probe_interval),
			                     p->last_probe_any + TR_PATH_PROBE_GAP_USEC));
		if (c->works && c->unanswered) {
			next = MIN(next, c->unanswered + TR_PATH_FALLBACK_USEC);
			next = MIN(next, c->last_probe + TR_PATH_RECHECK_USEC);
		}
		if ((int)i == p->current) {
			next = MIN(next, MAX(p->last_tx, c->last_probe) + p->keepalive);
			if (p->last_tx > c->last_rx)
				next = MIN(next, MAX(c->last_rx + TR_PATH_SUSPECT_USEC,
				                     c->last_probe + TR_PATH_RECHECK_USEC));
		} else if (c->works) {
			next = MIN(next, c->last_rx + STALE_USEC(p));
		}
	}
	return MAX(next, now);
}

TrPairPathKind
tr_path_kind(const TrPairPath *p)
{
	return p->kind;
}

const TrPairPathCandidate *
tr_path_current(const TrPairPath *p)
{
	return p->kind == TR_PAIR_PATH_DIRECT && p->current >= 0 ? &p->c[p->current] : NULL;
}

const char *
tr_path_reason(const TrPairPath *p)
{
	return p->reason;
}

const char *
tr_path_kind_name(TrPairPathKind kind)
{
	switch (kind) {
	case TR_PAIR_PATH_NONE:
		return "none";
	case TR_PAIR_PATH_DIRECT:
		return "direct";
	case TR_PAIR_PATH_RELAYED:
		return "relayed";
	case TR_PAIR_PATH_TCP:
		return "tcp";
	}
	return "unknown";
}
