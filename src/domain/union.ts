import { compareText } from "./compare-text.ts";
import type { Contribution, Endpoint } from "./endpoints.ts";
import { canonicalIp } from "./endpoints-subsets.ts";
import { mergeEndpoints } from "./merge-endpoints.ts";

/** How many distinct endpoint addresses one cluster contributes, by readiness. */
export interface ClusterEndpointCounts {
  cluster: string;
  ready: number;
  notReady: number;
}

/** A Service's union at a glance: what the writer logs with each write. */
export interface UnionSummary {
  /** One entry per cluster name, sorted by name. */
  clusters: ClusterEndpointCounts[];
  /** Endpoints in the slices we write (or would write). */
  written: number;
  /** Of those, the ready ones. */
  writtenReady: number;
}

/**
 * Counts each cluster's distinct addresses (copies across its groups merged as in the written
 * slices, so one ready copy makes the address ready) and the endpoints written. Contributions
 * with the same cluster name are counted together. Pure and total.
 */
export function summariseUnion(
  contributions: readonly Contribution[],
  written: readonly { endpoints: readonly Endpoint[] }[],
): UnionSummary {
  const byCluster = new Map<string, Endpoint[]>();
  for (const { cluster, groups } of contributions) {
    const list = byCluster.get(cluster) ?? [];
    for (const group of groups) {
      for (const { address, conditions } of group.endpoints) {
        list.push({ address: canonicalIp(address), conditions });
      }
    }
    byCluster.set(cluster, list);
  }
  const clusters = [...byCluster.keys()].sort(compareText).map((cluster) => {
    const endpoints = mergeEndpoints(byCluster.get(cluster) ?? []);
    const ready = endpoints.filter((e) => e.conditions.ready).length;
    return { cluster, ready, notReady: endpoints.length - ready };
  });
  const all = written.flatMap((slice) => slice.endpoints);
  return {
    clusters,
    written: all.length,
    writtenReady: all.filter((e) => e.conditions.ready).length,
  };
}
