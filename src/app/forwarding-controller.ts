import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Aggregator } from "../aggregate/aggregator.ts";
import type { ClusterSpec } from "../config/cluster-spec.ts";
import type { Config } from "../config/load-config.ts";
import { type AggregationInfo, serviceInfoOf } from "../controller/aggregation-info.ts";
import { ClusterController } from "../controller/cluster-controller.ts";
import type { ProductionService } from "../domain/production-service.ts";
import type { ServiceKey } from "../domain/service-key.ts";
import type { KubeClient } from "../kube/kube-client.ts";
import type { ReflectorState } from "../kube/reflector.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { Channel } from "../runtime/channel.ts";
import type { Clock } from "../runtime/clock.ts";
import { createRateLimiter } from "../runtime/rate-limiter.ts";
import { WorkQueue } from "../runtime/work-queue.ts";
import { runWorkers } from "../runtime/worker-pool.ts";
import { ServiceWriter } from "../writer/service-writer.ts";
import { ClusterRegistry, type RunningCluster } from "./cluster-registry.ts";
import { InitialSync } from "./initial-sync.ts";
import { LeaderElector } from "./leader-election.ts";
import { peakPolicy } from "./peak-policy.ts";
import { ProblemLog } from "./problem-log.ts";
import { StalePolicy } from "./stale-policy.ts";

export interface ForwardingControllerOptions {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** With leader election: this process led and could not renew; the caller should exit. */
  onLostLeadership?: () => void;
}

/** Separates cluster and Service key in the input queue's keys (neither can contain it). */
const SEP = "|";

/**
 * kubeburst's main job, wired as SPEC M1–M8 describe: the registry keeps one ClusterController
 * per declared cluster; their handlers enqueue `cluster|namespace/name` keys; workers turn each
 * key into a snapshot of that cluster's side of the Service and send it on a bounded channel; the
 * aggregator keeps every cluster's latest snapshot and hands changed Services to the writer's
 * queue; the writer makes production hold the union. Nothing is written before every cluster
 * declared at start has delivered its first list, or `syncTimeout` has passed.
 */
export class ForwardingController {
  readonly #opts: ForwardingControllerOptions;
  readonly #log: Logger;
  readonly #registry: ClusterRegistry;
  readonly #inputQueue: WorkQueue<string>;
  readonly #writeQueue: WorkQueue<ServiceKey>;
  readonly #channel: Channel<AggregationInfo>;
  readonly #aggregator: Aggregator;
  readonly #writer: ServiceWriter;
  readonly #initialSync = new InitialSync();
  /** The clusters the writer waits for before its first write. */
  readonly #startupClusters = new Set<string>();
  /** Withdraws a peak's endpoints only after it failed for `staleTTL` (SPEC B3); set in run(). */
  #stale: StalePolicy | undefined;
  /** The production Services each withdrawn peak served, to tell them when it is back. */
  readonly #servedByWithdrawn = new Map<string, ProductionService[]>();
  /** Aborts with run()'s signal; for work started from callbacks. */
  #signal: AbortSignal = new AbortController().signal;
  #writerStarted = false;
  /** Whether this process may write: always without leader election, else while it leads. */
  #leading: boolean;
  /** `syncTimeout` passed: the writer no longer waits for every cluster's first sync. */
  #syncTimedOut = false;
  readonly #writerStart = Promise.withResolvers<void>();

  constructor(opts: ForwardingControllerOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    const { clock, config, metrics } = opts;
    this.#leading = !config.leaderElection.enabled;
    metrics.leader.set(this.#leading ? 1 : 0);
    const rateLimiter = () =>
      createRateLimiter<string>(clock, {
        baseDelayMs: config.queue.baseDelayMs,
        maxDelayMs: config.queue.maxDelayMs,
        qps: config.queue.qps,
        burst: config.queue.burst,
      });
    this.#inputQueue = new WorkQueue({ clock, rateLimiter: rateLimiter() });
    this.#writeQueue = new WorkQueue({ clock, rateLimiter: rateLimiter() });
    this.#channel = new Channel(config.channelCapacity);
    this.#registry = new ClusterRegistry({
      config,
      clock,
      logger: opts.logger,
      problems: new ProblemLog(opts.logger),
      newController: (spec, client, synced) => this.#newController(spec, client, synced),
      onSynced: (running, replaced) => this.#onSynced(running, replaced),
      onRemoved: (name) => this.#onRemoved(name),
      onRangesChanged: () => {
        for (const running of this.#registry.current()) {
          if (running.spec.role === "peak") this.#deliverAll(running);
        }
      },
    });
    this.#aggregator = new Aggregator({
      source: this.#channel,
      onServiceChanged: (key) => this.#writeQueue.add(key),
      onClusterReady: (cluster) => {
        this.#log.info({ cluster }, "cluster's initial state aggregated");
        this.#maybeStartWriter();
      },
      isLive: (cluster) =>
        this.#registry.get(cluster) !== undefined && !this.#stale?.isWithdrawn(cluster),
    });
    this.#writer = new ServiceWriter({
      mode: config.mode,
      aggregator: this.#aggregator,
      production: () => this.#registry.production()?.controller,
      events: () => this.#registry.production()?.events,
      metrics,
      logger: opts.logger.child({ component: "writer" }),
      clock,
    });
    metrics.trackQueue("input", () => this.#inputQueue.len());
    metrics.trackQueue("write", () => this.#writeQueue.len());
    metrics.trackRefused(() => this.#aggregator.refusedCounts());
  }

  /** Ready once the writer runs against a synced production cluster; the reason otherwise. */
  readiness(): { ready: boolean; reason: string } {
    const production = this.#registry.production();
    if (!production) return { ready: false, reason: "the production cluster is not running" };
    if (!production.controller.hasSynced) {
      return { ready: false, reason: "waiting for the production cluster's first sync" };
    }
    // A standby is ready: its caches are warm, and it takes over when the leader goes.
    if (!this.#leading) return { ready: true, reason: "standby: another replica leads" };
    if (!this.#writerStarted) {
      const waiting = [...this.#startupClusters].filter((c) => !this.#aggregator.isReady(c));
      return { ready: false, reason: `waiting for the first sync of ${waiting.join(", ")}` };
    }
    return { ready: true, reason: "ok" };
  }

  /** Runs until `signal` aborts, then stops every controller and worker. */
  async run(signal: AbortSignal): Promise<void> {
    const { config, clock } = this.#opts;
    this.#signal = signal;
    this.#stale = this.#newStalePolicy(signal);
    await this.#registry.start(signal);
    for (const running of this.#registry.all()) this.#startupClusters.add(running.spec.name);
    const electing = this.#campaign(signal);
    this.#maybeStartWriter();
    // Clock sleeps resolve early (never reject) when their signal aborts: check why we woke.
    const syncDeadline = clock.sleep(config.syncTimeoutMs, signal).then(() => {
      if (signal.aborted) return;
      this.#syncTimedOut = true;
      this.#maybeStartWriter();
    });
    const inputWorkers = runWorkers(
      this.#inputQueue,
      config.workers,
      (item, s) => this.#handleInput(item, s),
      { signal, onError: (item, err) => this.#log.error({ item, err }, "input worker failed") },
    );
    const aggregating = this.#aggregator.run(signal);
    const writing = this.#writerStart.promise.then(() =>
      runWorkers(this.#writeQueue, config.workers, (key, s) => this.#writer.reconcile(key, s), {
        signal,
        onError: (key, err) => this.#log.error({ service: key, err }, "writer failed"),
      }),
    );
    const discovering = this.#registry.run(signal);
    const resyncing = this.#writerResyncLoop(signal);

    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    this.#inputQueue.shutDown();
    this.#writeQueue.shutDown();
    this.#channel.close();
    this.#writerStart.resolve();
    const running = this.#registry.all();
    for (const c of running) c.stop.abort();
    await Promise.all([
      inputWorkers,
      aggregating,
      writing,
      discovering,
      resyncing,
      syncDeadline,
      electing,
      ...running.map((c) => c.done),
    ]);
  }

  /**
   * With leader election (SPEC B10), the writer starts only once this process leads; a standby
   * keeps every informer and the aggregator warm meanwhile, so it takes over in one reconcile.
   */
  async #campaign(signal: AbortSignal): Promise<void> {
    const { config, clock, metrics } = this.#opts;
    const election = config.leaderElection;
    const production = this.#registry.production();
    if (!election.enabled || !production) return;
    metrics.leader.set(0);
    // Its own connections: the Lease is released at shutdown, while the informers close theirs.
    const client = production.controller.client.fork();
    const elector = new LeaderElector({
      client,
      namespace: config.namespace,
      leaseName: election.leaseName,
      identity: `${hostname()}_${randomUUID()}`,
      leaseDurationMs: election.leaseDurationMs,
      renewDeadlineMs: election.renewDeadlineMs,
      retryPeriodMs: election.retryPeriodMs,
      clock,
      logger: this.#log.child({ component: "leader-election" }),
      onStartedLeading: () => {
        this.#leading = true;
        metrics.leader.set(1);
        this.#maybeStartWriter();
      },
      onStoppedLeading: () => {
        this.#leading = false;
        metrics.leader.set(0);
        this.#opts.onLostLeadership?.();
      },
    });
    try {
      await elector.run(signal);
    } finally {
      client.close();
    }
  }

  // --- clusters (SPEC M1–M3) ---

  #newController(spec: ClusterSpec, client: KubeClient, synced: () => void): ClusterController {
    const { config, clock, metrics } = this.#opts;
    const name = spec.name;
    metrics.setClusterState(name, "syncing");
    if (spec.role === "peak") metrics.withdrawn.set({ cluster: name }, 0);
    const controller: ClusterController = new ClusterController({
      name,
      role: spec.role,
      client,
      clock,
      logger: this.#log.child({ cluster: name }),
      resyncMs: config.resyncPeriodMs,
      watchEndpoints: config.mode === "endpoints",
      enqueue: (cluster, key) => this.#inputQueue.add(`${cluster}${SEP}${key}`),
      enqueueWrite: (key) => this.#writeQueue.add(key),
      onSynced: synced,
      onState: (cluster, state) => {
        if (this.#registry.get(cluster)?.controller !== controller) return;
        metrics.setClusterState(cluster, state);
        this.#log.info({ cluster, state }, "cluster state changed");
        if (spec.role === "peak") this.#peakState(cluster, state);
      },
    });
    return controller;
  }

  /** A controller listed everything: deliver its whole state (and the one it replaced). */
  #onSynced(running: RunningCluster, replaced: RunningCluster | undefined): void {
    const name = running.spec.name;
    this.#opts.metrics.setClusterState(name, running.controller.state);
    if (replaced) {
      this.#deliverAll(replaced, name);
      this.#deliverAll(running);
      if (running.spec.role === "production") this.#enqueueAllWrites();
      return;
    }
    const keys = running.controller.serviceKeys();
    if (this.#initialSync.begin(name, keys)) this.#markReady(name);
    this.#deliverAll(running);
    if (running.spec.role === "production" && this.#writerStarted) this.#enqueueAllWrites();
  }

  /** Enqueues every Service `running` knows, as cluster `as` (default: its own name). */
  #deliverAll(running: RunningCluster, as = running.spec.name): void {
    for (const key of running.controller.serviceKeys()) this.#inputQueue.add(`${as}${SEP}${key}`);
  }

  /** A peak is no longer declared: withdraw everything it contributed, at once. */
  async #onRemoved(name: string): Promise<void> {
    this.#stale?.forget(name);
    this.#servedByWithdrawn.delete(name);
    this.#initialSync.forget(name);
    this.#startupClusters.delete(name);
    this.#opts.metrics.forgetCluster(name);
    await this.#channel
      .send({ kind: "cluster-removed", cluster: name }, this.#signal)
      .catch(() => {});
    this.#maybeStartWriter();
  }

  // --- stale peers (SPEC B3) ---

  #peakState(cluster: string, state: ReflectorState): void {
    const stale = this.#stale;
    if (!stale) return;
    const failing = state === "unreachable" || state === "refused";
    if (failing && !stale.isStale(cluster) && !stale.isWithdrawn(cluster)) {
      const ttl = this.#opts.config.staleTTLMs;
      this.#log.warn(
        { cluster, state, staleTTLMs: ttl },
        "peak cluster failing; keeping its last-known endpoints for staleTTL",
      );
      const why = state === "refused" ? "refuses kubeburst's credentials" : "is unreachable";
      this.#announce(
        this.#writer.servicesServedBy(cluster),
        "Warning",
        "PeakStale",
        `peak cluster ${cluster} ${why}; its last-known endpoints are kept for staleTTL (${ttl} ms)`,
      );
    }
    stale.observe(cluster, state);
  }

  #newStalePolicy(signal: AbortSignal): StalePolicy {
    const { clock, config, metrics } = this.#opts;
    return new StalePolicy(
      clock,
      config.staleTTLMs,
      {
        withdraw: (cluster) => {
          metrics.withdrawn.set({ cluster }, 1);
          this.#log.warn(
            { cluster, staleTTLMs: config.staleTTLMs },
            "peak cluster failed for staleTTL; withdrawing its endpoints",
          );
          // Remembered now, while the aggregator still knows which Services the peak served.
          const served = this.#writer.servicesServedBy(cluster);
          this.#servedByWithdrawn.set(cluster, served);
          this.#announce(
            served,
            "Warning",
            "PeakWithdrawn",
            `peak cluster ${cluster} failed for longer than staleTTL (${config.staleTTLMs} ms); its endpoints are withdrawn until it syncs again`,
          );
          this.#channel.send({ kind: "cluster-removed", cluster }, signal).catch(() => {});
        },
        restore: (cluster) => {
          metrics.withdrawn.set({ cluster }, 0);
          this.#log.info({ cluster }, "peak cluster synced again; restoring its endpoints");
          this.#announce(
            this.#servedByWithdrawn.get(cluster) ?? [],
            "Normal",
            "PeakRestored",
            `peak cluster ${cluster} synced again; its endpoints are restored`,
          );
          this.#servedByWithdrawn.delete(cluster);
          const running = this.#registry.get(cluster);
          if (running) this.#deliverAll(running);
        },
      },
      signal,
    );
  }

  #announce(
    services: readonly ProductionService[],
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void {
    if (!this.#leading) return; // Events are writes: only the leader makes them
    this.#writer.announce(services, type, reason, message, this.#signal).catch(() => {});
  }

  // --- workers (SPEC M4, M5) ---

  async #handleInput(item: string, signal: AbortSignal): Promise<"ok"> {
    const at = item.indexOf(SEP);
    const cluster = item.slice(0, at);
    const key = item.slice(at + 1);
    const running = this.#registry.get(cluster);
    if (!running) return "ok"; // removed meanwhile
    const ctl = running.controller;
    const policy = peakPolicy(
      running.spec,
      this.#registry.productionSpec,
      this.#registry.production()?.controller.client.server,
      this.#registry.ranges,
    );
    const now = this.#opts.clock.now();
    const info = serviceInfoOf(
      cluster,
      ctl.role,
      key,
      ctl.services.get(key),
      ctl.slicesOf(key),
      now,
      policy,
    );
    await this.#channel.send(info, signal);
    if (this.#initialSync.delivered(cluster, key)) this.#markReady(cluster);
    return "ok";
  }

  #markReady(cluster: string): void {
    // Behind every snapshot already on the channel: the aggregator sees it after them.
    this.#channel.send({ kind: "cluster-ready", cluster }).catch(() => {});
  }

  // --- the writer (SPEC M7, M8) ---

  #maybeStartWriter(): void {
    if (this.#writerStarted || !this.#leading || this.#startupClusters.size === 0) return;
    const synced = [...this.#startupClusters].every((c) => this.#aggregator.isReady(c));
    if (synced || this.#syncTimedOut) this.#startWriter();
  }

  #startWriter(): void {
    if (this.#writerStarted) return;
    this.#writerStarted = true;
    const waiting = [...this.#startupClusters].filter((c) => !this.#aggregator.isReady(c));
    if (waiting.length > 0) {
      this.#log.warn(
        { waiting },
        "writing without the first sync of some clusters (syncTimeout passed)",
      );
    } else {
      this.#log.info("every cluster synced; starting the writer");
    }
    this.#enqueueAllWrites();
    this.#writerStart.resolve();
  }

  /** Every Service we know of or wrote for: level-triggered cleanup and repair. */
  #enqueueAllWrites(): void {
    for (const key of this.#aggregator.keys()) this.#writeQueue.add(key);
    for (const key of this.#registry.production()?.controller.servicesWithOurSlices() ?? []) {
      this.#writeQueue.add(key);
    }
  }

  async #writerResyncLoop(signal: AbortSignal): Promise<void> {
    const { clock, config } = this.#opts;
    if (config.resyncPeriodMs <= 0) return;
    while (!signal.aborted) {
      await clock.sleep(config.resyncPeriodMs, signal);
      if (!signal.aborted && this.#writerStarted) this.#enqueueAllWrites();
    }
  }
}
