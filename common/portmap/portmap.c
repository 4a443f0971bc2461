/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The port-mapping worker: one thread per TrPortmap that finds the gateway
 * (UPnP-IGD first, then NAT-PMP), makes the mapping, renews it at half its
 * lease, checks every interval that the router still holds it, and deletes
 * it at the end. The owner's thread only reads a snapshot under the lock and
 * is told of changes on its main context.
 */
#include "common/portmap/private.h"

#include "common/ctrl/dialer.h"
#include "common/base/json-writer.h"
#include "common/daemon/options.h"
#include "platform/process.h"

#include "platform/net.h"

#include <string.h>

#define STOP_WAIT_MS  5000 /* at exit, for the deletion to go through */
#define RETRY_MAX_SEC 300

struct _TrPortmap {
	gint ref; /* the owner and the worker */
	GMutex lock;
	GCond cond;
	GThread *thread;
	GMainContext *context;

	/* Constant after tr_portmap_new(). */
	TrPortmapSettings settings;
	char *description;
	gboolean map_tcp;

	/* Under the lock. */
	guint16 want_port;
	gboolean stopping;
	gboolean done;
	gboolean gateway; /* a gateway answered: a mapping may exist or be under way */
	gboolean notify_queued;
	TrPortmapStatus status;

	/* The owner's thread only. */
	gboolean owner_gone;
	void (*changed)(gpointer);
	gpointer changed_data;
};

static const PmBackend *const backends[] = {
        &tr_pm_upnp_backend,
#ifdef TR_HAVE_NATPMP /* Windows builds may lack libnatpmp (common/meson.build) */
        &tr_pm_natpmp_backend,
#endif
};

/* ---- Settings ------------------------------------------------------------------ */

void
tr_portmap_settings_init(TrPortmapSettings *s)
{
	s->enabled = TRUE;
	s->check_sec = TR_PORTMAP_CHECK_DEFAULT;
	s->lease_sec = TR_PORTMAP_LEASE_DEFAULT;
}

void
tr_portmap_settings_from_options(TrOptions *o, TrPortmapSettings *s)
{
	tr_portmap_settings_init(s);
	s->enabled = tr_options_get_bool(o, "port-forwarding") &&
	             !tr_options_get_bool(o, "no-port-forwarding");
	s->check_sec =
	        (guint)tr_options_get_int(o, "port-forwarding-interval", TR_PORTMAP_CHECK_DEFAULT);
}

/* ---- Names ---------------------------------------------------------------------- */

const char *
tr_portmap_protocol_name(TrPortmapProtocol protocol)
{
	switch (protocol) {
	case TR_PORTMAP_PROTO_UPNP:
		return "upnp";
	case TR_PORTMAP_PROTO_NATPMP:
		return "nat-pmp";
	default:
		return "none";
	}
}

const char *
tr_portmap_state_name(TrPortmapState state)
{
	switch (state) {
	case TR_PORTMAP_SEARCHING:
		return "searching";
	case TR_PORTMAP_MAPPED:
		return "mapped";
	case TR_PORTMAP_FAILED:
		return "failed";
	default:
		return "idle";
	}
}

static const char *
protocol_title(TrPortmapProtocol protocol)
{
	return protocol == TR_PORTMAP_PROTO_UPNP ? "UPnP IGD" : "NAT-PMP gateway";
}

gboolean
tr_pm_address_is_private(const char *ipv4)
{
	/* RFC 1918, RFC 6598 (shared, carrier-grade NAT), loopback, link-local,
	 * RFC 2544 benchmarking, documentation ranges, 0/8, 240/4. */
	static const struct {
		guint32 net;
		guint bits;
	} ranges[] = {
	        {0x00000000, 8},  {0x0a000000, 8},  {0x64400000, 10}, {0x7f000000, 8},
	        {0xa9fe0000, 16}, {0xac100000, 12}, {0xc0000000, 24}, {0xc0000200, 24},
	        {0xc0a80000, 16}, {0xc6120000, 15}, {0xc6336400, 24}, {0xcb007100, 24},
	        {0xf0000000, 4},
	};
	struct in_addr a;
	guint32 h;

	if (inet_pton(AF_INET, ipv4, &a) != 1)
		return FALSE;
	h = ntohl(a.s_addr);
	for (guint i = 0; i < G_N_ELEMENTS(ranges); i++)
		if ((h >> (32 - ranges[i].bits)) == (ranges[i].net >> (32 - ranges[i].bits)))
			return TRUE;
	return FALSE;
}

/* ---- Lifetime ------------------------------------------------------------------- */

static TrPortmap *
portmap_ref(TrPortmap *pm)
{
	g_atomic_int_inc(&pm->ref);
	return pm;
}

static void
portmap_unref(gpointer p)
{
	TrPortmap *pm = p;

	if (!g_atomic_int_dec_and_test(&pm->ref))
		return;
	g_mutex_clear(&pm->lock);
	g_cond_clear(&pm->cond);
	g_main_context_unref(pm->context);
	g_free(pm->description);
	g_free(pm);
}

static gboolean
notify_owner(gpointer p)
{
	TrPortmap *pm = p;

	g_mutex_lock(&pm->lock);
	pm->notify_queued = FALSE;
	g_mutex_unlock(&pm->lock);
	if (!pm->owner_gone && pm->changed)
		pm->changed(pm->changed_data);
	return G_SOURCE_REMOVE;
}

/* Worker: a new snapshot, and the owner told on its own thread when more
 * than the lease moved on (a check every interval is no news). */
static void
publish(TrPortmap *pm, const TrPortmapStatus *st)
{
	TrPortmapStatus old, now;
	gboolean news;

	g_mutex_lock(&pm->lock);
	old = pm->status;
	now = *st;
	old.expires_mono = now.expires_mono = 0;
	news = memcmp(&old, &now, sizeof(old)) != 0;
	pm->status = *st;
	if (news && !pm->notify_queued) {
		GSource *src = g_idle_source_new();

		pm->notify_queued = TRUE;
		g_source_set_callback(src, notify_owner, portmap_ref(pm), portmap_unref);
		g_source_attach(src, pm->context);
		g_source_unref(src);
	}
	g_mutex_unlock(&pm->lock);
}

/* ---- The worker ------------------------------------------------------------------ */

typedef struct {
	TrPortmap *pm;
	PmRequest req;
	const PmBackend *be; /* the gateway found, or NULL */
	gpointer gw;
	PmMapping m; /* valid while mapped; its external port is asked for again */
	gboolean mapped;
	unsigned privileges; /* tr_process_privileges_generation() adopted */
	gint64 next_check, renew_at, retry_at;
	guint attempt;
	char last_error[256];
	gboolean lost_logged;
	gboolean ever_mapped; /* this port was mapped before */
	TrPortmapStatus st;
} Worker;

static void
close_gateway(Worker *w)
{
	if (w->gw)
		w->be->close(w->gw);
	w->gw = NULL;
	w->be = NULL;
	g_mutex_lock(&w->pm->lock);
	w->pm->gateway = FALSE;
	g_mutex_unlock(&w->pm->lock);
}

/*
 * A gateway answered. From here the owner waits for the worker at exit (a
 * mapping may come of it, to delete); FALSE when the owner is already gone.
 */
static gboolean
gateway_found(Worker *w)
{
	gboolean go;

	g_mutex_lock(&w->pm->lock);
	go = !w->pm->stopping;
	w->pm->gateway = go;
	g_mutex_unlock(&w->pm->lock);
	return go;
}

static void
set_status(Worker *w, TrPortmapState state, const char *error)
{
	TrPortmapStatus *st = &w->st;

	memset(st, 0, sizeof(*st));
	st->state = state;
	st->local_port = w->req.local_port;
	if (w->mapped) {
		st->protocol = w->be->protocol;
		g_strlcpy(st->internal_address, w->m.internal_address,
		          sizeof(st->internal_address));
		g_strlcpy(st->gateway, w->m.gateway, sizeof(st->gateway));
		g_strlcpy(st->external_address, w->m.external_address,
		          sizeof(st->external_address));
		st->external_port = w->m.external_port;
		st->external_tcp_port = w->m.external_tcp_port;
		st->not_connected = w->m.not_connected;
		st->expires_mono =
		        w->m.lifetime ? w->m.granted_at + (gint64)w->m.lifetime * G_USEC_PER_SEC
		                      : 0;
	}
	if (error)
		g_strlcpy(st->error, error, sizeof(st->error));
	publish(w->pm, st);
}

static void
granted(Worker *w)
{
	gint64 now = w->m.granted_at;
	guint half = w->m.lifetime / 2;

	w->mapped = TRUE;
	w->renew_at = w->m.lifetime ? now + (gint64)MAX(half, 1u) * G_USEC_PER_SEC : G_MAXINT64;
	w->next_check = now + (gint64)w->pm->settings.check_sec * G_USEC_PER_SEC;
}

static void
log_mapping(Worker *w, const char *verb)
{
	const PmMapping *m = &w->m;
	g_autofree char *lease =
	        m->lifetime ? g_strdup_printf("lease %u s", m->lifetime) : g_strdup("permanent");

	g_message("port mapping: %s: UDP%s port %u reachable at %s:%u%s through the %s at %s "
	          "(%s)%s",
	          verb, m->external_tcp_port ? " and TCP" : "", w->req.local_port,
	          m->external_address[0] ? m->external_address : "(address not told)",
	          m->external_port,
	          m->external_tcp_port && m->external_tcp_port != m->external_port
	                  ? " (TCP: other port)"
	                  : "",
	          protocol_title(w->be->protocol), m->gateway, lease,
	          m->not_connected ? "; the router says it is not connected (its external "
	                             "address is private or reserved: another NAT above it?), "
	                             "so this is a lower-priority address"
	                           : "");
}

/* A failure: logged once per reason, retried with backoff. */
static void
failed(Worker *w, const char *message)
{
	guint delay_ms = tr_backoff_next(w->attempt + 2, RETRY_MAX_SEC);

	w->attempt++;
	if (strcmp(message, w->last_error) != 0) {
		g_message("port mapping: %s; trying again in %u s, then less and less often",
		          message, (delay_ms + 500) / 1000);
		g_strlcpy(w->last_error, message, sizeof(w->last_error));
	} else {
		g_debug("port mapping: %s (attempt %u)", message, w->attempt);
	}
	w->retry_at = g_get_monotonic_time() + (gint64)delay_ms * 1000;
	set_status(w, TR_PORTMAP_FAILED, message);
}

/* On the gateway found earlier, else on the first that answers. */
static void
try_map(Worker *w)
{
	g_autoptr(GString) why = g_string_new(NULL);
	guint16 want = w->m.external_port;

	if (w->gw) {
		g_autoptr(GError) error = NULL;

		w->m.external_port = want;
		if (w->be->map(w->gw, &w->req, &w->m, &error))
			goto done;
		g_string_append_printf(why, "%s: %s; ", protocol_title(w->be->protocol),
		                       error->message);
		close_gateway(w);
	}
	/* Without a default route no router is there to ask: no SSDP search. */
	{
		char gw[INET_ADDRSTRLEN];
		if (!tr_pm_default_gateway(gw, sizeof(gw))) {
			failed(w, "no IPv4 default route, so no router to ask");
			return;
		}
	}
	for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
		g_autoptr(GError) error = NULL;
		gpointer gw = backends[i]->open(&error);

		if (gw) {
			w->be = backends[i];
			w->gw = gw;
			if (!gateway_found(w)) {
				close_gateway(w);
				return;
			}
			w->m.external_port = want;
			if (w->be->map(gw, &w->req, &w->m, &error))
				goto done;
			close_gateway(w);
		}
		g_string_append_printf(why, "%s%s", error->message,
		                       i + 1 < G_N_ELEMENTS(backends) ? "; " : "");
	}
	failed(w, why->str);
	return;
done:
	granted(w);
	log_mapping(w, w->ever_mapped ? "made again" : w->last_error[0] ? "made at last" : "made");
	w->ever_mapped = TRUE;
	w->last_error[0] = '\0';
	w->attempt = 0;
	set_status(w, TR_PORTMAP_MAPPED, NULL);
}

static void
renew(Worker *w)
{
	g_autoptr(GError) error = NULL;
	PmMapping before = w->m;

	if (!w->be->map(w->gw, &w->req, &w->m, &error)) {
		g_autofree char *msg = g_strdup_printf("renewing the mapping: %s", error->message);
		w->mapped = FALSE;
		close_gateway(w);
		failed(w, msg);
		return;
	}
	granted(w);
	if (before.external_port != w->m.external_port ||
	    strcmp(before.external_address, w->m.external_address) != 0)
		log_mapping(w, "changed on renewal");
	else
		g_debug("port mapping: renewed (lease %u s)", w->m.lifetime);
	set_status(w, TR_PORTMAP_MAPPED, NULL);
}

static void
check(Worker *w)
{
	g_autoptr(GError) error = NULL;
	gint64 now = g_get_monotonic_time();
	gint64 granted_at = w->m.granted_at;

	w->next_check = now + (gint64)w->pm->settings.check_sec * G_USEC_PER_SEC;
	switch (w->be->check(w->gw, &w->req, &w->m, &error)) {
	case PM_CHECK_OK:
		w->lost_logged = FALSE;
		break;
	case PM_CHECK_CHANGED:
		log_mapping(w, "changed");
		break;
	case PM_CHECK_LOST:
		/* The same external port is asked for again: never a second one. */
		if (!w->lost_logged)
			g_message("port mapping: the %s no longer holds the mapping of port %u "
			          "(restarted, or its table was cleared); making it again",
			          protocol_title(w->be->protocol), w->m.external_port);
		w->lost_logged = TRUE;
		w->mapped = FALSE;
		w->retry_at = now;
		set_status(w, TR_PORTMAP_SEARCHING, NULL);
		return;
	case PM_CHECK_ERROR: {
		g_autofree char *msg =
		        g_strdup_printf("lost touch with the gateway: %s", error->message);
		w->mapped = FALSE;
		close_gateway(w);
		failed(w, msg);
		return;
	}
	}
	/* A check that renewed (NAT-PMP asks again) moves the lease on. */
	if (w->m.granted_at != granted_at)
		granted(w);
	set_status(w, TR_PORTMAP_MAPPED, NULL);
}

/* @why: "" at exit, else why in parentheses. */
static void
unmap(Worker *w, const char *why)
{
	if (!w->mapped)
		return;
	w->be->unmap(w->gw, &w->req, &w->m);
	g_message("port mapping: deleted the mapping of port %u on the %s%s", w->m.external_port,
	          protocol_title(w->be->protocol), why);
	w->mapped = FALSE;
}

static gint64
next_action(Worker *w)
{
	if (w->req.local_port == 0)
		return 0; /* nothing to do until a port is set */
	if (!w->mapped)
		return w->retry_at;
	return MIN(w->next_check, w->renew_at);
}

/* This thread needs no privilege: it holds no more than the main thread,
 * which drops them (capabilities are per thread). */
static void
follow_privileges(Worker *w)
{
	if (w->privileges != tr_process_privileges_generation()) {
		w->privileges = tr_process_privileges_generation();
		tr_process_adopt_privileges();
	}
}

static gpointer
worker_main(gpointer p)
{
	Worker w = {.pm = p};
	TrPortmap *pm = p;

	w.req.description = pm->description;
	w.req.tcp = pm->map_tcp;
	w.req.lease_sec = pm->settings.lease_sec;

	follow_privileges(&w);
	g_mutex_lock(&pm->lock);
	for (;;) {
		gint64 wake = next_action(&w);
		guint16 want;

		while (!pm->stopping && pm->want_port == w.req.local_port &&
		       (wake == 0 || g_get_monotonic_time() < wake)) {
			if (wake == 0)
				g_cond_wait(&pm->cond, &pm->lock);
			else
				g_cond_wait_until(&pm->cond, &pm->lock, wake);
		}
		if (pm->stopping)
			break;
		want = pm->want_port;
		g_mutex_unlock(&pm->lock);

		follow_privileges(&w);

		if (want != w.req.local_port) {
			unmap(&w, want ? " (the local port changed)" : " (nothing to map now)");
			memset(&w.m, 0, sizeof(w.m));
			w.ever_mapped = FALSE;
			w.req.local_port = want;
			w.attempt = 0;
			w.retry_at = g_get_monotonic_time();
			set_status(&w, want ? TR_PORTMAP_SEARCHING : TR_PORTMAP_OFF, NULL);
		} else if (!w.mapped) {
			try_map(&w);
		} else if (g_get_monotonic_time() >= w.renew_at) {
			renew(&w);
		} else {
			check(&w);
		}
		g_mutex_lock(&pm->lock);
	}
	g_mutex_unlock(&pm->lock);

	unmap(&w, "");
	close_gateway(&w);
	set_status(&w, TR_PORTMAP_OFF, NULL);
	g_mutex_lock(&pm->lock);
	pm->done = TRUE;
	g_cond_broadcast(&pm->cond);
	g_mutex_unlock(&pm->lock);
	portmap_unref(pm);
	return NULL;
}

/* ---- The owner's side -------------------------------------------------------------- */

TrPortmap *
tr_portmap_new(const TrPortmapSettings *settings, const char *description, gboolean map_tcp)
{
	TrPortmap *pm = g_new0(TrPortmap, 1);

	pm->ref = 2; /* the owner and the worker */
	g_mutex_init(&pm->lock);
	g_cond_init(&pm->cond);
	pm->context = g_main_context_ref_thread_default();
	pm->settings = *settings;
	pm->settings.check_sec = MAX(pm->settings.check_sec, 1u);
	pm->description = g_strdup(description);
	pm->map_tcp = map_tcp;
	pm->thread = g_thread_new("portmap", worker_main, pm);
	return pm;
}

void
tr_portmap_set_port(TrPortmap *pm, guint16 port)
{
	g_mutex_lock(&pm->lock);
	pm->want_port = port;
	g_cond_broadcast(&pm->cond);
	g_mutex_unlock(&pm->lock);
}

void
tr_portmap_free(TrPortmap *pm)
{
	gint64 deadline = g_get_monotonic_time() + STOP_WAIT_MS * 1000;
	gboolean done, wait;

	if (pm == NULL)
		return;
	pm->owner_gone = TRUE;
	g_mutex_lock(&pm->lock);
	pm->stopping = TRUE;
	g_cond_broadcast(&pm->cond);
	/* No gateway has answered: there is nothing to delete, and no reason to
	 * wait for a search (SSDP takes seconds) to run out. */
	wait = pm->gateway;
	while (wait && !pm->done && g_cond_wait_until(&pm->cond, &pm->lock, deadline))
		;
	done = pm->done;
	g_mutex_unlock(&pm->lock);
	if (done) {
		g_thread_join(pm->thread);
	} else {
		/* The worker finishes on its own (it holds its own reference). */
		if (wait)
			g_message("port mapping: the router does not answer; leaving without "
			          "waiting for the mapping to be deleted (it expires with its "
			          "lease)");
		g_thread_unref(pm->thread);
	}
	portmap_unref(pm);
}

void
tr_portmap_get_status(TrPortmap *pm, TrPortmapStatus *out)
{
	g_mutex_lock(&pm->lock);
	*out = pm->status;
	g_mutex_unlock(&pm->lock);
}

gboolean
tr_portmap_get_endpoint(TrPortmap *pm, struct sockaddr_storage *addr, socklen_t *len,
                        gboolean *low_priority)
{
	TrPortmapStatus st;
	struct sockaddr_in *sin = (struct sockaddr_in *)addr;

	if (pm == NULL)
		return FALSE;
	tr_portmap_get_status(pm, &st);
	if (st.state != TR_PORTMAP_MAPPED || st.external_address[0] == '\0')
		return FALSE;
	memset(addr, 0, sizeof(*addr));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(st.external_port);
	if (inet_pton(AF_INET, st.external_address, &sin->sin_addr) != 1)
		return FALSE;
	*len = sizeof(*sin);
	if (low_priority)
		*low_priority = st.not_connected;
	return TRUE;
}

void
tr_portmap_set_changed_func(TrPortmap *pm, void (*func)(gpointer), gpointer user_data)
{
	pm->changed = func;
	pm->changed_data = user_data;
}

void
tr_portmap_stats_json(TrPortmap *pm, gboolean enabled, GString *out, gboolean *first)
{
	TrPortmapStatus st;
	gboolean f = TRUE;

	tr_json_key(out, first, "port_mapping");
	g_string_append_c(out, '{');
	if (pm == NULL) {
		tr_json_key_string(out, &f, "state",
		                   enabled ? tr_portmap_state_name(TR_PORTMAP_OFF) : "disabled");
		g_string_append_c(out, '}');
		return;
	}
	tr_portmap_get_status(pm, &st);
	tr_json_key_string(out, &f, "state", tr_portmap_state_name(st.state));
	if (st.local_port)
		tr_json_key_uint(out, &f, "local_port", st.local_port);
	if (st.state == TR_PORTMAP_MAPPED) {
		tr_json_key_string(out, &f, "protocol", tr_portmap_protocol_name(st.protocol));
		tr_json_key_string(out, &f, "gateway", st.gateway);
		tr_json_key_string(out, &f, "internal_address", st.internal_address);
		tr_json_key_string(out, &f, "external_address",
		                   st.external_address[0] ? st.external_address : NULL);
		tr_json_key_uint(out, &f, "external_port", st.external_port);
		if (st.external_tcp_port)
			tr_json_key_uint(out, &f, "external_tcp_port", st.external_tcp_port);
		if (st.expires_mono) {
			gint64 left = (st.expires_mono - g_get_monotonic_time()) / G_USEC_PER_SEC;
			tr_json_key_uint(out, &f, "lifetime_left", (guint64)MAX(left, 0));
		} else {
			tr_json_key(out, &f, "permanent");
			g_string_append(out, "true");
		}
		tr_json_key(out, &f, "not_connected");
		g_string_append(out, st.not_connected ? "true" : "false");
		tr_json_key_string(out, &f, "priority", st.not_connected ? "low" : "normal");
	}
	if (st.error[0])
		tr_json_key_string(out, &f, "error", st.error);
	g_string_append_c(out, '}');
}
