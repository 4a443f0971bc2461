/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port mapping through NAT-PMP (RFC 6886) with Debian's libnatpmp: requests
 * to the default gateway's port 5351. libnatpmp retries on its own schedule
 * (250 ms doubling, for minutes); here each request has a deadline of a few
 * seconds, and every answer's length is checked before libnatpmp reads it
 * (it reads a fixed 16 bytes whatever arrived).
 */
#include "common/portmap/private.h"

#include "common/base/error.h"

#define ENABLE_STRNATPMPERR 1
#include <natpmp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQUEST_MS 3000 /* 250 + 500 + 1000 ms of retries, and a last wait */
#define DELETE_MS  1000 /* at exit: do not hold it up for a gateway that is gone */

/* RFC 6886 3.2 and 3.3: answer sizes. */
#define ANSWER_HEADER  8
#define ANSWER_ADDRESS 12
#define ANSWER_MAPPING 16

typedef struct {
	natpmp_t p;
	char gateway[INET_ADDRSTRLEN];
	char lanaddr[INET_ADDRSTRLEN];
	char public_address[INET_ADDRSTRLEN];
	guint32 epoch;
	gint64 epoch_at; /* monotonic, when epoch was read */
} Natpmp;

/*
 * Drops a datagram that is not a whole answer to the request pending: too
 * short for a header, another version or opcode, or a success of the wrong
 * size. Returns the reason, NULL when libnatpmp may read it.
 */
static const char *
screen_answer(int fd, guint8 opcode, gssize expected)
{
	guint8 buf[64];
	gssize n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	const char *why = NULL;

	if (n < 0)
		return NULL; /* nothing there, or an error libnatpmp reports itself */
	if (n < ANSWER_HEADER)
		why = "an answer shorter than a NAT-PMP header";
	else if (buf[0] != 0)
		why = "an answer of another NAT-PMP version";
	else if (buf[1] != opcode)
		why = "an answer to another request";
	else if ((buf[2] | buf[3]) == 0 && n != expected)
		why = "an answer of the wrong length";
	if (why)
		(void)recv(fd, buf, sizeof(buf), MSG_DONTWAIT); /* consume it */
	return why;
}

static const char *
natpmp_strerror(int r)
{
	const char *s = strnatpmperr(r);
	return s ? s : "unknown error";
}

/*
 * Waits for the answer to the pending request, resending on libnatpmp's
 * schedule, until REQUEST_MS have passed. Malformed answers are dropped
 * (and named in the error if no good one follows).
 */
static int
wait_answer(Natpmp *n, guint8 opcode, gssize expected, guint timeout_ms, natpmpresp_t *resp,
            const char **malformed)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	*malformed = NULL;
	for (;;) {
		struct timeval tv;
		struct pollfd pfd = {.fd = n->p.s, .events = POLLIN};
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		int wait_ms, r;
		const char *why;

		if (left <= 0)
			return NATPMP_TRYAGAIN;
		wait_ms = (int)left;
		if (getnatpmprequesttimeout(&n->p, &tv) == 0) {
			gint64 retry_ms = (gint64)tv.tv_sec * 1000 + tv.tv_usec / 1000;
			if (retry_ms < wait_ms)
				wait_ms = (int)MAX(retry_ms, 0);
		}
		if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
			return NATPMP_ERR_RECVFROM;
		if ((pfd.revents & POLLIN) &&
		    (why = screen_answer(n->p.s, opcode, expected)) != NULL) {
			*malformed = why;
			continue;
		}
		r = readnatpmpresponseorretry(&n->p, resp);
		if (r == NATPMP_TRYAGAIN || r == NATPMP_ERR_WRONGPACKETSOURCE)
			continue;
		return r;
	}
}

static gboolean
request_failed(Natpmp *n, int r, const char *malformed, const char *what, GError **error)
{
	if (r == NATPMP_TRYAGAIN)
		g_set_error(error, TR_ERROR, TR_ERROR_TIMEOUT,
		            "no NAT-PMP answer from %s to %s%s%s%s", n->gateway, what,
		            malformed ? " (dropped " : "", malformed ? malformed : "",
		            malformed ? ")" : "");
	else
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "NAT-PMP gateway %s, %s: %s",
		            n->gateway, what, natpmp_strerror(r));
	return FALSE;
}

static void
natpmp_close(gpointer gw)
{
	Natpmp *n = gw;

	if (n == NULL)
		return;
	closenatpmp(&n->p);
	g_free(n);
}

/* The gateway's public address (and its epoch). */
static gboolean
public_address(Natpmp *n, GError **error)
{
	natpmpresp_t resp;
	const char *malformed;
	int r = sendpublicaddressrequest(&n->p);

	if (r < 0)
		return request_failed(n, r, NULL, "the public address request", error);
	r = wait_answer(n, 128, ANSWER_ADDRESS, REQUEST_MS, &resp, &malformed);
	if (r != 0)
		return request_failed(n, r, malformed, "the public address request", error);
	if (resp.type != NATPMP_RESPTYPE_PUBLICADDRESS ||
	    !inet_ntop(AF_INET, &resp.pnu.publicaddress.addr, n->public_address,
	               sizeof(n->public_address)))
		return request_failed(n, NATPMP_ERR_UNSUPPORTEDOPCODE, NULL,
		                      "the public address request", error);
	if (resp.pnu.publicaddress.addr.s_addr == 0)
		n->public_address[0] = '\0';
	n->epoch = resp.epoch;
	n->epoch_at = g_get_monotonic_time();
	return TRUE;
}

/* initnatpmp() leaves its socket open when it fails after making it (no
 * gateway, connect() refused): closed here. Nor does it mark it
 * close-on-exec (ifup scripts would inherit it). */
static int
init_natpmp(natpmp_t *p)
{
	int r;

	p->s = -1;
	r = initnatpmp(p, 0, 0);
	if (r < 0 && p->s >= 0) {
		close(p->s);
		p->s = -1;
	}
	if (r == 0)
		(void)fcntl(p->s, F_SETFD, FD_CLOEXEC);
	return r;
}

gboolean
tr_pm_default_gateway(char *out, gsize size)
{
	natpmp_t p;
	struct in_addr gw;

	if (init_natpmp(&p) < 0)
		return FALSE;
	gw.s_addr = p.gateway;
	inet_ntop(AF_INET, &gw, out, (socklen_t)size);
	closenatpmp(&p);
	return TRUE;
}

static gpointer
natpmp_open(GError **error)
{
	Natpmp *n = g_new0(Natpmp, 1);
	struct sockaddr_in local;
	socklen_t len = sizeof(local);
	struct in_addr gw;
	int r = init_natpmp(&n->p);

	if (r < 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_NOT_FOUND, "NAT-PMP: %s",
		            r == NATPMP_ERR_CANNOTGETGATEWAY ? "no IPv4 default gateway"
		                                             : natpmp_strerror(r));
		g_free(n);
		return NULL;
	}
	gw.s_addr = n->p.gateway;
	inet_ntop(AF_INET, &gw, n->gateway, sizeof(n->gateway));
	/* The socket is connected to the gateway: its address is ours on that link. */
	if (getsockname(n->p.s, (struct sockaddr *)&local, &len) == 0)
		inet_ntop(AF_INET, &local.sin_addr, n->lanaddr, sizeof(n->lanaddr));
	if (!public_address(n, error)) {
		natpmp_close(n);
		return NULL;
	}
	return n;
}

/* One mapping request: @public_port asked for, *@got granted. */
static gboolean
map_one(Natpmp *n, int proto, guint16 local, guint16 public_port, guint lifetime, guint16 *got,
        guint *granted, GError **error)
{
	natpmpresp_t resp;
	const char *malformed;
	const char *what = proto == NATPMP_PROTOCOL_TCP ? "the TCP mapping request"
	                                                : "the UDP mapping request";
	int r = sendnewportmappingrequest(&n->p, proto, local, public_port, lifetime);

	if (r < 0)
		return request_failed(n, r, NULL, what, error);
	r = wait_answer(n, (guint8)(128 + proto), ANSWER_MAPPING, lifetime ? REQUEST_MS : DELETE_MS,
	                &resp, &malformed);
	if (r != 0)
		return request_failed(n, r, malformed, what, error);
	if (resp.type != (proto == NATPMP_PROTOCOL_TCP ? NATPMP_RESPTYPE_TCPPORTMAPPING
	                                               : NATPMP_RESPTYPE_UDPPORTMAPPING) ||
	    resp.pnu.newportmapping.privateport != local ||
	    (lifetime && (resp.pnu.newportmapping.mappedpublicport == 0 ||
	                  resp.pnu.newportmapping.lifetime == 0))) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "NAT-PMP gateway %s: %s answered for another mapping", n->gateway,
		            what);
		return FALSE;
	}
	*got = resp.pnu.newportmapping.mappedpublicport;
	*granted = resp.pnu.newportmapping.lifetime;
	return TRUE;
}

static gboolean
natpmp_map(gpointer gw, const PmRequest *req, PmMapping *m, GError **error)
{
	Natpmp *n = gw;
	guint16 udp = 0, tcp = 0;
	guint lifetime = 0, tcp_lifetime = 0;
	guint16 want = m->external_port ? m->external_port : req->local_port;

	if (!map_one(n, NATPMP_PROTOCOL_UDP, req->local_port, want, req->lease_sec, &udp, &lifetime,
	             error))
		return FALSE;
	/* TCP on the port UDP got: clients dial the hub's TCP port and send UDP
	 * to the same number. */
	if (req->tcp) {
		if (!map_one(n, NATPMP_PROTOCOL_TCP, req->local_port, udp, req->lease_sec, &tcp,
		             &tcp_lifetime, error))
			return FALSE;
		if (tcp != udp)
			g_warning("port mapping: the NAT-PMP gateway %s gave TCP port %u but UDP "
			          "port %u; clients dialing %u over TCP fall back to carrying data "
			          "over TLS",
			          n->gateway, tcp, udp, tcp);
		lifetime = MIN(lifetime, tcp_lifetime);
	}
	m->external_port = udp;
	m->external_tcp_port = tcp;
	m->lifetime = lifetime;
	m->granted_at = g_get_monotonic_time();
	m->not_connected = n->public_address[0] && tr_pm_address_is_private(n->public_address);
	g_strlcpy(m->external_address, n->public_address, sizeof(m->external_address));
	g_strlcpy(m->internal_address, n->lanaddr, sizeof(m->internal_address));
	g_strlcpy(m->gateway, n->gateway, sizeof(m->gateway));
	return TRUE;
}

/*
 * NAT-PMP cannot list mappings. The gateway's epoch (seconds since its table
 * began) going back means it restarted and lost them; either way the
 * mapping is asked for again, which renews it and makes it again where the
 * table was cleared.
 */
static PmCheck
natpmp_check(gpointer gw, const PmRequest *req, PmMapping *m, GError **error)
{
	Natpmp *n = gw;
	guint32 old_epoch = n->epoch;
	gint64 elapsed = (g_get_monotonic_time() - n->epoch_at) / G_USEC_PER_SEC;
	PmMapping before = *m;

	if (!public_address(n, error))
		return PM_CHECK_ERROR;
	/* RFC 6886 3.6: allow for clocks running at slightly different rates. */
	if ((gint64)n->epoch + 2 < (gint64)old_epoch + elapsed * 7 / 8)
		return PM_CHECK_LOST;
	if (!natpmp_map(gw, req, m, error))
		return PM_CHECK_ERROR;
	if (m->external_port != before.external_port ||
	    m->external_tcp_port != before.external_tcp_port ||
	    strcmp(m->external_address, before.external_address) != 0)
		return PM_CHECK_CHANGED;
	return PM_CHECK_OK;
}

static void
natpmp_unmap(gpointer gw, const PmRequest *req, const PmMapping *m)
{
	Natpmp *n = gw;
	guint16 got;
	guint granted;
	g_autoptr(GError) error = NULL;

	/* RFC 6886 3.4: lifetime 0 and external port 0 delete the mapping. */
	if (m->external_port &&
	    !map_one(n, NATPMP_PROTOCOL_UDP, req->local_port, 0, 0, &got, &granted, &error))
		g_debug("port mapping: deleting the UDP mapping: %s", error->message);
	g_clear_error(&error);
	if (m->external_tcp_port &&
	    !map_one(n, NATPMP_PROTOCOL_TCP, req->local_port, 0, 0, &got, &granted, &error))
		g_debug("port mapping: deleting the TCP mapping: %s", error->message);
}

const PmBackend tr_pm_natpmp_backend = {
        .protocol = TR_PORTMAP_PROTO_NATPMP,
        .open = natpmp_open,
        .map = natpmp_map,
        .check = natpmp_check,
        .unmap = natpmp_unmap,
        .close = natpmp_close,
};
