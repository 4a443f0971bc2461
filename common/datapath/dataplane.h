/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The data plane: worker threads that move packets between the device and
 * the UDP sockets, outside the GLib main loop.
 *
 *  - One worker per device queue. Worker i owns tun queue i and UDP socket i
 *    (an SO_REUSEPORT group). It sleeps in a poller on those two descriptors
 *    and its wakeup, and moves packets in batches: up to `batch` reads from
 *    the device (each possibly a 64 KiB super-packet with TSO, split here),
 *    recvmmsg/sendmmsg on the socket (with UDP GRO and GSO runs of equal-sized
 *    datagrams), and coalescing of received TCP segments into super-packets
 *    for the device.
 *  - Sessions (TrDpSession: a data channel, the endpoint, the path) and the
 *    forwarding snapshot (TrFwd) reach the workers as one immutable table
 *    published through RCU (common/base/rcu.h); a worker reads it once per
 *    batch. No lock, allocation or log call per packet on the UDP path.
 *  - Each session is received by one worker, its owner: receiver index mod
 *    the number of sockets. A classic BPF program on the socket group steers
 *    each datagram to the socket of its owner by the receiver index in the
 *    clear header, so replay windows have one writer. Any worker may send to
 *    any session, on its own lane of the data channel (TrDcConfig.lanes).
 *  - Key changes need the workers quiesced: each worker holds its gate for
 *    a batch (one uncontended lock per batch, not per packet), and
 *    tr_dataplane_quiesce() takes every gate.
 *  - The slow paths go through the main loop: data over the TLS stream (the
 *    TCP fallback) in both directions, and events (the other end roamed,
 *    closed the session, was heard over UDP again, or its path refused a
 *    size), through a wakeup the main loop polls.
 *
 * The files: dataplane-private.h lists them and what each holds.
 */
#include <glib.h>

#include "common/datapath/datachannel.h"
#include "common/datapath/frame.h"
#include "common/datapath/fwd.h"
#include "platform/device.h"
#include "platform/net.h"

G_BEGIN_DECLS

#define TR_DP_WORKERS_MAX (TR_DC_LANES_MAX - 1u)

/* CoDel on the sockets' receive queues (TrDpConfig.queue_target_us): the default target,
 * and the interval as a multiple of the target (RFC 8289: a target of 5-10 % of it). */
#define TR_DP_QUEUE_TARGET_DEFAULT  1000
#define TR_DP_QUEUE_TARGET_MAX      1000000
#define TR_DP_QUEUE_INTERVAL_FACTOR 20u

/* The express queue (TrDpTuning.express_len): packets from the system at most this long
 * get a device queue of their own, which every worker reads first (platform/device.h,
 * tr_device_set_express_queue). 256 bytes: a ping, a TCP ACK, DNS, a call's audio. */
#define TR_DP_EXPRESS_DEFAULT 256
#define TR_DP_EXPRESS_MAX     1500

/*
 * The default tunnel MTU: a full packet fits a 1500-byte path over IPv6
 * (1500 - 40 IPv6 - 8 UDP - TR_DC_OVERHEAD), and so over IPv4 too. A tap
 * device's frames carry a 14-byte Ethernet header more.
 */
#define TR_MTU_DEFAULT     (1500u - 40u - 8u - TR_DC_OVERHEAD)
#define TR_MTU_DEFAULT_TAP (TR_MTU_DEFAULT - 14u)
/* The data-channel lane of the control plane (workers use 0 .. n-1). */
#define TR_DP_CONTROL_LANE(n) (n)

typedef struct TrDataplane TrDataplane;
typedef struct TrDpSession TrDpSession;

/* Where a session's data goes. */
typedef enum {
	TR_PATH_NONE = 0, /* nowhere yet: dropped */
	TR_PATH_UDP = 1,
	TR_PATH_TCP = 2, /* over the session's TLS stream (the control plane's tcp_send) */
} TrPath;

/* "none", "udp", "tcp". */
const char *tr_path_name(TrPath path);

/* What a worker reports to the control plane about a session (a bit set). */
typedef enum {
	TR_DP_EVENT_ROAMED = 1 << 0,    /* authenticated UDP from a new endpoint */
	TR_DP_EVENT_CLOSED = 1 << 1,    /* the other end sent CLOSE */
	TR_DP_EVENT_UDP_HEARD = 1 << 2, /* authenticated UDP from the other end after a silence */
	TR_DP_EVENT_TOO_BIG = 1 << 3, /* its path refused a datagram's size: search the path MTU */
	/* it sent a packet the hub forwarded to another session (TrDpConfig.note_forwarding):
	 * tr_dp_session_forwarded_take() says which */
	TR_DP_EVENT_FORWARDED = 1 << 4,
} TrDpEvent;

/* Relay frames (docs/PROTOCOL.md, "Relay"; common/mesh/relay.h): a 12-byte header
 * whose byte 4 is this type, around a pair's sealed datagram. */
#define TR_DP_RELAY_TYPE       7u
#define TR_DP_RELAY_HEADER_LEN 12u

/* How often a session's forwarding to the same target is reported (TR_DP_EVENT_FORWARDED). */
#define TR_DP_FORWARD_NOTE_USEC (G_GINT64_CONSTANT(10) * G_USEC_PER_SEC)
/* How many targets per session are remembered for that: a session sending to more
 * in turn is reported more often. */
#define TR_DP_FORWARD_TARGETS 4u
/* A note with a destination (a transit target) takes the place of another only when
 * that one is older than this: a session sending to many addresses behind a hub link
 * (a scan, a LAN behind a remote client) is reported at most TR_DP_FORWARD_TARGETS
 * times a second, not on every packet. */
#define TR_DP_FORWARD_DST_USEC G_USEC_PER_SEC

typedef struct {
	/* Events of @session (main loop). */
	void (*event)(TrDpSession *session, unsigned events, gpointer user_data);
	/* A sealed datagram for @session to go over its TLS stream (path TCP; main loop). */
	void (*tcp_send)(TrDpSession *session, const uint8_t *data, size_t len, gpointer user_data);
} TrDpSessionCallbacks;

typedef struct {
	TrDevice *dev;      /* one queue per worker; not owned */
	const int *udp_fds; /* n_udp sockets in one steered group (or 1); not owned */
	unsigned n_udp;     /* 1 or n_workers */
	unsigned n_workers; /* 1 .. TR_DP_WORKERS_MAX, at most the device's queues */
	TrMagic magic;
	TrFrameType frame;
	unsigned mtu; /* tunnel MTU: MSS clamping and "packet too big" */
	/* TRUE: forwarding between sessions and the device by the TrFwd; FALSE: the device's
	 * packets go to the session of id 1, every session's to the device. */
	gboolean hub;
	gboolean client_to_client;
	/* hub: report forwarding between sessions (TR_DP_EVENT_FORWARDED), at most once per
	 * TR_DP_FORWARD_NOTE_USEC per session and target, so it can introduce pairs */
	gboolean note_forwarding;
	/*
	 * Relay frames (byte 4 = TR_DP_RELAY_TYPE). Hub: each one, as it came, to @relay on
	 * the main loop (NULL: dropped). Client: the header is taken off and the inner
	 * datagram opened as one without an endpoint (it says nothing of the peer's).
	 */
	void (*relay)(const uint8_t *frame, size_t len, const struct sockaddr *from,
	              socklen_t from_len, gpointer user_data);
	gpointer relay_data;
	/* The device's express queue (tr_device_set_express_queue(): short packets), read
	 * by whichever worker is free first; -1: none. Not one of the workers' queues. */
	int express_queue;
	unsigned batch;       /* reads per wakeup and queue (default 64) */
	gboolean udp_gso;     /* send runs of datagrams with UDP_SEGMENT */
	gboolean tun_offload; /* the device has TSO: split its super-packets, coalesce for it */
	gboolean coalesce;    /* with tun_offload: merge received TCP segments */
	/* CoDel on each socket's receive queue (common/datapath/codel.h): how long a
	 * datagram may wait there, standing, before TCP is told to slow down; 0: off */
	guint queue_target_us;
} TrDpConfig;

void tr_dp_config_init(TrDpConfig *cfg);

/* Starts the workers. */
TrDataplane *tr_dataplane_new(const TrDpConfig *cfg, GError **error);
/* Stops and joins the workers; frees the sessions and the tables. */
void tr_dataplane_free(TrDataplane *dp);

const TrDpConfig *tr_dataplane_config(TrDataplane *dp);

/*
 * Adds a session: @dc (ownership taken; created with lanes = n_workers + 1
 * and defer_activation) under forwarding id @id (the hub's session id; 1 on
 * a client) with its receiver index and initial endpoint (NULL: unknown).
 * The new table is published at once. @user_data is passed to the callbacks.
 */
TrDpSession *tr_dataplane_add_session(TrDataplane *dp, TrDc *dc, uint32_t id,
                                      const struct sockaddr *endpoint, socklen_t endpoint_len,
                                      const TrDpSessionCallbacks *cb, gpointer user_data);
/* Removes it from the table; it is freed (with its TrDc) once no worker can see it. */
void tr_dataplane_remove_session(TrDataplane *dp, TrDpSession *session);

/* Sets the forwarding id of a session (0: not a target) and publishes. */
void tr_dataplane_set_session_id(TrDataplane *dp, TrDpSession *session, uint32_t id);

/*
 * Replaces the forwarding snapshot (ownership taken). On a client (not hub): the
 * routes of its pair sessions (forwarding ids > 1); what they do not route goes to
 * the hub session (id 1), and a pair's packets reach the device only from its own
 * addresses (strict_source) and to none of the table's.
 */
void tr_dataplane_set_fwd(TrDataplane *dp, TrFwd *fwd);

/* The worker that receives a receiver index's datagrams. */
unsigned tr_dataplane_owner(TrDataplane *dp, uint32_t rx_index);

/* Stops every worker between batches until tr_dataplane_resume(). Main loop only. */
void tr_dataplane_quiesce(TrDataplane *dp);
void tr_dataplane_resume(TrDataplane *dp);

/* ---- A session, from the control plane ---------------------------------------- */

TrDc *tr_dp_session_dc(TrDpSession *session);
/* Where data to the session goes. */
void tr_dp_session_set_path(TrDpSession *session, TrPath path);
/* The endpoint (copied into @out); 0 when none is known. */
socklen_t tr_dp_session_endpoint(TrDpSession *session, struct sockaddr_storage *out);
void tr_dp_session_set_endpoint(TrDpSession *session, const struct sockaddr *sa, socklen_t len);
/* Monotonic time of the last authenticated datagram of the session over UDP (0: none). */
gint64 tr_dp_session_last_udp_rx(TrDpSession *session);
/*
 * A pinned session (a pair's, whose path client/mesh.c chooses): the workers never
 * move its endpoint; they note what the control plane needs to choose it instead --
 * each PONG that comes over UDP (the first 4 bytes of its payload: the probe id),
 * and datagrams from an endpoint other than the session's (at most ten a second) --
 * and answer a PING to where it came from.
 */
#define TR_DP_NOTES 16
typedef struct {
	gboolean pong;      /* a PONG; else another authenticated datagram */
	uint8_t payload[4]; /* a PONG's first payload bytes */
	gint64 at;          /* monotonic */
	struct sockaddr_storage from;
} TrDpNote;
void tr_dp_session_pin_endpoint(TrDpSession *session, gboolean pinned);
/* The notes since the last call, oldest first (at most TR_DP_NOTES; more are dropped). */
guint tr_dp_session_take_notes(TrDpSession *session, TrDpNote *out, guint max);
/*
 * One forwarding note: the forwarding id of the session a packet went to and, when
 * that session is a transit one (a link to another hub: tr_dp_session_set_transit),
 * the packet's destination address as a host prefix, so the hub knows whom behind
 * the link it was for (family TR_ADDR_NONE otherwise, and for packets that are not
 * IP). Notes to a transit session are kept per (target, destination).
 */
typedef struct {
	uint32_t to;
	TrPrefix dst;
} TrDpForward;
/* The notes since the last call (TR_DP_EVENT_FORWARDED), into @out; returns how many. */
unsigned tr_dp_session_forwarded_take(TrDpSession *session, TrDpForward out[TR_DP_FORWARD_TARGETS]);
/* Packets to @session are noted with their destination (a hub link: TrDpForward). */
void tr_dp_session_set_transit(TrDpSession *session, gboolean transit);

/*
 * Path MTU discovery (common/datapath/pmtu.h drives it): sends a PROBE of @wire_len
 * bytes of UDP payload in @round on a socket that never fragments. Returns 0,
 * or a negative errno (-EMSGSIZE: larger than the kernel knows the path takes).
 */
int tr_dp_session_send_probe(TrDataplane *dp, TrDpSession *session, uint32_t round,
                             size_t wire_len);
/* The largest PROBE length the other end acknowledged in @round (0: none yet). */
unsigned tr_dp_session_probe_ack(TrDpSession *session, uint32_t round);
/*
 * The tunnel MTU on the session's path (0: the device's): larger packets get "packet
 * too big" back to their sender, TCP's MSS is clamped to it, and its runs
 * use UDP_SEGMENT again.
 */
void tr_dp_session_set_mtu(TrDpSession *session, unsigned mtu);
/* The tunnel MTU in force for the session. */
unsigned tr_dp_session_mtu(TrDataplane *dp, TrDpSession *session);

/*
 * A packet from the control plane for @session rather than from the device (a
 * program with no device of its own for it: the load generator): sealed
 * with the control lane and sent on the session's path, over UDP or through
 * tcp_send. FALSE when it cannot go now (no key yet, no path, socket full).
 */
gboolean tr_dp_session_send(TrDataplane *dp, TrDpSession *session, const uint8_t *data, size_t len);

/* Seals a @type message (PING, PONG, CLOSE) with the control lane and sends it over UDP. */
/* ... to @to rather than the session's endpoint (a probe of another candidate). */
gboolean tr_dp_session_send_control_to(TrDataplane *dp, TrDpSession *session, TrDcType type,
                                       const uint8_t *payload, size_t len,
                                       const struct sockaddr *to, socklen_t to_len);
gboolean tr_dp_session_send_control(TrDataplane *dp, TrDpSession *session, TrDcType type,
                                    const uint8_t *payload, size_t len);

/*
 * A sealed datagram that came over the TLS stream: handed to the session's
 * owner worker, which opens and delivers it. Returns FALSE when its inbox is
 * full (the datagram is dropped and counted).
 */
gboolean tr_dp_session_inject(TrDataplane *dp, TrDpSession *session, const uint8_t *data,
                              size_t len);

/* ---- Counters ---------------------------------------------------------------- */

typedef struct {
	guint64 rx_datagrams, rx_batches, rx_gro_runs;
	guint64 tx_datagrams, tx_batches, tx_gso_runs;
	guint64 dev_reads, dev_super_reads, dev_writes, dev_coalesced;
	/* the receive queue stood above queue_target_us: packets marked CE / dropped */
	guint64 rx_ce_marks, rx_queue_drops;
	guint64 rx_drops;     /* unknown receiver, malformed, failed authentication ... */
	guint64 dev_drops;    /* device read/write errors, splitting refused */
	guint64 tx_drops;     /* no key, socket full, no path */
	guint64 tx_gso_split; /* UDP_SEGMENT runs the path refused, sent one by one */
	guint64 tx_too_big; /* packets larger than the session's path: "packet too big" sent back */
	guint64 tx_oversize_tls; /* ... that could not be answered so: sent over the TLS stream */
	guint64 fwd_drops[TR_FWD_DROP_COUNT];
	guint64 handoffs; /* datagrams passed to the owner worker (TLS fallback, misdelivered) */
} TrDpStats;

/* Sums the workers' counters (read with atomic loads). */
void tr_dataplane_stats(TrDataplane *dp, TrDpStats *out);
/* Appends them as JSON object members (no braces). */
void tr_dataplane_stats_json(TrDataplane *dp, GString *out, gboolean *first);

/* ---- Setting up: shared by both daemons ------------------------------------------ */

/* The switchable techniques (options below). */
typedef struct {
	guint threads;         /* 0: one per CPU core */
	gboolean tun_offload;  /* TSO/USO super-packets from the device, checksum offload */
	gboolean coalesce;     /* merge received TCP segments for the device (needs tun_offload) */
	gboolean udp_gso;      /* UDP_SEGMENT runs on send */
	gboolean udp_gro;      /* UDP_GRO on receive */
	guint queue_target_us; /* CoDel's target on the receive queues; 0: off */
	guint express_len;     /* the device's short packets to a queue of their own; 0: off */
	int express_program;   /* tr_dp_tuning_prepare(): its steering program, or -1 */
} TrDpTuning;

/* Every technique on, one thread per core. */
void tr_dp_tuning_init(TrDpTuning *t);
/* The worker count: threads, or the CPU cores, at most TR_DP_WORKERS_MAX. */
guint tr_dp_tuning_workers(const TrDpTuning *t);

/*
 * What needs the privileges the daemon drops at start: the express queue's
 * steering program, for a device with a queue per worker and one more, the
 * express queue, which every worker also reads (kept for the daemon's life;
 * without it, logged once, there is no express queue). CAP_BPF, which only
 * loading it needs, goes when the daemon drops its privileges
 * (tr_process_drop_extra_capabilities()).
 */
void tr_dp_tuning_prepare(TrDpTuning *t, TrDeviceType type);
/* The queues to open the device with: a queue per worker, and the express queue. */
guint tr_dp_tuning_queues(const TrDpTuning *t);
/* Gives a device opened with tr_dp_tuning_queues() its express queue (a notice when it
 * cannot be: then each flow goes to the queue of the worker that last wrote it). */
void tr_dp_tuning_apply_device(const TrDpTuning *t, TrDevice *dev);

/*
 * tr_dp_config_init() and then the parts both daemons share: the device
 * (a worker per queue), the sockets (one per worker when there are as many,
 * else one shared), and the techniques @t and the device allow.
 */
void tr_dp_config_setup(TrDpConfig *cfg, const TrDpTuning *t, TrDevice *dev, const int *udp_fds,
                        guint n_udp);

/*
 * Opens @n UDP sockets in one SO_REUSEPORT group bound to @addr (port 0:
 * one the kernel picks, the same for all) and steers datagrams among them
 * by receiver index. When steering is not possible, keeps one socket. @gro: UDP_GRO;
 * @rx_times: receive times (what queue_target_us measures the wait from).
 * Returns the descriptors (g_free the array, close each) and their number.
 */
int *tr_dp_open_sockets(const struct sockaddr *addr, socklen_t addr_len, guint n, gboolean gro,
                        gboolean rx_times, guint *n_out, GError **error);

G_END_DECLS
