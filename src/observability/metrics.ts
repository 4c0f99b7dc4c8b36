import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** What the controller of one watched cluster is doing. */
export const clusterStates = ["syncing", "synced", "unreachable", "refused", "stopped"] as const;
export type ClusterState = (typeof clusterStates)[number];

/**
 * kubeburst's Prometheus metrics, as typed handles on one registry. Labels are bounded: cluster
 * names come from the config, results and verbs are fixed sets; never a Service name.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #queues = new Map<string, () => number>();

  constructor() {
    // Process and Node.js metrics, event-loop lag above all: one thread does everything here.
    collectDefaultMetrics({ register: this.registry });
  }

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
    help: "State of each watched cluster's controller (1 = current state).",
    labelNames: ["cluster", "state"] as const,
    registers: [this.registry],
  });

  /** 1 while this process leads and writes (always 1 without leader election). */
  readonly leader = new Gauge({
    name: "kubeburst_leader",
    help: "1 while this kubeburst process holds the leader Lease and writes.",
    registers: [this.registry],
  });

  /** 1 while a peak's endpoints are withdrawn because its API failed for longer than staleTTL. */
  readonly withdrawn = new Gauge({
    name: "kubeburst_cluster_withdrawn",
    help: "1 while a peak cluster's endpoints are withdrawn after failing for longer than staleTTL.",
    labelNames: ["cluster"] as const,
    registers: [this.registry],
  });

  /** Seconds from a change in a source cluster (its trigger time) to our write of it. */
  readonly propagation = new Histogram({
    name: "kubeburst_propagation_duration_seconds",
    help: "Time from an endpoint change in a source cluster to kubeburst's write in production.",
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

  /** Drops every series of a cluster that was removed from the configuration. */
  forgetCluster(cluster: string): void {
    for (const state of clusterStates) this.clusterState.remove({ cluster, state });
    this.withdrawn.remove({ cluster });
    this.propagation.remove({ cluster });
    for (const result of ["success", "failure"]) this.probes.remove({ cluster, result });
    for (const state of ["reachable", "unreachable"]) this.probeTargets.remove({ cluster, state });
  }

  /** Sets the state gauge of `cluster` to `state`. */
  setClusterState(cluster: string, state: ClusterState): void {
    for (const s of clusterStates)
      this.clusterState.set({ cluster, state: s }, s === state ? 1 : 0);
  }
}
