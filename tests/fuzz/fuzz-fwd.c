/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The frame classifier and the forwarding decision, in every mode and type, and a
 * client's learning of its pairs' MACs from the hub session (tr_fwd_learn_by_source).
 * Input: byte 0 picks the snapshot (mode, type, strict source), byte 1 the
 * ingress (0 = the device, 1..4 peers), the rest is the packet or frame.
 * Checks the rules that must hold whatever arrives: nothing goes back to its
 * ingress, drops have a reason, parsed offsets stay inside the input.
 */
#include "common/base/addr.h"
#include "common/datapath/fwd.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_SNAPSHOTS 8

static TrFwd *snapshots[N_SNAPSHOTS];

static void
setup(void)
{
	static const char *const routes[] = {
	        "198.19.0.1/32",
	        "198.19.0.2/32",
	        "198.19.0.0/24",
	        "10.0.0.0/8",
	        "0.0.0.0/0",
	        "fd00::1/128",
	        "fd00::/64",
	        "::/0",
	        "02:00:00:00:00:01/48",
	        "02:00:00:00:00:00/24",
	};
	static const TrFwdMode modes[] = {TR_FWD_MODE_HUB, TR_FWD_MODE_SWITCH, TR_FWD_MODE_ROUTER,
	                                  TR_FWD_MODE_NORMAL};
	TrSwitch *sw = tr_switch_new(64, 300);

	for (int i = 0; i < N_SNAPSHOTS; i++) {
		TrFwdConfig cfg = {
		        .mode = modes[i % 4],
		        .type = (i / 4) ? TR_FRAME_ETHERNET : TR_FRAME_IP,
		        .strict_source = i % 2,
		};
		TrRouteBuilder *b = tr_route_builder_new();

		if (cfg.mode == TR_FWD_MODE_SWITCH && cfg.type == TR_FRAME_IP)
			cfg.mode = TR_FWD_MODE_ROUTER;
		for (guint r = 0; r < G_N_ELEMENTS(routes); r++) {
			TrPrefix p;

			if (!tr_prefix_parse(routes[r], 0, &p, NULL) ||
			    !tr_route_builder_add(b, &p, r % 5, TR_ROUTE_CLAIMED, NULL, NULL, NULL))
				__builtin_trap();
		}
		snapshots[i] = tr_fwd_new(&cfg, tr_route_table_build(b), sw, NULL);
		if (!snapshots[i])
			__builtin_trap();
		tr_route_builder_free(b);
	}
	tr_switch_unref(sw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int64_t now = G_GINT64_CONSTANT(1000) * G_USEC_PER_SEC;
	const TrFwd *fwd;
	TrFwdResult r;
	uint32_t ingress;

	if (!snapshots[0])
		setup();
	if (size < 2)
		return 0;
	fwd = snapshots[data[0] % N_SNAPSHOTS];
	ingress = data[1] % 5;
	now += 7 * G_USEC_PER_SEC; /* entries expire now and then */

	switch (tr_fwd_decide(fwd, data + 2, size - 2, ingress, now, &r)) {
	case TR_FWD_PEER:
		if (r.peer == ingress || r.peer == TR_PEER_LOCAL)
			__builtin_trap();
		break;
	case TR_FWD_LOCAL:
		if (ingress == TR_PEER_LOCAL)
			__builtin_trap();
		break;
	case TR_FWD_FLOOD:
		if (r.flood_except != ingress || r.flood_local != (ingress != TR_PEER_LOCAL))
			__builtin_trap();
		break;
	case TR_FWD_DROP:
		if (r.drop == TR_FWD_DROP_NONE || r.drop >= TR_FWD_DROP_COUNT)
			__builtin_trap();
		if ((r.drop == TR_FWD_DROP_MALFORMED) != (r.frame_drop != TR_FRAME_OK))
			__builtin_trap();
		break;
	default:
		__builtin_trap();
	}
	/* A client's learning from the hub session (tap): only in switch mode, never for
	 * the device, and what it learnt is what a lookup finds. */
	{
		uint32_t learnt = tr_fwd_learn_by_source(fwd, data + 2, size - 2, now);
		uint32_t found;

		if (learnt != TR_PEER_NONE &&
		    (tr_fwd_get_mode(fwd) != TR_FWD_MODE_SWITCH || learnt == TR_PEER_LOCAL ||
		     r.frame_drop != TR_FRAME_OK ||
		     !tr_switch_lookup(tr_fwd_get_switch(fwd), r.info.vid, data + 2 + 6, now,
		                       &found) ||
		     found != learnt))
			__builtin_trap();
	}
	if (r.frame_drop == TR_FRAME_OK) {
		const TrFrameInfo *in = &r.info;

		if ((size_t)in->l3_off + in->l3_len > size - 2)
			__builtin_trap();
		if (in->has_l4 && in->l4_off > in->l3_off + in->l3_len)
			__builtin_trap();
	}
	return 0;
}
