/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Trellis connection editor that GNOME Settings and nm-connection-editor
 * show: hubs, server name, authentication (certificate or shared key, each
 * optionally with a username and password), the CA, certificate and key with
 * libnma's file choosers, the secrets with NetworkManager's storage menu
 * (saved, for this user only, ask every time, not required), and advanced
 * settings: cipher, compression (with its warning), MTU, port, device type.
 * Built twice from this file: against GTK 3 and libnma, and GTK 4 and
 * libnma-gtk4; the GTK-free plugin loads the one its host uses.
 *
 * What the file format knows but this form does not show (subnets, magic,
 * tuning) is kept as it is. The form is checked as the service will check it
 * (settings.c) and a wrong field is marked, with the reason beside it.
 */
#include "tr-config.h"

#include "gui/networkmanager/editor-module.h"
#include "gui/networkmanager/gtk-compat.h"
#include "gui/networkmanager/settings.h"

#include <nma-cert-chooser.h>
#include <nma-ui-utils.h>
#include <string.h>

enum { AUTH_CERT, AUTH_CERT_PASSWORD, AUTH_SHARED_KEY, AUTH_SHARED_KEY_PASSWORD };
enum { CIPHER_DEFAULT, CIPHER_AES, CIPHER_CHACHA, CIPHER_OTHER };

/* trellis-client's, for the device type shown. */
#define DEFAULT_MTU(tap) ((tap) ? TR_MTU_DEFAULT_TAP : TR_MTU_DEFAULT)

/* The keys this form edits; every other vpn.data key is kept untouched. */
static const char *const edited_keys[] = {
        TR_NM_KEY_CONNECT,
        TR_NM_KEY_SERVER_NAME,
        TR_NM_KEY_CA,
        TR_NM_KEY_CERT,
        TR_NM_KEY_KEY,
        TR_NM_KEY_USERNAME,
        "crypto",
        "compression",
        "mtu",
        "type",
        TR_NM_KEY_PASSWORD "-flags",
        TR_NM_KEY_SHARED_KEY "-flags",
        NULL,
};

typedef struct {
	GObject parent;
	GtkWidget *widget;
	GtkWidget *hubs, *server_name, *auth, *ca, *user_cert, *shared_key, *username, *password;
	GtkWidget *cipher, *compression, *compression_warning, *mtu, *port, *type;
	GtkWidget *advanced; /* the "Advanced settings" window */
	GtkWidget *error_label;
	GtkWidget *marked;
	GtkSizeGroup *labels; /* our labels and the choosers' line up */
	NMSettingVpn *orig;   /* what the connection had: kept keys, secret flags */
	char *other_cipher;   /* a crypto list the combo does not offer */
	gboolean built;
} TrNmEditor;

typedef struct {
	GObjectClass parent;
} TrNmEditorClass;

static void tr_nm_editor_interface_init(NMVpnEditorInterface *iface);
static GType tr_nm_editor_get_type(void);

G_DEFINE_TYPE_EXTENDED(TrNmEditor, tr_nm_editor, G_TYPE_OBJECT, 0,
                       G_IMPLEMENT_INTERFACE(NM_TYPE_VPN_EDITOR, tr_nm_editor_interface_init))

static void
emit_changed(TrNmEditor *self)
{
	g_signal_emit_by_name(self, "changed");
}

static const char *
orig_data(TrNmEditor *self, const char *key)
{
	const char *v = self->orig ? nm_setting_vpn_get_data_item(self->orig, key) : NULL;
	return v && *v ? v : NULL;
}

static int
auth_mode(TrNmEditor *self)
{
	return gtk_combo_box_get_active(GTK_COMBO_BOX(self->auth));
}

static void
show_row(GtkWidget *w, gboolean visible)
{
	GtkWidget *label = g_object_get_data(G_OBJECT(w), "tr-label");

	gtk_widget_set_visible(w, visible);
	if (label)
		gtk_widget_set_visible(label, visible);
}

/*
 * Trellis keys have no password, but libnma's chooser shows a key password
 * entry whenever a key is set, whatever NMA_CERT_CHOOSER_FLAG_NO_PASSWORDS
 * says (libnma 1.10): hide its entries, their labels and "Show passwords".
 */
static void
hide_key_password(GtkWidget *chooser)
{
#if GTK_CHECK_VERSION(4, 0, 0)
	for (GtkWidget *c = gtk_widget_get_first_child(chooser); c;
	     c = gtk_widget_get_next_sibling(c)) {
#else
	g_autoptr(GList) children = gtk_container_get_children(GTK_CONTAINER(chooser));
	for (GList *l = children; l; l = l->next) {
		GtkWidget *c = l->data;
#endif
		GtkWidget *target =
		        GTK_IS_LABEL(c) ? gtk_label_get_mnemonic_widget(GTK_LABEL(c)) : c;

		if (target && (GTK_IS_ENTRY(target) || GTK_IS_CHECK_BUTTON(target)))
			gtk_widget_set_visible(c, FALSE);
	}
}

static void
update_visibility(TrNmEditor *self)
{
	int mode = auth_mode(self);
	gboolean cert = mode == AUTH_CERT || mode == AUTH_CERT_PASSWORD;
	gboolean password = mode == AUTH_CERT_PASSWORD || mode == AUTH_SHARED_KEY_PASSWORD;

	show_row(self->ca, cert);
	show_row(self->user_cert, cert);
	hide_key_password(self->ca);
	hide_key_password(self->user_cert);
	show_row(self->server_name, TRUE);
	show_row(self->shared_key, !cert);
	show_row(self->username, password);
	show_row(self->password, password);
	gtk_widget_set_visible(self->compression_warning,
	                       gtk_combo_box_get_active(GTK_COMBO_BOX(self->compression)) == 1);
}

static void
on_changed(GtkWidget *w, gpointer p)
{
	TrNmEditor *self = p;

	if (!self->built) /* setting the initial values */
		return;
	update_visibility(self);
	emit_changed(self);
}

static GtkWidget *
add_row(GtkWidget *grid, int row, const char *label_text, GtkWidget *w, const char *name)
{
	GtkWidget *label = gtk_label_new_with_mnemonic(label_text);

	gtk_label_set_xalign(GTK_LABEL(label), 1.0);
	gtk_label_set_mnemonic_widget(GTK_LABEL(label), w);
	gtk_size_group_add_widget(g_object_get_data(G_OBJECT(grid), "tr-labels"), label);
	gtk_widget_set_hexpand(w, TRUE);
	gtk_widget_set_name(w, name);
	gtk_grid_attach(GTK_GRID(grid), label, 0, row, 1, 1);
	gtk_grid_attach(GTK_GRID(grid), w, 1, row, 1, 1);
	g_object_set_data(G_OBJECT(w), "tr-label", label);
	return w;
}

static GtkWidget *
add_wide(GtkWidget *grid, int row, GtkWidget *w, const char *name)
{
	gtk_widget_set_hexpand(w, TRUE);
	gtk_widget_set_name(w, name);
	gtk_grid_attach(GTK_GRID(grid), w, 0, row, 2, 1);
	return w;
}

static GtkWidget *
new_entry(TrNmEditor *self, const char *text, const char *placeholder)
{
	GtkWidget *e = gtk_entry_new();

	if (text)
		tr_entry_set_text(e, text);
	if (placeholder)
		gtk_entry_set_placeholder_text(GTK_ENTRY(e), placeholder);
	g_signal_connect(e, "changed", G_CALLBACK(on_changed), self);
	return e;
}

static GtkWidget *
new_secret_entry(TrNmEditor *self, const char *key)
{
	NMSettingSecretFlags flags = NM_SETTING_SECRET_FLAG_NONE;
	const char *value = self->orig ? nm_setting_vpn_get_secret(self->orig, key) : NULL;
	GtkWidget *e = new_entry(self, value, NULL);

	gtk_entry_set_visibility(GTK_ENTRY(e), FALSE);
	if (self->orig)
		nm_setting_get_secret_flags(NM_SETTING(self->orig), key, &flags, NULL);
	/* NetworkManager's menu: saved for all users, for this user (keyring),
	 * ask every time, not required. Read back in save_secret(); the original
	 * setting stays as it was. */
	nma_utils_setup_password_storage(e, flags, NULL, key, TRUE, FALSE);
	return e;
}

static GtkWidget *
new_combo(TrNmEditor *self, const char *const *items, int active)
{
	GtkWidget *c = gtk_combo_box_text_new();

	for (guint i = 0; items[i]; i++)
		gtk_combo_box_text_append_text(GTK_COMBO_BOX_TEXT(c), items[i]);
	gtk_combo_box_set_active(GTK_COMBO_BOX(c), active);
	g_signal_connect(c, "changed", G_CALLBACK(on_changed), self);
	return c;
}

static GtkWidget *
new_spin(TrNmEditor *self, double min, double max, double value)
{
	GtkWidget *s = gtk_spin_button_new_with_range(min, max, 1);

	gtk_spin_button_set_value(GTK_SPIN_BUTTON(s), value);
	g_signal_connect(s, "value-changed", G_CALLBACK(on_changed), self);
	return s;
}

/* "a:1;b" -> "a:1, b" for the entry. */
static char *
hubs_text(const char *connect)
{
	g_auto(GStrv) items = tr_nm_value_split(connect);
	return g_strjoinv(", ", items);
}

static gboolean
has_port(const char *hub)
{
	const char *bracket = strrchr(hub, ']');
	const char *colon = strrchr(hub, ':');

	if (hub[0] == '[')
		return bracket && bracket[1] == ':';
	return colon && strchr(hub, ':') == colon;
}

static void
close_advanced(GtkWidget *button, gpointer p)
{
	TrNmEditor *self = p;

	gtk_widget_set_visible(self->advanced, FALSE);
}

static void
on_advanced(GtkWidget *button, gpointer p)
{
	TrNmEditor *self = p;
#if GTK_CHECK_VERSION(4, 0, 0)
	GtkRoot *root = gtk_widget_get_root(self->widget);
	GtkWidget *top = root ? GTK_WIDGET(root) : NULL;
#else
	GtkWidget *top = gtk_widget_get_toplevel(self->widget);
#endif

	if (top && GTK_IS_WINDOW(top))
		gtk_window_set_transient_for(GTK_WINDOW(self->advanced), GTK_WINDOW(top));
	gtk_window_present(GTK_WINDOW(self->advanced));
}

/* The window, hidden, with an empty grid for the rows (*@grid). */
static GtkWidget *
new_advanced_window(TrNmEditor *self, GtkWidget **grid)
{
	GtkWidget *window = tr_window_new();
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	GtkWidget *close = gtk_button_new_with_mnemonic("_Close");

	gtk_window_set_title(GTK_WINDOW(window), "Trellis VPN: advanced settings");
	gtk_window_set_modal(GTK_WINDOW(window), TRUE);
	gtk_window_set_resizable(GTK_WINDOW(window), FALSE);
#if GTK_CHECK_VERSION(4, 0, 0)
	gtk_window_set_hide_on_close(GTK_WINDOW(window), TRUE);
#else
	g_signal_connect(window, "delete-event", G_CALLBACK(gtk_widget_hide_on_delete), NULL);
#endif
	gtk_widget_set_margin_start(box, 12);
	gtk_widget_set_margin_end(box, 12);
	gtk_widget_set_margin_top(box, 12);
	gtk_widget_set_margin_bottom(box, 12);
	*grid = gtk_grid_new();
	g_object_set_data(G_OBJECT(*grid), "tr-labels", self->labels);
	gtk_grid_set_row_spacing(GTK_GRID(*grid), 6);
	gtk_grid_set_column_spacing(GTK_GRID(*grid), 12);
	tr_box_add(box, *grid);
	gtk_widget_set_name(close, "close");
	gtk_widget_set_halign(close, GTK_ALIGN_END);
	g_signal_connect(close, "clicked", G_CALLBACK(close_advanced), self);
	tr_box_add(box, close);
	tr_window_set_child(window, box);
	/* For whoever drives the form (the tests). */
	g_object_set_data(G_OBJECT(self->widget), "tr-advanced-window", window);
	return window;
}

static void
build(TrNmEditor *self)
{
	static const char *const auth_items[] = {"Certificate", "Certificate and password",
	                                         "Shared key", "Shared key and password", NULL};
	static const char *const compression_items[] = {"None", "LZO", NULL};
	static const char *const type_items[] = {"tun (IP packets)", "tap (Ethernet frames)", NULL};
	const char *cipher_items[] = {"Default (the faster of AES-256-GCM and ChaCha20-Poly1305)",
	                              "AES-256-GCM", "ChaCha20-Poly1305", NULL, NULL};
	g_autofree char *hubs = orig_data(self, TR_NM_KEY_CONNECT)
	                                ? hubs_text(orig_data(self, TR_NM_KEY_CONNECT))
	                                : NULL;
	g_autofree char *other_label = NULL;
	const char *crypto = orig_data(self, "crypto");
	const char *mtu = orig_data(self, "mtu");
	gboolean cert = orig_data(self, TR_NM_KEY_CERT) != NULL ||
	                (self->orig == NULL ||
	                 (!nm_setting_vpn_get_secret(self->orig, TR_NM_KEY_SHARED_KEY) &&
	                  !orig_data(self, TR_NM_KEY_SHARED_KEY "-flags")));
	gboolean password = orig_data(self, TR_NM_KEY_USERNAME) != NULL;
	int cipher = CIPHER_DEFAULT;
	GtkWidget *grid, *adv;
	int row = 0;

	if (crypto && strcmp(crypto, "aes256-gcm") == 0)
		cipher = CIPHER_AES;
	else if (crypto && strcmp(crypto, "chacha20-poly1305") == 0)
		cipher = CIPHER_CHACHA;
	else if (crypto) {
		self->other_cipher = g_strdup(crypto);
		other_label = g_strdup_printf("As configured: %s", crypto);
		cipher_items[CIPHER_OTHER] = other_label;
		cipher = CIPHER_OTHER;
	}

	self->widget = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	g_object_ref_sink(self->widget);
	gtk_widget_set_margin_start(self->widget, 12);
	gtk_widget_set_margin_end(self->widget, 12);
	gtk_widget_set_margin_top(self->widget, 12);
	gtk_widget_set_margin_bottom(self->widget, 12);

	self->labels = gtk_size_group_new(GTK_SIZE_GROUP_HORIZONTAL);
	grid = gtk_grid_new();
	g_object_set_data(G_OBJECT(grid), "tr-labels", self->labels);
	gtk_grid_set_row_spacing(GTK_GRID(grid), 6);
	gtk_grid_set_column_spacing(GTK_GRID(grid), 12);
	tr_box_add(self->widget, grid);

	self->hubs =
	        add_row(grid, row++,
	                "_Hubs:", new_entry(self, hubs, "hub.example.net, backup.example.net:3300"),
	                "hubs");
	gtk_widget_set_tooltip_text(self->hubs,
	                            "The hub's address (HOST or HOST:PORT); several, separated by "
	                            "commas, are tried in turn");
	self->auth =
	        add_row(grid, row++, "_Authentication:",
	                new_combo(self, auth_items,
	                          cert ? (password ? AUTH_CERT_PASSWORD : AUTH_CERT)
	                               : (password ? AUTH_SHARED_KEY_PASSWORD : AUTH_SHARED_KEY)),
	                "auth");
	self->server_name = add_row(grid, row++, "_Server name:",
	                            new_entry(self, orig_data(self, TR_NM_KEY_SERVER_NAME), "hub"),
	                            "server-name");
	gtk_widget_set_tooltip_text(
	        self->server_name, "The name the hub's certificate carries (trellis pki issue NAME "
	                           "--server)");

	self->ca = nma_cert_chooser_new("Network CA",
	                                NMA_CERT_CHOOSER_FLAG_CERT | NMA_CERT_CHOOSER_FLAG_PEM);
	if (orig_data(self, TR_NM_KEY_CA))
		nma_cert_chooser_set_cert(NMA_CERT_CHOOSER(self->ca), orig_data(self, TR_NM_KEY_CA),
		                          NM_SETTING_802_1X_CK_SCHEME_PATH);
	g_signal_connect(self->ca, "changed", G_CALLBACK(on_changed), self);
	nma_cert_chooser_add_to_size_group(NMA_CERT_CHOOSER(self->ca), self->labels);
	add_wide(grid, row++, self->ca, "ca");

	self->user_cert = nma_cert_chooser_new(
	        "Client", NMA_CERT_CHOOSER_FLAG_PEM | NMA_CERT_CHOOSER_FLAG_NO_PASSWORDS);
	if (orig_data(self, TR_NM_KEY_CERT))
		nma_cert_chooser_set_cert(NMA_CERT_CHOOSER(self->user_cert),
		                          orig_data(self, TR_NM_KEY_CERT),
		                          NM_SETTING_802_1X_CK_SCHEME_PATH);
	if (orig_data(self, TR_NM_KEY_KEY))
		nma_cert_chooser_set_key(NMA_CERT_CHOOSER(self->user_cert),
		                         orig_data(self, TR_NM_KEY_KEY),
		                         NM_SETTING_802_1X_CK_SCHEME_PATH);
	g_signal_connect(self->user_cert, "changed", G_CALLBACK(on_changed), self);
	nma_cert_chooser_add_to_size_group(NMA_CERT_CHOOSER(self->user_cert), self->labels);
	add_wide(grid, row++, self->user_cert, "cert");

	self->shared_key =
	        add_row(grid, row++, "Shared _key:", new_secret_entry(self, TR_NM_KEY_SHARED_KEY),
	                "shared-key");
	self->username =
	        add_row(grid, row++,
	                "_Username:", new_entry(self, orig_data(self, TR_NM_KEY_USERNAME), NULL),
	                "username");
	self->password = add_row(
	        grid, row++, "_Password:", new_secret_entry(self, TR_NM_KEY_PASSWORD), "password");

	/* Advanced: a window of its own, as other VPN plugins have: the form
	 * stays short enough for the hosts' fixed-size pages. */
	{
		GtkWidget *button = gtk_button_new_with_mnemonic("A_dvanced…");
		gtk_widget_set_name(button, "advanced");
		gtk_widget_set_halign(button, GTK_ALIGN_END);
		g_signal_connect(button, "clicked", G_CALLBACK(on_advanced), self);
		tr_box_add(self->widget, button);
	}
	self->advanced = new_advanced_window(self, &adv);
	row = 0;
	self->cipher =
	        add_row(adv, row++, "Ci_pher:", new_combo(self, cipher_items, cipher), "cipher");
	self->compression =
	        add_row(adv, row++, "C_ompression:",
	                new_combo(self, compression_items,
	                          g_strcmp0(orig_data(self, "compression"), "lzo") == 0),
	                "compression");
	self->compression_warning = gtk_label_new(
	        "Compressing before encrypting lets an observer learn about what is sent from the "
	        "size of the packets. Use it only for traffic that carries no secrets.");
	tr_label_set_wrap(self->compression_warning, TRUE);
	gtk_label_set_xalign(GTK_LABEL(self->compression_warning), 0.0);
	gtk_label_set_max_width_chars(GTK_LABEL(self->compression_warning), 50);
	tr_add_class(self->compression_warning, "warning");
	gtk_widget_set_name(self->compression_warning, "compression-warning");
	gtk_grid_attach(GTK_GRID(adv), self->compression_warning, 1, row++, 1, 1);
	self->mtu =
	        add_row(adv, row++, "_MTU:",
	                new_spin(self, 576, 65535,
	                         mtu ? g_ascii_strtod(mtu, NULL)
	                             : DEFAULT_MTU(g_strcmp0(orig_data(self, "type"), "tap") == 0)),
	                "mtu");
	gtk_widget_set_tooltip_text(self->mtu, "The largest tunnel MTU to accept from the hub");
	self->port =
	        add_row(adv, row++, "Po_rt:", new_spin(self, 1, 65535, TR_DEFAULT_PORT), "port");
	gtk_widget_set_tooltip_text(self->port, "For hubs given without a port");
	self->type =
	        add_row(adv, row++, "Device _type:",
	                new_combo(self, type_items, g_strcmp0(orig_data(self, "type"), "tap") == 0),
	                "type");

	self->error_label = gtk_label_new(NULL);
	tr_label_set_wrap(self->error_label, TRUE);
	gtk_label_set_xalign(GTK_LABEL(self->error_label), 0.0);
	gtk_widget_set_name(self->error_label, "error");
	tr_add_class(self->error_label, "error");
	tr_box_add(self->widget, self->error_label);

	tr_show_all(self->widget);
#if !GTK_CHECK_VERSION(4, 0, 0)
	gtk_widget_show_all(gtk_bin_get_child(GTK_BIN(self->advanced)));
#endif
	/* The rows the form shows and hides itself, whatever the host does. */
	{
		GtkWidget *toggled[] = {
		        self->ca,       self->user_cert,           self->shared_key, self->username,
		        self->password, self->compression_warning, self->error_label};
		for (guint i = 0; i < G_N_ELEMENTS(toggled); i++) {
			GtkWidget *label = g_object_get_data(G_OBJECT(toggled[i]), "tr-label");
			tr_no_show_all(toggled[i]);
			if (label)
				tr_no_show_all(label);
		}
	}
	gtk_widget_set_visible(self->error_label, FALSE);
	self->built = TRUE;
	update_visibility(self);
}

/* ---- Form -> connection ---------------------------------------------------------- */

static GtkWidget *
widget_for(TrNmEditor *self, const char *key)
{
	static const struct {
		const char *key;
		size_t offset;
	} map[] = {
	        {TR_NM_KEY_CONNECT, G_STRUCT_OFFSET(TrNmEditor, hubs)},
	        {TR_NM_KEY_SERVER_NAME, G_STRUCT_OFFSET(TrNmEditor, server_name)},
	        {TR_NM_KEY_CA, G_STRUCT_OFFSET(TrNmEditor, ca)},
	        {TR_NM_KEY_CERT, G_STRUCT_OFFSET(TrNmEditor, user_cert)},
	        {TR_NM_KEY_KEY, G_STRUCT_OFFSET(TrNmEditor, user_cert)},
	        {TR_NM_KEY_SHARED_KEY, G_STRUCT_OFFSET(TrNmEditor, shared_key)},
	        {TR_NM_KEY_USERNAME, G_STRUCT_OFFSET(TrNmEditor, username)},
	        {"crypto", G_STRUCT_OFFSET(TrNmEditor, cipher)},
	        {"compression", G_STRUCT_OFFSET(TrNmEditor, compression)},
	        {"mtu", G_STRUCT_OFFSET(TrNmEditor, mtu)},
	        {"type", G_STRUCT_OFFSET(TrNmEditor, type)},
	};

	for (guint i = 0; key && i < G_N_ELEMENTS(map); i++)
		if (strcmp(map[i].key, key) == 0)
			return G_STRUCT_MEMBER(GtkWidget *, self, map[i].offset);
	/* A key this form does not show, or a missing one: the hubs, or the
	 * message alone. */
	return key == NULL ? self->hubs : NULL;
}

static void
clear_mark(TrNmEditor *self)
{
	if (self->marked) {
		tr_remove_class(self->marked, "error");
		gtk_widget_set_tooltip_text(
		        self->marked, g_object_get_data(G_OBJECT(self->marked), "tr-tooltip"));
		self->marked = NULL;
	}
	gtk_widget_set_visible(self->error_label, FALSE);
}

static void
mark(TrNmEditor *self, const char *key, const char *message)
{
	GtkWidget *w = widget_for(self, key);

	clear_mark(self);
	if (w) {
		if (g_object_get_data(G_OBJECT(w), "tr-tooltip") == NULL)
			g_object_set_data_full(G_OBJECT(w), "tr-tooltip", tr_dup_tooltip(w),
			                       g_free);
		tr_add_class(w, "error");
		gtk_widget_set_tooltip_text(w, message);
		self->marked = w;
	}
	gtk_label_set_text(GTK_LABEL(self->error_label), message);
	gtk_widget_set_visible(self->error_label, TRUE);
}

static void
set_data(NMSettingVpn *s, const char *key, const char *value)
{
	if (value && *value)
		nm_setting_vpn_add_data_item(s, key, value);
}

static void
save_secret(TrNmEditor *self, NMSettingVpn *s, GtkWidget *entry, const char *key)
{
	NMSettingSecretFlags flags = nma_utils_menu_to_secret_flags(entry);
	g_autofree char *flags_key = g_strconcat(key, "-flags", NULL);
	const char *text = tr_entry_get_text(entry);

	/* "Saved for all users" is the default: written only if it was there. */
	if (flags != NM_SETTING_SECRET_FLAG_NONE || orig_data(self, flags_key))
		nm_setting_set_secret_flags(NM_SETTING(s), key, flags, NULL);
	if (!(flags & (NM_SETTING_SECRET_FLAG_NOT_SAVED | NM_SETTING_SECRET_FLAG_NOT_REQUIRED)) &&
	    text && *text)
		nm_setting_vpn_add_secret(s, key, text);
}

static char *
connect_value(TrNmEditor *self)
{
	g_auto(GStrv) hubs = g_regex_split_simple("[\\s,;]+", tr_entry_get_text(self->hubs), 0, 0);
	guint port = (guint)gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(self->port));
	GString *out = g_string_new(NULL);

	for (guint i = 0; hubs[i]; i++) {
		g_autofree char *hub = NULL;
		g_autofree char *e = NULL;

		if (!*hubs[i])
			continue;
		hub = port != TR_DEFAULT_PORT && !has_port(hubs[i])
		              ? g_strdup_printf("%s:%u", hubs[i], port)
		              : g_strdup(hubs[i]);
		e = tr_nm_value_escape(hub, TRUE);
		if (out->len)
			g_string_append_c(out, ';');
		g_string_append(out, e);
	}
	return g_string_free(out, FALSE);
}

static gboolean
check_form(TrNmEditor *self, NMSettingVpn *s, const char **bad_key, GError **error)
{
	int mode = auth_mode(self);
	NMSettingSecretFlags flags;

	if ((mode == AUTH_SHARED_KEY || mode == AUTH_SHARED_KEY_PASSWORD) &&
	    !nm_setting_vpn_get_secret(s, TR_NM_KEY_SHARED_KEY)) {
		flags = nma_utils_menu_to_secret_flags(self->shared_key);
		if (flags == NM_SETTING_SECRET_FLAG_NONE) {
			*bad_key = TR_NM_KEY_SHARED_KEY;
			g_set_error(error, NM_CONNECTION_ERROR,
			            NM_CONNECTION_ERROR_INVALID_PROPERTY,
			            "shared-key: type the network's shared key, or choose to be "
			            "asked for it");
			return FALSE;
		}
	}
	if ((mode == AUTH_CERT_PASSWORD || mode == AUTH_SHARED_KEY_PASSWORD) &&
	    !nm_setting_vpn_get_data_item(s, TR_NM_KEY_USERNAME)) {
		*bad_key = TR_NM_KEY_USERNAME;
		g_set_error(error, NM_CONNECTION_ERROR, NM_CONNECTION_ERROR_INVALID_PROPERTY,
		            "username: the hub asks for a username and password");
		return FALSE;
	}
	return tr_nm_validate(s, bad_key, error);
}

static gboolean
update_connection(NMVpnEditor *editor, NMConnection *connection, GError **error)
{
	TrNmEditor *self = (TrNmEditor *)editor;
	NMSettingVpn *s = NM_SETTING_VPN(nm_setting_vpn_new());
	int mode = auth_mode(self);
	g_autofree char *connect = connect_value(self);
	g_autoptr(GError) err = NULL;
	const char *bad_key = NULL;
	int cipher = gtk_combo_box_get_active(GTK_COMBO_BOX(self->cipher));
	int mtu = gtk_spin_button_get_value_as_int(GTK_SPIN_BUTTON(self->mtu));

	g_object_set(s, NM_SETTING_VPN_SERVICE_TYPE, TR_NM_SERVICE, NULL);
	if (self->orig) {
		g_autofree const char **keys = NULL;
		guint n = 0;

		keys = nm_setting_vpn_get_data_keys(self->orig, &n);
		for (guint i = 0; i < n; i++)
			if (!g_strv_contains(edited_keys, keys[i]))
				nm_setting_vpn_add_data_item(
				        s, keys[i],
				        nm_setting_vpn_get_data_item(self->orig, keys[i]));
	}
	set_data(s, TR_NM_KEY_CONNECT, connect);
	set_data(s, TR_NM_KEY_SERVER_NAME, tr_entry_get_text(self->server_name));
	if (mode == AUTH_CERT || mode == AUTH_CERT_PASSWORD) {
		NMSetting8021xCKScheme scheme = NM_SETTING_802_1X_CK_SCHEME_UNKNOWN;
		g_autofree char *ca =
		        nma_cert_chooser_get_cert(NMA_CERT_CHOOSER(self->ca), &scheme);
		g_autofree char *cert = NULL;
		g_autofree char *key = NULL;

		set_data(s, TR_NM_KEY_CA, ca);
		cert = nma_cert_chooser_get_cert(NMA_CERT_CHOOSER(self->user_cert), &scheme);
		set_data(s, TR_NM_KEY_CERT, cert);
		key = nma_cert_chooser_get_key(NMA_CERT_CHOOSER(self->user_cert), &scheme);
		set_data(s, TR_NM_KEY_KEY, key);
	} else {
		save_secret(self, s, self->shared_key, TR_NM_KEY_SHARED_KEY);
	}
	if (mode == AUTH_CERT_PASSWORD || mode == AUTH_SHARED_KEY_PASSWORD) {
		set_data(s, TR_NM_KEY_USERNAME, tr_entry_get_text(self->username));
		save_secret(self, s, self->password, TR_NM_KEY_PASSWORD);
	}
	if (cipher == CIPHER_AES)
		set_data(s, "crypto", "aes256-gcm");
	else if (cipher == CIPHER_CHACHA)
		set_data(s, "crypto", "chacha20-poly1305");
	else if (cipher == CIPHER_OTHER)
		set_data(s, "crypto", self->other_cipher);
	if (gtk_combo_box_get_active(GTK_COMBO_BOX(self->compression)) == 1)
		set_data(s, "compression", "lzo");
	if (mtu != (int)DEFAULT_MTU(gtk_combo_box_get_active(GTK_COMBO_BOX(self->type)) == 1) ||
	    orig_data(self, "mtu")) {
		g_autofree char *v = g_strdup_printf("%d", mtu);
		set_data(s, "mtu", v);
	}
	if (gtk_combo_box_get_active(GTK_COMBO_BOX(self->type)) == 1)
		set_data(s, "type", "tap");

	if (!check_form(self, s, &bad_key, &err)) {
		mark(self, bad_key, err->message);
		g_propagate_error(error, g_steal_pointer(&err));
		g_object_unref(s);
		return FALSE;
	}
	clear_mark(self);
	nm_connection_add_setting(connection, NM_SETTING(s));
	return TRUE;
}

static GObject *
get_widget(NMVpnEditor *editor)
{
	return G_OBJECT(((TrNmEditor *)editor)->widget);
}

static void
tr_nm_editor_init(TrNmEditor *self)
{
}

static void
tr_nm_editor_dispose(GObject *object)
{
	TrNmEditor *self = (TrNmEditor *)object;

	if (self->advanced) {
		tr_window_destroy(self->advanced);
		self->advanced = NULL;
	}
	g_clear_object(&self->widget);
	g_clear_object(&self->labels);
	g_clear_object(&self->orig);
	g_clear_pointer(&self->other_cipher, g_free);
	G_OBJECT_CLASS(tr_nm_editor_parent_class)->dispose(object);
}

static void
tr_nm_editor_class_init(TrNmEditorClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = tr_nm_editor_dispose;
}

static void
tr_nm_editor_interface_init(NMVpnEditorInterface *iface)
{
	iface->get_widget = get_widget;
	iface->update_connection = update_connection;
}

G_MODULE_EXPORT NMVpnEditor *
tr_nm_editor_new(NMVpnEditorPlugin *plugin, NMConnection *connection, GError **error)
{
	TrNmEditor *self = g_object_new(tr_nm_editor_get_type(), NULL);
	NMSettingVpn *s_vpn = connection ? nm_connection_get_setting_vpn(connection) : NULL;

	if (s_vpn)
		self->orig = NM_SETTING_VPN(nm_setting_duplicate(NM_SETTING(s_vpn)));
	build(self);
	return NM_VPN_EDITOR(self);
}
