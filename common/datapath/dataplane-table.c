/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The table the workers read: every session by receiver index and by
 * forwarding id, and the forwarding snapshot, built from the control
 * plane's view and published through RCU (an immutable copy per change).
 */
#include "common/datapath/dataplane-private.h"

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

	for (guint i = 0; i < t->n_all; i++)
		dp_session_unref(t->all[i]);
	dp_fwd_unref(t->fwd);
	g_free(t->all);
	g_free(t->by_id);
	g_free(t->slots);
	g_free(t);
}

/* Builds a table from the control plane's view and publishes it. */
void
dp_publish(TrDataplane *dp)
{
	Table *t = g_new0(Table, 1);
	guint n = dp->sessions->len, size = 4;

	if (dp->fwd) {
		atomic_fetch_add_explicit(&dp->fwd->ref, 1, memory_order_relaxed);
		t->fwd = dp->fwd;
	}
	t->n_all = n;
	t->all = g_new(TrDpSession *, MAX(n, 1));
	t->n_ids = 2;
	for (guint i = 0; i < n; i++) {
		TrDpSession *p = dp->sessions->pdata[i];
		t->all[i] = dp_session_ref(p);
		if (p->id >= t->n_ids)
			t->n_ids = p->id + 1;
	}
	t->by_id = g_new0(TrDpSession *, t->n_ids);
	while (size < 2 * n)
		size *= 2;
	t->slots = g_malloc0(sizeof(*t->slots) * size);
	t->mask = size - 1;
	for (guint i = 0; i < n; i++) {
		TrDpSession *p = t->all[i];
		guint j = dp_index_hash(p->rx_index) & t->mask;

		if (p->id)
			t->by_id[p->id] = p;
		while (t->slots[j].index != 0)
			j = (j + 1) & t->mask;
		t->slots[j].index = p->rx_index;
		t->slots[j].session = p;
	}
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
	dp_publish(dp);
	return session;
}

void
tr_dataplane_remove_session(TrDataplane *dp, TrDpSession *session)
{
	if (session == NULL || session->removed)
		return;
	session->removed = TRUE;
	g_ptr_array_remove(dp->sessions, session);
	dp_publish(dp);
	dp_session_unref(session);
}

void
tr_dataplane_set_session_id(TrDataplane *dp, TrDpSession *session, uint32_t id)
{
	if (session->id == id)
		return;
	session->id = id;
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
