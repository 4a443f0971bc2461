/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The table the workers read: every session by receiver index and by
 * forwarding id, and the forwarding snapshot, built from the control
 * plane's view and published through RCU (an immutable copy per change).
 */
#include "common/datapath/dataplane-private.h"

#include <string.h>

void
dp_fwd_unref(FwdRef *f)
{
	if (f && atomic_fetch_sub_explicit(&f->ref, 1, memory_order_acq_rel) == 1) {
		tr_fwd_free(f->fwd);
		g_free(f);
	}
}

static void
index_unref(DpIndex *ix)
{
	if (ix == NULL || atomic_fetch_sub_explicit(&ix->ref, 1, memory_order_acq_rel) != 1)
		return;
	g_free(ix->by_id);
	g_free(ix->slots);
	g_free(ix);
}

void
dp_table_free(gpointer p)
{
	Table *t = p;

	index_unref(t->index);
	dp_fwd_unref(t->fwd);
	g_slist_free_full(t->retired, (GDestroyNotify)dp_session_unref);
	g_free(t);
}

/* ---- The live index ---------------------------------------------------------------- */

static void
live_slot_put(DpSlot *slots, guint mask, uint32_t index, TrDpSession *session)
{
	guint j = dp_index_hash(index) & mask;

	while (slots[j].index != 0)
		j = (j + 1) & mask;
	slots[j].index = index;
	slots[j].session = session;
}

/* Room for @session's receiver index (at most half full) and its id. */
static void
live_reserve(TrDataplane *dp, uint32_t id)
{
	if (2 * (dp->live.used + 1) > dp->live.mask + 1) {
		guint size = MAX(2 * (dp->live.mask + 1), 16);
		DpSlot *slots = g_malloc0(sizeof(*slots) * size);

		for (guint i = 0; dp->live.slots && i <= dp->live.mask; i++)
			if (dp->live.slots[i].index)
				live_slot_put(slots, size - 1, dp->live.slots[i].index,
				              dp->live.slots[i].session);
		g_free(dp->live.slots);
		dp->live.slots = slots;
		dp->live.mask = size - 1;
	}
	if (id >= dp->live.n_ids) {
		guint n = MAX(MAX(2 * dp->live.n_ids, id + 1), 2);

		dp->live.by_id = g_renew(TrDpSession *, dp->live.by_id, n);
		memset(dp->live.by_id + dp->live.n_ids, 0,
		       (n - dp->live.n_ids) * sizeof(*dp->live.by_id));
		dp->live.n_ids = n;
	}
}

static void
live_add(TrDataplane *dp, TrDpSession *session)
{
	live_reserve(dp, session->id);
	if (session->rx_index) {
		live_slot_put(dp->live.slots, dp->live.mask, session->rx_index, session);
		dp->live.used++;
	}
	if (session->id)
		dp->live.by_id[session->id] = session;
}

/* Linear probing's deletion: the entries after it that could not take their
 * own place move back. */
static void
live_remove(TrDataplane *dp, TrDpSession *session)
{
	DpSlot *slots = dp->live.slots;
	guint mask = dp->live.mask, i, j;

	if (session->id && session->id < dp->live.n_ids && dp->live.by_id[session->id] == session)
		dp->live.by_id[session->id] = NULL;
	if (session->rx_index == 0 || slots == NULL)
		return;
	for (i = dp_index_hash(session->rx_index) & mask; slots[i].session != session;
	     i = (i + 1) & mask)
		if (slots[i].index == 0)
			return;
	slots[i].index = 0;
	slots[i].session = NULL;
	dp->live.used--;
	for (j = (i + 1) & mask; slots[j].index != 0; j = (j + 1) & mask) {
		guint k = dp_index_hash(slots[j].index) & mask;

		/* Entry j stays when its home k lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		slots[i] = slots[j];
		slots[j].index = 0;
		slots[j].session = NULL;
		i = j;
	}
}

void
dp_live_clear(TrDataplane *dp)
{
	g_clear_pointer(&dp->live.by_id, g_free);
	g_clear_pointer(&dp->live.slots, g_free);
	dp->live.n_ids = dp->live.mask = dp->live.used = 0;
}

/* A copy of the live index to publish. */
static DpIndex *
index_build(TrDataplane *dp)
{
	DpIndex *ix = g_new0(DpIndex, 1);

	if (dp->live.slots == NULL)
		live_reserve(dp, 1);
	ix->ref = 1;
	ix->n_ids = dp->live.n_ids;
	ix->by_id = g_memdup2(dp->live.by_id, sizeof(*ix->by_id) * ix->n_ids);
	ix->mask = dp->live.mask;
	ix->slots = g_memdup2(dp->live.slots, sizeof(*ix->slots) * (ix->mask + 1));
	return ix;
}

void
dp_sessions_changed(TrDataplane *dp)
{
	g_clear_pointer(&dp->index, index_unref);
}

/* Builds a table from the control plane's view and publishes it: a new
 * index when the sessions changed, the last one otherwise (a new forwarding
 * snapshot alone costs the same with ten sessions as with ten thousand). */
void
dp_publish(TrDataplane *dp)
{
	Table *t = g_new0(Table, 1);

	if (dp->fwd) {
		atomic_fetch_add_explicit(&dp->fwd->ref, 1, memory_order_relaxed);
		t->fwd = dp->fwd;
	}
	if (dp->index == NULL)
		dp->index = index_build(dp);
	atomic_fetch_add_explicit(&dp->index->ref, 1, memory_order_relaxed);
	t->index = dp->index;
	t->by_id = t->index->by_id;
	t->n_ids = t->index->n_ids;
	t->slots = t->index->slots;
	t->mask = t->index->mask;
	tr_rcu_publish(dp->rcu, t);
}

TrDpSession *
tr_dataplane_add_session(TrDataplane *dp, TrDc *dc, uint32_t id, const struct sockaddr *endpoint,
                         socklen_t endpoint_len, const TrDpSessionCallbacks *cb, gpointer user_data)
{
	TrDpSession *session = g_new0(TrDpSession, 1);

	session->ref = 1;
	session->dp = dp;
	session->dc = dc;
	session->id = id;
	session->rx_index = tr_dc_get_config(dc)->local_index;
	session->owner = tr_dataplane_owner(dp, session->rx_index);
	session->cb = *cb;
	session->user_data = user_data;
	session->path = TR_PATH_NONE;
	if (endpoint && endpoint_len)
		dp_endpoint_write(session, endpoint, endpoint_len);
	g_ptr_array_add(dp->sessions, session);
	live_add(dp, session);
	dp_sessions_changed(dp);
	dp_publish(dp);
	return session;
}

void
tr_dataplane_remove_session(TrDataplane *dp, TrDpSession *session)
{
	Table *current;

	if (session == NULL || session->removed)
		return;
	session->removed = TRUE;
	g_ptr_array_remove(dp->sessions, session);
	live_remove(dp, session);
	dp_sessions_changed(dp);
	/* Workers may hold it through the current table (and older ones): it goes
	 * when that table does. Only the main thread touches `retired`. */
	current = tr_rcu_peek(dp->rcu);
	current->retired = g_slist_prepend(current->retired, session);
	dp_publish(dp);
}

void
tr_dataplane_set_session_id(TrDataplane *dp, TrDpSession *session, uint32_t id)
{
	if (session->id == id)
		return;
	if (session->removed) {
		session->id = id;
		return;
	}
	if (session->id < dp->live.n_ids && dp->live.by_id[session->id] == session)
		dp->live.by_id[session->id] = NULL;
	session->id = id;
	live_reserve(dp, id);
	if (id)
		dp->live.by_id[id] = session;
	dp_sessions_changed(dp);
	dp_publish(dp);
}

void
tr_dataplane_set_fwd(TrDataplane *dp, TrFwd *fwd)
{
	FwdRef *f = g_new0(FwdRef, 1);

	f->ref = 1;
	f->fwd = fwd;
	dp_fwd_unref(dp->fwd);
	dp->fwd = f;
	dp_publish(dp);
}
