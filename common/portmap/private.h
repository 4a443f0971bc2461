/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * What portmap.c (the worker: when to ask, what to log, the status) shares
 * with the protocol backends, portmap-upnp.c (libminiupnpc) and
 * portmap-natpmp.c (libnatpmp). Backends run on the worker thread only and
 * block for a bounded time (a few seconds per request at most).
 */
#include "common/portmap/portmap.h"

/* What to map. */
typedef struct {
	guint16 local_port;
	gboolean tcp; /* TCP too, on the same external port when the router allows */
	const char *description;
	guint lease_sec;
} PmRequest;

/* What the router granted. */
typedef struct {
	char internal_address[48];
	char gateway[160];
	char external_address[48];
	guint16 external_port;     /* UDP; on input to map(): the port to ask for first, or 0 */
	guint16 external_tcp_port; /* 0 when TCP is not mapped */
	guint lifetime;            /* granted, seconds; 0: permanent */
	gint64 granted_at;         /* g_get_monotonic_time() of the grant (map() sets it) */
	gboolean not_connected;
} PmMapping;

typedef enum {
	PM_CHECK_OK,      /* still there, unchanged */
	PM_CHECK_CHANGED, /* still there; the external address changed (updated) */
	PM_CHECK_LOST,    /* gone from the router: map it again */
	PM_CHECK_ERROR,   /* the gateway does not answer as it should: find it again */
} PmCheck;

typedef struct {
	TrPortmapProtocol protocol;
	/* Finds the gateway; NULL and @error when there is none. */
	gpointer (*open)(GError **error);
	/* Makes (or renews) the mapping; m->external_port is asked for first. */
	gboolean (*map)(gpointer gw, const PmRequest *req, PmMapping *m, GError **error);
	/* Whether the router still holds it (may renew it on the way). */
	PmCheck (*check)(gpointer gw, const PmRequest *req, PmMapping *m, GError **error);
	/* Deletes it; errors are only logged. */
	void (*unmap)(gpointer gw, const PmRequest *req, const PmMapping *m);
	void (*close)(gpointer gw);
} PmBackend;

extern const PmBackend tr_pm_upnp_backend;
extern const PmBackend tr_pm_natpmp_backend;

/* The IPv4 default gateway (libnatpmp reads the routing table); FALSE
 * when there is none, so there is no router to ask. */
gboolean tr_pm_default_gateway(char *out, gsize size);

/* An external address in a private, shared (carrier-grade NAT) or
 * reserved range: the router is itself behind another NAT. */
gboolean tr_pm_address_is_private(const char *ipv4);
