#!/usr/bin/env bash
# The project's one test command (`npm test`): installs what a fresh machine lacks, idempotently,
# then builds and runs every unit and integration test in one node:test run.
set -euo pipefail
cd "$(dirname "$0")/.."

# npm dependencies, kube-apiserver, etcd, kubectl and helm (cached outside the work tree).
bash scripts/setup.sh
# A clean build, so a test file deleted from test/ cannot linger in dist/.
rm -rf dist
npm run --silent build

# Unit tests run in parallel; integration tests each start their own control plane, so two at a
# time is what two cores carry.
# Test files are named *.test.ts; node 20 given a folder would also run helpers as tests.
shopt -s globstar nullglob
# `npm test -- unit` or `-- integration` runs one layer; other arguments are test files.
case "${1:-}" in
  "") files=(dist/test/**/*.test.js) ;;
  unit|integration) files=(dist/test/"$1"/**/*.test.js) ;;
  *) files=("$@") ;;
esac
[ "${#files[@]}" -gt 0 ] || { echo "no test files found under dist/test" >&2; exit 1; }
exec node --test --test-reporter=spec --test-concurrency=2 "${files[@]}"
