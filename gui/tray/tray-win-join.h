/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>
#include <windows.h>

G_BEGIN_DECLS

/*
 * "Join a network…" on Windows: a window for the invite token from
 * `trellis invite`, then `trellis.exe join -` (next to the tray) with the
 * token on its standard input, never on a command line. It writes the
 * network's configuration into C:\ProgramData\Trellis, which only
 * administrators may: the tray must run as one for it to succeed, else the
 * window says that joining was not allowed. @joined is called on success
 * with `trellis join`'s first line.
 */
typedef void (*TrayWinJoinedFunc)(const char *summary, gpointer user_data);

void tray_win_join_open(HINSTANCE instance, TrayWinJoinedFunc joined, gpointer user_data);
/* The open window, or NULL: the message loop lets IsDialogMessageW handle
 * its keys (Tab between the fields, Enter joins, Escape cancels). */
HWND tray_win_join_window(void);

G_END_DECLS
