/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * What an OS backend provides: one const table of operations, as tinc's
 * devops. Internal to platform/; the rest of Trellis uses device.h only.
 */
#include "platform/device.h"

typedef struct TrDeviceOps TrDeviceOps;

/* The generic part of a device; the backend keeps its own state in @os. */
struct TrDevice {
	const TrDeviceOps *ops;
	TrDeviceType type;
	char ifname[TR_IFNAME_MAX];
	unsigned ifindex;
	unsigned n_queues;
	intptr_t fds[TR_DEVICE_MAX_QUEUES];
	void *os;

	/* The undo journal, replayed backwards by tr_device_close(). */
	struct TrChange *changes;
	size_t n_changes;
	size_t cap_changes;
	bool mtu_saved;
	unsigned saved_mtu;
	bool dns_set;
	char *ifdown;

	unsigned open_flags; /* tr_device_open_ex() flags, seen by ops->open */
	unsigned offloads;   /* TR_OFFLOAD_*: what ops->open got the OS to accept */
};

struct TrDeviceOps {
	const char *name;
	/* Creates the device: fills ifname, ifindex, fds[0..n_queues), os. */
	int (*open)(TrDevice *dev, const char *name, const char *path, TrPlatError *err);
	/* Closes the queues and frees @os; the device goes away with them. */
	void (*close)(TrDevice *dev);
	ssize_t (*read)(TrDevice *dev, unsigned queue, void *buf, size_t size);
	ssize_t (*write)(TrDevice *dev, unsigned queue, const void *buf, size_t len);
	/*
	 * Optional, called only when open set ->offloads: one packet and its
	 * offload metadata (@gso never NULL; already checked against ->offloads).
	 */
	ssize_t (*read_gso)(TrDevice *dev, unsigned queue, void *buf, size_t size, TrGso *gso);
	ssize_t (*write_gso)(TrDevice *dev, unsigned queue, const TrGso *gso, const void *buf,
	                     size_t len);
	/* Optional (tr_device_express_program(), tr_device_set_express_queue()): the
	 * program is made without a device, so only the OS backend's counts. */
	int (*express_program)(TrDeviceType type, unsigned n_queues, unsigned max_len,
	                       TrPlatError *err);
	int (*set_express_queue)(TrDevice *dev, int program, TrPlatError *err);
	int (*get_mtu)(TrDevice *dev, unsigned *mtu, TrPlatError *err);
	int (*set_mtu)(TrDevice *dev, unsigned mtu, TrPlatError *err);
	int (*set_up)(TrDevice *dev, bool up, TrPlatError *err);
	int (*address)(TrDevice *dev, bool add, const TrPrefix *addr, TrPlatError *err);
	int (*route)(TrDevice *dev, bool add, const TrPrefix *prefix, TrPlatError *err);
	int (*set_dns)(TrDevice *dev, const TrDnsConfig *dns, TrPlatError *err);
	int (*clear_dns)(TrDevice *dev, TrPlatError *err);
	int (*run_hook)(TrDevice *dev, const char *command, TrPlatError *err);
};

/* The backend meson selected for this OS, and (POSIX) the socketpair test device. */
extern const TrDeviceOps tr_device_os_ops;
extern const TrDeviceOps tr_device_test_ops;

/* tr_device_open_ex() with the given backend. */
TrDevice *tr_device_open_with(const TrDeviceOps *ops, TrDeviceType type, const char *name,
                              const char *path, unsigned n_queues, unsigned flags,
                              TrPlatError *err);

/* Formats @p for messages ("198.19.0.2/24"); @buf holds at least 64 bytes. */
const char *tr_plat_prefix_str(const TrPrefix *p, char *buf, size_t size);

/* Validates a prefix: IPv4 or IPv6 and a length that fits. */
int tr_plat_prefix_check(const TrPrefix *p, TrPlatError *err);

/* Puts context in front of @err's message: "<prefix>: <message>". */
void tr_plat_error_prefix(TrPlatError *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* strerror for a positive errno, thread-safe, never NULL. */
const char *tr_plat_strerror(int errnum, char *buf, size_t size);
