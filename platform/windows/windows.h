/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* TAP-Windows6 backend: what its files share. */
#include "platform/device-ops.h"

#include <winsock2.h>
#include <windows.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>
#include <mswsock.h>

#define TR_TAP_COMPONENT_ID "tap0901"
#define TR_WIN_FRAME_MAX    65536

/* One TAP-Windows adapter as the registry describes it. */
typedef struct {
	char guid[64];  /* "{...}" */
	char name[256]; /* the connection's friendly name, e.g. "Ethernet 2" */
} TrWinTap;

/* The device's own state (TrDevice.os): one queue, overlapped I/O. */
typedef struct {
	HANDLE handle;
	char guid[64];
	NET_LUID luid;
	OVERLAPPED rd, wr;
	bool rd_pending, wr_pending;
	DWORD rd_len;
	bool tun_configured;
	/* DNS before ours, [0] IPv4 and [1] IPv6 (dns.c) */
	bool dns_saved[2];
	wchar_t *saved_servers[2];
	wchar_t *saved_search[2];
	uint8_t rbuf[TR_WIN_FRAME_MAX];
	uint8_t wbuf[TR_WIN_FRAME_MAX];
} WinDevice;

/* Lists TAP-Windows6 adapters (up to @max); returns how many, or -errno. */
int tr_win_tap_list(TrWinTap *out, int max, TrPlatError *err);

/*
 * Creates a TAP-Windows6 adapter with the driver package @inf (OemVista.inf).
 * Returns 0, 1 when Windows wants a reboot, or a negative errno.
 */
int tr_win_tap_create(const char *inf, TrPlatError *err);

/* FormatMessage for a Win32 error code, without the trailing newline. */
const char *tr_win_strerror(DWORD code, char *buf, size_t size);

/* Maps a Win32 error code to the nearest errno. */
int tr_win_errno(DWORD code);

/* Maps a Winsock error code (WSAGetLastError) to the nearest errno. */
int tr_win_sock_errno(int wsa);

/* No WSAECONNRESET on a UDP socket after an ICMP port unreachable. */
void tr_win_udp_no_connreset(SOCKET s);

/* The run_hook operation: "cmd.exe /c COMMAND" with IFNAME set. */
int tr_win_run_hook(TrDevice *dev, const char *command, TrPlatError *err);

/* IP Helper: MTU, addresses and routes on the adapter's LUID. */
int tr_win_get_mtu(TrDevice *dev, unsigned *mtu, TrPlatError *err);
int tr_win_set_mtu(TrDevice *dev, unsigned mtu, TrPlatError *err);
int tr_win_address(TrDevice *dev, bool add, const TrPrefix *addr, TrPlatError *err);
int tr_win_route(TrDevice *dev, bool add, const TrPrefix *prefix, TrPlatError *err);

/* The interface metric of both families; 0 is the automatic metric. */
#define TR_WIN_TUNNEL_METRIC 5
int tr_win_set_metric(TrDevice *dev, unsigned metric, TrPlatError *err);

/* DNS servers and search domains on the adapter (SetInterfaceDnsSettings). */
int tr_win_dns_check(const TrDnsConfig *dns, TrPlatError *err);
int tr_win_set_dns(TrDevice *dev, const TrDnsConfig *dns, TrPlatError *err);
int tr_win_clear_dns(TrDevice *dev, TrPlatError *err);
