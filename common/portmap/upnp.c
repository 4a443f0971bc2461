/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port mapping through a UPnP Internet Gateway Device, with Debian's
 * libminiupnpc: SSDP discovery, the IGD's description and its
 * WANIPConnection service. Every request is bounded by libminiupnpc's own
 * socket timeouts (a few seconds).
 */
#include "common/portmap/private.h"

#include "common/base/error.h"

#include "platform/net.h"

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <stdio.h>
#include <string.h>

#define DISCOVER_MS   2000
#define PORT_TRIES    8  /* external ports tried when the first is taken */
#define STALE_ENTRIES 64 /* entries read to find mappings of ours left over */

/* UPnP error codes the IGD sends back (UPnP IGD WANIPConnection v1/v2). */
#define UPNP_ERR_NO_SUCH_ENTRY  714
#define UPNP_ERR_CONFLICT       718
#define UPNP_ERR_SAME_PORT_ONLY 724
#define UPNP_ERR_PERMANENT_ONLY 725
#define UPNP_ERR_CONFLICT_OTHER 729

typedef struct {
	struct UPNPUrls urls;
	struct IGDdatas data;
	char lanaddr[64];
	gboolean not_connected;
} Upnp;

static const char *
upnp_strerror(int r)
{
	const char *s = strupnperror(r);
	return s ? s : "unknown error";
}

static gboolean
is_ipv4(const char *s)
{
	struct in_addr a;
	return s && inet_pton(AF_INET, s, &a) == 1;
}

static void
upnp_close(gpointer gw)
{
	Upnp *u = gw;

	if (u == NULL)
		return;
	FreeUPNPUrls(&u->urls);
	g_free(u);
}

static gpointer
upnp_open(GError **error)
{
	int err = 0, r;
	struct UPNPDev *devs =
	        upnpDiscover(DISCOVER_MS, NULL, NULL, UPNP_LOCAL_PORT_ANY, 0, 2, &err);
	Upnp *u;

	if (devs == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND,
		            "no UPnP device answered the search (SSDP)%s%s", err ? ": " : "",
		            err ? upnp_strerror(err) : "");
		return NULL;
	}
	u = g_new0(Upnp, 1);
	r = UPNP_GetValidIGD(devs, &u->urls, &u->data, u->lanaddr, sizeof(u->lanaddr));
	if (r == 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND,
		            "UPnP devices answered (first: %.100s), but none describes an Internet "
		            "gateway (IGD)",
		            devs->descURL);
		freeUPNPDevlist(devs);
		g_free(u);
		return NULL;
	}
	if (r != 1 && r != 2) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND,
		            "the UPnP device at %.100s is not an Internet gateway (IGD)",
		            devs->descURL);
		freeUPNPDevlist(devs);
		upnp_close(u);
		return NULL;
	}
	freeUPNPDevlist(devs);
	/* libminiupnpc says "not connected" when the IGD's external address is
	 * private or reserved: behind carrier-grade NAT. Used all the same. */
	u->not_connected = r == 2;
	if (u->urls.controlURL == NULL || u->urls.controlURL[0] == '\0' ||
	    u->data.first.servicetype[0] == '\0') {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "the IGD at %.100s describes no WANIPConnection service",
		            u->urls.rootdescURL ? u->urls.rootdescURL : "?");
		upnp_close(u);
		return NULL;
	}
	if (!is_ipv4(u->lanaddr)) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "the IGD at %.100s is not reached over IPv4 (local address '%.64s')",
		            u->urls.rootdescURL ? u->urls.rootdescURL : "?", u->lanaddr);
		upnp_close(u);
		return NULL;
	}
	return u;
}

typedef enum { ADD_OK, ADD_TAKEN, ADD_FAILED } AddResult;

typedef enum {
	HELD_BY_US,
	HELD_BY_NOBODY, /* NoSuchEntryInArray */
	HELD_BY_OTHER,  /* another host, or another local port */
	HELD_UNKNOWN,   /* the IGD answers with another UPnP error: it cannot tell */
	HELD_NO_ANSWER, /* no answer, or one libminiupnpc cannot read */
} Held;

/* Who holds external port @ext for @proto on the IGD. */
static Held
holder(Upnp *u, const PmRequest *req, const char *ext, const char *proto)
{
	char client[64] = "", port[8] = "", desc[96] = "", enabled[8] = "", lease[24] = "";
	int r = UPNP_GetSpecificPortMappingEntry(u->urls.controlURL, u->data.first.servicetype, ext,
	                                         proto, NULL, client, port, desc, enabled, lease);
	guint64 p = 0;

	if (r < 0)
		return HELD_NO_ANSWER;
	if (r == UPNP_ERR_NO_SUCH_ENTRY)
		return HELD_BY_NOBODY;
	if (r > 0)
		return HELD_UNKNOWN;
	if (strcmp(client, u->lanaddr) == 0 &&
	    g_ascii_string_to_unsigned(port, 10, 1, 65535, &p, NULL) && p == req->local_port)
		return HELD_BY_US;
	return HELD_BY_OTHER;
}

static AddResult
add_one(Upnp *u, const PmRequest *req, guint16 ext, const char *proto, guint *lease, GError **error)
{
	char e[8], in[8], lease_text[16];
	Held held;
	int r;

	g_snprintf(e, sizeof(e), "%u", ext);
	g_snprintf(in, sizeof(in), "%u", req->local_port);
	/* Never take a port another host holds (some IGDs silently would). */
	held = holder(u, req, e, proto);
	if (held == HELD_BY_OTHER)
		return ADD_TAKEN;
	if (held == HELD_NO_ANSWER) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "the IGD at %.100s gives no valid answer about %s port %s",
		            u->urls.rootdescURL ? u->urls.rootdescURL : "?", proto, e);
		return ADD_FAILED;
	}
	g_snprintf(lease_text, sizeof(lease_text), "%u", *lease);
	r = UPNP_AddPortMapping(u->urls.controlURL, u->data.first.servicetype, e, in, u->lanaddr,
	                        req->description, proto, NULL, lease_text);
	if (r == UPNP_ERR_PERMANENT_ONLY && *lease != 0) {
		*lease = 0;
		r = UPNP_AddPortMapping(u->urls.controlURL, u->data.first.servicetype, e, in,
		                        u->lanaddr, req->description, proto, NULL, "0");
	}
	/* Taken, or an IGD that maps only to the same port number: try another. */
	if (r == UPNP_ERR_CONFLICT || r == UPNP_ERR_CONFLICT_OTHER ||
	    (r == UPNP_ERR_SAME_PORT_ONLY && ext != req->local_port))
		return ADD_TAKEN;
	if (r != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED,
		            "the IGD refused to map %s port %s to %s:%s: %d %s", proto, e,
		            u->lanaddr, in, r, upnp_strerror(r));
		return ADD_FAILED;
	}
	/* libminiupnpc takes any answer without an error code for a success:
	 * the mapping must be there. */
	held = holder(u, req, e, proto);
	if (held != HELD_BY_US && held != HELD_UNKNOWN) {
		g_set_error(
		        error, TR_ERROR, TR_ERROR_PROTOCOL,
		        "the IGD at %.100s answered the request to map %s port %s, but does not "
		        "hold that mapping (a broken or fake IGD)",
		        u->urls.rootdescURL ? u->urls.rootdescURL : "?", proto, e);
		return ADD_FAILED;
	}
	return ADD_OK;
}

static void
delete_one(Upnp *u, guint16 ext, const char *proto)
{
	char e[8];
	int r;

	g_snprintf(e, sizeof(e), "%u", ext);
	r = UPNP_DeletePortMapping(u->urls.controlURL, u->data.first.servicetype, e, proto, NULL);
	if (r != 0)
		g_debug("port mapping: deleting %s %s on the IGD: %d %s", proto, e, r,
		        upnp_strerror(r));
}

/*
 * Mappings of ours (this host, this local port, our description) on other
 * external ports: left by an earlier run that could not delete them. One
 * mapping per port, so they go.
 */
static void
delete_stale(Upnp *u, const PmRequest *req, const PmMapping *m)
{
	guint16 stale_port[STALE_ENTRIES];
	char stale_proto[STALE_ENTRIES][8];
	guint n = 0;

	for (guint i = 0; i < STALE_ENTRIES; i++) {
		char index[8], ext[8] = "", client[64] = "", port[8] = "", proto[8] = "",
		               desc[96] = "", enabled[8] = "", rhost[80] = "", lease[24] = "";
		guint64 e = 0, p = 0;
		guint16 ours;

		g_snprintf(index, sizeof(index), "%u", i);
		if (UPNP_GetGenericPortMappingEntry(u->urls.controlURL, u->data.first.servicetype,
		                                    index, ext, client, port, proto, desc, enabled,
		                                    rhost, lease) != 0)
			break;
		if (strcmp(client, u->lanaddr) != 0 || strcmp(desc, req->description) != 0 ||
		    !g_ascii_string_to_unsigned(port, 10, 1, 65535, &p, NULL) ||
		    p != req->local_port ||
		    !g_ascii_string_to_unsigned(ext, 10, 1, 65535, &e, NULL))
			continue;
		ours = g_ascii_strcasecmp(proto, "TCP") == 0 ? m->external_tcp_port
		                                             : m->external_port;
		if (e == ours)
			continue;
		stale_port[n] = (guint16)e;
		g_strlcpy(stale_proto[n], g_ascii_strcasecmp(proto, "TCP") == 0 ? "TCP" : "UDP",
		          sizeof(stale_proto[n]));
		n++;
	}
	for (guint i = 0; i < n; i++) {
		g_message("port mapping: deleting a mapping of ours left over on the IGD (%s %u)",
		          stale_proto[i], stale_port[i]);
		delete_one(u, stale_port[i], stale_proto[i]);
	}
}

static void
external_address(Upnp *u, char *out, gsize size)
{
	char ip[64] = "";

	if (UPNP_GetExternalIPAddress(u->urls.controlURL, u->data.first.servicetype, ip) == 0 &&
	    is_ipv4(ip) && strcmp(ip, "0.0.0.0") != 0)
		g_strlcpy(out, ip, size);
	else
		out[0] = '\0';
}

static gboolean
upnp_map(gpointer gw, const PmRequest *req, PmMapping *m, GError **error)
{
	Upnp *u = gw;
	guint16 tries[PORT_TRIES];
	guint n = 0;

	tries[n++] = m->external_port ? m->external_port : req->local_port;
	if (tries[0] != req->local_port)
		tries[n++] = req->local_port;
	while (n < PORT_TRIES)
		tries[n++] = (guint16)g_random_int_range(1024, 65536);

	for (guint i = 0; i < n; i++) {
		guint lease = req->lease_sec;
		AddResult r = add_one(u, req, tries[i], "UDP", &lease, error);

		if (r == ADD_FAILED)
			return FALSE;
		if (r == ADD_TAKEN)
			continue;
		if (req->tcp) {
			guint tcp_lease = lease;
			r = add_one(u, req, tries[i], "TCP", &tcp_lease, error);
			if (r != ADD_OK) {
				delete_one(u, tries[i], "UDP");
				if (r == ADD_FAILED)
					return FALSE;
				continue;
			}
		}
		m->external_port = tries[i];
		m->external_tcp_port = req->tcp ? tries[i] : 0;
		m->lifetime = lease;
		m->granted_at = g_get_monotonic_time();
		m->not_connected = u->not_connected;
		g_strlcpy(m->internal_address, u->lanaddr, sizeof(m->internal_address));
		g_strlcpy(m->gateway, u->urls.rootdescURL ? u->urls.rootdescURL : "",
		          sizeof(m->gateway));
		external_address(u, m->external_address, sizeof(m->external_address));
		delete_stale(u, req, m);
		return TRUE;
	}
	g_set_error(error, TR_ERROR, TR_ERROR_FAILED,
	            "every external port tried (%u) is taken on the IGD by another host", n);
	return FALSE;
}

static PmCheck
upnp_check(gpointer gw, const PmRequest *req, PmMapping *m, GError **error)
{
	Upnp *u = gw;
	char e[8], ip[48];
	const char *protos[2] = {"UDP", "TCP"};

	for (guint i = 0; i < (m->external_tcp_port ? 2u : 1u); i++) {
		Held h;

		g_snprintf(e, sizeof(e), "%u",
		           (guint)(i ? m->external_tcp_port : m->external_port));
		h = holder(u, req, e, protos[i]);
		if (h == HELD_NO_ANSWER) {
			g_set_error(error, TR_ERROR, TR_ERROR_TIMEOUT,
			            "the IGD at %.100s does not answer", m->gateway);
			return PM_CHECK_ERROR;
		}
		/* An IGD that cannot tell is trusted until the renewal. */
		if (h == HELD_BY_NOBODY || h == HELD_BY_OTHER)
			return PM_CHECK_LOST;
	}
	external_address(u, ip, sizeof(ip));
	if (strcmp(ip, m->external_address) != 0) {
		g_strlcpy(m->external_address, ip, sizeof(m->external_address));
		return PM_CHECK_CHANGED;
	}
	return PM_CHECK_OK;
}

static void
upnp_unmap(gpointer gw, const PmRequest *req, const PmMapping *m)
{
	Upnp *u = gw;

	if (m->external_port)
		delete_one(u, m->external_port, "UDP");
	if (m->external_tcp_port)
		delete_one(u, m->external_tcp_port, "TCP");
}

const PmBackend tr_pm_upnp_backend = {
        .protocol = TR_PORTMAP_PROTO_UPNP,
        .open = upnp_open,
        .map = upnp_map,
        .check = upnp_check,
        .unmap = upnp_unmap,
        .close = upnp_close,
};
