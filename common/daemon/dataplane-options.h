/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/daemon/options.h"
#include "common/datapath/dataplane.h"

G_BEGIN_DECLS

/* The data plane's techniques from a daemon's options (the rows below). */
void tr_dp_tuning_from_options(TrOptions *options, TrDpTuning *tuning);

/* The option rows both daemons share. */
#define TR_DATAPLANE_OPTIONS                                                                       \
	{"threads",                                                                                \
	 0,                                                                                        \
	 TR_OPT_INT,                                                                               \
	 "N",                                                                                      \
	 "0",                                                                                      \
	 0,                                                                                        \
	 TR_DP_WORKERS_MAX,                                                                        \
	 NULL,                                                                                     \
	 "Performance",                                                                            \
	 "Data-plane worker threads, each with its own device queue and UDP socket; 0 is one per " \
	 "CPU core",                                                                               \
	 0},                                                                                       \
	        {"no-tun-offload",                                                                 \
	         0,                                                                                \
	         TR_OPT_BOOL,                                                                      \
	         NULL,                                                                             \
	         NULL,                                                                             \
	         0,                                                                                \
	         0,                                                                                \
	         NULL,                                                                             \
	         "Performance",                                                                    \
	         "Do not let the device hand over 64 KiB TCP super-packets (TSO) and "             \
	         "unchecksummed packets; also turns off coalescing",                               \
	         0},                                                                               \
	        {"no-coalesce",                                                                    \
	         0,                                                                                \
	         TR_OPT_BOOL,                                                                      \
	         NULL,                                                                             \
	         NULL,                                                                             \
	         0,                                                                                \
	         0,                                                                                \
	         NULL,                                                                             \
	         "Performance",                                                                    \
	         "Do not merge received TCP segments into super-packets for the device",           \
	         0},                                                                               \
	        {"no-udp-gso",                                                                     \
	         0,                                                                                \
	         TR_OPT_BOOL,                                                                      \
	         NULL,                                                                             \
	         NULL,                                                                             \
	         0,                                                                                \
	         0,                                                                                \
	         NULL,                                                                             \
	         "Performance",                                                                    \
	         "Send each datagram on its own instead of runs of datagrams in one call "         \
	         "(UDP_SEGMENT)",                                                                  \
	         0},                                                                               \
	        {"no-udp-gro",                                                                     \
	         0,                                                                                \
	         TR_OPT_BOOL,                                                                      \
	         NULL,                                                                             \
	         NULL,                                                                             \
	         0,                                                                                \
	         0,                                                                                \
	         NULL,                                                                             \
	         "Performance",                                                                    \
	         "Do not ask the kernel to hand over received datagrams in runs (UDP_GRO)",        \
	         0},                                                                               \
	        {"queue-target",                                                                   \
	         0,                                                                                \
	         TR_OPT_INT,                                                                       \
	         "USEC",                                                                           \
	         G_STRINGIFY(TR_DP_QUEUE_TARGET_DEFAULT),                                          \
	         0,                                                                                \
	         TR_DP_QUEUE_TARGET_MAX,                                                           \
	         NULL,                                                                             \
	         "Performance",                                                                    \
	         "How long received datagrams may keep waiting in a UDP socket, in microseconds, " \
	         "before a TCP stream through the tunnel is told to slow down (CoDel: an ECN "     \
	         "mark, or else a dropped segment), so that a download does not delay a call's "   \
	         "packets; 0 turns it off",                                                        \
	         0},                                                                               \
	        {"express-size",                                                                   \
	         0,                                                                                \
	         TR_OPT_INT,                                                                       \
	         "BYTES",                                                                          \
	         G_STRINGIFY(TR_DP_EXPRESS_DEFAULT),                                               \
	         0,                                                                                \
	         TR_DP_EXPRESS_MAX,                                                                \
	         NULL,                                                                             \
	         "Performance",                                                                    \
	         "Packets into the tunnel that are at most this long (a ping, a TCP "              \
	         "acknowledgement, DNS, a call's audio), TCP segments with data excepted, get a "  \
	         "device queue of their own that the first free worker reads, so that they do "    \
	         "not wait behind a download's or an upload's bulk (Linux; the steering program "  \
	         "needs root or CAP_BPF at start); 0 turns it off",                                \
	         0},

G_END_DECLS
