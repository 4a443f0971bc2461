/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "client/pairs.h"

#include "common/base/addr.h"
#include "common/base/error.h"

#include <string.h>

struct _TrClientPairs {
	GHashTable *by_id; /* id -> TrClientPair * (owned) */
	gboolean changed;
};

static void
pair_free(gpointer data)
{
	TrClientPair *p = data;

	g_free(p->peer);
	if (p->node_key)
		g_bytes_unref(p->node_key);
	g_free(p);
}

TrClientPairs *
tr_client_pairs_new(void)
{
	TrClientPairs *pairs = g_new0(TrClientPairs, 1);

	pairs->by_id = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, pair_free);
	return pairs;
}

void
tr_client_pairs_free(TrClientPairs *pairs)
{
	if (pairs == NULL)
		return;
	g_hash_table_unref(pairs->by_id);
	g_free(pairs);
}

static gboolean
bad(GError **error, const char *what, uint32_t id)
{
	g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "PAIR_START for pair %08x: %s", id, what);
	return FALSE;
}

static gboolean
take_prefixes(TrClientPair *p, const TrPrefix *list, unsigned n, TrRouteOrigin origin,
              GError **error)
{
	for (unsigned i = 0; i < n; i++) {
		const TrPrefix *x = &list[i];
		unsigned bits = tr_addr_family_bytes((TrAddrFamily)x->family) * 8;
		char text[64];

		if (x->family == TR_ADDR_MAC)
			return bad(error, "a MAC address as a peer's address or subnet", p->id);
		if (x->len == 0) {
			g_set_error(
			        error, TR_ERROR, TR_ERROR_PROTOCOL,
			        "PAIR_START for pair %08x: the peer claims %s, a default route; "
			        "expected addresses and subnets of its own",
			        p->id, tr_prefix_to_string(x, text, sizeof(text)));
			return FALSE;
		}
		if (origin == TR_ROUTE_ASSIGNED && x->len != bits) {
			g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
			            "PAIR_START for pair %08x: address %s, expected a host address "
			            "(/%u)",
			            p->id, tr_prefix_to_string(x, text, sizeof(text)), bits);
			return FALSE;
		}
		p->prefixes[p->n_prefixes] = *x;
		p->origins[p->n_prefixes++] = origin;
	}
	return TRUE;
}

TrClientPair *
tr_client_pairs_start(TrClientPairs *pairs, const TrMsg *start, gint64 now, GError **error)
{
	TrClientPair *p;

	if (start->type != TR_MSG_PAIR_START) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL, "expected PAIR_START, got %s",
		            tr_msg_type_to_string(start->type));
		return NULL;
	}
	if (!tr_msg_require(start, error, TR_ATTR_PAIR_ID, TR_ATTR_PEER, TR_ATTR_ROLE,
	                    TR_ATTR_RELAY, 0))
		return NULL;
	if (start->pair_id == 0 || start->pair_id == UINT32_MAX)
		return bad(error, "pair id 0 and ffffffff are not pair ids", start->pair_id), NULL;
	if (start->role > 1)
		return bad(error, "role must be 0 (TLS client) or 1 (TLS server)", start->pair_id),
		       NULL;
	if (g_hash_table_contains(pairs->by_id, GUINT_TO_POINTER(start->pair_id)))
		return bad(error, "this pair exists already", start->pair_id), NULL;
	if (g_hash_table_size(pairs->by_id) >= TR_CLIENT_PAIRS_MAX)
		return bad(error, "too many pair sessions (256)", start->pair_id), NULL;

	p = g_new0(TrClientPair, 1);
	p->id = start->pair_id;
	p->peer = g_strdup(start->peer);
	p->role = start->role;
	p->relay = start->relay != 0;
	p->state = TR_CLIENT_PAIR_HANDSHAKE;
	p->started = p->last_active = now;
	if (!take_prefixes(p, start->addresses, start->n_addresses, TR_ROUTE_ASSIGNED, error) ||
	    !take_prefixes(p, start->subnets, start->n_subnets, TR_ROUTE_CLAIMED, error)) {
		pair_free(p);
		return NULL;
	}
	for (unsigned i = 0; i < start->n_candidates; i++)
		tr_candidate_list_add(&p->candidates, &start->candidates[i]);
	if (start->node_key)
		p->node_key = g_bytes_ref(start->node_key);
	g_hash_table_insert(pairs->by_id, GUINT_TO_POINTER(p->id), p);
	return p;
}

TrClientPair *
tr_client_pairs_get(TrClientPairs *pairs, uint32_t id)
{
	return g_hash_table_lookup(pairs->by_id, GUINT_TO_POINTER(id));
}

gboolean
tr_client_pairs_up(TrClientPairs *pairs, uint32_t id, gint64 now)
{
	TrClientPair *p = tr_client_pairs_get(pairs, id);

	if (p == NULL)
		return FALSE;
	if (p->state != TR_CLIENT_PAIR_UP) {
		p->state = TR_CLIENT_PAIR_UP;
		pairs->changed |= p->n_prefixes > 0;
	}
	p->last_active = now;
	return TRUE;
}

TrClientPair *
tr_client_pairs_candidates(TrClientPairs *pairs, const TrMsg *msg, GError **error)
{
	TrClientPair *p;

	if (!tr_msg_require(msg, error, TR_ATTR_PAIR_ID, 0))
		return NULL;
	p = tr_client_pairs_get(pairs, msg->pair_id);
	if (p == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_PROTOCOL,
		            "CANDIDATES for pair %08x, which this client does not have",
		            msg->pair_id);
		return NULL;
	}
	memset(&p->candidates, 0, sizeof(p->candidates));
	for (unsigned i = 0; i < msg->n_candidates; i++)
		tr_candidate_list_add(&p->candidates, &msg->candidates[i]);
	return p;
}

void
tr_client_pairs_touch(TrClientPairs *pairs, uint32_t id, gint64 now)
{
	TrClientPair *p = tr_client_pairs_get(pairs, id);

	if (p != NULL)
		p->last_active = MAX(p->last_active, now);
}

gboolean
tr_client_pairs_end(TrClientPairs *pairs, uint32_t id)
{
	TrClientPair *p = tr_client_pairs_get(pairs, id);

	if (p == NULL)
		return FALSE;
	pairs->changed |= p->state == TR_CLIENT_PAIR_UP && p->n_prefixes > 0;
	return g_hash_table_remove(pairs->by_id, GUINT_TO_POINTER(id));
}

static gint64
due_at(const TrClientPair *p)
{
	return p->state == TR_CLIENT_PAIR_UP ? p->last_active + TR_CLIENT_PAIR_IDLE_USEC
	                                     : p->started + TR_CLIENT_PAIR_HANDSHAKE_USEC;
}

guint
tr_client_pairs_due(TrClientPairs *pairs, gint64 now, GArray *ids)
{
	GHashTableIter it;
	gpointer value;
	guint n = 0;

	g_hash_table_iter_init(&it, pairs->by_id);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const TrClientPair *p = value;

		if (now >= due_at(p)) {
			g_array_append_val(ids, p->id);
			n++;
		}
	}
	return n;
}

gint64
tr_client_pairs_next_due(TrClientPairs *pairs)
{
	GHashTableIter it;
	gpointer value;
	gint64 next = G_MAXINT64;

	g_hash_table_iter_init(&it, pairs->by_id);
	while (g_hash_table_iter_next(&it, NULL, &value))
		next = MIN(next, due_at(value));
	return next;
}

gboolean
tr_client_pairs_changed(const TrClientPairs *pairs)
{
	return pairs->changed;
}

static gint
by_id(gconstpointer a, gconstpointer b)
{
	const TrClientPair *x = *(TrClientPair *const *)a, *y = *(TrClientPair *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

GPtrArray *
tr_client_pairs_list(TrClientPairs *pairs)
{
	GPtrArray *list = g_ptr_array_sized_new(g_hash_table_size(pairs->by_id));
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, pairs->by_id);
	while (g_hash_table_iter_next(&it, NULL, &value))
		g_ptr_array_add(list, value);
	g_ptr_array_sort(list, by_id);
	return list;
}

TrRouteTable *
tr_client_pairs_build(TrClientPairs *pairs)
{
	g_autoptr(TrRouteBuilder) b = tr_route_builder_new();
	g_autoptr(GPtrArray) list = tr_client_pairs_list(pairs);

	/* In id order, so that two pairs claiming one subnet resolve the same
	 * way on every build (assigned addresses over claims, then the lower id). */
	for (guint i = 0; i < list->len; i++) {
		const TrClientPair *p = list->pdata[i];

		if (p->state != TR_CLIENT_PAIR_UP)
			continue;
		for (unsigned j = 0; j < p->n_prefixes; j++)
			tr_route_builder_add(b, &p->prefixes[j], p->id, p->origins[j], NULL, NULL,
			                     NULL);
	}
	pairs->changed = FALSE;
	return tr_route_table_build(b);
}

guint
tr_client_pairs_count(const TrClientPairs *pairs)
{
	return g_hash_table_size(pairs->by_id);
}
