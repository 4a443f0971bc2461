/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "tray-model.h"

#include <windows.h>

G_BEGIN_DECLS

/* Shows the model's menu (@entries, tray_model_menu()) at the pointer,
 * owned by @owner, and returns the entry chosen, or NULL. Lines of
 * information are shown but cannot be chosen; a network's first line is
 * bold. */
const TrayMenuEntry *tray_win_menu_popup(HWND owner, GPtrArray *entries);

/* From the owner's WM_ENTERIDLE: logs once per menu where each item is on
 * the screen and what it says (the log then tells what the menu showed). */
void tray_win_menu_idle(void);

G_END_DECLS
