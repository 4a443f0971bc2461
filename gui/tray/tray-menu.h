/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "tray-model.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Called when a menu item is chosen: the entry's action and network. */
typedef void (*TrayMenuFunc)(const TrayMenuEntry *entry, gpointer user_data);

/* Replaces @menu's items with @entries (tray_model_menu()). Lines of
 * information (headers too) are insensitive items. */
void tray_menu_fill(GtkMenu *menu, GPtrArray *entries, TrayMenuFunc activate, gpointer user_data);

G_END_DECLS
