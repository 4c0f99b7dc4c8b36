import type { Aggregator } from "../aggregate/aggregator.ts";
import type { ClusterController } from "../controller/cluster-controller.ts";
import type { ServiceKey } from "../domain/service-key.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Clock } from "../runtime/clock.ts";
import type { LoopYielder } from "../runtime/loop-yielder.ts";
import type { RateLimiter } from "../runtime/rate-limiter.ts";
import { WorkQueue } from "../runtime/work-queue.ts";
import { runWorkers } from "../runtime/worker-pool.ts";
import type { Writer } from "../writer/writer.ts";

export interface WriteSchedulerOptions {
  writer: Writer;
  aggregator: Aggregator;
  production: () => ClusterController | undefined;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  yielder: LoopYielder;
  rateLimiter: () => RateLimiter<ServiceKey>;
  workers: number;
  /** The writer's full pass, ms (0: none). */
  resyncMs: number;
  /** The longest the first write waits for every cluster's first sync, ms. */
  syncTimeoutMs: number;
  /** Whether this process may write from the start (no leader election). */
  leading: boolean;
}

/**
 * When the writer runs, and on what (SPEC M4, B10): a de-duplicating queue of Service keys,
 * drained only once this process leads and every cluster declared at start has reported its
 * first list in full, or `syncTimeout` passed; then a full pass over every Service at start, on
 * gaining leadership, and every resync period, each planned from scratch.
 */
export class WriteScheduler {
  readonly #opts: WriteSchedulerOptions;
  readonly queue: WorkQueue<ServiceKey>;
  /** The clusters the first write waits for. */
  readonly #startup = new Set<string>();
  #leading: boolean;
  #started = false;
  /** Reconciles under way, and who waits for there to be none. */
  #inFlight = 0;
  #idle: (() => void)[] = [];
  #timedOut = false;
  readonly #start = Promise.withResolvers<void>();

  constructor(opts: WriteSchedulerOptions) {
    this.#opts = opts;
    this.#leading = opts.leading;
    this.queue = new WorkQueue({ clock: opts.clock, rateLimiter: opts.rateLimiter() });
    opts.metrics.trackQueue("write", () => this.queue.len());
  }

  /** Whether the writer runs. */
  get started(): boolean {
    return this.#started;
  }

  /** The declared clusters the first write still waits for. */
  waitingFor(): string[] {
    return [...this.#startup].filter((c) => !this.#opts.aggregator.isReady(c));
  }

  /** The first write waits for `cluster` (declared at start). */
  expect(cluster: string): void {
    this.#startup.add(cluster);
  }

  /** `cluster` was removed: nothing waits for it any more. */
  forget(cluster: string): void {
    this.#startup.delete(cluster);
    this.#maybeStart();
  }

  /** Every Service of `cluster`'s first list has been aggregated. */
  clusterReady(): void {
    this.#maybeStart();
  }

  /** This process gained or lost leadership. Gaining it plans every Service again. */
  setLeading(leading: boolean): void {
    const gained = leading && !this.#leading;
    this.#leading = leading;
    if (gained && this.#started) this.#everything();
    this.#maybeStart();
  }

  /** Service `key` may need writing. */
  add(key: ServiceKey): void {
    this.queue.add(key);
  }

  /** Runs until `signal` aborts: the `syncTimeout` timer, the writer's workers, the resync. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, syncTimeoutMs } = this.#opts;
    const timeout = clock.sleep(syncTimeoutMs, signal).then(() => {
      if (signal.aborted) return;
      this.#timedOut = true;
      this.#maybeStart();
    });
    signal.addEventListener("abort", () => this.#start.resolve(), { once: true });
    this.#maybeStart();
    await this.#start.promise;
    const { writer, workers, yielder, metrics, logger } = this.#opts;
    const reconcile = async (key: ServiceKey, s: AbortSignal) => {
      this.#inFlight++;
      try {
        return await writer.reconcile(key, s);
      } finally {
        if (--this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
      }
    };
    const writing = runWorkers(this.queue, workers, reconcile, {
      signal,
      yielder,
      onError: (key, err) => logger.error({ service: key, err }, "writer failed"),
      onHandled: (ms) => metrics.itemDuration.observe({ stage: "write" }, ms / 1000),
    });
    await Promise.all([timeout, writing, this.#resync(signal)]);
  }

  /** Resolves once no reconcile is under way (their writes have ended): before giving up the Lease. */
  drain(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Stops taking keys (at shutdown). */
  shutDown(): void {
    this.queue.shutDown();
    this.#start.resolve();
  }

  #maybeStart(): void {
    if (this.#started || !this.#leading || this.#startup.size === 0) return;
    const waiting = this.waitingFor();
    if (waiting.length > 0 && !this.#timedOut) return;
    this.#started = true;
    if (waiting.length > 0) {
      this.#opts.logger.warn(
        { waiting },
        "writing without the first sync of some clusters (syncTimeout passed); what was written for them is kept",
      );
    } else {
      this.#opts.logger.info("every cluster synced; starting the writer");
    }
    this.#everything();
    this.#start.resolve();
  }

  /** Every Service we know of or wrote for, planned from scratch: level-triggered repair. */
  #everything(): void {
    const keys = new Set(this.#opts.aggregator.keys());
    const prod = this.#opts.production();
    for (const key of prod?.servicesWithOurSlices() ?? []) keys.add(key);
    for (const key of prod?.endpointsKeys() ?? []) keys.add(key);
    this.#opts.writer.planAgain(keys);
    for (const key of keys) this.queue.add(key);
  }

  async #resync(signal: AbortSignal): Promise<void> {
    const { clock, resyncMs } = this.#opts;
    if (resyncMs <= 0) return;
    while (!signal.aborted) {
      await clock.sleep(resyncMs, signal);
      if (!signal.aborted && this.#started && this.#leading) this.#everything();
    }
  }
}
