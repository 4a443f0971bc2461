/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hub's address pool and its leases file (issue 16, items 4 and 5):
 * identities are checked before a lease is written, the file escapes every
 * identity so that none can add a line, a planted line in an old file is
 * dropped on load, and what is shown (logs, JSON) stays one line of UTF-8.
 */
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/base/json-writer.h"
#include "common/base/log.h"
#include "server/pool.h"

#include <glib/gstdio.h>
#include <string.h>

/* A scratch directory from @tmpl (g_dir_make_tmp); a test that cannot make one fails with the
 * reason. */
static char *
scratch_dir(const char *tmpl)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_dir_make_tmp(tmpl, &error);

	g_assert_no_error(error);
	return dir;
}

static TrPool *
new_pool(const char *lease_file)
{
	g_autoptr(GError) error = NULL;
	TrPrefix v4;
	TrPool *pool;

	g_assert_true(tr_prefix_parse("198.19.0.0/24", 0, &v4, NULL));
	pool = tr_pool_new(&v4, NULL, lease_file, &error);
	g_assert_no_error(error);
	return pool;
}

/* Room for 65,533 leases. */
static TrPool *
new_big_pool(const char *lease_file)
{
	g_autoptr(GError) error = NULL;
	TrPrefix v4;
	TrPool *pool;

	g_assert_true(tr_prefix_parse("198.19.0.0/16", 0, &v4, NULL));
	pool = tr_pool_new(&v4, NULL, lease_file, &error);
	g_assert_no_error(error);
	return pool;
}

static guint
host_of(const TrPrefix *p)
{
	return p->addr[3];
}

/* Names that once reached the leases file raw are refused before it. */
static void
test_refused_identities(void)
{
	g_autoptr(TrPool) pool = new_pool(NULL);
	g_autofree char *long_name = g_strnfill(252, 'a');
	g_autofree char *long_psk = g_strconcat("psk:", long_name, NULL);
	const char *bad[] = {
	        "psk:x 1\n7 psk:victim",
	        "psk:a\nb",
	        "psk:\xff\xfe",
	        "psk:a b",
	        "psk:Alice",
	        "psk:",
	        "",
	        "psk:a\x1b[31m",
	        "node:..",
	        long_psk,
	        "c1/us er",
	        "c1/",
	        "psk:x%41",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		TrPrefix a4, a6;

		g_assert_false(tr_pool_lease(pool, bad[i], NULL, &a4, &a6, &error));
		g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	}
	g_assert_cmpuint(tr_pool_n_active(pool), ==, 0);
	{
		g_autofree char *text = tr_pool_leases_text(pool);
		g_assert_null(strchr(strchr(text, '\n') + 1, '\n'));
	}
}

static void
test_escape(void)
{
	const char *cases[][2] = {
	        {"psk:alice", "psk:alice"},
	        {"c1/bob@example.org", "c1/bob@example.org"},
	        {"a b\n%", "a%20b%0A%25"},
	        {"\xff", "%FF"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *e = tr_pool_escape_identity(cases[i][0]);
		g_autofree char *u = tr_pool_unescape_identity(e);

		g_assert_cmpstr(e, ==, cases[i][1]);
		g_assert_cmpstr(u, ==, cases[i][0]);
	}
	/* What escaping never writes is not read either. */
	g_assert_null(tr_pool_unescape_identity("a b"));
	g_assert_null(tr_pool_unescape_identity("a%0"));
	g_assert_null(tr_pool_unescape_identity("a%00b"));
	g_assert_null(tr_pool_unescape_identity("a%zz"));
	g_assert_null(tr_pool_unescape_identity(""));
}

/* Leases survive a save and a load (a hub restart), under the same hosts. */
static void
test_round_trip(void)
{
	g_autofree char *dir = scratch_dir("trellis-pool-XXXXXX");
	g_autofree char *file = g_build_filename(dir, "leases", NULL);
	TrPrefix a4, a6, b4, b6, again4, again6;
	g_autofree char *text = NULL;

	{
		g_autoptr(TrPool) pool = new_pool(file);
		g_assert_true(tr_pool_lease(pool, "psk:alice", NULL, &a4, &a6, NULL));
		g_assert_true(tr_pool_lease(pool, "c1/bob", NULL, &b4, &b6, NULL));
	}
	g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
	g_assert_true(g_str_has_prefix(text, "# trellis-server address leases v2"));
	{
		g_autoptr(TrPool) pool = new_pool(file);
		g_assert_true(tr_pool_lease(pool, "c1/bob", NULL, &again4, &again6, NULL));
		g_assert_cmpuint(host_of(&again4), ==, host_of(&b4));
		g_assert_true(tr_pool_lease(pool, "psk:alice", NULL, &again4, &again6, NULL));
		g_assert_cmpuint(host_of(&again4), ==, host_of(&a4));
	}
	g_unlink(file);
	g_rmdir(dir);
}

/*
 * A storm of leases shares one write of the leases file (issue 24: a write
 * per lease made each handshake cost in proportion to the leases there),
 * written within the delay by the main loop, and new identities take the
 * next free hosts in order.
 */
static void
test_save_coalesced(void)
{
	g_autofree char *dir = scratch_dir("trellis-pool-XXXXXX");
	g_autofree char *file = g_build_filename(dir, "leases", NULL);
	g_autoptr(TrPool) pool = new_pool(file);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	gint64 deadline;
	TrPrefix v4, v6;

	for (guint i = 0; i < 200; i++) {
		g_autofree char *id = g_strdup_printf("psk:client%u", i);

		g_assert_true(tr_pool_lease(pool, id, NULL, &v4, &v6, NULL));
		g_assert_cmpuint(host_of(&v4), ==, 2 + i);
		if (i % 2)
			tr_pool_release(pool, id);
	}
	g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
	deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (!g_file_test(file, G_FILE_TEST_EXISTS) && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 1 + 200 + 1); /* header, leases, "" */
	g_unlink(file);
	g_rmdir(dir);
}

static gboolean
tick(gpointer data)
{
	(void)data;
	return G_SOURCE_CONTINUE;
}

/* Runs the main loop until tr_pool_writing() is @writing (at most 10 s;
 * a tick wakes the loop when nothing else would). */
static void
wait_writing(TrPool *pool, gboolean writing)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	guint ticks = g_timeout_add(10, tick, NULL);

	while (tr_pool_writing(pool) != writing && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(ticks);
	g_assert_cmpint(tr_pool_writing(pool), ==, writing);
}

static guint
leases_in_file(const char *file)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(file, &text, NULL, NULL))
		return 0;
	g_assert_true(g_str_has_prefix(text, "# trellis-server address leases v2"));
	lines = g_strsplit(text, "\n", -1);
	return g_strv_length(lines) - 2; /* header, leases, "" */
}

static void
lease_n(TrPool *pool, guint from, guint n)
{
	TrPrefix v4, v6;

	for (guint i = from; i < from + n; i++) {
		g_autofree char *id = g_strdup_printf("psk:client%u", i);

		g_assert_true(tr_pool_lease(pool, id, NULL, &v4, &v6, NULL));
	}
}

/*
 * The leases file is written on a thread of its own, not on the main loop
 * (issue 24: a write took 72 ms of it at 10,000 leases): the main loop is
 * free while the write is in flight, a change during it is written by the
 * next write, after it (one in flight at a time), and the file keeps its
 * mode.
 */
static void
test_write_in_flight(void)
{
	g_autofree char *dir = scratch_dir("trellis-pool-XXXXXX");
	g_autofree char *file = g_build_filename(dir, "leases", NULL);
	g_autoptr(TrPool) pool = new_pool(file);
	gint64 deadline;
	guint ticks;
	GStatBuf st;

	lease_n(pool, 0, 100);
	g_assert_false(tr_pool_writing(pool));
	/* The delay ends; the main loop starts the write and goes on. */
	wait_writing(pool, TRUE);
	lease_n(pool, 100, 50);
	tr_pool_release(pool, "psk:client0");
	g_assert_true(tr_pool_writing(pool));
	/* The first write has the leases as they were when it started. */
	wait_writing(pool, FALSE);
	g_assert_cmpuint(leases_in_file(file), ==, 100);
	/* The changes during it: the next write, after the delay. */
	deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	ticks = g_timeout_add(10, tick, NULL);
	while (leases_in_file(file) != 150 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(ticks);
	g_assert_cmpuint(leases_in_file(file), ==, 150);
	wait_writing(pool, FALSE);
	g_assert_cmpint(g_stat(file, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_clear_pointer(&pool, tr_pool_free);
	g_unlink(file);
	g_rmdir(dir);
}

/*
 * A clean stop loses no lease: freeing the pool while a write is in flight
 * and more changes wait waits for that write and writes the rest.
 */
static void
test_free_writes_all(void)
{
	g_autofree char *dir = scratch_dir("trellis-pool-XXXXXX");
	g_autofree char *file = g_build_filename(dir, "leases", NULL);
	TrPool *pool = new_big_pool(file);

	lease_n(pool, 0, 1000);
	wait_writing(pool, TRUE);
	lease_n(pool, 1000, 1000);
	tr_pool_free(pool);
	g_assert_cmpuint(leases_in_file(file), ==, 2000);
	/* And with nothing but a change waiting. */
	pool = new_big_pool(file);
	lease_n(pool, 2000, 1);
	g_assert_false(tr_pool_writing(pool));
	tr_pool_free(pool);
	g_assert_cmpuint(leases_in_file(file), ==, 2001);
	g_unlink(file);
	g_rmdir(dir);
}

/* A write that fails is reported on the main loop, with the file and why. */
static void
test_write_error(void)
{
	g_autofree char *dir = scratch_dir("trellis-pool-XXXXXX");
	g_autofree char *file = g_build_filename(dir, "gone", "leases", NULL);
	g_autoptr(TrPool) pool = new_pool(file);

	lease_n(pool, 0, 10);
	wait_writing(pool, TRUE);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
	                      "cannot save address leases*gone*leases*");
	wait_writing(pool, FALSE);
	g_test_assert_expected_messages();
	g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
	g_clear_pointer(&pool, tr_pool_free);
	g_rmdir(dir);
}

/*
 * The write waits longer as the leases grow (each write costs in proportion
 * to them): a stream of arrivals costs the same per arrival in writes at
 * 100 leases as at 20,000.
 */
static void
test_save_delay(void)
{
	g_autoptr(TrPool) pool = new_big_pool(NULL);
	TrPrefix v4, v6;

	g_assert_cmpuint(tr_pool_save_delay_ms(pool), ==, 500);
	for (guint i = 0; i < 20000; i++) {
		g_autofree char *id = g_strdup_printf("psk:client%u", i);

		g_assert_true(tr_pool_lease(pool, id, NULL, &v4, &v6, NULL));
		if (i == 99 || i == 4999)
			g_assert_cmpuint(tr_pool_save_delay_ms(pool), ==, 500);
	}
	g_assert_cmpuint(tr_pool_save_delay_ms(pool), ==, 2000);
}

/*
 * A version 1 file (identities raw) in which a name with a line break
 * planted a lease for a victim: the planted line is dropped, the victim
 * gets a fresh address rather than the attacker's choice.
 */
static void
test_planted_line(void)
{
	g_autoptr(TrPool) pool = new_pool(NULL);
	TrPrefix a4, a6;
	const char *v1 = "# trellis-server address leases: host identity last-used\n"
	                 "2 psk:alice 1765094400\n"
	                 "9 psk:victim\x1b 1\n"
	                 "7 psk:ok%41 1\n"
	                 "8 psk:bob 1 extra\n"
	                 "6 psk:carol 1765094400\n";

	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*ignoring a malformed*");
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*ignoring a malformed*");
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*ignoring a malformed*");
	g_assert_cmpuint(tr_pool_load_text(pool, v1, "leases"), ==, 2);
	g_test_assert_expected_messages();
	g_assert_true(tr_pool_lease(pool, "psk:carol", NULL, &a4, &a6, NULL));
	g_assert_cmpuint(host_of(&a4), ==, 6);
	/* In version 2 the same bytes are escapes, and a raw space splits a field. */
	{
		g_autoptr(TrPool) p2 = new_pool(NULL);
		const char *v2 = "# trellis-server address leases v2: host identity last-used\n"
		                 "7 psk:victim%0A9 1\n"
		                 "5 psk:dave 1\n";

		g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*ignoring a malformed*");
		g_assert_cmpuint(tr_pool_load_text(p2, v2, "leases"), ==, 1);
		g_test_assert_expected_messages();
	}
}

/* JSON (stats file, trellis status, GetStatus) stays valid UTF-8. */
static void
test_json_escape(void)
{
	g_autoptr(GString) out = g_string_new(NULL);

	tr_json_string(out, "a\xff\"\n\x1b\xc3\xa9");
	g_assert_cmpstr(out->str, ==, "\"a\\u00ff\\\"\\n\\u001b\xc3\xa9\"");
	g_assert_true(g_utf8_validate(out->str, -1, NULL));
}

/* A log line stays one line whatever a peer put into it (in a subprocess,
 * so that the raw message never reaches the TAP output). */
static void
test_log_escape(void)
{
	g_autofree char *dir = scratch_dir("trellis-log-XXXXXX");
	g_autofree char *file = g_build_filename(dir, "log", NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (g_test_subprocess()) {
		const char *path = g_getenv("TR_TEST_LOG_FILE");

		g_assert_true(tr_log_init("test-pool", TR_LOG_NORMAL, path, NULL));
		g_message("client %s connected", "ev\nil \x1b[2J\xff\\");
		tr_log_shutdown();
		g_rmdir(dir);
		return;
	}
	g_setenv("TR_TEST_LOG_FILE", file, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_assert_true(g_file_get_contents(file, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 2); /* one line and the empty rest */
	g_assert_nonnull(strstr(lines[0], "client ev\\nil \\x1b[2J\\xff\\\\ connected"));
	g_test_trap_assert_stderr("*client ev\\nil \\x1b[2J\\xff\\\\ connected*");
	g_unlink(file);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/pool/refused-identities", test_refused_identities);
	g_test_add_func("/pool/escape", test_escape);
	g_test_add_func("/pool/round-trip", test_round_trip);
	g_test_add_func("/pool/save-coalesced", test_save_coalesced);
	g_test_add_func("/pool/save-delay", test_save_delay);
	g_test_add_func("/pool/write-in-flight", test_write_in_flight);
	g_test_add_func("/pool/free-writes-all", test_free_writes_all);
	g_test_add_func("/pool/write-error", test_write_error);
	g_test_add_func("/pool/planted-line", test_planted_line);
	g_test_add_func("/escape/json", test_json_escape);
	g_test_add_func("/escape/log", test_log_escape);
	return g_test_run();
}
