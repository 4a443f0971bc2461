/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The BSD backend (FreeBSD, OpenBSD, NetBSD): what its files share. */
#include "platform/device-ops.h"
#include "platform/posix/posix.h"

/* The device's own state (TrDevice.os). */
typedef struct {
	bool af_header; /* tun: each packet starts with a 4-byte address family */
	TrPosixDns dns;
} BsdDevice;

/* ioctls on an AF_INET/AF_INET6 socket: MTU, flags, addresses (addr.c). */
int tr_bsd_get_mtu(TrDevice *dev, unsigned *mtu, TrPlatError *err);
int tr_bsd_set_mtu(TrDevice *dev, unsigned mtu, TrPlatError *err);
int tr_bsd_set_up(TrDevice *dev, bool up, TrPlatError *err);
int tr_bsd_address(TrDevice *dev, bool add, const TrPrefix *addr, TrPlatError *err);

/* The routing socket (route.c). */
int tr_bsd_route(TrDevice *dev, bool add, const TrPrefix *prefix, TrPlatError *err);
