/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <glib.h>
#include <windows.h>

G_BEGIN_DECLS

/*
 * The password a hub asks for, on Windows: from the Windows Credential
 * Manager (a generic credential "Trellis/NETWORK") when it is there and was
 * not just refused, else from the system's credentials dialog
 * (CredUIPromptForCredentialsW), whose "Remember" box keeps it in the
 * Credential Manager. A refused password is removed from it.
 */
typedef void (*TrayWinPasswordFunc)(const char *network, const char *password, gpointer user_data);

/* @user: the user name (shown, not changed), or NULL. @problem: why it is
 * asked again, or NULL the first time. @got is called with the password,
 * which is wiped afterwards; not at all when the person cancels. */
void tray_win_password_ask(HWND owner, const char *network, const char *user, const char *problem,
                           TrayWinPasswordFunc got, gpointer user_data);

G_END_DECLS
