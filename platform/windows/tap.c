/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TAP-Windows6 (tap0901): \\.\Global\{GUID}.tap opened for overlapped I/O,
 * the media status as link state, TAP_WIN_IOCTL_CONFIG_TUN for tun mode
 * (issued when the first IPv4 address is set: the driver needs it). One
 * queue; its poll handle is the read event.
 */
#include "platform/windows/windows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winioctl.h>

#define TAP_WIN_CONTROL_CODE(request, method)                                                      \
	CTL_CODE(FILE_DEVICE_UNKNOWN, request, method, FILE_ANY_ACCESS)
#define TAP_WIN_IOCTL_GET_MTU          TAP_WIN_CONTROL_CODE(3, METHOD_BUFFERED)
#define TAP_WIN_IOCTL_SET_MEDIA_STATUS TAP_WIN_CONTROL_CODE(6, METHOD_BUFFERED)
#define TAP_WIN_IOCTL_CONFIG_TUN       TAP_WIN_CONTROL_CODE(10, METHOD_BUFFERED)

#define MAX_ADAPTERS 32

static int
ioctl_error(TrDevice *dev, const char *what, TrPlatError *err)
{
	char ebuf[256];
	DWORD e = GetLastError();

	return tr_plat_error_set(err, tr_win_errno(e), "%s on %s: %s", what, dev->ifname,
	                         tr_win_strerror(e, ebuf, sizeof(ebuf)));
}

static bool
tap_ioctl(WinDevice *w, DWORD code, void *in, DWORD inlen, void *out, DWORD outlen)
{
	DWORD len;

	return DeviceIoControl(w->handle, code, in, inlen, out, outlen, &len, NULL);
}

static HANDLE
open_path(const char *path)
{
	return CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
	                   FILE_ATTRIBUTE_SYSTEM | FILE_FLAG_OVERLAPPED, NULL);
}

/*
 * Picks the adapter: by friendly name or GUID when @name names one, else
 * ("%d" pattern) the first one not in use. @path, when given, is opened as is.
 */
static int
find_and_open(TrDevice *dev, WinDevice *w, const char *name, const char *path, TrPlatError *err)
{
	TrWinTap taps[MAX_ADAPTERS];
	char ebuf[256], file[128];
	bool any = strstr(name, "%d") != NULL;
	DWORD last = ERROR_FILE_NOT_FOUND;
	int n = tr_win_tap_list(taps, MAX_ADAPTERS, err);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (!any && strcmp(taps[i].name, name) != 0 && _stricmp(taps[i].guid, name) != 0)
			continue;
		if (path)
			snprintf(file, sizeof(file), "%s", path);
		else
			snprintf(file, sizeof(file), "\\\\.\\Global\\%s.tap", taps[i].guid);
		w->handle = open_path(file);
		if (w->handle != INVALID_HANDLE_VALUE) {
			snprintf(w->guid, sizeof(w->guid), "%s", taps[i].guid);
			snprintf(dev->ifname, sizeof(dev->ifname), "%s",
			         taps[i].name[0] ? taps[i].name : taps[i].guid);
			return 0;
		}
		last = GetLastError();
		if (!any)
			break;
	}
	if (n == 0)
		return tr_plat_error_set(err, ENOENT,
		                         "no TAP-Windows6 (%s) adapter found: install the "
		                         "TAP-Windows6 driver and add an adapter",
		                         TR_TAP_COMPONENT_ID);
	if (!any && last == ERROR_FILE_NOT_FOUND)
		return tr_plat_error_set(err, ENOENT, "no TAP-Windows6 adapter is named %s", name);
	if (last == ERROR_SHARING_VIOLATION || last == ERROR_ACCESS_DENIED ||
	    last == ERROR_GEN_FAILURE)
		return tr_plat_error_set(err, EBUSY,
		                         any ? "every TAP-Windows6 adapter is in use (%s)"
		                             : "device name %s is taken (the adapter is in use)",
		                         any ? tr_win_strerror(last, ebuf, sizeof(ebuf)) : name);
	return tr_plat_error_set(err, tr_win_errno(last), "cannot open TAP-Windows6 adapter %s: %s",
	                         any ? "(any)" : name, tr_win_strerror(last, ebuf, sizeof(ebuf)));
}

static int
win_open(TrDevice *dev, const char *name, const char *path, TrPlatError *err)
{
	char ebuf[256];
	WinDevice *w;
	GUID guid;
	wchar_t wguid[64];
	NET_IFINDEX index = 0;
	int rc;

	if (dev->n_queues != 1)
		return tr_plat_error_set(err, EINVAL, "TAP-Windows6 has one queue, not %u",
		                         dev->n_queues);
	w = calloc(1, sizeof(*w));
	if (!w)
		return tr_plat_error_set(err, ENOMEM, "out of memory");
	w->handle = INVALID_HANDLE_VALUE;
	rc = find_and_open(dev, w, name, path, err);
	if (rc < 0)
		goto fail;
	w->rd.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
	w->wr.hEvent = CreateEventA(NULL, TRUE, TRUE, NULL);
	if (!w->rd.hEvent || !w->wr.hEvent) {
		rc = tr_plat_error_set(err, ENOMEM, "cannot create events: %s",
		                       tr_win_strerror(GetLastError(), ebuf, sizeof(ebuf)));
		goto fail;
	}
	MultiByteToWideChar(CP_ACP, 0, w->guid, -1, wguid, 64);
	if (CLSIDFromString(wguid, &guid) != NOERROR ||
	    ConvertInterfaceGuidToLuid(&guid, &w->luid) != NO_ERROR ||
	    ConvertInterfaceLuidToIndex(&w->luid, &index) != NO_ERROR) {
		rc = tr_plat_error_set(err, ENODEV, "cannot find the interface of adapter %s",
		                       w->guid);
		goto fail;
	}
	dev->ifindex = index;
	dev->fds[0] = (intptr_t)w->rd.hEvent;
	dev->os = w;
	return 0;
fail:
	if (w->handle != INVALID_HANDLE_VALUE)
		CloseHandle(w->handle);
	if (w->rd.hEvent)
		CloseHandle(w->rd.hEvent);
	if (w->wr.hEvent)
		CloseHandle(w->wr.hEvent);
	free(w);
	return rc;
}

static void
win_close(TrDevice *dev)
{
	WinDevice *w = dev->os;
	ULONG down = 0;

	tap_ioctl(w, TAP_WIN_IOCTL_SET_MEDIA_STATUS, &down, sizeof(down), &down, sizeof(down));
	CancelIo(w->handle);
	CloseHandle(w->handle);
	CloseHandle(w->rd.hEvent);
	CloseHandle(w->wr.hEvent);
	free(w);
}

/* Starts the next overlapped read; true when it completed at once. */
static bool
start_read(WinDevice *w)
{
	ResetEvent(w->rd.hEvent);
	if (ReadFile(w->handle, w->rbuf, sizeof(w->rbuf), &w->rd_len, &w->rd))
		return true;
	w->rd_pending = GetLastError() == ERROR_IO_PENDING;
	return false;
}

static ssize_t
win_read(TrDevice *dev, unsigned queue, void *buf, size_t size)
{
	WinDevice *w = dev->os;
	DWORD len;

	(void)queue;
	if (w->rd_pending) {
		if (!GetOverlappedResult(w->handle, &w->rd, &len, FALSE))
			return GetLastError() == ERROR_IO_INCOMPLETE ? -EAGAIN : -EIO;
		w->rd_pending = false;
	} else if (start_read(w)) {
		len = w->rd_len;
	} else {
		return w->rd_pending ? -EAGAIN : -EIO;
	}
	/* keep a read outstanding so the event keeps meaning "a packet is here" */
	if (len > size) {
		start_read(w);
		return -EMSGSIZE;
	}
	memcpy(buf, w->rbuf, len);
	if (start_read(w)) {
		/* completed at once: leave it for the next call */
		w->rd_pending = true;
		SetEvent(w->rd.hEvent);
	}
	return (ssize_t)len;
}

static ssize_t
win_write(TrDevice *dev, unsigned queue, const void *buf, size_t len)
{
	WinDevice *w = dev->os;
	DWORD done;

	(void)queue;
	if (len > sizeof(w->wbuf))
		return -EMSGSIZE;
	if (w->wr_pending) {
		if (!GetOverlappedResult(w->handle, &w->wr, &done, FALSE))
			return GetLastError() == ERROR_IO_INCOMPLETE ? -EAGAIN : -EIO;
		w->wr_pending = false;
	}
	memcpy(w->wbuf, buf, len);
	ResetEvent(w->wr.hEvent);
	if (!WriteFile(w->handle, w->wbuf, (DWORD)len, &done, &w->wr)) {
		if (GetLastError() != ERROR_IO_PENDING)
			return -EIO;
		w->wr_pending = true;
	}
	return (ssize_t)len;
}

static int
win_set_up(TrDevice *dev, bool up, TrPlatError *err)
{
	WinDevice *w = dev->os;
	ULONG status = up;

	if (!tap_ioctl(w, TAP_WIN_IOCTL_SET_MEDIA_STATUS, &status, sizeof(status), &status,
	               sizeof(status)))
		return ioctl_error(dev, "cannot set the media status", err);
	if (up && !w->rd_pending)
		start_read(w);
	/* Up: the tunnel's low metric; down (also on close): automatic again. */
	return tr_win_set_metric(dev, up ? TR_WIN_TUNNEL_METRIC : 0, err);
}

/* tun mode: the driver answers ARP itself and needs the local IPv4 network. */
static int
win_address(TrDevice *dev, bool add, const TrPrefix *p, TrPlatError *err)
{
	WinDevice *w = dev->os;

	if (add && dev->type == TR_DEVICE_TUN && p->family == TR_ADDR_IPV4 && !w->tun_configured) {
		uint32_t mask = p->len ? htonl(~0u << (32 - p->len)) : 0, ep[3];
		memcpy(&ep[0], p->addr, 4);
		ep[1] = ep[0] & mask;
		ep[2] = mask;
		if (!tap_ioctl(w, TAP_WIN_IOCTL_CONFIG_TUN, ep, sizeof(ep), ep, sizeof(ep)))
			return ioctl_error(dev, "cannot switch the adapter to tun mode", err);
		w->tun_configured = true;
	}
	return tr_win_address(dev, add, p, err);
}

static int
win_get_mtu(TrDevice *dev, unsigned *mtu, TrPlatError *err)
{
	WinDevice *w = dev->os;
	ULONG v = 0;

	if (tap_ioctl(w, TAP_WIN_IOCTL_GET_MTU, &v, sizeof(v), &v, sizeof(v)) && v) {
		*mtu = v;
		return 0;
	}
	return tr_win_get_mtu(dev, mtu, err);
}

const TrDeviceOps tr_device_os_ops = {
        .name = "windows-tap",
        .open = win_open,
        .close = win_close,
        .read = win_read,
        .write = win_write,
        .get_mtu = win_get_mtu,
        .set_mtu = tr_win_set_mtu,
        .set_up = win_set_up,
        .address = win_address,
        .route = tr_win_route,
        .set_dns = tr_win_set_dns,
        .clear_dns = tr_win_clear_dns,
        .run_hook = tr_win_run_hook,
};
