/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Relay framing (docs/PROTOCOL.md, "Relay"): a pair session's sealed
 * datagram, carried through the hub under a small clear header of the hub's
 * own. The hub reads only this header and forwards the whole frame unchanged
 * to the pair's other member; it cannot open the inner datagram, which is
 * sealed under the pair's keys.
 *
 *   0      4      5      6          8          12
 *   magic | type | flags | reserved | pair id | sealed pair datagram
 *         | = 7  | = 0   | = 0      | (u32)   | (a data-channel packet, >= 36 bytes)
 *
 * Over UDP the frame is the datagram (to and from the hub's port); over the
 * TLS stream it is the body of a RELAY control message. Type 7 is free in
 * the data channel's type space, so one receive path tells the two apart
 * from byte 4. Pure code: no allocation.
 */
#include "common/datapath/magic.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TR_RELAY_TYPE       7u
#define TR_RELAY_HEADER_LEN 12u
/* The inner datagram: at least a data-channel header and a tag. */
#define TR_RELAY_INNER_MIN 36u
/* The largest UDP payload over IPv4. */
#define TR_RELAY_MAX 65507u

/* Whether @buf has the relay type in a data-channel header's type byte. */
static inline bool
tr_relay_is_relay(const uint8_t *buf, size_t len)
{
	return len > 4 && buf[4] == TR_RELAY_TYPE;
}

/* Writes the 12-byte header for @pair_id into @out. */
void tr_relay_write_header(uint8_t *out, const TrMagic *magic, uint32_t pair_id);

/*
 * Checks a relay frame of @len bytes and finds the inner datagram. Returns
 * 0, or: -EMSGSIZE (shorter than header + TR_RELAY_INNER_MIN, or longer than
 * TR_RELAY_MAX), -ENOMSG (another network's magic), -EPROTO (not type 7, or
 * non-zero flags or reserved bytes), -EBADMSG (the inner datagram is not a
 * data-channel packet of this network: wrong magic, or a type outside 1..6).
 */
int tr_relay_parse(const uint8_t *buf, size_t len, const TrMagic *magic, uint32_t *pair_id,
                   const uint8_t **inner, size_t *inner_len);

/* "short", "magic", "header", "inner" for the counters and logs. */
const char *tr_relay_error_name(int err);
