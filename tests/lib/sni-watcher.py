#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# From the feasibility notes (shared/notes/feasibility/sni-watcher.py).
"""A minimal StatusNotifierWatcher for tests: owns org.kde.StatusNotifierWatcher on the
session bus, records every item that registers and prints 'registered BUSNAME PATH' lines.
With it running, libayatana-appindicator exports its menu over D-Bus (dbusmenu) instead of
falling back to an XEmbed icon, so a test can read the menu with no screen at all."""
import sys
from gi.repository import Gio, GLib

XML = """<node><interface name="org.kde.StatusNotifierWatcher">
<method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
<method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
<property name="RegisteredStatusNotifierItems" type="as" access="read"/>
<property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
<property name="ProtocolVersion" type="i" access="read"/>
<signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
</interface></node>"""
items = []

def call(conn, sender, path, iface, method, params, inv):
    if method == "RegisterStatusNotifierItem":
        arg = params.unpack()[0]
        item = arg if arg.startswith("/") is False else sender + arg
        bus, _, p = (sender, None, arg) if arg.startswith("/") else (arg, None, "/StatusNotifierItem")
        items.append(f"{bus}{p}")
        print(f"registered {bus} {p}", flush=True)
        conn.emit_signal(None, path, iface, "StatusNotifierItemRegistered", GLib.Variant("(s)", (item,)))
    inv.return_value(None)

def prop(conn, sender, path, iface, name):
    return {"RegisteredStatusNotifierItems": GLib.Variant("as", items),
            "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
            "ProtocolVersion": GLib.Variant("i", 0)}[name]

def acquired(conn, name):
    node = Gio.DBusNodeInfo.new_for_xml(XML)
    conn.register_object("/StatusNotifierWatcher", node.interfaces[0], call, prop, None)

Gio.bus_own_name(Gio.BusType.SESSION, "org.kde.StatusNotifierWatcher", 0, acquired,
                 lambda *a: print("watcher ready", flush=True), lambda *a: sys.exit(1))
GLib.MainLoop().run()
