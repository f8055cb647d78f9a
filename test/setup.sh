#!/usr/bin/env bash
# Everything the test suite needs on a fresh Debian machine: the npm
# dependencies (exactly the lock file's) and Debian's chromium for the
# management UI's browser tests (test/e2e). Run from anywhere; safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --no-audit --no-fund

if ! command -v chromium >/dev/null 2>&1; then
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  echo "installing Debian's chromium (browser tests of the management UI)"
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium >/dev/null
fi
