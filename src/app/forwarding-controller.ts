import { Aggregator } from "../aggregate/aggregator.ts";
import type { ClusterSpec } from "../config/cluster-spec.ts";
import type { ConfigError } from "../config/config-error.ts";
import { type Config, formatConfigErrors, loadConfigFile } from "../config/load-config.ts";
import { type AggregationInfo, serviceInfoOf } from "../controller/aggregation-info.ts";
import { ClusterController } from "../controller/cluster-controller.ts";
import {
  clusterFingerprint,
  mergeClusterSources,
  readSecretClusters,
} from "../discovery/cluster-sources.ts";
import { type DiscoveredRanges, readProductionRanges } from "../discovery/production-ranges.ts";
import type { AddressPolicy } from "../domain/address-policy.ts";
import { parseIpAddress } from "../domain/ip-address.ts";
import type { ProductionService } from "../domain/production-service.ts";
import type { ServiceKey } from "../domain/service-key.ts";
import { EventRecorder } from "../kube/events.ts";
import { KubeApiError } from "../kube/kube-api-error.ts";
import { KubeClient } from "../kube/kube-client.ts";
import { loadKubeconfig } from "../kube/load-kubeconfig.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { Channel } from "../runtime/channel.ts";
import type { Clock } from "../runtime/clock.ts";
import { createRateLimiter } from "../runtime/rate-limiter.ts";
import { WorkQueue } from "../runtime/work-queue.ts";
import { runWorkers } from "../runtime/worker-pool.ts";
import { ServiceWriter } from "../writer/service-writer.ts";
import { InitialSync } from "./initial-sync.ts";
import { StalePolicy } from "./stale-policy.ts";

export interface ForwardingControllerOptions {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
}

/** A watched cluster's controller and what it needs to stop. */
interface RunningCluster {
  spec: ClusterSpec;
  fingerprint: string;
  controller: ClusterController;
  events: EventRecorder;
  stop: AbortController;
  done: Promise<void>;
}

/** Separates cluster and Service key in the input queue's keys (neither can contain it). */
const SEP = "|";

/**
 * kubeburst's main job, wired as SPEC M1–M8 describe: discovery keeps one ClusterController per
 * declared cluster; their handlers enqueue `cluster|namespace/name` keys; workers turn each key
 * into a snapshot of that cluster's side of the Service and send it on a bounded channel; the
 * aggregator keeps every cluster's latest snapshot and hands changed Services to the writer's
 * queue; the writer makes production hold the union. Nothing is written before every cluster
 * declared at start has delivered its first list, or `syncTimeout` has passed.
 */
export class ForwardingController {
  readonly #opts: ForwardingControllerOptions;
  readonly #log: Logger;
  /** The controllers in use, by cluster name. */
  readonly #clusters = new Map<string, RunningCluster>();
  /** Replacements for changed clusters, waiting for their first sync. */
  readonly #replacements = new Map<string, RunningCluster>();
  readonly #inputQueue: WorkQueue<string>;
  readonly #writeQueue: WorkQueue<ServiceKey>;
  readonly #channel: Channel<AggregationInfo>;
  readonly #aggregator: Aggregator;
  readonly #writer: ServiceWriter;
  readonly #initialSync = new InitialSync();
  /** The clusters the writer waits for before its first write. */
  readonly #startupClusters = new Set<string>();
  /** The last good settings of the file, and the last good Secret clusters (kept on failure). */
  #fileConfig: Config;
  #secretClusters: { secret: string; spec: ClusterSpec }[] = [];
  /** Withdraws a peak's endpoints only after it failed for `staleTTL` (SPEC B3); set in run(). */
  #stale: StalePolicy | undefined;
  /** The production Services each withdrawn peak served, to tell them when it is back. */
  readonly #servedByWithdrawn = new Map<string, ProductionService[]>();
  /** Problems already logged, so a persistent one is logged once, not every interval. */
  #reported = new Set<string>();
  /** Production's node addresses and ServiceCIDRs, as last read (SPEC B1). */
  #discoveredRanges: DiscoveredRanges = { nodes: [], services: [], problems: [] };
  #writerStarted = false;
  #writerStart = Promise.withResolvers<void>();

  constructor(opts: ForwardingControllerOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#fileConfig = opts.config;
    const { clock, config, metrics } = opts;
    const rateLimiter = () =>
      createRateLimiter<string>(clock, {
        baseDelayMs: config.queue.baseDelayMs,
        maxDelayMs: config.queue.maxDelayMs,
        qps: config.queue.qps,
        burst: config.queue.burst,
      });
    this.#inputQueue = new WorkQueue({ clock, rateLimiter: rateLimiter() });
    this.#writeQueue = new WorkQueue({ clock, rateLimiter: rateLimiter() });
    metrics.trackQueue("input", () => this.#inputQueue.len());
    metrics.trackQueue("write", () => this.#writeQueue.len());
    metrics.trackRefused(() => this.#refusedCounts());
    this.#channel = new Channel(config.channelCapacity);
    this.#aggregator = new Aggregator({
      source: this.#channel,
      onServiceChanged: (key) => this.#writeQueue.add(key),
      onClusterReady: (cluster) => {
        this.#log.info({ cluster }, "cluster's initial state aggregated");
        this.#maybeStartWriter();
      },
      isLive: (cluster) => this.#clusters.has(cluster) && !this.#stale?.isWithdrawn(cluster),
    });
    this.#writer = new ServiceWriter({
      mode: config.mode,
      aggregator: this.#aggregator,
      production: () => this.#production()?.controller,
      events: () => this.#production()?.events,
      metrics,
      logger: opts.logger.child({ component: "writer" }),
      clock,
    });
  }

  /** Ready once the writer runs against a synced production cluster; the reason otherwise. */
  readiness(): { ready: boolean; reason: string } {
    const production = this.#production();
    if (!production) return { ready: false, reason: "the production cluster is not running" };
    if (!production.controller.hasSynced) {
      return { ready: false, reason: "waiting for the production cluster's first sync" };
    }
    if (!this.#writerStarted) {
      const waiting = [...this.#startupClusters].filter((c) => !this.#aggregator.isReady(c));
      return { ready: false, reason: `waiting for the first sync of ${waiting.join(", ")}` };
    }
    return { ready: true, reason: "ok" };
  }

  /** Runs until `signal` aborts, then stops every controller and worker. */
  async run(signal: AbortSignal): Promise<void> {
    const { config, clock, metrics } = this.#opts;
    this.#stale = new StalePolicy(
      clock,
      config.staleTTLMs,
      {
        withdraw: (cluster) => {
          metrics.withdrawn.set({ cluster }, 1);
          // Remembered now, while the aggregator still knows which Services the peak served.
          const served = this.#writer.servicesServedBy(cluster);
          this.#servedByWithdrawn.set(cluster, served);
          const message = `peak cluster ${cluster} failed for longer than staleTTL (${config.staleTTLMs} ms); its endpoints are withdrawn until it syncs again`;
          this.#writer
            .announce(served, "Warning", "PeakWithdrawn", message, signal)
            .catch(() => {});
          this.#log.warn(
            { cluster, staleTTLMs: config.staleTTLMs },
            "peak cluster failed for staleTTL; withdrawing its endpoints",
          );
          this.#channel.send({ kind: "cluster-removed", cluster }, signal).catch(() => {});
        },
        restore: (cluster) => {
          metrics.withdrawn.set({ cluster }, 0);
          const served = this.#servedByWithdrawn.get(cluster) ?? [];
          this.#servedByWithdrawn.delete(cluster);
          const message = `peak cluster ${cluster} synced again; its endpoints are restored`;
          this.#writer.announce(served, "Normal", "PeakRestored", message, signal).catch(() => {});
          this.#log.info({ cluster }, "peak cluster synced again; restoring its endpoints");
          for (const key of this.#clusters.get(cluster)?.controller.serviceKeys() ?? []) {
            this.#inputQueue.add(`${cluster}${SEP}${key}`);
          }
        },
      },
      signal,
    );
    await this.#discover(signal, false);
    for (const name of this.#clusters.keys()) this.#startupClusters.add(name);
    for (const name of this.#replacements.keys()) this.#startupClusters.add(name);
    this.#maybeStartWriter();
    // Clock sleeps resolve early (never reject) when their signal aborts: check why we woke.
    const syncDeadline = clock.sleep(config.syncTimeoutMs, signal).then(() => {
      if (!signal.aborted) this.#startWriter("sync timeout");
    });

    const inputWorkers = runWorkers(
      this.#inputQueue,
      config.workers,
      (item, s) => this.#handleInput(item, s),
      {
        signal,
        onError: (item, err) => this.#log.error({ item, err }, "input worker failed"),
      },
    );
    const aggregating = this.#aggregator.run(signal);
    const writing = this.#writerStart.promise.then(() =>
      runWorkers(this.#writeQueue, config.workers, (key, s) => this.#writer.reconcile(key, s), {
        signal,
        onError: (key, err) => this.#log.error({ service: key, err }, "writer failed"),
      }),
    );
    const discovering = this.#discoveryLoop(signal);
    const resyncing = this.#writerResyncLoop(signal);

    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    this.#inputQueue.shutDown();
    this.#writeQueue.shutDown();
    this.#channel.close();
    this.#writerStart.resolve();
    const running = [...this.#clusters.values(), ...this.#replacements.values()];
    for (const c of running) c.stop.abort();
    await Promise.all([
      inputWorkers,
      aggregating,
      writing,
      discovering,
      resyncing,
      syncDeadline,
      ...running.map((c) => c.done),
    ]);
  }

  // --- discovery (SPEC M1) ---

  async #discoveryLoop(signal: AbortSignal): Promise<void> {
    const { clock, config } = this.#opts;
    while (!signal.aborted) {
      await clock.sleep(config.discoveryIntervalMs, signal);
      if (signal.aborted) return;
      await this.#discover(signal, true).catch((err: unknown) => {
        if (!signal.aborted) this.#log.error({ err }, "cluster discovery failed");
      });
    }
  }

  /** Reads the file (when `reread`) and the Secrets, then starts, swaps and stops controllers. */
  async #discover(signal: AbortSignal, reread: boolean): Promise<void> {
    if (reread) await this.#rereadFile();
    const fileClusters = this.#fileConfig.clusters;
    const production = fileClusters[0]!;
    await this.#ensure(production, signal);
    const prod = this.#production();
    if (!reread) {
      if (!prod) {
        throw new Error(
          `the production cluster ${JSON.stringify(production.name)} cannot be watched; see the error above`,
        );
      }
      // Secrets live in production: read them before the first write, so that a restart
      // does not withdraw (and then restore) the endpoints of Secret-declared clusters.
      const waited = new AbortController();
      const both = AbortSignal.any([signal, waited.signal]);
      await Promise.race([
        prod.controller.waitForSync(both),
        this.#opts.clock.sleep(this.#opts.config.syncTimeoutMs, both),
      ]);
      waited.abort();
      if (signal.aborted) return;
    }
    if (prod?.controller.hasSynced) {
      try {
        const read = await readSecretClusters(
          prod.controller.client,
          this.#fileConfig.namespace,
          signal,
        );
        this.#secretClusters = read.found;
        this.#report("secret", read.problems);
      } catch (err) {
        if (signal.aborted) return;
        // Keep the Secret clusters we had: a failed list is not a removal.
        const kind = err instanceof KubeApiError ? err.kind : "error";
        this.#report("secret-list", [
          {
            path: `secrets in namespace ${this.#fileConfig.namespace}`,
            message: `cannot list (${kind}): ${String(err instanceof Error ? err.message : err)}; keeping the clusters they declared before`,
          },
        ]);
      }
    }
    if (prod?.controller.hasSynced) await this.#discoverProductionRanges(prod, signal);
    const declared = mergeClusterSources(fileClusters, this.#secretClusters);
    this.#report("merge", declared.problems);

    const wanted = new Set(declared.specs.map((s) => s.name));
    for (const spec of declared.specs.slice(1)) await this.#ensure(spec, signal);
    for (const name of [...this.#clusters.keys(), ...this.#replacements.keys()]) {
      if (!wanted.has(name)) await this.#remove(name, signal);
    }
  }

  async #rereadFile(): Promise<void> {
    const current = this.#fileConfig;
    const result = await loadConfigFile(current.sourcePath);
    if (!result.ok) {
      this.#report("file", [
        {
          path: "",
          message: `${current.sourcePath} is invalid; keeping the clusters it declared before:\n${formatConfigErrors(result.errors)}`,
        },
      ]);
      return;
    }
    this.#report("file", []);
    const next = result.config;
    if (next.clusters[0]!.name !== current.clusters[0]!.name) {
      this.#report("production-name", [
        {
          path: "clusters",
          message: `the production cluster changed from ${JSON.stringify(current.clusters[0]!.name)} to ${JSON.stringify(next.clusters[0]!.name)}; restart kubeburst to switch production clusters (keeping ${JSON.stringify(current.clusters[0]!.name)})`,
        },
      ]);
      return;
    }
    this.#report("production-name", []);
    const { clusters: _a, ...before } = current;
    const { clusters: _b, ...after } = next;
    if (JSON.stringify(before) !== JSON.stringify(after)) {
      this.#report("restart-needed", [
        {
          path: "",
          message:
            "settings other than clusters changed; restart kubeburst to apply them (clusters are applied live)",
        },
      ]);
    } else {
      this.#report("restart-needed", []);
    }
    this.#fileConfig = { ...current, clusters: next.clusters };
  }

  /** Starts cluster `spec.name`, or a replacement when its settings or kubeconfig changed. */
  async #ensure(spec: ClusterSpec, signal: AbortSignal): Promise<void> {
    const fingerprint = await clusterFingerprint(spec);
    if (signal.aborted) return;
    const current = this.#clusters.get(spec.name);
    const pending = this.#replacements.get(spec.name);
    if (current?.fingerprint === fingerprint) {
      if (pending) this.#stopCluster(pending, this.#replacements);
      return;
    }
    if (pending?.fingerprint === fingerprint) return;
    if (pending) this.#stopCluster(pending, this.#replacements);
    const started = this.#startCluster(spec, fingerprint, signal);
    if (!started) return;
    if (current) {
      this.#log.info(
        { cluster: spec.name },
        "cluster settings changed; starting a replacement controller",
      );
      this.#replacements.set(spec.name, started);
    } else {
      this.#log.info({ cluster: spec.name, role: spec.role, source: spec.source }, "cluster added");
      this.#clusters.set(spec.name, started);
    }
  }

  #startCluster(
    spec: ClusterSpec,
    fingerprint: string,
    signal: AbortSignal,
  ): RunningCluster | undefined {
    const { config, clock, metrics } = this.#opts;
    const loaded = loadKubeconfig(spec.kubeconfig, {
      context: spec.context,
      allowInsecure: spec.allowInsecureKubeconfig,
    });
    if (!loaded.ok) {
      // A Secret can never allow an insecure kubeconfig: do not point its author at the setting.
      const problems =
        spec.source === "secret"
          ? loaded.problems.map((p) =>
              p.replace(/refused unless allowInsecureKubeconfig: true$/, "refused in a Secret"),
            )
          : loaded.problems;
      this.#report(`kubeconfig:${spec.name}`, [
        {
          path: `cluster ${spec.name} (${spec.source}): kubeconfig`,
          message: `${problems.join("; ")}; the cluster is not watched`,
        },
      ]);
      return undefined;
    }
    this.#report(`kubeconfig:${spec.name}`, []);
    let client: KubeClient;
    try {
      client = new KubeClient(loaded.kubeConfig, { timeoutMs: config.api.timeoutMs });
    } catch (err) {
      this.#report(`kubeconfig:${spec.name}`, [
        {
          path: `cluster ${spec.name}: kubeconfig`,
          message: `${String(err instanceof Error ? err.message : err)}; the cluster is not watched`,
        },
      ]);
      return undefined;
    }
    const stop = new AbortController();
    const cancel = () => stop.abort();
    signal.addEventListener("abort", cancel, { once: true });
    const name = spec.name;
    const controller = new ClusterController({
      name,
      role: spec.role,
      client,
      clock,
      logger: this.#log.child({ cluster: name }),
      resyncMs: config.resyncPeriodMs,
      watchEndpoints: config.mode === "endpoints",
      enqueue: (cluster, key) => this.#inputQueue.add(`${cluster}${SEP}${key}`),
      enqueueWrite: (key) => this.#writeQueue.add(key),
      onSynced: () => this.#onSynced(running),
      onState: (cluster, state) => {
        if (this.#clusters.get(cluster) !== running) return;
        metrics.setClusterState(cluster, state);
        this.#log.info({ cluster, state }, "cluster state changed");
        if (spec.role !== "peak" || !this.#stale) return;
        const failing = state === "unreachable" || state === "refused";
        if (failing && !this.#stale.isStale(cluster) && !this.#stale.isWithdrawn(cluster)) {
          this.#log.warn(
            { cluster, state, staleTTLMs: config.staleTTLMs },
            "peak cluster failing; keeping its last-known endpoints for staleTTL",
          );
          const why = state === "refused" ? "refuses kubeburst's credentials" : "is unreachable";
          const message = `peak cluster ${cluster} ${why}; its last-known endpoints are kept for staleTTL (${config.staleTTLMs} ms)`;
          const served = this.#writer.servicesServedBy(cluster);
          this.#writer.announce(served, "Warning", "PeakStale", message, signal).catch(() => {});
        }
        this.#stale.observe(cluster, state);
      },
    });
    metrics.setClusterState(name, "syncing");
    if (spec.role === "peak") metrics.withdrawn.set({ cluster: name }, 0);
    const running: RunningCluster = {
      spec,
      fingerprint,
      controller,
      events: new EventRecorder(client, clock),
      stop,
      done: controller.run(stop.signal).finally(() => {
        signal.removeEventListener("abort", cancel);
        client.close(); // its keep-alive connections would hold the process open
      }),
    };
    return running;
  }

  /** A controller listed everything: make it the cluster's, and deliver its whole state. */
  #onSynced(running: RunningCluster): void {
    const name = running.spec.name;
    const keys = running.controller.serviceKeys();
    if (this.#replacements.get(name) === running) {
      const old = this.#clusters.get(name);
      this.#replacements.delete(name);
      this.#clusters.set(name, running);
      if (old) {
        old.stop.abort();
        keys.push(...old.controller.serviceKeys());
      }
      this.#log.info({ cluster: name }, "replacement controller synced; switched to it");
      this.#opts.metrics.setClusterState(name, running.controller.state);
      for (const key of keys) this.#inputQueue.add(`${name}${SEP}${key}`);
      if (running.spec.role === "production") this.#enqueueAllWrites();
      return;
    }
    if (this.#clusters.get(name) !== running) return;
    this.#opts.metrics.setClusterState(name, running.controller.state);
    if (this.#initialSync.begin(name, keys)) this.#markReady(name);
    for (const key of keys) this.#inputQueue.add(`${name}${SEP}${key}`);
    if (running.spec.role === "production" && this.#writerStarted) this.#enqueueAllWrites();
  }

  #markReady(cluster: string): void {
    // Behind every snapshot already on the channel: the aggregator sees it after them.
    this.#channel.send({ kind: "cluster-ready", cluster }).catch(() => {});
  }

  /** Stops watching cluster `name` and withdraws everything it contributed at once. */
  async #remove(name: string, signal: AbortSignal): Promise<void> {
    const pending = this.#replacements.get(name);
    if (pending) this.#stopCluster(pending, this.#replacements);
    const current = this.#clusters.get(name);
    if (!current) return;
    if (current.spec.role === "production") return; // the file always declares it
    this.#stopCluster(current, this.#clusters);
    this.#stale?.forget(name);
    this.#servedByWithdrawn.delete(name);
    this.#initialSync.forget(name);
    this.#startupClusters.delete(name);
    this.#opts.metrics.forgetCluster(name);
    this.#log.info({ cluster: name }, "cluster removed; withdrawing its endpoints");
    await this.#channel.send({ kind: "cluster-removed", cluster: name }, signal).catch(() => {});
    this.#maybeStartWriter();
  }

  #stopCluster(running: RunningCluster, from: Map<string, RunningCluster>): void {
    running.stop.abort();
    if (from.get(running.spec.name) === running) from.delete(running.spec.name);
  }

  // --- workers (SPEC M4, M5) ---

  async #handleInput(item: string, signal: AbortSignal): Promise<"ok"> {
    const at = item.indexOf(SEP);
    const cluster = item.slice(0, at);
    const key = item.slice(at + 1);
    const running = this.#clusters.get(cluster);
    if (!running) return "ok"; // removed meanwhile
    const ctl = running.controller;
    const info = serviceInfoOf(
      cluster,
      ctl.role,
      key,
      ctl.services.get(key),
      ctl.slicesOf(key),
      this.#opts.clock.now(),
      this.#policyOf(running.spec),
    );
    await this.#channel.send(info, signal);
    if (this.#initialSync.delivered(cluster, key)) this.#markReady(cluster);
    return "ok";
  }

  // --- the writer (SPEC M7, M8) ---

  #maybeStartWriter(): void {
    if (this.#writerStarted) return;
    const waiting = [...this.#startupClusters].filter((c) => !this.#aggregator.isReady(c));
    if (waiting.length === 0 && this.#startupClusters.size > 0)
      this.#startWriter("all clusters synced");
  }

  #startWriter(why: string): void {
    if (this.#writerStarted) return;
    this.#writerStarted = true;
    const waiting = [...this.#startupClusters].filter((c) => !this.#aggregator.isReady(c));
    if (waiting.length > 0) {
      this.#log.warn(
        { waiting },
        "writing without the first sync of some clusters (syncTimeout passed)",
      );
    } else {
      this.#log.info({ why }, "starting the writer");
    }
    this.#enqueueAllWrites();
    this.#writerStart.resolve();
  }

  /** Every Service we know of or wrote for: level-triggered cleanup and repair. */
  #enqueueAllWrites(): void {
    for (const key of this.#aggregator.keys()) this.#writeQueue.add(key);
    for (const key of this.#production()?.controller.servicesWithOurSlices() ?? []) {
      this.#writeQueue.add(key);
    }
  }

  async #writerResyncLoop(signal: AbortSignal): Promise<void> {
    const { clock, config } = this.#opts;
    if (config.resyncPeriodMs <= 0) return;
    while (!signal.aborted) {
      await clock.sleep(config.resyncPeriodMs, signal);
      if (signal.aborted) return;
      if (this.#writerStarted) this.#enqueueAllWrites();
    }
  }

  /**
   * What a peak may contribute (SPEC B1): its allowed CIDRs, minus production's own ranges and
   * API server address, capped per Service.
   */
  #policyOf(peak: ClusterSpec): AddressPolicy {
    const production = this.#fileConfig.clusters[0]!;
    const { podCIDRs, serviceCIDRs, nodeCIDRs } = production.ranges;
    const apiServer = this.#production()?.controller.client.server;
    const host = apiServer ? new URL(apiServer).hostname.replace(/^\[|\]$/g, "") : undefined;
    const apiAddress = host !== undefined && parseIpAddress(host) ? [host] : [];
    const found = this.#discoveredRanges;
    return {
      allowed: peak.allowedCIDRs,
      denied: [
        ...podCIDRs,
        ...serviceCIDRs,
        ...nodeCIDRs,
        ...apiAddress,
        ...found.nodes,
        ...found.services,
      ],
      maxEndpoints: peak.maxEndpointsPerService,
    };
  }

  /**
   * Production's own node addresses and ranges, read every discovery interval. A change alters
   * every peak's policy, so every peak Service is looked at again.
   */
  async #discoverProductionRanges(prod: RunningCluster, signal: AbortSignal): Promise<void> {
    const found = await readProductionRanges(prod.controller.client, signal).catch(() => undefined);
    if (!found || signal.aborted) return;
    this.#report(
      "production-ranges",
      found.problems.map((message) => ({ path: `cluster ${prod.spec.name}`, message })),
    );
    const before = this.#discoveredRanges;
    if (
      JSON.stringify([before.nodes, before.services]) ===
      JSON.stringify([found.nodes, found.services])
    ) {
      return;
    }
    this.#discoveredRanges = found;
    this.#log.info(
      { nodes: found.nodes, services: found.services },
      "production's own ranges (always refused from peaks)",
    );
    for (const [name, running] of this.#clusters) {
      if (running.spec.role !== "peak" || !running.controller.hasSynced) continue;
      for (const key of running.controller.serviceKeys())
        this.#inputQueue.add(`${name}${SEP}${key}`);
    }
  }

  /** Refused and dropped endpoints now, for the gauge. */
  #refusedCounts(): { cluster: string; reason: string; count: number }[] {
    const counts = new Map<string, number>();
    for (const key of this.#aggregator.keys()) {
      for (const view of this.#aggregator.views(key)) {
        for (const r of view.refused ?? []) {
          const k = `${view.cluster}\0${r.reason}`;
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        if (view.truncated) {
          const k = `${view.cluster}\0cap`;
          counts.set(k, (counts.get(k) ?? 0) + view.truncated.dropped);
        }
      }
    }
    return [...counts].map(([k, count]) => {
      const [cluster, reason] = k.split("\0") as [string, string];
      return { cluster, reason, count };
    });
  }

  #production(): RunningCluster | undefined {
    return this.#clusters.get(this.#fileConfig.clusters[0]!.name);
  }

  /** Logs `problems` of `topic` once each, and that they are gone once they are. */
  #report(topic: string, problems: readonly ConfigError[]): void {
    const lines = problems.map((p) => (p.path === "" ? p.message : `${p.path}: ${p.message}`));
    const keys = new Set(lines.map((l) => `${topic}\0${l}`));
    for (const line of lines) {
      if (!this.#reported.has(`${topic}\0${line}`)) this.#log.error({ topic }, line);
    }
    const before = [...this.#reported].filter((k) => k.startsWith(`${topic}\0`));
    for (const k of before) if (!keys.has(k)) this.#reported.delete(k);
    if (before.length > 0 && lines.length === 0) this.#log.info({ topic }, "problem resolved");
    for (const k of keys) this.#reported.add(k);
  }
}
