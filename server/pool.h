/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "common/base/addr.h"

G_BEGIN_DECLS

/*
 * The hub's address pool: tunnel addresses for clients, IPv4 and/or IPv6,
 * stable per identity across reconnects and restarts (leases are kept in a
 * file). The hub itself takes host number 1 of each prefix; a client gets the
 * same host number in both families.
 */
typedef struct _TrPool TrPool;

/* Either prefix may be NULL. @lease_file may be NULL (no persistence). */
TrPool *tr_pool_new(const TrPrefix *v4, const TrPrefix *v6, const char *lease_file, GError **error);
void tr_pool_free(TrPool *pool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrPool, tr_pool_free)

/* The hub's own address in @family (with the pool's prefix length). */
gboolean tr_pool_hub_address(TrPool *pool, TrAddrFamily family, TrPrefix *out);

/*
 * The addresses for @identity: its earlier lease if it had one, else a free
 * host number (reusing the least recently used lease of an identity that is
 * not connected when the pool is full). @want_v4, if given, is a static
 * address (from the client's certificate) that must lie in the pool.
 * Marks the identity active. Out prefixes have family NONE when the pool has
 * no prefix of that family.
 */
gboolean tr_pool_lease(TrPool *pool, const char *identity, const TrPrefix *want_v4, TrPrefix *v4,
                       TrPrefix *v6, GError **error);

/* The identity disconnected; its lease stays reserved for it. */
void tr_pool_release(TrPool *pool, const char *identity);

guint tr_pool_n_active(TrPool *pool);

/*
 * Writes the leases file now, after the write in flight (a change is also
 * written by itself, within tr_pool_save_delay_ms(), on a thread of its own:
 * the main loop only takes the text; a failure is logged on the main loop).
 * tr_pool_free() waits for the write in flight and writes what is left.
 */
gboolean tr_pool_save(TrPool *pool, GError **error);

/* Whether a write of the leases file is in flight (for the tests). */
gboolean tr_pool_writing(TrPool *pool);

/* The leases file's text, and reading one (@name for messages); returns how
 * many leases were taken. For the tests and the fuzzer; the pool itself
 * reads and writes its @lease_file. */
char *tr_pool_leases_text(TrPool *pool);

/* How long a change waits for the write that takes it: 500 ms, or 0.1 ms a
 * lease when there are more than 5,000 (a write costs in proportion to them). */
guint tr_pool_save_delay_ms(TrPool *pool);
guint tr_pool_load_text(TrPool *pool, const char *text, const char *name);

/* The leases file's identity field (exposed for the tests and the fuzzer):
 * %XX for every byte outside [A-Za-z0-9._:/@+-]; unescaping returns NULL for
 * anything escaping would not have produced (and for %00). */
char *tr_pool_escape_identity(const char *identity);
char *tr_pool_unescape_identity(const char *text);
/* Whether @identity is one the hub makes: NAME, psk:NAME or node:NAME
 * (names as common/auth/identity.h says), optionally followed by /USER. */
gboolean tr_pool_identity_is_valid(const char *identity);

G_END_DECLS
