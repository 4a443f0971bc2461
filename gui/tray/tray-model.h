/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "tray-network.h"

G_BEGIN_DECLS

/*
 * Every Trellis network on the machine and what the tray shows for them:
 * the icon, the tooltip, the menu's entries and the notifications. Fed by
 * the configuration directory and the daemons (tray-daemons.c); read by the
 * widgets (tray-menu.c). Plain GLib: the unit tests drive it with no display.
 */
typedef enum {
	TRAY_ACTION_NONE, /* a line of information */
	TRAY_ACTION_CONNECT,
	TRAY_ACTION_DISCONNECT,
	TRAY_ACTION_COPY_ADDRESS,
	TRAY_ACTION_PASSWORD, /* ask for the password and hand it over */
	TRAY_ACTION_JOIN,
	TRAY_ACTION_DETAILS,
	TRAY_ACTION_QUIT,
	TRAY_ACTION_SEPARATOR,
} TrayAction;

typedef struct {
	TrayAction action;
	char *label;     /* translated; NULL for a separator */
	char *network;   /* the network it acts on, or NULL */
	char *data;      /* COPY_ADDRESS: the address */
	gboolean header; /* a network's first line (shown bold) */
} TrayMenuEntry;

typedef enum {
	TRAY_EVENT_CONNECTED,
	TRAY_EVENT_DISCONNECTED,
	TRAY_EVENT_RECONNECTING,
	TRAY_EVENT_REFUSED,
	TRAY_EVENT_NEEDS_PASSWORD, /* not a notification: ask (the dialog) */
} TrayEventKind;

typedef struct {
	TrayEventKind kind;
	const char *network;
	char *title; /* translated */
	char *body;  /* translated */
} TrayEvent;

typedef struct _TrayModel TrayModel;

/* @changed: the icon or menu must be redrawn (called only when what they
 * show changed). @event: something to tell the
 * user (a notification). Either may be NULL. */
typedef void (*TrayChangedFunc)(TrayModel *model, gpointer user_data);
typedef void (*TrayEventFunc)(TrayModel *model, const TrayEvent *event, gpointer user_data);

TrayModel *tray_model_new(TrayChangedFunc changed, TrayEventFunc event, gpointer user_data);
void tray_model_free(TrayModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrayModel, tray_model_free)

/* The networks in name order. */
GPtrArray *tray_model_networks(TrayModel *model);
TrayNetwork *tray_model_find(TrayModel *model, const char *name);

/* Re-reads @dir: every NAME.conf is a configured network (client or hub,
 * from its [client] / [server] group when readable). */
void tray_model_scan_config_dir(TrayModel *model, const char *dir);

/* What the daemons say. @state NULL: the network's daemon went away. */
void tray_model_daemon_state(TrayModel *model, const char *network, const char *state);
void tray_model_daemon_status(TrayModel *model, const char *network, const char *json);
void tray_model_daemon_error(TrayModel *model, const char *network, const char *kind,
                             const char *message);
/* The daemon's recent log lines, for Details (no redraw of the menu). */
void tray_model_daemon_log(TrayModel *model, const char *network, const char *const *lines);

/* The overall state: connecting beats connected beats failed beats off. */
TrayState tray_model_state(TrayModel *model);
/* The symbolic icon for it: trellis-tray-{disconnected,connecting,
 * connected,error}-symbolic. */
const char *tray_model_icon_name(TrayModel *model);
/* One line per network, for the tooltip and the icon's accessible name. */
char *tray_model_summary(TrayModel *model);

/* The menu, top to bottom. */
GPtrArray *tray_model_menu(TrayModel *model);

void tray_menu_entry_free(gpointer entry);

/* Why an action on a daemon failed, in plain words, for a notification (the
 * error itself goes to the log). The same on Linux and Windows. */
char *tray_failure_text(const GError *error);

G_END_DECLS
