/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/base/error.h"

G_BEGIN_DECLS

/*
 * The TLS backend: the only file that talks to GnuTLS's session API. TLS 1.3
 * only. Authentication is mutual: X.509 certificates chained to the
 * network's CA (with CRL), or a pre-shared key (TLS 1.3 PSK with ECDHE).
 * Peers are verified after the handshake by tr_tls_verify_peer(), so a
 * refused peer can be told why over the channel before it is closed.
 */

#define TR_TLS_PSK_LEN 32

/*
 * Server side: the key for a PSK identity the shared key does not cover
 * (invites). Fills @key and returns 1; returns 0 when @identity is not its
 * concern (the shared key, if any, applies), -1 to refuse the identity.
 * Runs inside the handshake.
 */
typedef int (*TrTlsPskLookup)(const char *identity, uint8_t *key, gpointer user_data);

typedef struct {
	gboolean is_server;
	/* X.509: the network's CA, an optional CRL, our certificate and key. */
	const char *ca_file;
	const char *crl_file;
	const char *cert_file;
	const char *key_file;
	/* Pre-shared key: the text of --shared-key, stretched with PBKDF2 with a
	 * salt that names the network (@psk_network: the magic as 8 hex digits;
	 * common/auth/shared-key.h). */
	const char *shared_key;
	char psk_network[9];      /* "" = the default magic */
	const char *psk_identity; /* client side; default "trellis" */
	/* Client side: a raw TR_TLS_PSK_LEN-byte key instead of shared_key (invites). */
	const uint8_t *psk_key;
	/* Server side: keys for other identities; the server then accepts PSK
	 * handshakes even when it otherwise authenticates with certificates. */
	TrTlsPskLookup psk_lookup;
	gpointer psk_lookup_data;
	/* Pair sessions (docs/PROTOCOL.md, "Pair sessions"): both ends are
	 * clients, so the peer's certificate must be a client certificate
	 * (clientAuth) whichever TLS role it plays. */
	gboolean pair;
	/* Server side: a peer may also present a server certificate (serverAuth)
	 * of the CA instead of a client certificate: another hub dialling in
	 * (--connect between hubs). tr_tls_peer_is_server() tells which. */
	gboolean accept_servers;
} TrTlsConfig;

/* For a configuration that owns its strings (the daemons'): copies them
 * into @dst (the rest of @src shallow), and frees them, wiping the shared
 * key. */
void tr_tls_config_copy(TrTlsConfig *dst, const TrTlsConfig *src);
void tr_tls_config_clear(TrTlsConfig *config);

typedef struct _TrTlsCreds TrTlsCreds;

TrTlsCreds *tr_tls_creds_new(const TrTlsConfig *config, GError **error);
TrTlsCreds *tr_tls_creds_ref(TrTlsCreds *creds);
void tr_tls_creds_unref(TrTlsCreds *creds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrTlsCreds, tr_tls_creds_unref)

gboolean tr_tls_creds_has_cert(const TrTlsCreds *creds);
gboolean tr_tls_creds_has_psk(const TrTlsCreds *creds);

/* Re-reads the CRL file; sessions verified afterwards see the new list. */
gboolean tr_tls_creds_reload_crl(TrTlsCreds *creds, GError **error);

/* Whether @cert_pem (a peer certificate seen earlier) is now revoked. */
gboolean tr_tls_creds_is_revoked(TrTlsCreds *creds, const GBytes *cert_der);

typedef struct _TrTls TrTls;

/*
 * A TLS session over the connected, non-blocking socket @fd (not owned).
 * @server_name: on clients, the identity the server's certificate must carry.
 */
TrTls *tr_tls_new(TrTlsCreds *creds, int fd, const char *server_name, GError **error);
void tr_tls_free(TrTls *tls);

/*
 * A byte transport other than a socket (a pair handshake carried inside
 * control messages). Both return the bytes taken or given, or -1 with errno
 * set (EAGAIN: nothing to read now / cannot take more now).
 */
typedef struct {
	gssize (*push)(gpointer user_data, const void *buf, size_t len);
	gssize (*pull)(gpointer user_data, void *buf, size_t len);
} TrTlsTransport;

/* A TLS session over @transport (the table must outlive the session). */
TrTls *tr_tls_new_transport(TrTlsCreds *creds, const TrTlsTransport *transport, gpointer user_data,
                            GError **error);

/* Client with a shared key: the PSK identity for this session only (before
 * the handshake), instead of the credentials' one. */
void tr_tls_set_psk_identity(TrTls *tls, const char *identity);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrTls, tr_tls_free)

/*
 * Drives the handshake: 1 when done, 0 when it must wait for the socket
 * (tr_tls_wants_write() says which way), -1 on failure with @error set.
 */
int tr_tls_handshake(TrTls *tls, GError **error);
gboolean tr_tls_wants_write(TrTls *tls);

/*
 * After the handshake: checks the peer (certificate chain, CRL, validity,
 * name, or PSK) and returns its identity: the certificate's name,
 * "psk:<identity>" for the shared key, or the PSK identity itself when the
 * psk_lookup hook supplied the key (e.g. "invite:<id>"). Refusals are
 * TR_ERROR_AUTH with the reason.
 */
gboolean tr_tls_verify_peer(TrTls *tls, char **identity, GError **error);

/* After tr_tls_verify_peer() refused the peer: tells it why with a fatal
 * TLS alert (bad_certificate, unknown_ca, certificate_revoked, ...), so that
 * its log says more than "connection closed". */
void tr_tls_send_refusal(TrTls *tls);

/* The peer certificate (DER) after the handshake, or NULL with PSK. */
GBytes *tr_tls_peer_cert(TrTls *tls);

/* After tr_tls_verify_peer(): whether the peer's certificate is a server
 * certificate (a hub), which the peer of a TLS server presents only with
 * accept_servers (a TLS client always checks that its peer's is one). */
gboolean tr_tls_peer_is_server(TrTls *tls);

/*
 * What a GnuTLS failure means, as a TrError: @rc, the GnuTLS error code
 * (GNUTLS_E_*); @alert, with GNUTLS_E_*_ALERT_RECEIVED, the alert the peer
 * sent; @psk, this end authenticates with a shared key alone. TR_ERROR_AUTH:
 * our key or certificate was refused; _NEGOTIATE: nothing in common; _IO:
 * anything retrying may fix (tr_error_is_retryable()). Every error the
 * handshake, tr_tls_read() and tr_tls_write() set carries this code.
 */
TrError tr_tls_error_code(int rc, int alert, gboolean psk);

/* Bytes read: >0, 0 on orderly close, -EAGAIN, or -EIO with @error set. */
gssize tr_tls_read(TrTls *tls, void *buf, size_t len, GError **error);

/*
 * Bytes written (maybe fewer than @len), -EAGAIN, or -EIO with @error set.
 * After -EAGAIN call again with the same @len before anything else.
 */
gssize tr_tls_write(TrTls *tls, const void *buf, size_t len, GError **error);

/* Whether decrypted bytes are waiting inside GnuTLS (no socket event comes). */
gboolean tr_tls_pending(TrTls *tls);

/* Sends close_notify (best effort, non-blocking). */
void tr_tls_bye(TrTls *tls);

/* RFC 8446 7.5 exporter: @out_len bytes for @label and @context. */
gboolean tr_tls_export(TrTls *tls, const char *label, const void *context, size_t context_len,
                       void *out, size_t out_len, GError **error);

/*
 * Resumption (TLS 1.3 session tickets with (EC)DHE; certificate sessions
 * only, never shared-key ones: tls.c says why). A client takes the ticket
 * the hub sent in a session it accepted (after tr_tls_verify_peer(), when
 * the session ends) and offers it, once, to the next session with that hub
 * before its handshake; the hub then skips the signatures but still checks
 * the client's certificate, from the ticket, against its CA and CRL.
 * tr_tls_take_ticket: NULL when there is none (a shared key, no ticket yet).
 */
GBytes *tr_tls_take_ticket(TrTls *tls);
void tr_tls_offer_ticket(TrTls *tls, GBytes *ticket);
/* After the handshake: whether it resumed an earlier session. */
gboolean tr_tls_resumed(TrTls *tls);

/* "TLS1.3 / AES-256-GCM / X25519 / certificate" for logs. */
char *tr_tls_describe(TrTls *tls);

G_END_DECLS
