#!/usr/bin/env bash
# pef's main job end to end on the built-in lab: bring the lab up (or reuse it), preview the warm
# spare's setup, run it, show the status, prove a second setup changes nothing, show that a
# certificate signed on the primary reaches the replica with no pef process running, then a DR
# drill (examples/runbooks/dr-drill.mjs): the primary's power cut, failover, an agent run on the
# replica, the primary back and fenced, failback, the final status and the measured RTO/RPO.
# PEF_LAB_DIR picks the lab's state directory (default .pef-lab). Run as root on Debian 12 after
# `bash scripts/install.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=${PEF_LAB_DIR:-.pef-lab}
pef() { echo "+ pef $*" >&2; ./bin/pef.js "$@"; }

pef lab up --dir "$lab"
inv="$lab/inventory.yaml"
pef inventory show -i "$inv"
# A dry run: every check for real, then per step and host the commands setup would run.
# (Not inside the lab's dir: `lab down` refuses to remove a dir holding files it did not write.)
mkdir -p .pef
pef plan run setup -i "$inv" code=rsync --noop > .pef/setup-preview.txt && echo "demo: setup preview in .pef/setup-preview.txt" >&2
pef plan run setup -i "$inv" code=rsync
pef status -i "$inv"
# Idempotent: a second setup changes nothing.
changed=$(pef plan run setup -i "$inv" code=rsync --format json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).changed))')
echo "demo: a second setup changed $changed thing(s)" >&2
[ "$changed" = 0 ]
# The host-side jobs carry a new certificate with no pef process running.
name="demo-$(date +%s).lab"
pef lab exec primary --dir "$lab" -- puppetserver ca generate --certname "$name" >/dev/null
for second in $(seq 1 30); do
  if ./bin/pef.js lab exec replica --dir "$lab" -- test -f "/etc/puppet/puppetserver/ca/signed/$name.pem"; then
    echo "demo: $name, signed on the primary, was on the replica within ${second}s" >&2
    break
  fi
  [ "$second" -lt 30 ] || { echo "demo: $name did not reach the replica within 30s; see pef status" >&2; exit 1; }
  sleep 1
done
pef status -i "$inv"
# The day the primary dies, rehearsed: live progress, each check's verdict, RTO/RPO at the end.
echo "+ node examples/runbooks/dr-drill.mjs --lab-dir $lab --skip-setup" >&2
node examples/runbooks/dr-drill.mjs --lab-dir "$lab" --skip-setup
echo "demo: inspect with ./bin/pef.js status -i $inv; tear down with ./bin/pef.js lab down --dir $lab" >&2
