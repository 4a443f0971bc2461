/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>
#include "platform/net.h"

#include "common/ctrl/conn.h"
#include "common/datapath/datachannel.h"
#include "common/datapath/dataplane.h"

G_BEGIN_DECLS

/*
 * A link: everything one node keeps about one peer it has a session with --
 * the TLS control connection, the data-channel session, the peer's UDP
 * endpoint and which path data takes. The hub has one per client, a client
 * one per server. The data plane's workers carry the packets (sealing,
 * opening, roaming, answers to probes); the link is the control side of the
 * session, and both sides run the same logic:
 *
 *  - keys: epoch N's keys come from the TLS exporter (tr_link_derive_keys);
 *    either side starts a rekey with REKEY(N+1) when its data channel wants
 *    one; the receiver installs and switches, answers REKEY_ACK, and the
 *    initiator switches on the ACK (or on the first packet under the new key);
 *  - path: each side tells the other, with PATH, whether it hears it over
 *    UDP; data goes over UDP when the peer said so, else over the TLS stream.
 *    UDP is probed with data-channel PINGs (answered with PONGs) whenever it
 *    has been quiet for half the keepalive interval, so a UDP path that stops
 *    working falls back to TLS within keepalive + 2 s, and returns when it
 *    works again;
 *  - roaming: an authenticated UDP packet from a new address moves the
 *    peer's endpoint there;
 *  - liveness: control-channel PINGs on idle links, and a peer silent for
 *    the peer timeout is dropped.
 */

typedef struct _TrLink TrLink;

typedef struct {
	/* HELLO, CONFIG, ERROR and anything the link does not handle itself. */
	void (*message)(TrLink *link, TrMsg *msg, gpointer user_data);
	/* TLS is up: verify the peer now (tr_link_get_tls). */
	void (*established)(TrLink *link, gpointer user_data);
	/* The link is over (@error says why, NULL for an orderly close). */
	void (*closed)(TrLink *link, const GError *error, gpointer user_data);
	/* The path data is sent on changed (for logs and status). */
	void (*path_changed)(TrLink *link, TrPath path, gpointer user_data);
	/* The hub forwarded this session's traffic to the session of forwarding id @to
	 * (TrDpConfig.note_forwarding; at most every TR_DP_FORWARD_NOTE_USEC per target);
	 * @dst: for a transit target (tr_dp_session_set_transit), the packets' destination,
	 * else NULL. */
	void (*forwarded)(TrLink *link, uint32_t to, const TrPrefix *dst, gpointer user_data);
	/* The peer's UDP endpoint moved (it roamed, or a NAT mapped it anew). */
	void (*roamed)(TrLink *link, gpointer user_data);
} TrLinkCallbacks;

typedef struct {
	guint keepalive_sec;    /* idle interval before probes and pings */
	guint peer_timeout_sec; /* drop a peer silent for this long */
	gboolean udp_enabled;   /* FALSE: TLS stream only */
} TrLinkTiming;

/*
 * Before tr_link_activate(): the data plane whose workers carry this link's
 * packets; the link quiesces them for key changes. @forward_id is the
 * session's forwarding id (0: none yet).
 */
void tr_link_use_dataplane(TrLink *link, TrDataplane *dp, uint32_t forward_id);
void tr_link_set_forward_id(TrLink *link, uint32_t id);
/*
 * Takes the session out of the data plane now (its TrDc goes with it), for
 * a link whose freeing is deferred while the data plane is about to go: the
 * link then carries no data and its timers do nothing.
 */
void tr_link_leave_dataplane(TrLink *link);

/* Wraps @ctrl (a reference is taken; callbacks are redirected to the link). */
TrLink *tr_link_new(int fd, TrTlsCreds *creds, const char *server_name, const char *peer_desc,
                    gboolean is_tls_server, const TrLinkCallbacks *callbacks, gpointer user_data,
                    GError **error);
void tr_link_free(TrLink *link);

/* The TLS handshake on a pool's threads (tr_ctrl_set_handshake_pool): before tr_link_start. */
void tr_link_set_handshake_pool(TrLink *link, TrHandshakePool *pool);
void tr_link_start(TrLink *link, guint handshake_timeout_ms);

/*
 * After the configuration handshake: creates the data-channel session with
 * @dc_config (its local_index/peer_index set), installs epoch 0's keys from
 * the TLS exporter, adds the session to the data plane and starts probing
 * UDP (the endpoint may be unknown until the peer's first authenticated UDP
 * packet).
 */
gboolean tr_link_activate(TrLink *link, const TrDcConfig *dc_config, const TrLinkTiming *timing,
                          const struct sockaddr *endpoint, socklen_t endpoint_len, GError **error);
gboolean tr_link_is_active(TrLink *link);

/* Derives the two 32-byte keys of @epoch (exported; tests use it). */
gboolean tr_link_derive_keys(TrTls *tls, gboolean is_tls_server, uint32_t epoch, uint8_t *tx_key,
                             uint8_t *rx_key, GError **error);

/* The smoothed round trip of control PING/PONG in µs; 0 until measured. */
guint32 tr_link_get_rtt(TrLink *link);

/* Sends a control message. */
gboolean tr_link_send_msg(TrLink *link, const TrMsg *msg, GError **error);
/* Sends a message framed by its owner (a graph message: tr_ctrl_send_frame). */
gboolean tr_link_send_frame(TrLink *link, const uint8_t *frame, size_t len, GError **error);
/* Sends a relay frame (a pair's sealed datagram) as a RELAY message; dropped, FALSE, when
 * the stream is backed up (like the TCP fallback's data). */
gboolean tr_link_send_relay(TrLink *link, const uint8_t *frame, size_t len);

/* Orderly end: CLOSE over UDP and TLS (or ERROR with a refusal reason). */
void tr_link_close(TrLink *link, TrMsgType type, TrRefusal code, const char *reason);

TrTls *tr_link_get_tls(TrLink *link);
/* The TCP socket of the control connection (-1 once closed). */
int tr_link_get_fd(TrLink *link);
TrDc *tr_link_get_dc(TrLink *link);
/* The session in the data plane (NULL before tr_link_activate()). */
TrDpSession *tr_link_get_dp_session(TrLink *link);
TrPath tr_link_get_path(TrLink *link);
const char *tr_link_peer(TrLink *link);

typedef struct {
	guint64 udp_probes_sent;
	guint64 udp_path_changes;
	guint64 tcp_data_sent, tcp_data_dropped;
	guint64 rekeys;
	guint64 roams;
} TrLinkStats;
const TrLinkStats *tr_link_get_stats(TrLink *link);

/* Appends the link's state and counters as JSON object members (no braces):
 * path, endpoint, cipher, compression, epoch, established, last_rx_age_sec,
 * tx/rx packets and bytes, drops by reason, rekeys, roams. */
void tr_link_stats_json(TrLink *link, GString *out, gboolean *first);

G_END_DECLS
