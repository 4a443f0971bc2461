/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The IPv4 default gateway on Windows builds without libnatpmp (whose
 * getgateway portmap-natpmp.c uses otherwise): the IP Helper API's routing
 * table, the default route with the lowest metric.
 */
#include "common/portmap/private.h"

#include <winsock2.h>
#include <windows.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>
#include <netioapi.h>

gboolean
tr_pm_default_gateway(char *out, gsize size)
{
	PMIB_IPFORWARD_TABLE2 table = NULL;
	const MIB_IPFORWARD_ROW2 *best = NULL;

	if (GetIpForwardTable2(AF_INET, &table) != NO_ERROR)
		return FALSE;
	for (ULONG i = 0; i < table->NumEntries; i++) {
		const MIB_IPFORWARD_ROW2 *r = &table->Table[i];

		if (r->DestinationPrefix.PrefixLength != 0 ||
		    r->NextHop.Ipv4.sin_addr.s_addr == INADDR_ANY)
			continue;
		if (best == NULL || r->Metric < best->Metric)
			best = r;
	}
	if (best)
		inet_ntop(AF_INET, &best->NextHop.Ipv4.sin_addr, out, (socklen_t)size);
	FreeMibTable(table);
	return best != NULL;
}
