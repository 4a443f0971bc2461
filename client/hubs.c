/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which hub next (docs/MESH.md, "Clients with several hubs"): the --connect
 * list is an order of preference. A session or attempt that ends moves on to
 * the next hub at once, while this round has hubs not yet tried; once every
 * hub failed, the next round starts from the first after a backoff. A hub
 * that refuses us for a reason retrying cannot fix is skipped until a restart;
 * only when all of them did does the client stop. With --failback, a client
 * on a later hub checks the earlier ones now and then (a TCP connection to
 * their port) and moves back to the first that answers.
 */
#include "client/client-private.h"

#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "platform/net.h"
#include "tr-config.h"

#include <string.h>

guint
client_hubs_count(const TrClient *client)
{
	return g_strv_length(client->cfg.connect);
}

const char *
client_hubs_server_name(const TrClient *client)
{
	char **names = client->cfg.server_names;

	if (names == NULL || names[0] == NULL)
		return NULL;
	return names[1] ? names[client->hub] : names[0];
}

/* The next hub after @from (cyclically) that has not refused us for good,
 * or -1. */
static gint
next_usable(const TrClient *client, guint from)
{
	guint n = client_hubs_count(client);

	for (guint k = 1; k <= n; k++) {
		guint i = (from + k) % n;

		if (!client->hub_refused[i])
			return (gint)i;
	}
	return -1;
}

static guint
usable_count(const TrClient *client)
{
	guint n = client_hubs_count(client), u = 0;

	for (guint i = 0; i < n; i++)
		u += !client->hub_refused[i];
	return u;
}

gboolean
client_hubs_refused(TrClient *client, const GError *error)
{
	guint n = client_hubs_count(client);

	/* A refused password is the user's to fix, whatever the hub: asked
	 * again at once (NetworkManager, the tray), not tried elsewhere. */
	if (client->refusal == TR_REFUSE_PASSWORD)
		return TRUE;
	client->hub_refused[client->hub] = TRUE;
	if (usable_count(client) == 0)
		return TRUE;
	g_warning("hub %s refused us (%s): trying the other hubs (%u of %u left)",
	          client->cfg.connect[client->hub], error ? error->message : "refused",
	          usable_count(client), n);
	return FALSE;
}

guint
client_hubs_next(TrClient *client, gboolean was_active)
{
	gint next;

	if (was_active) {
		client->round_tried = 0;
		client->round = 0;
	}
	/* A move back to an earlier hub that answered (failback). */
	if (client->switch_to >= 0) {
		client->hub = (guint)client->switch_to;
		client->switch_to = -1;
		client->round_tried = 0;
		return 0;
	}
	/* A round is over once every hub still usable was tried in it. */
	if (!client->hub_refused[client->hub])
		client->round_tried++;
	if (client->round_tried < usable_count(client)) {
		next = next_usable(client, client->hub);
		g_message("trying the next hub, %s (%u of %u)", client->cfg.connect[next],
		          (guint)next + 1, client_hubs_count(client));
		client->hub = (guint)next;
		return 0;
	}
	/* Every hub failed in this round: start again from the first, later. */
	client->round_tried = 0;
	next = next_usable(client, client_hubs_count(client) - 1);
	client->hub = (guint)next;
	return tr_backoff_next(client->round++, client->cfg.retry_max_sec);
}

/* ---- Failback ------------------------------------------------------------------ */

static void probe_next(TrClient *client);

static gboolean
on_failback_timer(gpointer p)
{
	TrClient *client = p;

	client->failback_id = 0;
	client->probe_hub = 0;
	probe_next(client);
	return G_SOURCE_REMOVE;
}

static void
arm_failback(TrClient *client)
{
	guint ms;

	g_clear_handle_id(&client->failback_id, g_source_remove);
	/* A hub that answered TCP but then failed us makes the wait longer. */
	ms = client->cfg.failback_sec * 1000u << MIN(client->failback_misses, 4u);
	client->failback_id = g_timeout_add(ms, on_failback_timer, client);
}

static void
on_probed(TrDialer *dialer, int fd, const struct sockaddr *remote, socklen_t remote_len,
          const GError *error, gpointer p)
{
	TrClient *client = p;
	guint i = client->probe_hub;

	(void)dialer;
	(void)remote;
	(void)remote_len;
	if (client->state != STATE_ACTIVE) {
		if (fd >= 0)
			tr_sock_close(fd);
		return;
	}
	if (fd < 0) {
		g_debug("failback: %s does not answer: %s", client->cfg.connect[i],
		        error ? error->message : "?");
		client->probe_hub++;
		probe_next(client);
		return;
	}
	tr_sock_close(fd);
	g_message("hub %s answers again: moving back to it from %s", client->cfg.connect[i],
	          client->cfg.connect[client->hub]);
	client->switch_to = (gint)i;
	client_switch_hub(client, client->cfg.connect[i]);
	/* Counted as a miss if this attempt fails (client_hubs_inactive). */
	client->failing_back = TRUE;
}

/* Checks the earlier hubs in order, from probe_hub; none answered: later. */
static void
probe_next(TrClient *client)
{
	while (client->probe_hub < client->hub && client->hub_refused[client->probe_hub])
		client->probe_hub++;
	g_clear_pointer(&client->probe, tr_dialer_free);
	if (client->probe_hub >= client->hub) {
		arm_failback(client);
		return;
	}
	client->probe = tr_dialer_new(client->cfg.connect[client->probe_hub], TR_DEFAULT_PORT,
	                              client->cfg.handshake_timeout_ms, on_probed, client);
	tr_dialer_start(client->probe);
}

void
client_hubs_active(TrClient *client)
{
	/* A move back that worked: the next check comes at the normal pace. */
	if (client->failing_back)
		client->failback_misses = 0;
	client->failing_back = FALSE;
	if (client->cfg.failback_sec > 0 && client->hub > 0)
		arm_failback(client);
}

void
client_hubs_inactive(TrClient *client)
{
	if (client->failing_back) {
		client->failback_misses++;
		client->failing_back = FALSE;
	}
	g_clear_handle_id(&client->failback_id, g_source_remove);
	if (client->probe)
		tr_dialer_cancel(client->probe);
	g_clear_pointer(&client->probe, tr_dialer_free);
}

void
client_hubs_reset(TrClient *client)
{
	memset(client->hub_refused, 0, sizeof(gboolean) * client_hubs_count(client));
	client->round = 0;
	client->round_tried = 0;
	client->switch_to = -1;
	client->hub = 0;
}

void
client_hubs_stats_json(TrClient *client, GString *out, gboolean *first)
{
	guint n = client_hubs_count(client);

	if (n < 2)
		return;
	tr_json_key(out, first, "hubs");
	g_string_append_c(out, '[');
	for (guint i = 0; i < n; i++) {
		gboolean f = TRUE;

		if (i)
			g_string_append_c(out, ',');
		g_string_append_c(out, '{');
		tr_json_key_string(out, &f, "hub", client->cfg.connect[i]);
		tr_json_key_bool(out, &f, "current", i == client->hub);
		tr_json_key_bool(out, &f, "refused", client->hub_refused[i]);
		g_string_append_c(out, '}');
	}
	g_string_append_c(out, ']');
}
