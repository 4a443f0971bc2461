/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "tray-model.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The Details window: what `trellis status` shows of every network, kept
 * up to date while it is open. One per tray. */
GtkWidget *tray_details_new(GtkApplication *app, TrayModel *model);
/* The model changed: redraw. */
void tray_details_update(GtkWidget *details, TrayModel *model);

G_END_DECLS
