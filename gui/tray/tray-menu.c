/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-menu.h"

typedef struct {
	TrayMenuEntry *entry; /* a copy: the model's list is gone by then */
	TrayMenuFunc activate;
	gpointer user_data;
} Item;

static void
item_free(gpointer p, GClosure *closure)
{
	Item *item = p;

	tray_menu_entry_free(item->entry);
	g_free(item);
}

static void
on_activate(GtkMenuItem *mi, gpointer p)
{
	Item *item = p;

	item->activate(item->entry, item->user_data);
}

static TrayMenuEntry *
entry_copy(const TrayMenuEntry *e)
{
	TrayMenuEntry *c = g_new0(TrayMenuEntry, 1);

	c->action = e->action;
	c->label = g_strdup(e->label);
	c->network = g_strdup(e->network);
	c->data = g_strdup(e->data);
	c->header = e->header;
	return c;
}

void
tray_menu_fill(GtkMenu *menu, GPtrArray *entries, TrayMenuFunc activate, gpointer user_data)
{
	g_autoptr(GList) old = gtk_container_get_children(GTK_CONTAINER(menu));

	for (GList *l = old; l; l = l->next)
		gtk_widget_destroy(l->data);
	for (guint i = 0; i < entries->len; i++) {
		const TrayMenuEntry *e = entries->pdata[i];
		GtkWidget *mi;

		if (e->action == TRAY_ACTION_SEPARATOR) {
			mi = gtk_separator_menu_item_new();
		} else {
			/* Plain text: StatusNotifier hosts show labels, not markup. */
			mi = gtk_menu_item_new_with_label(e->label);
			if (e->action == TRAY_ACTION_NONE) {
				gtk_widget_set_sensitive(mi, FALSE);
			} else {
				Item *item = g_new0(Item, 1);
				item->entry = entry_copy(e);
				item->activate = activate;
				item->user_data = user_data;
				g_signal_connect_data(mi, "activate", G_CALLBACK(on_activate), item,
				                      item_free, 0);
			}
		}
		gtk_widget_show(mi);
		gtk_menu_shell_append(GTK_MENU_SHELL(menu), mi);
	}
}
