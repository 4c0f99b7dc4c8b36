import type { AddressFamily } from "../domain/endpoints.ts";
import { parseIpAddress } from "../domain/ip-address.ts";

/**
 * Where every local-cloud address comes from. All of them lie in 198.18.0.0/15, the range
 * reserved for network testing, or for IPv6 in 2001:2::/48 (RFC 5180, benchmarking), and exist
 * only inside namespaces the local cloud creates.
 *
 *   cluster i (0..15): nodes 198.18.(16i).(10+j), pods 198.18.(16i+1+⌊k/200⌋).(10+k mod 200),
 *                      pod and node range 198.18.(16i).0/20, Service range 198.19.i.0/24;
 *                      its API server, where pods reach it, 198.18.(16i).5; the pods a kubelet
 *                      runs on its node m (0..14) in 198.18.(16i+1+m).224/27, host parts that
 *                      no pod above uses (they end at .209).
 * Every namespace sits on one bridge with a /16, so all pods of all clusters reach each other:
 * the flat, routable network kubeburst assumes between clusters.
 *
 * For control-plane benchmarks, beyond what the data path uses:
 *   API-only nodes added in bulk (no namespace, no kube-proxy): cluster i, node k (0..1021):
 *                      InternalIP 198.19.(64+4i).0/22 + (k+1), pod CIDR a /30 of the cluster's
 *                      /20: 198.18.(16i+⌊k/64⌋).(4·(k mod 64))/30;
 *   two large extra Service ranges, 198.19.128.0/18 and 198.19.192.0/18, each of which one
 *                      cluster may add as a ServiceCIDR when it needs more than the 254
 *                      ClusterIPs of its /24.
 * Neither is ever on the fabric: only the API servers and kubeburst see them (a cluster with
 * API-only nodes runs no kubelet: their /30s may overlap kubelet pod subnets and the API address).
 *
 * IPv6 (clusters that run IPv6-only or dual-stack), the same shape in 2001:2::/48, whose fourth
 * group g numbers /64 subnets: cluster i owns g = 16i..16i+15 (its /60), nodes in g = 16i,
 * pods in g = 16i+1+⌊k/200⌋ (host part 10 + k mod 200, as in IPv4), Service range
 * 2001:2:0:(0x100+i)::/112. The whole /48 is on-link on the fabric, Services included.
 */
export const fabricPrefixLength = 16;
export const allServiceRanges = "198.19.0.0/16";
export const maxClusters = 16;

export function clusterRange(cluster: number): string {
  return `198.18.${16 * cluster}.0/20`;
}

export function serviceRange(cluster: number): string {
  return `198.19.${cluster}.0/24`;
}

export function nodeAddress(cluster: number, node: number): string {
  if (node < 0 || node > 200) throw new RangeError(`node index ${node} out of 0..200`);
  return `198.18.${16 * cluster}.${10 + node}`;
}

/** Where cluster `cluster`'s API server is exposed on the fabric (for pods and peaks' pods). */
export function apiFabricAddress(cluster: number): string {
  return `198.18.${16 * cluster}.5`;
}

/** The most kubelet nodes one cluster can have (see {@link kubeletPodSubnet}). */
export const maxKubeletNodes = 15;

/** The subnet of the pods that kubelet node `m` of cluster `cluster` runs (its CNI bridge). */
export function kubeletPodSubnet(cluster: number, m: number): string {
  if (!Number.isInteger(m) || m < 0 || m >= maxKubeletNodes) {
    throw new RangeError(`kubelet node index ${m} out of 0..${maxKubeletNodes - 1}`);
  }
  return `198.18.${16 * cluster + 1 + m}.224/27`;
}

export function podAddress(cluster: number, pod: number): string {
  const block = Math.floor(pod / 200);
  if (pod < 0 || block > 14) throw new RangeError(`pod index ${pod} out of 0..2999`);
  return `198.18.${16 * cluster + 1 + block}.${10 + (pod % 200)}`;
}

/**
 * Extra Service ranges for thousands of Services (16,382 ClusterIPs each): a cluster may add
 * one as a ServiceCIDR object; each range belongs to one cluster of a cloud at most.
 */
export const largeServiceRanges = ["198.19.128.0/18", "198.19.192.0/18"] as const;

/** The most API-only nodes one cluster can have (see {@link apiNodeAddress}). */
export const maxApiNodes = 1022;

function checkApiNode(cluster: number, node: number): void {
  if (!Number.isInteger(cluster) || cluster < 0 || cluster >= maxClusters) {
    throw new RangeError(`cluster index ${cluster} out of 0..${maxClusters - 1}`);
  }
  if (!Number.isInteger(node) || node < 0 || node >= maxApiNodes) {
    throw new RangeError(`API-only node index ${node} out of 0..${maxApiNodes - 1}`);
  }
}

/** InternalIP of API-only node `node` of cluster `cluster`: in 198.19.(64+4·cluster).0/22. */
export function apiNodeAddress(cluster: number, node: number): string {
  checkApiNode(cluster, node);
  const offset = node + 1; // skips the /22's network address; 1022 is its last before broadcast
  return `198.19.${64 + 4 * cluster + Math.floor(offset / 256)}.${offset % 256}`;
}

/** Pod CIDR of API-only node `node`: a /30 of the cluster's /20, as a node IPAM would carve it. */
export function apiNodePodCidr(cluster: number, node: number): string {
  checkApiNode(cluster, node);
  return `198.18.${16 * cluster + Math.floor(node / 64)}.${4 * (node % 64)}/30`;
}

/** An IP family setting of a local cluster: one family, or both (IPv4 primary). */
export const IP_FAMILY_OPTIONS = ["ipv4", "ipv6", "dual"] as const;
/** See {@link IP_FAMILY_OPTIONS}. */
export type IpFamilyOption = (typeof IP_FAMILY_OPTIONS)[number];

/** The address families of `option`, primary first. */
export function familiesOf(option: IpFamilyOption): AddressFamily[] {
  if (option === "ipv6") return ["IPv6"];
  if (option === "dual") return ["IPv4", "IPv6"];
  return ["IPv4"];
}

/** Prefix length of every IPv6 address on the fabric: all of 2001:2::/48 is one link. */
export const fabricPrefixLength6 = 48;

function ipv6(text: string): string {
  const parsed = parseIpAddress(text);
  if (parsed?.family !== "IPv6") throw new Error(`address plan made no IPv6 address: ${text}`);
  return parsed.canonical;
}

function checkCluster(cluster: number): void {
  if (!Number.isInteger(cluster) || cluster < 0 || cluster >= maxClusters) {
    throw new RangeError(`cluster index ${cluster} out of 0..${maxClusters - 1}`);
  }
}

/** The IPv6 range of the nodes and pods of cluster `cluster` (a /60), canonical. */
export function clusterRange6(cluster: number): string {
  checkCluster(cluster);
  return `${ipv6(`2001:2:0:${(16 * cluster).toString(16)}::`)}/60`;
}

/** The IPv6 Service range of cluster `cluster` (a /112), canonical. */
export function serviceRange6(cluster: number): string {
  checkCluster(cluster);
  return `${ipv6(`2001:2:0:${(0x100 + cluster).toString(16)}::`)}/112`;
}

/** IPv6 address of node `node` of cluster `cluster` (same numbering as {@link nodeAddress}). */
export function nodeAddress6(cluster: number, node: number): string {
  checkCluster(cluster);
  if (node < 0 || node > 200) throw new RangeError(`node index ${node} out of 0..200`);
  return ipv6(`2001:2:0:${(16 * cluster).toString(16)}::${(10 + node).toString(16)}`);
}

/** IPv6 address of pod `pod` of cluster `cluster` (same numbering as {@link podAddress}). */
export function podAddress6(cluster: number, pod: number): string {
  checkCluster(cluster);
  const block = Math.floor(pod / 200);
  if (pod < 0 || block > 14) throw new RangeError(`pod index ${pod} out of 0..2999`);
  const subnet = (16 * cluster + 1 + block).toString(16);
  return ipv6(`2001:2:0:${subnet}::${(10 + (pod % 200)).toString(16)}`);
}
