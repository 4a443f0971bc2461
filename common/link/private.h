/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Internal to common/link/: the link object and what its files share.
 *
 *   link.c       the link: its control connection, activation, messages
 *                dispatched, the data plane's callbacks, close, status
 *   keys.c       keys from the TLS exporter, rekeying, key housekeeping
 *   path.c       where data goes (UDP or the TLS stream), PATH messages,
 *                UDP probing, roaming
 *   path-mtu.c   path MTU discovery toward the endpoint
 *   liveness.c   the link's timer: keepalives, the peer timeout
 */
#include "common/link/link.h"

#include "common/datapath/pmtu.h"

G_BEGIN_DECLS

/* The salt of PINGs, control-channel and data-channel alike. */
#define SALT_LEN 16

/* An endpoint: an IPv4 or IPv6 address and port (all the data plane keeps; a
 * sockaddr_storage would take 100 bytes more in each link). */
typedef union {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
} LinkEndpoint;

struct _TrLink {
	TrCtrl *ctrl;
	TrDc *dc;
	gboolean is_tls_server;
	TrLinkCallbacks cb;
	gpointer user_data;
	TrLinkTiming timing;

	LinkEndpoint endpoint; /* the data plane's, as last read */
	socklen_t endpoint_len;

	TrPath tx_path;                 /* where we send data */
	gboolean peer_hears_udp;        /* the peer's last PATH said UDP */
	gboolean we_hear_udp;           /* what we last told the peer */
	gint64 last_udp_rx;             /* authenticated UDP from the peer */
	gint64 last_ping_tx;            /* our last UDP probe */
	gint64 last_rx;                 /* anything from the peer */
	gint64 last_ctrl_tx;            /* our last control message */
	uint8_t ping_salt[TR_SALT_MIN]; /* our last control PING's, while unanswered */
	gint64 ping_tx;                 /* when we sent it, 0: answered */
	guint32 rtt_us;                 /* smoothed round trip of PING/PONG, 0: none yet */
	uint32_t rekey_pending;         /* epoch we asked for, 0 = none */
	gint64 established;             /* wall clock, when activated */
	TrDataplane *dp;                /* the workers carry the data */
	TrDpSession *dp_session;
	uint32_t forward_id;
	/* On the tick wheel (liveness.c): a slot's list, while active. */
	TrLink *tick_prev, *tick_next;
	guint tick_slot;
	gboolean ticking;
	gboolean closing;
	TrLinkStats stats;
	/* Path MTU discovery toward the endpoint. */
	TrPmtu pmtu;
	gboolean pmtu_on;
	unsigned pmtu_ip; /* IP and UDP headers on the endpoint's path: 28 or 48 */
	unsigned mtu;     /* the tunnel MTU in force toward the peer */
	guint pmtu_timer; /* a round in flight is looked at sooner than the tick */
};

/* ---- keys.c ------------------------------------------------------------------------ */

/* Derives and installs @epoch's keys (next slot, or current for the first). */
gboolean link_install_epoch(TrLink *link, uint32_t epoch, GError **error);
/* REKEY and REKEY_ACK from the peer. */
void link_keys_message(TrLink *link, const TrMsg *msg);
/* Starts a rekey when the data channel wants one; activates and expires keys. */
void link_keys_tick(TrLink *link, gint64 now);

/* ---- path.c ------------------------------------------------------------------------ */

/* Reads the endpoint from the data plane (its workers see roaming first). */
void link_sync_endpoint(TrLink *link);
/* Chooses UDP or the TLS stream for data, from what the peer last said. */
void link_set_tx_path(TrLink *link);
/* A data-channel PING over UDP: the peer answers with a PONG, and hears us. */
void link_send_ping(TrLink *link);
/* PATH from the peer: whether it hears us over UDP. */
void link_path_message(TrLink *link, const TrMsg *msg);
/* Probes UDP when quiet; tells the peer when hearing it starts or stops. */
void link_path_tick(TrLink *link, gint64 now);
/* The data plane's events: authenticated UDP from a new endpoint, or after a silence. */
void link_path_roamed(TrLink *link);
void link_path_udp_heard(TrLink *link);

/* ---- path-mtu.c -------------------------------------------------------------------- */

void link_pmtu_tick(TrLink *link, gint64 now);
/* A new path (the peer roamed): search again. */
void link_pmtu_path_changed(TrLink *link);
/* The path refused a datagram's size. */
void link_pmtu_too_big(TrLink *link);

/* ---- liveness.c -------------------------------------------------------------------- */

/* Starts the link's timer (after activation). */
void link_liveness_start(TrLink *link);
/* Stops its timers (closing, leaving the data plane, freeing). */
void link_liveness_stop(TrLink *link);
/* PING on the control channel: answered with a PONG. */
void link_liveness_ping(TrLink *link, const TrMsg *msg);
/* A PONG: the round trip, when it answers our last PING. */
void link_liveness_pong(TrLink *link, const TrMsg *msg);

G_END_DECLS
