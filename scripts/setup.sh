#!/usr/bin/env bash
# Everything `npm test` and `npm run local` need on a fresh machine, idempotently: npm dependencies
# when node_modules is missing or older than the lockfile, then the control plane's binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/controlplane-install.sh
# Debian packages the tests use: lua runs the Argo CD health check from docs/helm.md; chromium is
# the headless browser of the console's tests (driven by playwright-core, which never downloads one).
missing=()
command -v lua5.4 >/dev/null 2>&1 || missing+=(lua5.4)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then as_root=(); else as_root=(sudo); fi
  "${as_root[@]}" apt-get -q update >&2
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get -q install -y --no-install-recommends "${missing[@]}" >&2
fi
