/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The data plane's workers (see dataplane.h for the design). A worker's
 * batch: read the device and the socket, each up to `batch` times; seal what
 * the device gave into one arena, datagram after datagram, so that runs to
 * one peer go out as one UDP_SEGMENT message; open what the socket gave into
 * packet buffers that the coalescer merges for the device; flush both at the
 * end of the batch.
 */
#include "common/datapath/dataplane.h"

#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "common/datapath/mangle.h"
#include "common/datapath/offload.h"
#include "common/base/rcu.h"
#include "common/base/watch.h"
#include "platform/process.h"
#include "platform/udp.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

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
#define SEND_WAIT_MS  2  /* socket buffer full: wait this long, a few times */
#define EP_WORDS      4u /* an endpoint (sockaddr_in6 fits) in atomic words */

enum { TAG_TUN = 1, TAG_UDP = 2, TAG_WAKE = 3 };

/* A worker's counters: it alone writes them, the control plane reads. */
#define WSTAT(w, field, n)                                                                         \
	__atomic_store_n(&(w)->stats.field,                                                        \
	                 __atomic_load_n(&(w)->stats.field, __ATOMIC_RELAXED) + (n),               \
	                 __ATOMIC_RELAXED)

struct TrDpPeer {
	gint ref;
	TrDataplane *dp;
	TrDc *dc;
	uint32_t id; /* forwarding id; 0: not a forwarding target */
	uint32_t rx_index;
	unsigned owner;
	TrDpPeerCallbacks cb;
	gpointer data;
	TrPath path;        /* atomic */
	gint64 last_udp_rx; /* atomic */
	unsigned events;    /* atomic: TrDpEvent bits not yet seen by the control plane */
	unsigned mtu;       /* atomic: the tunnel MTU to this peer's endpoint (0: the device's) */
	int split;          /* atomic: its path refused a UDP_SEGMENT run; send one by one */
	uint64_t probe_ack; /* atomic: round << 32 | largest PROBE length acknowledged in it */
	gboolean removed;   /* control plane only */
	/* The endpoint, under a sequence lock: even = stable. */
	unsigned ep_seq;
	uint64_t ep_words[EP_WORDS];
	socklen_t ep_len_; /* written inside the sequence */
};

typedef struct {
	gint ref;
	TrFwd *fwd;
} FwdRef;

/* The immutable table the workers read. */
typedef struct {
	FwdRef *fwd;
	TrDpPeer **by_id; /* [0] unused (the device) */
	guint n_ids;
	struct {
		uint32_t index;
		TrDpPeer *peer;
	} * slots; /* receiver index -> peer, open addressing */
	guint mask;
	TrDpPeer **all; /* every peer, for references */
	guint n_all;
} Table;

typedef struct {
	TrDpPeer *peer;
	uint32_t off, len;
	gboolean tls; /* too big for the peer's path: over the TLS stream */
} TxItem;

typedef struct {
	TrDpPeer *peer; /* a reference */
	gboolean tls;   /* came over the TLS stream: no endpoint */
	struct sockaddr_storage from;
	socklen_t from_len;
	guint len;
	uint8_t data[];
} InboxItem;

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

	uint8_t *rx_bufs;
	TrUdpMsg rx_msgs[RX_MSGS];

	uint8_t *arena;
	size_t arena_used;
	TxItem tx[TX_MAX];
	unsigned n_tx;
	TrUdpMsg tx_msgs[TX_MAX];
	TrDpPeer *tx_msg_peer[TX_MAX];

	pthread_mutex_t inbox_lock;
	GQueue inbox;

	TrDpStats stats;
} Worker;

/* Locks are POSIX mutexes rather than GMutex so that ThreadSanitizer sees them. */
struct TrDataplane {
	TrDpConfig cfg;
	Worker *workers;
	int stop;        /* atomic */
	int quiesce_req; /* atomic */
	pthread_mutex_t quiesce_lock;
	TrRcu *rcu;
	guint reclaim_id;

	/* Control plane's view, from which tables are built. */
	GPtrArray *peers; /* every live peer */
	FwdRef *fwd;

	/* Worker -> main loop. */
	TrWakeup main_wake;
	int main_signaled; /* atomic */
	guint main_watch;
	pthread_mutex_t outbox_lock;
	GQueue outbox;
	guint64 outbox_drops; /* under outbox_lock */
};

/* ---- Peers and tables -------------------------------------------------------- */

static TrDpPeer *
peer_ref(TrDpPeer *peer)
{
	g_atomic_int_inc(&peer->ref);
	return peer;
}

static void
peer_unref(TrDpPeer *peer)
{
	if (peer && g_atomic_int_dec_and_test(&peer->ref)) {
		tr_dc_free(peer->dc);
		g_free(peer);
	}
}

static void
fwd_unref(FwdRef *f)
{
	if (f && g_atomic_int_dec_and_test(&f->ref)) {
		tr_fwd_free(f->fwd);
		g_free(f);
	}
}

static void
table_free(gpointer p)
{
	Table *t = p;

	for (guint i = 0; i < t->n_all; i++)
		peer_unref(t->all[i]);
	fwd_unref(t->fwd);
	g_free(t->all);
	g_free(t->by_id);
	g_free(t->slots);
	g_free(t);
}

static inline guint
index_hash(uint32_t index)
{
	return (index * 0x9e3779b1u) >> 7;
}

static TrDpPeer *
table_lookup(const Table *t, uint32_t index)
{
	if (t == NULL || t->slots == NULL || index == 0)
		return NULL;
	for (guint i = index_hash(index) & t->mask, n = 0; n <= t->mask;
	     i = (i + 1) & t->mask, n++) {
		if (t->slots[i].index == index)
			return t->slots[i].peer;
		if (t->slots[i].index == 0)
			return NULL;
	}
	return NULL;
}

/* Builds a table from the control plane's view and publishes it. */
static void
publish(TrDataplane *dp)
{
	Table *t = g_new0(Table, 1);
	guint n = dp->peers->len, size = 4;

	if (dp->fwd) {
		g_atomic_int_inc(&dp->fwd->ref);
		t->fwd = dp->fwd;
	}
	t->n_all = n;
	t->all = g_new(TrDpPeer *, MAX(n, 1));
	t->n_ids = 2;
	for (guint i = 0; i < n; i++) {
		TrDpPeer *p = dp->peers->pdata[i];
		t->all[i] = peer_ref(p);
		if (p->id >= t->n_ids)
			t->n_ids = p->id + 1;
	}
	t->by_id = g_new0(TrDpPeer *, t->n_ids);
	while (size < 2 * n)
		size *= 2;
	t->slots = g_malloc0(sizeof(*t->slots) * size);
	t->mask = size - 1;
	for (guint i = 0; i < n; i++) {
		TrDpPeer *p = t->all[i];
		guint j = index_hash(p->rx_index) & t->mask;

		if (p->id)
			t->by_id[p->id] = p;
		while (t->slots[j].index != 0)
			j = (j + 1) & t->mask;
		t->slots[j].index = p->rx_index;
		t->slots[j].peer = p;
	}
	tr_rcu_publish(dp->rcu, t);
}

static gboolean
on_reclaim(gpointer p)
{
	TrDataplane *dp = p;

	tr_rcu_reclaim(dp->rcu);
	return G_SOURCE_CONTINUE;
}

/* ---- Endpoints: a sequence lock over atomic words ----------------------------- */

static void
ep_write(TrDpPeer *peer, const struct sockaddr *sa, socklen_t len)
{
	uint64_t words[EP_WORDS] = {0};
	unsigned seq;

	if ((size_t)len > sizeof(words)) /* socklen_t is an int on Windows */
		len = 0;
	if (len)
		memcpy(words, sa, len);
	/* Writers (the owner worker, or the control plane before the peer is
	 * published) are serialised by taking the odd count. */
	do {
		seq = __atomic_load_n(&peer->ep_seq, __ATOMIC_RELAXED);
	} while ((seq & 1) || !__atomic_compare_exchange_n(&peer->ep_seq, &seq, seq + 1, FALSE,
	                                                   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	for (unsigned i = 0; i < EP_WORDS; i++)
		__atomic_store_n(&peer->ep_words[i], words[i], __ATOMIC_RELAXED);
	__atomic_store_n(&peer->ep_len_, len, __ATOMIC_RELAXED);
	__atomic_store_n(&peer->ep_seq, seq + 2, __ATOMIC_RELEASE);
}

/* Reads the endpoint; 0 when none (or when it kept changing: a few tries). */
static socklen_t
ep_read(TrDpPeer *peer, struct sockaddr_storage *out)
{
	for (int tries = 0; tries < 64; tries++) {
		unsigned s1 = __atomic_load_n(&peer->ep_seq, __ATOMIC_ACQUIRE), s2;
		uint64_t words[EP_WORDS];
		socklen_t len;

		if (s1 & 1)
			continue;
		/* Acquire loads: the second look at the count cannot move before them. */
		for (unsigned i = 0; i < EP_WORDS; i++)
			words[i] = __atomic_load_n(&peer->ep_words[i], __ATOMIC_ACQUIRE);
		len = __atomic_load_n(&peer->ep_len_, __ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&peer->ep_seq, __ATOMIC_RELAXED);
		if (s1 != s2)
			continue;
		if (len)
			memcpy(out, words, len);
		return len;
	}
	return 0;
}

/* ---- Worker -> control plane ------------------------------------------------------ */

static void
signal_main(TrDataplane *dp)
{
	if (__atomic_exchange_n(&dp->main_signaled, 1, __ATOMIC_ACQ_REL) == 0)
		tr_wakeup_signal(&dp->main_wake);
}

static void
peer_event(TrDpPeer *peer, unsigned ev)
{
	if (__atomic_fetch_or(&peer->events, ev, __ATOMIC_ACQ_REL) == 0)
		signal_main(peer->dp);
}

typedef struct {
	TrDpPeer *peer;
	guint len;
	uint8_t data[];
} OutItem;

/* Data for a peer whose path is the TLS stream: the slow path, through the main loop. */
static void
to_outbox(Worker *w, TrDpPeer *peer, const uint8_t *data, size_t len)
{
	TrDataplane *dp = w->dp;
	OutItem *item;

	pthread_mutex_lock(&dp->outbox_lock);
	if (dp->outbox.length >= OUTBOX_MAX) {
		dp->outbox_drops++;
		pthread_mutex_unlock(&dp->outbox_lock);
		WSTAT(w, tx_drops, 1);
		return;
	}
	item = g_malloc(sizeof(*item) + len);
	item->peer = peer_ref(peer);
	item->len = (guint)len;
	memcpy(item->data, data, len);
	g_queue_push_tail(&dp->outbox, item);
	pthread_mutex_unlock(&dp->outbox_lock);
	signal_main(dp);
}

/* ---- Sending -------------------------------------------------------------------- */

/*
 * Sends the messages of a flush (@peers[i]: whom msgs[i] goes to). A path
 * that refuses a size (a run's segment size, or a datagram larger than the
 * path MTU the kernel learnt from ICMP) is reported to the control plane,
 * which searches the path MTU again; the peer's runs go one by one until then.
 */
static void
send_msgs(Worker *w, TrUdpMsg *msgs, TrDpPeer **peers, unsigned n)
{
	unsigned done = 0;
	int waits = 0;

	while (done < n) {
		int r = tr_udp_send_batch(w->udp_fd, msgs + done, n - done);

		for (int i = 0; i < r; i++) {
			if (msgs[done + (unsigned)i].flags & TR_UDP_MSG_SPLIT) {
				TrDpPeer *peer = peers[done + (unsigned)i];

				WSTAT(w, tx_gso_split, 1);
				if (!__atomic_exchange_n(&peer->split, 1, __ATOMIC_RELAXED))
					peer_event(peer, TR_DP_EVENT_TOO_BIG);
			}
		}
		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (r == -EMSGSIZE) {
			WSTAT(w, tx_too_big, 1);
			peer_event(peers[done], TR_DP_EVENT_TOO_BIG);
		}
		if (r == -EAGAIN && waits < 3) {
			/* Socket buffer full: give the kernel a moment, then drop as a network
			 * would. */
			tr_sock_wait_writable(w->udp_fd, SEND_WAIT_MS);
			waits++;
			continue;
		}
		/* Skip the message that failed. */
		WSTAT(w, tx_drops,
		      msgs[done].segment
		              ? (msgs[done].len + msgs[done].segment - 1) / msgs[done].segment
		              : 1);
		done++;
	}
}

/* Sends the sealed datagrams of the arena, runs to one peer as one message. */
static void
flush_tx(Worker *w)
{
	TrDataplane *dp = w->dp;
	unsigned m = 0, i = 0;
	TrDpPeer *last = NULL;
	struct sockaddr_storage ep;
	socklen_t ep_len = 0;

	while (i < w->n_tx) {
		TxItem *it = &w->tx[i];
		TrDpPeer *peer = it->peer;
		unsigned j = i + 1;
		size_t total = it->len;
		TrUdpMsg *msg;

		if (it->tls || __atomic_load_n(&peer->path, __ATOMIC_RELAXED) != TR_PATH_UDP) {
			if (it->tls ||
			    __atomic_load_n(&peer->path, __ATOMIC_RELAXED) == TR_PATH_TCP)
				to_outbox(w, peer, w->arena + it->off, it->len);
			else
				WSTAT(w, tx_drops, 1);
			i++;
			continue;
		}
		if (peer != last) {
			ep_len = ep_read(peer, &ep);
			last = peer;
		}
		if (ep_len == 0) {
			WSTAT(w, tx_drops, 1);
			i++;
			continue;
		}
		/* A run: same peer, equal sizes (the last may be shorter), back to back. */
		if (dp->cfg.udp_gso && !__atomic_load_n(&peer->split, __ATOMIC_RELAXED)) {
			while (j < w->n_tx && w->tx[j].peer == peer && !w->tx[j].tls &&
			       w->tx[j].len <= it->len &&
			       w->tx[j].off == w->tx[j - 1].off + w->tx[j - 1].len &&
			       j - i < GSO_MAX_SEGS && total + w->tx[j].len <= GSO_MAX_BYTES) {
				total += w->tx[j].len;
				j++;
				if (w->tx[j - 1].len < it->len)
					break;
			}
		}
		w->tx_msg_peer[m] = peer;
		msg = &w->tx_msgs[m++];
		msg->data = w->arena + it->off;
		msg->len = total;
		msg->size = total;
		msg->segment = j - i > 1 ? (uint16_t)it->len : 0;
		memcpy(&msg->addr, &ep, ep_len);
		msg->addr_len = ep_len;
		if (msg->segment)
			WSTAT(w, tx_gso_runs, 1);
		WSTAT(w, tx_datagrams, j - i);
		i = j;
	}
	if (m) {
		send_msgs(w, w->tx_msgs, w->tx_msg_peer, m);
		WSTAT(w, tx_batches, 1);
	}
	w->n_tx = 0;
	w->arena_used = 0;
}

/* Seals @len bytes for @peer into the arena (@tls: to go over its TLS stream). */
static void
stage_tx(Worker *w, TrDpPeer *peer, const uint8_t *data, size_t len, gboolean tls)
{
	int r;

	if (peer == NULL)
		return;
	if (w->n_tx == TX_MAX || ARENA_SIZE - w->arena_used < len + TR_DC_OVERHEAD)
		flush_tx(w);
	r = tr_dc_seal(peer->dc, w->index, w->scratch, TR_DC_DATA, data, len,
	               w->arena + w->arena_used, ARENA_SIZE - w->arena_used, w->now);
	if (r < 0) {
		WSTAT(w, tx_drops, 1);
		return;
	}
	w->tx[w->n_tx++] = (TxItem){peer, (uint32_t)w->arena_used, (uint32_t)r, tls};
	w->arena_used += (size_t)r;
}

/* A control message (PONG) from a worker: sealed and sent at once. */
/*
 * Seals a short control message (PING, PONG, CLOSE) on @lane and sends it
 * at once on @fd. Returns whether it went out.
 */
static gboolean
send_control(TrDpPeer *peer, unsigned lane, int fd, TrDcType type, const uint8_t *data, size_t len,
             gint64 now)
{
	uint8_t buf[TR_DC_OVERHEAD + 64];
	struct sockaddr_storage ep;
	socklen_t ep_len = ep_read(peer, &ep);
	int r;

	if (ep_len == 0 || len > 64)
		return FALSE;
	r = tr_dc_seal(peer->dc, lane, NULL, type, data, len, buf, sizeof(buf), now);
	if (r < 0)
		return FALSE;
	return tr_sock_sendto(fd, buf, (size_t)r, (struct sockaddr *)&ep, ep_len) == r;
}

/* ---- Writing to the device --------------------------------------------------------- */

static TrPacket *pool_get(Worker *w);

static void
pool_put(Worker *w, TrPacket *pkt)
{
	w->pool[w->n_free++] = pkt;
}

static void
dev_write(Worker *w, TrPacket *pkt, const TrGso *gso)
{
	TrDataplane *dp = w->dp;

	if (tr_device_write_gso(dp->cfg.dev, w->index, gso, tr_packet_data(pkt), pkt->len) < 0)
		WSTAT(w, dev_drops, 1);
	else
		WSTAT(w, dev_writes, 1);
}

static void
flush_dev(Worker *w)
{
	TrGro *gro = &w->gro;

	if (gro->n == 0)
		return;
	tr_gro_finish(gro);
	for (unsigned i = 0; i < gro->n; i++) {
		TrGroItem *it = &gro->items[i];
		if (it->gso.type != TR_GSO_NONE)
			WSTAT(w, dev_coalesced, 1);
		dev_write(w, it->pkt,
		          it->gso.type != TR_GSO_NONE || it->gso.needs_csum ? &it->gso : NULL);
		pool_put(w, it->pkt);
	}
	tr_gro_reset(gro);
}

static TrPacket *
pool_get(Worker *w)
{
	if (w->n_free == 0)
		flush_dev(w);
	g_assert(w->n_free > 0);
	return w->pool[--w->n_free];
}

/* A packet for the device: into the coalescer (which keeps or merges it). */
static void
stage_dev(Worker *w, TrPacket *pkt)
{
	if (w->gro.n == TR_GRO_MAX)
		flush_dev(w);
	if (tr_gro_add(&w->gro, pkt))
		pool_put(w, pkt);
}

/* ---- Forwarding ------------------------------------------------------------------ */

/* The Ethernet header a tap frame carries beyond its IP packet. */
static unsigned
frame_overhead(const TrDataplane *dp)
{
	return dp->cfg.frame == TR_FRAME_ETHERNET ? 14 : 0;
}

/*
 * Tells the sender of a packet larger than @mtu so, as a router would (ICMP
 * "fragmentation needed" or "packet too big"). @from NULL: it came from the
 * device. FALSE when no such answer can be made (IPv4 without DF, IPv6 no
 * larger than 1280, an ICMP error itself, broadcast).
 */
static gboolean
answer_too_big(Worker *w, TrDpPeer *from, const uint8_t *data, size_t len, unsigned mtu)
{
	size_t n;

	tr_packet_reset(w->reply);
	n = tr_mangle_build_ptb(data, len, w->dp->cfg.frame, mtu, tr_packet_data(w->reply),
	                        TR_PTB_MAX);
	if (n == 0)
		return FALSE;
	w->reply->len = (uint32_t)n;
	if (from == NULL)
		dev_write(w, w->reply, NULL);
	else
		stage_tx(w, from, tr_packet_data(w->reply), n, FALSE);
	return TRUE;
}

/* Too big for the tunnel: answer as a router would and drop it. */
static gboolean
too_big(Worker *w, TrDpPeer *from, const uint8_t *data, size_t len)
{
	TrDataplane *dp = w->dp;

	if (len <= dp->cfg.mtu + frame_overhead(dp))
		return FALSE;
	(void)answer_too_big(w, from, data, len, dp->cfg.mtu);
	return TRUE;
}

/* The tunnel MTU to @peer: its path's, when discovery found a smaller one than the device's. */
static unsigned
peer_mtu(const TrDataplane *dp, TrDpPeer *peer)
{
	unsigned mtu = __atomic_load_n(&peer->mtu, __ATOMIC_RELAXED);

	return mtu && mtu < dp->cfg.mtu ? mtu : dp->cfg.mtu;
}

/*
 * A packet for @peer, from the device (@from NULL) or another peer. Sized
 * to the peer's path: TCP's MSS is clamped to it, and a packet larger than
 * the path takes gets "packet too big" back to its sender; one that cannot
 * be answered so (IPv4 without DF, a flood) goes over the peer's TLS stream
 * rather than being lost.
 */
static void
to_peer(Worker *w, TrDpPeer *from, TrDpPeer *peer, uint8_t *data, size_t len)
{
	TrDataplane *dp = w->dp;
	unsigned mtu;

	if (peer == NULL)
		return;
	mtu = peer_mtu(dp, peer);
	if (mtu == dp->cfg.mtu) {
		stage_tx(w, peer, data, len, FALSE);
		return;
	}
	tr_mangle_clamp_mss(data, len, dp->cfg.frame, mtu);
	if (len <= mtu + frame_overhead(dp)) {
		stage_tx(w, peer, data, len, FALSE);
		return;
	}
	if (answer_too_big(w, from, data, len, mtu)) {
		WSTAT(w, tx_too_big, 1);
		return;
	}
	WSTAT(w, tx_oversize_tls, 1);
	stage_tx(w, peer, data, len, TRUE);
}

static void
flood(Worker *w, TrDpPeer *from, const TrFwdResult *res, uint8_t *data, size_t len)
{
	const Table *t = w->table;

	for (guint i = 1; i < t->n_ids; i++) {
		if (i != res->flood_except && t->by_id[i])
			to_peer(w, from, t->by_id[i], data, len);
	}
}

/* A packet the device gave. */
static void
from_device(Worker *w, uint8_t *data, size_t len)
{
	TrDataplane *dp = w->dp;
	const Table *t = w->table;
	TrFwdResult res;

	if (too_big(w, NULL, data, len))
		return;
	tr_mangle_clamp_mss(data, len, dp->cfg.frame, dp->cfg.mtu);
	if (!dp->cfg.hub) {
		to_peer(w, NULL, t->n_ids > 1 ? t->by_id[1] : NULL, data, len);
		return;
	}
	if (t->fwd == NULL)
		return;
	switch (tr_fwd_decide(t->fwd->fwd, data, len, TR_PEER_LOCAL, w->now, &res)) {
	case TR_FWD_PEER:
		to_peer(w, NULL, res.peer < t->n_ids ? t->by_id[res.peer] : NULL, data, len);
		break;
	case TR_FWD_FLOOD:
		flood(w, NULL, &res, data, len);
		break;
	case TR_FWD_LOCAL:
		break; /* from the device back to it: a loop */
	case TR_FWD_DROP:
		WSTAT(w, fwd_drops[res.drop], 1);
		break;
	}
}

/* A packet a peer sent (in @pkt, which this function consumes). */
static void
from_peer(Worker *w, TrDpPeer *peer, TrPacket *pkt)
{
	TrDataplane *dp = w->dp;
	const Table *t = w->table;
	uint8_t *data = tr_packet_data(pkt);
	TrFwdResult res;

	if (!dp->cfg.hub) {
		/* The answer to a SYN sized for this peer's path too (the MSS is clamped both
		 * ways). */
		tr_mangle_clamp_mss(data, pkt->len, dp->cfg.frame, peer_mtu(dp, peer));
		stage_dev(w, pkt);
		return;
	}
	if (peer->id == 0 || t->fwd == NULL || too_big(w, peer, data, pkt->len)) {
		pool_put(w, pkt);
		return;
	}
	tr_mangle_clamp_mss(data, pkt->len, dp->cfg.frame, peer_mtu(dp, peer));
	switch (tr_fwd_decide(t->fwd->fwd, data, pkt->len, peer->id, w->now, &res)) {
	case TR_FWD_LOCAL:
		stage_dev(w, pkt);
		return;
	case TR_FWD_PEER:
		if (dp->cfg.client_to_client)
			to_peer(w, peer, res.peer < t->n_ids ? t->by_id[res.peer] : NULL, data,
			        pkt->len);
		else
			WSTAT(w, fwd_drops[TR_FWD_DROP_NO_ROUTE], 1);
		break;
	case TR_FWD_FLOOD:
		if (dp->cfg.client_to_client)
			flood(w, peer, &res, data, pkt->len);
		if (res.flood_local) {
			stage_dev(w, pkt);
			return;
		}
		break;
	case TR_FWD_DROP:
		WSTAT(w, fwd_drops[res.drop], 1);
		break;
	}
	pool_put(w, pkt);
}

/* ---- Receiving ------------------------------------------------------------------- */

/*
 * Queues a sealed datagram for the worker that owns @peer (from another
 * worker, or from the TLS stream when @from is NULL) and wakes it. The slow
 * path: a lock and an allocation. FALSE when its inbox is full.
 */
static gboolean
inbox_push(TrDataplane *dp, TrDpPeer *peer, const uint8_t *data, size_t len,
           const struct sockaddr *from, socklen_t from_len)
{
	Worker *owner = &dp->workers[peer->owner];
	InboxItem *item;

	pthread_mutex_lock(&owner->inbox_lock);
	if (owner->inbox.length >= INBOX_MAX) {
		pthread_mutex_unlock(&owner->inbox_lock);
		return FALSE;
	}
	item = g_malloc(sizeof(*item) + len);
	item->peer = peer_ref(peer);
	item->tls = from == NULL;
	item->from_len = from && (size_t)from_len <= sizeof(item->from) ? from_len : 0;
	if (item->from_len)
		memcpy(&item->from, from, item->from_len);
	item->len = (guint)len;
	memcpy(item->data, data, len);
	g_queue_push_tail(&owner->inbox, item);
	pthread_mutex_unlock(&owner->inbox_lock);
	tr_wakeup_signal(&owner->wake);
	return TRUE;
}

/* An authenticated datagram from @peer over UDP from @from. */
static void
heard(Worker *w, TrDpPeer *peer, const struct sockaddr *from, socklen_t from_len)
{
	gint64 last = __atomic_load_n(&peer->last_udp_rx, __ATOMIC_RELAXED);
	struct sockaddr_storage ep;
	socklen_t ep_len;

	/* A store per 50 ms is plenty for liveness, and keeps the line quiet. */
	if (w->now - last >= 50000) {
		__atomic_store_n(&peer->last_udp_rx, w->now, __ATOMIC_RELAXED);
		if (last == 0 || w->now - last >= G_USEC_PER_SEC)
			peer_event(peer, TR_DP_EVENT_UDP_HEARD);
	}
	ep_len = ep_read(peer, &ep);
	if ((size_t)from_len <= sizeof(peer->ep_words) &&
	    (ep_len != from_len || memcmp(&ep, from, from_len) != 0)) {
		ep_write(peer, from, from_len);
		peer_event(peer, TR_DP_EVENT_ROAMED);
	}
}

/* Keeps the largest length acknowledged in the latest round. */
static void
probe_acked(TrDpPeer *peer, uint32_t round, unsigned len)
{
	uint64_t want = (uint64_t)round << 32 | len;
	uint64_t cur = __atomic_load_n(&peer->probe_ack, __ATOMIC_RELAXED);

	do {
		uint32_t cur_round = (uint32_t)(cur >> 32);

		/* rounds only grow (a wrap after 2^32 rounds is harmless: one round lost) */
		if (cur_round > round || (cur_round == round && (uint32_t)cur >= len))
			return;
	} while (!__atomic_compare_exchange_n(&peer->probe_ack, &cur, want, TRUE, __ATOMIC_RELAXED,
	                                      __ATOMIC_RELAXED));
}

/* One sealed datagram for @peer (owned by this worker). */
static void
open_datagram(Worker *w, TrDpPeer *peer, uint8_t *wire, size_t len, const struct sockaddr *from,
              socklen_t from_len)
{
	TrPacket *pkt = pool_get(w);
	TrDcType type;

	if (tr_dc_open(peer->dc, w->scratch, wire, len, pkt, &type, w->now) < 0) {
		WSTAT(w, rx_drops, 1);
		pool_put(w, pkt);
		return;
	}
	if (from)
		heard(w, peer, from, from_len);
	switch (type) {
	case TR_DC_DATA:
		from_peer(w, peer, pkt);
		return;
	case TR_DC_PING:
		if (from)
			send_control(peer, w->index, w->udp_fd, TR_DC_PONG, tr_packet_data(pkt),
			             pkt->len, w->now);
		break;
	case TR_DC_PONG:
		break;
	case TR_DC_CLOSE:
		peer_event(peer, TR_DP_EVENT_CLOSED);
		break;
	case TR_DC_PROBE:
		/* The answer says how long the probe was when it arrived, in a short datagram. */
		if (from && pkt->len >= 4) {
			uint8_t ack[6];

			memcpy(ack, tr_packet_data(pkt), 4);
			tr_store_be16(ack + 4, (uint16_t)MIN(len, UINT16_MAX));
			send_control(peer, w->index, w->udp_fd, TR_DC_PROBE_ACK, ack, sizeof(ack),
			             w->now);
		}
		break;
	case TR_DC_PROBE_ACK:
		if (pkt->len >= 6)
			probe_acked(peer, tr_load_be32(tr_packet_data(pkt)),
			            tr_load_be16(tr_packet_data(pkt) + 4));
		break;
	}
	pool_put(w, pkt);
}

static void
rx_datagram(Worker *w, uint8_t *wire, size_t len, const struct sockaddr *from, socklen_t from_len)
{
	TrDcHeader h;
	TrDpPeer *peer;

	WSTAT(w, rx_datagrams, 1);
	if (tr_dc_peek(&w->dp->cfg.magic, wire, len, &h) < 0) {
		WSTAT(w, rx_drops, 1);
		return;
	}
	peer = table_lookup(w->table, h.receiver_index);
	if (peer == NULL) {
		WSTAT(w, rx_drops, 1);
		return;
	}
	if (peer->owner != w->index) {
		if (inbox_push(w->dp, peer, wire, len, from, from_len))
			WSTAT(w, handoffs, 1);
		else
			WSTAT(w, rx_drops, 1);
		return;
	}
	open_datagram(w, peer, wire, len, from, from_len);
}

static void
do_udp(Worker *w)
{
	unsigned budget = w->dp->cfg.batch;

	while (budget > 0) {
		int n = tr_udp_recv_batch(w->udp_fd, w->rx_msgs, MIN(budget, RX_MSGS));

		if (n <= 0)
			break;
		WSTAT(w, rx_batches, 1);
		for (int i = 0; i < n; i++) {
			TrUdpMsg *m = &w->rx_msgs[i];
			size_t seg = m->segment ? m->segment : m->len;

			if (m->segment)
				WSTAT(w, rx_gro_runs, 1);
			for (size_t off = 0; off < m->len; off += seg)
				rx_datagram(w, m->data + off, MIN(seg, m->len - off),
				            (struct sockaddr *)&m->addr, m->addr_len);
			m->len = 0;
		}
		budget -= MIN(budget, (unsigned)n);
	}
}

static void
do_inbox(Worker *w)
{
	GQueue q = G_QUEUE_INIT;
	InboxItem *item;

	pthread_mutex_lock(&w->inbox_lock);
	q = w->inbox;
	g_queue_init(&w->inbox);
	pthread_mutex_unlock(&w->inbox_lock);
	while ((item = g_queue_pop_head(&q)) != NULL) {
		/* Only while the peer is still in the table: it may have gone meanwhile. */
		if (table_lookup(w->table, item->peer->rx_index) == item->peer)
			open_datagram(w, item->peer, item->data, item->len,
			              item->tls ? NULL : (struct sockaddr *)&item->from,
			              item->from_len);
		peer_unref(item->peer);
		g_free(item);
	}
}

static void
do_tun(Worker *w)
{
	TrDataplane *dp = w->dp;

	for (unsigned i = 0; i < dp->cfg.batch; i++) {
		TrPacket *in = w->dev_in;
		TrGso gso;
		ssize_t n;
		int k;

		tr_packet_reset(in);
		n = tr_device_read_gso(dp->cfg.dev, w->index, tr_packet_data(in),
		                       TR_PACKET_PAYLOAD_MAX, &gso);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			WSTAT(w, dev_drops, 1);
			continue;
		}
		WSTAT(w, dev_reads, 1);
		if (gso.type == TR_GSO_NONE && !gso.needs_csum) {
			from_device(w, tr_packet_data(in), (size_t)n);
			continue;
		}
		k = tr_gso_split(&gso, tr_packet_data(in), (size_t)n, w->segs, SEGS_MAX);
		if (k < 0) {
			WSTAT(w, dev_drops, 1);
			continue;
		}
		if (gso.type != TR_GSO_NONE)
			WSTAT(w, dev_super_reads, 1);
		for (int j = 0; j < k; j++)
			from_device(w, tr_packet_data(w->segs[j]), w->segs[j]->len);
	}
}

static void
wait_if_quiescing(TrDataplane *dp)
{
	if (__atomic_load_n(&dp->quiesce_req, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&dp->quiesce_lock);
		pthread_mutex_unlock(&dp->quiesce_lock);
	}
}

static gpointer
worker_main(gpointer p)
{
	Worker *w = p;
	TrDataplane *dp = w->dp;

	while (!__atomic_load_n(&dp->stop, __ATOMIC_ACQUIRE)) {
		TrPollEvent ev[4];
		gboolean tun = FALSE, udp = FALSE;
		int n = tr_poller_wait(w->poller, ev, G_N_ELEMENTS(ev), 250);

		if (__atomic_load_n(&dp->stop, __ATOMIC_ACQUIRE))
			break;
		/* The daemon dropped privileges after this thread started: follow. */
		if (tr_process_privileges_generation() != w->privileges) {
			w->privileges = tr_process_privileges_generation();
			tr_process_adopt_privileges();
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].tag == TAG_TUN)
				tun = TRUE;
			else if (ev[i].tag == TAG_UDP)
				udp = TRUE;
			else
				tr_wakeup_clear(&w->wake);
		}
		wait_if_quiescing(dp);
		pthread_mutex_lock(&w->gate);
		w->table = tr_rcu_read_begin(w->reader);
		w->now = g_get_monotonic_time();
		if (w->table) {
			do_inbox(w);
			if (udp)
				do_udp(w);
			if (tun)
				do_tun(w);
			flush_tx(w);
			flush_dev(w);
		}
		tr_rcu_read_end(w->reader);
		w->table = NULL;
		pthread_mutex_unlock(&w->gate);
	}
	return NULL;
}

/* ---- Control plane ------------------------------------------------------------- */

static gboolean
on_main_wake(gint fd, GIOCondition cond, gpointer p)
{
	TrDataplane *dp = p;
	GQueue q;
	OutItem *item;

	tr_wakeup_clear(&dp->main_wake);
	__atomic_store_n(&dp->main_signaled, 0, __ATOMIC_RELEASE);

	pthread_mutex_lock(&dp->outbox_lock);
	q = dp->outbox;
	g_queue_init(&dp->outbox);
	pthread_mutex_unlock(&dp->outbox_lock);
	while ((item = g_queue_pop_head(&q)) != NULL) {
		if (!item->peer->removed && item->peer->cb.tcp_send)
			item->peer->cb.tcp_send(item->peer, item->data, item->len,
			                        item->peer->data);
		peer_unref(item->peer);
		g_free(item);
	}
	/* A callback may remove peers (itself or others): walk a copy. */
	{
		guint n = dp->peers->len;
		g_autofree TrDpPeer **copy = g_new(TrDpPeer *, MAX(n, 1));

		for (guint i = 0; i < n; i++)
			copy[i] = peer_ref(dp->peers->pdata[i]);
		for (guint i = 0; i < n; i++) {
			TrDpPeer *peer = copy[i];
			unsigned ev = peer->removed ? 0
			                            : __atomic_exchange_n(&peer->events, 0,
			                                                  __ATOMIC_ACQ_REL);

			if (ev && peer->cb.peer_event)
				peer->cb.peer_event(peer, ev, peer->data);
		}
		for (guint i = 0; i < n; i++)
			peer_unref(copy[i]);
	}
	return G_SOURCE_CONTINUE;
}

void
tr_dp_config_init(TrDpConfig *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->n_workers = 1;
	cfg->magic = TR_MAGIC_DEFAULT;
	cfg->frame = TR_FRAME_IP;
	cfg->mtu = TR_MTU_DEFAULT;
	cfg->client_to_client = TRUE;
	cfg->batch = BATCH_MAX;
	cfg->udp_gso = TRUE;
	cfg->coalesce = TRUE;
}

static gboolean
worker_init(TrDataplane *dp, Worker *w, unsigned index, GError **error)
{
	TrPlatError perr = {0};

	w->dp = dp;
	w->index = index;
	pthread_mutex_init(&w->gate, NULL);
	pthread_mutex_init(&w->inbox_lock, NULL);
	g_queue_init(&w->inbox);
	w->wake.rfd = w->wake.wfd = -1;
	w->udp_fd = dp->cfg.udp_fds[dp->cfg.n_udp > 1 ? index : 0];
	w->udp_rx = dp->cfg.n_udp > 1 || index == 0;
	w->reader = tr_rcu_reader_new(dp->rcu, error);
	if (w->reader == NULL)
		return FALSE;
	w->poller = tr_poller_new(&perr);
	if (w->poller == NULL || tr_wakeup_open(&w->wake, &perr) < 0 ||
	    tr_poller_add(w->poller, w->wake.rfd, TAG_WAKE, TR_POLL_IN) < 0 ||
	    tr_poller_add(w->poller, (int)tr_device_queue_fd(dp->cfg.dev, index), TAG_TUN,
	                  TR_POLL_IN) < 0 ||
	    (w->udp_rx && tr_poller_add(w->poller, w->udp_fd, TAG_UDP, TR_POLL_IN) < 0)) {
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "data-plane worker %u: %s", index,
		            perr.message[0] ? perr.message : "cannot poll its descriptors");
		return FALSE;
	}
	w->scratch = tr_compress_scratch_new();
	w->dev_in = g_new(TrPacket, 1);
	w->reply = g_new(TrPacket, 1);
	for (unsigned i = 0; i < SEGS_MAX; i++)
		w->segs[i] = g_new(TrPacket, 1);
	for (unsigned i = 0; i < RX_POOL; i++)
		w->pool[i] = g_new(TrPacket, 1);
	w->n_free = RX_POOL;
	tr_gro_init(&w->gro, dp->cfg.tun_offload && dp->cfg.coalesce);
	w->rx_bufs = g_malloc(RX_MSGS * RX_MSG_SIZE);
	for (unsigned i = 0; i < RX_MSGS; i++) {
		w->rx_msgs[i].data = w->rx_bufs + i * RX_MSG_SIZE;
		w->rx_msgs[i].size = RX_MSG_SIZE;
	}
	w->arena = g_malloc(ARENA_SIZE);
	return TRUE;
}

static void
worker_clear(Worker *w)
{
	InboxItem *item;

	if (w->reader)
		tr_rcu_reader_free(w->reader);
	if (w->poller)
		tr_poller_free(w->poller);
	if (w->wake.rfd >= 0)
		tr_wakeup_close(&w->wake);
	if (w->scratch)
		tr_compress_scratch_free(w->scratch);
	g_free(w->dev_in);
	g_free(w->reply);
	for (unsigned i = 0; i < SEGS_MAX; i++)
		g_free(w->segs[i]);
	/* The pool holds every packet buffer again once the worker stopped. */
	for (unsigned i = 0; i < w->n_free; i++)
		g_free(w->pool[i]);
	g_free(w->rx_bufs);
	g_free(w->arena);
	while ((item = g_queue_pop_head(&w->inbox)) != NULL) {
		peer_unref(item->peer);
		g_free(item);
	}
	pthread_mutex_destroy(&w->gate);
	pthread_mutex_destroy(&w->inbox_lock);
}

TrDataplane *
tr_dataplane_new(const TrDpConfig *cfg, GError **error)
{
	TrDataplane *dp;
	TrPlatError perr = {0};

	if (cfg->n_workers < 1 || cfg->n_workers > TR_DP_WORKERS_MAX ||
	    cfg->n_workers > tr_device_n_queues(cfg->dev) ||
	    (cfg->n_udp != 1 && cfg->n_udp != cfg->n_workers)) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "data plane: %u workers for %u device queues and %u sockets",
		            cfg->n_workers, tr_device_n_queues(cfg->dev), cfg->n_udp);
		return NULL;
	}
	dp = g_new0(TrDataplane, 1);
	dp->cfg = *cfg;
	if (dp->cfg.batch == 0 || dp->cfg.batch > BATCH_MAX)
		dp->cfg.batch = BATCH_MAX;
	pthread_mutex_init(&dp->quiesce_lock, NULL);
	pthread_mutex_init(&dp->outbox_lock, NULL);
	g_queue_init(&dp->outbox);
	dp->rcu = tr_rcu_new(table_free);
	dp->peers = g_ptr_array_new();
	dp->main_wake.rfd = dp->main_wake.wfd = -1;
	dp->workers = g_new0(Worker, cfg->n_workers);
	if (tr_wakeup_open(&dp->main_wake, &perr) < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "data plane: %s", perr.message);
		tr_dataplane_free(dp);
		return NULL;
	}
	for (unsigned i = 0; i < cfg->n_workers; i++) {
		if (!worker_init(dp, &dp->workers[i], i, error)) {
			tr_dataplane_free(dp);
			return NULL;
		}
	}
	publish(dp);
	g_message(
	        "data plane: %u worker%s, %u UDP socket%s; device offloads: %s; UDP GSO %s, GRO %s",
	        cfg->n_workers, cfg->n_workers == 1 ? "" : "s", cfg->n_udp,
	        cfg->n_udp == 1 ? "" : "s",
	        cfg->tun_offload ? (cfg->coalesce ? "TSO, coalescing" : "TSO") : "none",
	        cfg->udp_gso ? "on" : "off", tr_udp_has_gro(cfg->udp_fds[0]) ? "on" : "off");
	dp->main_watch = tr_watch_fd(dp->main_wake.rfd, G_IO_IN, on_main_wake, dp);
	dp->reclaim_id = g_timeout_add(200, on_reclaim, dp);
	for (unsigned i = 0; i < cfg->n_workers; i++) {
		char name[16];
		g_snprintf(name, sizeof(name), "trellis-dp%u", i);
		dp->workers[i].thread = g_thread_new(name, worker_main, &dp->workers[i]);
	}
	return dp;
}

void
tr_dataplane_free(TrDataplane *dp)
{
	OutItem *item;

	if (dp == NULL)
		return;
	__atomic_store_n(&dp->stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < dp->cfg.n_workers; i++) {
		Worker *w = &dp->workers[i];
		if (w->thread) {
			tr_wakeup_signal(&w->wake);
			g_thread_join(w->thread);
		}
	}
	g_clear_handle_id(&dp->main_watch, g_source_remove);
	g_clear_handle_id(&dp->reclaim_id, g_source_remove);
	for (unsigned i = 0; i < dp->cfg.n_workers; i++)
		worker_clear(&dp->workers[i]);
	g_free(dp->workers);
	while ((item = g_queue_pop_head(&dp->outbox)) != NULL) {
		peer_unref(item->peer);
		g_free(item);
	}
	for (guint i = 0; i < dp->peers->len; i++) {
		TrDpPeer *peer = dp->peers->pdata[i];
		peer->removed = TRUE;
		peer_unref(peer);
	}
	g_ptr_array_unref(dp->peers);
	fwd_unref(dp->fwd);
	tr_rcu_free(dp->rcu);
	if (dp->main_wake.rfd >= 0)
		tr_wakeup_close(&dp->main_wake);
	pthread_mutex_destroy(&dp->quiesce_lock);
	pthread_mutex_destroy(&dp->outbox_lock);
	g_free(dp);
}

const TrDpConfig *
tr_dataplane_config(TrDataplane *dp)
{
	return &dp->cfg;
}

unsigned
tr_dataplane_owner(TrDataplane *dp, uint32_t rx_index)
{
	return dp->cfg.n_udp > 1 ? rx_index % dp->cfg.n_udp : 0;
}

TrDpPeer *
tr_dataplane_add_peer(TrDataplane *dp, TrDc *dc, uint32_t id, const struct sockaddr *endpoint,
                      socklen_t endpoint_len, const TrDpPeerCallbacks *cb, gpointer peer_data)
{
	TrDpPeer *peer = g_new0(TrDpPeer, 1);

	peer->ref = 1;
	peer->dp = dp;
	peer->dc = dc;
	peer->id = id;
	peer->rx_index = tr_dc_get_config(dc)->local_index;
	peer->owner = tr_dataplane_owner(dp, peer->rx_index);
	peer->cb = *cb;
	peer->data = peer_data;
	peer->path = TR_PATH_NONE;
	if (endpoint && endpoint_len)
		ep_write(peer, endpoint, endpoint_len);
	g_ptr_array_add(dp->peers, peer);
	publish(dp);
	return peer;
}

void
tr_dataplane_remove_peer(TrDataplane *dp, TrDpPeer *peer)
{
	if (peer == NULL || peer->removed)
		return;
	peer->removed = TRUE;
	g_ptr_array_remove(dp->peers, peer);
	publish(dp);
	peer_unref(peer);
}

void
tr_dataplane_set_peer_id(TrDataplane *dp, TrDpPeer *peer, uint32_t id)
{
	if (peer->id == id)
		return;
	peer->id = id;
	publish(dp);
}

void
tr_dataplane_set_fwd(TrDataplane *dp, TrFwd *fwd)
{
	FwdRef *f = g_new0(FwdRef, 1);

	f->ref = 1;
	f->fwd = fwd;
	fwd_unref(dp->fwd);
	dp->fwd = f;
	publish(dp);
}

void
tr_dataplane_quiesce(TrDataplane *dp)
{
	__atomic_store_n(&dp->quiesce_req, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&dp->quiesce_lock);
	for (unsigned i = 0; i < dp->cfg.n_workers; i++)
		pthread_mutex_lock(&dp->workers[i].gate);
}

void
tr_dataplane_resume(TrDataplane *dp)
{
	for (unsigned i = 0; i < dp->cfg.n_workers; i++)
		pthread_mutex_unlock(&dp->workers[i].gate);
	__atomic_store_n(&dp->quiesce_req, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&dp->quiesce_lock);
}

TrDc *
tr_dp_peer_dc(TrDpPeer *peer)
{
	return peer->dc;
}

const char *
tr_path_name(TrPath path)
{
	switch (path) {
	case TR_PATH_UDP:
		return "udp";
	case TR_PATH_TCP:
		return "tcp";
	default:
		return "none";
	}
}

void
tr_dp_peer_set_path(TrDpPeer *peer, TrPath path)
{
	__atomic_store_n(&peer->path, path, __ATOMIC_RELAXED);
}

socklen_t
tr_dp_peer_endpoint(TrDpPeer *peer, struct sockaddr_storage *out)
{
	return ep_read(peer, out);
}

void
tr_dp_peer_set_endpoint(TrDpPeer *peer, const struct sockaddr *sa, socklen_t len)
{
	ep_write(peer, sa, len);
}

gint64
tr_dp_peer_last_udp_rx(TrDpPeer *peer)
{
	return __atomic_load_n(&peer->last_udp_rx, __ATOMIC_RELAXED);
}

gboolean
tr_dp_peer_send_control(TrDataplane *dp, TrDpPeer *peer, TrDcType type, const uint8_t *payload,
                        size_t len)
{
	return send_control(peer, TR_DP_CONTROL_LANE(dp->cfg.n_workers), dp->cfg.udp_fds[0], type,
	                    payload, len, g_get_monotonic_time());
}

gboolean
tr_dp_peer_send(TrDataplane *dp, TrDpPeer *peer, const uint8_t *data, size_t len)
{
	TrPath path = __atomic_load_n(&peer->path, __ATOMIC_RELAXED);
	g_autofree uint8_t *buf = NULL;
	struct sockaddr_storage ep;
	socklen_t ep_len;
	int n;

	if (len > TR_PACKET_PAYLOAD_MAX || path == TR_PATH_NONE)
		return FALSE;
	buf = g_malloc(len + TR_DC_OVERHEAD);
	n = tr_dc_seal(peer->dc, TR_DP_CONTROL_LANE(dp->cfg.n_workers), NULL, TR_DC_DATA, data, len,
	               buf, len + TR_DC_OVERHEAD, g_get_monotonic_time());
	if (n < 0)
		return FALSE;
	if (path == TR_PATH_TCP) {
		if (peer->cb.tcp_send == NULL)
			return FALSE;
		peer->cb.tcp_send(peer, buf, (size_t)n, peer->data);
		return TRUE;
	}
	ep_len = ep_read(peer, &ep);
	return ep_len > 0 && tr_sock_sendto(dp->cfg.udp_fds[0], buf, (size_t)n,
	                                    (struct sockaddr *)&ep, ep_len) == n;
}

int
tr_dp_peer_send_probe(TrDataplane *dp, TrDpPeer *peer, uint32_t round, size_t wire_len)
{
	struct sockaddr_storage ep;
	socklen_t ep_len = ep_read(peer, &ep);
	size_t overhead = TR_DC_HEADER_LEN + tr_cipher_tag_len(tr_dc_get_config(peer->dc)->cipher);
	g_autofree uint8_t *payload = NULL, *buf = NULL;
	ssize_t r;
	int n;

	if (ep_len == 0)
		return -EDESTADDRREQ;
	if (wire_len < overhead + 4 || wire_len > TR_PACKET_PAYLOAD_MAX)
		return -EINVAL;
	payload = g_malloc0(wire_len - overhead);
	buf = g_malloc(wire_len + TR_DC_OVERHEAD);
	tr_store_be32(payload, round);
	n = tr_dc_seal(peer->dc, TR_DP_CONTROL_LANE(dp->cfg.n_workers), NULL, TR_DC_PROBE, payload,
	               wire_len - overhead, buf, wire_len + TR_DC_OVERHEAD, g_get_monotonic_time());
	if (n < 0)
		return n;
	r = tr_sock_sendto(dp->cfg.udp_fds[0], buf, (size_t)n, (struct sockaddr *)&ep, ep_len);
	return r == n ? 0 : r < 0 ? (int)r : -EIO;
}

unsigned
tr_dp_peer_probe_ack(TrDpPeer *peer, uint32_t round)
{
	uint64_t v = __atomic_load_n(&peer->probe_ack, __ATOMIC_RELAXED);

	return (uint32_t)(v >> 32) == round ? (unsigned)(uint32_t)v : 0;
}

void
tr_dp_peer_set_mtu(TrDpPeer *peer, unsigned mtu)
{
	__atomic_store_n(&peer->mtu, mtu, __ATOMIC_RELAXED);
	/* sized to the path now: runs fit again */
	__atomic_store_n(&peer->split, 0, __ATOMIC_RELAXED);
}

unsigned
tr_dp_peer_mtu(TrDataplane *dp, TrDpPeer *peer)
{
	return peer_mtu(dp, peer);
}

gboolean
tr_dp_peer_inject(TrDataplane *dp, TrDpPeer *peer, const uint8_t *data, size_t len)
{
	return inbox_push(dp, peer, data, len, NULL, 0);
}

/* ---- Counters ---------------------------------------------------------------- */

void
tr_dataplane_stats(TrDataplane *dp, TrDpStats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->cfg.n_workers; i++) {
		const guint64 *src = (const guint64 *)&dp->workers[i].stats;
		guint64 *dst = (guint64 *)out;

		for (size_t k = 0; k < sizeof(TrDpStats) / sizeof(guint64); k++)
			dst[k] += __atomic_load_n(&src[k], __ATOMIC_RELAXED);
	}
}

void
tr_dataplane_stats_json(TrDataplane *dp, GString *out, gboolean *first)
{
	TrDpStats s;
	gboolean f = TRUE;

	tr_dataplane_stats(dp, &s);
	tr_json_key(out, first, "dataplane");
	g_string_append_c(out, '{');
	tr_json_key_uint(out, &f, "workers", dp->cfg.n_workers);
	tr_json_key_uint(out, &f, "rx_datagrams", s.rx_datagrams);
	tr_json_key_uint(out, &f, "rx_batches", s.rx_batches);
	tr_json_key_uint(out, &f, "rx_gro_runs", s.rx_gro_runs);
	tr_json_key_uint(out, &f, "tx_datagrams", s.tx_datagrams);
	tr_json_key_uint(out, &f, "tx_batches", s.tx_batches);
	tr_json_key_uint(out, &f, "tx_gso_runs", s.tx_gso_runs);
	tr_json_key_uint(out, &f, "tx_gso_split", s.tx_gso_split);
	tr_json_key_uint(out, &f, "tx_too_big", s.tx_too_big);
	tr_json_key_uint(out, &f, "tx_oversize_tls", s.tx_oversize_tls);
	tr_json_key_uint(out, &f, "dev_reads", s.dev_reads);
	tr_json_key_uint(out, &f, "dev_super_reads", s.dev_super_reads);
	tr_json_key_uint(out, &f, "dev_writes", s.dev_writes);
	tr_json_key_uint(out, &f, "dev_coalesced", s.dev_coalesced);
	tr_json_key_uint(out, &f, "rx_drops", s.rx_drops);
	tr_json_key_uint(out, &f, "dev_drops", s.dev_drops);
	tr_json_key_uint(out, &f, "tx_drops", s.tx_drops);
	tr_json_key_uint(out, &f, "handoffs", s.handoffs);
	tr_json_key(out, &f, "fwd_drops");
	g_string_append_c(out, '{');
	{
		gboolean g = TRUE;
		for (unsigned i = 1; i < TR_FWD_DROP_COUNT; i++)
			tr_json_key_uint(out, &g, tr_fwd_drop_name((TrFwdDrop)i), s.fwd_drops[i]);
	}
	g_string_append(out, "}}");
}

/* ---- Setting up ------------------------------------------------------------------ */

void
tr_dp_tuning_init(TrDpTuning *t)
{
	memset(t, 0, sizeof(*t));
	t->tun_offload = TRUE;
	t->coalesce = TRUE;
	t->udp_gso = TRUE;
	t->udp_gro = TRUE;
}

guint
tr_dp_tuning_workers(const TrDpTuning *t)
{
	guint n = t->threads ? t->threads : g_get_num_processors();

#ifdef G_OS_WIN32
	/* TAP-Windows6 has one queue, Windows no SO_REUSEPORT groups: one worker. */
	n = 1;
#endif
	return CLAMP(n, 1u, TR_DP_WORKERS_MAX);
}

void
tr_dp_config_setup(TrDpConfig *cfg, const TrDpTuning *t, TrDevice *dev, const int *udp_fds,
                   guint n_udp)
{
	tr_dp_config_init(cfg);
	cfg->dev = dev;
	cfg->n_workers = tr_device_n_queues(dev);
	cfg->udp_fds = udp_fds;
	cfg->n_udp = n_udp == cfg->n_workers ? n_udp : 1;
	cfg->udp_gso = t->udp_gso;
	cfg->tun_offload = (tr_device_offloads(dev) & TR_OFFLOAD_TSO) != 0;
	cfg->coalesce = t->coalesce;
}

/* A socket buffer that rides out a burst of a whole batch from every worker. */
#define SOCKET_BUFFER (8 << 20)

int *
tr_dp_open_sockets(const struct sockaddr *addr, socklen_t addr_len, guint n, gboolean gro,
                   guint *n_out, GError **error)
{
	struct sockaddr_storage ss;
	socklen_t sl = addr_len;
	unsigned flags = (n > 1 ? TR_UDP_REUSEPORT : 0) | (gro ? TR_UDP_GRO : 0);
	int *fds = g_new(int, n);
	TrPlatError perr = {0};
	guint i;

	memcpy(&ss, addr, addr_len);
	for (i = 0; i < n; i++) {
		fds[i] = tr_udp_open((struct sockaddr *)&ss, sl, flags, SOCKET_BUFFER, &perr);
		if (fds[i] < 0)
			break;
		/* The others join the port the first one got. */
		if (i == 0 && getsockname(fds[0], (struct sockaddr *)&ss, &sl) < 0) {
			int e = tr_sock_errno();
			tr_plat_error_set(&perr, e, "getsockname: %s", g_strerror(e));
			tr_sock_close(fds[0]);
			break;
		}
	}
	if (i < n) {
		while (i-- > 0)
			tr_sock_close(fds[i]);
		g_free(fds);
		g_set_error(error, TR_ERROR, TR_ERROR_IO, "UDP: %s", perr.message);
		return NULL;
	}
	if (n > 1 && tr_udp_steer(fds, n, 8 /* the receiver index */, &perr) < 0) {
		g_message("cannot steer datagrams among %u sockets (%s): one socket receives", n,
		          perr.message);
		for (i = 1; i < n; i++)
			tr_sock_close(fds[i]);
		n = 1;
	}
	*n_out = n;
	return fds;
}
