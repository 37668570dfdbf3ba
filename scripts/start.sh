#!/usr/bin/env bash
# The main job: installs the npm packages (the pinned OHIF viewer is fetched and hash-checked on
# first start) and serves the viewer with ChestAid, the demo studies and the demo model on
# http://localhost:3000 (PORT=... to change it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
fi
exec npm start
