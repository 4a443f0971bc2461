/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Test fixtures the unit tests and benchmarks share (tests/unit/fixture.c,
 * the static library fixture_dep): removing a scratch directory, and TLS
 * credentials from a scratch PKI.
 */
#include "common/auth/tls.h"

#include <glib.h>

/*
 * Removes @path and everything under it, as `rm -rf` would; a symbolic link
 * is removed, never followed. Errors are ignored: for a test's scratch
 * directory (g_dir_make_tmp()) in its teardown.
 */
void tr_fixture_remove_tree(const char *path);

/*
 * The TLS credentials of @name (issued with `trellis pki` or tr_pki_issue())
 * from the PKI state directory @state: its certificate and key, the CA and,
 * where @state has one, the CRL. Aborts the program when they cannot be
 * loaded. Free with tr_tls_creds_unref().
 */
TrTlsCreds *tr_fixture_tls_creds(const char *state, const char *name, gboolean is_server);
