/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The virtual network device and its configuration: one small interface over
 * Linux tun/tap, BSD tun/tap/utun, Windows TAP-Windows6 and an in-process test
 * device backed by socketpairs.
 *
 * Plain C, no GLib: the Windows and BSD builds have none. Functions that can
 * fail return 0 (or a count) on success and a negative errno on failure, and
 * fill the optional TrPlatError with a message that says what failed and why.
 *
 * Everything a TrDevice changes (addresses, routes, DNS, link state, the
 * ifup hook) is recorded and undone in reverse order by tr_device_close().
 */
#include "platform/addr-types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TR_IFNAME_MAX          64  /* interface names, with the NUL */
#define TR_DEVICE_MAX_QUEUES   64  /* queues per device */
#define TR_PLAT_ERRMSG_MAX     256 /* TrPlatError.message, with the NUL */
#define TR_DEVICE_NAME_DEFAULT "trellis%d"

typedef enum {
	TR_DEVICE_TUN = 0, /* IP packets, no header */
	TR_DEVICE_TAP = 1, /* Ethernet frames */
} TrDeviceType;

/* An error: @code is the negative errno also returned, @message says what. */
typedef struct {
	int code;
	char message[TR_PLAT_ERRMSG_MAX];
} TrPlatError;

typedef struct TrDevice TrDevice;

/* One packet buffer for batched I/O: @data holds @size bytes; @len is used. */
typedef struct {
	uint8_t *data;
	size_t size;
	size_t len;
} TrDevPacket;

typedef enum {
	TR_DNS_AUTO = 0,       /* systemd-resolved if running, else resolvconf, else the file */
	TR_DNS_RESOLVED = 1,   /* systemd-resolved over D-Bus, per link */
	TR_DNS_RESOLVCONF = 2, /* resolvconf -a IFNAME / -d IFNAME */
	TR_DNS_FILE = 3,       /* rewrite the resolv.conf file, restore its backup on close */
} TrDnsMethod;

/* DNS settings pushed by a server. */
typedef struct {
	const char *const *servers; /* numeric IPv4/IPv6 addresses */
	size_t n_servers;
	const char *const *domains; /* search domains */
	size_t n_domains;
	TrDnsMethod method;
	const char *resolv_conf; /* TR_DNS_FILE/AUTO: the file; NULL is /etc/resolv.conf */
} TrDnsConfig;

/* ---- Opening and closing ------------------------------------------------- */

/*
 * Opens a tun or tap device. @name is a pattern where "%d" becomes a free
 * number (NULL: TR_DEVICE_NAME_DEFAULT); @path is the clone device or device
 * node (NULL: the OS default, /dev/net/tun on Linux). @n_queues is at least 1;
 * more than 1 needs a multi-queue capable OS (Linux). Each queue gets its own
 * non-blocking descriptor. Returns NULL and fills @err on failure. A @path
 * "udp:127.0.0.1:PORT" opens the test device below with one queue that is a
 * UDP socket connected to that loopback port (tests, and wine, which has no
 * TAP driver).
 */
TrDevice *tr_device_open(TrDeviceType type, const char *name, const char *path, unsigned n_queues,
                         TrPlatError *err);

/*
 * The test device: no OS device, each queue is one end of a
 * SOCK_SEQPACKET socketpair (packet boundaries kept). @peer_fds receives the
 * other end of each queue's pair (@n_queues entries; the caller closes them).
 * Configuration calls succeed and are recorded; tr_device_test_state() shows
 * them. Works without privileges. On Windows the pairs are loopback UDP
 * sockets connected to each other.
 */
TrDevice *tr_device_open_test(TrDeviceType type, const char *name, unsigned n_queues, int *peer_fds,
                              TrPlatError *err);

/*
 * Undoes every change in reverse order (ifdown hook, DNS, routes, addresses,
 * link state, MTU), closes the queues and frees @dev. Failures while undoing
 * are reported through @err (the first one) but do not stop the rest.
 * Returns 0 or the first negative errno. NULL is allowed.
 */
int tr_device_close(TrDevice *dev, TrPlatError *err);

/* ---- Identity and queues ---------------------------------------------------- */

const char *tr_device_ifname(const TrDevice *dev); /* the actual name, e.g. "trellis0" */
TrDeviceType tr_device_type(const TrDevice *dev);
unsigned tr_device_n_queues(const TrDevice *dev);
unsigned tr_device_ifindex(const TrDevice *dev); /* 0 when the OS has none (test device) */

/*
 * The descriptor to poll for queue @queue: a non-blocking fd on POSIX, or on
 * Windows the HANDLE of the queue's read event cast to intptr_t (signalled
 * when a read completes). -1 for a bad queue.
 */
intptr_t tr_device_queue_fd(const TrDevice *dev, unsigned queue);

/*
 * The express queue: packets the OS hands to a device (@type) of @n_queues
 * queues that are at most @max_len bytes long (a ping, a TCP ACK, DNS, a
 * call's audio) go to the last queue, every other packet to one of the others
 * by its flow; a TCP segment with data always to the others, so that no
 * segment of a connection overtakes an earlier one. The short ones then never
 * wait in a ring behind the bulk of a stream (without it, Linux puts each flow
 * on the queue that last wrote a packet of it). Linux multi-queue tun/tap
 * only: an eBPF steering program.
 *
 * tr_device_express_program() makes the program, while the process may still
 * (root, or CAP_BPF): a descriptor, or -EOPNOTSUPP where the OS has none,
 * -EINVAL with fewer than two queues, -EPERM without the privilege. It is kept
 * for the devices opened later (close() it when done).
 * tr_device_set_express_queue() gives it to @dev, which must have the
 * @n_queues it was made for (-EINVAL otherwise).
 */
int tr_device_express_program(TrDeviceType type, unsigned n_queues, unsigned max_len,
                              TrPlatError *err);
int tr_device_set_express_queue(TrDevice *dev, int program, unsigned n_queues, TrPlatError *err);

/* ---- Packets (data path: no allocation, no logging) ------------------------- */

/*
 * Reads one packet into @buf. Returns its length, -EAGAIN when none is
 * waiting, -EMSGSIZE when it did not fit (the packet is dropped) or another
 * negative errno. On a device opened with offloads (tr_device_offloads() not
 * 0) a packet the kernel handed over as a super-packet or with a partial
 * checksum is not one complete packet: it is dropped with -EPROTO (use
 * tr_device_read_gso() on such devices). tr_device_write() on them sends a
 * plain packet.
 */
ssize_t tr_device_read(TrDevice *dev, unsigned queue, void *buf, size_t size);

/* Writes one packet. Returns its length or a negative errno (-EAGAIN: full). */
ssize_t tr_device_write(TrDevice *dev, unsigned queue, const void *buf, size_t len);

/*
 * Reads up to @n packets into @pkts (setting each ->len). Returns how many
 * were read (>= 1), -EAGAIN when none was waiting, or a negative errno when
 * the first read failed. Packets dropped with -EMSGSIZE or -EPROTO are
 * skipped.
 */
int tr_device_read_batch(TrDevice *dev, unsigned queue, TrDevPacket *pkts, unsigned n);

/*
 * Writes @n packets (each ->len bytes). Returns how many were written; a
 * negative errno when the first write failed.
 */
int tr_device_write_batch(TrDevice *dev, unsigned queue, const TrDevPacket *pkts, unsigned n);

/* ---- Offloads (Linux tun/tap; data path) ----------------------------------- */

/*
 * Segmentation offload metadata of one packet (the virtio-net header on
 * Linux, in host byte order). A read may return a TCP "super-packet" of up to
 * 64 KiB that is to be cut into segments of @gso_size payload bytes, each
 * with a copy of the first @hdr_len bytes of headers; a write may hand the
 * device such a packet the same way. @needs_csum: the L4 checksum field
 * at @csum_start + @csum_offset holds only the pseudo-header sum and the
 * checksum over bytes from @csum_start on is still to be folded in.
 */
typedef enum {
	TR_GSO_NONE = 0,
	TR_GSO_TCPV4 = 1,
	TR_GSO_TCPV6 = 2,
	TR_GSO_UDP_L4 = 3, /* UDP segmentation (USO) */
} TrGsoType;

typedef struct {
	uint8_t type; /* TrGsoType */
	bool needs_csum;
	bool ecn;          /* TCP: the CWR bit is set and ECN is in use */
	uint16_t hdr_len;  /* IP + L4 headers */
	uint16_t gso_size; /* payload bytes per segment */
	uint16_t csum_start;
	uint16_t csum_offset;
} TrGso;

/* tr_device_open_ex() flags */
#define TR_DEVICE_OFFLOAD 1u /* tun only: IFF_VNET_HDR, checksum, TSO (and USO) offload */

/* Offload features a device accepted: */
#define TR_OFFLOAD_CSUM 1u
#define TR_OFFLOAD_TSO  2u /* TCPv4 and TCPv6 super-packets */
#define TR_OFFLOAD_USO  4u /* UDP super-packets (Linux 6.2+) */

/*
 * tr_device_open() with @flags. TR_DEVICE_OFFLOAD where the OS or the device
 * type cannot do it is not an error: the device opens without, and
 * tr_device_offloads() says 0.
 */
TrDevice *tr_device_open_ex(TrDeviceType type, const char *name, const char *path,
                            unsigned n_queues, unsigned flags, TrPlatError *err);
/* What the device accepted (TR_OFFLOAD_*), 0 without offloads. */
unsigned tr_device_offloads(const TrDevice *dev);

/*
 * Reads one packet and its offload metadata (all zero without offloads).
 * Returns its length, -EAGAIN, -EMSGSIZE (dropped) or a negative errno.
 * Without offloads this is tr_device_read().
 */
ssize_t tr_device_read_gso(TrDevice *dev, unsigned queue, void *buf, size_t size, TrGso *gso);

/*
 * Writes one packet with its offload metadata (@gso NULL: a plain packet
 * with complete checksums). Without offloads @gso must be NULL or type NONE
 * without needs_csum (-EINVAL otherwise).
 */
ssize_t tr_device_write_gso(TrDevice *dev, unsigned queue, const TrGso *gso, const void *buf,
                            size_t len);

/* ---- Configuration (undone by tr_device_close) ----------------------------- */

int tr_device_get_mtu(TrDevice *dev, unsigned *mtu, TrPlatError *err);
int tr_device_set_mtu(TrDevice *dev, unsigned mtu, TrPlatError *err);

/* Link up (true) or down. Bringing it up is undone on close. */
int tr_device_set_up(TrDevice *dev, bool up, TrPlatError *err);

/* An interface address with its prefix length, host bits set: 198.19.0.2/24. */
int tr_device_add_address(TrDevice *dev, const TrPrefix *addr, TrPlatError *err);
int tr_device_remove_address(TrDevice *dev, const TrPrefix *addr, TrPlatError *err);

/* A route to @prefix (host bits clear) through this device. */
int tr_device_add_route(TrDevice *dev, const TrPrefix *prefix, TrPlatError *err);
int tr_device_remove_route(TrDevice *dev, const TrPrefix *prefix, TrPlatError *err);

/*
 * Sets DNS servers and search domains for this link (replacing earlier ones
 * set through @dev). Undone on close.
 */
int tr_device_set_dns(TrDevice *dev, const TrDnsConfig *dns, TrPlatError *err);

/*
 * Runs @command with "sh -c" (Windows: "cmd.exe /c") and IFNAME set to the
 * device name, waits for it and fails unless it exits 0. tr_device_ifup()
 * also remembers @ifdown (may be NULL) to be run first thing in close.
 */
int tr_device_ifup(TrDevice *dev, const char *ifup, const char *ifdown, TrPlatError *err);
int tr_device_run_hook(TrDevice *dev, const char *command, TrPlatError *err);

/* ---- Helpers --------------------------------------------------------------- */

/*
 * The test device's recorded state, one item per line, in order:
 * "mtu 1400", "up", "address 198.19.0.2/24", "route 198.19.0.0/16",
 * "dns 198.19.0.1", "domain example.test". Returns @buf.
 */
char *tr_device_test_state(const TrDevice *dev, char *buf, size_t size);

/* Fills @err (if not NULL) with -@errnum and a printf message; returns -@errnum. */
int tr_plat_error_set(TrPlatError *err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
