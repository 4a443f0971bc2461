/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/daemon/loop.h"

/* Long enough for the goodbye to leave, short enough not to be noticed. */
#define LINGER_MS 300

static struct {
	GMainLoop *loop;
	TrService *service;
	const TrDaemonLoopOps *ops;
	gpointer data;
	char *stats_file;
} daemon_loop;

static gboolean
on_linger_end(gpointer p)
{
	tr_daemon_loop_quit();
	return G_SOURCE_REMOVE;
}

static gboolean
on_stop(gpointer p)
{
	g_message("shutting down");
	tr_service_stopping(daemon_loop.service);
	daemon_loop.ops->stop(daemon_loop.data);
	g_timeout_add(LINGER_MS, on_linger_end, NULL);
	return G_SOURCE_REMOVE;
}

static gboolean
on_reload(gpointer p)
{
	g_autoptr(GError) error = NULL;

	if (daemon_loop.ops->reload(daemon_loop.data, &error))
		g_message("%s", daemon_loop.ops->reloaded);
	else
		g_warning("reload failed, keeping the old settings: %s", error->message);
	return G_SOURCE_CONTINUE;
}

/* Replaced atomically, so readers never see half of it. */
static gboolean
write_stats(gpointer p)
{
	g_autofree char *json = daemon_loop.ops->status_json(daemon_loop.data);

	tr_service_write_stats(daemon_loop.stats_file, json);
	return G_SOURCE_CONTINUE;
}

void
tr_daemon_loop_init(TrService *service, const TrDaemonLoopOps *ops, gpointer data)
{
	daemon_loop.loop = g_main_loop_new(NULL, FALSE);
	daemon_loop.service = service;
	daemon_loop.ops = ops;
	daemon_loop.data = data;
	tr_service_on_signals(service, on_stop, ops->reload ? on_reload : NULL, NULL);
}

void
tr_daemon_loop_run(TrOptions *options)
{
	guint stats_id = 0;

	daemon_loop.stats_file = g_strdup(tr_options_get_string(options, "stats-file"));
	if (daemon_loop.stats_file)
		stats_id = g_timeout_add_seconds(
		        (guint)tr_options_get_int(options, "stats-interval", 10), write_stats,
		        NULL);
	g_main_loop_run(daemon_loop.loop);
	g_clear_handle_id(&stats_id, g_source_remove);
	g_clear_pointer(&daemon_loop.stats_file, g_free);
	g_clear_pointer(&daemon_loop.loop, g_main_loop_unref);
}

void
tr_daemon_loop_quit(void)
{
	if (daemon_loop.loop)
		g_main_loop_quit(daemon_loop.loop);
}
