#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""nm-trellis-auth-dialog speaks NetworkManager's auth-dialog protocol: the
connection's data and secrets on stdin, the secrets (or, in external UI
mode, a description of what to ask) on stdout, then it waits for QUIT."""
import configparser
import os
import subprocess
import sys
import time

DIALOG = os.path.join(os.environ["TR_BUILD_ROOT"], "gui", "networkmanager", "nm-trellis-auth-dialog")
SERVICE = "org.freedesktop.NetworkManager.trellis"
CERT = {"connect": "198.18.60.1", "ca": "/a/ca.crt", "cert": "/a/c.crt", "key": "/a/c.key",
        "server-name": "hub"}
n = 0


def ok(what):
    global n
    n += 1
    print(f"ok {n} - {what}")


def fail(what):
    print(f"not ok - {what}")
    sys.exit(1)


def request(data, secrets=None):
    out = ""
    for k, v in data.items():
        out += f"DATA_KEY={k}\nDATA_VAL={v}\n\n"
    for k, v in (secrets or {}).items():
        out += f"SECRET_KEY={k}\nSECRET_VAL={v}\n\n"
    return out + "DONE\n\nQUIT\n"


def env():
    e = dict(os.environ)
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
        e.pop(k, None)
    return e


def run(args, stdin, timeout=10):
    return subprocess.run([DIALOG, "-u", "0b8d5c4e-2b1f-4c8e-9a53-000000000001", "-n", "office",
                           "-s", SERVICE] + args, input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=env())


def external(data, secrets=None, args=("-i",)):
    r = run(["--external-ui-mode"] + list(args), request(data, secrets))
    if r.returncode != 0:
        fail(f"external UI mode failed: {r.stderr}")
    kf = configparser.ConfigParser(interpolation=None)
    kf.optionxform = str
    kf.read_string(r.stdout)
    if kf["VPN Plugin UI"]["Version"] != "2":
        fail(f"no Version=2: {r.stdout}")
    return kf


# ---- External UI mode (GNOME Shell, nmcli --ask) ---------------------------------
kf = external(dict(CERT, username="alice"))
p = kf["password"]
if (p["Label"], p["IsSecret"], p["ShouldAsk"], p["Value"]) != ("Password", "true", "true", ""):
    fail(f"password entry: {dict(p)}")
if "shared-key" in kf:
    fail("a certificate connection was asked for a shared key")
if "office" not in kf["VPN Plugin UI"]["Description"]:
    fail("the description does not name the connection")
ok("certificate + password, nothing stored: ask for the password only")

kf = external(dict(CERT, username="alice"), {"password": "wonderland"})
if (kf["password"]["ShouldAsk"], kf["password"]["Value"]) != ("false", "wonderland"):
    fail(f"stored password: {dict(kf['password'])}")
ok("a stored password is offered and not asked for")

kf = external(dict(CERT, username="alice"), {"password": "wonderland"}, ("-i", "-r"))
if kf["password"]["ShouldAsk"] != "true":
    fail("-r (the last password was refused) does not ask again")
ok("-r: asked again after a refusal")

kf = external(dict(CERT, username="alice"), None, ())
if kf["password"]["ShouldAsk"] != "false":
    fail("asked without -i (interaction not allowed)")
ok("without -i nothing is asked")

kf = external(dict(CERT, username="alice", **{"password-flags": "2"}), {"password": "old"})
if (kf["password"]["ShouldAsk"], kf["password"]["Value"]) != ("true", ""):
    fail(f"'ask every time' used a kept password: {dict(kf['password'])}")
ok("flag not-saved (ask every time): a kept password is not used")

kf = external({"connect": "198.18.60.1"})
if kf["shared-key"]["ShouldAsk"] != "true" or "password" in kf:
    fail(f"shared-key connection: {kf.sections()}")
ok("shared-key connection: ask for the shared key")

kf = external(CERT)
if kf.sections() != ["VPN Plugin UI"]:
    fail(f"certificate-only connection asked for {kf.sections()}")
kf = external(dict(CERT, username="alice", **{"password-flags": "4"}))
if kf.sections() != ["VPN Plugin UI"]:
    fail(f"not-required password asked for: {kf.sections()}")
ok("nothing to ask: certificate only, or password flagged not-required")

kf = external(dict(CERT), None, ("-i", "-t", "password", "-t", "x-vpn-message:Your password expired"))
if kf["VPN Plugin UI"]["Description"] != "Your password expired" or "password" not in kf:
    fail(f"hints not followed: {kf.sections()} {dict(kf['VPN Plugin UI'])}")
ok("hints from the service decide what is asked, with its message")

# ---- Standard mode: secrets on stdout, then wait for QUIT -----------------------------
proc = subprocess.Popen([DIALOG, "-u", "u", "-n", "office", "-s", SERVICE], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
proc.stdin.write(request(dict(CERT, username="alice"), {"password": "wonderland"}).replace("QUIT\n", ""))
proc.stdin.flush()
got = ""
deadline = time.time() + 5
while not got.endswith("\n\n\n") and time.time() < deadline:
    got += proc.stdout.read(1)
if got != "password\nwonderland\n\n\n":
    proc.kill()
    fail(f"standard mode answer: {got!r}")
time.sleep(0.3)
if proc.poll() is not None:
    fail("did not wait for QUIT")
proc.stdin.write("QUIT\n")
proc.stdin.flush()
try:
    rc = proc.wait(5)
except subprocess.TimeoutExpired:
    proc.kill()
    fail("did not leave after QUIT")
if rc != 0:
    fail(f"exit status {rc}")
ok("standard mode: 'password\\nwonderland\\n\\n\\n' on stdout, left on QUIT")

r = run([], request(CERT))
if r.stdout != "\n\n" or r.returncode != 0:
    fail(f"nothing needed: {r.stdout!r} {r.returncode}")
ok("standard mode, nothing needed: an empty answer")

r = run(["-i"], request(dict(CERT, username="alice")))
if r.returncode == 0 or r.stdout:
    fail(f"no display, yet it answered: {r.stdout!r}")
if not r.stderr.strip():
    fail("no display and no word why")
ok(f"standard mode with nothing to show on: fails and says so ({r.stderr.strip()})")

# ---- Bad invocations -----------------------------------------------------------------
r = subprocess.run([DIALOG, "-n", "office", "-s", SERVICE], input="DONE\n", capture_output=True,
                   text=True, timeout=10, env=env())
if r.returncode == 0 or "-u" not in r.stderr:
    fail(f"missing UUID accepted: {r.stderr}")
r = subprocess.run([DIALOG, "-u", "u", "-n", "office", "-s", "org.freedesktop.NetworkManager.openvpn"],
                   input="DONE\n", capture_output=True, text=True, timeout=10, env=env())
if r.returncode == 0 or "openvpn" not in r.stderr:
    fail(f"another service accepted: {r.stderr}")
ok("a missing UUID or another plugin's service is refused with the reason")
print(f"1..{n}")
