/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The data channel: one session's packet protection between two nodes.
 * Pure code, no sockets: the caller (the data plane) finds the session of a
 * received datagram with tr_dc_peek() and opens it into a packet buffer
 * (tr_dc_open); it seals a payload into the datagram to send (tr_dc_seal).
 * The wire format, the rekeying rule and test vectors are in
 * docs/PROTOCOL.md, "Data channel".
 *
 * Times are monotonic microseconds (g_get_monotonic_time()), passed in.
 *
 * Threads: a TrDc is not internally locked. Sending may happen from several
 * threads at once, each on its own lane (TrDcConfig.lanes: each lane has its
 * own cipher handles; counters are taken atomically). Receiving happens on
 * one thread at a time (the replay windows belong to it). Everything else
 * (installing, activating and expiring keys) needs the senders and the
 * receiver quiesced. Sealing and opening never lock or log; opening never
 * allocates, and sealing DATA allocates only a lane's cipher handle, once per
 * key, at the lane's first DATA packet under it (see last_lane_on_demand for
 * the other packets and the last lane).
 */
#include <glib.h>

#include "common/datapath/cipher.h"
#include "common/datapath/compress.h"
#include "common/datapath/magic.h"
#include "common/datapath/packet.h"

#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Wire header: magic(4) type(1) key_id(1) flags(1) reserved(1) receiver(4) counter(8). */
#define TR_DC_HEADER_LEN 20u
/* The most a packet grows by: header + tag. */
#define TR_DC_OVERHEAD (TR_DC_HEADER_LEN + TR_CIPHER_TAG_MAX)

/* Message types: authenticated, opaque to the data channel beyond these values. */
typedef enum {
	TR_DC_DATA = 1,      /* a tunneled packet */
	TR_DC_PING = 2,      /* path probe / keepalive, payload chosen by the control plane */
	TR_DC_PONG = 3,      /* answer to a PING */
	TR_DC_CLOSE = 4,     /* the sender tears the session down */
	TR_DC_PROBE = 5,     /* path MTU probe: round(4) and padding to the size probed */
	TR_DC_PROBE_ACK = 6, /* answer to a PROBE: its round(4) and the length it arrived with(2) */
} TrDcType;
#define TR_DC_TYPE_MAX 6

/* Sending lanes per session (worker threads plus the control plane). */
#define TR_DC_LANES_MAX 17u

/* Default limits (see PROTOCOL.md for the reasoning). */
#define TR_DC_REKEY_AFTER_PACKETS  (UINT64_C(1) << 28) /* soft: tr_dc_wants_rekey() */
#define TR_DC_REJECT_AFTER_PACKETS (UINT64_C(1) << 29) /* hard: sealing refuses */
#define TR_DC_REKEY_AFTER_USEC     (G_GINT64_CONSTANT(600) * G_USEC_PER_SEC)
#define TR_DC_REJECT_AFTER_USEC    (G_GINT64_CONSTANT(1800) * G_USEC_PER_SEC)
#define TR_DC_KEY_GRACE_USEC       (G_GINT64_CONSTANT(30) * G_USEC_PER_SEC)
/* No limit may exceed this: counters stay far from wrapping. */
#define TR_DC_COUNTER_MAX (UINT64_C(1) << 62)

typedef struct {
	TrMagic magic;
	TrCipher cipher;
	/* Required to create a TR_CIPHER_NONE session; the config must say so explicitly. */
	gboolean allow_plaintext;
	TrCompress compress;        /* negotiated; TR_COMPRESS_NONE by default */
	gboolean compress_adaptive; /* back off after packets that do not shrink (default TRUE) */
	uint32_t local_index;       /* the receiver index peers send to us */
	uint32_t peer_index;        /* the receiver index we send to the peer */
	uint64_t rekey_after_packets;
	uint64_t reject_after_packets;
	int64_t rekey_after_usec;
	int64_t reject_after_usec;
	int64_t key_grace_usec; /* how long a replaced key still decrypts */
	unsigned lanes;         /* threads that may send at once (1 .. TR_DC_LANES_MAX) */
	/*
	 * When a packet under the next key arrives, do not switch keys on the
	 * receiving thread (other lanes may be sending): tr_dc_activation_due()
	 * tells the control plane to call tr_dc_activate_next() with the lanes
	 * quiesced. Until then we keep sending under the current key, which the
	 * peer still accepts for its grace period.
	 */
	gboolean defer_activation;
	/*
	 * The last lane is the control plane's (one thread, a packet now and then):
	 * it keeps no cipher handle but makes one for each packet it seals, so that a
	 * session holds one handle (about 700 bytes) less. Sealing on that lane
	 * allocates. Another lane makes its handle at its first DATA packet under
	 * each key and then never allocates for DATA; its other packets (answers to
	 * keepalives and probes) get a handle each while it has none.
	 */
	gboolean last_lane_on_demand;
	/*
	 * Both ends announced TR_FEATURE_CSUM_PARTIAL: DATA packets may carry the
	 * "checksum left partial" flag (TR_DC_SEAL_CSUM_PARTIAL), both ways.
	 * Without it a packet with the flag is dropped as a bad header.
	 */
	gboolean csum_partial;
} TrDcConfig;

/* Fills @cfg with the defaults: default magic, tr_cipher_default(), no compression. */
void tr_dc_config_init(TrDcConfig *cfg);

/* Why a packet was dropped. Each has its own negative errno (see tr_dc_open). */
typedef enum {
	TR_DC_DROP_SHORT,      /* -EMSGSIZE: truncated, or longer than a packet holds */
	TR_DC_DROP_MAGIC,      /* -ENOMSG: another network's or protocol's packet */
	TR_DC_DROP_HEADER,     /* -EPROTO: unknown type, reserved bits, unnegotiated compression */
	TR_DC_DROP_SESSION,    /* -ESRCH: receiver index is not this session's */
	TR_DC_DROP_KEY,        /* -ENOKEY: no (live) key with that key id */
	TR_DC_DROP_AUTH,       /* -EBADMSG: authentication failed */
	TR_DC_DROP_REPLAY,     /* -EALREADY: counter already seen */
	TR_DC_DROP_TOO_OLD,    /* -ESTALE: counter behind the replay window */
	TR_DC_DROP_DECOMPRESS, /* -EILSEQ: bad compressed data or too large */
	TR_DC_DROP_OTHER,      /* anything else */
	TR_DC_DROP_COUNT
} TrDcDrop;

TrDcDrop tr_dc_drop_from_errno(int err);
/* "short", "magic", "header", "session", "key", "auth", "replay", "too-old", ... */
const char *tr_dc_drop_name(TrDcDrop drop);

/* Counters for `trellis status`; plain values, read with tr_dc_stats_copy(). */
typedef struct {
	uint64_t tx_packets, tx_bytes; /* payload bytes, before compression */
	uint64_t rx_packets, rx_bytes; /* payload bytes, after decompression */
	uint64_t tx_wire_bytes, rx_wire_bytes;
	uint64_t tx_compressed, rx_compressed; /* packets sent/received compressed */
	uint64_t tx_refused;                   /* sealing errors (key expired, too large, ...) */
	uint64_t rx_drops[TR_DC_DROP_COUNT];
	uint64_t key_installs, key_activations;
} TrDcStats;

/* The clear header of a datagram, as tr_dc_peek() reads it. */
typedef struct {
	uint8_t type; /* TrDcType */
	uint8_t key_id;
	uint8_t compress;  /* TrCompress id from the flags */
	bool csum_partial; /* the flags' TR_DC_SEAL_CSUM_PARTIAL bit */
	uint32_t receiver_index;
	uint64_t counter;
} TrDcHeader;

/*
 * Reads the clear header of a received datagram without any crypto, so a
 * server can pick the session by receiver_index from its table (O(1)) before
 * decrypting; the peer's source address plays no part, so a roaming peer
 * keeps working. Checks the length (at least the header), the magic, the
 * type and the reserved bits. Returns 0 or a negative errno as tr_dc_open.
 */
int tr_dc_peek(const TrMagic *magic, const uint8_t *buf, size_t len, TrDcHeader *out);

typedef struct TrDc TrDc;

/*
 * Creates a session with no keys. Fails (TR_ERROR_CONFIG) for TR_CIPHER_NONE
 * unless cfg->allow_plaintext, for unknown ciphers or compression, and for
 * limits above TR_DC_COUNTER_MAX; zero limits mean the defaults.
 */
TrDc *tr_dc_new(const TrDcConfig *cfg, GError **error);
void tr_dc_free(TrDc *dc);
/* cppcheck-suppress unknownMacro */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrDc, tr_dc_free)

const TrDcConfig *tr_dc_get_config(const TrDc *dc);
/* A copy of the counters, read with atomic loads: while other threads send and receive. */
void tr_dc_stats_copy(const TrDc *dc, TrDcStats *out);

/*
 * Installs the keys of key epoch @epoch: @tx_key seals what we send, @rx_key
 * opens what the peer sends (the peer installs them the other way round).
 * The packet header carries the epoch's low 8 bits as key id.
 *
 * With no current key (the first install), the keys become current at once.
 * Otherwise they go into the next slot: packets under them are accepted at
 * once, but we keep sending under the current key until the switch, which
 * happens when tr_dc_activate_next() is called or when the first packet
 * under the new key authenticates (the peer has switched, so it has them).
 * Installing replaces a previous key still in its grace period or an earlier
 * next key not yet activated. @epoch must be greater than the current one's
 * and its low 8 bits must differ from it (TR_ERROR_INVALID otherwise).
 * Allocates (GnuTLS key schedules); never call it on the packet path.
 */
gboolean tr_dc_install_keys(TrDc *dc, uint32_t epoch, const uint8_t tx_key[TR_CIPHER_KEY_LEN],
                            const uint8_t rx_key[TR_CIPHER_KEY_LEN], int64_t now, GError **error);

/*
 * Switches sending to the next key. The replaced key still decrypts for
 * key_grace_usec (packets in flight), then retires. Returns false when no
 * next key is installed. No allocation: the packet path calls it itself.
 */
bool tr_dc_activate_next(TrDc *dc, int64_t now);

/* Epoch of the key we send under, and whether one exists. */
bool tr_dc_current_epoch(const TrDc *dc, uint32_t *epoch);

/*
 * True when the current key passed a soft limit (rekey_after_packets sent or
 * rekey_after_usec of age) and no next key is waiting: time for the control
 * plane to run a rekey. Sealing refuses only at the hard limits.
 */
bool tr_dc_wants_rekey(const TrDc *dc, int64_t now);

/* Housekeeping for a control-plane timer: frees keys whose grace period ended. */
void tr_dc_expire(TrDc *dc, int64_t now);
/* Whether tr_dc_expire() has something to do (read-only: no quiescing needed). */
bool tr_dc_expire_due(const TrDc *dc, int64_t now);
/* defer_activation: the peer switched to the next key; activate it. */
bool tr_dc_activation_due(const TrDc *dc);

/*
 * Protects @len bytes of @payload as a message of @type on @lane, into @out
 * (room: @out_size, at least TR_DC_OVERHEAD more than @len), without
 * touching the payload: one pass from the payload to the datagram. Writes
 * the header, compresses DATA when the session negotiated it (and it
 * shrinks), encrypts, appends the tag. @scratch is this thread's
 * compression scratch; NULL sends uncompressed. Returns the datagram's
 * length or a negative errno:
 *   -ENOKEY       no key installed yet
 *   -EKEYEXPIRED  the current key reached a hard limit: rekey first
 *   -EMSGSIZE     more than TR_PACKET_PAYLOAD_MAX bytes
 *   -ENOBUFS      @out_size too small
 *   -EINVAL       unknown @type, or @lane out of range
 *   -ENOMEM       the lane's cipher handle could not be made
 */
int tr_dc_seal(TrDc *dc, unsigned lane, TrCompressScratch *scratch, TrDcType type,
               const uint8_t *payload, size_t len, uint8_t *out, size_t out_size, int64_t now);

/* tr_dc_seal_flags(): the payload is a TCP segment with its checksum left
 * partial (TR_PACKET_CSUM_PARTIAL); the receiver's tr_dc_open() says so. */
#define TR_DC_SEAL_CSUM_PARTIAL 1u

/*
 * tr_dc_seal() with @flags (TR_DC_SEAL_*) for a DATA packet; -EINVAL for a
 * flag on another type, or TR_DC_SEAL_CSUM_PARTIAL on a session without
 * csum_partial.
 */
int tr_dc_seal_flags(TrDc *dc, unsigned lane, TrCompressScratch *scratch, TrDcType type,
                     unsigned flags, const uint8_t *payload, size_t len, uint8_t *out,
                     size_t out_size, int64_t now);

/*
 * Verifies, decrypts and decompresses a received datagram (@len bytes at
 * @wire, read, not written) into @out (reset first). On success @out holds
 * the payload, *@type its message type, out->flags TR_PACKET_CSUM_PARTIAL
 * when the sender sealed it with TR_DC_SEAL_CSUM_PARTIAL, and returns 0. On failure returns
 * the negative errno of a TrDcDrop (counted in the stats) and @out's data is
 * undefined. The peer is authenticated only on success: update its endpoint
 * (roaming) only then.
 */
int tr_dc_open(TrDc *dc, TrCompressScratch *scratch, uint8_t *wire, size_t len, TrPacket *out,
               TrDcType *type, int64_t now);

G_END_DECLS
