#!/usr/bin/env bash
# The whole suite: system tools the tests need, type-check, lint, then every unit and integration test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npx tsc -p tsconfig.json
npx eslint .
mapfile -t files < <(find dist/src dist/test dist/examples -name '*.test.js' 2>/dev/null | sort)
exec node --test --test-concurrency=3 --test-timeout=180000 "${files[@]}"
