/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-details.h"

#include <glib/gi18n.h>

void
tray_details_update(GtkWidget *details, TrayModel *model)
{
	GtkTextBuffer *buf = g_object_get_data(G_OBJECT(details), "buffer");
	g_autoptr(GPtrArray) nets = tray_model_networks(model);
	GString *text = g_string_new(NULL);

	if (nets->len == 0)
		g_string_append(text, _("No Trellis networks are configured or running."));
	for (guint i = 0; i < nets->len; i++) {
		g_autofree char *one = tray_network_describe(nets->pdata[i]);
		if (i)
			g_string_append_c(text, '\n');
		g_string_append(text, one);
	}
	{
		GtkTextIter start, end;
		g_autofree char *old = NULL;
		gtk_text_buffer_get_bounds(buf, &start, &end);
		old = gtk_text_buffer_get_text(buf, &start, &end, FALSE);
		/* Unchanged: leave it, and where the person scrolled to. */
		if (g_strcmp0(old, text->str) != 0)
			gtk_text_buffer_set_text(buf, text->str, -1);
	}
	g_string_free(text, TRUE);
}

/* The status and log change without a change of the menu: read them again
 * while the window is open. */
static gboolean
on_tick(gpointer p)
{
	GtkWidget *win = p;

	tray_details_update(win, g_object_get_data(G_OBJECT(win), "model"));
	return G_SOURCE_CONTINUE;
}

static void
on_destroy(GtkWidget *win, gpointer p)
{
	g_source_remove(GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(win), "tick")));
}

GtkWidget *
tray_details_new(GtkApplication *app, TrayModel *model)
{
	GtkWidget *win = gtk_application_window_new(app);
	GtkWidget *scroll = gtk_scrolled_window_new(NULL, NULL);
	GtkWidget *view = gtk_text_view_new();

	gtk_window_set_title(GTK_WINDOW(win), _("Trellis VPN details"));
	gtk_window_set_default_size(GTK_WINDOW(win), 640, 440);
	gtk_text_view_set_editable(GTK_TEXT_VIEW(view), FALSE);
	gtk_text_view_set_monospace(GTK_TEXT_VIEW(view), TRUE);
	gtk_text_view_set_cursor_visible(GTK_TEXT_VIEW(view), FALSE);
	gtk_text_view_set_wrap_mode(GTK_TEXT_VIEW(view), GTK_WRAP_WORD_CHAR);
	gtk_text_view_set_left_margin(GTK_TEXT_VIEW(view), 12);
	gtk_text_view_set_top_margin(GTK_TEXT_VIEW(view), 12);
	gtk_container_add(GTK_CONTAINER(scroll), view);
	gtk_container_add(GTK_CONTAINER(win), scroll);
	g_object_set_data(G_OBJECT(win), "buffer", gtk_text_view_get_buffer(GTK_TEXT_VIEW(view)));
	g_object_set_data(G_OBJECT(win), "model", model);
	g_object_set_data(G_OBJECT(win), "tick",
	                  GUINT_TO_POINTER(g_timeout_add_seconds(2, on_tick, win)));
	g_signal_connect(win, "destroy", G_CALLBACK(on_destroy), NULL);
	tray_details_update(win, model);
	return win;
}
