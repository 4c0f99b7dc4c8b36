// The shape of bench/results/latest.json: every figure a run measured, and what it ran with.
import type { BenchOptions, SectionName } from "./bench-options.ts";
import type { Summary } from "./summarize.ts";

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** gitVersion of the local cloud's kube-apiserver, when a cluster section ran. */
  kubernetes?: string;
  /** 1-minute load average when the run started (other work on a shared machine). */
  loadAverageAtStart: number;
}

/** How responsive kubeburst stayed over a window. */
export interface LagFigures {
  /** Probes of /healthz sent (one every 100 ms, each after the previous answered). */
  probes: number;
  /** 99th percentile of their response times, ms. */
  probeP99Ms?: number;
  /** The longest a probe went unanswered, ms. */
  probeMaxMs?: number;
  /** prom-client's nodejs_eventloop_lag_p99_seconds, ms: the highest of the scrapes in the window. */
  eventLoopP99Ms?: number;
  /** prom-client's nodejs_eventloop_lag_max_seconds, ms: the highest of the scrapes in the window. */
  eventLoopMaxMs?: number;
}

/** Latencies of one phase (idle or churn) of one forwarder (kubeburst or the bare relay), ms. */
export interface LatencyPhase {
  /** Changes made and how many were seen end to end within the timeout. */
  changes: number;
  completed: number;
  /** Changes per second actually made (churn). */
  rate: number;
  /** In-cluster baseline: Pod Ready patch sent → the peak's slice change seen by a watch. */
  inCluster?: Summary;
  /** The forwarder's hop: the peak's slice change seen → the production slice change seen. */
  hop?: Summary;
  /** End to end: Pod Ready patch sent → the production slice change seen. */
  endToEnd?: Summary;
  /** The forwarder's CPU time over the phase, s, and per change, ms. */
  cpuSeconds?: number;
  cpuPerChangeMs?: number;
}

export interface ForwarderPropagation {
  idle: LatencyPhase;
  churn: LatencyPhase;
  peakRssMiB?: number;
}

export interface PropagationResult {
  services: number;
  changesPerPhase: number;
  churnPerSecond: number;
  kubeburst: ForwarderPropagation;
  relay: ForwarderPropagation;
}

/** One cold start: kubeburst started against production and a peak that already hold everything. */
export interface ColdStartRun {
  services: number;
  endpointsPerService: number;
  /** Node objects in production during the run. */
  productionNodes: number;
  /** Every Service reached its endpoints in production, before the deadline. */
  converged: boolean;
  /** Services that had all their endpoints at the end (all of them when converged). */
  servicesConverged: number;
  /** From kubeburst's start to the last Service's slices seen by a watch in production, s. */
  convergedSeconds: number;
  /** kubeburst_writer_writes_total once kubeburst had gone quiet after converging. */
  writes?: number;
  writeErrors?: number;
  /** One apply per slice kubeburst must hold: Σ ⌈endpoints / 100⌉ over the Services. */
  minimumWrites: number;
  /** Events kubeburst recorded in the Services' namespaces during the run. */
  events?: number;
  /** VmHWM when it had gone quiet, MiB. */
  peakRssMiB?: number;
  /** CPU time from start to converged, s. */
  cpuSeconds?: number;
  lag: LagFigures;
}

export interface ResyncFigures {
  /** Whether a full resync was seen (kubeburst_writer_noop_syncs_total rose by every Service). */
  observed: boolean;
  /** Window from the last converged write to the resync's end, s. */
  seconds: number;
  writes?: number;
  noopReconciles?: number;
  lag: LagFigures;
  /** Why the resync could not be measured (kubeburst never went quiet, say). */
  problem?: string;
}

export interface NodesResult {
  nodes: number;
  resyncPeriodSeconds: number;
  coldStart: ColdStartRun;
  /** Absent when the cold start did not converge (no resync is measured then). */
  resync?: ResyncFigures;
}

export interface SteadyStep {
  /** What changed in the peak. */
  change: string;
  /** kubeburst_writer_writes_total during the step, once quiet. */
  writes?: number;
  /** Seconds from the peak write to production showing it. */
  seconds?: number;
}

export interface SteadyResult {
  endpoints: number;
  /** kubeburst's slices for the Service once converged. */
  slices: number;
  initialWrites?: number;
  steps: SteadyStep[];
  resync: ResyncFigures;
}

/** The pure core's cost of mirroring one peak slice (no cluster). */
export interface CoreRow {
  endpoints: number;
  slices: number;
  planUs: number;
  noopUs: number;
}

export interface BurstResult {
  trials: number;
  p50Ms: number;
  maxMs: number;
  allMs: number[];
}

export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  command: string;
  options: BenchOptions;
  machine: MachineInfo;
  /** Every setting the run used, for BENCHMARKS.md. */
  settings: Record<string, string>;
  core?: CoreRow[];
  propagation?: PropagationResult;
  coldStart?: ColdStartRun[];
  endpoints?: ColdStartRun;
  nodes?: NodesResult;
  steady?: SteadyResult;
  burst?: BurstResult;
  /** Sections that failed or were skipped, and why. */
  problems: Partial<Record<SectionName, string>>;
}
