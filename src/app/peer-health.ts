import type { AggregationInfo } from "../aggregate/aggregator.ts";
import type { ClusterController } from "../controller/cluster-controller.ts";
import type { ProductionService } from "../domain/production-service.ts";
import type { ReflectorState } from "../kube/reflector.ts";
import type { Logger } from "../observability/logger.ts";
import type { Channel } from "../runtime/channel.ts";
import type { Clock } from "../runtime/clock.ts";
import type { ServiceEvents } from "../writer/service-events.ts";
import { StalePolicy } from "./stale-policy.ts";

export interface PeerHealthOptions {
  clock: Clock;
  staleTTLMs: number;
  channel: Channel<AggregationInfo>;
  events: ServiceEvents;
  logger: Logger;
  /** The running controller of a peak. */
  controller: (cluster: string) => ClusterController | undefined;
  /** The production Services a peak serves now (its own reports, or what was written for it). */
  servedBy: (cluster: string) => ProductionService[];
}

/**
 * What a failing peak means for production (SPEC B3), told to the Services it serves as Events:
 * a peak that fails, or has not synced since start, keeps its last-known endpoints for
 * `staleTTL` (PeakStale); after that they are withdrawn (PeakWithdrawn), and they come back only
 * once the peak has listed everything again, not merely reopened a watch (PeakRestored).
 */
export class PeerHealth {
  readonly #opts: PeerHealthOptions;
  #stale: StalePolicy | undefined;
  #signal: AbortSignal = new AbortController().signal;
  /** The Services each withdrawn peak served, to tell them when it is back. */
  readonly #servedByWithdrawn = new Map<string, ProductionService[]>();
  /** Withdrawn peaks that have listed everything again since. */
  readonly #relisted = new Set<string>();
  /** Peaks whose owners were told of the current outage (PeakStale), once per outage. */
  readonly #told = new Set<string>();

  constructor(opts: PeerHealthOptions) {
    this.#opts = opts;
  }

  /** Starts the policy; its timers stop when `signal` aborts. */
  start(signal: AbortSignal): void {
    this.#signal = signal;
    const { clock, staleTTLMs } = this.#opts;
    this.#stale = new StalePolicy(
      clock,
      staleTTLMs,
      { withdraw: (c) => this.#withdraw(c), restore: (c) => this.#restore(c) },
      signal,
    );
  }

  /** Whether `cluster`'s endpoints are withdrawn now. */
  isWithdrawn(cluster: string): boolean {
    return this.#stale?.isWithdrawn(cluster) ?? false;
  }

  /** A peak's controller changed state (its first state is `syncing`). */
  observe(cluster: string, state: ReflectorState): void {
    const stale = this.#stale;
    if (!stale) return;
    if (state === "synced") this.#told.delete(cluster);
    if (state === "synced" && stale.isWithdrawn(cluster) && !this.#relisted.has(cluster)) return;
    const failing = state === "unreachable" || state === "refused";
    if (failing && !this.#told.has(cluster) && !stale.isWithdrawn(cluster)) {
      this.#told.add(cluster);
      const ttl = this.#opts.staleTTLMs;
      this.#opts.logger.warn(
        { cluster, state, staleTTLMs: ttl },
        "peak cluster failing; keeping its last-known endpoints for staleTTL",
      );
      const why = state === "refused" ? "refuses kubeburst's credentials" : "is unreachable";
      this.#announce(
        this.#opts.servedBy(cluster),
        "Warning",
        "PeakStale",
        `peak cluster ${cluster} ${why}; its last-known endpoints are kept for staleTTL (${ttl} ms)`,
      );
    }
    stale.observe(cluster, state);
  }

  /** A peak's controller completed a list of everything after {@link ClusterController.requestRelist}. */
  relisted(cluster: string): void {
    this.#relisted.add(cluster);
    const state = this.#opts.controller(cluster)?.state;
    if (state === "synced") this.#stale?.observe(cluster, "synced");
  }

  /** A peak is no longer declared. */
  forget(cluster: string): void {
    this.#stale?.forget(cluster);
    this.#told.delete(cluster);
    this.#servedByWithdrawn.delete(cluster);
    this.#relisted.delete(cluster);
  }

  #withdraw(cluster: string): void {
    const { logger, staleTTLMs, channel } = this.#opts;
    logger.warn(
      { cluster, staleTTLMs },
      "peak cluster failed for staleTTL; withdrawing its endpoints",
    );
    // Remembered now, while the aggregator still knows which Services the peak served.
    const served = this.#opts.servedBy(cluster);
    this.#servedByWithdrawn.set(cluster, served);
    this.#announce(
      served,
      "Warning",
      "PeakWithdrawn",
      `peak cluster ${cluster} failed for longer than staleTTL (${staleTTLMs} ms); its endpoints are withdrawn until it syncs again`,
    );
    this.#relisted.delete(cluster);
    this.#opts.controller(cluster)?.requestRelist();
    channel
      .send(
        { kind: "cluster-withdrawn", cluster, observedAt: this.#opts.clock.now() },
        this.#signal,
      )
      .catch(() => {});
  }

  #restore(cluster: string): void {
    const { logger, channel } = this.#opts;
    logger.info({ cluster }, "peak cluster listed everything again; restoring its endpoints");
    this.#announce(
      this.#servedByWithdrawn.get(cluster) ?? [],
      "Normal",
      "PeakRestored",
      `peak cluster ${cluster} synced again; its endpoints are restored`,
    );
    this.#servedByWithdrawn.delete(cluster);
    this.#relisted.delete(cluster);
    // The restore travels ahead of the reports on the channel, so the aggregator takes them.
    channel
      .send({ kind: "cluster-restored", cluster }, this.#signal)
      .then(() => this.#opts.controller(cluster)?.deliverAll())
      .catch(() => {});
  }

  #announce(
    services: readonly ProductionService[],
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void {
    this.#opts.events.record(services, type, reason, message, this.#signal).catch(() => {});
  }
}
