#!/usr/bin/env bash
# Installs everything pef, its tests and its lab need on a Debian 12 machine, as root.
# Idempotent: re-running only checks. Used by README.md and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(openssh-server openssh-client rsync sudo
      puppetserver puppetdb puppet-terminus-puppetdb puppet-agent
      postgresql-15 postgresql-client-15
      ansible-core hyperfine tmux
      util-linux iproute2 nftables procps curl ca-certificates)

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "pef install: apt-get install ${missing[*]}"
  # Packages must not start their daemons here: Debian's sshd and postgres would listen on
  # all addresses. The lab starts them itself, bound to loopback. policy-rc.d says "not now".
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; own_policy=1; fi
  trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "pef install: npm install"
  # Not `npm ci`: npm 11 rejects this lock file for the platform-specific optional packages of
  # jest's resolver it deliberately leaves out ("Missing: @unrs/resolver-binding-… from lock
  # file"). `npm install` honours the same lock file and installs the same versions.
  npm install --no-audit --no-fund --loglevel=error
fi
npm run --silent build
