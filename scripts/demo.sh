#!/usr/bin/env bash
# The demo on a fresh Debian 12 machine: Node-RED on http://127.0.0.1:1880 running the
# weather-station example against a private swtpm, the simulated BME280 and a local IoT
# Hub. Installs what is missing, builds, then hands over to scripts/demo.ts. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh demo
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
exec node --import tsx scripts/demo.ts
