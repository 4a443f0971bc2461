/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Path selection for a pair session against simulated networks: each of the
 * peer's candidates answers probes (after its RTT) or not, and the test
 * drives the selector by its own wakeups, as the client will, with the clock
 * injected. Checked: first answer wins, LAN beats public, RTT hysteresis,
 * keepalives, fallback time, retry while relayed, peer-reflexive endpoints,
 * probe rate, and the options.
 */
#include "common/mesh/path.h"

#include <arpa/inet.h>
#include <string.h>

#define MS  (G_GINT64_CONSTANT(1000))
#define SEC (G_USEC_PER_SEC)

typedef struct {
	TrCandidate cand;
	gboolean reachable;
	gint64 rtt;
	gboolean answers_from_other; /* its answers come from another endpoint */
	TrCandidate from;
} Remote;

typedef struct {
	Remote r[TR_PATH_MAX];
	unsigned n;
	struct {
		uint32_t id;
		gint64 at;
		TrCandidate from;
	} pending[512];
	unsigned n_pending;
	gboolean sending; /* traffic on the direct path every 100 ms */
	unsigned probes, changes;
	gint64 probe_at[4096];
	unsigned cand_probes[TR_PATH_MAX];
	gint64 last_current_probe, max_current_gap;
	gint64 now;
} Net;

static TrCandidate
cand(TrCandidateKind kind, const char *addr, uint16_t port)
{
	TrCandidate c = {.kind = (uint8_t)kind, .family = 4, .port = port};

	g_assert_cmpint(inet_pton(AF_INET, addr, c.addr), ==, 1);
	return c;
}

static Remote *
remote(Net *net, TrCandidateKind kind, const char *addr, uint16_t port, gint64 rtt)
{
	Remote *r = &net->r[net->n++];

	r->cand = cand(kind, addr, port);
	r->reachable = TRUE;
	r->rtt = rtt;
	return r;
}

static void
give_candidates(TrPairPath *p, Net *net)
{
	TrCandidateList l = {0};

	for (unsigned i = 0; i < net->n; i++)
		l.items[l.n++] = net->r[i].cand; /* the order the hub sends */
	tr_path_set_candidates(p, &l, net->now);
}

static Remote *
find_remote(Net *net, const TrCandidate *c)
{
	for (unsigned i = 0; i < net->n; i++) {
		if (tr_candidate_same_endpoint(&net->r[i].cand, c))
			return &net->r[i];
	}
	return NULL;
}

/* Runs until @until, waking when the selector asks to (and every 100 ms while sending). */
static void
run(TrPairPath *p, Net *net, gint64 until)
{
	for (unsigned guard = 0; guard < 200000; guard++) {
		TrPairPathProbe probes[8];
		unsigned n;
		bool changed;
		gint64 next;

		for (unsigned i = 0; i < net->n_pending;) {
			if (net->pending[i].at <= net->now) {
				if (tr_path_answered(p, &net->pending[i].from, net->pending[i].id,
				                     net->pending[i].at))
					net->changes++;
				net->pending[i] = net->pending[--net->n_pending];
			} else {
				i++;
			}
		}
		if (net->sending && tr_path_kind(p) == TR_PAIR_PATH_DIRECT)
			tr_path_sent(p, net->now);
		n = tr_path_tick(p, net->now, probes, G_N_ELEMENTS(probes), &changed);
		net->changes += changed;
		for (unsigned i = 0; i < n; i++) {
			const TrCandidate *to = &p->c[probes[i].cand].cand;
			Remote *r = find_remote(net, to);

			if (net->probes < G_N_ELEMENTS(net->probe_at))
				net->probe_at[net->probes] = net->now;
			net->probes++;
			net->cand_probes[probes[i].cand]++;
			if ((int)probes[i].cand == p->current &&
			    tr_path_kind(p) == TR_PAIR_PATH_DIRECT) {
				if (net->last_current_probe)
					net->max_current_gap =
					        MAX(net->max_current_gap,
					            net->now - net->last_current_probe);
				net->last_current_probe = net->now;
			}
			if (r == NULL || !r->reachable)
				continue;
			g_assert_cmpuint(net->n_pending, <, G_N_ELEMENTS(net->pending));
			net->pending[net->n_pending].id = probes[i].id;
			net->pending[net->n_pending].at = net->now + r->rtt;
			net->pending[net->n_pending].from =
			        r->answers_from_other ? r->from : r->cand;
			net->n_pending++;
		}
		if (net->now >= until)
			return;
		next = tr_path_next_wakeup(p, net->now);
		for (unsigned i = 0; i < net->n_pending; i++)
			next = MIN(next, net->pending[i].at);
		if (net->sending)
			next = MIN(next, net->now + 100 * MS);
		next = MIN(next, until);
		g_assert_cmpint(next, >=, net->now);
		net->now = next == net->now ? next + 1 : next;
	}
	g_assert_not_reached();
}

static void
test_first_answer(void)
{
	TrPairPath p;
	Net net = {.now = 1000 * SEC};

	remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40000, 20 * MS);
	tr_path_init(&p, true, true);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_NONE);
	give_candidates(&p, &net);
	tr_path_start(&p, net.now);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_RELAYED); /* at once, until direct */
	run(&p, &net, net.now + 100 * MS);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);
	g_assert_cmpstr(tr_path_reason(&p), ==, "a direct path answered");
	g_assert_cmpint(tr_path_current(&p)->srtt, ==, 20 * MS);
	g_assert_cmpuint(net.changes, ==, 1);
}

static void
test_lan_beats_public(void)
{
	TrPairPath p;
	Net net = {.now = 5 * SEC};

	/* The public path answers first; the LAN one replaces it at once. */
	remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40000, 5 * MS);
	remote(&net, TR_CANDIDATE_HOST, "198.19.1.20", 3210, 40 * MS);
	tr_path_init(&p, true, true);
	give_candidates(&p, &net);
	tr_path_start(&p, net.now);
	run(&p, &net, net.now + 20 * MS);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);
	g_assert_cmpuint(tr_path_current(&p)->cand.kind, ==, TR_CANDIDATE_REFLEXIVE);
	run(&p, &net, net.now + 1 * SEC);
	g_assert_cmpuint(tr_path_current(&p)->cand.kind, ==, TR_CANDIDATE_HOST);
	g_assert_cmpstr(tr_path_reason(&p), ==, "a LAN path answered");
	/* It stays, though the public one is faster. */
	run(&p, &net, net.now + 60 * SEC);
	g_assert_cmpuint(tr_path_current(&p)->cand.kind, ==, TR_CANDIDATE_HOST);
	g_assert_cmpuint(net.changes, ==, 2);
}

static void
rtt_case(gint64 other_rtt, gboolean expect_switch)
{
	TrPairPath p;
	Net net = {.now = 5 * SEC};
	gint64 start;

	remote(&net, TR_CANDIDATE_MAPPED, "198.18.0.20", 3210, 50 * MS);
	remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40000, other_rtt);
	net.r[1].rtt = 200 * MS; /* answers late at first */
	tr_path_init(&p, true, true);
	give_candidates(&p, &net);
	start = net.now;
	tr_path_start(&p, net.now);
	run(&p, &net, net.now + 100 * MS);
	g_assert_cmpuint(tr_path_current(&p)->cand.kind, ==, TR_CANDIDATE_MAPPED);
	net.r[1].rtt = other_rtt;
	/* Before the dwell time nothing moves, whatever the RTTs. */
	run(&p, &net, start + TR_PATH_DWELL_USEC - 100 * MS);
	g_assert_cmpuint(tr_path_current(&p)->cand.kind, ==, TR_CANDIDATE_MAPPED);
	run(&p, &net, start + 25 * SEC);
	g_assert_cmpuint(tr_path_current(&p)->cand.kind, ==,
	                 expect_switch ? TR_CANDIDATE_REFLEXIVE : TR_CANDIDATE_MAPPED);
	if (expect_switch)
		g_assert_cmpstr(tr_path_reason(&p), ==, "a path with a lower RTT answered");
}

static void
test_rtt_hysteresis(void)
{
	/* The late one's first answer (200 ms) is what it is judged by:
	 * its RTT would have to be below 40 ms to replace 50 ms. */
	rtt_case(45 * MS, FALSE);
}

static void
test_rtt_switch(void)
{
	/* 30 ms beats 50 ms, once the dwell time has passed. */
	rtt_case(30 * MS, TRUE);
}

static void
test_keepalive(void)
{
	TrPairPath p;
	Net net = {.now = 5 * SEC};

	remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40000, 10 * MS);
	tr_path_init(&p, true, true);
	give_candidates(&p, &net);
	tr_path_start(&p, net.now);
	run(&p, &net, net.now + 1 * SEC);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);
	net.last_current_probe = net.now;
	net.probes = 0;
	/* Idle for five minutes: a keepalive at most every 25 s, and no more than needed. */
	run(&p, &net, net.now + 300 * SEC);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);
	g_assert_cmpint(net.max_current_gap, <=, 25 * SEC);
	g_assert_cmpint(net.max_current_gap, >=, TR_PATH_KEEPALIVE_USEC);
	g_assert_cmpuint(net.probes, <=, 300 / 20 + 1);
	g_assert_cmpuint(net.probes, >=, 300 / 25);
}

static void
test_fallback_and_back(void)
{
	TrPairPath p;
	Net net = {.now = 5 * SEC};
	gint64 broke, fell;

	remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40000, 10 * MS);
	tr_path_init(&p, true, true);
	give_candidates(&p, &net);
	tr_path_start(&p, net.now);
	net.sending = TRUE;
	run(&p, &net, net.now + 30 * SEC);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);

	/* The NAT drops the mapping while traffic flows. */
	net.r[0].reachable = FALSE;
	broke = net.now;
	while (tr_path_kind(&p) == TR_PAIR_PATH_DIRECT && net.now < broke + 30 * SEC)
		run(&p, &net, net.now + 100 * MS);
	fell = net.now;
	g_test_message("fell back after %" G_GINT64_FORMAT " ms", (fell - broke) / MS);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_RELAYED);
	g_assert_cmpstr(tr_path_reason(&p), ==, "the direct path stopped answering");
	g_assert_cmpint(fell - broke, <=, TR_PATH_SUSPECT_USEC + TR_PATH_FALLBACK_USEC + 600 * MS);

	/* Back within the burst that fallback started, or the next retry. */
	run(&p, &net, net.now + 40 * SEC);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_RELAYED);
	net.r[0].reachable = TRUE;
	run(&p, &net, net.now + TR_PATH_RETRY_USEC + TR_PATH_BURST_USEC);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);
}

static void
test_retry_while_relayed(void)
{
	TrPairPath p;
	Net net = {.now = 5 * SEC};
	gint64 start = net.now;
	unsigned in_burst, between;

	/* Eight candidates, none answers (two symmetric NATs). */
	for (unsigned i = 0; i < TR_CANDIDATE_MAX; i++)
		remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", (uint16_t)(40000 + i), 10 * MS)
		        ->reachable = FALSE;
	tr_path_init(&p, true, true);
	give_candidates(&p, &net);
	tr_path_start(&p, net.now);
	run(&p, &net, start + TR_PATH_BURST_USEC);
	in_burst = net.probes;
	/* Bounded: at most one probe per gap on average, every candidate tried often. */
	g_assert_cmpuint(in_burst, <=, TR_PATH_BURST_USEC / TR_PATH_PROBE_GAP_USEC + 4);
	for (unsigned i = 0; i < TR_CANDIDATE_MAX; i++)
		g_assert_cmpuint(net.cand_probes[i], >=, 10);
	for (unsigned i = 0; i + 24 < MIN(net.probes, 4096u); i++)
		g_assert_cmpint(net.probe_at[i + 24] - net.probe_at[i], >=,
		                SEC); /* <= 24 a second */
	run(&p, &net, start + TR_PATH_BURST_USEC + TR_PATH_RETRY_USEC - 10 * MS);
	between = net.probes - in_burst;
	g_assert_cmpuint(between, ==, 0); /* quiet between bursts */
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_RELAYED);
	net.r[3].reachable = TRUE;
	run(&p, &net, net.now + 1 * SEC);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);
	g_assert_cmpuint(tr_path_current(&p)->cand.port, ==, 40003);
}

static void
test_new_candidates(void)
{
	TrPairPath p;
	Net net = {.now = 5 * SEC};

	remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40000, 10 * MS)->reachable = FALSE;
	tr_path_init(&p, true, true);
	give_candidates(&p, &net);
	tr_path_start(&p, net.now);
	run(&p, &net, net.now + 15 * SEC);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_RELAYED);
	/* The peer roams: new candidates are probed at once, not at the next retry. */
	net.r[0].cand = cand(TR_CANDIDATE_REFLEXIVE, "198.18.5.20", 41000);
	net.r[0].reachable = TRUE;
	give_candidates(&p, &net);
	run(&p, &net, net.now + 200 * MS);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);
	/* And away again: the endpoint in use is gone, so relay at once. */
	net.r[0].cand = cand(TR_CANDIDATE_REFLEXIVE, "198.18.6.20", 42000);
	net.r[0].reachable = FALSE;
	give_candidates(&p, &net);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_RELAYED);
	g_assert_cmpstr(tr_path_reason(&p), ==, "the peer's candidates changed");
}

static void
test_peer_reflexive(void)
{
	TrPairPath p;
	Net net = {.now = 5 * SEC};
	TrCandidate seen = cand(TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40777);
	Remote *r;

	/* The peer is behind a NAT that maps per destination: what the hub saw
	 * does not work for us, but its probes reach us from another port. */
	remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40000, 10 * MS)->reachable = FALSE;
	r = remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40777, 10 * MS);
	net.n = 1; /* not in the peer's list */
	tr_path_init(&p, true, true);
	give_candidates(&p, &net);
	net.n = 2;
	tr_path_start(&p, net.now);
	run(&p, &net, net.now + 2 * SEC);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_RELAYED);
	tr_path_heard(&p, &seen, net.now);
	run(&p, &net, net.now + 100 * MS);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);
	g_assert_cmpuint(tr_path_current(&p)->cand.kind, ==, TR_CANDIDATE_PEER_REFLEXIVE);
	g_assert_cmpuint(tr_path_current(&p)->cand.port, ==, r->cand.port);
	/* It survives a candidate update that does not name it, while it works. */
	net.n = 1;
	give_candidates(&p, &net);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);
}

static void
test_answer_from_elsewhere(void)
{
	TrPairPath p;
	Net net = {.now = 5 * SEC};
	Remote *r = remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40000, 10 * MS);

	/* The answer comes back from another port: that endpoint is the path. */
	r->answers_from_other = TRUE;
	r->from = cand(TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40001);
	tr_path_init(&p, true, true);
	give_candidates(&p, &net);
	tr_path_start(&p, net.now);
	run(&p, &net, net.now + 100 * MS);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);
	g_assert_cmpuint(tr_path_current(&p)->cand.port, ==, 40001);
	/* Unknown and repeated ids change nothing. */
	g_assert_false(tr_path_answered(&p, &r->from, 0xdeadbeef, net.now));
	g_assert_false(tr_path_answered(&p, &r->from, 0, net.now));
}

static void
test_options(void)
{
	TrPairPath p;
	Net net = {.now = 5 * SEC};

	remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40000, 10 * MS);
	/* --no-direct: no probe ever, relayed; over TLS when UDP cannot reach the hub. */
	tr_path_init(&p, false, true);
	give_candidates(&p, &net);
	tr_path_start(&p, net.now);
	run(&p, &net, net.now + 60 * SEC);
	g_assert_cmpuint(net.probes, ==, 0);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_RELAYED);
	tr_path_set_relay_udp(&p, false, net.now);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_TCP);
	g_assert_cmpstr(tr_path_kind_name(tr_path_kind(&p)), ==, "tcp");

	/* The hub relays nothing and no direct path works: none. */
	memset(&net, 0, sizeof(net));
	net.now = 5 * SEC;
	remote(&net, TR_CANDIDATE_REFLEXIVE, "198.18.0.20", 40000, 10 * MS)->reachable = FALSE;
	tr_path_init(&p, true, false);
	give_candidates(&p, &net);
	tr_path_start(&p, net.now);
	run(&p, &net, net.now + 20 * SEC);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_NONE);
	net.r[0].reachable = TRUE;
	run(&p, &net, net.now + 40 * SEC);
	g_assert_cmpint(tr_path_kind(&p), ==, TR_PAIR_PATH_DIRECT);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mesh/path/first-answer", test_first_answer);
	g_test_add_func("/mesh/path/lan-beats-public", test_lan_beats_public);
	g_test_add_func("/mesh/path/rtt-hysteresis", test_rtt_hysteresis);
	g_test_add_func("/mesh/path/rtt-switch", test_rtt_switch);
	g_test_add_func("/mesh/path/keepalive", test_keepalive);
	g_test_add_func("/mesh/path/fallback-and-back", test_fallback_and_back);
	g_test_add_func("/mesh/path/retry-while-relayed", test_retry_while_relayed);
	g_test_add_func("/mesh/path/new-candidates", test_new_candidates);
	g_test_add_func("/mesh/path/peer-reflexive", test_peer_reflexive);
	g_test_add_func("/mesh/path/answer-from-elsewhere", test_answer_from_elsewhere);
	g_test_add_func("/mesh/path/options", test_options);
	return g_test_run();
}
