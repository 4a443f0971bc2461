/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Names bound to node keys (issue 16, item 2): the node key file (made once,
 * 0600, refused when others can read it) and the hub's names file (bindings
 * survive a restart; malformed lines are skipped).
 */
#include "common/base/error.h"
#include "common/auth/node-key.h"
#include "server/names.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static void
test_node_key_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("trellis-names-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "sub", "node-a.key", NULL);
	g_autofree char *sub = g_path_get_dirname(path);
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) pub1 = NULL, pub2 = NULL;
	struct stat st;

	{
		g_autoptr(TrNodeKey) k = tr_node_key_load_or_create(path, &error);
		g_assert_no_error(error);
		pub1 = tr_node_key_public(k);
	}
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 0777, ==, 0600);
	g_assert_cmpuint(g_bytes_get_size(pub1), ==, TR_NODE_KEY_PUBLIC_LEN);
	{
		g_autoptr(TrNodeKey) k = tr_node_key_load_or_create(path, &error);
		g_assert_no_error(error);
		pub2 = tr_node_key_public(k);
	}
	g_assert_true(g_bytes_equal(pub1, pub2)); /* the same key, not a new one */
	g_assert_cmpint(chmod(path, 0644), ==, 0);
	g_assert_null(tr_node_key_load_or_create(path, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_PERMISSION);
	g_unlink(path);
	g_rmdir(sub);
	g_rmdir(dir);
}

static void
test_names_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("trellis-names-XXXXXX", NULL);
	g_autofree char *file = g_build_filename(dir, "names", NULL);
	guint8 raw[32];
	g_autoptr(GBytes) key = NULL;

	memset(raw, 7, sizeof(raw));
	key = g_bytes_new(raw, sizeof(raw));
	{
		g_autoptr(TrNames) names = tr_names_new(file);
		g_assert_null(tr_names_lookup(names, "alice"));
		g_assert_true(tr_names_bind(names, "alice", key, NULL));
	}
	{
		g_autoptr(TrNames) names = tr_names_new(file);
		g_assert_nonnull(tr_names_lookup(names, "alice"));
		g_assert_true(g_bytes_equal(tr_names_lookup(names, "alice"), key));
	}
	{
		g_autoptr(TrNames) names = tr_names_new(NULL);
		const char *text = "# trellis-server names v1\n"
		                   "bob BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc= 1\n"
		                   "Bad BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc= 1\n"
		                   "carol short= 1\n"
		                   "dave BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n"
		                   "bob BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc= 2\n";

		for (guint i = 0; i < 4; i++)
			g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*ignoring*");
		g_assert_cmpuint(tr_names_load_text(names, text, "names"), ==, 1);
		g_test_assert_expected_messages();
		g_assert_true(g_bytes_equal(tr_names_lookup(names, "bob"), key));
	}
	g_unlink(file);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/names/node-key-file", test_node_key_file);
	g_test_add_func("/names/names-file", test_names_file);
	return g_test_run();
}
