/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>
#include "platform/net.h"

G_BEGIN_DECLS

/*
 * Port mapping: asks the NAT router in front of this host to forward a port
 * to it, through UPnP-IGD (libminiupnpc) or, when no IGD answers, NAT-PMP
 * (libnatpmp). The protocol work runs on a thread of its own, so a slow or
 * hostile router never holds up the daemon's main loop: the mapping is made,
 * renewed before its lease runs out, checked every interval (and made again
 * when the router lost it), and deleted when the object is freed. One
 * mapping per protocol and port, whatever the router does; failures are
 * logged once per reason and retried with backoff.
 *
 * IPv4 only: IPv6 needs no address translation (firewall pinholes,
 * WANIPv6FirewallControl, are not handled).
 */

#define TR_PORTMAP_CHECK_DEFAULT 60   /* seconds between checks with the router */
#define TR_PORTMAP_LEASE_DEFAULT 3600 /* lifetime asked for, seconds */

/* What the options set; both daemons embed it in their config. */
typedef struct {
	gboolean enabled; /* on by default; --no-port-forwarding, port-forwarding = false */
	guint check_sec;  /* how often the router is asked whether the mapping still exists */
	guint lease_sec;  /* lifetime asked for (renewed at half of what was granted) */
} TrPortmapSettings;

void tr_portmap_settings_init(TrPortmapSettings *s);

struct _TrOptions;
void tr_portmap_settings_from_options(struct _TrOptions *o, TrPortmapSettings *s);

/* Option rows (common/daemon/options.h) both daemons share. */
/* clang-format off */
#define TR_PORTMAP_OPTIONS \
	{ "port-forwarding", 0, TR_OPT_BOOL, NULL, "true", 0, 0, NULL, "Network", \
	  "Ask the NAT router in front of this host to forward our port to us (UPnP-IGD, else NAT-PMP; a hub's TCP and UDP port, a client's UDP port), keep the mapping alive and delete it at exit. In a config file, port-forwarding = false turns it off", 0 }, \
	{ "no-port-forwarding", 0, TR_OPT_BOOL, NULL, NULL, 0, 0, NULL, "Network", \
	  "Make no UPnP or NAT-PMP request at all", 0 }, \
	{ "port-forwarding-interval", 0, TR_OPT_INT, "SECS", "60", 2, 3600, NULL, "Network", \
	  "How often the router is asked whether the mapping still exists (it is made again at once if not)", 0 },
/* clang-format on */

typedef enum {
	TR_PORTMAP_OFF,       /* turned off, or no port to map yet */
	TR_PORTMAP_SEARCHING, /* looking for a gateway, asking for the mapping */
	TR_PORTMAP_MAPPED,
	TR_PORTMAP_FAILED, /* no gateway, or it refused: retried with backoff */
} TrPortmapState;

typedef enum {
	TR_PORTMAP_PROTO_NONE,
	TR_PORTMAP_PROTO_UPNP,
	TR_PORTMAP_PROTO_NATPMP,
} TrPortmapProtocol;

/* Everything known about the mapping, as one consistent snapshot. */
typedef struct {
	TrPortmapState state;
	TrPortmapProtocol protocol;
	guint16 local_port;
	char internal_address[48]; /* this host's LAN address, as the router sees it */
	char gateway[160];         /* the IGD's description URL, or the NAT-PMP gateway */
	char external_address[48]; /* "" when the router did not tell */
	guint16 external_port;     /* UDP */
	guint16 external_tcp_port; /* 0 when TCP is not mapped */
	/*
	 * The router says it is not connected (libminiupnpc: an IGD whose
	 * external address is private or reserved), or NAT-PMP gives such an
	 * external address: another NAT sits above it (carrier-grade NAT). The
	 * mapping is kept, but the endpoint is a lower-priority candidate.
	 */
	gboolean not_connected;
	gint64 expires_mono; /* g_get_monotonic_time() when the lease ends; 0: permanent */
	char error[256];     /* the last failure, "" when none */
} TrPortmapStatus;

typedef struct _TrPortmap TrPortmap;

/*
 * @description names the mapping on the router ("Trellis hub"); @map_tcp
 * also maps TCP on the same external port (hubs: the control connection).
 * Nothing happens until a port is set.
 */
TrPortmap *tr_portmap_new(const TrPortmapSettings *settings, const char *description,
                          gboolean map_tcp);

/* The local port to map (UDP, and TCP with map_tcp). A new port replaces
 * the old mapping; 0 deletes it. Returns at once. */
void tr_portmap_set_port(TrPortmap *pm, guint16 port);

/* Deletes the mapping and stops. Waits a few seconds at most for a router
 * that does not answer (then leaves the worker to finish on its own). */
void tr_portmap_free(TrPortmap *pm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrPortmap, tr_portmap_free)

void tr_portmap_get_status(TrPortmap *pm, TrPortmapStatus *out);

/*
 * The API for direct paths (the mesh, issue 17): the address and port that
 * peers outside can send UDP to, while a mapping exists and the router told
 * its external address. @low_priority: the router is behind another NAT
 * (see not_connected), so the endpoint may not be reachable from the
 * Internet; try it after the others. FALSE when there is no such endpoint.
 */
gboolean tr_portmap_get_endpoint(TrPortmap *pm, struct sockaddr_storage *addr, socklen_t *len,
                                 gboolean *low_priority);

/* @func runs on the thread-default main context of tr_portmap_new()'s
 * caller whenever the state or the endpoint changes. */
void tr_portmap_set_changed_func(TrPortmap *pm, void (*func)(gpointer), gpointer user_data);

/* Appends "port_mapping": {...} as a JSON object member. @pm may be NULL:
 * turned off (@enabled FALSE), or not made yet. */
void tr_portmap_stats_json(TrPortmap *pm, gboolean enabled, GString *out, gboolean *first);

const char *tr_portmap_protocol_name(TrPortmapProtocol protocol);
const char *tr_portmap_state_name(TrPortmapState state);

G_END_DECLS
