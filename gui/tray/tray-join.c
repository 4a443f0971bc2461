/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-join.h"

#include "tr-config.h"

#include <glib/gi18n.h>
#include <string.h>

/* pkexec's own exit codes: the user dismissed the dialog or was refused. */
#define PKEXEC_NOT_AUTHORIZED 126
#define PKEXEC_DISMISSED      127

typedef struct {
	GtkWidget *dialog;
	GtkWidget *entry;
	GtkWidget *status;
	GtkWidget *join_button;
	TrayJoinedFunc joined;
	gpointer user_data;
	gboolean running; /* trellis join runs: the dialog may go first */
	gboolean closed;
} Join;

static GtkWidget *open_dialog; /* one at a time */

static void
show_status(Join *j, const char *text, gboolean error)
{
	GtkStyleContext *style = gtk_widget_get_style_context(j->status);

	gtk_label_set_text(GTK_LABEL(j->status), text);
	if (error)
		gtk_style_context_add_class(style, "error");
	else
		gtk_style_context_remove_class(style, "error");
	gtk_widget_show(j->status);
}

/* `trellis join`'s words, without pkexec's and without the "trellis: ". */
static char *
failure_text(int status, const char *output)
{
	g_autofree char *text = g_strstrip(g_strdup(output ? output : ""));

	if (status == PKEXEC_NOT_AUTHORIZED || status == PKEXEC_DISMISSED)
		return g_strdup(_("Not authorized to join a network."));
	if (g_str_has_prefix(text, "trellis: "))
		return g_strdup(text + strlen("trellis: "));
	return *text ? g_steal_pointer(&text) : g_strdup(_("Joining failed."));
}

static void
on_done(GObject *src, GAsyncResult *res, gpointer p)
{
	Join *j = p;
	g_autoptr(GError) error = NULL;
	g_autofree char *output = NULL;
	GSubprocess *proc = G_SUBPROCESS(src);
	int status;

	j->running = FALSE;
	if (j->closed) {
		/* Closed meanwhile: the join ran all the same (the network shows
		 * up in the menu if it worked). */
		g_subprocess_communicate_utf8_finish(proc, res, &output, NULL, NULL);
		g_message("trellis join (dialog closed): %s", output ? output : "");
		g_free(j);
		return;
	}
	gtk_widget_set_sensitive(j->join_button, TRUE);
	gtk_widget_set_sensitive(j->entry, TRUE);
	if (!g_subprocess_communicate_utf8_finish(proc, res, &output, NULL, &error)) {
		show_status(j, error->message, TRUE);
		return;
	}
	status = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
	g_message("trellis join: exit %d: %s", status, output ? output : "");
	if (status != 0) {
		g_autofree char *why = failure_text(status, output);
		show_status(j, why, TRUE);
		return;
	}
	{
		g_auto(GStrv) lines = g_strsplit(output ? output : "", "\n", 2);
		j->joined(lines[0] ? lines[0] : "", j->user_data);
	}
	gtk_widget_destroy(j->dialog);
}

static void
run_join(Join *j)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree char *pkexec = g_find_program_in_path("pkexec");
	g_autofree char *token = NULL;
	const char *trellis = TR_BINDIR "/trellis";

	if (gtk_entry_get_text_length(GTK_ENTRY(j->entry)) == 0)
		return;
	if (pkexec == NULL) {
		show_status(j,
		            _("pkexec is not installed: cannot ask for the authorization to join."),
		            TRUE);
		return;
	}
	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
	                                G_SUBPROCESS_FLAGS_STDERR_MERGE,
	                        &error, pkexec, trellis, "join", "-", NULL);
	if (proc == NULL) {
		show_status(j, error->message, TRUE);
		return;
	}
	token = g_strdup_printf("%s\n", gtk_entry_get_text(GTK_ENTRY(j->entry)));
	gtk_widget_set_sensitive(j->join_button, FALSE);
	gtk_widget_set_sensitive(j->entry, FALSE);
	show_status(j, _("Joining…"), FALSE);
	j->running = TRUE;
	g_subprocess_communicate_utf8_async(proc, token, NULL, on_done, j);
	explicit_bzero(token, strlen(token));
}

static void
on_response(GtkDialog *dialog, int response, gpointer p)
{
	Join *j = p;

	if (response == GTK_RESPONSE_OK) {
		run_join(j);
		return;
	}
	gtk_widget_destroy(GTK_WIDGET(dialog));
}

static void
on_destroy(GtkWidget *dialog, gpointer p)
{
	Join *j = p;

	gtk_entry_set_text(GTK_ENTRY(j->entry), "");
	open_dialog = NULL;
	if (j->running)
		j->closed = TRUE;
	else
		g_free(j);
}

void
tray_join_open(GtkApplication *app, TrayJoinedFunc joined, gpointer user_data)
{
	Join *j;
	GtkWidget *box, *grid, *label;

	if (open_dialog) {
		gtk_window_present(GTK_WINDOW(open_dialog));
		return;
	}
	j = g_new0(Join, 1);
	j->joined = joined;
	j->user_data = user_data;
	j->dialog = gtk_dialog_new_with_buttons(_("Join a Trellis network"), NULL, 0, _("_Cancel"),
	                                        GTK_RESPONSE_CANCEL, NULL);
	j->join_button = gtk_dialog_add_button(GTK_DIALOG(j->dialog), _("_Join"), GTK_RESPONSE_OK);
	gtk_window_set_application(GTK_WINDOW(j->dialog), app);
	gtk_window_set_icon_name(GTK_WINDOW(j->dialog), "org.trellisvpn.Tray");
	gtk_window_set_keep_above(GTK_WINDOW(j->dialog), TRUE);
	gtk_dialog_set_default_response(GTK_DIALOG(j->dialog), GTK_RESPONSE_OK);
	box = gtk_dialog_get_content_area(GTK_DIALOG(j->dialog));
	grid = gtk_grid_new();
	gtk_grid_set_row_spacing(GTK_GRID(grid), 8);
	gtk_grid_set_column_spacing(GTK_GRID(grid), 8);
	gtk_container_set_border_width(GTK_CONTAINER(grid), 12);
	label = gtk_label_new(_("Paste the invite you were given (from “trellis invite” on the "
	                        "network's hub)."));
	gtk_label_set_xalign(GTK_LABEL(label), 0);
	gtk_label_set_line_wrap(GTK_LABEL(label), TRUE);
	gtk_grid_attach(GTK_GRID(grid), label, 0, 0, 2, 1);
	gtk_grid_attach(GTK_GRID(grid), gtk_label_new_with_mnemonic(_("_Invite:")), 0, 1, 1, 1);
	j->entry = gtk_entry_new();
	/* The invite is a secret until it is used. */
	gtk_entry_set_visibility(GTK_ENTRY(j->entry), FALSE);
	gtk_entry_set_activates_default(GTK_ENTRY(j->entry), TRUE);
	gtk_entry_set_width_chars(GTK_ENTRY(j->entry), 40);
	gtk_widget_set_hexpand(j->entry, TRUE);
	gtk_grid_attach(GTK_GRID(grid), j->entry, 1, 1, 1, 1);
	j->status = gtk_label_new(NULL);
	gtk_label_set_xalign(GTK_LABEL(j->status), 0);
	gtk_label_set_line_wrap(GTK_LABEL(j->status), TRUE);
	gtk_label_set_selectable(GTK_LABEL(j->status), TRUE);
	gtk_grid_attach(GTK_GRID(grid), j->status, 0, 2, 2, 1);
	gtk_container_add(GTK_CONTAINER(box), grid);
	g_signal_connect(j->dialog, "response", G_CALLBACK(on_response), j);
	g_signal_connect(j->dialog, "destroy", G_CALLBACK(on_destroy), j);
	open_dialog = j->dialog;
	gtk_widget_show_all(j->dialog);
	gtk_widget_hide(j->status);
	gtk_window_present(GTK_WINDOW(j->dialog));
	gtk_widget_grab_focus(j->entry);
}
