#!/usr/bin/env bash
# `make image`: builds the repository's Dockerfile with podman, without any container registry.
# The base image named by the Dockerfile's NODE_IMAGE is made here instead of pulled: a minimal
# Debian root filesystem (mmdebstrap, minbase) plus the Node.js binary of the `node` npm package
# this repository pins and a pinned npm. Made once and cached (a tar in .cache/image, and the
# image in podman's storage); only the kubeburst image itself is rebuilt.
#
#   IMAGE             the tag to build (default localhost/kubeburst:<package.json version>)
#   DEBIAN_SUITE      the base's Debian release (default bookworm)
#   DEBIAN_SOURCES    apt source files for the base, separated by spaces (default: this host's own,
#                     /etc/apt/sources.list and /etc/apt/sources.list.d/*.list|*.sources, so the
#                     base comes from wherever apt here gets Debian's packages)
#   NPM_VERSION       the npm put into the base (the build stage runs `npm ci`)
#   KUBEBURST_IMAGE_CACHE  where the base image's root filesystem is kept (default: <repo>/.cache/image)
#
# Needs root (podman's storage, mmdebstrap's root mode); installs podman, mmdebstrap and runc
# from Debian on first use. RUN steps use chroot isolation: no OCI runtime, no cgroup.
# Output: the image, and its name on the last line of stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${KUBEBURST_IMAGE_CACHE:-$ROOT/.cache/image}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
if [ -z "${DEBIAN_SOURCES:-}" ]; then
  # (find fails on a path that does not exist, such as a host with only sources.list.d)
  DEBIAN_SOURCES=$({ find /etc/apt/sources.list /etc/apt/sources.list.d -maxdepth 1 -type f \
    \( -name sources.list -o -name '*.list' -o -name '*.sources' \) -size +0 2>/dev/null || true; } | sort | tr '\n' ' ')
fi
[ -n "$DEBIAN_SOURCES" ] || { say "no apt sources found in /etc/apt: set DEBIAN_SOURCES to apt source files"; exit 1; }
# Bump when the way the base is made changes: its tag, and so the cache, follow.
BASE_RECIPE=2
NPM_VERSION=${NPM_VERSION:-11.21.2}
say() { echo "image: $*" >&2; }

[ "$(id -u)" = 0 ] || { say "run as root (podman's storage and mmdebstrap need it)"; exit 1; }
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
# runc, not crun, runs the image in the tests: Debian 12's crun refuses hosts with cgroups v1
# and v2 mounted side by side ("hybrid"), which runc handles.
command -v runc >/dev/null || missing+=(runc)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_bin=$(readlink -f "$ROOT/node_modules/node/bin/node" 2>/dev/null || true)
[ -x "$node_bin" ] || { say "no Node.js binary in node_modules/node/bin; run 'make deps' first"; exit 1; }
node_version=$("$node_bin" --version)
version=$("$node_bin" -p 'require(process.argv[1]).version' "$ROOT/package.json")
IMAGE=${IMAGE:-localhost/kubeburst:$version}
base="localhost/kubeburst-node:${node_version#v}-npm$NPM_VERSION-$DEBIAN_SUITE-$BASE_RECIPE"
mkdir -p "$CACHE"

if ! podman image exists "$base"; then
  tar="$CACHE/${base##*/}.tar"
  tar="${tar//:/-}"
  if [ ! -s "$tar" ]; then
    npm_tgz="$CACHE/npm-$NPM_VERSION.tgz"
    if [ ! -s "$npm_tgz" ]; then
      say "fetching npm $NPM_VERSION from the npm registry"
      (cd "$CACHE" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
    fi
    say "making the base image's root filesystem: Debian $DEBIAN_SUITE minbase, Node.js $node_version, npm $NPM_VERSION"
    # The same layout as the official Node.js images: node and npm in /usr/local/bin.
    NODE_BIN=$node_bin NPM_TGZ=$npm_tgz mmdebstrap --quiet --mode=root --variant=minbase \
      --format=tar --skip=output/dev \
      --customize-hook='install -m 0755 "$NODE_BIN" "$1/usr/local/bin/node"' \
      --customize-hook='mkdir -p "$1/usr/local/lib/node_modules/npm" && tar -xzf "$NPM_TGZ" -C "$1/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner' \
      --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
      "$DEBIAN_SUITE" "$tar.partial" $DEBIAN_SOURCES
    mv "$tar.partial" "$tar"
  fi
  say "importing $base"
  podman import --quiet --change 'CMD ["node"]' "$tar" "$base" >/dev/null
fi

secret=()
# A TLS-intercepting proxy's CA, as npm on this machine uses it (see the Dockerfile's npm-ca).
[ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r "$NODE_EXTRA_CA_CERTS" ] && secret=(--secret "id=npm-ca,src=$NODE_EXTRA_CA_CERTS")
# Builds with the layer cache and tags the result as $1; the image that tag held before is
# removed when it changed (untagged, it would stay behind at every change of the sources).
build_as() {
  local tag=$1 previous current
  shift
  previous=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  podman build --quiet --pull=never --network=host --layers --isolation=chroot \
    --build-arg "NODE_IMAGE=$base" "${secret[@]}" -t "$tag" "$@" -f "$ROOT/Dockerfile" "$ROOT" >/dev/null
  current=$(podman image inspect --format '{{.Id}}' "$tag")
  if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
  fi
}
say "building $IMAGE from $base"
# The build stage is tagged too (about 600 MB with its dev dependencies): the final build reuses
# it from the cache, and the one the last change replaced goes.
build_as "localhost/kubeburst-build:$version" --target build
build_as "$IMAGE"
echo "$IMAGE"
