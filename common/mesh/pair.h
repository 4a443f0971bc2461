/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The pair handshake (docs/PROTOCOL.md, "Pair sessions"): two clients
 * authenticate each other end to end with TLS 1.3 and derive the keys of
 * their own data-channel session. The TLS bytes travel inside PAIR_TLS
 * control messages through the hub, which forwards them and learns nothing
 * it could decrypt with. This driver is transport-free: bytes the TLS
 * session writes go to the @send callback (in pieces of at most
 * TR_PAIR_CHUNK bytes, one PAIR_TLS message each), bytes from the peer's
 * PAIR_TLS messages go to tr_pair_receive().
 *
 * After TLS both sides send, inside the pair's TLS stream, a HELLO (the
 * control channel's message, common/ctrl-msg.h) with their receiver index,
 * ciphers, MTU and, in shared-key networks, their node key and its proof
 * for this session. The pair is established when the peer's HELLO checked
 * out; later messages on the stream (REKEY, REKEY_ACK, PING, PONG, CLOSE)
 * go to the @message callback.
 *
 * Who the peer is: with certificates, its certificate must chain to the
 * network's CA, not be revoked, carry clientAuth and bear the name the hub
 * gave for the peer (the part before a "/USER"). With a shared key, the key
 * proves membership; the name is proven by the peer's node key when the hub
 * knows one for it (it must then match), and otherwise only vouched for by
 * the hub (tr_pair_auth() says which).
 */
#include "common/ctrl/msg.h"
#include "common/auth/node-key.h"
#include "common/auth/tls.h"

#include <glib.h>

#include <stdint.h>

G_BEGIN_DECLS

#define TR_PAIR_CHUNK   TR_MAX_BLOB /* TLS bytes per PAIR_TLS message */
#define TR_PAIR_KEY_LEN 32

typedef enum {
	TR_PAIR_ROLE_CLIENT = 0, /* sends the ClientHello */
	TR_PAIR_ROLE_SERVER = 1,
} TrPairRole;

typedef enum {
	TR_PAIR_HANDSHAKE,   /* TLS in progress */
	TR_PAIR_HELLO,       /* TLS done, peer verified, waiting for its HELLO */
	TR_PAIR_ESTABLISHED, /* keys can be derived */
	TR_PAIR_FAILED,      /* see tr_pair_error() */
} TrPairState;

typedef struct {
	TrPairRole role;
	const char *peer_identity; /* as the hub named the peer ("alice", "psk:laptop/bob") */
	GBytes *peer_node_key; /* shared key: the peer's node key as the hub knows it; NULL: none */
	TrNodeKey *node_key;   /* shared key: ours, proven in our HELLO; NULL: none */
	const char *own_name;  /* shared key, TLS client: the PSK identity (our --name) */
	uint32_t rx_index;     /* ours, for the pair's data channel */
	const uint8_t *ciphers; /* ours, preferred first */
	unsigned n_ciphers;
	uint16_t mtu; /* our tunnel MTU */
} TrPairConfig;

typedef void (*TrPairSend)(const uint8_t *bytes, size_t len, gpointer user_data);
typedef void (*TrPairMessage)(const TrMsg *msg, gpointer user_data);

typedef struct _TrPair TrPair;

/* The credentials for one role of pair handshakes, from the client's own
 * TLS configuration (the same CA, CRL, certificate, key or shared key). */
TrTlsCreds *tr_pair_creds_new(const TrTlsConfig *config, TrPairRole role, GError **error);

/* @creds must be of @config->role (tr_pair_creds_new()). */
TrPair *tr_pair_new(TrTlsCreds *creds, const TrPairConfig *config, TrPairSend send,
                    TrPairMessage message, gpointer user_data, GError **error);
void tr_pair_free(TrPair *pair);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrPair, tr_pair_free)

/* Starts the handshake (the client's first flight; nothing for the server). */
gboolean tr_pair_start(TrPair *pair, GError **error);

/*
 * The peer's TLS bytes (from one PAIR_TLS message). Drives the handshake,
 * the HELLOs and later messages. FALSE with @error when the pair failed:
 * the reason names what was expected and what was found; the peer has been
 * told with a TLS alert where TLS allows.
 */
gboolean tr_pair_receive(TrPair *pair, const uint8_t *bytes, size_t len, GError **error);

/* Sends a control message to the peer inside the pair's TLS (established only). */
gboolean tr_pair_send(TrPair *pair, const TrMsg *msg, GError **error);

TrPairState tr_pair_state(const TrPair *pair);
/* After ESTABLISHED: what the peer told and what was agreed. */
uint32_t tr_pair_peer_rx_index(const TrPair *pair);
uint8_t tr_pair_cipher(const TrPair *pair);
uint16_t tr_pair_mtu(const TrPair *pair);
/* How the peer was authenticated: "certificate", "shared key and node key",
 * "shared key; name vouched for by the hub". */
const char *tr_pair_auth(const TrPair *pair);

/*
 * The pair's data keys for @epoch (docs/PROTOCOL.md): TLS exporter
 * "EXPORTER-trellis pair key" with context epoch (u32) || "c2s" / "s2c";
 * @tx is what this side sends under, @rx what it receives under.
 */
gboolean tr_pair_derive_keys(TrPair *pair, uint32_t epoch, uint8_t *tx, uint8_t *rx,
                             GError **error);

G_END_DECLS
