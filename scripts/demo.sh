#!/usr/bin/env bash
# pef's main job end to end on the built-in lab: bring the lab up (or reuse it), then build the
# warm spare's CA and PuppetDB path the way an operator would, each step previewed first.
# PEF_LAB_DIR picks the lab's state directory (default .pef-lab). Run as root on Debian 12 after
# `bash scripts/install.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=${PEF_LAB_DIR:-.pef-lab}
pef() { echo "+ pef $*" >&2; ./bin/pef.js "$@"; }

pef lab up --dir "$lab"
inv="$lab/inventory.yaml"
pef inventory show -i "$inv"
pef plan run preflight -i "$inv"
pef task run setup_transfer -t primary receiver=replica -i "$inv" --noop
pef task run setup_transfer -t primary receiver=replica -i "$inv"
pef task run pad_serial -t primary -i "$inv"
pef task run sync_ca -t primary receiver=replica -i "$inv"
pef task run dump_db -t primary receiver=replica -i "$inv"
pef task run restore_db -t replica -i "$inv"
# Everything is in sync now: a second pass changes nothing.
pef task run sync_ca -t primary receiver=replica -i "$inv" --format json | grep -q '"changed": false'
echo "demo: the replica holds the primary's CA, its own certificate from it, and a restored PuppetDB database." >&2
echo "demo: inspect with ./bin/pef.js lab status --dir $lab; tear down with ./bin/pef.js lab down --dir $lab" >&2
