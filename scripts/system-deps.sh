#!/usr/bin/env bash
# Installs the Debian packages the local cloud needs (kube-proxy's nftables mode, network
# namespaces, conntrack, certificates, sysctl for IPv6 settings inside namespaces), Prometheus
# with promtool (the tests prove the alerting rules and the dashboard's queries on it), and what a
# kubelet node runs pods with: containerd, runc, the CNI plugins, nsenter/unshare (util-linux)
# and podman (it turns the locally built images into archives containerd imports). Does nothing
# when they are all present; starts no service (containerd is started by the tests, per node).
set -euo pipefail
declare -A need=([nft]=nftables [ip]=iproute2 [conntrack]=conntrack [openssl]=openssl [sysctl]=procps [promtool]=prometheus
  [containerd]=containerd [runc]=runc [/usr/lib/cni/bridge]=containernetworking-plugins [nsenter]=util-linux [podman]=podman)
missing=()
for cmd in "${!need[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: missing ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The prometheus package would start a server on :9090 on a machine whose init allows it; the tests
# start their own on loopback, so package installs may not start services (unless a policy exists).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
