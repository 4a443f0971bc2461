/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* rtnetlink requests for one link: MTU, state, addresses, routes. */
#include "platform/device-ops.h"

int tr_nl_get_mtu(TrDevice *dev, unsigned *mtu, TrPlatError *err);
int tr_nl_set_mtu(TrDevice *dev, unsigned mtu, TrPlatError *err);
int tr_nl_set_up(TrDevice *dev, bool up, TrPlatError *err);
int tr_nl_address(TrDevice *dev, bool add, const TrPrefix *addr, TrPlatError *err);
int tr_nl_route(TrDevice *dev, bool add, const TrPrefix *prefix, TrPlatError *err);
