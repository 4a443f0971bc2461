#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Layers point one way (docs/ARCHITECTURE.md, "Layers"): a file may include
# headers of its own folder and of folders in lower layers, never of a
# higher layer or of another folder on the same layer. Tests, benchmarks and
# scripts may include anything. Fails with one line per include that breaks
# the rule, naming both files and both layers.
set -eu
cd "$(dirname "$0")/.."

python3 - "$@" <<'PY'
import re, subprocess, sys

# folder -> layer, lowest first. A folder not in the table is an error: a new
# folder says where it belongs.
LAYERS = {
    "platform": 0, "platform/posix": 0, "platform/linux": 0, "platform/bsd": 0,
    "platform/windows": 0, "platform/test": 0,
    "common/base": 1,
    "common/datapath": 2, "common/pki": 2,
    "common/auth": 3,
    "common/ctrl": 4, "common/graph": 4,
    "common/link": 5, "common/mesh": 5,
    "common/daemon": 6,
    "common/portmap": 7,
    "server": 10, "client": 10, "cli": 10,
    "gui/tray": 11, "gui/networkmanager": 11,
}
# Folders one layer may use beside its own: the OS layer is one layer in
# several folders (linux and bsd build on posix, all on platform/).
SAME_LAYER_OK = {
    ("platform/linux", "platform/posix"), ("platform/bsd", "platform/posix"),
    ("platform/linux", "platform"), ("platform/bsd", "platform"),
    ("platform/posix", "platform"), ("platform/windows", "platform"),
    ("platform/test", "platform"), ("platform/test", "platform/posix"),
    ("platform/test", "platform/windows"),
    ("gui/networkmanager", "client"),  # the plugin embeds the client library
}
FREE = ("tests/", "bench/", "scripts/", "gui/networkmanager/tests/")

files = subprocess.check_output(["git", "ls-files", "*.c", "*.h"], text=True).split()
inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
bad = 0
for f in files:
    if f.startswith(FREE):
        continue
    d = f.rsplit("/", 1)[0] if "/" in f else "."
    if d not in LAYERS:
        print(f"check-layers: {f}: folder {d} is not in the layer table (scripts/check-layers.sh)")
        bad += 1
        continue
    for h in inc.findall(open(f, encoding="utf-8", errors="replace").read()):
        if "/" not in h:
            continue  # same folder or generated (tr-config.h)
        hd = h.rsplit("/", 1)[0]
        if hd == d or (d, hd) in SAME_LAYER_OK:
            continue
        if hd not in LAYERS:
            continue  # not ours (system headers in quotes)
        if LAYERS[hd] < LAYERS[d]:
            continue
        print(f"check-layers: {f} (layer {LAYERS[d]}, {d}) includes {h} "
              f"(layer {LAYERS[hd]}, {hd}): a file may include only its own folder and lower layers")
        bad += 1
if bad:
    print(f"check-layers: {bad} include(s) break the layers")
    sys.exit(1)
print(f"check-layers: {len(files)} files, every include points down")
PY
