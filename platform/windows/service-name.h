/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A network's Windows service is TR_WIN_SERVICE_PREFIX + the network's name
 * (`trellis service install NAME`; the tray starts it to connect). */
#define TR_WIN_SERVICE_PREFIX "TrellisClient$"
