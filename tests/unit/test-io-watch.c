/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/base/io-watch.h"

#include <sys/socket.h>
#include <unistd.h>

#define N 300 /* more than one dispatch's batch */

typedef struct {
	int fds[2];
	TrIoWatch *watch;
	guint calls;
	GIOCondition seen;
	guint reads;
	int free_other; /* index of a pair to free from this callback, or -1 */
	gboolean free_self;
} Pair;

static Pair pairs[N];

static gboolean
on_ready(int fd, GIOCondition cond, gpointer data)
{
	Pair *p = data;
	char buf[16];

	g_assert_cmpint(fd, ==, p->fds[0]);
	p->calls++;
	p->seen |= cond;
	if (cond & G_IO_IN && read(fd, buf, sizeof(buf)) > 0)
		p->reads++;
	if (p->free_other >= 0) {
		g_clear_pointer(&pairs[p->free_other].watch, tr_io_watch_free);
		p->free_other = -1;
	}
	if (p->free_self)
		g_clear_pointer(&p->watch, tr_io_watch_free);
	return G_SOURCE_CONTINUE;
}

/* Iterates (bounded) until @done says so. */
static void
spin(gboolean (*done)(void))
{
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	while (!done() && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE);
	g_assert_true(done());
}

static gboolean
all_read(void)
{
	for (int i = 0; i < N; i++)
		if (pairs[i].watch && pairs[i].reads == 0)
			return FALSE;
	return TRUE;
}

static gboolean
all_kicked(void)
{
	for (int i = 0; i < N; i++)
		if (pairs[i].watch && pairs[i].calls == 0)
			return FALSE;
	return TRUE;
}

/* Readiness, kicks, changed interests, and watches freed in callbacks (their own, another's). */
static void
test_many(void)
{
	for (int i = 0; i < N; i++) {
		g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pairs[i].fds),
		                ==, 0);
		pairs[i].free_other = -1;
		pairs[i].watch = tr_io_watch_new(pairs[i].fds[0], G_IO_IN, on_ready, &pairs[i]);
	}
	/* Nothing ready, nothing kicked: no call. */
	for (int k = 0; k < 5; k++)
		g_main_context_iteration(NULL, FALSE);
	for (int i = 0; i < N; i++)
		g_assert_cmpuint(pairs[i].calls, ==, 0);

	/* A kick calls once, with nothing ready. */
	for (int i = 0; i < N; i++)
		tr_io_watch_kick(pairs[i].watch);
	tr_io_watch_kick(pairs[0].watch); /* twice: still once */
	spin(all_kicked);
	for (int i = 0; i < N; i++) {
		g_assert_cmpuint(pairs[i].calls, ==, 1);
		g_assert_cmpuint(pairs[i].seen, ==, 0);
	}

	/* Readable: every one is served, more than a batch in all. */
	for (int i = 0; i < N; i++)
		g_assert_cmpint(write(pairs[i].fds[1], "x", 1), ==, 1);
	spin(all_read);
	for (int i = 0; i < N; i++)
		g_assert_true(pairs[i].seen & G_IO_IN);

	/* Writable once asked for. */
	pairs[5].seen = 0;
	tr_io_watch_modify(pairs[5].watch, G_IO_IN | G_IO_OUT);
	for (int k = 0; k < 20 && !(pairs[5].seen & G_IO_OUT); k++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_true(pairs[5].seen & G_IO_OUT);
	tr_io_watch_modify(pairs[5].watch, G_IO_IN);

	/* Freed from callbacks: pair 1 frees pair 2 (both ready in one go),
	 * pair 3 frees itself; then neither 2 nor 3 is called again. */
	pairs[1].free_other = 2;
	pairs[3].free_self = TRUE;
	for (int i = 1; i <= 3; i++) {
		pairs[i].calls = 0;
		g_assert_cmpint(write(pairs[i].fds[1], "y", 1), ==, 1);
	}
	for (int k = 0; k < 20 && pairs[1].calls == 0; k++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_null(pairs[2].watch);
	g_assert_null(pairs[3].watch);
	for (int i = 1; i <= 3; i++)
		g_assert_cmpint(write(pairs[i].fds[1], "z", 1), ==, 1);
	pairs[2].calls = pairs[3].calls = 0;
	for (int k = 0; k < 20; k++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(pairs[2].calls, ==, 0);
	g_assert_cmpuint(pairs[3].calls, ==, 0);

	for (int i = 0; i < N; i++) {
		g_clear_pointer(&pairs[i].watch, tr_io_watch_free);
		close(pairs[i].fds[0]);
		close(pairs[i].fds[1]);
	}
	/* All gone: another round starts afresh. */
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pairs[0].fds), ==, 0);
	pairs[0].calls = 0;
	pairs[0].free_other = -1;
	pairs[0].free_self = TRUE;
	pairs[0].watch = tr_io_watch_new(pairs[0].fds[0], G_IO_IN, on_ready, &pairs[0]);
	g_assert_cmpint(write(pairs[0].fds[1], "x", 1), ==, 1);
	for (int k = 0; k < 20 && pairs[0].calls == 0; k++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(pairs[0].calls, ==, 1);
	g_assert_null(pairs[0].watch);
	close(pairs[0].fds[0]);
	close(pairs[0].fds[1]);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/io-watch/many", test_many);
	return g_test_run();
}
