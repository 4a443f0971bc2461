/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trellis-tray.exe: the tray on Windows. The same model (tray-model.c,
 * tray-network.c) as on Linux, fed by the daemons found through their
 * control files (tray-daemons-win.c), with a Windows face: an icon in the
 * notification area (Shell_NotifyIconW) whose menu (TrackPopupMenu) is the
 * model's, balloon notifications, the password from the Credential Manager
 * or the credentials dialog (tray-win-password.c), Details in a window of
 * text (tray-win-details.c), joining a network with `trellis join`
 * (tray-win-join.c). GLib's main loop runs the program and dispatches the
 * window messages (a source polling G_WIN32_MSG_HANDLE).
 */
#include "tr-config.h"

#include "common/daemon/bus.h"
#include "platform/windows/access.h"
#include "tray-daemons.h"
#include "tray-model.h"
#include "tray-win-details.h"
#include "tray-win-icon.h"
#include "tray-win-join.h"
#include "tray-win-menu.h"
#include "tray-win-password.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <shellapi.h>
#include <windows.h>

#define TRAY_CLASS      L"TrellisTray"
#define WM_TRAY_ICON    (WM_APP + 1)
#define TRAY_ICON_ID    1
#define SINGLE_INSTANCE L"Local\\org.trellisvpn.Tray"

typedef struct {
	HINSTANCE instance;
	HWND hwnd;
	UINT taskbar_created;
	GMainLoop *loop;
	TrayModel *model;
	TrayDaemons *daemons;
	char *config_dir;
	TrayState icon_state;
	HICON icon;
	gboolean icon_added;
	guint redraw, config_scan;
	GPtrArray *asks; /* PendingAsk: password questions waiting for the status */
} Tray;

static Tray tray;

/* ---- Window messages in GLib's main loop ---------------------------------- */

typedef struct {
	GSource source;
	GPollFD poll;
} MessageSource;

static gboolean
messages_waiting(void)
{
	MSG msg;

	return PeekMessageW(&msg, NULL, 0, 0, PM_NOREMOVE);
}

static gboolean
message_prepare(GSource *source, gint *timeout)
{
	*timeout = -1;
	return messages_waiting();
}

static gboolean
message_check(GSource *source)
{
	MessageSource *s = (MessageSource *)source;

	return (s->poll.revents & G_IO_IN) || messages_waiting();
}

static gboolean
message_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	MSG msg;

	while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE)) {
		HWND join = tray_win_join_window();
		if (msg.message == WM_QUIT) {
			g_main_loop_quit(tray.loop);
			return G_SOURCE_REMOVE;
		}
		if (join && IsDialogMessageW(join, &msg))
			continue;
		TranslateMessage(&msg);
		DispatchMessageW(&msg);
	}
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs message_funcs = {
        message_prepare, message_check, message_dispatch, NULL, NULL, NULL};

static void
add_message_source(void)
{
	GSource *source = g_source_new(&message_funcs, sizeof(MessageSource));
	MessageSource *s = (MessageSource *)source;

	s->poll.fd = G_WIN32_MSG_HANDLE;
	s->poll.events = G_IO_IN;
	g_source_add_poll(source, &s->poll);
	g_source_set_name(source, "window messages");
	g_source_attach(source, NULL);
	g_source_unref(source);
}

/* ---- The icon ------------------------------------------------------------- */

static void
copy_wide(wchar_t *dst, size_t size, const char *utf8)
{
	g_autofree wchar_t *w = g_utf8_to_utf16(utf8 ? utf8 : "", -1, NULL, NULL, NULL);

	dst[0] = 0;
	if (w)
		wcsncpy(dst, w, size - 1);
	dst[size - 1] = 0;
}

static void
icon_data(NOTIFYICONDATAW *nid)
{
	memset(nid, 0, sizeof(*nid));
	nid->cbSize = sizeof(*nid);
	nid->hWnd = tray.hwnd;
	nid->uID = TRAY_ICON_ID;
}

/* Adds the icon, or updates it: its picture and its tooltip. */
static void
show_icon(void)
{
	g_autofree char *summary = tray_model_summary(tray.model);
	TrayState state = tray_model_state(tray.model);
	NOTIFYICONDATAW nid;

	if (tray.icon == NULL || state != tray.icon_state) {
		if (tray.icon)
			DestroyIcon(tray.icon);
		tray.icon = tray_win_icon_new(state);
		tray.icon_state = state;
	}
	icon_data(&nid);
	nid.uFlags = NIF_ICON | NIF_TIP | NIF_MESSAGE;
	nid.uCallbackMessage = WM_TRAY_ICON;
	nid.hIcon = tray.icon;
	copy_wide(nid.szTip, G_N_ELEMENTS(nid.szTip), summary);
	if (tray.icon_added) {
		Shell_NotifyIconW(NIM_MODIFY, &nid);
	} else {
		tray.icon_added = Shell_NotifyIconW(NIM_ADD, &nid);
		if (!tray.icon_added)
			g_warning("cannot add the icon to the notification area (no taskbar?)");
	}
	g_message("icon %s: %s", tray_model_icon_name(tray.model), summary);
}

static void
remove_icon(void)
{
	NOTIFYICONDATAW nid;

	if (!tray.icon_added)
		return;
	icon_data(&nid);
	Shell_NotifyIconW(NIM_DELETE, &nid);
	tray.icon_added = FALSE;
}

/* A balloon from the icon: Windows shows it as a notification. */
static void
notify(const char *title, const char *body, gboolean warning)
{
	NOTIFYICONDATAW nid;

	g_message("notification: %s%s%s", title, body ? ": " : "", body ? body : "");
	if (!tray.icon_added)
		return;
	icon_data(&nid);
	nid.uFlags = NIF_INFO;
	nid.dwInfoFlags = warning ? NIIF_WARNING : NIIF_INFO;
	copy_wide(nid.szInfoTitle, G_N_ELEMENTS(nid.szInfoTitle), title);
	copy_wide(nid.szInfo, G_N_ELEMENTS(nid.szInfo), body ? body : "");
	if (!Shell_NotifyIconW(NIM_MODIFY, &nid))
		g_warning("the notification area did not take the notification");
}

/* ---- Actions -------------------------------------------------------------- */

static void
action_failed(const char *title, const GError *error)
{
	g_autofree char *body = tray_failure_text(error);

	g_message("%s: %s", title, error->message);
	notify(title, body, TRUE);
}

static void
on_connect_done(const char *network, const GError *error, gpointer p)
{
	g_autofree char *title = NULL;

	if (error == NULL)
		return;
	title = g_strdup_printf(_("Could not connect to %s"), network);
	action_failed(title, error);
}

static void
on_disconnect_done(const char *network, const GError *error, gpointer p)
{
	g_autofree char *title = NULL;

	if (error == NULL)
		return;
	title = g_strdup_printf(_("Could not disconnect %s"), network);
	action_failed(title, error);
}

static void
on_password(const char *network, const char *password, gpointer p)
{
	g_message("handing the password of %s to its daemon", network);
	tray_daemons_set_password(tray.daemons, network, password, on_connect_done, NULL);
}

static void
ask_password(const char *network)
{
	TrayNetwork *net = tray_model_find(tray.model, network);
	g_autofree char *problem = net ? tray_network_error_text(net) : NULL;

	tray_win_password_ask(tray.hwnd, network, net ? net->username : NULL, problem, on_password,
	                      NULL);
}

static void
copy_to_clipboard(const char *text)
{
	g_autofree wchar_t *w = g_utf8_to_utf16(text, -1, NULL, NULL, NULL);
	size_t size = (wcslen(w) + 1) * sizeof(wchar_t);
	HGLOBAL mem;

	if (!OpenClipboard(tray.hwnd))
		return;
	EmptyClipboard();
	mem = GlobalAlloc(GMEM_MOVEABLE, size);
	if (mem) {
		memcpy(GlobalLock(mem), w, size);
		GlobalUnlock(mem);
		if (SetClipboardData(CF_UNICODETEXT, mem) == NULL)
			GlobalFree(mem);
	}
	CloseClipboard();
	g_message("copied %s", text);
}

static void
on_joined(const char *summary, gpointer p)
{
	g_message("joined: %s", summary);
	tray_model_scan_config_dir(tray.model, tray.config_dir);
	notify(_("Joined a network"), summary, FALSE);
}

static void
on_menu_item(const TrayMenuEntry *e)
{
	g_message("chosen: %s", e->label);
	switch (e->action) {
	case TRAY_ACTION_CONNECT:
		tray_daemons_connect(tray.daemons, e->network, on_connect_done, NULL);
		break;
	case TRAY_ACTION_DISCONNECT:
		tray_daemons_disconnect(tray.daemons, e->network, on_disconnect_done, NULL);
		break;
	case TRAY_ACTION_PASSWORD:
		ask_password(e->network);
		break;
	case TRAY_ACTION_JOIN:
		tray_win_join_open(tray.instance, on_joined, NULL);
		break;
	case TRAY_ACTION_COPY_ADDRESS:
		copy_to_clipboard(e->data);
		break;
	case TRAY_ACTION_DETAILS:
		tray_win_details_open(tray.instance, tray.model);
		break;
	case TRAY_ACTION_QUIT:
		PostQuitMessage(0);
		break;
	case TRAY_ACTION_NONE:
	case TRAY_ACTION_SEPARATOR:
		break;
	}
}

static void
show_menu(void)
{
	static gboolean open;
	g_autoptr(GPtrArray) entries = NULL;
	const TrayMenuEntry *chosen;

	/* A click on the icon while the menu (or a dialog's loop) runs. */
	if (open)
		return;
	open = TRUE;
	entries = tray_model_menu(tray.model);
	g_message("menu opened (%u items)", entries->len);
	chosen = tray_win_menu_popup(tray.hwnd, entries);
	if (chosen)
		on_menu_item(chosen);
	else
		g_message("menu closed");
	open = FALSE;
}

static LRESULT CALLBACK
tray_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
	if (msg == WM_TRAY_ICON) {
		switch (LOWORD(lp)) {
		case WM_LBUTTONUP:
		case WM_RBUTTONUP:
		case WM_CONTEXTMENU:
			show_menu();
			break;
		}
		return 0;
	}
	/* Explorer restarted: the icon must be added again. */
	if (msg == tray.taskbar_created && tray.taskbar_created) {
		tray.icon_added = FALSE;
		show_icon();
		return 0;
	}
	switch (msg) {
	case WM_ENTERIDLE:
		if (wp == MSGF_MENU)
			tray_win_menu_idle();
		return 0;
	case WM_ENDSESSION:
		if (wp)
			PostQuitMessage(0);
		return 0;
	case WM_DESTROY:
		PostQuitMessage(0);
		return 0;
	}
	return DefWindowProcW(hwnd, msg, wp, lp);
}

/* ---- The model ------------------------------------------------------------ */

static gboolean
redraw(gpointer p)
{
	tray.redraw = 0;
	show_icon();
	tray_win_details_update(tray.model);
	return G_SOURCE_REMOVE;
}

static void
on_model_changed(TrayModel *model, gpointer p)
{
	if (tray.redraw == 0)
		tray.redraw = g_idle_add(redraw, NULL);
}

typedef struct {
	char *network;
	guint tries;
} PendingAsk;

/* The dialog shows the user name, which comes with the daemon's status a
 * moment after its state: wait for it (up to 3 s). */
static gboolean
ask_later(gpointer p)
{
	PendingAsk *a = p;
	TrayNetwork *net = tray_model_find(tray.model, a->network);

	if (net && net->state == TRAY_STATE_NEEDS_PASSWORD && net->status_json == NULL &&
	    a->tries++ < 15)
		return G_SOURCE_CONTINUE;
	if (net && net->state == TRAY_STATE_NEEDS_PASSWORD)
		ask_password(a->network);
	g_ptr_array_remove_fast(tray.asks, a);
	g_free(a->network);
	g_free(a);
	return G_SOURCE_REMOVE;
}

static void
on_model_event(TrayModel *model, const TrayEvent *ev, gpointer p)
{
	if (ev->kind == TRAY_EVENT_NEEDS_PASSWORD) {
		PendingAsk *a = g_new0(PendingAsk, 1);

		g_message("%s asks for a password", ev->network);
		/* Not from inside the model's update: the dialog runs a loop. */
		a->network = g_strdup(ev->network);
		g_ptr_array_add(tray.asks, a);
		g_timeout_add(200, ask_later, a);
		return;
	}
	notify(ev->title, ev->body, ev->kind == TRAY_EVENT_REFUSED);
}

/* The configuration directory, looked at again every few seconds (a
 * directory monitor is not worth a thread here): NAME.conf files. */
static gboolean
on_config_scan(gpointer p)
{
	static gboolean told;

	tray_model_scan_config_dir(tray.model, tray.config_dir);
	/* Once, if this user may not see the daemons (docs/WINDOWS.md, "Who may use it"). */
	if (!told) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GDir) dir = g_dir_open(tr_bus_dir(), 0, &error);
		told = TRUE;
		if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_ACCES) ||
		    g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_PERM)) {
			wchar_t wname[256];
			g_autofree char *name = NULL, *body = NULL;
			tr_win_users_group_name(wname, G_N_ELEMENTS(wname));
			name = g_utf16_to_utf8(wname, -1, NULL, NULL, NULL);
			body = g_strdup_printf(
			        _("Only the Administrators and the members of the group "
			          "'%s' may use Trellis here. An administrator can add "
			          "you (trellis access add %s); then sign in again."),
			        name, g_get_user_name());
			g_warning("%s: %s", tr_bus_dir(), error->message);
			notify(_("You may not use Trellis here"), body, TRUE);
		}
	}
	return G_SOURCE_CONTINUE;
}

static const char *
config_dir(void)
{
	const char *dir = g_getenv("TRELLIS_CONFIG_DIR");

	return dir && *dir ? dir : TR_SYSCONFDIR;
}

int WINAPI
wWinMain(HINSTANCE instance, HINSTANCE prev, PWSTR cmdline, int show)
{
	WNDCLASSEXW wc = {0};
	HANDLE single;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, TR_LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	g_set_application_name(_("Trellis VPN"));

	/* One tray per session. */
	single = CreateMutexW(NULL, TRUE, SINGLE_INSTANCE);
	if (single && GetLastError() == ERROR_ALREADY_EXISTS) {
		g_message("the tray runs already in this session");
		return 0;
	}
	tray.instance = instance;
	wc.cbSize = sizeof(wc);
	wc.lpfnWndProc = tray_proc;
	wc.hInstance = instance;
	wc.lpszClassName = TRAY_CLASS;
	if (!RegisterClassExW(&wc))
		g_error("cannot register the tray's window class");
	/* A hidden window: it receives the icon's clicks and owns the menu. */
	tray.hwnd = CreateWindowExW(0, TRAY_CLASS, L"Trellis VPN", WS_OVERLAPPED, 0, 0, 0, 0, NULL,
	                            NULL, instance, NULL);
	if (tray.hwnd == NULL)
		g_error("cannot create the tray's window");
	tray.taskbar_created = RegisterWindowMessageW(L"TaskbarCreated");

	tray.loop = g_main_loop_new(NULL, FALSE);
	add_message_source();
	tray.asks = g_ptr_array_new();
	tray.model = tray_model_new(on_model_changed, on_model_event, NULL);
	tray.config_dir = g_strdup(config_dir());
	tray_model_scan_config_dir(tray.model, tray.config_dir);
	tray.config_scan = g_timeout_add_seconds(5, on_config_scan, NULL);
	g_message("configuration in %s, daemons' control files in %s", tray.config_dir,
	          tr_bus_dir());
	tray.daemons = tray_daemons_new_for_dir(tr_bus_dir(), tray.model);
	redraw(NULL);

	g_main_loop_run(tray.loop);

	g_message("quitting");
	remove_icon();
	if (tray.redraw)
		g_source_remove(tray.redraw);
	g_source_remove(tray.config_scan);
	tray_daemons_free(tray.daemons);
	tray_model_free(tray.model);
	if (tray.icon)
		DestroyIcon(tray.icon);
	DestroyWindow(tray.hwnd);
	g_main_loop_unref(tray.loop);
	g_free(tray.config_dir);
	if (single)
		CloseHandle(single);
	return 0;
}
