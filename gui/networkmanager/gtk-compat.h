/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The few calls GTK 3 and GTK 4 spell differently, for the editor that is
 * built for both. */
#include <gtk/gtk.h>

#if GTK_CHECK_VERSION(4, 0, 0)
#define tr_box_add(box, w)          gtk_box_append(GTK_BOX(box), (w))
#define tr_entry_get_text(e)        gtk_editable_get_text(GTK_EDITABLE(e))
#define tr_entry_set_text(e, t)     gtk_editable_set_text(GTK_EDITABLE(e), (t))
#define tr_add_class(w, c)          gtk_widget_add_css_class((w), (c))
#define tr_remove_class(w, c)       gtk_widget_remove_css_class((w), (c))
#define tr_show_all(w)              ((void)(w))
#define tr_label_set_wrap(l, b)     gtk_label_set_wrap(GTK_LABEL(l), (b))
#define tr_dup_tooltip(w)           g_strdup(gtk_widget_get_tooltip_text(w))
#define tr_no_show_all(w)           ((void)(w))
#define tr_window_new()             gtk_window_new()
#define tr_window_set_child(win, w) gtk_window_set_child(GTK_WINDOW(win), (w))
#define tr_window_destroy(win)      gtk_window_destroy(GTK_WINDOW(win))
#else
#define tr_box_add(box, w)          gtk_box_pack_start(GTK_BOX(box), (w), FALSE, FALSE, 0)
#define tr_entry_get_text(e)        gtk_entry_get_text(GTK_ENTRY(e))
#define tr_entry_set_text(e, t)     gtk_entry_set_text(GTK_ENTRY(e), (t))
#define tr_add_class(w, c)          gtk_style_context_add_class(gtk_widget_get_style_context(w), (c))
#define tr_remove_class(w, c)       gtk_style_context_remove_class(gtk_widget_get_style_context(w), (c))
#define tr_show_all(w)              gtk_widget_show_all(w)
#define tr_label_set_wrap(l, b)     gtk_label_set_line_wrap(GTK_LABEL(l), (b))
#define tr_dup_tooltip(w)           gtk_widget_get_tooltip_text(w)
/* A host's gtk_widget_show_all() must not show what the form hides. */
#define tr_no_show_all(w)           gtk_widget_set_no_show_all((w), TRUE)
#define tr_window_new()             gtk_window_new(GTK_WINDOW_TOPLEVEL)
#define tr_window_set_child(win, w) gtk_container_add(GTK_CONTAINER(win), (w))
#define tr_window_destroy(win)      gtk_widget_destroy(win)
#endif
