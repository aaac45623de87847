#!/usr/bin/env bash
# The whole suite: system tools the tests need, type-check, lint, then every unit and integration test; the suite
# fails if it leaves a process, a network namespace or a mesh's kernel objects behind.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npx tsc -p tsconfig.json
npx eslint .
mapfile -t files < <(find dist/src dist/test dist/examples -name '*.test.js' 2>/dev/null | sort)
node dist/test/support/leftover-check.js sweep
mkdir -p test-results
status=0
# Each file's wall time goes to test-results/file-durations.txt (slowest first): no file may come near its timeout.
# tap when read by a program, spec for a person at a terminal (node's own defaults).
reporter=tap
[ -t 1 ] && reporter=spec
node --test --test-concurrency=3 --test-timeout=180000 \
  --test-reporter="$reporter" --test-reporter-destination=stdout \
  --test-reporter=./dist/test/support/file-duration-reporter.js --test-reporter-destination=test-results/file-durations.txt \
  "${files[@]}" || status=$?
node dist/test/support/leftover-check.js check || status=1
exit "$status"
