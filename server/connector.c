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
#include "common/base/watch.h"
#include "common/ctrl/dialer.h"
#include "platform/net.h"
#include "server/node.h"
#include "tr-config.h"

#include <string.h>

#define DORMANT_CHECK_MS 5000
/* A contact's connection made by the node with the larger name: how long it
 * waits for the peer's TLS ClientHello (crossed dials, see on_dialled). */
#define CROSSED_WAIT_MS 500

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
	/* A contact's connection waiting to know its side (on_dialled) */
	int wait_fd;
	struct sockaddr_storage wait_remote;
	guint wait_watch, wait_timer;
};

static void
connector_dial(Connector *k)
{
	if (hub_node_shares_port(k->hub))
		tr_dialer_set_local_port(k->dialer, k->hub->port);
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

/* The dialled connection @fd becomes our outgoing session with the node. */
static void
start_outgoing(Connector *k, int fd, const struct sockaddr *remote)
{
	g_autoptr(GError) err = NULL;
	char desc[80];
	Session *s;

	tr_sockaddr_to_string(remote, desc, sizeof(desc));
	s = hub_session_new(k->hub, fd, desc, k->hub->client_creds, FALSE, &err);
	if (s == NULL) {
		g_warning("node %s: %s", tr_dialer_target(k->dialer), err->message);
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

static void
wait_end(Connector *k)
{
	g_clear_handle_id(&k->wait_watch, g_source_remove);
	g_clear_handle_id(&k->wait_timer, g_source_remove);
	k->wait_fd = -1;
}

/* The peer spoke first: it dialled us at the same moment and the two SYNs
 * met (TCP simultaneous open through two NATs), so there is one connection
 * and the peer, the smaller name, is its TLS client. We take the side of a
 * node that accepted it, as the session-keeping rule of node.c expects. */
static gboolean
on_wait_readable(gint fd, GIOCondition cond, gpointer p)
{
	Connector *k = p;
	TrHub *hub = k->hub;
	g_autoptr(GError) error = NULL;
	char remote[80];
	Session *s;

	(void)cond;
	k->wait_watch = 0;
	wait_end(k);
	tr_sockaddr_to_string((struct sockaddr *)&k->wait_remote, remote, sizeof(remote));
	g_message("node %s: our connections crossed (both dialled at once): it leads the "
	          "handshake",
	          k->contact);
	s = hub_session_new(hub, fd, remote, hub->creds, TRUE, &error);
	hub_contact_crossed(hub, k->contact);
	if (s == NULL) {
		g_warning("node %s: %s", k->contact, error->message);
		return G_SOURCE_REMOVE;
	}
	hub_pending_enter(s, hub_source_key(&k->wait_remote));
	tr_link_start(s->link, hub->cfg.handshake_timeout_ms);
	return G_SOURCE_REMOVE;
}

/* Silence: the peer accepted our connection and waits for our ClientHello. */
static gboolean
on_wait_timeout(gpointer p)
{
	Connector *k = p;
	int fd = k->wait_fd;

	k->wait_timer = 0;
	wait_end(k);
	start_outgoing(k, fd, (struct sockaddr *)&k->wait_remote);
	return G_SOURCE_REMOVE;
}

static void
on_dialled(TrDialer *dialer, int fd, const struct sockaddr *remote, socklen_t remote_len,
           const GError *error, gpointer p)
{
	Connector *k = p;

	if (fd < 0) {
		g_message("cannot reach node %s: %s", tr_dialer_target(dialer), error->message);
		if (k->contact)
			hub_contact_over(k->hub, k->contact, FALSE);
		else
			connector_retry(k);
		return;
	}
	/*
	 * Two nodes behind NAT make contact by dialling each other at once from
	 * the ports they listen on: their SYNs open both routers and meet, one
	 * connection that both sides see as dialled. The one with the smaller
	 * name starts TLS at once, as usual; the other waits a moment: a
	 * ClientHello arriving means the connections crossed and it takes the
	 * accepting side; silence means the peer accepted ours.
	 */
	if (k->contact && hub_node_shares_port(k->hub) &&
	    strcmp(k->hub->cfg.node_name, k->contact) > 0 &&
	    (gsize)remote_len <= sizeof(k->wait_remote)) {
		memcpy(&k->wait_remote, remote, remote_len);
		k->wait_fd = fd;
		k->wait_watch = tr_watch_fd(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_wait_readable, k);
		k->wait_timer = g_timeout_add(CROSSED_WAIT_MS, on_wait_timeout, k);
		return;
	}
	start_outgoing(k, fd, remote);
}

void
hub_connectors_start(TrHub *hub)
{
	for (guint i = 0; hub->cfg.connect && hub->cfg.connect[i]; i++) {
		Connector *k = g_new0(Connector, 1);

		k->hub = hub;
		k->wait_fd = -1;
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
	if (k->wait_fd >= 0) {
		tr_sock_close(k->wait_fd);
		wait_end(k);
	}
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
	k->wait_fd = -1;
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
