#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Reads and drives a StatusNotifierItem on the session bus, as a panel does:
the item comes from the StatusNotifierWatcher (tests/lib/sni-watcher.py), its
menu from com.canonical.dbusmenu.

  sni.py icon          the item's IconName
  sni.py title         the item's Title
  sni.py menu          the menu: one line per item, "label" (insensitive
                       ones in brackets, separators as ---)
  sni.py click LABEL   sends "clicked" to the item with that label
Exit status 1 when there is no item (yet) or no such label."""
import sys
from gi.repository import Gio, GLib

bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)


def call(dest, path, iface, method, args, reply):
    return bus.call_sync(dest, path, iface, method, args, GLib.VariantType(reply),
                         Gio.DBusCallFlags.NONE, 5000, None).unpack()


def item():
    items = call("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher",
                 "org.freedesktop.DBus.Properties", "Get",
                 GLib.Variant("(ss)", ("org.kde.StatusNotifierWatcher",
                                       "RegisteredStatusNotifierItems")), "(v)")[0]
    if not items:
        sys.exit(1)
    name, _, path = items[-1].partition("/")
    return name, "/" + path


def prop(name):
    dest, path = item()
    return call(dest, path, "org.freedesktop.DBus.Properties", "Get",
                GLib.Variant("(ss)", ("org.kde.StatusNotifierItem", name)), "(v)")[0]


def layout():
    dest, _ = item()
    menu = prop("Menu")
    _, root = call(dest, menu, "com.canonical.dbusmenu", "GetLayout",
                   GLib.Variant("(iias)", (0, -1, [])), "(u(ia{sv}av))")
    return dest, menu, root[2]


def main():
    cmd = sys.argv[1]
    if cmd in ("icon", "title"):
        print(prop("IconName" if cmd == "icon" else "Title"))
        return
    dest, menu, children = layout()
    if cmd == "menu":
        for cid, props, _ in children:
            if props.get("type") == "separator":
                print("---")
            elif props.get("visible", True):
                label = props.get("label", "")
                print(label if props.get("enabled", True) else "[%s]" % label)
        return
    if cmd == "click":
        for cid, props, _ in children:
            if props.get("label") == sys.argv[2] and props.get("enabled", True):
                bus.call_sync(dest, menu, "com.canonical.dbusmenu", "Event",
                              GLib.Variant("(isvu)", (cid, "clicked", GLib.Variant("s", ""), 0)),
                              None, Gio.DBusCallFlags.NONE, 5000, None)
                return
        sys.exit(1)
    sys.exit(2)


try:
    main()
except GLib.Error as e:
    print(e.message, file=sys.stderr)
    sys.exit(1)
