#!/usr/bin/env bash
# Trains the demo model chestaid-demo from nothing: installs the Debian/npm packages, generates the
# synthetic set, trains on CPU, and writes models/chestaid-demo, test/demo-studies and the fixtures.
# Extra arguments go to `python3 -m chestaid_train demo` (e.g. --quick for a one-minute check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd training
exec /usr/bin/python3 -m chestaid_train demo "$@"
