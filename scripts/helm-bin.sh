#!/usr/bin/env bash
# Builds Helm from its published Go module, pinned, for the chart's tests (`helm lint`,
# `helm template`). Cached like the Kubernetes binaries (scripts/k8s-bin.sh).
#
#   HELM_VERSION          Helm version to build (default below)
#   KUBEBURST_HELM        an existing helm executable: used as is, nothing is built
#   KUBEBURST_HELM_CACHE  cache root (default: <repo>/.cache/helm)
#
# Output: <cache>/<version>/helm, and a stable link <cache>/helm to it.
# Does nothing when the binary is already there.
set -euo pipefail

HELM_VERSION=${HELM_VERSION:-v3.22.0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${KUBEBURST_HELM_CACHE:-$ROOT/.cache/helm}

link_current() { mkdir -p "$CACHE"; ln -sfn "$1" "$CACHE/helm.tmp" && mv -T "$CACHE/helm.tmp" "$CACHE/helm"; }

if [ -n "${KUBEBURST_HELM:-}" ]; then
  [ -x "$KUBEBURST_HELM" ] || { echo "helm-bin: KUBEBURST_HELM=$KUBEBURST_HELM is not an executable" >&2; exit 1; }
  link_current "$(cd "$(dirname "$KUBEBURST_HELM")" && pwd)/$(basename "$KUBEBURST_HELM")"
  echo "helm-bin: using $KUBEBURST_HELM"
  exit 0
fi

OUT=$CACHE/$HELM_VERSION/helm
if [ -x "$OUT" ]; then
  link_current "$HELM_VERSION/helm"  # relative: the cache may be shared by several clones
  echo "helm-bin: Helm $HELM_VERSION present in $OUT"
  exit 0
fi

command -v go >/dev/null || { echo "helm-bin: Go 1.24 or newer is needed to build Helm (or set KUBEBURST_HELM)" >&2; exit 1; }

major=$(echo "$HELM_VERSION" | cut -d. -f1)  # v3 or v4: the module path ends with it
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$CACHE/$HELM_VERSION"
echo "helm-bin: compiling helm.sh/helm/$major@$HELM_VERSION"
# Helm's module has no replace lines, so `go install` of its command works as is; the version
# string is set the way Helm's own Makefile does.
GOBIN="$CACHE/$HELM_VERSION/partial" go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/$major/internal/version.version=$HELM_VERSION -X helm.sh/helm/$major/internal/version.gitTreeState=clean" \
  "helm.sh/helm/$major/cmd/helm@$HELM_VERSION"
mv "$CACHE/$HELM_VERSION/partial/helm" "$OUT"
rmdir "$CACHE/$HELM_VERSION/partial"
link_current "$HELM_VERSION/helm"
echo "helm-bin: built Helm $HELM_VERSION into $OUT"
