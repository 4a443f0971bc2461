/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The joining machine's side of an invite (docs/PKI.md, "Invites"): check
 * what the hub sent against the token before trusting it, then write the
 * CA, the certificate, the key and a client configuration.
 */
#include <glib.h>

G_BEGIN_DECLS

#define TR_PKI_JOIN_CONFIG "client.conf"
#define TR_PKI_JOIN_GROUP  "client"

/*
 * Before anything is connected: @state_dir exists or can be created (0700),
 * can be written, and holds no key for @name yet. The error for a directory
 * that cannot be written starts "no permission to write the state directory".
 */
gboolean tr_pki_join_prepare(const char *state_dir, const char *name, GError **error);

/*
 * What the hub answered, checked before anything is trusted or written:
 * the SHA-256 of @ca (PEM or DER) equals @fingerprint ("fingerprint
 * mismatch" otherwise, TR_ERROR_AUTH), it is a CA, @cert is signed by it and
 * valid now, names @name, is a client certificate, and carries the public
 * key of @key_pem.
 */
gboolean tr_pki_join_check(const guint8 *fingerprint, GBytes *ca, GBytes *cert, GBytes *key_pem,
                           const char *name, GError **error);

typedef struct {
	const char *name;
	GBytes *ca;                 /* as received (PEM or DER); written as PEM */
	GBytes *cert;               /* idem */
	GBytes *key_pem;            /* the key made here */
	const char *const *connect; /* "HOST:PORT" of each hub, NULL-terminated */
	/* The certificate name of each hub in @connect, in the same order (as
	 * many), or of all of them (one). */
	const char *const *server_names;
	const char *config_file; /* where the configuration goes; NULL: STATE/client.conf */
} TrPkiJoinResult;

/*
 * Writes, atomically: STATE/ca.crt, STATE/NAME.crt, STATE/NAME.key (0600)
 * and the configuration (@result->config_file, else STATE/client.conf), a
 * GLib key file whose [client] keys are trellis-client's long options
 * (connect, server-name, ca, cert, key), with absolute paths; an existing
 * configuration is not replaced (TR_ERROR_EXISTS). *@config_path (may be NULL) gets the
 * configuration's path. server-name holds one name when every hub's is the
 * same, else one per hub.
 */
gboolean tr_pki_join_save(const char *state_dir, const TrPkiJoinResult *result, char **config_path,
                          GError **error);

/*
 * tr_pki_join_save() in two steps, for a joining machine that talks to the
 * hubs with its new certificate (to learn their names) before it writes the
 * configuration: the credentials (after checking that the configuration
 * does not exist yet), then the configuration. @result->server_names is
 * only read by the second.
 */
gboolean tr_pki_join_save_credentials(const char *state_dir, const TrPkiJoinResult *result,
                                      GError **error);
gboolean tr_pki_join_save_config(const char *state_dir, const TrPkiJoinResult *result,
                                 char **config_path, GError **error);

G_END_DECLS
