/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-win-join.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <string.h>

#define JOIN_CLASS L"TrellisTrayJoin"
#define ID_TOKEN   101
#define ID_JOIN    IDOK
#define ID_CANCEL  IDCANCEL

typedef struct {
	HWND window, token, status, join, cancel;
	TrayWinJoinedFunc joined;
	gpointer user_data;
	gboolean running; /* trellis join runs: the window may close first */
} Join;

static Join *open_join; /* one at a time */

static void
set_text(HWND w, const char *text)
{
	g_autofree wchar_t *t = g_utf8_to_utf16(text, -1, NULL, NULL, NULL);

	SetWindowTextW(w, t);
}

static void
show_status(Join *j, const char *text)
{
	g_message("join: %s", text);
	set_text(j->status, text);
}

static void
set_busy(Join *j, gboolean busy)
{
	EnableWindow(j->join, !busy);
	EnableWindow(j->token, !busy);
}

/* trellis.exe, next to the tray. */
static char *
trellis_exe(void)
{
	wchar_t path[MAX_PATH];
	DWORD n = GetModuleFileNameW(NULL, path, G_N_ELEMENTS(path));
	g_autofree char *self = NULL, *dir = NULL;

	if (n == 0 || n >= G_N_ELEMENTS(path))
		return g_strdup("trellis.exe");
	self = g_utf16_to_utf8(path, -1, NULL, NULL, NULL);
	dir = g_path_get_dirname(self);
	return g_build_filename(dir, "trellis.exe", NULL);
}

static void
on_done(GObject *src, GAsyncResult *res, gpointer p)
{
	Join *j = p;
	g_autoptr(GError) error = NULL;
	g_autofree char *output = NULL;
	GSubprocess *proc = G_SUBPROCESS(src);
	int status;
	gboolean ok = g_subprocess_communicate_utf8_finish(proc, res, &output, NULL, &error);

	j->running = FALSE;
	status = ok && g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
	g_message("trellis join: exit %d: %s", status, output ? output : "");
	if (j->window == NULL) {
		/* Closed meanwhile: the join ran all the same. */
		g_free(j);
		return;
	}
	set_busy(j, FALSE);
	if (!ok) {
		show_status(j, error->message);
	} else if (status != 0) {
		g_autofree char *text = g_strstrip(g_strdup(output ? output : ""));
		show_status(j, g_str_has_prefix(text, "trellis: ") ? text + strlen("trellis: ")
		               : *text                             ? text
		                                                   : _("Joining failed."));
	} else {
		g_auto(GStrv) lines = g_strsplit(output ? output : "", "\n", 2);
		g_strstrip(lines[0]);
		j->joined(lines[0], j->user_data);
		DestroyWindow(j->window);
	}
}

static void
run_join(Join *j)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree char *exe = trellis_exe();
	int len = GetWindowTextLengthW(j->token);
	wchar_t *w;
	char *token;

	if (len <= 0 || j->running)
		return;
	w = g_new0(wchar_t, len + 1);
	GetWindowTextW(j->token, w, len + 1);
	token = g_utf16_to_utf8(w, -1, NULL, NULL, NULL);
	SecureZeroMemory(w, (len + 1) * sizeof(wchar_t));
	g_free(w);
	if (token == NULL)
		return;
	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
	                                G_SUBPROCESS_FLAGS_STDERR_MERGE,
	                        &error, exe, "join", "-", NULL);
	if (proc == NULL) {
		SecureZeroMemory(token, strlen(token));
		g_free(token);
		show_status(j, error->message);
		return;
	}
	{
		g_autofree char *input = g_strdup_printf("%s\n", g_strstrip(token));
		SecureZeroMemory(token, strlen(token));
		g_free(token);
		set_busy(j, TRUE);
		show_status(j, _("Joining…"));
		j->running = TRUE;
		g_subprocess_communicate_utf8_async(proc, input, NULL, on_done, j);
		SecureZeroMemory(input, strlen(input));
	}
}

static LRESULT CALLBACK
join_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
	Join *j = open_join;

	switch (msg) {
	case WM_COMMAND:
		if (j == NULL)
			break;
		if (LOWORD(wp) == ID_JOIN)
			run_join(j);
		else if (LOWORD(wp) == ID_CANCEL)
			DestroyWindow(hwnd);
		return 0;
	case WM_CLOSE:
		DestroyWindow(hwnd);
		return 0;
	case WM_DESTROY:
		if (j) {
			SetWindowTextW(j->token, L"");
			j->window = NULL;
			open_join = NULL;
			if (!j->running)
				g_free(j);
		}
		return 0;
	}
	return DefWindowProcW(hwnd, msg, wp, lp);
}

static HWND
child(Join *j, const wchar_t *cls, const char *text, DWORD style, int x, int y, int w, int h,
      int id, HINSTANCE instance)
{
	g_autofree wchar_t *t = g_utf8_to_utf16(text, -1, NULL, NULL, NULL);
	HWND c = CreateWindowExW(g_str_equal(text, "") && id == ID_TOKEN ? WS_EX_CLIENTEDGE : 0,
	                         cls, t, WS_CHILD | WS_VISIBLE | style, x, y, w, h, j->window,
	                         (HMENU)(INT_PTR)id, instance, NULL);

	SendMessageW(c, WM_SETFONT, (WPARAM)GetStockObject(DEFAULT_GUI_FONT), TRUE);
	return c;
}

HWND
tray_win_join_window(void)
{
	return open_join ? open_join->window : NULL;
}

void
tray_win_join_open(HINSTANCE instance, TrayWinJoinedFunc joined, gpointer user_data)
{
	static gboolean registered;
	g_autofree wchar_t *title = NULL;
	Join *j;

	if (open_join) {
		SetForegroundWindow(open_join->window);
		return;
	}
	if (!registered) {
		WNDCLASSEXW wc = {0};
		wc.cbSize = sizeof(wc);
		wc.lpfnWndProc = join_proc;
		wc.hInstance = instance;
		wc.hCursor = LoadCursor(NULL, IDC_ARROW);
		wc.hbrBackground = (HBRUSH)(COLOR_BTNFACE + 1);
		wc.lpszClassName = JOIN_CLASS;
		registered = RegisterClassExW(&wc) != 0;
	}
	j = g_new0(Join, 1);
	j->joined = joined;
	j->user_data = user_data;
	title = g_utf8_to_utf16(_("Join a Trellis network"), -1, NULL, NULL, NULL);
	j->window = CreateWindowExW(WS_EX_DLGMODALFRAME, JOIN_CLASS, title,
	                            WS_OVERLAPPED | WS_CAPTION | WS_SYSMENU, CW_USEDEFAULT,
	                            CW_USEDEFAULT, 460, 210, NULL, NULL, instance, NULL);
	if (j->window == NULL) {
		g_free(j);
		return;
	}
	open_join = j;
	child(j, L"STATIC",
	      _("Paste the invite you were given (from \"trellis invite\" on the network's hub)."),
	      0, 12, 12, 420, 32, 0, instance);
	/* The invite is a secret until it is used. */
	j->token = child(j, L"EDIT", "", WS_TABSTOP | WS_BORDER | ES_AUTOHSCROLL | ES_PASSWORD, 12,
	                 48, 420, 22, ID_TOKEN, instance);
	j->status = child(j, L"STATIC", "", 0, 12, 78, 420, 48, 0, instance);
	j->join = child(j, L"BUTTON", _("Join"), WS_TABSTOP | BS_DEFPUSHBUTTON, 252, 134, 86, 26,
	                ID_JOIN, instance);
	j->cancel = child(j, L"BUTTON", _("Cancel"), WS_TABSTOP | BS_PUSHBUTTON, 346, 134, 86, 26,
	                  ID_CANCEL, instance);
	ShowWindow(j->window, SW_SHOWNORMAL);
	SetForegroundWindow(j->window);
	SetFocus(j->token);
}
