import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type AggregationInfo, Aggregator } from "../aggregate/aggregator.ts";
import type { ClusterSpec } from "../config/cluster-spec.ts";
import type { Config } from "../config/load-config.ts";
import { ClusterController } from "../controller/cluster-controller.ts";
import { DenyListKeeper, productionDenyList } from "../controller/peak-policy.ts";
import type { ProductionService } from "../domain/production-service.ts";
import type { ServiceKey } from "../domain/service-key.ts";
import type { KubeClient } from "../kube/kube-client.ts";
import type { Logger } from "../observability/logger.ts";
import type { ClusterSample, Metrics } from "../observability/metrics.ts";
import type { ClusterStatus } from "../observability/status-model.ts";
import { Channel } from "../runtime/channel.ts";
import type { Clock } from "../runtime/clock.ts";
import { LoopYielder } from "../runtime/loop-yielder.ts";
import { createRateLimiter } from "../runtime/rate-limiter.ts";
import { type BurstDecisionView, BurstStage } from "../writer/burst-stage.ts";
import { alwaysFence, type Fence } from "../writer/fence.ts";
import { ServiceEvents } from "../writer/service-events.ts";
import { Writer } from "../writer/writer.ts";
import { ClusterRegistry, type RunningCluster } from "./cluster-registry.ts";
import { LeaderElector } from "./leader-election.ts";
import { PeerHealth } from "./peer-health.ts";
import { ProblemLog } from "./problem-log.ts";
import { ReachabilityProbes } from "./reachability-probes.ts";
import { peakMaxBackoffMs } from "./stale-policy.ts";
import { policyStatusOf, StatusView } from "./status-view.ts";
import { WriteScheduler } from "./write-scheduler.ts";

export interface ForwardingControllerOptions {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** With leader election: this process led and could not renew; the caller should exit. */
  onLostLeadership?: () => void;
}

/** How a frozen API server is found out: it must answer the probe within this, twice in a row. */
const PROBE_FAILURES = 2;

/**
 * kubeburst's main job, wired (SPEC M1–M8): the registry keeps one ClusterController per declared
 * cluster; each reports its Services on one bounded channel; the aggregator keeps every cluster's
 * latest report and hands changed Services to the write scheduler, which runs the writer once this
 * process may write. Everything with a decision in it lives in those parts; this file only wires.
 */
export class ForwardingController {
  readonly #opts: ForwardingControllerOptions;
  readonly #log: Logger;
  readonly #yielder = new LoopYielder();
  readonly #channel: Channel<AggregationInfo>;
  readonly #registry: ClusterRegistry;
  readonly #aggregator: Aggregator;
  readonly #scheduler: WriteScheduler;
  readonly #health: PeerHealth;
  /** Leadership, once elected; the writer's fence asks it before every write. */
  #elector: LeaderElector | undefined;
  readonly #fence: Fence;
  /** Production's deny list as last read; unknown until it has been read (SPEC B15). */
  readonly #denied = new DenyListKeeper();
  /** Reachability probes of peak endpoints (SPEC B4). */
  readonly #probes: ReachabilityProbes;
  /** The burst policy between aggregator and writer (SPEC B5). */
  readonly #burst: BurstStage;
  /** The status API's documents, from the same state as the gauges. */
  readonly status: StatusView;

  constructor(opts: ForwardingControllerOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    const { clock, config, metrics } = opts;
    const electing = config.leaderElection.enabled;
    this.#fence = electing
      ? {
          canWrite: () => this.#elector?.canWrite() ?? false,
          writeBudgetMs: () => this.#elector?.writeBudgetMs() ?? 0,
        }
      : alwaysFence;
    this.#channel = new Channel(config.channelCapacity);
    this.#registry = new ClusterRegistry({
      config,
      clock,
      logger: opts.logger,
      problems: new ProblemLog(opts.logger),
      newController: (spec, client, generation, synced) =>
        this.#newController(spec, client, generation, synced),
      onAdded: (running) => this.#onAdded(running),
      onSynced: (running, replaced) => this.#onSynced(running, replaced),
      onRemoved: (name) => this.#onRemoved(name),
    });
    const production = () => this.#registry.production()?.controller;
    this.#aggregator = new Aggregator({
      source: this.#channel,
      production: this.#registry.productionSpec.name,
      onServiceChanged: (key) => this.#scheduler.add(key),
      onClusterReady: (cluster) => {
        this.#log.info({ cluster }, "cluster's initial state aggregated");
        // Slices written for it while it was unknown are compared again now.
        for (const key of production()?.servicesWithOurSlices() ?? []) this.#scheduler.add(key);
        this.#scheduler.clusterReady();
      },
      onClusterDropped: (cluster) => {
        for (const key of production()?.servicesWithOurSlices(cluster) ?? []) {
          this.#scheduler.add(key);
        }
      },
      yielder: this.#yielder,
    });
    const events = new ServiceEvents({
      recorder: () => this.#registry.production()?.events,
      fence: this.#fence,
      logger: opts.logger.child({ component: "events" }),
    });
    this.#probes = new ReachabilityProbes({
      clock,
      metrics,
      logger: opts.logger.child({ component: "probes" }),
      concurrency: config.burst.probeConcurrency,
      settings: (cluster) => this.#probeSettings(cluster),
      onChange: (keys, target, reachable) => {
        const services = keys.flatMap((key) => {
          this.#scheduler.add(key);
          return this.#aggregator.serviceState(key).production?.production ?? [];
        });
        const where = `${target.address}:${target.port} of peak cluster ${target.cluster}`;
        void events.record(
          services,
          reachable ? "Normal" : "Warning",
          reachable ? "PeakEndpointReachable" : "PeakEndpointUnreachable",
          reachable
            ? `${where} answers TCP probes again; it is written ready again`
            : `${where} does not answer TCP probes; it is written not ready until it does`,
          this.#probeSignal,
        );
      },
    });
    this.#burst = new BurstStage({
      defaults: { policy: config.burst.defaultPolicy, holdMs: config.burst.holdMs },
      drainMs: config.burst.drainMs,
      clock,
      metrics,
      logger: opts.logger.child({ component: "burst" }),
      events,
      live: (cluster) => this.#aggregator.knowledge(cluster) === "ready",
      probed: (cluster) => this.#probeSettings(cluster) !== undefined,
      unreachable: (cluster, address) => this.#probes.unreachable(cluster, address),
      track: (key, targets) => this.#probes.track(key, targets),
      wake: (key) => this.#scheduler.add(key),
    });
    const writer = new Writer({
      mode: config.mode,
      installation: config.namespace,
      aggregator: this.#aggregator,
      production,
      events,
      fence: this.#fence,
      metrics,
      logger: opts.logger.child({ component: "writer" }),
      clock,
      apiTimeoutMs: config.api.timeoutMs,
      burst: this.#burst,
    });
    this.#scheduler = new WriteScheduler({
      writer,
      aggregator: this.#aggregator,
      production,
      clock,
      logger: opts.logger.child({ component: "writer" }),
      metrics,
      yielder: this.#yielder,
      rateLimiter: () => this.#rateLimiter(),
      workers: config.workers,
      resyncMs: config.resyncPeriodMs,
      syncTimeoutMs: config.syncTimeoutMs,
      leading: !electing,
    });
    this.#health = new PeerHealth({
      clock,
      staleTTLMs: config.staleTTLMs,
      channel: this.#channel,
      events,
      logger: opts.logger.child({ component: "peer-health" }),
      controller: (cluster) => this.#registry.get(cluster)?.controller,
      servedBy: (cluster) => this.#servedBy(cluster),
    });
    metrics.trackRefused(() => this.#aggregator.refusedCounts());
    metrics.trackLeftOut(() => this.#aggregator.leftOutCounts());
    metrics.track({
      clusters: () => this.#clusterSamples(),
      leader: () => this.#leading(),
      productionRangesKnown: () => this.#denied.current !== undefined,
    });
    this.status = new StatusView({
      clock,
      metrics,
      aggregator: this.#aggregator,
      clusters: () => this.clusters(),
      readiness: () => this.readiness(),
      leader: () => this.#leading(),
      productionRangesKnown: () => this.#denied.current !== undefined,
      production: () => {
        const prod = this.#registry.production()?.controller;
        return {
          name: this.#registry.productionSpec.name,
          client: prod?.client,
          ourSlicesOf: (key) => prod?.ourSlicesOf(key) ?? [],
          servicesWithOurSlices: () => prod?.servicesWithOurSlices() ?? [],
        };
      },
      history: (key) => writer.history(key),
      yielder: this.#yielder,
      policyOf: (key) => policyStatusOf(this.#burst.decision(key)),
    });
    metrics.trackQueue("input", () =>
      this.#registry.all().reduce((sum, c) => sum + c.controller.queueDepth(), 0),
    );
  }

  /**
   * Every declared cluster's status, production first, the ones whose kubeconfig is refused
   * included: the list both the status API and the cluster gauges show.
   */
  clusters(): ClusterStatus[] {
    return this.#registry.declared().map((declared) => {
      const { spec, running, refused } = declared;
      const sample = this.#sample(declared);
      const c = running?.controller;
      const part = this.#aggregator.contribution(spec.name);
      const peak = spec.role === "peak";
      const reason =
        refused ?? (c ? c.cause?.message : "not started yet (waiting for production's first sync)");
      return {
        name: spec.name,
        role: spec.role,
        source: spec.source,
        state: sample.state,
        ...(reason !== undefined && sample.state !== "synced" ? { reason } : {}),
        withdrawn: sample.withdrawn,
        lastSuccessfulSync:
          sample.lastSyncAt === undefined ? null : new Date(sample.lastSyncAt).toISOString(),
        informers: c?.informers() ?? [],
        services: part.services,
        endpointsSeen: peak ? part.admitted : 0,
        endpointsRefused: peak ? part.refused : 0,
        refusedByReason: peak ? part.byReason : {},
        endpointsLeftOut: peak ? this.#aggregator.leftOutOf(spec.name) : 0,
      };
    });
  }

  #clusterSamples(): ClusterSample[] {
    return this.#registry.declared().map((declared) => this.#sample(declared));
  }

  /** What both views show of a declared cluster: its state, withdrawal and last sync. */
  #sample(declared: ReturnType<ClusterRegistry["declared"]>[number]): ClusterSample {
    const { spec, running, refused } = declared;
    return {
      name: spec.name,
      role: spec.role,
      state: running ? running.controller.state : refused !== undefined ? "refused" : "syncing",
      withdrawn: spec.role === "peak" && this.#health.isWithdrawn(spec.name),
      lastSyncAt: running?.controller.lastSyncAt,
    };
  }

  /** Whether this process writes: it leads, or there is no leader election. */
  #leading(): boolean {
    if (!this.#opts.config.leaderElection.enabled) return true;
    return this.#elector?.isLeader ?? false;
  }

  /** Ready once the writer runs against a synced production cluster; the reason otherwise. */
  readiness(): { ready: boolean; reason: string } {
    const production = this.#registry.production()?.controller;
    if (!production) return { ready: false, reason: "the production cluster is not running" };
    if (!production.hasSynced) {
      const cause = production.cause
        ? ` (${production.cause.kind}: ${production.cause.message})`
        : "";
      return {
        ready: false,
        reason: `waiting for the production cluster's first list of ${production.notSynced().join(", ")}${cause}; no peak endpoint is admitted until production's own ranges are known`,
      };
    }
    // A standby is ready: its caches are warm, and it takes over when the leader goes.
    if (this.#elector && !this.#elector.isLeader) {
      return { ready: true, reason: "standby: another replica leads" };
    }
    if (!this.#scheduler.started) {
      return {
        ready: false,
        reason: `waiting for the first sync of ${this.#scheduler.waitingFor().join(", ")}`,
      };
    }
    return { ready: true, reason: "ok" };
  }

  /**
   * Each production Service's burst decision now, as plain data: policy, whether peaks take
   * part, why, since when, share cap, and the peak endpoints ready, draining, unreachable and
   * capped (SPEC B4, B5). Only the writing replica decides; a standby returns none.
   */
  burstDecisions(): BurstDecisionView[] {
    return this.#burst.decisions();
  }

  /** Runs until `signal` aborts, then stops every controller and worker. */
  async run(signal: AbortSignal): Promise<void> {
    this.#probeSignal = signal;
    this.#probes.start(signal);
    this.#health.start(signal);
    await this.#registry.start(signal);
    for (const running of this.#registry.all()) this.#scheduler.expect(running.spec.name);
    const electing = this.#campaign(signal);
    const aggregating = this.#aggregator.run(signal);
    const writing = this.#scheduler.run(signal);
    const discovering = this.#registry.run(signal);

    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    this.#scheduler.shutDown();
    this.#channel.close();
    const running = this.#registry.all();
    for (const c of running) c.stop.abort();
    await Promise.all([aggregating, writing, discovering, electing, ...running.map((c) => c.done)]);
  }

  /**
   * With leader election (SPEC B10), the writer runs only while this process leads; a standby
   * keeps every informer and the aggregator warm meanwhile, so it takes over in one pass.
   */
  async #campaign(signal: AbortSignal): Promise<void> {
    const { config, clock } = this.#opts;
    const election = config.leaderElection;
    const production = this.#registry.production();
    if (!election.enabled || !production) return;
    // Its own connections: the Lease is released at shutdown, while the informers close theirs.
    const client = production.controller.client.fork();
    this.#elector = new LeaderElector({
      client,
      namespace: config.namespace,
      leaseName: election.leaseName,
      identity: `${hostname()}_${randomUUID()}`,
      leaseDurationMs: election.leaseDurationMs,
      renewDeadlineMs: election.renewDeadlineMs,
      retryPeriodMs: election.retryPeriodMs,
      clock,
      logger: this.#log.child({ component: "leader-election" }),
      // A clean stop hands the Lease over only after the writes under way have ended.
      drainWrites: () => this.#scheduler.drain(),
      onStartedLeading: () => {
        this.#aggregator.forgetChanges();
        this.#scheduler.setLeading(true);
      },
      onStoppedLeading: () => {
        this.#scheduler.setLeading(false);
        this.#opts.onLostLeadership?.();
      },
    });
    try {
      await this.#elector.run(signal);
    } finally {
      client.close();
    }
  }

  // --- clusters (SPEC M1–M3) ---

  #newController(
    spec: ClusterSpec,
    client: KubeClient,
    generation: number,
    synced: () => void,
  ): ClusterController {
    const { config, clock, metrics } = this.#opts;
    const name = spec.name;
    const peak = spec.role === "peak";
    const controller: ClusterController = new ClusterController({
      spec,
      generation,
      client,
      clock,
      logger: this.#log.child({ cluster: name }),
      resyncMs: config.resyncPeriodMs,
      installation: config.namespace,
      mode: config.mode,
      workers: config.workers,
      rateLimiter: () => this.#rateLimiter(),
      channel: this.#channel,
      yielder: this.#yielder,
      probe: {
        intervalMs: config.api.probeIntervalMs,
        timeoutMs: Math.min(config.api.timeoutMs, config.api.probeIntervalMs),
        failureThreshold: PROBE_FAILURES,
      },
      ...(peak
        ? {
            denied: () => this.#denied.current,
            maxBackoffMs: peakMaxBackoffMs(config.staleTTLMs),
          }
        : {
            burstDefaults: { policy: config.burst.defaultPolicy, holdMs: config.burst.holdMs },
            onWritten: (key: ServiceKey) => this.#scheduler.add(key),
            onRangesChanged: () => this.#rangesChanged(),
          }),
      onSynced: synced,
      onState: (state, cause) => {
        if (this.#registry.get(name)?.controller !== controller) return;
        this.#log.info(
          { cluster: name, state, ...(cause ? { reason: cause.message } : {}) },
          "cluster state changed",
        );
        if (peak) this.#health.observe(name, state);
      },
      onRelisted: () => {
        if (this.#registry.get(name)?.controller === controller) this.#health.relisted(name);
      },
      onReported: (ms) => metrics.itemDuration.observe({ stage: "report" }, ms / 1000),
    });
    return controller;
  }

  #onAdded(running: RunningCluster): void {
    const name = running.spec.name;
    if (running.spec.role === "peak") this.#health.observe(name, "syncing");
    this.#channel.send({ kind: "cluster-added", cluster: name }).catch(() => {});
  }

  /** A controller listed everything (its reports follow by themselves). */
  #onSynced(running: RunningCluster, replaced: RunningCluster | undefined): void {
    const name = running.spec.name;
    if (running.spec.role === "peak") this.#health.observe(name, running.controller.state);
    if (replaced && running.spec.role === "production") this.#rangesChanged();
  }

  /** A peak is no longer declared: withdraw everything it contributed, at once. */
  async #onRemoved(name: string): Promise<void> {
    this.#health.forget(name);
    this.#opts.metrics.forgetCluster(name);
    await this.#channel
      .send({ kind: "cluster-removed", cluster: name, observedAt: this.#opts.clock.now() })
      .catch(() => {});
    this.#scheduler.forget(name);
  }

  /**
   * Production's own ranges changed (or became known): a new deny list, and every peak reports
   * again through it. Unknown stays unknown: a failed read keeps the last list (SPEC B15).
   */
  #rangesChanged(): void {
    const production = this.#registry.production()?.controller;
    const discovered = production?.discoveredRanges();
    if (!production || discovered === undefined) return;
    const ranges = productionDenyList(
      this.#registry.productionSpec,
      production.client.server,
      discovered,
    );
    if (!this.#denied.update(ranges)) return;
    this.#log.info(
      { denied: ranges.length, discovered: discovered.length },
      "production's own ranges read; peaks are checked against them",
    );
    for (const running of this.#registry.current()) {
      if (running.spec.role === "peak") running.controller.deliverAll();
    }
  }

  /**
   * The production Services a peak serves: those it reports a pairing Service for, and those
   * holding slices written for it (a peak not synced since start has reported nothing yet).
   */
  #servedBy(cluster: string): ProductionService[] {
    const served = new Map<string, ProductionService>();
    for (const service of this.#aggregator.servicesServedBy(cluster)) {
      served.set(`${service.namespace}/${service.name}`, service);
    }
    const production = this.#registry.production()?.controller;
    for (const key of production?.servicesWithOurSlices(cluster) ?? []) {
      const service = this.#aggregator.serviceState(key).production?.production;
      if (service) served.set(key, service);
    }
    return [...served.values()];
  }

  #probeSignal: AbortSignal = AbortSignal.abort();

  /** A peak's probe settings (config file only); undefined when it is not probed. */
  #probeSettings(cluster: string) {
    const running = this.#registry.get(cluster);
    return running?.spec.role === "peak" ? running.spec.probe : undefined;
  }

  #rateLimiter() {
    const { clock, config } = this.#opts;
    return createRateLimiter<ServiceKey>(clock, {
      baseDelayMs: config.queue.baseDelayMs,
      maxDelayMs: config.queue.maxDelayMs,
      qps: config.queue.qps,
      burst: config.queue.burst,
    });
  }
}
