#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: system packages, npm packages,
# lint, build and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh test
npm ci --no-audit --no-fund
npm run lint
npm test
