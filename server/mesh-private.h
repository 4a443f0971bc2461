/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * What the hub's two mesh files share: server/mesh.c (pairs, their messages and
 * relay) and server/mesh-hubs.c (pairs across hubs).
 */
#include "common/mesh/pair.h"
#include "server/hub-private.h"

/* mesh.c */
/* Whether @s is a client that takes part in pairs and is up. */
gboolean mesh_pairable(Session *s);
/* @s's UDP endpoint to the pair table (none while its data is on its TLS stream). */
void mesh_note_endpoint(TrHub *hub, Session *s);
/* PAIR_START for @to (a client, or a hub link with @target) about @peer, a client of
 * ours. */
void mesh_send_start(TrHub *hub, Session *to, Session *peer, uint32_t id, TrPairRole role,
                     const TrPrefix *target, gboolean relay);
/* PAIR_END for pair @id to @to. */
void mesh_send_end(Session *to, uint32_t id, TrRefusal code, const char *reason);
/* A parsed message on to @to, unchanged. */
void mesh_pass_on(Session *to, const TrMsg *msg);
/* The backoff of the two members named by @key (mesh.c's, shared). */
void mesh_backoff_note_key(TrHub *hub, const char *key, gboolean failed, gint64 now);
gint64 mesh_backoff_until_key(TrHub *hub, const char *key, gint64 now);

/* mesh-hubs.c */
void mesh_hubs_init(TrHub *hub);
void mesh_hubs_free(TrHub *hub);
/* Client @s sent a packet for @dst through hub link @link: introduce it to the owner. */
void mesh_introduce_across(TrHub *hub, Session *s, Session *link, const TrPrefix *dst);
/* PAIR_START and CANDIDATES from hub link @s; TRUE when handled (the rest is mesh.c's). */
gboolean mesh_link_message(Session *s, TrMsg *msg);
/* Pair @id is over here: its CrossPair forgotten (introduced here and @failed: backoff). */
void mesh_cross_forget(TrHub *hub, uint32_t id, gboolean failed);
/* Whether @member knows of pair @id (not a client whose introduction is unanswered). */
gboolean mesh_knows_pair(TrHub *hub, uint32_t id, Session *member);
