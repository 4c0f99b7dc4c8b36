import { sameBurstInputs } from "../controller/burst-inputs.ts";
import type { PeakReport, ProductionReport, ServiceReport } from "../controller/report.ts";
import { endpointsOfOtherFamilies } from "../domain/family-left-out.ts";
import { pairs } from "../domain/labels.ts";
import type { ProductionService } from "../domain/production-service.ts";
import type { ServiceKey } from "../domain/service-key.ts";
import type { LoopYielder } from "../runtime/loop-yielder.ts";

/**
 * What the aggregator knows of a declared cluster: `unknown` until its first list has been
 * reported in full, `ready` after, `withdrawn` while its endpoints are withdrawn (SPEC B3).
 */
export type ClusterKnowledge = "unknown" | "ready" | "withdrawn";

/** A change in a cluster's life, sent on the same channel as the reports so it stays in order. */
export interface ClusterEvent {
  kind:
    | "cluster-added"
    | "cluster-ready"
    | "cluster-withdrawn"
    | "cluster-restored"
    | "cluster-removed";
  cluster: string;
  /** For "cluster-ready": the generation of the controller whose first list is complete. */
  generation?: number;
  /**
   * For "cluster-withdrawn" and "cluster-removed": when it was decided (clock ms), so that the
   * propagation of the withdrawal is timed like any other change.
   */
  observedAt?: number;
}

/** A change of one Service's aggregate: which cluster's report made it, when its event arrived. */
export interface ServiceChange {
  cluster: string;
  /** Clock ms at which the watch event behind the report arrived. */
  observedAt: number;
}

/** What the workers send on the bounded channel to the aggregator (SPEC M5). */
export type AggregationInfo = ServiceReport | ClusterEvent;

/** One production Service and what the write needs to know about it. */
export interface ServiceState {
  /** The production side, when the Service takes part in production. */
  production: ProductionReport | undefined;
  /** Reports of ready peak clusters that pair with it. */
  peaks: PeakReport[];
  /** Peak clusters declared but not yet known: what was written for them stays as it is. */
  unknown: string[];
  /** Label conflicts, by cluster. */
  conflicts: { cluster: string; reason: string }[];
}

export interface AggregatorOptions {
  /** The bounded channel the workers send on (SPEC M5). */
  source: AsyncIterable<AggregationInfo>;
  /** The production cluster's name. */
  production: string;
  /** A Service's aggregate changed: hand its key to the writer. */
  onServiceChanged: (key: ServiceKey) => void;
  /** Every Service of a cluster's first list has been aggregated. */
  onClusterReady: (cluster: string) => void;
  /**
   * A cluster was withdrawn or removed. Services it never reported (a peak not synced since
   * start) may still hold what was written for it: the caller hands those to the writer.
   */
  onClusterDropped: (cluster: string) => void;
  /** Lets the event loop breathe during long runs of messages. */
  yielder: LoopYielder;
}

/**
 * The one consumer of aggregation info: keeps, per Service, each cluster's latest report and,
 * per cluster, what is known of it, and hands the key of every Service whose aggregate changed
 * to the writer. A report equal to the one it replaces changes nothing; comparing is cheap,
 * because an unchanged peak slice arrives as the same Source object.
 */
export class Aggregator {
  readonly #opts: AggregatorOptions;
  readonly #reports = new Map<ServiceKey, Map<string, ServiceReport>>();
  /** Keys each cluster reported (for removal and for the Services a peak serves). */
  readonly #keysOf = new Map<string, Set<ServiceKey>>();
  readonly #clusters = new Map<string, ClusterKnowledge>();
  /** The generation of each cluster's controller whose first list completed last. */
  readonly #generations = new Map<string, number>();
  /** Refused addresses now, by cluster and reason (kept up to date, read at scrape). */
  readonly #refused = new Map<string, Map<string, number>>();
  /** Admitted peak endpoints of a family the Service lacks, by Service and cluster (SPEC B7). */
  readonly #leftOut = new Map<ServiceKey, Map<string, number>>();
  /** The sums of {@link #leftOut} by cluster. */
  readonly #leftOutByCluster = new Map<string, number>();
  /** Per Service, the earliest change the writer has not taken yet (see takeChange). */
  readonly #changes = new Map<ServiceKey, ServiceChange>();

  constructor(opts: AggregatorOptions) {
    this.#opts = opts;
  }

  /** Consumes the channel until it closes or `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    for await (const info of this.#opts.source) {
      if (signal.aborted) return;
      this.apply(info);
      await this.#opts.yielder.maybeYield();
    }
  }

  /** Applies one piece of aggregation info (exposed for tests of the aggregation rules). */
  apply(info: AggregationInfo): void {
    switch (info.kind) {
      case "production":
      case "peak":
      case "none":
      case "conflict":
        this.#applyReport(info);
        return;
      case "cluster-added":
        if (!this.#clusters.has(info.cluster)) this.#clusters.set(info.cluster, "unknown");
        return;
      case "cluster-ready":
        if (this.#clusters.get(info.cluster) === "withdrawn") return;
        this.#clusters.set(info.cluster, "ready");
        this.#generations.set(info.cluster, info.generation ?? 0);
        this.#sweep(info.cluster, info.generation ?? 0);
        for (const key of this.#keysOf.get(info.cluster) ?? []) this.#changed(key);
        this.#opts.onClusterReady(info.cluster);
        return;
      case "cluster-withdrawn":
        this.#clusters.set(info.cluster, "withdrawn");
        this.#dropCluster(info.cluster, info.observedAt);
        this.#opts.onClusterDropped(info.cluster);
        return;
      case "cluster-restored":
        this.#clusters.set(info.cluster, "ready");
        return;
      case "cluster-removed":
        this.#clusters.delete(info.cluster);
        this.#generations.delete(info.cluster);
        this.#dropCluster(info.cluster, info.observedAt);
        this.#opts.onClusterDropped(info.cluster);
        return;
    }
  }

  /** What is known of `cluster`; undefined when it is not declared. */
  knowledge(cluster: string): ClusterKnowledge | undefined {
    return this.#clusters.get(cluster);
  }

  /** True once cluster `name`'s initial state has been aggregated. */
  isReady(cluster: string): boolean {
    return this.#clusters.get(cluster) === "ready";
  }

  /** The production Service `key` and the peaks that pair with it, as known now. */
  serviceState(key: ServiceKey): ServiceState {
    const reports = [...(this.#reports.get(key)?.values() ?? [])];
    const production = reports.find(
      (r): r is ProductionReport => r.kind === "production" && r.cluster === this.#opts.production,
    );
    // Only ready clusters: nothing is written from half of a cluster's first list (SPEC M4).
    const peaks = production
      ? reports.filter(
          (r): r is PeakReport =>
            r.kind === "peak" &&
            this.#clusters.get(r.cluster) === "ready" &&
            pairs(production.role, r.role, production.cluster, r.cluster),
        )
      : [];
    const unknown = [...this.#clusters]
      .filter(([name, k]) => k === "unknown" && name !== this.#opts.production)
      .map(([name]) => name);
    const conflicts = reports.flatMap((r) =>
      r.kind === "conflict" ? [{ cluster: r.cluster, reason: r.reason }] : [],
    );
    return { production, peaks, unknown, conflicts };
  }

  /**
   * The earliest change of Service `key` since the last call, and forgets it: the writer takes
   * it once production holds the result, to measure the change's propagation.
   */
  takeChange(key: ServiceKey): ServiceChange | undefined {
    const change = this.#changes.get(key);
    this.#changes.delete(key);
    return change;
  }

  /**
   * Forgets every untaken change: a replica that starts leading did not carry the changes it saw
   * as a standby (the leader of the time did), so their clocks would measure the wait for the
   * Lease, not a propagation.
   */
  forgetChanges(): void {
    this.#changes.clear();
  }

  /** Every cluster's latest report of Service `key`, ready or not (for the status API). */
  reportsOf(key: ServiceKey): ServiceReport[] {
    return [...(this.#reports.get(key)?.values() ?? [])];
  }

  /** Every declared cluster and what is known of it. */
  clusters(): [string, ClusterKnowledge][] {
    return [...this.#clusters];
  }

  /**
   * What `cluster` contributes now: the Services it reports a part in, and, for a peak, the
   * endpoints admitted (after the cap) and refused over all of them. Linear in its Services.
   */
  contribution(cluster: string): {
    services: number;
    admitted: number;
    refused: number;
    byReason: Record<string, number>;
  } {
    let admitted = 0;
    let refused = 0;
    const keys = this.#keysOf.get(cluster) ?? new Set<ServiceKey>();
    for (const key of keys) {
      const report = this.#reports.get(key)?.get(cluster);
      if (report?.kind !== "peak") continue;
      for (const source of report.sources.values()) admitted += source.group?.endpoints.length ?? 0;
    }
    const byReason: Record<string, number> = {};
    for (const [reason, count] of this.#refused.get(cluster) ?? []) {
      if (count <= 0) continue;
      refused += count;
      byReason[reason] = count;
    }
    return { services: keys.size, admitted, refused, byReason };
  }

  /** Keys of every Service some cluster reported a part in. */
  keys(): ServiceKey[] {
    return [...this.#reports.keys()];
  }

  /** The production Services that peak `cluster` contributes to now. */
  servicesServedBy(cluster: string): ProductionService[] {
    return [...(this.#keysOf.get(cluster) ?? [])].flatMap((key) => {
      const state = this.serviceState(key);
      return state.production && state.peaks.some((p) => p.cluster === cluster)
        ? [state.production.production]
        : [];
    });
  }

  /** Peak endpoints refused or dropped by the cap now, by cluster and reason (for the gauge). */
  refusedCounts(): { cluster: string; reason: string; count: number }[] {
    return [...this.#refused].flatMap(([cluster, byReason]) =>
      [...byReason]
        .filter(([, count]) => count > 0)
        .map(([reason, count]) => ({ cluster, reason, count })),
    );
  }

  /**
   * Peak endpoints admitted by the address policy but not imported, by cluster and reason:
   * "family-mismatch" for those of a family the production Service lacks (for the gauge).
   */
  leftOutCounts(): { cluster: string; reason: string; count: number }[] {
    return [...this.#leftOutByCluster]
      .filter(([, count]) => count > 0)
      .map(([cluster, count]) => ({ cluster, reason: "family-mismatch", count }));
  }

  /** Admitted endpoints of `cluster` left out for a family their Service lacks, now. */
  leftOutOf(cluster: string): number {
    return this.#leftOutByCluster.get(cluster) ?? 0;
  }

  /** Service `key`'s aggregate changed: recount what it leaves out, then tell the writer. */
  #changed(key: ServiceKey): void {
    this.#recountLeftOut(key);
    this.#opts.onServiceChanged(key);
  }

  /** Linear in the Service's peak sources, as the writer's own pass over them is. */
  #recountLeftOut(key: ServiceKey): void {
    const state = this.serviceState(key);
    const now = new Map<string, number>();
    const families = state.production?.production.ipFamilies ?? [];
    for (const peak of state.peaks) {
      const n = endpointsOfOtherFamilies(families, peak.sources.values());
      if (n > 0) now.set(peak.cluster, (now.get(peak.cluster) ?? 0) + n);
    }
    const before = this.#leftOut.get(key);
    for (const [cluster, n] of before ?? []) this.#addLeftOut(cluster, -n);
    for (const [cluster, n] of now) this.#addLeftOut(cluster, n);
    if (now.size > 0) this.#leftOut.set(key, now);
    else this.#leftOut.delete(key);
  }

  #addLeftOut(cluster: string, n: number): void {
    const total = (this.#leftOutByCluster.get(cluster) ?? 0) + n;
    if (total === 0) this.#leftOutByCluster.delete(cluster);
    else this.#leftOutByCluster.set(cluster, total);
  }

  #applyReport(report: ServiceReport): void {
    const knowledge = this.#clusters.get(report.cluster);
    // A removed or withdrawn cluster's late report must not bring it back.
    if (knowledge === undefined || knowledge === "withdrawn") return;
    // A replaced controller's report, late on the channel, never overwrites its successor's.
    if (report.generation < (this.#generations.get(report.cluster) ?? 0)) return;
    const byCluster = this.#reports.get(report.service);
    const previous = byCluster?.get(report.cluster);
    if (previous && previous.generation > report.generation) return;
    if (report.kind === "none") {
      if (!previous) return;
      this.#forget(report.service, report.cluster, previous);
    } else {
      if (previous && sameReport(previous, report)) {
        if (previous.generation !== report.generation) byCluster!.set(report.cluster, report);
        return;
      }
      this.#count(previous, -1);
      this.#count(report, +1);
      let reports = byCluster;
      if (!reports) {
        reports = new Map();
        this.#reports.set(report.service, reports);
      }
      reports.set(report.cluster, report);
      let keys = this.#keysOf.get(report.cluster);
      if (!keys) {
        keys = new Set();
        this.#keysOf.set(report.cluster, keys);
      }
      keys.add(report.service);
    }
    if (report.observedAt !== undefined && !this.#changes.has(report.service)) {
      this.#changes.set(report.service, { cluster: report.cluster, observedAt: report.observedAt });
    }
    this.#changed(report.service);
  }

  /** A replacement controller's first list is complete: what only its predecessor saw is gone. */
  #sweep(cluster: string, generation: number): void {
    for (const key of [...(this.#keysOf.get(cluster) ?? [])]) {
      const report = this.#reports.get(key)?.get(cluster);
      if (report && report.generation < generation) {
        this.#forget(key, cluster, report);
        this.#changed(key);
      }
    }
  }

  #dropCluster(cluster: string, observedAt: number | undefined): void {
    for (const key of [...(this.#keysOf.get(cluster) ?? [])]) {
      const report = this.#reports.get(key)?.get(cluster);
      if (report) {
        this.#forget(key, cluster, report);
        if (observedAt !== undefined && !this.#changes.has(key)) {
          this.#changes.set(key, { cluster, observedAt });
        }
        this.#changed(key);
      }
    }
    this.#keysOf.delete(cluster);
    this.#refused.delete(cluster);
  }

  #forget(key: ServiceKey, cluster: string, report: ServiceReport): void {
    this.#count(report, -1);
    const byCluster = this.#reports.get(key);
    byCluster?.delete(cluster);
    if (byCluster?.size === 0) this.#reports.delete(key);
    this.#keysOf.get(cluster)?.delete(key);
  }

  #count(report: ServiceReport | undefined, sign: 1 | -1): void {
    if (report?.kind !== "peak") return;
    let byReason = this.#refused.get(report.cluster);
    if (!byReason) {
      byReason = new Map();
      this.#refused.set(report.cluster, byReason);
    }
    const add = (reason: string, n: number) =>
      byReason.set(reason, (byReason.get(reason) ?? 0) + sign * n);
    for (const [reason, n] of report.refused) add(reason, n);
    if (report.truncated) add("cap", report.truncated.dropped);
  }
}

/**
 * Whether two reports of one cluster and Service mean the same. Peak sources compare by
 * identity: the worker passes an unchanged peak slice on as the same object.
 */
export function sameReport(a: ServiceReport, b: ServiceReport): boolean {
  switch (a.kind) {
    case "none":
      return b.kind === "none";
    case "conflict":
      return b.kind === "conflict" && a.reason === b.reason;
    case "production":
      return (
        b.kind === "production" &&
        a.role.peerCluster === b.role.peerCluster &&
        sameProduction(a.production, b.production) &&
        sameBurstInputs(a.burst, b.burst)
      );
    case "peak":
      return (
        b.kind === "peak" &&
        a.role.peerCluster === b.role.peerCluster &&
        a.truncated?.kept === b.truncated?.kept &&
        a.truncated?.dropped === b.truncated?.dropped &&
        a.sources.size === b.sources.size &&
        [...a.sources].every(([name, source]) => b.sources.get(name) === source)
      );
  }
}

/** Whether two production Services would be written to alike. */
export function sameProduction(a: ProductionService, b: ProductionService): boolean {
  return (
    a.uid === b.uid &&
    a.type === b.type &&
    a.hasSelector === b.hasSelector &&
    a.ipFamilies.join() === b.ipFamilies.join() &&
    a.ports.length === b.ports.length &&
    a.ports.every((p, i) => {
      const q = b.ports[i]!;
      return p.name === q.name && p.port === q.port && p.protocol === q.protocol;
    })
  );
}
