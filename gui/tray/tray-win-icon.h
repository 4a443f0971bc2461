/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "tray-network.h"

#include <windows.h>

G_BEGIN_DECLS

/* The notification-area icon for the tray's overall state
 * (tray_model_state()), drawn at the small-icon size: a grey ring when
 * disconnected, an amber half disc while connecting, a green disc when
 * connected, a red disc with a bar when something failed. DestroyIcon() it. */
HICON tray_win_icon_new(TrayState state);

G_END_DECLS
