/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-win-details.h"

#include <glib/gi18n.h>

#define DETAILS_CLASS L"TrellisTrayDetails"

static HWND window, text;

static LRESULT CALLBACK
details_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
	switch (msg) {
	case WM_SIZE:
		if (text)
			MoveWindow(text, 0, 0, LOWORD(lp), HIWORD(lp), TRUE);
		return 0;
	case WM_DESTROY:
		window = NULL;
		text = NULL;
		return 0;
	}
	return DefWindowProcW(hwnd, msg, wp, lp);
}

void
tray_win_details_update(TrayModel *model)
{
	g_autoptr(GPtrArray) nets = NULL;
	g_autoptr(GString) out = NULL;
	g_autofree char *crlf = NULL;
	g_autofree wchar_t *w = NULL;
	g_auto(GStrv) lines = NULL;

	if (text == NULL)
		return;
	nets = tray_model_networks(model);
	out = g_string_new(NULL);
	if (nets->len == 0)
		g_string_append(out, _("No Trellis networks"));
	for (guint i = 0; i < nets->len; i++) {
		g_autofree char *d = tray_network_describe(nets->pdata[i]);
		if (i)
			g_string_append_c(out, '\n');
		g_string_append(out, d);
	}
	/* An edit control breaks lines at CR LF only. */
	lines = g_strsplit(out->str, "\n", -1);
	crlf = g_strjoinv("\r\n", lines);
	w = g_utf8_to_utf16(crlf, -1, NULL, NULL, NULL);
	SetWindowTextW(text, w);
}

void
tray_win_details_open(HINSTANCE instance, TrayModel *model)
{
	static gboolean registered;
	g_autofree wchar_t *title = NULL;

	if (window) {
		ShowWindow(window, SW_SHOWNORMAL);
		SetForegroundWindow(window);
		return;
	}
	if (!registered) {
		WNDCLASSEXW wc = {0};
		wc.cbSize = sizeof(wc);
		wc.lpfnWndProc = details_proc;
		wc.hInstance = instance;
		wc.hCursor = LoadCursor(NULL, IDC_ARROW);
		wc.hbrBackground = (HBRUSH)(COLOR_WINDOW + 1);
		wc.lpszClassName = DETAILS_CLASS;
		registered = RegisterClassExW(&wc) != 0;
	}
	title = g_utf8_to_utf16(_("Trellis VPN — Details"), -1, NULL, NULL, NULL);
	window = CreateWindowExW(0, DETAILS_CLASS, title, WS_OVERLAPPEDWINDOW, CW_USEDEFAULT,
	                         CW_USEDEFAULT, 560, 420, NULL, NULL, instance, NULL);
	if (window == NULL)
		return;
	text = CreateWindowExW(WS_EX_CLIENTEDGE, L"EDIT", L"",
	                       WS_CHILD | WS_VISIBLE | WS_VSCROLL | ES_MULTILINE | ES_READONLY |
	                               ES_AUTOVSCROLL,
	                       0, 0, 0, 0, window, NULL, instance, NULL);
	SendMessageW(text, WM_SETFONT, (WPARAM)GetStockObject(DEFAULT_GUI_FONT), TRUE);
	tray_win_details_update(model);
	ShowWindow(window, SW_SHOWNORMAL);
	UpdateWindow(window);
	/* Sized now, when the edit control exists. */
	{
		RECT r;
		GetClientRect(window, &r);
		MoveWindow(text, 0, 0, r.right, r.bottom, TRUE);
	}
	SetForegroundWindow(window);
}
