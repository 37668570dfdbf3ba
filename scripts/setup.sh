#!/usr/bin/env bash
# Installs what ChestAid needs on a fresh Debian 12 machine: Debian's Python stack for the
# training workspace (there is no PyPI here; torch 1.13 comes from Debian) and the npm packages.
# Idempotent: re-running it installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  python3-torch python3-torchvision python3-sklearn python3-scipy python3-onnx python3-pil python3-numpy
  python3-pydicom python3-matplotlib python3-pytest python3-jsonschema python3-tqdm
  chromium
  orthanc orthanc-dicomweb
  # Outside checks of the DICOM ChestAid writes (core/src/dicom tests): dciodvfy, and dsrdump.
  dicom3tools dcmtk
  # The production web server (deploy/nginx). The tests run it as a plain process with their own
  # configuration; the service Debian may start with its default site is not used.
  nginx
  # The triage workers' message broker (issue 17; worker/src/queue/). The tests and
  # `npm run broker:start` run it as a plain process with its own data directory and ports
  # (broker/rabbitmq.mjs); the service Debian may start is not used.
  rabbitmq-server
  # systemd-analyze checks the units in deploy/ (test/deploy/systemdUnits.test.mjs); nothing is
  # started as a service.
  systemd
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# onnxruntime-node's postinstall downloads CUDA binaries (it fails offline); its CPU library is
# bundled, so the script is denied in package.json and skipped here for older npm versions too.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
