/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common/daemon/bus.h"

#include "common/daemon/bus-auth.h"
#include "common/base/error.h"
#include "common/base/log.h"
#include "tr-config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef G_OS_WIN32
#include "platform/windows/files.h"

/*
 * Windows: D-Bus's own Windows transport, nonce-tcp on 127.0.0.1. A client
 * must first send the 16 random bytes of the server's nonce file, which
 * GDBus writes to the daemon's temporary directory (for a service,
 * C:\Windows\Temp). The "socket" file in the control directory holds the
 * address. Who may read both is who may use the daemon: SYSTEM, the
 * Administrators and the members of the Trellis Users group, when it exists
 * (platform/windows/access.h); the nonce file gets that ACL explicitly,
 * whatever its directory's. GDBus cannot learn a peer's identity on Windows
 * (EXTERNAL always fails), so past the nonce the server takes ANONYMOUS
 * authentication. (AF_UNIX sockets exist since Windows 10 1803 but not in
 * wine, where this is tested.)
 */
#define SERVER_FLAGS         G_DBUS_SERVER_FLAGS_AUTHENTICATION_ALLOW_ANONYMOUS
#define SERVER_ADDRESS(path) g_strdup("nonce-tcp:host=127.0.0.1")

/* The nonce file named in a nonce-tcp @address, or NULL. */
static char *
nonce_file_of(const char *address)
{
	const char *p = strstr(address, "noncefile=");
	g_autofree char *escaped = NULL;

	if (p == NULL)
		return NULL;
	p += strlen("noncefile=");
	escaped = g_strndup(p, strcspn(p, ",;"));
	return g_uri_unescape_string(escaped, NULL);
}

/* The address into the control file, the nonce file given the same ACL. */
static gboolean
write_client_address(const char *path, const char *address, GError **error)
{
	g_autofree char *nonce = nonce_file_of(address);
	bool group = false;
	int fd, rc;

	if (nonce == NULL) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "no nonce file in the address %s",
		            address);
		return FALSE;
	}
	rc = tr_win_protect_control_file(nonce, &group);
	if (rc < 0) {
		tr_set_error_errno(error, -rc, "cannot set the ACL of the nonce file %s", nonce);
		return FALSE;
	}
	g_unlink(path);
	fd = tr_win_create_control_file(path, &group);
	if (fd < 0 || write(fd, address, (unsigned)strlen(address)) != (int)strlen(address)) {
		tr_set_error_errno(error, fd < 0 ? -fd : errno, "cannot write %s", path);
		if (fd >= 0)
			close(fd);
		return FALSE;
	}
	close(fd);
	{
		char name[512];
		tr_win_users_group_utf8(name, sizeof(name));
		if (group)
			g_message(
			        "control: SYSTEM, the Administrators and the group '%s' may use it",
			        name);
		else
			g_message("control: SYSTEM and the Administrators only (there is no group "
			          "'%s': docs/WINDOWS.md, \"Who may use it\")",
			          name);
	}
	return TRUE;
}
#else
#define SERVER_FLAGS         G_DBUS_SERVER_FLAGS_NONE
#define SERVER_ADDRESS(path) g_strdup_printf("unix:path=%s", path)
#endif

static const char introspection_xml[] =
        "<node>"
        "  <interface name='" TR_BUS_INTERFACE "'>"
        "    <method name='GetStatus'><arg type='s' name='json' direction='out'/></method>"
        "    <method name='GetLog'>"
        "      <arg type='u' name='max' direction='in'/>"
        "      <arg type='as' name='lines' direction='out'/>"
        "    </method>"
        "    <method name='Reload'/>"
        "    <method name='SetPassword'><arg type='s' name='password' direction='in'/></method>"
        "    <method name='Connect'/>"
        "    <method name='Disconnect'><arg type='s' name='who' direction='in'/></method>"
        "    <signal name='StateChanged'><arg type='s' name='state'/></signal>"
        "    <signal name='PeersChanged'/>"
        "    <signal name='Error'>"
        "      <arg type='s' name='kind'/><arg type='s' name='message'/>"
        "    </signal>"
        "    <property name='Network' type='s' access='read'/>"
        "    <property name='LastError' type='(ss)' access='read'/>"
        "    <property name='Role' type='s' access='read'/>"
        "    <property name='Version' type='s' access='read'/>"
        "    <property name='State' type='s' access='read'/>"
        "  </interface>"
        "</node>";

struct _TrBus {
	char *role;
	char *socket_path;
	TrBusOps ops;
	gpointer user_data;
	GDBusNodeInfo *info;
	GDBusServer *server;
	GDBusAuthObserver *observer;
	GPtrArray *connections; /* GDBusConnection with our object registered */
	GDBusConnection *system_bus;
	guint system_reg, system_name;
	char *network;     /* the name on the system bus: the config file's */
	char *object_path; /* on the system bus: TR_BUS_PATH/ESCAPED-NETWORK */
	char *error_kind, *error_message;
	GPtrArray *pending; /* PendingCall: asked polkit, no answer yet */
};

/* A method that changes the daemon, once allowed. */
static void
run_method(TrBus *c, const char *method, GVariant *params, GDBusMethodInvocation *inv)
{
	g_autoptr(GError) error = NULL;
	gboolean ok;

	if (g_strcmp0(method, "Reload") == 0) {
		ok = c->ops.reload == NULL || c->ops.reload(c->user_data, &error);
	} else if (g_strcmp0(method, "Connect") == 0) {
		if (c->ops.connect == NULL) {
			g_dbus_method_invocation_return_error(inv, G_DBUS_ERROR,
			                                      G_DBUS_ERROR_NOT_SUPPORTED,
			                                      "a %s does not connect", c->role);
			return;
		}
		ok = c->ops.connect(c->user_data, &error);
	} else if (g_strcmp0(method, "SetPassword") == 0) {
		const char *password;
		g_variant_get(params, "(&s)", &password);
		if (c->ops.set_password == NULL) {
			g_dbus_method_invocation_return_error(
			        inv, G_DBUS_ERROR, G_DBUS_ERROR_NOT_SUPPORTED,
			        "this %s does not take a password over the bus (ask-password)",
			        c->role);
			return;
		}
		ok = c->ops.set_password(c->user_data, password, &error);
	} else {
		const char *who;
		g_variant_get(params, "(&s)", &who);
		ok = c->ops.disconnect && c->ops.disconnect(c->user_data, who, &error);
	}
	if (!ok) {
		g_dbus_method_invocation_return_error_literal(
		        inv, G_DBUS_ERROR, G_DBUS_ERROR_FAILED,
		        error ? error->message : "not supported");
		return;
	}
	g_dbus_method_invocation_return_value(inv, NULL);
}

typedef struct {
	TrBus *bus;
	GDBusMethodInvocation *inv;
	char *method;
	GVariant *params;
} PendingCall;

static void
on_authorized(gboolean allowed, const GError *error, gpointer p)
{
	PendingCall *call = p;

	if (call->bus == NULL)
		g_dbus_method_invocation_return_error_literal(call->inv, G_DBUS_ERROR,
		                                              G_DBUS_ERROR_FAILED,
		                                              "the daemon is shutting down");
	else if (allowed)
		run_method(call->bus, call->method, call->params, call->inv);
	else
		g_dbus_method_invocation_return_error_literal(
		        call->inv, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED, error->message);
	if (call->bus)
		g_ptr_array_remove(call->bus->pending, call);
	g_object_unref(call->inv);
	g_variant_unref(call->params);
	g_free(call->method);
	g_free(call);
}

static const char *
method_action(const char *method)
{
	/* A password is handed over to connect with it. */
	if (g_strcmp0(method, "Connect") == 0 || g_strcmp0(method, "SetPassword") == 0)
		return TR_ACTION_CONNECT;
	if (g_strcmp0(method, "Disconnect") == 0)
		return TR_ACTION_DISCONNECT;
	if (g_strcmp0(method, "Reload") == 0)
		return TR_ACTION_RELOAD;
	return NULL;
}

static void
on_method(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
          const char *method, GVariant *params, GDBusMethodInvocation *inv, gpointer p)
{
	TrBus *c = p;
	const char *action = method_action(method);

	if (g_strcmp0(method, "GetStatus") == 0) {
		g_autofree char *json = c->ops.status_json(c->user_data);
		g_dbus_method_invocation_return_value(inv, g_variant_new("(s)", json));
		return;
	}
	if (g_strcmp0(method, "GetLog") == 0) {
		guint32 max;
		g_auto(GStrv) lines = NULL;
		g_variant_get(params, "(u)", &max);
		lines = tr_log_recent(MIN(max, 200));
		g_dbus_method_invocation_return_value(inv, g_variant_new("(^as)", lines));
		return;
	}
	if (action == NULL) {
		g_dbus_method_invocation_return_error(
		        inv, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD, "no method %s", method);
		return;
	}
	/* The private socket lets in only root and the daemon's own user; on
	 * the system bus anyone may call, so polkit decides, here. */
	if (conn == c->system_bus) {
		PendingCall *call = g_new0(PendingCall, 1);
		call->bus = c;
		call->inv = g_object_ref(inv);
		call->method = g_strdup(method);
		call->params = g_variant_ref(params);
		g_ptr_array_add(c->pending, call);
		tr_bus_authorize(inv, action, c->network, on_authorized, call);
		return;
	}
	run_method(c, method, params, inv);
}

static GVariant *
on_get_property(GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                const char *prop, GError **error, gpointer p)
{
	TrBus *c = p;

	if (g_strcmp0(prop, "Role") == 0)
		return g_variant_new_string(c->role);
	if (g_strcmp0(prop, "Version") == 0)
		return g_variant_new_string(TR_VERSION);
	if (g_strcmp0(prop, "State") == 0)
		return g_variant_new_string(c->ops.state(c->user_data));
	if (g_strcmp0(prop, "Network") == 0)
		return g_variant_new_string(c->network ? c->network : "");
	if (g_strcmp0(prop, "LastError") == 0)
		return g_variant_new("(ss)", c->error_kind ? c->error_kind : "",
		                     c->error_message ? c->error_message : "");
	g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no property %s", prop);
	return NULL;
}

static const GDBusInterfaceVTable vtable = {on_method, on_get_property, NULL};

static void
on_connection_closed(GDBusConnection *conn, gboolean remote, GError *error, gpointer p)
{
	TrBus *c = p;
	g_ptr_array_remove(c->connections, conn);
}

static gboolean
on_new_connection(GDBusServer *server, GDBusConnection *conn, gpointer p)
{
	TrBus *c = p;
	g_autoptr(GError) error = NULL;

	if (g_dbus_connection_register_object(conn, TR_BUS_PATH, c->info->interfaces[0], &vtable, c,
	                                      NULL, &error) == 0) {
		g_warning("control: %s", error->message);
		return FALSE;
	}
	g_ptr_array_add(c->connections, g_object_ref(conn));
	g_signal_connect(conn, "closed", G_CALLBACK(on_connection_closed), c);
	return TRUE;
}

/* Only root and the daemon's own user (the socket is 0600 as well). */
static gboolean
on_authorize(GDBusAuthObserver *obs, GIOStream *stream, GCredentials *creds, gpointer p)
{
#ifdef G_OS_WIN32
	return TRUE; /* the nonce file's ACL decided (see SERVER_FLAGS) */
#else
	uid_t uid;

	if (creds == NULL)
		return FALSE;
	uid = g_credentials_get_unix_user(creds, NULL);
	return uid == 0 || uid == getuid();
#endif
}

const char *
tr_bus_dir(void)
{
	const char *dir = g_getenv("TRELLIS_CONTROL_DIR");

	return dir && *dir ? dir : TR_RUNSTATEDIR;
}

char *
tr_bus_default_socket(const char *program, const char *name)
{
	g_autofree char *file = name ? g_strdup_printf("%s-%s.sock", program, name)
	                             : g_strdup_printf("%s.%d.sock", program, (int)getpid());
	return g_build_filename(tr_bus_dir(), file, NULL);
}

TrBus *
tr_bus_new(const char *role, const char *socket_path, const TrBusOps *ops, gpointer user_data,
           GError **error)
{
	TrBus *c = g_new0(TrBus, 1);
	g_autofree char *guid = g_dbus_generate_guid();
	g_autofree char *address = NULL;
	g_autofree char *dir = g_path_get_dirname(socket_path);

	c->role = g_strdup(role);
	c->socket_path = g_strdup(socket_path);
	c->ops = *ops;
	c->user_data = user_data;
	c->connections = g_ptr_array_new_with_free_func(g_object_unref);
	c->pending = g_ptr_array_new();
	c->info = g_dbus_node_info_new_for_xml(introspection_xml, error);
	if (c->info == NULL)
		goto fail;
#ifdef G_OS_WIN32
	{
		g_autofree char *parent = g_path_get_dirname(dir);
		bool group = false;
		int rc = g_mkdir_with_parents(parent, 0755) < 0 ? -errno
		                                                : tr_win_mkdir_control(dir, &group);
		if (rc < 0 && rc != -EEXIST) {
			tr_set_error_errno(error, -rc, "cannot create %s", dir);
			goto fail;
		}
	}
#else
	if (g_mkdir_with_parents(dir, 0755) < 0) {
		tr_set_error_errno(error, errno, "cannot create %s", dir);
		goto fail;
	}
#endif
	/* A socket left by a daemon that died: nobody listens on it. */
	if (g_file_test(socket_path, G_FILE_TEST_EXISTS)) {
		g_autoptr(GError) probe = NULL;
		g_autofree char *status = tr_bus_get_status(socket_path, &probe);
		if (status != NULL) {
			g_set_error(error, TR_ERROR, TR_ERROR_EXISTS,
			            "another daemon already serves %s (use --control-socket)",
			            socket_path);
			goto fail;
		}
		g_unlink(socket_path);
	}
	address = SERVER_ADDRESS(socket_path);
	c->observer = g_dbus_auth_observer_new();
	g_signal_connect(c->observer, "authorize-authenticated-peer", G_CALLBACK(on_authorize), c);
	{
		/* Born 0600: no window in which others could connect. */
		mode_t old = umask(0077);
		c->server = g_dbus_server_new_sync(address, SERVER_FLAGS, guid, c->observer, NULL,
		                                   error);
		umask(old);
	}
	if (c->server == NULL)
		goto fail;
#ifdef G_OS_WIN32
	if (!write_client_address(socket_path, g_dbus_server_get_client_address(c->server), error))
		goto fail;
#else
	if (g_chmod(socket_path, 0600) < 0) {
		tr_set_error_errno(error, errno, "chmod %s", socket_path);
		goto fail;
	}
#endif
	g_signal_connect(c->server, "new-connection", G_CALLBACK(on_new_connection), c);
	g_dbus_server_start(c->server);
	return c;
fail:
	g_prefix_error(error, "control socket: ");
	tr_bus_free(c);
	return NULL;
}

char *
tr_bus_name(const char *network)
{
	g_autofree char *escaped = g_dbus_escape_object_path(network);

	/* A bus name element must not start with a digit: "n" first. */
	return g_strdup_printf("%s.n%s", TR_BUS_NAME, escaped);
}

char *
tr_bus_object_path(const char *network)
{
	g_autofree char *escaped = g_dbus_escape_object_path(network);

	return g_strdup_printf("%s/%s", TR_BUS_PATH, escaped);
}

/* Refused by the bus policy, or taken by another daemon of the same network. */
static void
on_name_lost(GDBusConnection *bus, const char *name, gpointer p)
{
	g_warning("cannot own %s on the system bus (another daemon runs this network, or the "
	          "bus policy org.trellisvpn.Daemon.conf does not let this user own it: it lets "
	          "root and _trellis): a tray cannot see this network",
	          name);
}

void
tr_bus_export_system_bus(TrBus *c, const char *network)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *name = tr_bus_name(network);

	c->network = g_strdup(network);
	c->object_path = tr_bus_object_path(network);
	c->system_bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
	if (c->system_bus == NULL) {
		g_message("no system bus (%s): control over %s only", error->message,
		          c->socket_path);
		return;
	}
	c->system_reg = g_dbus_connection_register_object(
	        c->system_bus, c->object_path, c->info->interfaces[0], &vtable, c, NULL, &error);
	if (c->system_reg == 0) {
		g_warning("cannot export the control interface on the system bus: %s",
		          error->message);
		return;
	}
	/* Each network its own name: a second daemon for the same network is
	 * refused the name rather than taking it over. */
	c->system_name = g_bus_own_name_on_connection(c->system_bus, name,
	                                              G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE, NULL,
	                                              on_name_lost, c, NULL);
	g_message("control: network %s on the system bus as %s %s", network, name, c->object_path);
}

/* @signal(@args) on every connection: the private socket's and the bus's;
 * @args is consumed. */
static void
emit(TrBus *c, const char *interface, const char *signal, GVariant *args)
{
	g_variant_ref_sink(args);
	for (guint i = 0; i < c->connections->len; i++)
		g_dbus_connection_emit_signal(c->connections->pdata[i], NULL, TR_BUS_PATH,
		                              interface, signal, args, NULL);
	if (c->system_reg)
		g_dbus_connection_emit_signal(c->system_bus, NULL, c->object_path, interface,
		                              signal, args, NULL);
	g_variant_unref(args);
}

static void
emit_property(TrBus *c, const char *name, GVariant *value)
{
	GVariantBuilder changed;

	g_variant_builder_init(&changed, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&changed, "{sv}", name, value);
	emit(c, "org.freedesktop.DBus.Properties", "PropertiesChanged",
	     g_variant_new("(sa{sv}as)", TR_BUS_INTERFACE, &changed, NULL));
}

void
tr_bus_state_changed(TrBus *c)
{
	const char *state;

	if (c == NULL)
		return;
	state = c->ops.state(c->user_data);
	emit(c, TR_BUS_INTERFACE, "StateChanged", g_variant_new("(s)", state));
	emit_property(c, "State", g_variant_new_string(state));
}

void
tr_bus_peers_changed(TrBus *c)
{
	if (c == NULL)
		return;
	emit(c, TR_BUS_INTERFACE, "PeersChanged", g_variant_new("()"));
}

void
tr_bus_error(TrBus *c, const char *kind, const char *message)
{
	if (c == NULL)
		return;
	g_free(c->error_kind);
	g_free(c->error_message);
	c->error_kind = g_strdup(kind);
	c->error_message = g_strdup(message);
	emit(c, TR_BUS_INTERFACE, "Error", g_variant_new("(ss)", kind, message));
	emit_property(c, "LastError", g_variant_new("(ss)", kind, message));
}

const char *
tr_bus_error_kind(const GError *error)
{
	if (error == NULL || error->domain != TR_ERROR)
		return "failed";
	switch ((TrError)error->code) {
	case TR_ERROR_AUTH:
		return "refused";
	case TR_ERROR_CONFIG:
	case TR_ERROR_INVALID:
		return "config";
	case TR_ERROR_NEGOTIATE:
		return "negotiate";
	case TR_ERROR_PROTOCOL:
		return "protocol";
	case TR_ERROR_TIMEOUT:
		return "timeout";
	case TR_ERROR_IO:
		return "network";
	case TR_ERROR_PERMISSION:
		return "permission";
	case TR_ERROR_NOT_FOUND:
		return "not-found";
	default:
		return "failed";
	}
}

void
tr_bus_free(TrBus *c)
{
	if (c == NULL)
		return;
	if (c->server) {
		g_dbus_server_stop(c->server);
		g_object_unref(c->server);
		g_unlink(c->socket_path);
	}
	/* The last Error or StateChanged must reach the bus before we go. */
	if (c->system_bus)
		g_dbus_connection_flush_sync(c->system_bus, NULL, NULL);
	if (c->system_name)
		g_bus_unown_name(c->system_name);
	if (c->system_reg)
		g_dbus_connection_unregister_object(c->system_bus, c->system_reg);
	g_clear_object(&c->system_bus);
	g_clear_object(&c->observer);
	g_ptr_array_unref(c->connections);
	/* polkit answers later: the calls then see no daemon. */
	for (guint i = 0; i < c->pending->len; i++)
		((PendingCall *)c->pending->pdata[i])->bus = NULL;
	g_ptr_array_unref(c->pending);
	if (c->info)
		g_dbus_node_info_unref(c->info);
	g_free(c->socket_path);
	g_free(c->role);
	g_free(c->network);
	g_free(c->object_path);
	g_free(c->error_kind);
	g_free(c->error_message);
	g_free(c);
}

char *
tr_bus_address(const char *socket_path, GError **error)
{
#ifdef G_OS_WIN32
	/* The address the daemon wrote into its control file. */
	g_autofree char *text = NULL;

	if (!g_file_get_contents(socket_path, &text, NULL, error))
		return NULL;
	return g_strdup(g_strstrip(text));
#else
	return g_strdup_printf("unix:path=%s", socket_path);
#endif
}

char *
tr_bus_get_status(const char *socket_path, GError **error)
{
	g_autofree char *address = tr_bus_address(socket_path, error);
	g_autoptr(GDBusConnection) conn = NULL;
	g_autoptr(GVariant) reply = NULL;
	char *json = NULL;

	if (address == NULL)
		return NULL;
	conn = g_dbus_connection_new_for_address_sync(
	        address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL, error);
	if (conn == NULL)
		return NULL;
	reply = g_dbus_connection_call_sync(conn, NULL, TR_BUS_PATH, TR_BUS_INTERFACE, "GetStatus",
	                                    NULL, G_VARIANT_TYPE("(s)"), G_DBUS_CALL_FLAGS_NONE,
	                                    5000, NULL, error);
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(s)", &json);
	return json;
}
