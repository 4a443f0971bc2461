/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Where the client gets its password from: the config value `password`, the
 * file named by `password-file`, or else an interactive prompt on the
 * terminal. Every returned password is a TrSecret (common/base/secret.h): free it
 * with tr_secret_free(), which wipes it first.
 */
#include <glib.h>

G_BEGIN_DECLS

/* Longest password accepted from a file or the terminal, in bytes. */
#define TR_PASSWORD_MAX_LEN 1024

/*
 * Reads the first line of @path, trailing newline (and CR) stripped. Refuses
 * files readable or writable by group or others (TR_ERROR_PERMISSION, with the
 * chmod that fixes it), empty passwords and over-long ones.
 */
gboolean tr_password_read_file(const char *path, char **password, GError **error);

/*
 * Prints @prompt on the controlling terminal and reads a line with echo off.
 * Fails with TR_ERROR_NOT_FOUND when the process has no terminal (a service),
 * saying which options to use instead.
 */
gboolean tr_password_prompt(const char *prompt, char **password, GError **error);

/*
 * The client's password: @config_value if set, else the contents of
 * @config_file if set, else a prompt for @user's password. Setting both
 * options is a TR_ERROR_CONFIG error.
 */
gboolean tr_password_get(const char *config_value, const char *config_file, const char *user,
                         char **password, GError **error);

G_END_DECLS
