/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Admission of new connections: who may start a TLS handshake with the hub
 * while others are still pending.
 */
#include "server/hub-private.h"

#include "platform/net.h"
#include <string.h>

/*
 * Connections that have not authenticated yet are capped twice: at most
 * --max-pending in all and --max-pending-per-source from one source (an
 * IPv4 address, an IPv6 /64). When the global cap is reached, a connection
 * from a source with fewer pending handshakes than the busiest source
 * takes the place of the busiest source's oldest one: one source, however
 * many connections it opens, cannot keep everyone else out.
 *
 * A source at its own cap is refused at once (a slow-loris defence: it
 * cannot fill the queue either). Otherwise a connection that finds every
 * slot taken waits, accepted but not handshaking, in a queue bounded in all
 * (--max-waiting: after a hub restart every client comes back within a
 * second or two, and one shed comes back only after its backoff, 2 s, 4,
 * ..., while the hub may idle) and per source (WAITING_PER_PENDING times
 * --max-pending-per-source),
 * and starts in its turn as slots come free: in a reconnection storm the
 * clients are served in the order they came instead of being refused and
 * coming back after a backoff (1 s, 2, 4, ...), while the handshakes in
 * flight, and so the main loop's time taken from established sessions, stay
 * bounded. One that waited longer than the handshake timeout is closed
 * unstarted (its client has given up). Past the bounds connections are shed:
 * closed at once, with a log line that says which bound and how many so far.
 */
#define WAITING_PER_PENDING 16u

typedef struct {
	int fd;
	char *source;
	char *remote;
	gint64 since;
} Waiting;

char *
hub_source_key(const struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		struct in6_addr a = ((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(&a))
			return g_strdup(inet_ntop(AF_INET, &a.s6_addr[12], buf, sizeof(buf)));
		memset(&a.s6_addr[8], 0, 8); /* a /64 is one source */
		return g_strdup_printf("%s/64", inet_ntop(AF_INET6, &a, buf, sizeof(buf)));
	}
	if (ss->ss_family == AF_INET)
		return g_strdup(inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf,
		                          sizeof(buf)));
	return g_strdup("?");
}

static guint
source_pending(TrHub *hub, const char *source)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(hub->pending_by_source, source));
}

void
hub_pending_enter(Session *s, char *source)
{
	TrHub *hub = s->hub;

	s->source = source;
	s->pending = TRUE;
	s->admitted_at = g_get_monotonic_time();
	hub->n_pending++;
	g_hash_table_insert(hub->pending_by_source, g_strdup(s->source),
	                    GUINT_TO_POINTER(source_pending(hub, s->source) + 1));
}

static gboolean on_slots_free(gpointer hub);

void
hub_pending_leave(Session *s)
{
	TrHub *hub = s->hub;
	guint n;

	if (!s->pending)
		return;
	s->pending = FALSE;
	hub->n_pending--;
	/* A slot came free: the waiting take it (soon, not inside the caller's work). */
	if (hub->waiting.length > 0 && hub->waiting_id == 0)
		hub->waiting_id = g_timeout_add(0, on_slots_free, hub);
	n = source_pending(hub, s->source);
	if (n <= 1)
		g_hash_table_remove(hub->pending_by_source, s->source);
	else
		g_hash_table_insert(hub->pending_by_source, g_strdup(s->source),
		                    GUINT_TO_POINTER(n - 1));
}

/* The oldest pending connection of the source with the most, if that source
 * has more than @than. */
static Session *
pick_victim(TrHub *hub, guint than)
{
	GHashTableIter it;
	gpointer k, v;
	const char *busiest = NULL;
	guint most = than;
	Session *victim = NULL;

	g_hash_table_iter_init(&it, hub->pending_by_source);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (GPOINTER_TO_UINT(v) > most) {
			most = GPOINTER_TO_UINT(v);
			busiest = k;
		}
	}
	if (busiest == NULL)
		return NULL;
	g_hash_table_iter_init(&it, hub->sessions);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		Session *s = k;

		if (s->pending && strcmp(s->source, busiest) == 0 &&
		    (victim == NULL || s->admitted_at < victim->admitted_at))
			victim = s;
	}
	return victim;
}

static guint
count_get(GHashTable *counts, const char *source)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(counts, source));
}

static void
count_add(GHashTable *counts, const char *source, int delta)
{
	guint n = count_get(counts, source) + (guint)delta;

	if (n == 0)
		g_hash_table_remove(counts, source);
	else
		g_hash_table_insert(counts, g_strdup(source), GUINT_TO_POINTER(n));
}

/* Closes @fd for want of room, saying which bound it met. */
static void
shed(TrHub *hub, int fd, const char *remote, const char *why)
{
	hub->n_shed++;
	if (tr_log_limit(&hub->admission_log, "connections refused at admission", 5, 60))
		g_warning("handshake queue: shedding %s: %s (%" G_GUINT64_FORMAT
		          " shed since the start; %u handshaking, %u waiting)",
		          remote, why, hub->n_shed, hub->n_pending, hub->waiting.length);
	tr_sock_close(fd);
}

/* Starts the handshake of an accepted connection. */
static void
start(TrHub *hub, int fd, char *source, const char *remote)
{
	g_autoptr(GError) error = NULL;
	Session *s = hub_session_new(hub, fd, remote, hub->creds, TRUE, &error);

	if (s == NULL) {
		if (tr_log_limit(&hub->admission_log, "connections refused at admission", 5, 60))
			g_warning("cannot accept %s: %s", remote, error->message);
		g_free(source);
		return;
	}
	hub_pending_enter(s, source);
	tr_link_start(s->link, hub->cfg.handshake_timeout_ms);
}

static void
waiting_free(TrHub *hub, Waiting *w)
{
	count_add(hub->waiting_by_source, w->source, -1);
	g_free(w->source);
	g_free(w->remote);
	g_free(w);
}

/* Free slots go to the waiting connections, oldest first, skipping a source
 * at its own cap (it waits for one of its own to finish); at most
 * STARTS_PER_TURN at a time (each sets up a TLS session), the rest at the
 * loop's next iteration, so that a queue of thousands after a restart never
 * holds the established sessions' sources for long. */
#define STARTS_PER_TURN 32

static gboolean
on_slots_free(gpointer p)
{
	TrHub *hub = p;
	gint64 now = g_get_monotonic_time();
	GList *l = hub->waiting.head;
	guint started = 0;

	while (l && hub->n_pending < hub->cfg.max_pending) {
		Waiting *w = l->data;
		GList *next = l->next;

		if (now - w->since > (gint64)hub->cfg.handshake_timeout_ms * 1000) {
			g_queue_delete_link(&hub->waiting, l);
			shed(hub, w->fd, w->remote, "waited longer than the handshake timeout");
			waiting_free(hub, w);
		} else if (source_pending(hub, w->source) < hub->cfg.max_pending_per_source) {
			char *source = g_strdup(w->source);

			g_queue_delete_link(&hub->waiting, l);
			start(hub, w->fd, source, w->remote);
			waiting_free(hub, w);
			if (++started == STARTS_PER_TURN && next &&
			    hub->n_pending < hub->cfg.max_pending)
				return G_SOURCE_CONTINUE; /* the next turn */
		}
		l = next;
	}
	hub->waiting_id = 0;
	return G_SOURCE_REMOVE;
}

static void
waiting_push(TrHub *hub, int fd, char *source, const char *remote)
{
	Waiting *w = g_new0(Waiting, 1);

	if (hub->waiting_by_source == NULL)
		hub->waiting_by_source =
		        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	w->fd = fd;
	w->source = source;
	w->remote = g_strdup(remote);
	w->since = g_get_monotonic_time();
	count_add(hub->waiting_by_source, source, 1);
	g_queue_push_tail(&hub->waiting, w);
}

void
hub_admit(TrHub *hub, int fd, char *source, const char *remote)
{
	guint mine = source_pending(hub, source), queued;
	Session *victim;

	if (mine >= hub->cfg.max_pending_per_source) {
		if (tr_log_limit(&hub->admission_log, "connections refused at admission", 5, 60))
			g_message("refused %s: %u handshakes from %s are pending already "
			          "(--max-pending-per-source)",
			          remote, mine, source);
		tr_sock_close(fd);
		g_free(source);
		return;
	}
	if (hub->waiting.length == 0 && hub->n_pending < hub->cfg.max_pending) {
		start(hub, fd, source, remote);
		return;
	}
	/* A quieter source than the busiest takes the place of one of its handshakes. */
	if (hub->n_pending >= hub->cfg.max_pending &&
	    (victim = pick_victim(hub, mine + 1)) != NULL) {
		if (tr_log_limit(&hub->admission_log, "connections refused at admission", 5, 60))
			g_message("too many pending handshakes (%u): %s takes the place of one of "
			          "the %u from %s",
			          hub->n_pending, remote, source_pending(hub, victim->source),
			          victim->source);
		hub_pending_leave(victim);
		victim->refused = TRUE;
		tr_link_close(victim->link, TR_MSG_ERROR, TR_REFUSE_TIMEOUT,
		              "too many pending handshakes");
		start(hub, fd, source, remote);
		return;
	}
	queued = hub->waiting_by_source ? count_get(hub->waiting_by_source, source) : 0;
	if (queued >= WAITING_PER_PENDING * hub->cfg.max_pending_per_source) {
		g_autofree char *why = g_strdup_printf(
		        "%u connections from %s are waiting already "
		        "(%u times --max-pending-per-source %u may wait)",
		        queued, source, WAITING_PER_PENDING, hub->cfg.max_pending_per_source);

		shed(hub, fd, remote, why);
		g_free(source);
		return;
	}
	if (hub->waiting.length >= hub->cfg.max_waiting) {
		g_autofree char *why = g_strdup_printf("the queue is full (--max-waiting %u)",
		                                       hub->cfg.max_waiting);

		shed(hub, fd, remote, why);
		g_free(source);
		return;
	}
	waiting_push(hub, fd, source, remote);
	if (hub->n_pending < hub->cfg.max_pending && hub->waiting_id == 0)
		hub->waiting_id = g_timeout_add(0, on_slots_free, hub);
}

void
hub_admission_free(TrHub *hub)
{
	Waiting *w;

	g_clear_handle_id(&hub->waiting_id, g_source_remove);
	while ((w = g_queue_pop_head(&hub->waiting)) != NULL) {
		tr_sock_close(w->fd);
		waiting_free(hub, w);
	}
	g_clear_pointer(&hub->waiting_by_source, g_hash_table_unref);
}
