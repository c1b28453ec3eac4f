#!/usr/bin/env bash
# Everything `npm test` and `npm run local` need on a fresh machine, idempotently: npm dependencies
# when node_modules is missing or older than the lockfile, then the control plane's binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
# As root on Linux (CI, this kind of machine) also what the single-node cluster test needs
# (test/integration/cluster-e2e.test.ts): kubelet, kube-scheduler and kube-proxy built with
# kube-apiserver and kube-controller-manager in one make run, containerd, runc, the CNI plugins, and the
# image build's buildah, mmdebstrap and Debian base (README, "Installing on a cluster", has the
# times), each step cached in ~/.cache/gatehouse like kube-apiserver. GATEHOUSE_NODE=0 opts out
# (nothing of the node is installed and the test is skipped, saying why); so does a root without
# CAP_SYS_ADMIN and CAP_NET_ADMIN (an unprivileged container), which could not run a node anyway.
node_args=()
caps=$(awk '/^CapEff:/ {print $2}' /proc/self/status 2>/dev/null || true)
if [ "$(id -u)" = 0 ] && [ "$(uname -s)" = Linux ] && [ "${GATEHOUSE_NODE:-1}" != 0 ] \
   && [ -n "$caps" ] && (( (0x$caps >> 21) & 1 )) && (( (0x$caps >> 12) & 1 )); then
  node_args=(--node)
fi
bash scripts/controlplane-install.sh "${node_args[@]}"
[ "${#node_args[@]}" -eq 0 ] || bash scripts/image.sh --prepare
# Debian packages the tests use: lua runs the Argo CD health check from docs/helm.md; chromium is
# the headless browser of the console's tests (driven by playwright-core, which never downloads one);
# prometheus brings promtool and the server the monitoring test scrapes the operator with
# (test/unit/helm/rules.test.ts, test/integration/daytwo.test.ts).
missing=()
command -v lua5.4 >/dev/null 2>&1 || missing+=(lua5.4)
[ -x /usr/bin/chromium ] || missing+=(chromium)
{ command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; } || missing+=(prometheus)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then as_root=(); else as_root=(sudo); fi
  "${as_root[@]}" apt-get -q update >&2
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get -q install -y --no-install-recommends "${missing[@]}" >&2
fi
