/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * A pair-session candidate: one address and port at which a client may be
 * reachable by another client (docs/PROTOCOL.md, "Candidates"). Pure code, no
 * sockets: it encodes and decodes the wire form, says which addresses are
 * worth offering, and keeps a client's or a peer's list in order of
 * preference.
 *
 *   candidate = kind (u8) | family (u8: 4 or 6) | port (u16) | address (4 or 16)
 *
 * 8 bytes for IPv4, 20 for IPv6. The list is capped at TR_CANDIDATE_MAX.
 */
#include <glib.h>

#include "platform/net.h"
#include <stdbool.h>
#include <stdint.h>

G_BEGIN_DECLS

#define TR_CANDIDATE_MAX      8u
#define TR_CANDIDATE_WIRE_V4  8u
#define TR_CANDIDATE_WIRE_V6  20u
#define TR_CANDIDATE_WIRE_MAX TR_CANDIDATE_WIRE_V6

typedef enum {
	TR_CANDIDATE_HOST = 1,      /* an address of the client's own interfaces (same LAN) */
	TR_CANDIDATE_REFLEXIVE = 2, /* where the hub sees the client's UDP come from */
	TR_CANDIDATE_MAPPED = 3,    /* a port a router maps for it (UPnP, NAT-PMP) */
	/* Never on the wire: an endpoint an authenticated probe came from that no
	 * candidate named (the far side of an endpoint-dependent NAT). */
	TR_CANDIDATE_PEER_REFLEXIVE = 4,
} TrCandidateKind;

typedef struct {
	uint8_t kind;   /* TrCandidateKind */
	uint8_t family; /* 4 or 6 */
	uint16_t port;
	uint8_t addr[16]; /* 4 bytes used for IPv4 */
} TrCandidate;

typedef struct {
	TrCandidate items[TR_CANDIDATE_MAX];
	unsigned n;
} TrCandidateList;

/* Parses one wire candidate of exactly @len bytes; refuses unknown kinds,
 * families, port 0 and lengths that do not match the family. */
gboolean tr_candidate_decode(const uint8_t *buf, size_t len, TrCandidate *out, GError **error);

/* Writes the wire form to @out (TR_CANDIDATE_WIRE_MAX bytes); returns its length. */
size_t tr_candidate_encode(const TrCandidate *c, uint8_t *out);

/* From/to socket addresses; an IPv4-mapped IPv6 address becomes IPv4. */
gboolean tr_candidate_from_sockaddr(TrCandidateKind kind, const struct sockaddr *sa,
                                    TrCandidate *out);
socklen_t tr_candidate_to_sockaddr(const TrCandidate *c, struct sockaddr_storage *out);

/* Same address, port and family (the kind is not compared). */
bool tr_candidate_same_endpoint(const TrCandidate *a, const TrCandidate *b);

/*
 * Whether another client could ever reach this address: not unspecified,
 * loopback, multicast, broadcast, link-local (an fe80:: address needs a
 * scope that means nothing on the peer), nor port 0. Private ranges are
 * fine: that is what peers on the same LAN use.
 */
bool tr_candidate_usable(const TrCandidate *c);

/* "host 198.19.1.5:3210", "reflexive [fd00::1]:40000" */
char *tr_candidate_to_string(const TrCandidate *c, char *buf, size_t len);
const char *tr_candidate_kind_name(TrCandidateKind kind);

/*
 * Adds @c unless unusable or already listed (an endpoint listed twice keeps
 * the more specific kind: host over mapped over reflexive). Keeps the list in
 * order of preference: host, mapped, reflexive, peer-reflexive, IPv4 before
 * IPv6 within a kind, otherwise in the order added. When full, a candidate
 * is only added if it is preferred to the last, which it replaces. Returns
 * whether the list changed.
 */
bool tr_candidate_list_add(TrCandidateList *list, const TrCandidate *c);

/* Whether both lists hold the same endpoints with the same kinds, in order. */
bool tr_candidate_list_equal(const TrCandidateList *a, const TrCandidateList *b);

G_END_DECLS
