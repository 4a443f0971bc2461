/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/datapath/pmtu.h"

/* A round ends no sooner than this after the first answer (jitter among the answers). */
#define ROUND_MARGIN_USEC 20000

static void
reset_range(TrPmtu *p, gint64 now)
{
	p->lo = 0;
	p->hi = p->ceiling + 1;
	p->round_active = false;
	p->silent = 0;
	p->state = TR_PMTU_SEARCHING;
	p->next_search = now;
}

void
tr_pmtu_init(TrPmtu *p, unsigned floor, unsigned ceiling, gint64 now)
{
	*p = (TrPmtu){0};
	tr_pmtu_set_range(p, floor, ceiling, now);
}

void
tr_pmtu_set_range(TrPmtu *p, unsigned floor, unsigned ceiling, gint64 now)
{
	p->floor = MIN(floor, ceiling);
	p->ceiling = ceiling;
	if (p->pmtu > ceiling)
		p->pmtu = ceiling;
	reset_range(p, now);
}

void
tr_pmtu_restart(TrPmtu *p, gint64 now)
{
	if (p->state != TR_PMTU_SEARCHING)
		reset_range(p, now);
}

/*
 * The first round of a search, with nothing known: the ceiling, which most
 * paths carry (the search ends there), and the floor, whose answer ends the
 * round within a round trip when the ceiling is lost. Later rounds: up to
 * TR_PMTU_PROBES sizes spread evenly over what is still in doubt, the
 * largest included.
 */
static void
plan_round(TrPmtu *p)
{
	unsigned a = p->lo ? p->lo + 1 : p->floor, b = p->hi - 1;
	unsigned n = MIN(TR_PMTU_PROBES, b - a + 1);

	if (p->lo == 0 && p->hi == p->ceiling + 1 && b > a) {
		p->n_sizes = 2;
		p->sizes[0] = a;
		p->sizes[1] = b;
		return;
	}
	p->n_sizes = n;
	if (n == 1) {
		p->sizes[0] = b;
		return;
	}
	for (unsigned i = 0; i < n; i++)
		p->sizes[i] = a + (unsigned)((guint64)(b - a) * i / (n - 1));
}

static bool
finish_round(TrPmtu *p, gint64 now)
{
	unsigned old = p->pmtu;

	p->round_active = false;
	if (p->best) {
		p->silent = 0;
		p->lo = MAX(p->lo, p->best);
		/* The smallest size above the best that did not pass bounds the range. */
		for (unsigned i = 0; i < p->n_sizes; i++) {
			if (p->sizes[i] > p->best && p->sizes[i] < p->hi)
				p->hi = p->sizes[i];
		}
	} else if (p->lo == 0) {
		/* Nothing ever answered: lost, or a peer that does not answer probes. */
		if (++p->silent >= TR_PMTU_TRIES) {
			p->state = TR_PMTU_NO_ANSWER;
			p->next_search = now + TR_PMTU_RETRY_USEC;
			return false;
		}
		p->next_search = now;
		return false;
	} else {
		/* Every size between what passed and what did not was too big. */
		p->hi = p->sizes[0];
	}
	if (p->hi - p->lo > 1) {
		p->next_search = now;
		return false;
	}
	p->pmtu = p->lo;
	p->state = TR_PMTU_DONE;
	p->next_search = now + TR_PMTU_RESEARCH_USEC;
	return p->pmtu != old;
}

unsigned
tr_pmtu_tick(TrPmtu *p, gint64 now, unsigned *round, unsigned *sizes, bool *changed)
{
	*changed = false;
	if (p->round_active) {
		gint64 end = p->started + TR_PMTU_ROUND_USEC;

		if (p->first_ack)
			end = MIN(end,
			          p->first_ack + MAX(p->first_ack - p->started, ROUND_MARGIN_USEC));
		/* The largest size passed: nothing left to learn from this round. */
		if (p->best == p->sizes[p->n_sizes - 1])
			end = now;
		if (now < end)
			return 0;
		*changed = finish_round(p, now);
	}
	if (now < p->next_search)
		return 0;
	if (p->state != TR_PMTU_SEARCHING)
		reset_range(p, now);
	plan_round(p);
	p->round_active = true;
	p->round++;
	if (p->round == 0)
		p->round = 1; /* 0 never names a round */
	p->best = 0;
	p->started = now;
	p->first_ack = 0;
	*round = p->round;
	for (unsigned i = 0; i < p->n_sizes; i++)
		sizes[i] = p->sizes[i];
	return p->n_sizes;
}

void
tr_pmtu_acked(TrPmtu *p, unsigned round, unsigned size, gint64 now)
{
	if (!p->round_active || round != p->round || size == 0 || size > p->ceiling)
		return;
	if (p->first_ack == 0)
		p->first_ack = now;
	p->best = MAX(p->best, size);
}

unsigned
tr_pmtu_get(const TrPmtu *p)
{
	return p->pmtu;
}

const char *
tr_pmtu_state_name(TrPmtuState state)
{
	switch (state) {
	case TR_PMTU_SEARCHING:
		return "searching";
	case TR_PMTU_DONE:
		return "done";
	case TR_PMTU_NO_ANSWER:
		return "no answer";
	}
	return "?";
}
