#!/usr/bin/env bash
# The one test command: sets up (scripts/setup.sh) and runs every test suite.
#   scripts/test.sh            everything
#   scripts/test.sh training   the training workspace only
#   scripts/test.sh unit       dependency rules, unit tests (jest), type check, lint, the CLI
#   scripts/test.sh pacs       the PACS round trip against a real Orthanc (started by the tests)
#   scripts/test.sh e2e        the viewer end to end (npm start + Debian Chromium)
#   scripts/test.sh deploy     the npm packages (npm pack) and both web servers (nginx, npm start)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Debian's python3 holds torch; a pyenv/venv python3 earlier on PATH would not.
PY=/usr/bin/python3
suite="${1:-all}"

if [ "$suite" = all ] || [ "$suite" = training ]; then
  echo "== training workspace (pytest, CPU) =="
  (cd training && OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" "$PY" -m pytest -q -p no:cacheprovider tests)
fi

if [ "$suite" = all ] || [ "$suite" = unit ]; then
  echo "== dependency rules (dependency-cruiser, .dependency-cruiser.cjs) =="
  npx depcruise core extension mode worker cli
  echo "== unit tests (jest), type check and the Node build =="
  npx tsc -p tsconfig.json --noEmit
  npx tsc -b tsconfig.node.json
  npx eslint core extension mode worker cli
  npx jest
  echo "== recalibration CLI (node:test, file store in a temp dir) =="
  npm run test:cli
  echo "== the benchmark's profile mapping (node:test) =="
  npm run test:bench
fi

if [ "$suite" = all ] || [ "$suite" = pacs ]; then
  echo "== PACS round trip (a real Orthanc per test file) =="
  npm run test:pacs
fi

if [ "$suite" = all ] || [ "$suite" = deploy ]; then
  echo "== packages and web servers (npm pack; nginx and the dev server against a real Orthanc) =="
  npm run test:deploy
fi

if [ "$suite" = all ] || [ "$suite" = e2e ]; then
  echo "== viewer end to end (OHIF + ChestAid in Chromium) =="
  npm run test:e2e
  npm run test:webgpu
fi
