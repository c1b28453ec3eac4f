#!/usr/bin/env bash
# `npm run image`: builds the Dockerfile's image without a Docker engine and exports it as an OCI
# archive under dist/image/, whose path is the last line printed.
#
# - buildah (Debian) with runc: crun refuses hybrid cgroup layouts, runc does not. overlay storage
#   when the kernel allows it, vfs otherwise.
# - No registry is assumed reachable for images, so the base image is made from Debian packages:
#   an mmdebstrap minbase root filesystem of Debian trixie (Node.js 20 and npm: the build stages
#   run `npm ci`) committed as a local image and passed as the Dockerfile's NODE_IMAGE. It is
#   cached (tarball and image) and made once.
# - npm's settings (the machine's npm config files, with its CA bundle) reach the build stages as
#   build secrets, mounted only for the `npm ci` steps; neither file lands in a layer.
# - The Debian mirror is the machine's own (from its apt configuration); no host is named here.
#
# `scripts/image.sh --prepare` stops after the Debian packages and the base image (scripts/setup.sh).
# Options (environment): GATEHOUSE_IMAGE (default localhost/gatehouse:<package version>; a fully
# qualified name, so containerd's CRI finds it under imagePullPolicy Never), NODE_IMAGE (skip the
# Debian base and build FROM this image instead, e.g. one a registry serves).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CACHE="${GATEHOUSE_CACHE:-$HOME/.cache/gatehouse}"
IMG_CACHE="$CACHE/image"
VERSION=$(node -p 'require("./package.json").version')
IMAGE="${GATEHOUSE_IMAGE:-localhost/gatehouse:$VERSION}"
BASE_IMAGE="localhost/gatehouse-node-base:trixie"
OUT_DIR="$ROOT/dist/image"
OUT="$OUT_DIR/gatehouse-$VERSION.oci.tar"
mkdir -p "$IMG_CACHE"
PREPARE=0
for a in "$@"; do case "$a" in --prepare) PREPARE=1 ;; *) echo "usage: image.sh [--prepare]" >&2; exit 2 ;; esac; done

log() { printf '[image] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
start=$(date +%s)

# 1. Debian packages: buildah, runc, mmdebstrap (only the missing ones; one apt run).
missing=()
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get -q update >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get -q install -y --no-install-recommends "${missing[@]}" >&2
fi

# buildah needs root here (no user namespaces are set up for it); the storage driver is chosen once.
B=(as_root buildah)
driver_file="$IMG_CACHE/storage-driver"
if [ ! -s "$driver_file" ]; then
  if c=$("${B[@]}" --storage-driver overlay from scratch 2>/dev/null); then
    "${B[@]}" --storage-driver overlay rm "$c" >/dev/null
    echo overlay > "$driver_file"
  else
    echo vfs > "$driver_file"
  fi
fi
B+=(--storage-driver "$(cat "$driver_file")")

# shellcheck source=debian-mirror.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-mirror.sh"

# 2. The base image, unless NODE_IMAGE names one.
node_image="${NODE_IMAGE:-}"
if [ -z "$node_image" ]; then
  node_image="$BASE_IMAGE"
  if ! "${B[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    rootfs="$IMG_CACHE/trixie-minbase.tar"
    if [ ! -s "$rootfs" ]; then
      log "making the Debian trixie base (mmdebstrap, once)"
      t0=$(date +%s)
      rm -rf "$IMG_CACHE/partial.tar"
      as_root mmdebstrap --quiet --variant=minbase --format=tar --include=nodejs,npm,ca-certificates \
        --aptopt='Acquire::Retries "3"' trixie "$IMG_CACHE/partial.tar" \
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) trixie main" >&2
      mv "$IMG_CACHE/partial.tar" "$rootfs"
      log "base root filesystem in $(( $(date +%s) - t0 )) s"
    fi
    c=$("${B[@]}" from scratch)
    "${B[@]}" add "$c" "$rootfs" / >/dev/null
    "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --cmd '["node"]' "$c"
    "${B[@]}" commit -q --rm "$c" "$BASE_IMAGE" >/dev/null
  fi
fi

[ "$PREPARE" = 0 ] || { log "base ready: $node_image"; exit 0; }

# 3. npm's settings as build secrets: the machine's npm config files (global, then user, as npm
# reads them) with the CA file pointed at the second secret. Written outside the work tree and
# removed on exit.
secrets=$(mktemp -d)
trap 'rm -rf "$secrets"' EXIT
for f in "$(npm config get globalconfig 2>/dev/null)" "$(npm config get userconfig 2>/dev/null)"; do
  [ -f "$f" ] && grep -v -E '^\s*cafile\s*=' "$f" >> "$secrets/npmrc" || true
done
cafile=$(npm config get cafile 2>/dev/null || true)
[ -n "$cafile" ] && [ "$cafile" != null ] && [ "$cafile" != undefined ] || cafile=/etc/ssl/certs/ca-certificates.crt
secret_args=(--secret "id=npmrc,src=$secrets/npmrc")
if [ -f "$cafile" ]; then
  echo 'cafile=/run/secrets/npm_ca' >> "$secrets/npmrc"
  secret_args+=(--secret "id=npm_ca,src=$cafile")
fi
touch "$secrets/npmrc"

# 4. The build itself, then the archive.
log "building $IMAGE from $node_image"
t0=$(date +%s)
"${B[@]}" build --runtime runc --network host --layers --pull=false \
  --build-arg "NODE_IMAGE=$node_image" "${secret_args[@]}" -t "$IMAGE" -f Dockerfile . >&2
build_s=$(( $(date +%s) - t0 ))
mkdir -p "$OUT_DIR"
rm -f "$OUT"
"${B[@]}" push -q "$IMAGE" "oci-archive:$OUT:$IMAGE" >&2
[ "$(id -u)" = 0 ] || as_root chown "$(id -u):$(id -g)" "$OUT"
size=$("${B[@]}" images --format "{{.Size}}" "$IMAGE" 2>/dev/null | head -n1)
log "image $IMAGE: $size, archive $(( $(stat -c %s "$OUT") / 1024 / 1024 )) MiB"
log "build ${build_s} s, total $(( $(date +%s) - start )) s"
echo "$OUT"
