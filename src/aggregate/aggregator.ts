import type { AggregationInfo, ServiceInfo } from "../controller/aggregation-info.ts";
import type { ServiceKey } from "../domain/service-key.ts";

export interface AggregatorOptions {
  /** The bounded channel the workers send on (SPEC M5). */
  source: AsyncIterable<AggregationInfo>;
  /** A Service's aggregate changed: hand its key to the writer. */
  onServiceChanged: (key: ServiceKey) => void;
  /** Every Service of a cluster's first list has been aggregated. */
  onClusterReady: (cluster: string) => void;
  /**
   * Whether `cluster` is still watched. A worker may send a snapshot of a cluster that was
   * removed while it worked; it arrives after "cluster-removed" and must not bring it back.
   */
  isLive: (cluster: string) => boolean;
}

/**
 * The one consumer of aggregation info: keeps, per Service, each cluster's latest snapshot, and
 * hands the key of every Service whose aggregate changed to the writer. The union itself is
 * computed by the pure domain functions when the writer asks for {@link Aggregator.views}.
 */
export class Aggregator {
  readonly #opts: AggregatorOptions;
  readonly #views = new Map<ServiceKey, Map<string, ServiceInfo>>();
  readonly #ready = new Set<string>();

  constructor(opts: AggregatorOptions) {
    this.#opts = opts;
  }

  /** Consumes the channel until it closes or `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    for await (const info of this.#opts.source) {
      if (signal.aborted) return;
      this.apply(info);
    }
  }

  /** Applies one piece of aggregation info (exposed for tests of the aggregation rules). */
  apply(info: AggregationInfo): void {
    switch (info.kind) {
      case "service":
        this.#applyService(info);
        return;
      case "cluster-ready":
        this.#ready.add(info.cluster);
        this.#opts.onClusterReady(info.cluster);
        return;
      case "cluster-removed":
        this.#ready.delete(info.cluster);
        for (const [key, byCluster] of this.#views) {
          if (byCluster.delete(info.cluster)) {
            if (byCluster.size === 0) this.#views.delete(key);
            this.#opts.onServiceChanged(key);
          }
        }
        return;
    }
  }

  /** Each cluster's latest snapshot of Service `key`. */
  views(key: ServiceKey): ServiceInfo[] {
    return [...(this.#views.get(key)?.values() ?? [])];
  }

  /** Keys of every Service some cluster reported a role or endpoints for. */
  keys(): ServiceKey[] {
    return [...this.#views.keys()];
  }

  /** Peak endpoints refused or dropped by the cap now, by cluster and reason (for the gauge). */
  refusedCounts(): { cluster: string; reason: string; count: number }[] {
    const counts = new Map<string, { cluster: string; reason: string; count: number }>();
    const add = (cluster: string, reason: string, n: number) => {
      const k = `${cluster}\0${reason}`;
      const entry = counts.get(k) ?? { cluster, reason, count: 0 };
      entry.count += n;
      counts.set(k, entry);
    };
    for (const byCluster of this.#views.values()) {
      for (const view of byCluster.values()) {
        for (const r of view.refused ?? []) add(view.cluster, r.reason, 1);
        if (view.truncated) add(view.cluster, "cap", view.truncated.dropped);
      }
    }
    return [...counts.values()];
  }

  /** True once cluster `name`'s initial state has been aggregated. */
  isReady(cluster: string): boolean {
    return this.#ready.has(cluster);
  }

  #applyService(info: ServiceInfo): void {
    if (!this.#opts.isLive(info.cluster)) return;
    let byCluster = this.#views.get(info.service);
    const previous = byCluster?.get(info.cluster);
    const relevant = info.role.kind !== "none";
    if (!relevant) {
      if (!previous) return; // nothing known, nothing changed
      byCluster!.delete(info.cluster);
      if (byCluster!.size === 0) this.#views.delete(info.service);
    } else {
      if (previous && sameContent(previous, info)) return;
      if (!byCluster) {
        byCluster = new Map();
        this.#views.set(info.service, byCluster);
      }
      byCluster.set(info.cluster, info);
    }
    this.#opts.onServiceChanged(info.service);
  }
}

function sameContent(a: ServiceInfo, b: ServiceInfo): boolean {
  const content = (i: ServiceInfo) =>
    JSON.stringify([i.clusterRole, i.role, i.production, i.contribution, i.refused, i.truncated]);
  return content(a) === content(b);
}
