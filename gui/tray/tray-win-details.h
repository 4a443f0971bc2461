/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "tray-model.h"

#include <windows.h>

G_BEGIN_DECLS

/* The Details window: what `trellis status` shows of every network, kept
 * up to date while it is open. One per tray; opening it again brings it up. */
void tray_win_details_open(HINSTANCE instance, TrayModel *model);
/* The model changed: redraw, if open. */
void tray_win_details_update(TrayModel *model);

G_END_DECLS
