/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The table the workers read: every session by receiver index and by
 * forwarding id, and the forwarding snapshot, built from the control
 * plane's view and published through RCU (an immutable snapshot per change,
 * sharing every chunk the change did not touch).
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

void
dp_table_free(gpointer p)
{
	Table *t = p;

	tr_cow_array_clear(&t->by_id);
	tr_cow_array_clear(&t->slots);
	dp_fwd_unref(t->fwd);
	g_slist_free_full(t->retired, (GDestroyNotify)dp_session_unref);
	g_free(t);
}

/* ---- The live index ---------------------------------------------------------------- */

static guint
live_mask(const TrDataplane *dp)
{
	return tr_cow_array_len(&dp->live.slots) - 1;
}

static const DpSlot *
live_slot(const TrDataplane *dp, guint i)
{
	return tr_cow_array_at(&dp->live.slots, i);
}

static void
live_slot_set(TrDataplane *dp, guint i, uint32_t index, TrDpSession *session)
{
	DpSlot *slot = tr_cow_array_write(&dp->live.slots, i);

	slot->index = index;
	slot->session = session;
}

static void
live_slot_put(TrDataplane *dp, uint32_t index, TrDpSession *session)
{
	guint mask = live_mask(dp), j = dp_index_hash(index) & mask;

	while (live_slot(dp, j)->index != 0)
		j = (j + 1) & mask;
	live_slot_set(dp, j, index, session);
}

static void
live_set_id(TrDataplane *dp, uint32_t id, TrDpSession *session)
{
	*(TrDpSession **)tr_cow_array_write(&dp->live.by_id, id) = session;
}

static TrDpSession *
live_id(const TrDataplane *dp, uint32_t id)
{
	if (id >= tr_cow_array_len(&dp->live.by_id))
		return NULL;
	return *(TrDpSession *const *)tr_cow_array_at(&dp->live.by_id, id);
}

/* Room for one more receiver index (at most half full) and for @id. */
static void
live_reserve(TrDataplane *dp, uint32_t id)
{
	guint size = tr_cow_array_len(&dp->live.slots);

	if (size == 0) {
		tr_cow_array_init(&dp->live.slots, sizeof(DpSlot), TR_COW_CHUNK);
		tr_cow_array_init(&dp->live.by_id, sizeof(TrDpSession *), TR_COW_CHUNK);
	} else if (2 * (dp->live.used + 1) > size) {
		TrCowArray old = dp->live.slots;

		tr_cow_array_init(&dp->live.slots, sizeof(DpSlot), 2 * size);
		for (guint i = 0; i < size; i++) {
			const DpSlot *slot = tr_cow_array_at(&old, i);

			if (slot->index)
				live_slot_put(dp, slot->index, slot->session);
		}
		tr_cow_array_clear(&old);
	}
	if (id >= tr_cow_array_len(&dp->live.by_id))
		tr_cow_array_grow(&dp->live.by_id,
		                  MAX(2 * tr_cow_array_len(&dp->live.by_id), id + 1));
}

static void
live_add(TrDataplane *dp, TrDpSession *session)
{
	live_reserve(dp, session->id);
	if (session->rx_index) {
		live_slot_put(dp, session->rx_index, session);
		dp->live.used++;
	}
	if (session->id)
		live_set_id(dp, session->id, session);
}

/* Linear probing's deletion: the entries after it that could not take their
 * own place move back. */
static void
live_remove(TrDataplane *dp, TrDpSession *session)
{
	guint mask, i, j;

	if (session->id && live_id(dp, session->id) == session)
		live_set_id(dp, session->id, NULL);
	if (session->rx_index == 0 || dp->live.slots.n_chunks == 0)
		return;
	mask = live_mask(dp);
	for (i = dp_index_hash(session->rx_index) & mask; live_slot(dp, i)->session != session;
	     i = (i + 1) & mask)
		if (live_slot(dp, i)->index == 0)
			return;
	live_slot_set(dp, i, 0, NULL);
	dp->live.used--;
	for (j = (i + 1) & mask; live_slot(dp, j)->index != 0; j = (j + 1) & mask) {
		DpSlot moved = *live_slot(dp, j);
		guint k = dp_index_hash(moved.index) & mask;

		/* Entry j stays when its home k lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		live_slot_set(dp, i, moved.index, moved.session);
		live_slot_set(dp, j, 0, NULL);
		i = j;
	}
}

void
dp_live_clear(TrDataplane *dp)
{
	tr_cow_array_clear(&dp->live.by_id);
	tr_cow_array_clear(&dp->live.slots);
	dp->live.used = 0;
}

/* Builds a table from the control plane's view and publishes it: snapshots
 * of the live arrays, which share their chunks (a publication costs the same
 * with ten sessions as with ten thousand, give or take a directory). */
void
dp_publish(TrDataplane *dp)
{
	Table *t = g_new0(Table, 1);

	if (dp->fwd) {
		atomic_fetch_add_explicit(&dp->fwd->ref, 1, memory_order_relaxed);
		t->fwd = dp->fwd;
	}
	if (dp->live.slots.n_chunks == 0)
		live_reserve(dp, 1);
	tr_cow_array_snapshot(&dp->live.by_id, &t->by_id);
	tr_cow_array_snapshot(&dp->live.slots, &t->slots);
	t->mask = tr_cow_array_len(&t->slots) - 1;
	tr_rcu_publish(dp->rcu, t);
}

TrDpSession *
tr_dataplane_add_session(TrDataplane *dp, TrDc *dc, uint32_t id, const struct sockaddr *endpoint,
                         socklen_t endpoint_len, const TrDpSessionCallbacks *cb, gpointer user_data)
{
	TrDpSession *session = g_new0(TrDpSession, 1);

	pthread_mutex_init(&session->notes_lock, NULL);
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
	if (session->id && live_id(dp, session->id) == session)
		live_set_id(dp, session->id, NULL);
	session->id = id;
	live_reserve(dp, id);
	if (id)
		live_set_id(dp, id, session);
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
