#!/usr/bin/env bash
# Everything `npm test` and `npm run local` need on a fresh machine, idempotently: npm dependencies
# when node_modules is missing or older than the lockfile, then the control plane's binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/controlplane-install.sh
