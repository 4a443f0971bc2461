#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A notification server for tests: owns org.freedesktop.Notifications on the
session bus, as a desktop's does, and prints one line per notification:
'notify APP|SUMMARY|BODY'."""
import sys
from gi.repository import Gio, GLib

XML = """<node><interface name="org.freedesktop.Notifications">
<method name="Notify"><arg type="s" direction="in"/><arg type="u" direction="in"/>
<arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="s" direction="in"/>
<arg type="as" direction="in"/><arg type="a{sv}" direction="in"/><arg type="i" direction="in"/>
<arg type="u" direction="out"/></method>
<method name="CloseNotification"><arg type="u" direction="in"/></method>
<method name="GetCapabilities"><arg type="as" direction="out"/></method>
<method name="GetServerInformation"><arg type="s" direction="out"/><arg type="s" direction="out"/>
<arg type="s" direction="out"/><arg type="s" direction="out"/></method>
</interface></node>"""
count = 0


def call(conn, sender, path, iface, method, params, inv):
    global count
    if method == "Notify":
        app, _, _, summary, body = params.unpack()[:5]
        count += 1
        print(f"notify {app}|{summary}|{body}", flush=True)
        inv.return_value(GLib.Variant("(u)", (count,)))
    elif method == "GetCapabilities":
        inv.return_value(GLib.Variant("(as)", (["body"],)))
    elif method == "GetServerInformation":
        inv.return_value(GLib.Variant("(ssss)", ("test", "trellis", "1", "1.2")))
    else:
        inv.return_value(None)


def acquired(conn, name):
    node = Gio.DBusNodeInfo.new_for_xml(XML)
    conn.register_object("/org/freedesktop/Notifications", node.interfaces[0], call, None, None)


Gio.bus_own_name(Gio.BusType.SESSION, "org.freedesktop.Notifications", 0, acquired,
                 lambda *a: print("notifications ready", flush=True), lambda *a: sys.exit(1))
GLib.MainLoop().run()
