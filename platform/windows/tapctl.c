/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trellis-tapctl: lists TAP-Windows6 adapters, or opens one through the
 * platform layer and reports what it found.
 *   trellis-tapctl list
 *   trellis-tapctl count     exit status: how many adapters (0: none, at most 100)
 *   trellis-tapctl create OemVista.inf
 *   trellis-tapctl open [tun|tap] [NAME]
 */
#include "platform/windows/windows.h"

#include <stdio.h>
#include <string.h>

static int
list(void)
{
	TrWinTap taps[32];
	TrPlatError err = {0};
	int n = tr_win_tap_list(taps, 32, &err);

	if (n < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		return 1;
	}
	printf("%d TAP-Windows6 adapter(s)\n", n);
	for (int i = 0; i < n; i++)
		printf("%s\t%s\n", taps[i].guid, taps[i].name);
	return 0;
}

static int
open_one(TrDeviceType type, const char *name)
{
	TrPlatError err = {0};
	unsigned mtu = 0;
	TrDevice *dev = tr_device_open(type, name, NULL, 1, &err);

	if (!dev) {
		fprintf(stderr, "error: %s\n", err.message);
		return 1;
	}
	if (tr_device_get_mtu(dev, &mtu, &err) < 0)
		fprintf(stderr, "warning: %s\n", err.message);
	printf("opened %s (ifindex %u, MTU %u)\n", tr_device_ifname(dev), tr_device_ifindex(dev),
	       mtu);
	if (tr_device_close(dev, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.message);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return list();
	if (argc >= 2 && strcmp(argv[1], "count") == 0) {
		TrWinTap taps[32];
		int n = tr_win_tap_list(taps, 32, NULL);
		return n < 0 ? 0 : n;
	}
	if (argc == 3 && strcmp(argv[1], "create") == 0) {
		TrPlatError err = {0};
		int rc = tr_win_tap_create(argv[2], &err);
		if (rc < 0) {
			fprintf(stderr, "error: %s\n", err.message);
			return 1;
		}
		printf("created a TAP-Windows6 adapter%s\n",
		       rc ? " (restart Windows to use it)" : "");
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "open") == 0) {
		TrDeviceType type =
		        argc >= 3 && strcmp(argv[2], "tap") == 0 ? TR_DEVICE_TAP : TR_DEVICE_TUN;
		return open_one(type, argc >= 4 ? argv[3] : NULL);
	}
	fprintf(stderr,
	        "usage: trellis-tapctl list | count | create INF | open [tun|tap] [NAME]\n");
	return 2;
}
