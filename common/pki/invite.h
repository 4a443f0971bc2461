/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Pending invites, on the CA's side (docs/PKI.md, "Invites"): one file per
 * invite in STATE/invites/ (0700), each 0600, holding what redeeming it
 * needs: the secret, NAME, the expiry and the addresses and subnets to put
 * in the certificate. Redeeming renames ID.invite to ID.used, atomically, so
 * that of two simultaneous redemptions only one succeeds; the used file
 * stays until it is pruned so that a second attempt is told "already used".
 */
#include <glib.h>

#include "platform/addr-types.h"
#include "common/pki/invite-token.h"
#include "common/pki/pki.h"

G_BEGIN_DECLS

#define TR_PKI_INVITE_LIFETIME (24 * 3600)     /* default: a day */
#define TR_PKI_INVITE_KEEP     (7 * 24 * 3600) /* files pruned this long after expiry */

typedef struct {
	char *id;                            /* TR_INVITE_ID_HEX_LEN hex digits */
	guint8 secret[TR_INVITE_SECRET_LEN]; /* wiped on free */
	char *name;
	gint64 expires; /* Unix seconds */
	gboolean used;
	GArray *addresses; /* TrPrefix: static addresses for the certificate */
	GArray *subnets;   /* TrPrefix: claimed subnets for the certificate */
} TrPkiInvite;

void tr_pki_invite_free(TrPkiInvite *invite);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrPkiInvite, tr_pki_invite_free)

typedef struct {
	const char *name;
	const char *const *servers; /* "HOST[:PORT]" the joining machine dials, NULL-terminated */
	gint64 lifetime;            /* seconds; 0: TR_PKI_INVITE_LIFETIME */
	const TrPrefix *addresses;
	guint n_addresses;
	const TrPrefix *subnets;
	guint n_subnets;
	gint64 now; /* Unix seconds; 0: now (tests move it) */
} TrPkiInviteOptions;

/* STATE/invites (newly allocated). */
char *tr_pki_invites_dir(const char *state_dir);

/*
 * Creates an invite for @opts->name with the CA in @state_dir and returns its
 * token. Refuses (TR_ERROR_EXISTS) a NAME that has a current certificate.
 * Prunes invite files that ended more than TR_PKI_INVITE_KEEP ago.
 */
TrInviteToken *tr_pki_invite_create(const char *state_dir, const TrPkiInviteOptions *opts,
                                    GError **error);

/*
 * The invite @id (pending or used). TR_ERROR_NOT_FOUND when there is none;
 * TR_ERROR_INVALID when @id is not an invite id.
 */
TrPkiInvite *tr_pki_invite_lookup(const char *state_dir, const char *id, GError **error);

/*
 * Redeems invite @id: refuses a used (TR_ERROR_EXISTS, "already used") or
 * expired one (TR_ERROR_TIMEOUT, "expired"), claims it atomically, then
 * signs @request (tr_pki_sign_request) as a client certificate for the
 * invite's NAME with its addresses and subnets. If signing fails the claim
 * is undone. Returns the certificate (PEM); *@name gets the NAME.
 */
GBytes *tr_pki_invite_redeem(TrPkiCa *ca, const char *id, const guint8 *request, gsize request_len,
                             gint64 now, char **name, GError **error);

/* Deletes invite files that ended more than TR_PKI_INVITE_KEEP before @now. */
guint tr_pki_invite_prune(const char *state_dir, gint64 now);

G_END_DECLS
