#!/usr/bin/env bash
# The whole test suite: build, type-check, the lint gate (prettier, eslint, jscpd: npm run lint),
# every jest project, then the closing "N passed, N failed" line CI reads. Extra arguments go to
# jest (e.g. --selectProjects unit).
set -uo pipefail
cd "$(dirname "$0")/.."
npm run --silent build && npm run --silent typecheck || { echo "0 passed, 1 failed (build or typecheck)"; exit 1; }
npm run --silent lint || { echo "0 passed, 1 failed (lint: prettier, eslint or jscpd; see above)"; exit 1; }
mkdir -p .pef
results=.pef/jest-results.json
rm -f "$results"
NODE_OPTIONS='--experimental-vm-modules --no-warnings' npx jest --runInBand --json --outputFile="$results" "$@"
rc=$?
if [ -f "$results" ]; then
  node scripts/test-summary.js "$results"
else
  echo "0 passed, 1 failed (jest did not finish)"
fi
exit $rc
