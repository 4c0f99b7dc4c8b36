import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { buildInfo } from "./build-info.ts";

/** What the controller of one watched cluster is doing. */
export const clusterStates = ["syncing", "synced", "unreachable", "refused", "stopped"] as const;
export type ClusterState = (typeof clusterStates)[number];

/**
 * What the cluster gauges show, read at every scrape from the state the status API reads too, so
 * that `/metrics` and `/status/v1` cannot disagree. Every declared cluster is here, the ones whose
 * kubeconfig was refused included.
 */
export interface ClusterSample {
  name: string;
  state: ClusterState;
  /** Peak only: its endpoints are withdrawn (failed for longer than staleTTL). */
  withdrawn: boolean;
  /** Wall-clock ms of the last moment it was known in sync; undefined before its first sync. */
  lastSyncAt: number | undefined;
  role: "production" | "peak";
}

/** The process-wide state the gauges read at scrape (see {@link Metrics.track}). */
export interface GaugeSource {
  clusters(): ClusterSample[];
  leader(): boolean;
  productionRangesKnown(): boolean;
}

/**
 * kubeburst's Prometheus metrics, as typed handles on one registry. Labels are bounded: cluster
 * names come from the config, results and verbs are fixed sets; never a Service name.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #queues = new Map<string, () => number>();

  #source: GaugeSource | undefined;

  constructor() {
    // Process and Node.js metrics, event-loop lag above all: one thread does everything here.
    collectDefaultMetrics({ register: this.registry });
    const info = buildInfo();
    this.buildInfo.set({ version: info.version, nodejs: info.nodejs }, 1);
  }

  /** The gauges of clusters, leadership and production's ranges read `source` at every scrape. */
  track(source: GaugeSource): void {
    this.#source = source;
  }

  /** 1, labelled with kubeburst's version and the Node.js version it runs on. */
  readonly buildInfo = new Gauge({
    name: "kubeburst_build_info",
    help: "Always 1; labelled with kubeburst's version and the Node.js version it runs on.",
    labelNames: ["version", "nodejs"] as const,
    registers: [this.registry],
  });

  /** How long one work item took, by stage: a worker's report, or the writer's reconcile. */
  readonly itemDuration = new Histogram({
    name: "kubeburst_item_duration_seconds",
    help: "Time to handle one Service key, by stage (report: a cluster's worker; write: the writer).",
    labelNames: ["stage"] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  /** 1 once production's own ranges (nodes, ServiceCIDRs, API server) are known; 0 before. */
  readonly productionRangesKnown = new Gauge({
    name: "kubeburst_production_ranges_known",
    help: "1 once production's own address ranges have been read; until then no peak endpoint is admitted.",
    registers: [this.registry],
    collect: () => {
      if (this.#source)
        this.productionRangesKnown.set(this.#source.productionRangesKnown() ? 1 : 0);
    },
  });

  /** Writes to the production cluster, by verb (apply, delete, update) and result (ok, error). */
  readonly writes = new Counter({
    name: "kubeburst_writer_writes_total",
    help: "Writes kubeburst made to the production cluster, by verb and result.",
    labelNames: ["verb", "result"] as const,
    registers: [this.registry],
  });

  /** Reconciles that found nothing to write. */
  readonly noopSyncs = new Counter({
    name: "kubeburst_writer_noop_syncs_total",
    help: "Service reconciles that found the production cluster already as desired.",
    registers: [this.registry],
  });

  /** Keys waiting in the work queues, read when scraped. */
  readonly queueDepth = new Gauge({
    name: "kubeburst_queue_depth",
    help: "Keys waiting in a work queue.",
    labelNames: ["queue"] as const,
    registers: [this.registry],
    collect: () => {
      for (const [queue, depth] of this.#queues) this.queueDepth.set({ queue }, depth());
    },
  });

  /** 1 for the state each watched cluster is in, 0 for the others. */
  readonly clusterState = new Gauge({
    name: "kubeburst_cluster_state",
    help: "State of each declared cluster (1 = current state); refused: its credentials or kubeconfig are refused.",
    labelNames: ["cluster", "state"] as const,
    registers: [this.registry],
    collect: () => {
      if (!this.#source) return;
      this.clusterState.reset();
      for (const c of this.#source.clusters()) {
        for (const s of clusterStates) {
          this.clusterState.set({ cluster: c.name, state: s }, s === c.state ? 1 : 0);
        }
      }
    },
  });

  /** 1 while this process leads and writes (always 1 without leader election). */
  readonly leader = new Gauge({
    name: "kubeburst_leader",
    help: "1 while this kubeburst process holds the leader Lease and writes.",
    registers: [this.registry],
    collect: () => {
      if (this.#source) this.leader.set(this.#source.leader() ? 1 : 0);
    },
  });

  /** 1 while a peak's endpoints are withdrawn because its API failed for longer than staleTTL. */
  readonly withdrawn = new Gauge({
    name: "kubeburst_cluster_withdrawn",
    help: "1 while a peak cluster's endpoints are withdrawn after failing for longer than staleTTL.",
    labelNames: ["cluster"] as const,
    registers: [this.registry],
    collect: () => {
      if (!this.#source) return;
      this.withdrawn.reset();
      for (const c of this.#source.clusters()) {
        if (c.role === "peak") this.withdrawn.set({ cluster: c.name }, c.withdrawn ? 1 : 0);
      }
    },
  });

  /** Unix time of the last moment each cluster was known in sync (absent before its first). */
  readonly lastSync = new Gauge({
    name: "kubeburst_cluster_last_sync_timestamp_seconds",
    help: "Unix time of the last moment each cluster's caches were known in sync (a list completed, or its API server answered while every watch was synced).",
    labelNames: ["cluster"] as const,
    registers: [this.registry],
    collect: () => {
      if (!this.#source) return;
      this.lastSync.reset();
      for (const c of this.#source.clusters()) {
        if (c.lastSyncAt !== undefined) this.lastSync.set({ cluster: c.name }, c.lastSyncAt / 1000);
      }
    },
  });

  /**
   * Seconds from the arrival of the watch event behind a change (in the cluster it happened in)
   * to the acknowledgement of the last write that made production hold it.
   */
  readonly propagation = new Histogram({
    name: "kubeburst_propagation_duration_seconds",
    help: "Time from the arrival of a watch event that changes a Service's endpoints to the acknowledgement of kubeburst's write of the change in production, by the cluster the event came from.",
    labelNames: ["cluster"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /**
   * The coarse end-to-end figure: from a peak slice's `last-change-trigger-time` annotation
   * (Pod condition times, one-second precision, set by the peak's EndpointSlice controller) to
   * the acknowledgement of our write. It includes the peak's own controller and up to a second of
   * rounding: read it in seconds, not milliseconds.
   */
  readonly triggerToWrite = new Histogram({
    name: "kubeburst_propagation_from_trigger_time_seconds",
    help: "Coarse end-to-end time from a peak slice's last-change-trigger-time annotation (one-second precision) to kubeburst's write in production.",
    labelNames: ["cluster"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });

  /** Endpoints currently refused, by source cluster and reason, read when scraped. */
  readonly refusedEndpoints = new Gauge({
    name: "kubeburst_refused_endpoints",
    help: "Peak endpoints currently refused by the address policy or dropped by the cap, by reason.",
    labelNames: ["cluster", "reason"] as const,
    registers: [this.registry],
    collect: () => {
      this.refusedEndpoints.reset();
      for (const { cluster, reason, count } of this.#refused()) {
        this.refusedEndpoints.inc({ cluster, reason }, count);
      }
    },
  });
  #refused: () => { cluster: string; reason: string; count: number }[] = () => [];

  /** Admitted peak endpoints not imported (a family the Service lacks), read when scraped. */
  readonly leftOutEndpoints = new Gauge({
    name: "kubeburst_left_out_endpoints",
    help: "Peak endpoints admitted by the address policy but not imported, by reason (family-mismatch: a family the production Service lacks).",
    labelNames: ["cluster", "reason"] as const,
    registers: [this.registry],
    collect: () => {
      this.leftOutEndpoints.reset();
      for (const { cluster, reason, count } of this.#leftOut()) {
        this.leftOutEndpoints.inc({ cluster, reason }, count);
      }
    },
  });
  #leftOut: () => { cluster: string; reason: string; count: number }[] = () => [];

  /** Reports the left-out endpoints `leftOut()` returns at every scrape. */
  trackLeftOut(leftOut: () => { cluster: string; reason: string; count: number }[]): void {
    this.#leftOut = leftOut;
  }

  /** Burst starts and ends, by policy and direction (started, ended). */
  readonly burstTransitions = new Counter({
    name: "kubeburst_burst_transitions_total",
    help: "Bursts that started or ended, by the Service's policy.",
    labelNames: ["policy", "direction"] as const,
    registers: [this.registry],
  });

  /** Services by burst policy and state (bursting, idle), read when scraped. */
  readonly burstServices = new Gauge({
    name: "kubeburst_burst_services",
    help: "Production Services by burst policy and state (bursting or idle).",
    labelNames: ["policy", "state"] as const,
    registers: [this.registry],
    collect: () => {
      this.burstServices.reset();
      for (const { policy, state, count } of this.#burst().services) {
        this.burstServices.set({ policy, state }, count);
      }
    },
  });

  /** Peak endpoints written ready, draining, unreachable, or left out by a share cap. */
  readonly burstEndpoints = new Gauge({
    name: "kubeburst_burst_peak_endpoints",
    help: "Peak endpoints over all Services: ready, draining (terminating), unreachable (probes), capped (left out by a share cap).",
    labelNames: ["state"] as const,
    registers: [this.registry],
    collect: () => {
      for (const [state, count] of Object.entries(this.#burst().endpoints)) {
        this.burstEndpoints.set({ state }, count);
      }
    },
  });
  #burst: () => {
    services: { policy: string; state: string; count: number }[];
    endpoints: Record<string, number>;
  } = () => ({ services: [], endpoints: {} });

  /** Reports the burst totals `totals()` returns at every scrape. */
  trackBurst(
    totals: () => {
      services: { policy: string; state: string; count: number }[];
      endpoints: Record<string, number>;
    },
  ): void {
    this.#burst = totals;
  }

  /** Reachability probes of peak endpoints, by peak cluster and result (success, failure). */
  readonly probes = new Counter({
    name: "kubeburst_probe_results_total",
    help: "TCP reachability probes of peak endpoints, by peak cluster and result.",
    labelNames: ["cluster", "result"] as const,
    registers: [this.registry],
  });

  /** Peak endpoints probed now, and how many of them are unreachable, by peak cluster. */
  readonly probeTargets = new Gauge({
    name: "kubeburst_probe_endpoints",
    help: "Peak endpoints under reachability probes, by peak cluster and state (reachable, unreachable).",
    labelNames: ["cluster", "state"] as const,
    registers: [this.registry],
  });

  /** Reports the refused endpoints `refused()` returns at every scrape. */
  trackRefused(refused: () => { cluster: string; reason: string; count: number }[]): void {
    this.#refused = refused;
  }

  /** Reports the depth of queue `name` as `depth()` at every scrape. */
  trackQueue(name: string, depth: () => number): void {
    this.#queues.set(name, depth);
  }

  /**
   * Drops the histograms of a cluster that was removed from the configuration (the gauges follow
   * the declared clusters by themselves).
   */
  forgetCluster(cluster: string): void {
    this.propagation.remove({ cluster });
    for (const result of ["success", "failure"]) this.probes.remove({ cluster, result });
    for (const state of ["reachable", "unreachable"]) this.probeTargets.remove({ cluster, state });
    this.triggerToWrite.remove({ cluster });
  }
}
