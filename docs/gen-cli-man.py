#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes trellis(1) from the tool's own --help texts, so the man page and
--help cannot disagree: trellis --help lists the commands, each command's
--help (and each `trellis pki` subcommand's) gives its options."""
import re
import subprocess
import sys

tool, version = sys.argv[1], sys.argv[2]


def run(*args):
    p = subprocess.run([tool, *args], capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


def roff(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + l) if l.startswith((".", "'")) else l for l in text.splitlines())


def commands(help_text):
    out, on = [], False
    for line in help_text.splitlines():
        if line.strip() == "Commands:":
            on = True
            continue
        m = re.match(r"^  (\w[\w-]*)\s+(.*)$", line) if on else None
        if m:
            out.append((m.group(1), m.group(2)))
        elif on and line.strip() == "":
            on = False
    return out


page = [f'.TH trellis 1 "" "Trellis {version}" "Trellis"',
        ".SH NAME", "trellis \\- Trellis VPN admin and control tool",
        ".SH SYNOPSIS", ".B trellis", "\\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        "trellis starts and stops the networks configured in /etc/trellis, shows the "
        "state of every running Trellis daemon, manages the network's certificate "
        "authority and onboards new machines with invites.",
        ".SH COMMANDS"]
for name, summary in commands(run("--help")):
    page += [f".SS {name}", roff(summary) + ".", ".PP", ".nf", roff(run(name, "--help").strip()), ".fi"]
    sub = commands(run(name, "--help"))
    for sname, _ in sub:
        page += [".PP", f"\\fBtrellis {name} {sname}\\fR", ".nf",
                 roff(run(name, sname, "--help").strip()), ".fi"]
examples = [
    ("A first network. On the hub, whose clients reach it as hub.example.net "
     "(TCP and UDP port 3210 open), start the hub and invite a machine:",
     "trellis up hub\ntrellis invite laptop \\-\\-server hub.example.net"),
    ("On the laptop, join with the token the invite printed, start the network and "
     "look at it:", "trellis join TOKEN\ntrellis up laptop\ntrellis status"),
    ("Certificates by hand, on the hub (copy ca.crt and the two laptop files to the "
     "laptop):", "trellis pki issue laptop\ntrellis pki list\ntrellis pki revoke laptop"),
    ("Every network's state for a script:", "trellis status \\-\\-json"),
]
page += [".SH EXAMPLES"]
for text, cmd in examples:
    page += [".PP", roff(text), ".PP", ".nf", ".RS", cmd, ".RE", ".fi"]
page += [".SH FILES",
         "/etc/trellis/NAME.conf: the configuration of network NAME ([server] or [client]), "
         "run by the systemd unit trellis\\-server@NAME or trellis\\-client@NAME.",
         ".br",
         "/var/lib/trellis: the state directory: the network's CA, issued certificates, "
         "address leases, keys made by trellis join.",
         ".br",
         "/run/trellis: the daemons' control sockets, read by trellis status."]
page += [".SH EXIT STATUS", "0 on success, 1 on an error, 2 on a usage error.",
         ".SH SEE ALSO", "trellis\\-server(8), trellis\\-client(8)"]
sys.stdout.write("\n".join(page) + "\n")
