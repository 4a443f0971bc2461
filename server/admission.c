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
 */
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

void
hub_pending_leave(Session *s)
{
	TrHub *hub = s->hub;
	guint n;

	if (!s->pending)
		return;
	s->pending = FALSE;
	hub->n_pending--;
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

gboolean
hub_admit(TrHub *hub, const char *source, const char *remote)
{
	guint mine = source_pending(hub, source);
	Session *victim;

	if (mine >= hub->cfg.max_pending_per_source) {
		if (tr_log_limit(&hub->admission_log, "connections refused at admission", 5, 60))
			g_message("refused %s: %u handshakes from %s are pending already "
			          "(--max-pending-per-source)",
			          remote, mine, source);
		return FALSE;
	}
	if (hub->n_pending < hub->cfg.max_pending)
		return TRUE;
	victim = pick_victim(hub, mine + 1);
	if (victim == NULL) {
		if (tr_log_limit(&hub->admission_log, "connections refused at admission", 5, 60))
			g_warning("too many pending handshakes (%u): refusing %s", hub->n_pending,
			          remote);
		return FALSE;
	}
	if (tr_log_limit(&hub->admission_log, "connections refused at admission", 5, 60))
		g_message("too many pending handshakes (%u): %s takes the place of one of the %u "
		          "from %s",
		          hub->n_pending, remote, source_pending(hub, victim->source),
		          victim->source);
	hub_pending_leave(victim);
	victim->refused = TRUE;
	tr_link_close(victim->link, TR_MSG_ERROR, TR_REFUSE_TIMEOUT, "too many pending handshakes");
	return TRUE;
}
