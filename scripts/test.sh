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
rm -rf test-results && mkdir -p test-results
status=0
# Each file's wall time (test/support/file-clock.ts), slowest first, in test-results/file-durations.txt: a file
# near its timeout is one a busy machine cancels.
node --import ./dist/test/support/file-clock.js --test --test-concurrency=2 --test-timeout=180000 "${files[@]}" || status=$?
sort -rn test-results/file-durations.tsv > test-results/file-durations.txt 2>/dev/null || true
node dist/test/support/leftover-check.js check || status=1
exit "$status"
