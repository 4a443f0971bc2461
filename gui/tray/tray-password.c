/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tray-password.h"

#include <glib/gi18n.h>
#include <libsecret/secret.h>
#include <string.h>

/* What the keyring knows a Trellis password by. */
static const SecretSchema password_schema = {
        "org.trellisvpn.Password",
        SECRET_SCHEMA_NONE,
        {
                {"network", SECRET_SCHEMA_ATTRIBUTE_STRING},
                {"user", SECRET_SCHEMA_ATTRIBUTE_STRING},
                {NULL, 0},
        },
};

struct _TrayPassword {
	GtkApplication *app;
	TrayPasswordFunc got;
	gpointer user_data;
	GHashTable *asking; /* network → its dialog, or NULL while the keyring answers */
	GCancellable *cancel;
};

typedef struct {
	TrayPassword *pw;
	char *network;
	char *user;
} Request;

static void
request_free(Request *r)
{
	g_free(r->network);
	g_free(r->user);
	g_free(r);
}

static void
hand_over(TrayPassword *pw, const char *network, char *password)
{
	pw->got(network, password, pw->user_data);
	explicit_bzero(password, strlen(password));
}

static void
on_stored(GObject *src, GAsyncResult *res, gpointer p)
{
	g_autoptr(GError) error = NULL;

	if (!secret_password_store_finish(res, &error))
		g_warning("cannot keep the password in the keyring: %s", error->message);
}

static void
on_response(GtkDialog *dialog, int response, gpointer p)
{
	Request *r = p;
	TrayPassword *pw = r->pw;
	GtkEntry *entry = g_object_get_data(G_OBJECT(dialog), "entry");
	GtkToggleButton *keep = g_object_get_data(G_OBJECT(dialog), "keep");

	if (response == GTK_RESPONSE_OK && gtk_entry_get_text_length(entry) > 0) {
		g_autofree char *password = g_strdup(gtk_entry_get_text(entry));
		if (gtk_toggle_button_get_active(keep)) {
			g_autofree char *label =
			        g_strdup_printf(_("Trellis VPN password for %s"), r->network);
			secret_password_store(&password_schema, SECRET_COLLECTION_DEFAULT, label,
			                      password, pw->cancel, on_stored, NULL, "network",
			                      r->network, "user", r->user ? r->user : "", NULL);
		}
		hand_over(pw, r->network, password);
	}
	/* The entry's own copy. */
	gtk_entry_set_text(entry, "");
	g_hash_table_remove(pw->asking, r->network);
	gtk_widget_destroy(GTK_WIDGET(dialog));
}

static void
show_dialog(Request *r, const char *problem)
{
	TrayPassword *pw = r->pw;
	GtkWidget *dialog = gtk_dialog_new_with_buttons(NULL, NULL, GTK_DIALOG_DESTROY_WITH_PARENT,
	                                                _("_Cancel"), GTK_RESPONSE_CANCEL,
	                                                _("C_onnect"), GTK_RESPONSE_OK, NULL);
	GtkWidget *box = gtk_dialog_get_content_area(GTK_DIALOG(dialog));
	GtkWidget *grid = gtk_grid_new();
	GtkWidget *entry = gtk_entry_new();
	GtkWidget *keep = gtk_check_button_new_with_mnemonic(_("_Remember in my keyring"));
	g_autofree char *title = g_strdup_printf(_("Password for %s"), r->network);
	g_autofree char *text =
	        r->user ? g_strdup_printf(_("The hub of %s asks for the password of %s."),
	                                  r->network, r->user)
	                : g_strdup_printf(_("The hub of %s asks for a password."), r->network);
	GtkWidget *label = gtk_label_new(text);
	int row = 0;

	gtk_window_set_title(GTK_WINDOW(dialog), title);
	gtk_window_set_application(GTK_WINDOW(dialog), pw->app);
	gtk_window_set_icon_name(GTK_WINDOW(dialog), "org.trellisvpn.Tray");
	gtk_window_set_keep_above(GTK_WINDOW(dialog), TRUE);
	gtk_grid_set_row_spacing(GTK_GRID(grid), 8);
	gtk_grid_set_column_spacing(GTK_GRID(grid), 8);
	gtk_container_set_border_width(GTK_CONTAINER(grid), 12);
	gtk_label_set_xalign(GTK_LABEL(label), 0);
	gtk_grid_attach(GTK_GRID(grid), label, 0, row++, 2, 1);
	if (problem) {
		GtkWidget *why = gtk_label_new(problem);
		gtk_label_set_xalign(GTK_LABEL(why), 0);
		gtk_style_context_add_class(gtk_widget_get_style_context(why), "error");
		gtk_grid_attach(GTK_GRID(grid), why, 0, row++, 2, 1);
	}
	gtk_grid_attach(GTK_GRID(grid), gtk_label_new_with_mnemonic(_("_Password:")), 0, row, 1, 1);
	gtk_entry_set_visibility(GTK_ENTRY(entry), FALSE);
	gtk_entry_set_input_purpose(GTK_ENTRY(entry), GTK_INPUT_PURPOSE_PASSWORD);
	gtk_entry_set_activates_default(GTK_ENTRY(entry), TRUE);
	gtk_widget_set_hexpand(entry, TRUE);
	gtk_grid_attach(GTK_GRID(grid), entry, 1, row++, 1, 1);
	gtk_grid_attach(GTK_GRID(grid), keep, 1, row++, 1, 1);
	gtk_container_add(GTK_CONTAINER(box), grid);
	gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_OK);
	g_object_set_data(G_OBJECT(dialog), "entry", entry);
	g_object_set_data(G_OBJECT(dialog), "keep", keep);
	g_signal_connect_data(dialog, "response", G_CALLBACK(on_response), r,
	                      (GClosureNotify)(void (*)(void))request_free, 0);
	g_hash_table_replace(pw->asking, g_strdup(r->network), dialog);
	gtk_widget_show_all(dialog);
	gtk_window_present(GTK_WINDOW(dialog));
	gtk_widget_grab_focus(entry);
}

static void
on_lookup(GObject *src, GAsyncResult *res, gpointer p)
{
	Request *r = p;
	g_autoptr(GError) error = NULL;
	char *password = secret_password_lookup_finish(res, &error);

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		request_free(r);
		return;
	}
	if (error)
		g_message("no keyring (%s): asking", error->message);
	if (password) {
		g_message("%s: the password from the keyring", r->network);
		g_hash_table_remove(r->pw->asking, r->network);
		hand_over(r->pw, r->network, password);
		secret_password_free(password);
		request_free(r);
		return;
	}
	show_dialog(r, NULL);
}

TrayPassword *
tray_password_new(GtkApplication *app, TrayPasswordFunc got, gpointer user_data)
{
	TrayPassword *pw = g_new0(TrayPassword, 1);

	pw->app = app;
	pw->got = got;
	pw->user_data = user_data;
	pw->asking = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	pw->cancel = g_cancellable_new();
	return pw;
}

void
tray_password_free(TrayPassword *pw)
{
	g_autoptr(GList) dialogs = NULL;

	if (pw == NULL)
		return;
	g_cancellable_cancel(pw->cancel);
	g_object_unref(pw->cancel);
	dialogs = g_hash_table_get_values(pw->asking);
	g_hash_table_remove_all(pw->asking);
	for (GList *l = dialogs; l; l = l->next)
		if (l->data)
			gtk_widget_destroy(l->data);
	g_hash_table_unref(pw->asking);
	g_free(pw);
}

void
tray_password_ask(TrayPassword *pw, const char *network, const char *user, const char *problem)
{
	Request *r;
	gpointer dialog;

	/* Already asking: bring the dialog up. */
	if (g_hash_table_lookup_extended(pw->asking, network, NULL, &dialog)) {
		if (dialog)
			gtk_window_present(GTK_WINDOW(dialog));
		return;
	}
	r = g_new0(Request, 1);
	r->pw = pw;
	r->network = g_strdup(network);
	r->user = g_strdup(user);
	if (problem) {
		/* Refused: the keyring's copy (if any) is wrong; forget it. */
		secret_password_clear(&password_schema, NULL, NULL, NULL, "network", network,
		                      "user", user ? user : "", NULL);
		show_dialog(r, problem);
		return;
	}
	g_hash_table_replace(pw->asking, g_strdup(network), NULL);
	secret_password_lookup(&password_schema, pw->cancel, on_lookup, r, "network", network,
	                       "user", user ? user : "", NULL);
}
