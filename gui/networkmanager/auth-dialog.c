/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nm-trellis-auth-dialog: asks for a Trellis connection's secrets (the
 * password, or the shared key) for NetworkManager's secret agents (nm-applet,
 * GNOME Shell, nmcli --ask), in NetworkManager's auth-dialog protocol:
 *
 *   nm-trellis-auth-dialog -u UUID -n NAME -s SERVICE [-i] [-r] [-t HINT]...
 *                          [--external-ui-mode]
 *   stdin:  DATA_KEY=k / DATA_VAL=v / SECRET_KEY=k / SECRET_VAL=v ... DONE
 *   stdout: "key\nvalue\n" per secret, then "\n\n"; then it waits for QUIT.
 *   --external-ui-mode: a [VPN Plugin UI] key file describing what to ask
 *   (GNOME Shell and nmcli ask themselves).
 *
 * Secrets an agent keeps (flag agent-owned) are looked up in the user's
 * keyring with libsecret, under NetworkManager's schema; the agent saves
 * what the user types.
 */
#include "tr-config.h"

#include "common/base/secret.h"
#include "gui/networkmanager/settings.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef TR_NM_HAVE_LIBSECRET
#include <libsecret/secret.h>
#endif
#ifdef TR_NM_HAVE_GTK
#include <gtk/gtk.h>
#include <nma-vpn-password-dialog.h>
#endif

#define UI_GROUP        "VPN Plugin UI"
#define HINT_MSG_PREFIX "x-vpn-message:"
#define QUIT_WAIT_S     20

typedef struct {
	const char *key;
	const char *label;
	gboolean needed;
	gboolean ask;   /* nothing usable yet, or a retry */
	char *existing; /* TrSecret */
	char *entered;  /* TrSecret */
} Secret;

#ifdef TR_NM_HAVE_LIBSECRET
static char *
keyring_lookup(const char *uuid, const char *key)
{
	static const SecretSchema schema = {
	        "org.freedesktop.NetworkManager.Connection",
	        SECRET_SCHEMA_DONT_MATCH_NAME,
	        {{"connection-uuid", SECRET_SCHEMA_ATTRIBUTE_STRING},
	         {"setting-name", SECRET_SCHEMA_ATTRIBUTE_STRING},
	         {"setting-key", SECRET_SCHEMA_ATTRIBUTE_STRING},
	         {NULL, 0}},
	};
	g_autoptr(GError) error = NULL;
	char *found;
	char *copy;

	/* No session bus, no keyring: do not let GLib autolaunch one. */
	if (g_getenv("DBUS_SESSION_BUS_ADDRESS") == NULL)
		return NULL;
	found = secret_password_lookup_sync(&schema, NULL, &error, "connection-uuid", uuid,
	                                    "setting-name", NM_SETTING_VPN_SETTING_NAME,
	                                    "setting-key", key, NULL);
	if (found == NULL)
		return NULL;
	copy = g_strdup(found);
	secret_password_free(found);
	return copy;
}
#else
static char *
keyring_lookup(const char *uuid, const char *key)
{
	return NULL;
}
#endif

static NMSettingSecretFlags
flags_of(GHashTable *data, const char *key)
{
	NMSettingSecretFlags flags = NM_SETTING_SECRET_FLAG_NONE;

	nm_vpn_service_plugin_get_secret_flags(data, key, &flags);
	return flags;
}

/* What this connection needs: from the hints when the service sent some,
 * else from its settings. */
static char *
required(GHashTable *data, char **hints, Secret *secrets, guint n)
{
	char *message = NULL;

	if (hints && hints[0]) {
		for (guint h = 0; hints[h]; h++) {
			if (message == NULL && g_str_has_prefix(hints[h], HINT_MSG_PREFIX))
				message = g_strdup(hints[h] + strlen(HINT_MSG_PREFIX));
			for (guint i = 0; i < n; i++)
				secrets[i].needed |= strcmp(hints[h], secrets[i].key) == 0;
		}
		return message;
	}
	secrets[0].needed = g_hash_table_lookup(data, TR_NM_KEY_USERNAME) != NULL;
	secrets[1].needed = g_hash_table_lookup(data, TR_NM_KEY_CERT) == NULL;
	for (guint i = 0; i < n; i++)
		if (flags_of(data, secrets[i].key) & NM_SETTING_SECRET_FLAG_NOT_REQUIRED)
			secrets[i].needed = FALSE;
	return NULL;
}

static void
find_existing(GHashTable *data, GHashTable *stored, const char *uuid, gboolean retry,
              Secret *secrets, guint n)
{
	for (guint i = 0; i < n; i++) {
		NMSettingSecretFlags flags = flags_of(data, secrets[i].key);
		const char *v;

		if (!secrets[i].needed)
			continue;
		/* "Ask every time": nothing kept is used. */
		if (!(flags & NM_SETTING_SECRET_FLAG_NOT_SAVED)) {
			v = g_hash_table_lookup(stored, secrets[i].key);
			if (v && *v)
				secrets[i].existing = g_strdup(v);
			else if (flags & NM_SETTING_SECRET_FLAG_AGENT_OWNED)
				secrets[i].existing = keyring_lookup(uuid, secrets[i].key);
		}
		secrets[i].ask = secrets[i].existing == NULL || retry;
	}
}

static void
external_ui(const char *name, const char *message, gboolean allow_interaction, Secret *secrets,
            guint n)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *text = NULL;
	g_autofree char *description =
	        message ? g_strdup(message)
	                : g_strdup_printf("You need to authenticate to access the Virtual Private "
	                                  "Network “%s”.",
	                                  name);

	g_key_file_set_integer(kf, UI_GROUP, "Version", 2);
	g_key_file_set_string(kf, UI_GROUP, "Description", description);
	g_key_file_set_string(kf, UI_GROUP, "Title", "Authenticate VPN");
	for (guint i = 0; i < n; i++) {
		if (!secrets[i].needed)
			continue;
		g_key_file_set_string(kf, secrets[i].key, "Value",
		                      secrets[i].existing ? secrets[i].existing : "");
		g_key_file_set_string(kf, secrets[i].key, "Label", secrets[i].label);
		g_key_file_set_boolean(kf, secrets[i].key, "IsSecret", TRUE);
		g_key_file_set_boolean(kf, secrets[i].key, "ShouldAsk",
		                       secrets[i].ask && allow_interaction);
	}
	text = g_key_file_to_data(kf, NULL, NULL);
	fputs(text, stdout);
	tr_secret_free(g_steal_pointer(&text));
}

#ifdef TR_NM_HAVE_GTK
static gboolean
ask_user(const char *name, const char *message, Secret *password, Secret *shared_key)
{
	g_autofree char *prompt =
	        message ? g_strdup(message)
	                : g_strdup_printf("You need to authenticate to access the Virtual Private "
	                                  "Network “%s”.",
	                                  name);
	NMAVpnPasswordDialog *dialog;
	gboolean ok;

	if (!gtk_init_check(NULL, NULL)) {
		g_printerr("nm-trellis-auth-dialog: no display to ask on\n");
		return FALSE;
	}
	dialog = NMA_VPN_PASSWORD_DIALOG(
	        nma_vpn_password_dialog_new("Authenticate VPN", prompt, NULL));
	nma_vpn_password_dialog_set_show_password(dialog, password->needed);
	nma_vpn_password_dialog_set_password_label(dialog, "_Password:");
	if (password->existing)
		nma_vpn_password_dialog_set_password(dialog, password->existing);
	nma_vpn_password_dialog_set_show_password_secondary(dialog, shared_key->needed);
	nma_vpn_password_dialog_set_password_secondary_label(dialog, "_Shared key:");
	if (shared_key->existing)
		nma_vpn_password_dialog_set_password_secondary(dialog, shared_key->existing);
	gtk_widget_show(GTK_WIDGET(dialog));
	ok = nma_vpn_password_dialog_run_and_block(dialog);
	if (ok) {
		if (password->needed)
			password->entered = g_strdup(nma_vpn_password_dialog_get_password(dialog));
		if (shared_key->needed)
			shared_key->entered =
			        g_strdup(nma_vpn_password_dialog_get_password_secondary(dialog));
	}
	gtk_widget_destroy(GTK_WIDGET(dialog));
	return ok;
}
#else
static gboolean
ask_user(const char *name, const char *message, Secret *password, Secret *shared_key)
{
	g_printerr("nm-trellis-auth-dialog: built without GTK, cannot show a dialog; "
	           "the agent can ask itself (--external-ui-mode), or keep the secret in the "
	           "connection\n");
	return FALSE;
}
#endif

/* The agent closes our stdin or writes QUIT when it has read the answer. */
static void
wait_for_quit(void)
{
	GString *got = g_string_new(NULL);
	time_t start = time(NULL);
	char c;

	while (time(NULL) < start + QUIT_WAIT_S) {
		ssize_t r = read(STDIN_FILENO, &c, 1);
		if (r == 1) {
			g_string_append_c(got, c);
			if (strstr(got->str, "QUIT") || got->len > 64)
				break;
		} else if (r == 0 || errno != EINTR) {
			break;
		}
	}
	g_string_free(got, TRUE);
}

int
main(int argc, char **argv)
{
	gboolean retry = FALSE, allow_interaction = FALSE, external = FALSE;
	g_autofree char *uuid = NULL, *name = NULL, *service = NULL, *message = NULL;
	g_auto(GStrv) hints = NULL;
	g_autoptr(GHashTable) data = NULL;
	g_autoptr(GHashTable) stored = NULL;
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	Secret secrets[] = {
	        {TR_NM_KEY_PASSWORD, "Password", FALSE, FALSE, NULL, NULL},
	        {TR_NM_KEY_SHARED_KEY, "Shared key", FALSE, FALSE, NULL, NULL},
	};
	const guint n = G_N_ELEMENTS(secrets);
	gboolean ask = FALSE, any = FALSE, cancelled = FALSE;
	const GOptionEntry entries[] = {
	        {"reprompt", 'r', 0, G_OPTION_ARG_NONE, &retry,
	         "Ask again (the last secrets were refused)", NULL},
	        {"uuid", 'u', 0, G_OPTION_ARG_STRING, &uuid, "UUID of the connection", "UUID"},
	        {"name", 'n', 0, G_OPTION_ARG_STRING, &name, "Name of the connection", "NAME"},
	        {"service", 's', 0, G_OPTION_ARG_STRING, &service, "VPN service type", "SERVICE"},
	        {"allow-interaction", 'i', 0, G_OPTION_ARG_NONE, &allow_interaction,
	         "The user may be asked", NULL},
	        {"external-ui-mode", 0, 0, G_OPTION_ARG_NONE, &external,
	         "Describe what to ask; the caller asks", NULL},
	        {"hint", 't', 0, G_OPTION_ARG_STRING_ARRAY, &hints, "Secrets the service asked for",
	         "HINT"},
	        {NULL},
	};

	setlocale(LC_ALL, "");
	context = g_option_context_new(NULL);
	g_option_context_set_summary(
	        context, "Asks for a Trellis VPN connection's secrets for NetworkManager's "
	                 "agents (stdin/stdout protocol).");
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		g_printerr("nm-trellis-auth-dialog: %s\n", error->message);
		return 1;
	}
	if (uuid == NULL || name == NULL || service == NULL) {
		g_printerr("nm-trellis-auth-dialog: the connection's UUID, name and service "
		           "(-u, -n, -s) are required\n");
		return 1;
	}
	if (strcmp(service, TR_NM_SERVICE) != 0) {
		g_printerr("nm-trellis-auth-dialog: service '%s' is not %s\n", service,
		           TR_NM_SERVICE);
		return 1;
	}
	if (!nm_vpn_service_plugin_read_vpn_details(STDIN_FILENO, &data, &stored)) {
		g_printerr("nm-trellis-auth-dialog: cannot read the data and secrets of '%s' "
		           "from stdin (DATA_KEY=/DATA_VAL=/SECRET_KEY=/SECRET_VAL= lines, then "
		           "DONE)\n",
		           name);
		return 1;
	}

	message = required(data, hints, secrets, n);
	find_existing(data, stored, uuid, retry, secrets, n);
	for (guint i = 0; i < n; i++) {
		any |= secrets[i].needed;
		ask |= secrets[i].needed && secrets[i].ask;
	}

	if (external) {
		external_ui(name, message, allow_interaction, secrets, n);
	} else {
		if (any && ask && allow_interaction)
			cancelled = !ask_user(name, message, &secrets[0], &secrets[1]);
		if (!cancelled) {
			for (guint i = 0; i < n; i++) {
				const char *v = secrets[i].entered ? secrets[i].entered
				                                   : secrets[i].existing;
				if (secrets[i].needed && v)
					printf("%s\n%s\n", secrets[i].key, v);
			}
			printf("\n\n");
			fflush(stdout);
			wait_for_quit();
		}
	}
	for (guint i = 0; i < n; i++) {
		tr_secret_free(secrets[i].existing);
		tr_secret_free(secrets[i].entered);
	}
	return cancelled ? 1 : 0;
}
