/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/auth/tls.h"

G_BEGIN_DECLS

/*
 * A node's own key in shared-key networks (docs/SECURITY.md, "Names"): an
 * Ed25519 key pair the client makes once and keeps in a file only it can
 * read. In HELLO it sends the public key and a signature over the TLS
 * session's exporter (so the proof cannot be replayed or relayed into
 * another session); the hub binds the name to the first key it sees for it
 * (trust on first use) and refuses the name with any other key.
 */
#define TR_NODE_KEY_PUBLIC_LEN 32
#define TR_NODE_KEY_PROOF_LEN  64

typedef struct _TrNodeKey TrNodeKey;

/* The key in @path, made (mode 0600) when the file does not exist. A file
 * that group or others can read is refused. */
TrNodeKey *tr_node_key_load_or_create(const char *path, GError **error);
void tr_node_key_free(TrNodeKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrNodeKey, tr_node_key_free)

/* The public key (TR_NODE_KEY_PUBLIC_LEN bytes). */
GBytes *tr_node_key_public(TrNodeKey *key);

/* The proof for the session @tls (after its handshake). */
GBytes *tr_node_key_prove(TrNodeKey *key, TrTls *tls, GError **error);

/* Whether @proof is @public_key's proof for the session @tls. */
gboolean tr_node_key_verify(GBytes *public_key, GBytes *proof, TrTls *tls, GError **error);

G_END_DECLS
