#!/usr/bin/env bash
# The project's one test command (`npm test`): installs what a fresh machine lacks, idempotently,
# then builds and runs every unit and integration test (two node:test phases, one exit code).
set -euo pipefail
cd "$(dirname "$0")/.."

# npm dependencies, kube-apiserver, etcd, kubectl and helm (cached outside the work tree).
bash scripts/setup.sh
# A clean build, so a test file deleted from test/ cannot linger in dist/.
rm -rf dist
npm run --silent build

# Unit tests run in parallel; integration tests each start their own control plane, so two at a
# time is what two cores carry. The single-node cluster test (leader loss, a rolling upgrade and a
# certificate rotation with zero refused writes) is timing-sensitive and heavy: it runs in a phase
# of its own, alone, after all the others; the exit code is non-zero if either phase failed.
# Test files are named *.test.ts; node 20 given a folder would also run helpers as tests.
shopt -s globstar nullglob
# `npm test -- unit` or `-- integration` runs one layer; other arguments are test files.
case "${1:-}" in
  "") files=(dist/test/**/*.test.js) ;;
  unit|integration) files=(dist/test/"$1"/**/*.test.js) ;;
  *) files=("$@") ;;
esac
[ "${#files[@]}" -gt 0 ] || { echo "no test files found under dist/test" >&2; exit 1; }
alone=(); rest=()
for f in "${files[@]}"; do
  case "$f" in */cluster-e2e.test.js) alone+=("$f") ;; *) rest+=("$f") ;; esac
done
rc=0
if [ "${#rest[@]}" -gt 0 ]; then
  node --test --test-reporter=spec --test-concurrency=2 "${rest[@]}" || rc=$?
fi
if [ "${#alone[@]}" -gt 0 ]; then
  echo "# the single-node cluster test, alone: ${alone[*]}"
  node --test --test-reporter=spec --test-concurrency=1 "${alone[@]}" || { r=$?; [ "$rc" != 0 ] || rc=$r; }
fi
[ "$rc" = 0 ] || echo "# npm test: failed (exit $rc; see the failing tests above)" >&2
exit "$rc"
