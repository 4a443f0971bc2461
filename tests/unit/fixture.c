/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tests/unit/fixture.h"

#include "common/pki/pki.h"

#include <glib/gstdio.h>

void
tr_fixture_remove_tree(const char *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *child = g_build_filename(path, name, NULL);
		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			tr_fixture_remove_tree(child);
		else
			g_unlink(child);
	}
	g_rmdir(path);
}

TrTlsCreds *
tr_fixture_tls_creds(const char *state, const char *name, gboolean is_server)
{
	g_autofree char *ca = tr_pki_ca_cert_path(state);
	g_autofree char *crl = tr_pki_crl_path(state);
	g_autofree char *cert = tr_pki_cert_path(state, name);
	g_autofree char *key = tr_pki_key_path(state, name);
	TrTlsConfig c = {.is_server = is_server,
	                 .ca_file = ca,
	                 .crl_file = g_file_test(crl, G_FILE_TEST_EXISTS) ? crl : NULL,
	                 .cert_file = cert,
	                 .key_file = key};
	g_autoptr(GError) error = NULL;
	TrTlsCreds *creds = tr_tls_creds_new(&c, &error);

	g_assert_no_error(error);
	g_assert_nonnull(creds);
	return creds;
}
