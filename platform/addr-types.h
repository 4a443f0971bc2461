/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Plain address types, free of GLib so that code built without it (the
 * platform layer's Windows and BSD parts) can share them.
 */
#include <stdint.h>

/*
 * Addresses and prefixes as the rest of Trellis sees them: an IPv4, IPv6 or
 * MAC address with a prefix length in bits. Used for claimed subnets, pushed
 * addresses and routes, and the routing/switching tables.
 */
typedef enum {
	TR_ADDR_NONE = 0,
	TR_ADDR_MAC = 1,
	TR_ADDR_IPV4 = 4,
	TR_ADDR_IPV6 = 6,
} TrAddrFamily;

typedef struct {
	uint8_t family; /* TrAddrFamily */
	uint8_t len;    /* prefix length in bits */
	uint8_t addr[16];
} TrPrefix;
