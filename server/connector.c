/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Connectors: one per --connect target, dialling it and, whenever its
 * session ends, dialling again with backoff, for ever; unless the node
 * refused us for a reason retrying cannot fix. A connector whose node
 * already has a session (through its own connection to us) waits and looks
 * again later instead of dialling. A contact (contacts.c) is a connector to
 * a node learnt through the graph: it dials once and reports how it went.
 */
#include "server/hub-private.h"

#include "common/base/error.h"
#include "common/ctrl/dialer.h"
#include "server/node.h"
#include "tr-config.h"

#define DORMANT_CHECK_MS 5000

struct _Connector {
	TrHub *hub;
	TrDialer *dialer;
	guint attempt;
	guint retry_id;
	char *last_identity; /* who answered last time */
	Session *session;    /* the session it made, while it lives */
	char *refusal;       /* set when the node refused us for good: no more dialling */
	char *contact;       /* a contact: the node's name (contacts.c) */
	gboolean contacted;  /* a contact that had a session */
};

static void
connector_dial(Connector *k)
{
	g_debug("connecting to node %s", tr_dialer_target(k->dialer));
	tr_dialer_start(k->dialer);
}

static gboolean
on_retry(gpointer p)
{
	Connector *k = p;

	k->retry_id = 0;
	/* The node is already there through its own connection to us. */
	if (k->last_identity && g_hash_table_contains(k->hub->by_identity, k->last_identity)) {
		k->retry_id = g_timeout_add(DORMANT_CHECK_MS, on_retry, k);
		return G_SOURCE_REMOVE;
	}
	connector_dial(k);
	return G_SOURCE_REMOVE;
}

static void
connector_retry(Connector *k)
{
	guint ms = tr_backoff_next(k->attempt++, 30);

	g_clear_handle_id(&k->retry_id, g_source_remove);
	k->retry_id = g_timeout_add(ms, on_retry, k);
}

static void
on_dialled(TrDialer *dialer, int fd, const struct sockaddr *remote, socklen_t remote_len,
           const GError *error, gpointer p)
{
	Connector *k = p;
	g_autoptr(GError) err = NULL;
	char desc[80];
	Session *s;

	if (fd < 0) {
		g_message("cannot reach node %s: %s", tr_dialer_target(dialer), error->message);
		if (k->contact)
			hub_contact_over(k->hub, k->contact, FALSE);
		else
			connector_retry(k);
		return;
	}
	tr_sockaddr_to_string(remote, desc, sizeof(desc));
	s = hub_session_new(k->hub, fd, desc, k->hub->client_creds, FALSE, &err);
	if (s == NULL) {
		g_warning("node %s: %s", tr_dialer_target(dialer), err->message);
		if (k->contact)
			hub_contact_over(k->hub, k->contact, FALSE);
		else
			connector_retry(k);
		return;
	}
	hub_node_dialled(s, k);
	k->session = s;
	tr_link_start(s->link, k->hub->cfg.handshake_timeout_ms);
}

void
hub_connectors_start(TrHub *hub)
{
	for (guint i = 0; hub->cfg.connect && hub->cfg.connect[i]; i++) {
		Connector *k = g_new0(Connector, 1);

		k->hub = hub;
		k->dialer = tr_dialer_new(hub->cfg.connect[i], TR_DEFAULT_PORT,
		                          hub->cfg.handshake_timeout_ms, on_dialled, k);
		g_ptr_array_add(hub->connectors, k);
		connector_dial(k);
	}
}

static void
connector_free(Connector *k)
{
	g_clear_handle_id(&k->retry_id, g_source_remove);
	if (k->session)
		hub_node_forget_connector(k->session);
	tr_dialer_free(k->dialer);
	g_free(k->last_identity);
	g_free(k->refusal);
	g_free(k->contact);
	g_free(k);
}

void
hub_connectors_free(TrHub *hub)
{
	hub_contacts_free(hub);
	for (guint i = 0; i < hub->connectors->len; i++)
		connector_free(g_ptr_array_index(hub->connectors, i));
	g_clear_pointer(&hub->connectors, g_ptr_array_unref);
}

Connector *
hub_connector_contact(TrHub *hub, const char *node, const char *target)
{
	Connector *k = g_new0(Connector, 1);

	k->hub = hub;
	k->contact = g_strdup(node);
	k->dialer = tr_dialer_new(target, TR_DEFAULT_PORT, hub->cfg.handshake_timeout_ms,
	                          on_dialled, k);
	g_ptr_array_add(hub->connectors, k);
	connector_dial(k);
	return k;
}

void
hub_connector_drop(Connector *k)
{
	g_ptr_array_remove(k->hub->connectors, k);
	connector_free(k);
}

void
hub_connector_connected(Connector *k)
{
	k->attempt = 0;
	k->contacted = TRUE;
}

void
hub_connector_refused(Connector *k, Session *s, const GError *error)
{
	if (tr_error_is_retryable(error) || k->contact) {
		g_message("node %s (%s) ended the session: %s", tr_dialer_target(k->dialer),
		          s->remote, error->message);
		return;
	}
	/* Dialling again would get the same answer: say why, once, and stop. */
	g_free(k->refusal);
	k->refusal = g_strdup(error->message);
	g_warning("node %s refused us: %s; not connecting to it again (fix the configuration "
	          "and restart this node)",
	          tr_dialer_target(k->dialer), error->message);
}

void
hub_connector_ended(Connector *k, const char *identity)
{
	k->session = NULL;
	if (k->contact) {
		hub_contact_over(k->hub, k->contact, k->contacted);
		return;
	}
	if (identity) {
		g_free(k->last_identity);
		k->last_identity = g_strdup(identity);
	}
	if (k->refusal == NULL)
		connector_retry(k);
}
