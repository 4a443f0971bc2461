/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/daemon/dataplane-options.h"

void
tr_dp_tuning_from_options(TrOptions *o, TrDpTuning *t)
{
	t->threads = (guint)tr_options_get_int(o, "threads", 0);
	t->tun_offload = !tr_options_get_bool(o, "no-tun-offload");
	t->coalesce = !tr_options_get_bool(o, "no-coalesce");
	t->udp_gso = !tr_options_get_bool(o, "no-udp-gso");
	t->udp_gro = !tr_options_get_bool(o, "no-udp-gro");
	t->queue_target_us =
	        (guint)tr_options_get_int(o, "queue-target", TR_DP_QUEUE_TARGET_DEFAULT);
	t->express_len = (guint)tr_options_get_int(o, "express-size", TR_DP_EXPRESS_DEFAULT);
}
