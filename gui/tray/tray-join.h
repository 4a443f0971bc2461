/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/*
 * "Join a network…": a dialog for the invite token from `trellis invite`,
 * then `pkexec trellis join -` with the token on its standard input (never
 * on a command line). pkexec asks polkit for org.trellisvpn.network.join;
 * the new configuration lands in the configuration directory, where the
 * tray sees it appear. The dialog says what went wrong, if anything.
 */
typedef void (*TrayJoinedFunc)(const char *summary, gpointer user_data);

/* Opens the dialog (or brings it up); @joined is called on success with
 * `trellis join`'s first line. */
void tray_join_open(GtkApplication *app, TrayJoinedFunc joined, gpointer user_data);

G_END_DECLS
