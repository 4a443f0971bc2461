/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>

#include "platform/addr-types.h"
#include <stdbool.h>
#include <stdint.h>
#include "platform/net.h"

G_BEGIN_DECLS

/* Enough for "ffff:...:ffff/128" and "aa:bb:cc:dd:ee:ff/48". */
#define TR_PREFIX_STRLEN 64

typedef enum {
	TR_PREFIX_NETWORK = 0,              /* host bits must be zero (a subnet or route) */
	TR_PREFIX_ALLOW_HOST_BITS = 1 << 0, /* an interface address such as 198.19.0.2/24 */
	TR_PREFIX_REQUIRE_LEN = 1 << 1,     /* "/len" must be present */
	TR_PREFIX_IP_ONLY = 1 << 2,         /* refuse MAC addresses */
} TrPrefixFlags;

/* Address length in bytes for a family: 4, 16 or 6; 0 for TR_ADDR_NONE. */
unsigned tr_addr_family_bytes(TrAddrFamily family);

/*
 * Parses "A/LEN" or a bare address "A" (a host prefix: /32, /128, /48).
 * On error, the message names the text and what is wrong with it.
 */
gboolean tr_prefix_parse(const char *text, TrPrefixFlags flags, TrPrefix *out, GError **error);

/* Formats @prefix into @buf (at least TR_PREFIX_STRLEN bytes); returns @buf. */
char *tr_prefix_to_string(const TrPrefix *prefix, char *buf, size_t buflen);

/* Formats only the address part. */
char *tr_addr_to_string(TrAddrFamily family, const uint8_t *addr, char *buf, size_t buflen);

/* Whether @addr (of @family) lies inside @prefix. */
bool tr_prefix_contains(const TrPrefix *prefix, TrAddrFamily family, const uint8_t *addr);

/* Whether two prefixes are the same network (after masking). */
bool tr_prefix_equal(const TrPrefix *a, const TrPrefix *b);

/* Clears host bits beyond the prefix length. */
void tr_prefix_mask(TrPrefix *prefix);

/*
 * Splits "host:port", "[v6addr]:port", "v6addr" (no port), "host" into host
 * and port; @default_port is used when no port is given.
 */
gboolean tr_hostport_parse(const char *text, uint16_t default_port, char **host, uint16_t *port,
                           GError **error);

/* Parses a numeric endpoint ("198.18.0.1:3210", "[fd00::1]:3210") into a sockaddr. */
gboolean tr_sockaddr_parse(const char *text, uint16_t default_port, struct sockaddr_storage *out,
                           socklen_t *outlen, GError **error);

/*
 * For a dual-stack (AF_INET6) socket: an AF_INET address becomes its
 * IPv4-mapped AF_INET6 form; anything else is copied.
 */
void tr_sockaddr_map_v6(const struct sockaddr *in, socklen_t inlen, struct sockaddr_storage *out,
                        socklen_t *outlen);

/* Whether packets to @sa travel over IPv6: AF_INET6 and not an IPv4-mapped address. */
gboolean tr_sockaddr_is_ipv6(const struct sockaddr *sa);

/* The port of an AF_INET or AF_INET6 address (0 for other families), and
 * setting it (other families are left alone). */
uint16_t tr_sockaddr_port(const struct sockaddr *sa);
void tr_sockaddr_set_port(struct sockaddr *sa, uint16_t port);

/* Formats a sockaddr as "a.b.c.d:port" or "[v6]:port". */
char *tr_sockaddr_to_string(const struct sockaddr *sa, char *buf, size_t buflen);

/* Parses a decimal port 1..65535. */
gboolean tr_port_parse(const char *text, uint16_t *port, GError **error);

G_END_DECLS
