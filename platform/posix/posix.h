/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the POSIX backends (Linux, BSD) share. */
#include "platform/device-ops.h"
#include "platform/udp.h"

#include <sys/socket.h>

/*
 * Runs @argv (looked up in PATH) with IFNAME=@ifname added to the environment
 * (when not NULL) and @input (when not NULL) on its standard input, waits,
 * fails unless it exits 0. @what names it in messages.
 */
int tr_posix_run(const char *const *argv, const char *ifname, const char *input, const char *what,
                 TrPlatError *err);

/* The run_hook operation: sh -c @command with IFNAME set. */
int tr_posix_run_hook(TrDevice *dev, const char *command, TrPlatError *err);

/* Checks that @dns's servers are numeric IPv4/IPv6 addresses and the domains sane. */
int tr_posix_dns_check(const TrDnsConfig *dns, TrPlatError *err);

/*
 * resolv.conf text for @dns ("nameserver X" lines, one "search" line) into
 * @buf; fails with -ENOSPC when it does not fit.
 */
int tr_posix_dns_format(const TrDnsConfig *dns, const char *ifname, char *buf, size_t size,
                        TrPlatError *err);

/* The DNS state a POSIX backend keeps between set and clear. */
typedef struct {
	TrDnsMethod method; /* TR_DNS_RESOLVCONF or TR_DNS_FILE once set */
	char *path;         /* TR_DNS_FILE: the file */
	char *saved;        /* TR_DNS_FILE: its content before */
	size_t saved_len;
	char *backup; /* TR_DNS_FILE: path of the backup copy on disk */
} TrPosixDns;

/* resolvconf -a IFNAME (content on stdin) / resolvconf -d IFNAME. */
int tr_posix_dns_resolvconf_set(TrPosixDns *st, const char *ifname, const TrDnsConfig *dns,
                                TrPlatError *err);
/* Saves @path (and a backup next to it), writes ours in its place. */
int tr_posix_dns_file_set(TrPosixDns *st, const char *path, const char *ifname,
                          const TrDnsConfig *dns, TrPlatError *err);
/* Undoes whichever of the two was set; a no-op when none was. */
int tr_posix_dns_clear(TrPosixDns *st, const char *ifname, TrPlatError *err);

/* Whether a program is found in PATH (for the automatic DNS method). */
bool tr_posix_have_program(const char *name);

/*
 * tr_udp_open() without the OS-specific extras: a non-blocking, close-on-exec
 * UDP socket with SO_REUSEPORT (FreeBSD: SO_REUSEPORT_LB) when asked, IPv6
 * wildcards dual-stack where the OS allows, @bufsize-byte buffers (the FORCE
 * options first where they exist), bound to @addr. Returns the fd.
 */
int tr_posix_udp_socket(const struct sockaddr *addr, socklen_t addr_len, unsigned flags,
                        int bufsize, TrPlatError *err);
/* "198.18.0.1:443" or "[2001:db8::1]:443" into @buf (64 bytes are enough). */
const char *tr_posix_sockaddr_str(const struct sockaddr *addr, socklen_t addr_len, char *buf,
                                  size_t size);
