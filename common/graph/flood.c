/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Flooding: applying statements that arrive and passing on those that were
 * new. A statement is an edge or a claim of one origin; each version of it
 * carries the origin's version number (seq). A copy whose seq is not newer
 * than the one held is a duplicate: dropped and not passed on, which is what
 * ends a flood (each node passes a version on at most once) and what makes
 * the order of arrival irrelevant (a late, older copy changes nothing).
 */
#include "common/graph/store.h"

#include <string.h>

#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/log.h"

static TrGraphLink *
link_get(TrGraph *graph, guint id)
{
	return id > 0 && id < graph->links->len ? g_ptr_array_index(graph->links, id) : NULL;
}

static void
send_frame(TrGraph *graph, guint link, const GByteArray *frame)
{
	graph->stats.msgs_out++;
	graph->stats.bytes_out += frame->len;
	graph->config.send(link, frame->data, frame->len, graph->config.user);
}

static void
edge_msg(const TrGraphEdge *e, gint64 now, TrGraphMsg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = e->alive ? TR_GRAPH_MSG_ADD_EDGE : TR_GRAPH_MSG_DEL_EDGE;
	g_strlcpy(m->origin, e->from->name, sizeof(m->origin));
	g_strlcpy(m->peer, e->to->name, sizeof(m->peer));
	m->seq = e->seq;
	m->age = tr_graph_age(e->born, now);
	m->weight = e->weight;
	m->options = e->options;
	m->address = e->address;
}

static void
claim_msg(const TrGraphClaim *c, gint64 now, TrGraphMsg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = c->alive ? TR_GRAPH_MSG_ADD_SUBNET : TR_GRAPH_MSG_DEL_SUBNET;
	g_strlcpy(m->origin, c->origin->name, sizeof(m->origin));
	g_strlcpy(m->owner, c->owner->name, sizeof(m->owner));
	m->seq = c->seq;
	m->age = tr_graph_age(c->born, now);
	m->prefix = c->prefix;
	m->kind = c->kind;
	m->since = c->since;
}

static GByteArray *
encode(const TrGraphMsg *m)
{
	GByteArray *f = g_byte_array_sized_new(128);
	g_autoptr(GError) error = NULL;

	/* Everything we hold passed the parser or was made here: this cannot
	 * fail unless a bug let a bad value in. */
	if (!tr_graph_msg_encode(m, f, &error)) {
		g_critical("graph: %s", error->message);
		g_byte_array_unref(f);
		return NULL;
	}
	return f;
}

void
tr_graph_send_edge(TrGraph *graph, guint link, const TrGraphEdge *edge, gint64 now)
{
	TrGraphMsg m;
	g_autoptr(GByteArray) f = NULL;

	edge_msg(edge, now, &m);
	if ((f = encode(&m)))
		send_frame(graph, link, f);
}

void
tr_graph_send_claim(TrGraph *graph, guint link, const TrGraphClaim *claim, gint64 now)
{
	TrGraphMsg m;
	g_autoptr(GByteArray) f = NULL;

	claim_msg(claim, now, &m);
	if ((f = encode(&m)))
		send_frame(graph, link, f);
}

void
tr_graph_send_node(TrGraph *graph, guint link, TrGraphNode *node, gboolean owned, gint64 now)
{
	for (guint i = 0; i < node->edges->len; i++) {
		TrGraphEdge *e = g_ptr_array_index(node->edges, i), *rev;

		tr_graph_send_edge(graph, link, e, now);
		/* Told about one node alone (a partial view), the other half of
		 * its edges too, or it would not count as connected. */
		if (owned && (rev = tr_graph_edge_find(graph, e->to, node)))
			tr_graph_send_edge(graph, link, rev, now);
	}
	for (guint i = 0; i < node->claims->len; i++)
		tr_graph_send_claim(graph, link, g_ptr_array_index(node->claims, i), now);
	for (guint i = 0; owned && node->owned && i < node->owned->len; i++)
		tr_graph_send_claim(graph, link, g_ptr_array_index(node->owned, i), now);
}

/*
 * Passes a new version on to every link but the one it came from, as each
 * link's view wants it. The origin's own link too: if the statement is not
 * the origin's (a forgery, a stale copy of its previous run), that is how
 * the origin hears of it and contradicts it. Leaves pass nothing on: only
 * what they originate leaves them (@from == 0).
 */
static void
flood(TrGraph *graph, guint from, const TrGraphEdge *edge, const TrGraphClaim *claim, gint64 now)
{
	g_autoptr(GByteArray) f = NULL;
	TrGraphMsg m;

	if (from && !graph->config.relay)
		return;
	if (edge)
		edge_msg(edge, now, &m);
	else
		claim_msg(claim, now, &m);
	for (guint i = 1; i < graph->links->len; i++) {
		TrGraphLink *l = g_ptr_array_index(graph->links, i);

		if (!l || i == from)
			continue;
		if (edge ? !tr_graph_view_wants_edge(graph, l, edge)
		         : !tr_graph_view_wants_claim(graph, l, claim))
			continue;
		if (!f && !(f = encode(&m)))
			return;
		send_frame(graph, i, f);
	}
}

static void
flood_bye(TrGraph *graph, guint from, TrGraphNode *origin, guint64 seq, guint32 age)
{
	TrGraphMsg m = {.type = TR_GRAPH_MSG_BYE, .seq = seq, .age = age};
	g_autoptr(GByteArray) f = NULL;

	if (from && !graph->config.relay)
		return;
	g_strlcpy(m.origin, origin->name, sizeof(m.origin));
	if (!(f = encode(&m)))
		return;
	for (guint i = 1; i < graph->links->len; i++) {
		TrGraphLink *l = g_ptr_array_index(graph->links, i);

		if (l && i != from)
			send_frame(graph, i, f);
	}
}

static guint64
next_seq(TrGraph *graph)
{
	return ++graph->seq;
}

/* ---- Our own statements ---------------------------------------------------- */

void
tr_graph_own_edge(TrGraph *graph, TrGraphLink *link, gboolean alive, guint skip, gint64 now)
{
	TrGraphEdge *e = tr_graph_edge_find(graph, graph->self, link->peer);

	if (!e)
		e = tr_graph_edge_add(graph, graph->self, link->peer);
	e->seq = next_seq(graph);
	e->born = now;
	e->alive = alive;
	e->weight = MAX(link->weight, 1u);
	e->address = link->address;
	e->options = (graph->config.relay ? TR_GRAPH_EDGE_RELAY : 0) |
	             (graph->config.hub ? TR_GRAPH_EDGE_HUB : 0) |
	             (link->flags & TR_GRAPH_LINK_INDIRECT ? TR_GRAPH_EDGE_INDIRECT : 0);
	graph->self->options = e->options & ~(guint32)TR_GRAPH_EDGE_INDIRECT;
	tr_graph_mark_dirty(graph);
	for (guint i = 1; i < graph->links->len; i++) {
		TrGraphLink *l = g_ptr_array_index(graph->links, i);

		if (l && i != skip && tr_graph_view_wants_edge(graph, l, e))
			tr_graph_send_edge(graph, i, e, now);
	}
}

gboolean
tr_graph_claim(TrGraph *graph, const char *owner_name, const TrPrefix *prefix,
               TrGraphClaimKind kind, gint64 now, GError **error)
{
	TrGraphNode *owner = owner_name ? tr_graph_node_get(graph, owner_name, TRUE) : graph->self;
	TrGraphClaim *c;
	TrPrefix p = *prefix;

	graph->now = now;
	if (!owner) {
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED, "graph: more than %u nodes",
		            graph->config.max_nodes);
		return FALSE;
	}
	if (kind == TR_GRAPH_CLAIM_POOL && owner != graph->self) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "a pool is claimed by its hub only, not for '%s'", owner->name);
		return FALSE;
	}
	tr_prefix_mask(&p);
	c = tr_graph_claim_find(graph, graph->self, owner, &p);
	if (c && c->alive && c->kind == kind)
		return TRUE;
	if (!c)
		c = tr_graph_claim_add(graph, graph->self, owner, &p);
	c->seq = next_seq(graph);
	if (!c->alive)
		c->since = c->seq;
	c->born = now;
	c->alive = TRUE;
	tr_graph_claim_set_kind(graph, c, (guint8)kind);
	tr_graph_claims_resolve(graph, &p);
	flood(graph, 0, NULL, c, now);
	return TRUE;
}

void
tr_graph_unclaim(TrGraph *graph, const char *owner_name, const TrPrefix *prefix, gint64 now)
{
	TrGraphNode *owner = owner_name ? tr_graph_node_get(graph, owner_name, FALSE) : graph->self;
	TrGraphClaim *c;
	TrPrefix p = *prefix;

	graph->now = now;
	tr_prefix_mask(&p);
	if (!owner || !(c = tr_graph_claim_find(graph, graph->self, owner, &p)) || !c->alive)
		return;
	c->seq = next_seq(graph);
	c->born = now;
	c->alive = FALSE;
	tr_graph_claims_resolve(graph, &p);
	flood(graph, 0, NULL, c, now);
}

/* Sends every own statement again under a new version (tick). Our
 * tombstones older than a lifetime go: every copy of what they deleted has
 * expired by now. */
void
tr_graph_refresh_own(TrGraph *graph, gint64 now)
{
	TrGraphNode *self = graph->self;
	gint64 old = now - (gint64)graph->config.lifetime_s * G_USEC_PER_SEC;
	g_autoptr(GPtrArray) edges = g_ptr_array_copy(self->edges, NULL, NULL);
	g_autoptr(GPtrArray) claims = g_ptr_array_copy(self->claims, NULL, NULL);

	for (guint i = 0; i < edges->len; i++) {
		TrGraphEdge *e = g_ptr_array_index(edges, i);

		if (!e->alive && e->born <= old) {
			tr_graph_edge_remove(graph, e);
			continue;
		}
		e->seq = next_seq(graph);
		e->born = now;
		flood(graph, 0, e, NULL, now);
	}
	for (guint i = 0; i < claims->len; i++) {
		TrGraphClaim *c = g_ptr_array_index(claims, i);

		if (!c->alive && c->born <= old) {
			tr_graph_claim_remove(graph, c);
			continue;
		}
		c->seq = next_seq(graph);
		c->born = now;
		flood(graph, 0, NULL, c, now);
	}
}

void
tr_graph_close(TrGraph *graph, gint64 now)
{
	flood_bye(graph, 0, graph->self, next_seq(graph), 0);
	(void)now;
}

/* ---- What arrives ---------------------------------------------------------- */

/* New versions from one origin are rate-limited (a token bucket), so a node
 * that flaps cannot keep the whole network busy. */
static gboolean
take_token(TrGraph *graph, TrGraphNode *origin, gint64 now)
{
	if (origin->tokens_at == G_MININT64) {
		origin->tokens = tr_graph_origin_burst(graph, origin);
	} else if (now > origin->tokens_at) {
		origin->tokens += (double)(now - origin->tokens_at) *
		                  tr_graph_origin_rate(graph, origin) / G_USEC_PER_SEC;
		origin->tokens = MIN(origin->tokens, tr_graph_origin_burst(graph, origin));
	}
	origin->tokens_at = now;
	if (origin->tokens < 1)
		return FALSE;
	origin->tokens -= 1;
	return TRUE;
}

static gboolean
dropped(TrGraph *graph, const TrGraphMsg *m, const char *why)
{
	static TrLogLimit limit;

	graph->stats.dropped++;
	if (tr_log_limit(&limit, "graph statements dropped", 10, 10))
		g_message("graph: dropped %s from '%s': %s", tr_graph_msg_type_name(m->type),
		          m->origin, why);
	return TRUE;
}

/* Someone holds a version of our own statement newer than ours (our previous
 * run's, or a forgery): we say the truth again under a newer version, as
 * tinc answers contradicting ADD_EDGE/DEL_EDGE. */
static void
correct(TrGraph *graph, const TrGraphMsg *m, gint64 now)
{
	TrGraphNode *other;

	graph->stats.corrections++;
	graph->seq = MAX(graph->seq, m->seq);
	g_message("graph: correcting a newer %s about ourself than ours",
	          tr_graph_msg_type_name(m->type));
	if (m->type == TR_GRAPH_MSG_BYE) {
		tr_graph_refresh_own(graph, now);
		return;
	}
	if (m->type == TR_GRAPH_MSG_ADD_EDGE || m->type == TR_GRAPH_MSG_DEL_EDGE) {
		TrGraphEdge *e;

		if (!(other = tr_graph_node_get(graph, m->peer, TRUE)))
			return;
		if (!(e = tr_graph_edge_find(graph, graph->self, other))) {
			e = tr_graph_edge_add(graph, graph->self, other);
			e->alive = FALSE;
			e->weight = 1;
		}
		e->seq = next_seq(graph);
		e->born = now;
		flood(graph, 0, e, NULL, now);
	} else {
		TrGraphNode *owner =
		        m->owner[0] ? tr_graph_node_get(graph, m->owner, TRUE) : graph->self;
		TrGraphClaim *c;

		if (!owner)
			return;
		if (!(c = tr_graph_claim_find(graph, graph->self, owner, &m->prefix))) {
			c = tr_graph_claim_add(graph, graph->self, owner, &m->prefix);
			c->alive = FALSE;
			c->since = m->since ? m->since : 1;
		}
		c->seq = next_seq(graph);
		c->born = now;
		flood(graph, 0, NULL, c, now);
	}
}

static guint64
own_version(TrGraph *graph, const TrGraphMsg *m)
{
	TrGraphNode *n;

	if (m->type == TR_GRAPH_MSG_BYE)
		return graph->seq;
	if (m->type == TR_GRAPH_MSG_ADD_EDGE || m->type == TR_GRAPH_MSG_DEL_EDGE) {
		TrGraphEdge *e;

		n = tr_graph_node_get(graph, m->peer, FALSE);
		return n && (e = tr_graph_edge_find(graph, graph->self, n)) ? e->seq : 0;
	} else {
		TrGraphClaim *c;

		n = m->owner[0] ? tr_graph_node_get(graph, m->owner, FALSE) : graph->self;
		return n && (c = tr_graph_claim_find(graph, graph->self, n, &m->prefix)) ? c->seq
		                                                                         : 0;
	}
}

static void
apply_bye(TrGraph *graph, guint from, TrGraphNode *origin, const TrGraphMsg *m, gint64 now)
{
	g_autoptr(GPtrArray) claims = g_ptr_array_copy(origin->claims, NULL, NULL);

	origin->bye_seq = m->seq;
	while (origin->edges->len)
		tr_graph_edge_remove(graph,
		                     g_ptr_array_index(origin->edges, origin->edges->len - 1));
	for (guint i = 0; i < claims->len; i++)
		tr_graph_claim_remove(graph, g_ptr_array_index(claims, i));
	g_message("graph: '%s' left the network", origin->name);
	flood_bye(graph, from, origin, m->seq, m->age);
	(void)now;
}

static gboolean
apply_edge(TrGraph *graph, guint from, TrGraphNode *origin, const TrGraphMsg *m, gint64 now)
{
	TrGraphNode *to = tr_graph_node_get(graph, m->peer, TRUE);
	TrGraphEdge *e;
	gboolean alive, changed;

	if (!to)
		return dropped(graph, m, "too many nodes");
	e = tr_graph_edge_find(graph, origin, to);
	if (e && m->seq <= e->seq) {
		graph->stats.duplicates++;
		return TRUE;
	}
	if (!e && origin->edges->len + origin->claims->len >= tr_graph_origin_max(graph, origin))
		return dropped(graph, m, "too many statements from one origin");
	if (!take_token(graph, origin, now))
		return dropped(graph, m, "changing faster than the rate allowed");
	alive = m->type == TR_GRAPH_MSG_ADD_EDGE;
	if (!e) {
		e = tr_graph_edge_add(graph, origin, to);
		changed = TRUE;
	} else {
		/* A refresh (the same edge under a new version) moves no path. */
		changed = e->alive != alive ||
		          (alive && (e->weight != m->weight || e->options != m->options ||
		                     memcmp(&e->address, &m->address, sizeof(e->address)) != 0));
	}
	e->seq = m->seq;
	e->born = now - (gint64)m->age * G_USEC_PER_SEC;
	e->alive = alive;
	if (e->alive) {
		e->weight = m->weight;
		e->options = m->options;
		e->address = m->address;
		origin->options = m->options & ~(guint32)TR_GRAPH_EDGE_INDIRECT;
	}
	if (changed)
		tr_graph_mark_dirty(graph);
	origin->heard = to->heard = now;
	flood(graph, from, e, NULL, now);
	return TRUE;
}

static gboolean
apply_claim(TrGraph *graph, guint from, TrGraphNode *origin, const TrGraphMsg *m, gint64 now)
{
	TrGraphNode *owner = m->owner[0] ? tr_graph_node_get(graph, m->owner, TRUE) : origin;
	TrGraphClaim *c;
	gboolean alive, same, fresh, pool;

	if (!owner)
		return dropped(graph, m, "too many nodes");
	c = tr_graph_claim_find(graph, origin, owner, &m->prefix);
	if (c && m->seq <= c->seq) {
		graph->stats.duplicates++;
		return TRUE;
	}
	if (!c && origin->edges->len + origin->claims->len >= tr_graph_origin_max(graph, origin))
		return dropped(graph, m, "too many statements from one origin");
	if (!take_token(graph, origin, now))
		return dropped(graph, m, "changing faster than the rate allowed");
	if ((fresh = !c)) {
		c = tr_graph_claim_add(graph, origin, owner, &m->prefix);
		c->since = m->since ? m->since : m->seq;
	}
	alive = m->type == TR_GRAPH_MSG_ADD_SUBNET;
	/* A refresh (the same claim under a new version) decides nothing anew. */
	same = c->alive == alive && (!alive || (c->kind == m->kind && c->since == m->since));
	pool = c->kind == TR_GRAPH_CLAIM_POOL || (alive && m->kind == TR_GRAPH_CLAIM_POOL);
	c->seq = m->seq;
	c->born = now - (gint64)m->age * G_USEC_PER_SEC;
	c->alive = alive;
	if (c->alive) {
		tr_graph_claim_set_kind(graph, c, m->kind);
		c->since = m->since;
	}
	if (pool && owner == origin && (fresh || !same))
		tr_graph_node_count_pools(origin);
	if (fresh || !same)
		tr_graph_claims_resolve(graph, &c->prefix);
	origin->heard = owner->heard = now;
	flood(graph, from, NULL, c, now);
	return TRUE;
}

static void
answer_want(TrGraph *graph, guint from, TrGraphLink *link, const TrGraphMsg *m, gint64 now)
{
	TrGraphNode *n = NULL;

	if (m->has_prefix) {
		const char *owner = tr_graph_route(graph, m->prefix.family, m->prefix.addr);

		if (owner)
			n = tr_graph_node_get(graph, owner, FALSE);
	} else {
		n = tr_graph_node_get(graph, m->peer, FALSE);
	}
	if (!n || n == link->peer)
		return;
	tr_graph_view_watch(graph, link, n);
	tr_graph_send_node(graph, from, n, TRUE, now);
}

gboolean
tr_graph_receive(TrGraph *graph, guint from, const uint8_t *frame, size_t len, gint64 now,
                 GError **error)
{
	TrGraphLink *link = link_get(graph, from);
	TrGraphNode *origin;
	TrGraphMsg m;

	graph->now = now;
	if (!link) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "graph: no link %u", from);
		return FALSE;
	}
	graph->stats.msgs_in++;
	graph->stats.bytes_in += len;
	if (!tr_graph_msg_parse(frame, len, &m, error)) {
		g_prefix_error(error, "graph message from '%s': ", link->peer->name);
		return FALSE;
	}
	if (m.type == TR_GRAPH_MSG_WANT) {
		answer_want(graph, from, link, &m, now);
		return TRUE;
	}
	/* A leaf speaks for itself only: it cannot pass on what others said. */
	if (!(link->flags & TR_GRAPH_LINK_RELAY) && strcmp(m.origin, link->peer->name) != 0) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "graph message from '%s': %s of '%s': a node that does not relay may "
		            "only send its own statements",
		            link->peer->name, tr_graph_msg_type_name(m.type), m.origin);
		return FALSE;
	}
	if (m.age >= graph->config.lifetime_s) {
		graph->stats.duplicates++; /* expired: every node drops it by now */
		return TRUE;
	}
	if (strcmp(m.origin, graph->self_name) == 0) {
		if (m.seq > own_version(graph, &m))
			correct(graph, &m, now);
		else
			graph->stats.duplicates++;
		return TRUE;
	}
	origin = tr_graph_node_get(graph, m.origin, TRUE);
	if (!origin)
		return dropped(graph, &m, "too many nodes");
	if (m.seq <= origin->bye_seq) {
		graph->stats.duplicates++;
		return TRUE;
	}
	switch (m.type) {
	case TR_GRAPH_MSG_BYE:
		apply_bye(graph, from, origin, &m, now);
		return TRUE;
	case TR_GRAPH_MSG_ADD_EDGE:
	case TR_GRAPH_MSG_DEL_EDGE:
		return apply_edge(graph, from, origin, &m, now);
	case TR_GRAPH_MSG_ADD_SUBNET:
	case TR_GRAPH_MSG_DEL_SUBNET:
		return apply_claim(graph, from, origin, &m, now);
	case TR_GRAPH_MSG_WANT:
		break;
	}
	return TRUE;
}

void
tr_graph_want(TrGraph *graph, guint link, const char *name, const TrPrefix *address)
{
	TrGraphMsg m = {.type = TR_GRAPH_MSG_WANT};
	g_autoptr(GByteArray) f = NULL;

	if (!link_get(graph, link))
		return;
	if (address) {
		m.has_prefix = TRUE;
		m.prefix = *address;
	} else {
		g_strlcpy(m.peer, name, sizeof(m.peer));
	}
	if ((f = encode(&m)))
		send_frame(graph, link, f);
}
