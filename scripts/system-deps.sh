#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, when they are missing.
# Usage: scripts/system-deps.sh [test|demo]
set -euo pipefail
want=${1:-test}

need=()
command -v node >/dev/null || need+=(nodejs npm)
command -v swtpm >/dev/null || need+=(swtpm)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
if [ "$want" = test ]; then
  command -v tpm2_hmac >/dev/null || need+=(tpm2-tools)
  dpkg -s libtss2-tcti-swtpm0 >/dev/null 2>&1 || need+=(libtss2-tcti-swtpm0)
  command -v chromium >/dev/null || need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${need[*]}" >&2
  echo "Install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
