/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One session's data channel: header, key slots, replay windows and the
 * per-packet sealing and opening. The wire format and the rekeying rule are in
 * docs/PROTOCOL.md; the functions here follow it line by line.
 */
#include "common/datapath/datachannel.h"

#include "common/base/error.h"
#include "common/datapath/frame.h"
#include "common/datapath/replay.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

G_STATIC_ASSERT(TR_PACKET_HEADROOM >= TR_DC_HEADER_LEN);
G_STATIC_ASSERT(TR_PACKET_TAILROOM >= TR_CIPHER_TAG_MAX);
G_STATIC_ASSERT(TR_COMPRESS_ID_MAX <= 0x0f);

/* Header field offsets. */
enum {
	HDR_MAGIC = 0,
	HDR_TYPE = 4,
	HDR_KEY_ID = 5,
	HDR_FLAGS = 6,
	HDR_RESERVED = 7,
	HDR_RECEIVER = 8,
	HDR_COUNTER = 12,
	HDR_END = 20,
};
G_STATIC_ASSERT(HDR_END == TR_DC_HEADER_LEN);

#define FLAGS_COMPRESS_MASK 0x0fu /* low 4 bits: TrCompress id */
#define FLAGS_CSUM_PARTIAL  0x10u /* DATA: a TCP segment's checksum left partial */
#define FLAGS_KNOWN         (FLAGS_COMPRESS_MASK | FLAGS_CSUM_PARTIAL) /* others must be 0 */

/* Adaptive compression: after this many packets in a row that did not shrink ... */
#define COMPRESS_MAX_MISSES 8u
/* ... send this many without trying, then try again. */
#define COMPRESS_BACKOFF_PACKETS 512u

typedef enum {
	SLOT_EMPTY,
	SLOT_CURRENT,  /* we send under it; it decrypts */
	SLOT_NEXT,     /* installed, decrypts; we switch to it on activation */
	SLOT_PREVIOUS, /* replaced; decrypts until retire_at */
} SlotState;

/*
 * A slot's keys and replay window: allocated when keys are installed, freed when the
 * slot empties, so that a session with one key (most of the time) holds one window.
 * A sending lane's cipher handle is made from tx_key at the lane's first DATA packet
 * under this key (each lane is one thread's; keys change only with the lanes
 * quiesced): a session holds handles only for the lanes that carry its traffic. Its
 * other packets on a lane without one (a worker's answers to keepalives and path
 * probes: one every few seconds at most) get a handle for that packet only, so an
 * idle session holds none.
 */
typedef struct {
	TrAead *rx;
	TrReplay replay;
	uint8_t tx_key[TR_CIPHER_KEY_LEN];
	unsigned n_tx;
	TrAead *tx[]; /* one per lane (sending thread): a GnuTLS handle is not shared */
} SlotKeys;

typedef struct {
	SlotState state;
	uint32_t epoch;
	uint8_t key_id;
	SlotKeys *keys;              /* NULL: SLOT_EMPTY */
	int64_t activated_at;        /* start of its age for the time limits */
	int64_t retire_at;           /* SLOT_PREVIOUS only */
	_Atomic uint64_t tx_counter; /* next counter to send (several lanes send) */
} KeySlot;

/* Adaptive compression state of one sending lane. */
typedef struct {
	unsigned misses;
	unsigned skip;
} Lane;

/* The words of TrDcStats (all uint64_t). */
#define STATS_WORDS (sizeof(TrDcStats) / sizeof(uint64_t))

struct TrDc {
	TrDcConfig cfg;
	/* Word for word a TrDcStats, updated with relaxed atomic adds: several lanes send. */
	_Atomic uint64_t stats[STATS_WORDS];
	KeySlot slots[2];
	unsigned current;          /* slots[current] is SLOT_CURRENT, or both are empty */
	atomic_bool peer_switched; /* the other end sends under the next key (defer_activation) */
	Lane lanes[];              /* cfg.lanes */
};

#define STAT_ADD(dc, field, n)                                                                     \
	atomic_fetch_add_explicit(&(dc)->stats[offsetof(TrDcStats, field) / sizeof(uint64_t)],     \
	                          (n), memory_order_relaxed)

void
tr_dc_config_init(TrDcConfig *cfg)
{
	*cfg = (TrDcConfig){
	        .magic = TR_MAGIC_DEFAULT,
	        .cipher = tr_cipher_default(),
	        .compress = TR_COMPRESS_NONE,
	        .compress_adaptive = TRUE,
	        .rekey_after_packets = TR_DC_REKEY_AFTER_PACKETS,
	        .reject_after_packets = TR_DC_REJECT_AFTER_PACKETS,
	        .rekey_after_usec = TR_DC_REKEY_AFTER_USEC,
	        .reject_after_usec = TR_DC_REJECT_AFTER_USEC,
	        .key_grace_usec = TR_DC_KEY_GRACE_USEC,
	        .lanes = 1,
	};
}

static const char *const drop_names[TR_DC_DROP_COUNT] = {
        [TR_DC_DROP_SHORT] = "short",
        [TR_DC_DROP_MAGIC] = "magic",
        [TR_DC_DROP_HEADER] = "header",
        [TR_DC_DROP_SESSION] = "session",
        [TR_DC_DROP_KEY] = "key",
        [TR_DC_DROP_AUTH] = "auth",
        [TR_DC_DROP_REPLAY] = "replay",
        [TR_DC_DROP_TOO_OLD] = "too-old",
        [TR_DC_DROP_DECOMPRESS] = "decompress",
        [TR_DC_DROP_OTHER] = "other",
};

TrDcDrop
tr_dc_drop_from_errno(int err)
{
	switch (-err) {
	case EMSGSIZE:
		return TR_DC_DROP_SHORT;
	case ENOMSG:
		return TR_DC_DROP_MAGIC;
	case EPROTO:
		return TR_DC_DROP_HEADER;
	case ESRCH:
		return TR_DC_DROP_SESSION;
	case ENOKEY:
	case EKEYEXPIRED:
		return TR_DC_DROP_KEY;
	case EBADMSG:
		return TR_DC_DROP_AUTH;
	case EALREADY:
		return TR_DC_DROP_REPLAY;
	case ESTALE:
		return TR_DC_DROP_TOO_OLD;
	case EILSEQ:
		return TR_DC_DROP_DECOMPRESS;
	default:
		return TR_DC_DROP_OTHER;
	}
}

const char *
tr_dc_drop_name(TrDcDrop drop)
{
	return (unsigned)drop < TR_DC_DROP_COUNT ? drop_names[drop] : "unknown";
}

int
tr_dc_peek(const TrMagic *magic, const uint8_t *buf, size_t len, TrDcHeader *out)
{
	if (len < TR_DC_HEADER_LEN)
		return -EMSGSIZE;
	if (memcmp(buf + HDR_MAGIC, magic->bytes, sizeof(magic->bytes)) != 0)
		return -ENOMSG;
	if (buf[HDR_TYPE] < TR_DC_DATA || buf[HDR_TYPE] > TR_DC_TYPE_MAX)
		return -EPROTO;
	if ((buf[HDR_FLAGS] & ~FLAGS_KNOWN) != 0 || buf[HDR_RESERVED] != 0)
		return -EPROTO;
	if ((buf[HDR_FLAGS] & FLAGS_CSUM_PARTIAL) && buf[HDR_TYPE] != TR_DC_DATA)
		return -EPROTO;
	out->type = buf[HDR_TYPE];
	out->key_id = buf[HDR_KEY_ID];
	out->compress = buf[HDR_FLAGS] & FLAGS_COMPRESS_MASK;
	out->csum_partial = (buf[HDR_FLAGS] & FLAGS_CSUM_PARTIAL) != 0;
	out->receiver_index = tr_load_be32(buf + HDR_RECEIVER);
	out->counter = tr_load_be64(buf + HDR_COUNTER);
	return 0;
}

static void
slot_keys_free(SlotKeys *keys)
{
	if (keys == NULL)
		return;
	for (unsigned i = 0; i < keys->n_tx; i++)
		tr_aead_free(keys->tx[i]);
	tr_aead_free(keys->rx);
	gnutls_memset(keys->tx_key, 0, sizeof(keys->tx_key));
	g_free(keys);
}

static void
slot_clear(KeySlot *slot)
{
	slot_keys_free(slot->keys);
	memset(slot, 0, sizeof(*slot));
}

static gboolean
check_config(const TrDcConfig *cfg, GError **error)
{
	if (cfg->cipher != TR_CIPHER_NONE && cfg->cipher != TR_CIPHER_AES256_GCM &&
	    cfg->cipher != TR_CIPHER_CHACHA20_POLY1305) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "unknown cipher %d",
		            (int)cfg->cipher);
		return FALSE;
	}
	if (cfg->cipher == TR_CIPHER_NONE && !cfg->allow_plaintext) {
		g_set_error_literal(
		        error, TR_ERROR, TR_ERROR_CONFIG,
		        "cipher plaintext sends traffic unencrypted and unauthenticated; "
		        "it needs unencrypted mode allowed explicitly");
		return FALSE;
	}
	if ((unsigned)cfg->compress > TR_COMPRESS_ID_MAX || !tr_compress_supported(cfg->compress)) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "unknown compression %d",
		            (int)cfg->compress);
		return FALSE;
	}
	if (cfg->reject_after_packets > TR_DC_COUNTER_MAX ||
	    cfg->rekey_after_packets > cfg->reject_after_packets) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "packet limits: need rekey (%" G_GUINT64_FORMAT
		            ") <= reject (%" G_GUINT64_FORMAT ") <= 2^62",
		            cfg->rekey_after_packets, cfg->reject_after_packets);
		return FALSE;
	}
	if (cfg->lanes < 1 || cfg->lanes > TR_DC_LANES_MAX) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG, "lanes: need 1 to %u, not %u",
		            TR_DC_LANES_MAX, cfg->lanes);
		return FALSE;
	}
	if (cfg->rekey_after_usec <= 0 || cfg->rekey_after_usec > cfg->reject_after_usec ||
	    cfg->key_grace_usec < 0) {
		g_set_error_literal(error, TR_ERROR, TR_ERROR_CONFIG,
		                    "time limits: need 0 < rekey <= reject and grace >= 0");
		return FALSE;
	}
	return TRUE;
}

TrDc *
tr_dc_new(const TrDcConfig *cfg, GError **error)
{
	TrDc *dc;
	TrDcConfig c = *cfg;

	if (c.rekey_after_packets == 0)
		c.rekey_after_packets = MIN(TR_DC_REKEY_AFTER_PACKETS,
		                            c.reject_after_packets ? c.reject_after_packets
		                                                   : TR_DC_REKEY_AFTER_PACKETS);
	if (c.reject_after_packets == 0)
		c.reject_after_packets = MAX(TR_DC_REJECT_AFTER_PACKETS, c.rekey_after_packets);
	if (c.rekey_after_usec == 0)
		c.rekey_after_usec = TR_DC_REKEY_AFTER_USEC;
	if (c.lanes == 0)
		c.lanes = 1;
	if (c.reject_after_usec == 0)
		c.reject_after_usec = MAX(TR_DC_REJECT_AFTER_USEC, c.rekey_after_usec);
	if (!check_config(&c, error)) {
		g_prefix_error(error, "data channel: ");
		return NULL;
	}
	dc = g_malloc0(sizeof(*dc) + c.lanes * sizeof(dc->lanes[0]));
	dc->cfg = c;
	return dc;
}

void
tr_dc_free(TrDc *dc)
{
	if (dc == NULL)
		return;
	slot_clear(&dc->slots[0]);
	slot_clear(&dc->slots[1]);
	g_free(dc);
}

const TrDcConfig *
tr_dc_get_config(const TrDc *dc)
{
	return &dc->cfg;
}

void
tr_dc_stats_copy(const TrDc *dc, TrDcStats *out)
{
	uint64_t *dst = (uint64_t *)out;

	G_STATIC_ASSERT(sizeof(TrDcStats) % sizeof(uint64_t) == 0);
	for (size_t i = 0; i < STATS_WORDS; i++)
		dst[i] = atomic_load_explicit(&dc->stats[i], memory_order_relaxed);
}

static KeySlot *
current_slot(TrDc *dc)
{
	KeySlot *slot = &dc->slots[dc->current];

	return slot->state == SLOT_CURRENT ? slot : NULL;
}

gboolean
tr_dc_install_keys(TrDc *dc, uint32_t epoch, const uint8_t tx_key[TR_CIPHER_KEY_LEN],
                   const uint8_t rx_key[TR_CIPHER_KEY_LEN], int64_t now, GError **error)
{
	KeySlot *cur = current_slot(dc);
	KeySlot *slot;
	SlotKeys *keys;

	if (cur && (epoch <= cur->epoch || (uint8_t)epoch == cur->key_id)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "key epoch %u cannot follow the current epoch %u", epoch, cur->epoch);
		return FALSE;
	}
	keys = g_malloc0(sizeof(*keys) + dc->cfg.lanes * sizeof(keys->tx[0]));
	keys->n_tx = dc->cfg.lanes;
	memcpy(keys->tx_key, tx_key, sizeof(keys->tx_key));
	keys->rx = tr_aead_new(dc->cfg.cipher, rx_key, error);
	if (keys->rx == NULL) {
		slot_keys_free(keys);
		g_prefix_error(error, "installing keys of epoch %u: ", epoch);
		return FALSE;
	}
	tr_replay_reset(&keys->replay);
	if (cur == NULL)
		dc->current = 0;
	slot = cur ? &dc->slots[!dc->current] : &dc->slots[dc->current];
	slot_clear(slot);
	slot->state = cur ? SLOT_NEXT : SLOT_CURRENT;
	slot->epoch = epoch;
	slot->key_id = (uint8_t)epoch;
	slot->keys = keys;
	slot->activated_at = now;
	atomic_store_explicit(&dc->peer_switched, false, memory_order_relaxed);
	STAT_ADD(dc, key_installs, 1);
	return TRUE;
}

bool
tr_dc_activate_next(TrDc *dc, int64_t now)
{
	KeySlot *next = &dc->slots[!dc->current];
	KeySlot *cur = current_slot(dc);

	if (next->state != SLOT_NEXT)
		return false;
	if (cur) {
		cur->state = SLOT_PREVIOUS;
		cur->retire_at = now + dc->cfg.key_grace_usec;
	}
	next->state = SLOT_CURRENT;
	next->activated_at = now;
	dc->current = !dc->current;
	atomic_store_explicit(&dc->peer_switched, false, memory_order_relaxed);
	STAT_ADD(dc, key_activations, 1);
	return true;
}

bool
tr_dc_current_epoch(const TrDc *dc, uint32_t *epoch)
{
	const KeySlot *slot = &dc->slots[dc->current];

	if (slot->state != SLOT_CURRENT)
		return false;
	*epoch = slot->epoch;
	return true;
}

bool
tr_dc_wants_rekey(const TrDc *dc, int64_t now)
{
	const KeySlot *cur = &dc->slots[dc->current];

	if (cur->state != SLOT_CURRENT || dc->slots[!dc->current].state == SLOT_NEXT)
		return false;
	return atomic_load_explicit(&cur->tx_counter, memory_order_relaxed) >=
	               dc->cfg.rekey_after_packets ||
	       now - cur->activated_at >= dc->cfg.rekey_after_usec;
}

bool
tr_dc_expire_due(const TrDc *dc, int64_t now)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(dc->slots); i++) {
		if (dc->slots[i].state == SLOT_PREVIOUS && now >= dc->slots[i].retire_at)
			return true;
	}
	return false;
}

bool
tr_dc_activation_due(const TrDc *dc)
{
	return atomic_load_explicit(&dc->peer_switched, memory_order_relaxed);
}

void
tr_dc_expire(TrDc *dc, int64_t now)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(dc->slots); i++) {
		if (dc->slots[i].state == SLOT_PREVIOUS && now >= dc->slots[i].retire_at)
			slot_clear(&dc->slots[i]);
	}
}

/* The slot that decrypts @key_id now, if any. */
static KeySlot *
rx_slot(TrDc *dc, uint8_t key_id, int64_t now)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(dc->slots); i++) {
		KeySlot *slot = &dc->slots[i];

		if (slot->state == SLOT_EMPTY || slot->key_id != key_id)
			continue;
		if (slot->state == SLOT_PREVIOUS && now >= slot->retire_at)
			return NULL;
		return slot;
	}
	return NULL;
}

/* Adaptive mode: whether to try compressing this packet. */
static bool
compress_try(TrDc *dc, Lane *lane)
{
	if (!dc->cfg.compress_adaptive || lane->skip == 0)
		return true;
	lane->skip--;
	return false;
}

static void
compress_result(Lane *lane, bool shrank)
{
	if (shrank) {
		lane->misses = 0;
	} else if (++lane->misses >= COMPRESS_MAX_MISSES) {
		lane->misses = 0;
		lane->skip = COMPRESS_BACKOFF_PACKETS;
	}
}

/*
 * Compresses a DATA payload when negotiated and worth it: returns the header
 * flags and points *@out at the compressed bytes in @scratch (*@len updated),
 * or 0 leaving them alone.
 */
static uint8_t
maybe_compress(TrDc *dc, unsigned lane, TrCompressScratch *scratch, const uint8_t **data,
               size_t *len)
{
	const uint8_t *out;
	ssize_t n;

	if (dc->cfg.compress == TR_COMPRESS_NONE || scratch == NULL ||
	    !compress_try(dc, &dc->lanes[lane]))
		return 0;
	n = tr_compress(dc->cfg.compress, scratch, *data, *len, &out);
	compress_result(&dc->lanes[lane], n > 0);
	if (n <= 0)
		return 0;
	*data = out;
	*len = (size_t)n;
	STAT_ADD(dc, tx_compressed, 1);
	return (uint8_t)dc->cfg.compress;
}

/*
 * The checks and the header of a packet about to be sent; takes its counter.
 * Returns the slot to seal with, or NULL with *@err set.
 */
static KeySlot *
begin_seal(TrDc *dc, unsigned lane, TrDcType type, uint8_t flags, uint8_t *hdr, uint64_t *counter,
           int64_t now, int *err)
{
	KeySlot *slot = current_slot(dc);

	if (slot == NULL) {
		*err = -ENOKEY;
		return NULL;
	}
	if (lane >= dc->cfg.lanes) {
		*err = -EINVAL;
		return NULL;
	}
	if (now - slot->activated_at >= dc->cfg.reject_after_usec) {
		*err = -EKEYEXPIRED;
		return NULL;
	}
	/* Unique even with several lanes sending: that is all a nonce needs. */
	*counter = atomic_fetch_add_explicit(&slot->tx_counter, 1, memory_order_relaxed);
	if (*counter >= dc->cfg.reject_after_packets) {
		*err = -EKEYEXPIRED;
		return NULL;
	}
	memcpy(hdr + HDR_MAGIC, dc->cfg.magic.bytes, sizeof(dc->cfg.magic.bytes));
	hdr[HDR_TYPE] = (uint8_t)type;
	hdr[HDR_KEY_ID] = slot->key_id;
	hdr[HDR_FLAGS] = flags;
	hdr[HDR_RESERVED] = 0;
	tr_store_be32(hdr + HDR_RECEIVER, dc->cfg.peer_index);
	tr_store_be64(hdr + HDR_COUNTER, *counter);
	return slot;
}

/*
 * The handle @lane seals a packet of @type with (NULL: out of memory): the lane's
 * own, made at its first DATA packet under these keys and kept; for other packets
 * while it has none, and for every packet of the last lane with
 * last_lane_on_demand, one for this packet only, in *@own.
 */
static TrAead *
lane_aead(TrDc *dc, SlotKeys *keys, unsigned lane, TrDcType type, TrAead **own)
{
	TrAead *aead;

	if (keys->tx[lane])
		return keys->tx[lane];
	aead = tr_aead_new(dc->cfg.cipher, keys->tx_key, NULL);
	if (type != TR_DC_DATA || (dc->cfg.last_lane_on_demand && lane == dc->cfg.lanes - 1))
		*own = aead;
	else
		keys->tx[lane] = aead;
	return aead;
}

static int
seal_to(TrDc *dc, unsigned lane, TrCompressScratch *scratch, TrDcType type, unsigned seal_flags,
        const uint8_t *payload, size_t len, uint8_t *out, size_t out_size, int64_t now)
{
	size_t tag_len = tr_cipher_tag_len(dc->cfg.cipher);
	size_t payload_len = len;
	uint8_t flags = 0;
	uint64_t counter;
	KeySlot *slot;
	g_autoptr(TrAead) own = NULL;
	TrAead *aead;
	int err = 0;

	if (type < TR_DC_DATA || type > TR_DC_TYPE_MAX)
		return -EINVAL;
	if ((seal_flags & ~TR_DC_SEAL_CSUM_PARTIAL) ||
	    (seal_flags && (type != TR_DC_DATA || !dc->cfg.csum_partial)))
		return -EINVAL;
	if (len > TR_PACKET_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (out_size < TR_DC_HEADER_LEN + len + tag_len)
		return -ENOBUFS;
	if (current_slot(dc) == NULL)
		return -ENOKEY;
	if (type == TR_DC_DATA)
		flags = maybe_compress(dc, lane, scratch, &payload, &len);
	if (seal_flags & TR_DC_SEAL_CSUM_PARTIAL)
		flags |= FLAGS_CSUM_PARTIAL;
	slot = begin_seal(dc, lane, type, flags, out, &counter, now, &err);
	if (slot == NULL)
		return err;
	aead = lane_aead(dc, slot->keys, lane, type, &own);
	if (aead == NULL)
		return -ENOMEM;
	if (tr_aead_seal_to(aead, counter, out, TR_DC_HEADER_LEN, payload, len,
	                    out + TR_DC_HEADER_LEN) < 0)
		return -EIO;
	len += TR_DC_HEADER_LEN + tag_len;
	STAT_ADD(dc, tx_packets, 1);
	STAT_ADD(dc, tx_bytes, payload_len);
	STAT_ADD(dc, tx_wire_bytes, len);
	return (int)len;
}

int
tr_dc_seal_flags(TrDc *dc, unsigned lane, TrCompressScratch *scratch, TrDcType type, unsigned flags,
                 const uint8_t *payload, size_t len, uint8_t *out, size_t out_size, int64_t now)
{
	int ret = seal_to(dc, lane, scratch, type, flags, payload, len, out, out_size, now);

	if (ret < 0)
		STAT_ADD(dc, tx_refused, 1);
	return ret;
}

int
tr_dc_seal(TrDc *dc, unsigned lane, TrCompressScratch *scratch, TrDcType type,
           const uint8_t *payload, size_t len, uint8_t *out, size_t out_size, int64_t now)
{
	return tr_dc_seal_flags(dc, lane, scratch, type, 0, payload, len, out, out_size, now);
}

/* Replaces the decrypted payload with its decompressed form, at the headroom. */
static int
decompress_payload(TrDc *dc, TrCompressScratch *scratch, TrPacket *pkt, unsigned alg)
{
	const uint8_t *out;
	ssize_t n;

	if (scratch == NULL)
		return -EILSEQ;
	n = tr_decompress((TrCompress)alg, scratch, tr_packet_data(pkt), pkt->len,
	                  TR_PACKET_PAYLOAD_MAX, &out);
	if (n < 0)
		return -EILSEQ;
	pkt->off = TR_PACKET_HEADROOM;
	pkt->len = (uint32_t)n;
	memcpy(tr_packet_data(pkt), out, (size_t)n);
	STAT_ADD(dc, rx_compressed, 1);
	return 0;
}

/*
 * Checks and opens the datagram at @wire, writing the plaintext at @dst.
 * Returns the plaintext length; *@h holds the header.
 */
static int
open_common(TrDc *dc, uint8_t *wire, size_t wire_len, uint8_t *dst, TrDcHeader *h, int64_t now)
{
	size_t tag_len = tr_cipher_tag_len(dc->cfg.cipher);
	KeySlot *slot;
	int ret;

	ret = tr_dc_peek(&dc->cfg.magic, wire, wire_len, h);
	if (ret < 0)
		return ret;
	if (wire_len < TR_DC_HEADER_LEN + tag_len ||
	    wire_len - TR_DC_HEADER_LEN - tag_len > TR_PACKET_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (h->receiver_index != dc->cfg.local_index)
		return -ESRCH;
	if (h->compress != TR_COMPRESS_NONE && h->compress != dc->cfg.compress)
		return -EPROTO;
	if (h->csum_partial && !dc->cfg.csum_partial)
		return -EPROTO;
	slot = rx_slot(dc, h->key_id, now);
	if (slot == NULL)
		return -ENOKEY;
	if (h->counter >= TR_DC_COUNTER_MAX)
		return -EKEYEXPIRED;
	/* A cheap look first, so replayed floods cost no crypto ... */
	switch (tr_replay_check(&slot->keys->replay, h->counter)) {
	case TR_REPLAY_DUPLICATE:
		return -EALREADY;
	case TR_REPLAY_TOO_OLD:
		return -ESTALE;
	case TR_REPLAY_OK:
		break;
	}
	ret = tr_aead_open_to(slot->keys->rx, h->counter, wire, TR_DC_HEADER_LEN,
	                      wire + TR_DC_HEADER_LEN, wire_len - TR_DC_HEADER_LEN, dst);
	if (ret < 0)
		return -EBADMSG;
	/* ... and the window moves only for authentic packets. */
	tr_replay_update(&slot->keys->replay, h->counter);
	/* The peer sends under the next key, so it has it: switch too (or let
	 * the control plane do it, when other threads are sending). */
	if (slot->state == SLOT_NEXT) {
		if (dc->cfg.defer_activation)
			atomic_store_explicit(&dc->peer_switched, true, memory_order_relaxed);
		else
			tr_dc_activate_next(dc, now);
	}
	return ret;
}

static int
finish_open(TrDc *dc, TrCompressScratch *scratch, TrPacket *pkt, const TrDcHeader *h,
            size_t wire_len, TrDcType *type)
{
	if (h->compress != TR_COMPRESS_NONE) {
		int ret = decompress_payload(dc, scratch, pkt, h->compress);
		if (ret < 0)
			return ret;
	}
	*type = (TrDcType)h->type;
	if (h->csum_partial)
		pkt->flags |= TR_PACKET_CSUM_PARTIAL;
	STAT_ADD(dc, rx_packets, 1);
	STAT_ADD(dc, rx_bytes, pkt->len);
	STAT_ADD(dc, rx_wire_bytes, wire_len);
	return 0;
}

int
tr_dc_open(TrDc *dc, TrCompressScratch *scratch, uint8_t *wire, size_t len, TrPacket *out,
           TrDcType *type, int64_t now)
{
	TrDcHeader h;
	int ret;

	tr_packet_reset(out);
	ret = open_common(dc, wire, len, tr_packet_data(out), &h, now);
	if (ret >= 0) {
		out->len = (uint32_t)ret;
		ret = finish_open(dc, scratch, out, &h, len, type);
	}
	if (ret < 0)
		STAT_ADD(dc, rx_drops[tr_dc_drop_from_errno(ret)], 1);
	return ret;
}
