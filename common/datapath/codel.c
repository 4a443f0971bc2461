/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * RFC 8289's dequeue side, as its pseudocode (section 5) and Linux's
 * include/net/codel_impl.h have it, with floating-point sqrt left out: the
 * control law's interval / sqrt(count) is computed by integer square root.
 */
#include "common/datapath/codel.h"

#include <string.h>

void
tr_codel_init(TrCodel *c, int64_t target_us, int64_t interval_us)
{
	memset(c, 0, sizeof(*c));
	c->target = target_us > 0 ? target_us : 0;
	c->interval = interval_us > 0 ? interval_us : 1;
}

static uint32_t
isqrt(uint32_t n)
{
	uint32_t r = 0, bit = 1u << 30;

	while (bit > n)
		bit >>= 2;
	while (bit) {
		if (n >= r + bit) {
			n -= r + bit;
			r = (r >> 1) + bit;
		} else
			r >>= 1;
		bit >>= 2;
	}
	return r;
}

/* The time of the next signal: @t + interval / sqrt(count). */
static int64_t
control_law(const TrCodel *c, int64_t t)
{
	uint32_t s = isqrt(c->count ? c->count : 1);

	return t + c->interval / (s ? s : 1);
}

/* RFC 8289 dodequeue(): whether the wait has been above target for an interval. */
static bool
above_for_interval(TrCodel *c, int64_t sojourn, int64_t now)
{
	if (sojourn < c->target) {
		c->first_above = 0;
		return false;
	}
	if (c->first_above == 0) {
		c->first_above = now + c->interval;
		return false;
	}
	return now >= c->first_above;
}

bool
tr_codel_signal(TrCodel *c, int64_t sojourn, int64_t now)
{
	bool above;

	if (c->target == 0)
		return false;
	above = above_for_interval(c, sojourn, now);
	if (c->dropping) {
		if (!above) {
			c->dropping = false;
			return false;
		}
		if (now >= c->drop_next) {
			c->count++;
			c->drop_next = control_law(c, c->drop_next);
			return true;
		}
		return false;
	}
	if (!above)
		return false;
	/* Enter the dropping state; if it ended recently, resume near the old rate. */
	c->dropping = true;
	if (c->count - c->last_count > 1 && now - c->drop_next < 16 * c->interval)
		c->count -= c->last_count;
	else
		c->count = 1;
	c->last_count = c->count;
	c->drop_next = control_law(c, now);
	return true;
}
