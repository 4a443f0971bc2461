/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which hub a client tries next (client/hubs.c): the --connect list in
 * order, the next one at once while the round has untried hubs, a backoff
 * once all failed and then the first again; a hub that refused for good
 * skipped, the client stopping only when every hub did; failback's target
 * first; a restart forgets it all; the server name each hub's certificate
 * must carry.
 */
#include "client/client-private.h"

#include "common/base/error.h"

#include <string.h>

static TrClient *
client_with(const char *const *hubs)
{
	TrClient *c = g_new0(TrClient, 1);

	c->cfg.connect = g_strdupv((char **)hubs);
	c->cfg.retry_max_sec = 30;
	c->hub_refused = g_new0(gboolean, client_hubs_count(c));
	c->switch_to = -1;
	return c;
}

static void
client_free(TrClient *c)
{
	g_strfreev(c->cfg.connect);
	g_strfreev(c->cfg.server_names);
	g_free(c->hub_refused);
	g_free(c);
}

static void
test_order(void)
{
	const char *const hubs[] = {"hub-1", "hub-2", "hub-3", NULL};
	TrClient *c = client_with(hubs);

	g_assert_cmpuint(c->hub, ==, 0);
	/* hub-1 fails: hub-2, hub-3 at once. */
	g_assert_cmpuint(client_hubs_next(c, FALSE), ==, 0);
	g_assert_cmpuint(c->hub, ==, 1);
	g_assert_cmpuint(client_hubs_next(c, FALSE), ==, 0);
	g_assert_cmpuint(c->hub, ==, 2);
	/* All three failed: the first again, after about a second (+-25 %). */
	{
		guint ms = client_hubs_next(c, FALSE);
		g_assert_cmpuint(ms, >=, 750);
		g_assert_cmpuint(ms, <=, 1250);
	}
	g_assert_cmpuint(c->hub, ==, 0);
	/* The next round fails too: a longer wait. */
	client_hubs_next(c, FALSE);
	client_hubs_next(c, FALSE);
	g_assert_cmpuint(client_hubs_next(c, FALSE), >=, 1500);
	g_assert_cmpuint(c->hub, ==, 0);
	/* Connected to hub-2 for a while, then lost: hub-3 at once, a new round. */
	c->hub = 1;
	g_assert_cmpuint(client_hubs_next(c, TRUE), ==, 0);
	g_assert_cmpuint(c->hub, ==, 2);
	g_assert_cmpuint(client_hubs_next(c, FALSE), ==, 0);
	g_assert_cmpuint(c->hub, ==, 0);
	g_assert_cmpuint(client_hubs_next(c, FALSE), >=, 750);
	client_free(c);
}

static void
test_single(void)
{
	const char *const hubs[] = {"hub-1", NULL};
	TrClient *c = client_with(hubs);

	/* One hub: every retry waits, as it always did. */
	g_assert_cmpuint(client_hubs_next(c, TRUE), >=, 750);
	g_assert_cmpuint(c->hub, ==, 0);
	g_assert_cmpuint(client_hubs_next(c, FALSE), >=, 1500);
	client_free(c);
}

static void
test_refused(void)
{
	const char *const hubs[] = {"hub-1", "hub-2", "hub-3", NULL};
	TrClient *c = client_with(hubs);
	g_autoptr(GError) e = g_error_new(TR_ERROR, TR_ERROR_AUTH, "another network's key");

	/* hub-1 refuses: not the end (said once, with the reason), hub-2 next at once. */
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
	                      "hub hub-1 refused us (another network's key): trying the other hubs "
	                      "(2 of 3 left)");
	g_assert_false(client_hubs_refused(c, e));
	g_test_assert_expected_messages();
	g_assert_cmpuint(client_hubs_next(c, FALSE), ==, 0);
	g_assert_cmpuint(c->hub, ==, 1);
	/* hub-2 fails (retryable), hub-3 next; then hub-2 again after a wait,
	 * never hub-1. */
	g_assert_cmpuint(client_hubs_next(c, FALSE), ==, 0);
	g_assert_cmpuint(c->hub, ==, 2);
	g_assert_cmpuint(client_hubs_next(c, FALSE), >, 0);
	g_assert_cmpuint(c->hub, ==, 1);
	g_assert_cmpuint(client_hubs_next(c, FALSE), ==, 0);
	g_assert_cmpuint(c->hub, ==, 2);
	/* hub-3 and hub-2 refuse too: every hub did, the client stops. */
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
	                      "hub hub-3 refused us*(1 of 3 left)");
	g_assert_false(client_hubs_refused(c, e));
	g_test_assert_expected_messages();
	client_hubs_next(c, FALSE);
	g_assert_cmpuint(c->hub, ==, 1);
	g_assert_true(client_hubs_refused(c, e));
	/* A refused password stops the client at once: the user gives another. */
	client_hubs_reset(c);
	c->refusal = TR_REFUSE_PASSWORD;
	g_assert_true(client_hubs_refused(c, e));
	c->refusal = TR_REFUSE_NONE;
	/* A restart tries them all again, from the first. */
	client_hubs_reset(c);
	g_assert_cmpuint(c->hub, ==, 0);
	g_assert_false(c->hub_refused[0] || c->hub_refused[1] || c->hub_refused[2]);
	client_free(c);
}

static void
test_failback_target(void)
{
	const char *const hubs[] = {"hub-1", "hub-2", NULL};
	TrClient *c = client_with(hubs);

	c->hub = 1;
	c->switch_to = 0;
	/* Leaving hub-2 for hub-1, which answered: hub-1 at once. */
	g_assert_cmpuint(client_hubs_next(c, TRUE), ==, 0);
	g_assert_cmpuint(c->hub, ==, 0);
	g_assert_cmpint(c->switch_to, ==, -1);
	/* hub-1 fails after all: hub-2 at once. */
	g_assert_cmpuint(client_hubs_next(c, FALSE), ==, 0);
	g_assert_cmpuint(c->hub, ==, 1);
	client_free(c);
}

static void
test_server_names(void)
{
	const char *const hubs[] = {"hub-1", "hub-2", NULL};
	const char *const one[] = {"hub", NULL};
	const char *const each[] = {"hub-a", "hub-b", NULL};
	const char *const three[] = {"hub-a", "hub-b", "hub-c", NULL};
	TrClient *c = client_with(hubs);
	g_autoptr(GError) error = NULL;

	/* Shared key: no name needed. */
	g_assert_true(tr_client_config_check_names(&c->cfg, &error));
	g_assert_null(client_hubs_server_name(c));
	/* A certificate needs one. */
	c->cfg.tls.cert_file = (char *)"c.crt";
	g_assert_false(tr_client_config_check_names(&c->cfg, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	g_clear_error(&error);
	/* One name: every hub's. */
	c->cfg.server_names = g_strdupv((char **)one);
	g_assert_true(tr_client_config_check_names(&c->cfg, &error));
	c->hub = 1;
	g_assert_cmpstr(client_hubs_server_name(c), ==, "hub");
	/* One per hub (hubs of one CA): the current hub's. */
	g_strfreev(c->cfg.server_names);
	c->cfg.server_names = g_strdupv((char **)each);
	g_assert_true(tr_client_config_check_names(&c->cfg, &error));
	g_assert_cmpstr(client_hubs_server_name(c), ==, "hub-b");
	c->hub = 0;
	g_assert_cmpstr(client_hubs_server_name(c), ==, "hub-a");
	/* Neither: refused, both counts named. */
	g_strfreev(c->cfg.server_names);
	c->cfg.server_names = g_strdupv((char **)three);
	g_assert_false(tr_client_config_check_names(&c->cfg, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	g_assert_nonnull(strstr(error->message, "3 server names for 2 hubs"));
	c->cfg.tls.cert_file = NULL;
	client_free(c);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/client-hubs/order", test_order);
	g_test_add_func("/client-hubs/single", test_single);
	g_test_add_func("/client-hubs/refused", test_refused);
	g_test_add_func("/client-hubs/failback-target", test_failback_target);
	g_test_add_func("/client-hubs/server-names", test_server_names);
	return g_test_run();
}
