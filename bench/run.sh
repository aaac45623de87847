#!/usr/bin/env bash
# The whole bench in one command: install missing tools, build, run every scenario, write bench/RESULTS.md.
#   bash bench/run.sh            full run (about 23 minutes)
#   bash bench/run.sh --smoke    a few seconds per scenario
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/install-tools.sh
npx tsc -p tsconfig.json >/dev/null || true   # emits even when unrelated files have type errors
test -f dist/bench/main.js
node dist/bench/main.js "$@"
# main.js writes RESULTS.md afresh; the faults scenario and the capture figure (network namespaces, root) append.
if [[ " $* " != *" --smoke "* ]]; then node dist/bench/faults.js "$@"; fi
if [ "$(id -u)" = 0 ] && [[ " $* " != *" --smoke "* ]]; then bash bench/capture-latency.sh; fi
