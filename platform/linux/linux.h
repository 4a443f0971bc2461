/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "platform/device-ops.h"
#include "platform/posix/posix.h"

/* A Linux device's own state (TrDevice.os). */
typedef struct {
	TrPosixDns dns;    /* resolvconf or file, when used */
	bool dns_resolved; /* set through systemd-resolved */
	bool vnet_hdr;     /* IFF_VNET_HDR: each packet comes and goes after a virtio_net_hdr */
	bool vnet_native;  /* its fields are in host order (no TUNSETVNETLE, big-endian host) */
} LinuxDevice;

/* The express queue: steer.c (TrDeviceOps.express_program, .set_express_queue). */
int tr_linux_express_program(TrDeviceType type, unsigned n_queues, unsigned max_len,
                             TrPlatError *err);
int tr_linux_set_express_queue(TrDevice *dev, int program, TrPlatError *err);

int tr_linux_set_dns(TrDevice *dev, const TrDnsConfig *dns, TrPlatError *err);
int tr_linux_clear_dns(TrDevice *dev, TrPlatError *err);
/* Frees DNS state without undoing anything (close has undone it already). */
void tr_linux_dns_free(LinuxDevice *ld);

/* systemd-resolved over D-Bus (resolved.c, GIO). */
bool tr_resolved_running(void);
int tr_resolved_set(unsigned ifindex, const char *ifname, const TrDnsConfig *dns, TrPlatError *err);
int tr_resolved_revert(unsigned ifindex, const char *ifname, TrPlatError *err);
