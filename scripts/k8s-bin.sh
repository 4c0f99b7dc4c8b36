#!/usr/bin/env bash
# Builds the real Kubernetes components the local cloud runs (kube-apiserver,
# kube-controller-manager, kube-scheduler, kube-proxy, kubelet, etcd) from the published Go
# modules, and the pause program of a pod sandbox from k8s.io/kubernetes's own C source.
#
#   K8S_VERSION       Kubernetes version to build (default below)
#   KUBEBURST_K8S_BIN a folder that already holds the binaries below: used as is, nothing is built
#   KUBEBURST_CACHE   cache root (default: <repo>/.cache/k8s)
#
# Output: $KUBEBURST_CACHE/<version>/bin, and a stable link $KUBEBURST_CACHE/bin to it.
# Does nothing when the binaries are already there.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${KUBEBURST_CACHE:-$ROOT/.cache/k8s}
BINS=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet etcd pause)

have_all() { for b in "${BINS[@]}"; do [ -x "$1/$b" ] || return 1; done; }
link_current() { mkdir -p "$CACHE"; ln -sfn "$1" "$CACHE/bin.tmp" && mv -T "$CACHE/bin.tmp" "$CACHE/bin"; }

if [ -n "${KUBEBURST_K8S_BIN:-}" ]; then
  if ! have_all "$KUBEBURST_K8S_BIN"; then
    echo "k8s-bin: KUBEBURST_K8S_BIN=$KUBEBURST_K8S_BIN must hold executables ${BINS[*]}" >&2
    exit 1
  fi
  link_current "$(cd "$KUBEBURST_K8S_BIN" && pwd)"
  echo "k8s-bin: using existing binaries in $KUBEBURST_K8S_BIN"
  exit 0
fi

OUT=$CACHE/$K8S_VERSION/bin
if have_all "$OUT"; then
  link_current "$OUT"
  echo "k8s-bin: Kubernetes $K8S_VERSION binaries present in $OUT"
  exit 0
fi

command -v go >/dev/null || { echo "k8s-bin: Go 1.24 or newer is needed to build the Kubernetes binaries (or set KUBEBURST_K8S_BIN)" >&2; exit 1; }
command -v gcc >/dev/null || { echo "k8s-bin: gcc is needed to build the pod sandbox's pause program (apt-get install gcc libc6-dev)" >&2; exit 1; }

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
MOD=$CACHE/$K8S_VERSION/module
mkdir -p "$MOD"
cd "$MOD"

echo "k8s-bin: reading k8s.io/kubernetes@$K8S_VERSION's go.mod"
upstream_mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$upstream_mod" ] || { echo "k8s-bin: could not download k8s.io/kubernetes@$K8S_VERSION" >&2; exit 1; }

minor=$(echo "$K8S_VERSION" | cut -d. -f2)
patch=$(echo "$K8S_VERSION" | cut -d. -f3)
staging_version="v0.$minor.$patch"
go_line=$(grep -m1 '^go ' "$upstream_mod")
godebug_line=$(grep -m1 '^godebug ' "$upstream_mod" || true)
etcd_version=$(awk '$1=="go.etcd.io/etcd/server/v3" {print $2; exit}' "$upstream_mod")
[ -n "$etcd_version" ] || { echo "k8s-bin: no go.etcd.io/etcd/server/v3 in k8s.io/kubernetes's go.mod" >&2; exit 1; }
# The staging modules: every k8s.io/* module that k8s.io/kubernetes requires at v0.0.0.
mapfile -t staging < <(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$upstream_mod" | sort -u)

{
  echo "module kubeburst.local/k8s-bin"
  echo
  echo "$go_line"
  [ -n "$godebug_line" ] && echo "$godebug_line"
  echo
  echo "require ("
  echo "	k8s.io/kubernetes $K8S_VERSION"
  echo "	go.etcd.io/etcd/server/v3 $etcd_version"
  echo ")"
  echo
  echo "replace ("
  for m in "${staging[@]}"; do echo "	$m => $m $staging_version"; done
  echo ")"
} > go.mod
echo "k8s-bin: ${#staging[@]} staging modules at $staging_version, etcd $etcd_version"

pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
mkdir -p "$OUT.partial"
echo "k8s-bin: compiling (the first build takes a long time on two cores)"
go build -trimpath -ldflags "$ldflags" -o "$OUT.partial/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kube-proxy \
  k8s.io/kubernetes/cmd/kubelet \
  go.etcd.io/etcd/server/v3
mv "$OUT.partial/server" "$OUT.partial/etcd"  # go names a /vN module's binary after the element before /vN
# The sandbox's pause program, as k8s.io/kubernetes's build/pause/Makefile builds it (static).
src=$(go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause
pause_tag=$(sed -n 's/^TAG ?= *//p' "$src/Makefile")
gcc -Os -Wall -Werror -static -DVERSION="v$pause_tag" -o "$OUT.partial/pause" "$src/linux/pause.c"
echo "$pause_tag" > "$OUT.partial/pause.version"
rm -rf "$OUT" && mv "$OUT.partial" "$OUT"
link_current "$OUT"
echo "k8s-bin: built Kubernetes $K8S_VERSION into $OUT"
