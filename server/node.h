/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Nodes: the other daemons of a symmetric network (--connect, --name), each
 * with its own tunnel addresses, nothing pushed. A session with one is a
 * node session (node.c); a --connect target is dialled and redialled by a
 * connector (connector.c).
 */
#include "common/graph/msg.h"
#include "server/pairs.h"
#include "server/session.h"

typedef struct _Connector Connector;

/* node.c */
/* Incoming: a node's HELLO makes @s a node session. */
void hub_node_hello(Session *s, TrMsg *hello);
/* Outgoing: @s, which @k dialled, is a node session from the start. */
void hub_node_dialled(Session *s, Connector *k);
/* @k is gone before its session. */
void hub_node_forget_connector(Session *s);
gboolean hub_session_is_node(Session *s);
/* Whether node session @s takes pairs across hubs (its peer's features). */
TrHubLinkPairs *hub_node_link_pairs(Session *s);

/* connector.c */
void hub_connectors_start(TrHub *hub);
void hub_connectors_free(TrHub *hub);
/* Its session is up: the next redial starts from the shortest wait. */
void hub_connector_connected(Connector *k);
/* The node refused us (ERROR, or the TLS handshake): a refusal retrying
 * cannot fix stops @k, with the reason logged. */
void hub_connector_refused(Connector *k, Session *s, const GError *error);
/* Its session with the node @identity (NULL: never identified) ended:
 * dial again later, unless refused for good. */
void hub_connector_ended(Connector *k, const char *identity);
/* A contact (contacts.c): @target, the address of node @node as the graph
 * has it, dialled once; contacts.c hears how it went (hub_contact_over) and
 * drops it (hub_connector_drop). */
Connector *hub_connector_contact(TrHub *hub, const char *node, const char *target);
void hub_connector_drop(Connector *k);

/* contacts.c: direct links to nodes learnt through the graph (issue 19,
 * docs/MESH.md "Symmetric nodes") */
/* The graph changed (or its timer ran): contacts are looked at shortly. */
void hub_contacts_sync_soon(TrHub *hub);
void hub_contacts_free(TrHub *hub);
/* The contact with @node is over: @connected, it had a session. */
void hub_contact_over(TrHub *hub, const char *node, gboolean connected);
/* The contact with @node crossed its own dial: the session it makes is an
 * incoming one; no new contact while its handshake runs. */
void hub_contact_crossed(TrHub *hub, const char *node);
/* Where @s's node can be dialled, for the graph's edge (family 0: unknown). */
void hub_contact_endpoint(Session *s, TrGraphEndpoint *out);
/* A node that makes contacts (no pool, a name) dials from the port it listens
 * on, shared (SO_REUSEPORT): behind a NAT that keeps ports, the address and
 * port its peers see in its edges is then where it can be reached, and two
 * such nodes behind NAT dialling each other meet (TCP simultaneous open). */
gboolean hub_node_shares_port(TrHub *hub);
