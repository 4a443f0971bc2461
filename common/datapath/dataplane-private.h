/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Internal to common/datapath/dataplane*.c: the data plane's objects and
 * what its files share. dataplane.h has the design and the public API.
 *
 *   dataplane.c           set-up: configuration, workers started and
 *                         stopped, quiescing, counters, sockets
 *   dataplane-table.c     the table the workers read, and its publication
 *   dataplane-session.c   a session: endpoint, events, the control plane's view
 *   dataplane-worker.c    the worker loop; the main loop's side of the wakeup
 *   dataplane-send.c      device -> sessions: routing, sizing, sealing, flushing
 *   dataplane-receive.c   sockets -> device: opening, roaming, coalescing
 *
 * Atomics are C11 <stdatomic.h>, with the weakest order that is enough.
 */
#include "common/datapath/dataplane.h"

#include "common/base/cow-array.h"
#include "common/base/rcu.h"
#include "common/datapath/codel.h"
#include "common/datapath/offload.h"
#include "platform/udp.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

G_BEGIN_DECLS

#define BATCH_MAX     64u
#define SEGS_MAX      128u /* segments of one super-packet */
#define RX_MSGS       8u   /* recvmmsg messages per call, each up to 64 KiB with GRO */
#define RX_MSG_SIZE   65536u
#define RX_POOL       64u            /* decrypted packets waiting for the device */
#define TX_MAX        256u           /* sealed datagrams per flush */
#define ARENA_SIZE    (512u * 1024u) /* sealed datagrams, back to back */
#define GSO_MAX_SEGS  64u            /* datagrams per UDP_SEGMENT message */
#define GSO_MAX_BYTES 65000u
#define INBOX_MAX     1024u
#define OUTBOX_MAX    4096u
#define SEND_WAIT_MS  2 /* socket buffer full: wait this long, a few times */
/* Bytes a worker takes from its socket, or from its device, before it writes out what
 * it has and turns to the other: a packet one way (a call's, a ping's answer) waits
 * behind about this much of a stream the other way (plus one read: up to RX_MSGS
 * datagrams, or one super-packet), not a whole batch (up to 64 x 64 KiB). */
#define TURN_BYTES (256u * 1024u)
/* Bytes a worker takes from the express queue (short packets) before its own turns. */
#define EXPRESS_TURN_BYTES (16u * 1024u)
/* Received packets shorter than this are never marked or dropped by CoDel: a TCP ACK, a
 * ping, a call's audio does not fill the queue; the bulk packets of a stream do. */
#define CODEL_MIN_LEN 512u
/* A read that empties the socket with no more than this in it counts as an empty queue. */
#define CODEL_EMPTY_BYTES (16u * 1024u)
#define EP_WORDS          4u /* an endpoint (sockaddr_in6 fits) in atomic words */

/* What woke a worker: its device queue, its socket, its wakeup, the express queue. */
enum { TAG_TUN = 1, TAG_UDP = 2, TAG_WAKE = 3, TAG_EXPRESS = 4 };

/* The words of TrDpStats (all guint64). */
#define STATS_WORDS (sizeof(TrDpStats) / sizeof(guint64))

/*
 * A worker's counters, word for word a TrDpStats: it alone writes them (a
 * relaxed load and store, no read-modify-write), the control plane reads.
 */
typedef struct {
	_Atomic uint64_t words[STATS_WORDS];
} WorkerStats;

#define WSTAT_ADD(w, word, n)                                                                      \
	atomic_store_explicit(                                                                     \
	        &(w)->stats.words[(word)],                                                         \
	        atomic_load_explicit(&(w)->stats.words[(word)], memory_order_relaxed) + (n),       \
	        memory_order_relaxed)
#define WSTAT(w, field, n) WSTAT_ADD(w, offsetof(TrDpStats, field) / sizeof(guint64), n)
#define WSTAT_FWD_DROP(w, drop, n)                                                                 \
	WSTAT_ADD(w, offsetof(TrDpStats, fwd_drops) / sizeof(guint64) + (unsigned)(drop), n)

/*
 * The sessions a session's packets were lately forwarded to (note_forwarding):
 * a small set, so that a session sending to a few targets in turn is noted
 * once per target and TR_DP_FORWARD_NOTE_USEC, not on every change of target.
 * Workers note (dp_fwd_note), the control plane takes what is new (dp_fwd_take).
 */
typedef struct {
	atomic_uint to[TR_DP_FORWARD_TARGETS]; /* forwarding ids; 0: empty */
	_Atomic int64_t noted[TR_DP_FORWARD_TARGETS];
	/* The destination of a note to a transit session (family 0: none), and a hash of
	 * the slot's target and destination written with them: a slot that two workers
	 * write at once may be torn; the hash then fails and that note is not told. */
	atomic_uint family[TR_DP_FORWARD_TARGETS];
	_Atomic uint64_t dst[TR_DP_FORWARD_TARGETS][2];
	_Atomic uint64_t check[TR_DP_FORWARD_TARGETS];
	atomic_uint unseen; /* bit i: slot i noted since the control plane last took */
} DpFwdNotes;

/* Notes a packet to @to (with @dst, its destination, for a transit target; else NULL)
 * at @now; TRUE when the control plane is to be told. */
gboolean dp_fwd_note(DpFwdNotes *notes, uint32_t to, const TrPrefix *dst, int64_t now);
/* The notes since the last call (at most TR_DP_FORWARD_TARGETS). */
unsigned dp_fwd_take(DpFwdNotes *notes, TrDpForward out[TR_DP_FORWARD_TARGETS]);

struct TrDpSession {
	atomic_int ref;
	TrDataplane *dp;
	TrDc *dc;
	uint32_t id; /* forwarding id; 0: not a forwarding target */
	uint32_t rx_index;
	unsigned owner;
	TrDpSessionCallbacks cb;
	gpointer user_data;
	_Atomic TrPath path;
	_Atomic int64_t last_udp_rx;
	atomic_uint events; /* TrDpEvent bits not yet seen by the control plane (while any:
	                       in dp->raised, or being looked at by the main loop) */
	atomic_uint mtu;    /* the tunnel MTU to this session's endpoint (0: the device's) */
	atomic_bool split;  /* its path refused a UDP_SEGMENT run; send one by one */
	_Atomic uint64_t probe_ack; /* round << 32 | largest PROBE length acknowledged in it */
	/* Pinned (tr_dp_session_pin_endpoint): the control plane chooses the endpoint;
	 * PONGs and datagrams from other endpoints are noted for it (a lock per note). */
	atomic_bool pinned;
	_Atomic int64_t foreign_at; /* when a datagram from another endpoint was last noted */
	pthread_mutex_t notes_lock;
	TrDpNote *notes; /* TR_DP_NOTES (2.4 KiB), allocated when first pinned: most sessions
	                    never are (a hub's 10,000 clients) */
	guint n_notes;
	DpFwdNotes fwd;      /* the targets of its forwarded packets, lately */
	atomic_bool transit; /* a hub link: notes of packets to it carry the destination */
	gboolean removed;    /* control plane only */
	/* The endpoint, under a sequence lock: even = stable. */
	atomic_uint ep_seq;
	_Atomic uint64_t ep_words[EP_WORDS];
	_Atomic socklen_t ep_len_; /* written inside the sequence */
};

typedef struct {
	atomic_int ref;
	TrFwd *fwd;
} FwdRef;

typedef struct {
	uint32_t index;
	TrDpSession *session;
} DpSlot;

/*
 * The immutable table the workers read: the sessions by forwarding id and
 * by receiver index, snapshots of the control plane's live arrays that share
 * their chunks (common/base/cow-array.h), so a publication costs a directory
 * of chunks, not a copy of every session. It holds no reference on its
 * sessions: a removed session's last reference goes to the table that was
 * current when it was removed, and every table that can still show it is
 * freed no later than that one (the epochs of common/base/rcu.h are in
 * publication order).
 */
typedef struct {
	FwdRef *fwd;
	TrCowArray by_id; /* TrDpSession *; [0] unused (the device) */
	TrCowArray slots; /* DpSlot: receiver index -> session, open addressing */
	guint mask;       /* slots - 1 */
	GSList *retired;  /* sessions removed while this table was current (their last
	                     reference; the main thread's only, workers never look) */
} Table;

typedef struct {
	TrDpSession *session;
	uint32_t off, len;
	gboolean tls; /* too big for the session's path: over the TLS stream */
} TxItem;

/* A sealed datagram handed to the worker that owns its session. */
typedef struct {
	TrDpSession *session; /* a reference */
	gboolean tls;         /* came over the TLS stream: no endpoint */
	struct sockaddr_storage from;
	socklen_t from_len;
	guint len;
	uint8_t data[];
} InboxItem;

/* A sealed datagram for the TLS path, or (session NULL) a relay frame, to the main loop. */
typedef struct {
	TrDpSession *session; /* a reference; NULL: a relay frame from @from */
	struct sockaddr_storage from;
	socklen_t from_len;
	guint len;
	uint8_t data[];
} OutItem;

typedef struct {
	TrDataplane *dp;
	unsigned index;
	GThread *thread;
	TrPoller *poller;
	TrWakeup wake;
	pthread_mutex_t gate;
	TrRcuReader *reader;
	int udp_fd;
	gboolean udp_rx; /* this worker receives on udp_fd */
	TrCompressScratch *scratch;
	gint64 now;
	const Table *table;
	unsigned privileges; /* the generation this thread adopted */

	TrPacket *dev_in;
	TrPacket *segs[SEGS_MAX];
	TrPacket *pool[RX_POOL];
	unsigned n_free;
	TrGro gro;
	TrPacket *reply;
	/* The last forwarding decision of each direction, for this batch's table. */
	TrFwdMemo rx_memo, tx_memo;

	uint8_t *rx_bufs;
	TrUdpMsg rx_msgs[RX_MSGS];
	TrCodel codel; /* on udp_fd's receive queue */
	gint64 rx_now; /* monotonic, when the last recvmmsg returned */

	uint8_t *arena;
	size_t arena_used;
	TxItem tx[TX_MAX];
	unsigned n_tx;
	TrUdpMsg tx_msgs[TX_MAX];
	TrDpSession *tx_msg_session[TX_MAX];

	pthread_mutex_t inbox_lock;
	GQueue inbox;

	WorkerStats stats;
} Worker;

/* Locks are POSIX mutexes rather than GMutex so that ThreadSanitizer sees them. */
struct TrDataplane {
	TrDpConfig cfg;
	Worker *workers;
	atomic_bool stop;
	atomic_bool quiesce_req;
	pthread_mutex_t quiesce_lock;
	TrRcu *rcu;
	guint reclaim_id;

	/* Control plane's view, from which tables are built. */
	GPtrArray *sessions; /* every live session */
	FwdRef *fwd;
	/* The sessions by id and receiver index, kept up to date session by
	 * session; a publication snapshots them (no walk over the sessions). */
	struct {
		TrCowArray by_id;
		TrCowArray slots;
		guint used;
	} live;

	/* Worker -> main loop. */
	TrWakeup main_wake;
	atomic_bool main_signaled;
	guint main_watch;
	pthread_mutex_t outbox_lock;
	GQueue outbox;
	guint64 outbox_drops; /* under outbox_lock */
	GPtrArray *raised;    /* under outbox_lock: sessions whose events went from none to
	                         some (a reference each), for the main loop to look at */
};

/* ---- dataplane-session.c ----------------------------------------------------------- */

TrDpSession *dp_session_ref(TrDpSession *session);
void dp_session_unref(TrDpSession *session);
/* Sets the endpoint (the owner worker, or the control plane before publishing). */
void dp_endpoint_write(TrDpSession *session, const struct sockaddr *sa, socklen_t len);
/* Wakes the main loop (once until it looked). */
void dp_signal_main(TrDataplane *dp);
/* Raises TrDpEvent bits of @session for the control plane. */
void dp_session_raise(TrDpSession *session, unsigned events);

/* ---- dataplane-table.c ------------------------------------------------------------- */

void dp_fwd_unref(FwdRef *f);
/* The RCU's destructor of a table. */
void dp_table_free(gpointer table);
/* Builds a table from the control plane's view and publishes it. */
void dp_publish(TrDataplane *dp);
/* Frees the live index (at the end). */
void dp_live_clear(TrDataplane *dp);

/* ---- dataplane-send.c -------------------------------------------------------------- */

/* Reads device queue @queue (a batch, at most about @turn bytes) and sends what it gave:
 * the queue of @w, or the express queue. */
void dp_do_device(Worker *w, unsigned queue, size_t turn);
/* Sends the sealed datagrams of the arena. */
void dp_flush_tx(Worker *w);
/* A packet for @session, from the device (@from NULL) or another session; @flags:
 * TR_PACKET_CSUM_PARTIAL or 0 (its checksum is completed for a session that does
 * not take it partial). */
void dp_to_session(Worker *w, TrDpSession *from, TrDpSession *session, uint8_t *data, size_t len,
                   unsigned flags);
/* To every session the forwarding result names. */
void dp_flood(Worker *w, TrDpSession *from, const TrFwdResult *res, uint8_t *data, size_t len,
              unsigned flags);
/* Larger than the tunnel MTU: answered as a router would, TRUE (dropped). */
gboolean dp_too_big(Worker *w, TrDpSession *from, const uint8_t *data, size_t len);
/*
 * Seals a short control message (PING, PONG, CLOSE, PROBE_ACK) on @lane and
 * sends it at once on @fd, to @to (NULL: the session's endpoint). Returns
 * whether it went out.
 */
/* Notes a PONG or a datagram from another endpoint of a pinned session (the owner worker). */
void dp_session_note(TrDpSession *session, gboolean pong, const uint8_t *payload,
                     const struct sockaddr *from, socklen_t from_len, gint64 now);
gboolean dp_send_control(TrDpSession *session, const struct sockaddr *to, socklen_t to_len,
                         unsigned lane, int fd, TrDcType type, const uint8_t *data, size_t len,
                         gint64 now);

/* ---- dataplane-receive.c ----------------------------------------------------------- */

/* Reads the socket of @w (a batch) and opens what it owns. */
void dp_do_udp(Worker *w);
/* Opens the datagrams other workers or the TLS stream handed to @w. */
void dp_do_inbox(Worker *w);
/* Hands a sealed datagram to the owner of @session; FALSE when its inbox is full. */
gboolean dp_inbox_push(TrDataplane *dp, TrDpSession *session, const uint8_t *data, size_t len,
                       const struct sockaddr *from, socklen_t from_len);
/* Writes one packet to the device queue of @w (@gso: its offload header, or NULL). */
void dp_dev_write(Worker *w, TrPacket *pkt, const TrGso *gso);
/* Writes what the coalescer holds. */
void dp_flush_dev(Worker *w);

/* ---- dataplane-worker.c ------------------------------------------------------------ */

gboolean dp_worker_init(TrDataplane *dp, Worker *w, unsigned index, GError **error);
void dp_worker_clear(Worker *w);
gpointer dp_worker_main(gpointer worker);
/* A relay frame for the hub's control plane (TrDpConfig.relay). */
void dp_relay_to_main(Worker *w, const uint8_t *data, size_t len, const struct sockaddr *from,
                      socklen_t from_len);

/* The main loop's side: data for the TLS path and events, to the control plane. */
gboolean dp_on_main_wake(gint fd, GIOCondition cond, gpointer dp);

/* ---- Read on the packet path ------------------------------------------------------- */

static inline guint
dp_index_hash(uint32_t index)
{
	return (index * 0x9e3779b1u) >> 7;
}

/* The session of a receiver index in @t, or NULL. */
static inline TrDpSession *
dp_table_lookup(const Table *t, uint32_t index)
{
	if (t == NULL || t->slots.n_chunks == 0 || index == 0)
		return NULL;
	for (guint i = dp_index_hash(index) & t->mask, n = 0; n <= t->mask;
	     i = (i + 1) & t->mask, n++) {
		const DpSlot *slot = tr_cow_array_at(&t->slots, i);

		if (slot->index == index)
			return slot->session;
		if (slot->index == 0)
			return NULL;
	}
	return NULL;
}

/* Forwarding ids @t has room for (the largest is one less). */
static inline guint
dp_table_n_ids(const Table *t)
{
	return t ? tr_cow_array_len(&t->by_id) : 0;
}

/* The session of forwarding id @id in @t, or NULL. */
static inline TrDpSession *
dp_table_session(const Table *t, uint32_t id)
{
	if (id >= dp_table_n_ids(t))
		return NULL;
	return *(TrDpSession *const *)tr_cow_array_at(&t->by_id, id);
}

/* Reads the endpoint; 0 when none (or when it kept changing: a few tries). */
static inline socklen_t
dp_endpoint_read(TrDpSession *session, struct sockaddr_storage *out)
{
	for (int tries = 0; tries < 64; tries++) {
		unsigned s1 = atomic_load_explicit(&session->ep_seq, memory_order_acquire), s2;
		uint64_t words[EP_WORDS];
		socklen_t len;

		if (s1 & 1)
			continue;
		/* Acquire loads: the second look at the count cannot move before them. */
		for (unsigned i = 0; i < EP_WORDS; i++)
			words[i] =
			        atomic_load_explicit(&session->ep_words[i], memory_order_acquire);
		len = atomic_load_explicit(&session->ep_len_, memory_order_acquire);
		s2 = atomic_load_explicit(&session->ep_seq, memory_order_relaxed);
		if (s1 != s2)
			continue;
		if (len)
			memcpy(out, words, len);
		return len;
	}
	return 0;
}

/* The tunnel MTU to @session: its path's, when discovery found a smaller one than the device's. */
static inline unsigned
dp_session_mtu(const TrDataplane *dp, TrDpSession *session)
{
	unsigned mtu = atomic_load_explicit(&session->mtu, memory_order_relaxed);

	return mtu && mtu < dp->cfg.mtu ? mtu : dp->cfg.mtu;
}
G_END_DECLS
