/**
 * Where every local-cloud address comes from. All of them lie in 198.18.0.0/15, the range
 * reserved for network testing, and exist only inside namespaces the local cloud creates.
 *
 *   cluster i (0..15): nodes 198.18.(16i).(10+j), pods 198.18.(16i+1+⌊k/200⌋).(10+k mod 200),
 *                      pod and node range 198.18.(16i).0/20, Service range 198.19.i.0/24.
 * Every namespace sits on one bridge with a /16, so all pods of all clusters reach each other:
 * the flat, routable network kubeburst assumes between clusters.
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

export function podAddress(cluster: number, pod: number): string {
  const block = Math.floor(pod / 200);
  if (pod < 0 || block > 14) throw new RangeError(`pod index ${pod} out of 0..2999`);
  return `198.18.${16 * cluster + 1 + block}.${10 + (pod % 200)}`;
}
