/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-win-password.h"

#include <glib/gi18n.h>
#include <string.h>
#include <wincred.h>

/* Networks whose dialog is open: the dialog's own message loop may let the
 * tray ask again meanwhile. */
static GHashTable *asking;

static wchar_t *
wide(const char *s)
{
	return g_utf8_to_utf16(s, -1, NULL, NULL, NULL);
}

static void
wipe_free(char *s)
{
	if (s) {
		SecureZeroMemory(s, strlen(s));
		g_free(s);
	}
}

/* The kept password, or NULL. */
static char *
read_kept(const wchar_t *target)
{
	PCREDENTIALW cred = NULL;
	char *password = NULL;

	if (!CredReadW(target, CRED_TYPE_GENERIC, 0, &cred))
		return NULL;
	if (cred->CredentialBlobSize > 0)
		password = g_strndup((const char *)cred->CredentialBlob, cred->CredentialBlobSize);
	SecureZeroMemory(cred->CredentialBlob, cred->CredentialBlobSize);
	CredFree(cred);
	return password;
}

static void
keep(const wchar_t *target, const wchar_t *user, const char *password, const char *network)
{
	CREDENTIALW cred = {0};

	cred.Type = CRED_TYPE_GENERIC;
	cred.TargetName = (wchar_t *)target;
	cred.CredentialBlobSize = (DWORD)strlen(password);
	cred.CredentialBlob = (BYTE *)password;
	cred.Persist = CRED_PERSIST_LOCAL_MACHINE;
	cred.UserName = (wchar_t *)user;
	if (!CredWriteW(&cred, 0)) {
		g_autofree char *msg = g_win32_error_message((gint)GetLastError());
		g_warning("cannot keep the password of %s in the Credential Manager: %s", network,
		          msg);
	} else {
		g_message("kept the password of %s in the Credential Manager", network);
	}
}

void
tray_win_password_ask(HWND owner, const char *network, const char *user, const char *problem,
                      TrayWinPasswordFunc got, gpointer user_data)
{
	g_autofree char *target_s = g_strdup_printf("Trellis/%s", network);
	g_autofree wchar_t *target = wide(target_s);
	g_autofree char *message_s = NULL;
	g_autofree wchar_t *message = NULL, *caption = NULL;
	wchar_t user_buf[CREDUI_MAX_USERNAME_LENGTH + 1] = {0};
	wchar_t pass_buf[CREDUI_MAX_PASSWORD_LENGTH + 1] = {0};
	CREDUI_INFOW info = {0};
	BOOL save = FALSE;
	DWORD flags = CREDUI_FLAGS_GENERIC_CREDENTIALS | CREDUI_FLAGS_ALWAYS_SHOW_UI |
	              CREDUI_FLAGS_SHOW_SAVE_CHECK_BOX | CREDUI_FLAGS_DO_NOT_PERSIST;
	DWORD rc;
	char *password;

	if (asking == NULL)
		asking = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (g_hash_table_contains(asking, network))
		return;
	if (problem == NULL && (password = read_kept(target)) != NULL) {
		g_message("the password of %s comes from the Credential Manager", network);
		got(network, password, user_data);
		wipe_free(password);
		return;
	}
	/* Refused: not tried again. */
	if (problem && CredDeleteW(target, CRED_TYPE_GENERIC, 0))
		g_message("removed the refused password of %s from the Credential Manager",
		          network);

	message_s = problem ? g_strdup_printf(_("The network %s asks for your password again: %s"),
	                                      network, problem)
	                    : g_strdup_printf(_("The network %s asks for your password."), network);
	message = wide(message_s);
	caption = wide(_("Trellis VPN"));
	info.cbSize = sizeof(info);
	info.hwndParent = owner;
	info.pszMessageText = message;
	info.pszCaptionText = caption;
	if (user && *user) {
		g_autofree wchar_t *w = wide(user);
		wcsncpy(user_buf, w, CREDUI_MAX_USERNAME_LENGTH);
		flags |= CREDUI_FLAGS_KEEP_USERNAME;
	}
	g_hash_table_add(asking, g_strdup(network));
	rc = CredUIPromptForCredentialsW(&info, target, NULL, 0, user_buf, G_N_ELEMENTS(user_buf),
	                                 pass_buf, G_N_ELEMENTS(pass_buf), &save, flags);
	g_hash_table_remove(asking, network);
	if (rc == ERROR_CANCELLED) {
		g_message("the password of %s was not given (cancelled)", network);
		return;
	}
	if (rc != NO_ERROR) {
		g_autofree char *msg = g_win32_error_message((gint)rc);
		g_warning("cannot ask for the password of %s: %s", network, msg);
		return;
	}
	password = g_utf16_to_utf8(pass_buf, -1, NULL, NULL, NULL);
	SecureZeroMemory(pass_buf, sizeof(pass_buf));
	if (password == NULL || *password == '\0') {
		g_message("no password given for %s", network);
		g_free(password);
		return;
	}
	if (save)
		keep(target, user_buf, password, network);
	got(network, password, user_data);
	wipe_free(password);
}
