/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The contract between the GTK-free plugin and its editor modules. */
#include <NetworkManager.h>

#define TR_NM_EDITOR_MODULE_GTK3 "libnm-vpn-plugin-trellis-editor.so"
#define TR_NM_EDITOR_MODULE_GTK4 "libnm-gtk4-vpn-plugin-trellis-editor.so"
#define TR_NM_EDITOR_FACTORY     "tr_nm_editor_new"

typedef NMVpnEditor *(*TrNmEditorFactory)(NMVpnEditorPlugin *plugin, NMConnection *connection,
                                          GError **error);

/* Exported by each editor module (and nothing else is). */
NMVpnEditor *tr_nm_editor_new(NMVpnEditorPlugin *plugin, NMConnection *connection, GError **error);
