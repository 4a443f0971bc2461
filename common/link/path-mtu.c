/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Path MTU discovery toward a link's endpoint (common/datapath/pmtu.c is the
 * search): PROBEs of growing sizes through the data plane, their
 * acknowledgements read back from it, and the tunnel MTU that fits the path
 * set on the session, so larger packets get "packet too big" instead of
 * being lost.
 */
#include "common/link/private.h"

#include "common/base/addr.h"

/* IP and UDP headers toward the endpoint: IPv4 (also as a v4-mapped IPv6 address) or IPv6. */
static unsigned
endpoint_ip_overhead(const TrLink *link)
{
	return tr_sockaddr_is_ipv6((const struct sockaddr *)&link->endpoint) ? 40 + 8 : 20 + 8;
}

/* What a tunnel packet gains on the way out, besides the IP and UDP headers. */
static unsigned
tunnel_overhead(const TrLink *link)
{
	const TrDpConfig *cfg = tr_dataplane_config(link->dp);

	return TR_DC_HEADER_LEN + (unsigned)tr_cipher_tag_len(tr_dc_get_config(link->dc)->cipher) +
	       (cfg->frame == TR_FRAME_ETHERNET ? 14u : 0u);
}

/* (Re)starts the search for the endpoint's family: from its minimum to a full tunnel packet. */
static void
pmtu_start(TrLink *link)
{
	unsigned ip = endpoint_ip_overhead(link);
	unsigned ceiling = tr_dataplane_config(link->dp)->mtu + tunnel_overhead(link) + ip;
	unsigned floor = ip == 48 ? 1280 : 576;

	if (!link->pmtu_on)
		tr_pmtu_init(&link->pmtu, floor, ceiling, g_get_monotonic_time());
	else
		tr_pmtu_set_range(&link->pmtu, floor, ceiling, g_get_monotonic_time());
	link->pmtu_on = TRUE;
	link->pmtu_ip = ip;
}

static void
pmtu_apply(TrLink *link)
{
	unsigned pmtu = tr_pmtu_get(&link->pmtu);
	unsigned dev = tr_dataplane_config(link->dp)->mtu;
	unsigned over = link->pmtu_ip + tunnel_overhead(link);
	unsigned mtu = pmtu > over ? MIN(pmtu - over, dev) : dev;

	if (mtu == link->mtu)
		return;
	if (mtu < dev)
		g_message("%s: path MTU %u: packets to it are sized to a tunnel MTU of %u (the "
		          "device's is %u)",
		          tr_link_peer(link), pmtu, mtu, dev);
	else if (link->mtu)
		g_message("%s: path MTU %u: the device's tunnel MTU of %u fits again",
		          tr_link_peer(link), pmtu, dev);
	link->mtu = mtu;
	tr_dp_session_set_mtu(link->dp_session, mtu < dev ? mtu : 0);
}

#define PMTU_POLL_MS 10

static gboolean
on_pmtu_timer(gpointer p)
{
	TrLink *link = p;

	link->pmtu_timer = 0;
	if (!link->closing && link->dp_session)
		link_pmtu_tick(link, g_get_monotonic_time());
	return G_SOURCE_REMOVE;
}

void
link_pmtu_tick(TrLink *link, gint64 now)
{
	unsigned sizes[TR_PMTU_PROBES], round = 0, n;
	bool changed;

	if (!link->pmtu_on) {
		link_sync_endpoint(link);
		if (link->endpoint_len == 0)
			return;
		pmtu_start(link);
	} else if (endpoint_ip_overhead(link) != link->pmtu_ip) {
		pmtu_start(link); /* the endpoint moved to the other address family */
	}
	if (link->pmtu.round_active) {
		unsigned len = tr_dp_session_probe_ack(link->dp_session, link->pmtu.round);
		if (len)
			tr_pmtu_acked(&link->pmtu, link->pmtu.round, len + link->pmtu_ip, now);
	}
	n = tr_pmtu_tick(&link->pmtu, now, &round, sizes, &changed);
	for (unsigned i = 0; i < n; i++)
		(void)tr_dp_session_send_probe(link->dp, link->dp_session, round,
		                               sizes[i] - link->pmtu_ip);
	if (changed)
		pmtu_apply(link);
	/* Until the path is known, packets larger than it are lost: a search runs at round-trip
	 * pace. */
	if (link->pmtu.round_active && link->pmtu_timer == 0)
		link->pmtu_timer = g_timeout_add(PMTU_POLL_MS, on_pmtu_timer, link);
}

void
link_pmtu_path_changed(TrLink *link)
{
	if (link->pmtu_on)
		tr_pmtu_restart(&link->pmtu, g_get_monotonic_time());
}

void
link_pmtu_too_big(TrLink *link)
{
	if (link->pmtu_on && link->pmtu.state != TR_PMTU_SEARCHING) {
		tr_pmtu_restart(&link->pmtu, g_get_monotonic_time());
		link_pmtu_tick(link, g_get_monotonic_time());
	}
}
