#!/usr/bin/env bash
# `npm run local`: installs what a fresh machine lacks (idempotently), builds, and runs Gatehouse
# on its embedded control plane (scripts/local.ts says what it starts and the flags it takes).
set -euo pipefail
cd "$(dirname "$0")/.."
# Stopping needs nothing installed or built; GATEHOUSE_SKIP_SETUP=1 is for the test that runs this
# from inside `npm test`, which has installed and built already.
case " $* " in
  *" --down "*) ;;
  *" --cluster "*) GATEHOUSE_NODE=1 bash scripts/setup.sh >&2; npm run --silent build >&2 ;;
  *) if [ "${GATEHOUSE_SKIP_SETUP:-}" != 1 ]; then bash scripts/setup.sh >&2; npm run --silent build >&2; fi ;;
esac
exec node dist/scripts/local.js "$@"
