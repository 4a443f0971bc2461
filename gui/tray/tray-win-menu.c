/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-win-menu.h"

/* The menu on the screen, for tray_win_menu_idle(). */
static HMENU shown;
static GPtrArray *shown_entries;
static gboolean logged;

/* A label as a menu item's text: '&' would underline the next letter. */
static wchar_t *
item_text(const char *label)
{
	g_autoptr(GString) s = g_string_new(NULL);

	for (const char *p = label; *p; p++) {
		if (*p == '&')
			g_string_append_c(s, '&');
		g_string_append_c(s, *p);
	}
	return g_utf8_to_utf16(s->str, -1, NULL, NULL, NULL);
}

const TrayMenuEntry *
tray_win_menu_popup(HWND owner, GPtrArray *entries)
{
	HMENU menu = CreatePopupMenu();
	POINT pt;
	UINT cmd;

	for (guint i = 0; i < entries->len; i++) {
		const TrayMenuEntry *e = entries->pdata[i];
		g_autofree wchar_t *text = NULL;
		MENUITEMINFOW mi = {0};

		mi.cbSize = sizeof(mi);
		if (e->action == TRAY_ACTION_SEPARATOR) {
			mi.fMask = MIIM_FTYPE;
			mi.fType = MFT_SEPARATOR;
		} else {
			text = item_text(e->label);
			mi.fMask = MIIM_FTYPE | MIIM_STRING | MIIM_ID | MIIM_STATE;
			mi.fType = MFT_STRING;
			mi.dwTypeData = text;
			/* Ids from 1: TrackPopupMenu returns 0 for "nothing chosen". */
			mi.wID = i + 1;
			mi.fState = (e->action == TRAY_ACTION_NONE ? MFS_DISABLED : MFS_ENABLED) |
			            (e->header ? MFS_DEFAULT : 0);
		}
		InsertMenuItemW(menu, i, TRUE, &mi);
	}
	GetCursorPos(&pt);
	shown = menu;
	shown_entries = entries;
	logged = FALSE;
	/* The menu closes when the user clicks elsewhere only if its owner is
	 * the foreground window (KB135788). */
	SetForegroundWindow(owner);
	cmd = (UINT)TrackPopupMenu(menu, TPM_RETURNCMD | TPM_RIGHTBUTTON | TPM_NONOTIFY, pt.x, pt.y,
	                           0, owner, NULL);
	PostMessageW(owner, WM_NULL, 0, 0);
	shown = NULL;
	shown_entries = NULL;
	DestroyMenu(menu);
	if (cmd == 0 || cmd > entries->len)
		return NULL;
	return entries->pdata[cmd - 1];
}

void
tray_win_menu_idle(void)
{
	if (shown == NULL || logged)
		return;
	logged = TRUE;
	for (guint i = 0; i < shown_entries->len; i++) {
		const TrayMenuEntry *e = shown_entries->pdata[i];
		RECT r;
		/* No window: a popup menu's own, in screen coordinates. */
		if (e->action == TRAY_ACTION_SEPARATOR || !GetMenuItemRect(NULL, shown, i, &r))
			continue;
		g_message("menu item %u at %ld,%ld %ldx%ld%s: %s", i, r.left, r.top,
		          r.right - r.left, r.bottom - r.top,
		          e->action == TRAY_ACTION_NONE ? " (information)" : "", e->label);
	}
}
