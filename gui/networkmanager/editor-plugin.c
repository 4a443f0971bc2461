/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libnm-vpn-plugin-trellis.so: what NetworkManager's clients (nmcli, GNOME
 * Settings, nm-connection-editor) load for a Trellis connection. Import,
 * export and the capabilities live here, GTK-free; the editor widget is in a
 * separate module for GTK 3 or GTK 4, loaded on demand from this module's
 * folder, so nmcli never pulls in a toolkit.
 */
#include "tr-config.h"

#include "gui/networkmanager/editor-module.h"
#include "gui/networkmanager/settings.h"

#include <dlfcn.h>
#include <string.h>

typedef struct {
	GObject parent;
} TrNmEditorPlugin;

typedef struct {
	GObjectClass parent;
} TrNmEditorPluginClass;

enum { PROP_0, PROP_NAME, PROP_DESC, PROP_SERVICE };

static void tr_nm_editor_plugin_interface_init(NMVpnEditorPluginInterface *iface);
static GType tr_nm_editor_plugin_get_type(void);

G_DEFINE_TYPE_EXTENDED(TrNmEditorPlugin, tr_nm_editor_plugin, G_TYPE_OBJECT, 0,
                       G_IMPLEMENT_INTERFACE(NM_TYPE_VPN_EDITOR_PLUGIN,
                                             tr_nm_editor_plugin_interface_init))

static NMConnection *
import_file(NMVpnEditorPlugin *plugin, const char *path, GError **error)
{
	return tr_nm_import(path, error);
}

static gboolean
export_file(NMVpnEditorPlugin *plugin, const char *path, NMConnection *connection, GError **error)
{
	return tr_nm_export(connection, path, error);
}

static char *
suggested_filename(NMVpnEditorPlugin *plugin, NMConnection *connection)
{
	const char *id = nm_connection_get_id(connection);
	g_autofree char *safe = g_strdup(id && *id ? id : "trellis");

	g_strdelimit(safe, "/\\ ", '-');
	return g_strdup_printf("%s.conf", safe);
}

static NMVpnEditorPluginCapability
get_capabilities(NMVpnEditorPlugin *plugin)
{
	return NM_VPN_EDITOR_PLUGIN_CAPABILITY_IMPORT | NM_VPN_EDITOR_PLUGIN_CAPABILITY_EXPORT |
	       NM_VPN_EDITOR_PLUGIN_CAPABILITY_IPV6;
}

/* GTK 3 or GTK 4: whichever the calling program has loaded. */
static const char *
editor_module_name(void)
{
	return dlsym(RTLD_DEFAULT, "gtk_container_add") ? TR_NM_EDITOR_MODULE_GTK3
	                                                : TR_NM_EDITOR_MODULE_GTK4;
}

static NMVpnEditor *
get_editor(NMVpnEditorPlugin *plugin, NMConnection *connection, GError **error)
{
	Dl_info info;
	g_autofree char *dir = NULL;
	g_autofree char *path = NULL;
	TrNmEditorFactory factory;
	void *module;

	if (dladdr((void *)get_editor, &info) == 0 || info.dli_fname == NULL) {
		g_set_error(error, NM_VPN_PLUGIN_ERROR, NM_VPN_PLUGIN_ERROR_FAILED,
		            "cannot tell where the Trellis plugin was loaded from");
		return NULL;
	}
	dir = g_path_get_dirname(info.dli_fname);
	path = g_build_filename(dir, editor_module_name(), NULL);
	module = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	if (module == NULL) {
		g_set_error(error, NM_VPN_PLUGIN_ERROR, NM_VPN_PLUGIN_ERROR_FAILED,
		            "cannot load the Trellis editor %s: %s", path, dlerror());
		return NULL;
	}
	factory = (TrNmEditorFactory)dlsym(module, TR_NM_EDITOR_FACTORY);
	if (factory == NULL) {
		g_set_error(error, NM_VPN_PLUGIN_ERROR, NM_VPN_PLUGIN_ERROR_FAILED, "%s has no %s",
		            path, TR_NM_EDITOR_FACTORY);
		dlclose(module);
		return NULL;
	}
	/* The module stays loaded: its GTypes cannot be unregistered. */
	return factory(plugin, connection, error);
}

static void
get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
	switch (prop_id) {
	case PROP_NAME:
		g_value_set_string(value, "Trellis");
		break;
	case PROP_DESC:
		g_value_set_string(value,
		                   "Connect to a Trellis VPN hub (certificate or shared key, "
		                   "optionally with a password).");
		break;
	case PROP_SERVICE:
		g_value_set_string(value, TR_NM_SERVICE);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
	}
}

static void
tr_nm_editor_plugin_init(TrNmEditorPlugin *plugin)
{
}

static void
tr_nm_editor_plugin_class_init(TrNmEditorPluginClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);

	object_class->get_property = get_property;
	g_object_class_override_property(object_class, PROP_NAME, NM_VPN_EDITOR_PLUGIN_NAME);
	g_object_class_override_property(object_class, PROP_DESC, NM_VPN_EDITOR_PLUGIN_DESCRIPTION);
	g_object_class_override_property(object_class, PROP_SERVICE, NM_VPN_EDITOR_PLUGIN_SERVICE);
}

static void
tr_nm_editor_plugin_interface_init(NMVpnEditorPluginInterface *iface)
{
	iface->get_editor = get_editor;
	iface->get_capabilities = get_capabilities;
	iface->import_from_file = import_file;
	iface->export_to_file = export_file;
	iface->get_suggested_filename = suggested_filename;
}

G_MODULE_EXPORT NMVpnEditorPlugin *
nm_vpn_editor_plugin_factory(GError **error)
{
	g_return_val_if_fail(!error || !*error, NULL);
	return g_object_new(tr_nm_editor_plugin_get_type(), NULL);
}
