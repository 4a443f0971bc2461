/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/*
 * The password a hub asks for: from the user's keyring (libsecret) when it
 * is there and was not just refused, else from a dialog that offers to keep
 * it in the keyring. One request per network at a time.
 */
typedef struct _TrayPassword TrayPassword;

/* Called with the password to hand to the daemon; it is wiped afterwards. */
typedef void (*TrayPasswordFunc)(const char *network, const char *password, gpointer user_data);

TrayPassword *tray_password_new(GtkApplication *app, TrayPasswordFunc got, gpointer user_data);
void tray_password_free(TrayPassword *pw);

/* @user: the user name, or NULL. @problem: why it is asked again (the
 * refusal in plain words), or NULL the first time: a refused password is
 * removed from the keyring and not tried again. */
void tray_password_ask(TrayPassword *pw, const char *network, const char *user,
                       const char *problem);

G_END_DECLS
