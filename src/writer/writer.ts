import type { Aggregator, ServiceState } from "../aggregate/aggregator.ts";
import type { EndpointMode } from "../config/load-config.ts";
import type { ClusterController } from "../controller/cluster-controller.ts";
import type { PeakReport } from "../controller/report.ts";
import type { ImportConflict } from "../domain/imported-groups.ts";
import { literalModeRefusal } from "../domain/literal-endpoints.ts";
import type { ProductionService } from "../domain/production-service.ts";
import type { ServiceKey } from "../domain/service-key.ts";
import { KubeApiError } from "../kube/kube-api-error.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Clock } from "../runtime/clock.ts";
import type { HandleResult } from "../runtime/worker-pool.ts";
import type { BurstStage } from "./burst-stage.ts";
import { type Fence, FenceClosedError } from "./fence.ts";
import { FencedWrites } from "./fenced-writes.ts";
import { LiteralWriter, RetryLater } from "./literal-writer.ts";
import type { ServiceEvents } from "./service-events.ts";
import { SliceWriter } from "./slice-writer.ts";

export interface WriterOptions {
  mode: EndpointMode;
  installation: string;
  aggregator: Aggregator;
  /** The production cluster's controller (its caches hold what we wrote). */
  production: () => ClusterController | undefined;
  events: ServiceEvents;
  fence: Fence;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  apiTimeoutMs: number;
  /** Endpoints per slice, default 100. */
  maxPerSlice?: number;
  /** The burst policy stage (SPEC B4, B5); without it every peak endpoint is written as it is. */
  burst?: BurstStage;
}

/** What the writer last did for one Service (for the status API). */
export interface WriteHistory {
  /** The last reconcile that wrote, or failed to: clock ms, and the error when it failed. */
  lastWrite?: { at: number; result: "ok" | "error"; error?: string };
  /** The last change that reached production: its cluster, its event's arrival, its write. */
  lastChange?: { cluster: string; observedAt: number; writtenAt: number };
}

/**
 * The only component that writes (SPEC M7, M8): for one production Service it makes production
 * hold what the aggregator says (slices by default, the Endpoints object in literal mode), takes
 * back what the other mode left, and tells the Service's owner, by Events, what it could not
 * import. Writes are fenced by leadership and counted.
 */
export class Writer {
  readonly #opts: WriterOptions;
  readonly #slices: SliceWriter;
  readonly #literal: LiteralWriter;
  /** Keys to plan from scratch at their next reconcile (resync, leadership gained). */
  readonly #deep = new Set<ServiceKey>();
  /** What was last reported per Service, so a persistent problem is told once, not per reconcile. */
  readonly #told = new Map<ServiceKey, string>();
  readonly #history = new Map<ServiceKey, WriteHistory>();

  constructor(opts: WriterOptions) {
    this.#opts = opts;
    const writes = new FencedWrites(opts.fence, opts.metrics, opts.apiTimeoutMs);
    this.#slices = new SliceWriter({
      installation: opts.installation,
      writes,
      metrics: opts.metrics,
      logger: opts.logger,
      clock: opts.clock,
      ...(opts.maxPerSlice === undefined ? {} : { maxPerSlice: opts.maxPerSlice }),
    });
    this.#literal = new LiteralWriter(opts.installation, writes);
  }

  /** The next reconcile of each of `keys` plans everything again and compares with the cache. */
  planAgain(keys: Iterable<ServiceKey>): void {
    for (const key of keys) this.#deep.add(key);
  }

  /** What the writer last did for Service `key`, if anything. */
  history(key: ServiceKey): WriteHistory | undefined {
    return this.#history.get(key);
  }

  /** Makes production hold the union for Service `key`. "retry" asks for a rate-limited retry. */
  async reconcile(key: ServiceKey, signal: AbortSignal): Promise<HandleResult> {
    const prod = this.#opts.production();
    if (!prod?.hasSynced) return "retry";
    const deep = this.#deep.delete(key);
    const aggregated = this.#opts.aggregator.serviceState(key);
    const state = this.#opts.burst
      ? await this.#opts.burst.view(key, aggregated, signal)
      : aggregated;
    const service = state.production?.production;
    const { mode } = this.#opts;
    try {
      let wrote = false;
      let conflicts: ImportConflict[] = [];
      let refusal: { reason: string; message: string } | undefined;
      if (mode === "endpoints") {
        const refused = service === undefined ? undefined : literalModeRefusal(service);
        if (refused) refusal = { reason: "LiteralModeRefused", message: refused };
        const literal = await this.#literal.reconcile(
          key,
          state,
          refused ? undefined : service,
          prod,
          signal,
        );
        // Slices of ours are leftovers of endpointslice mode: they would double the peak's share.
        const slices = await this.#slices.reconcile(key, state, undefined, prod, deep, signal);
        wrote = literal.wrote || slices.wrote;
        conflicts = literal.conflicts;
      } else {
        const external = service?.type === "ExternalName";
        if (external) {
          refusal = {
            reason: "ExternalNameNotSupported",
            message:
              "an ExternalName Service has no endpoints for kube-proxy to balance; kubeburst imports nothing for it (use a ClusterIP Service)",
          };
        }
        const slices = await this.#slices.reconcile(
          key,
          state,
          external ? undefined : service,
          prod,
          deep,
          signal,
        );
        // Addresses literal mode added are taken back out of the Endpoints object.
        const literal = await this.#literal.reconcile(key, state, undefined, prod, signal);
        wrote = slices.wrote || literal.wrote;
        conflicts = slices.conflicts;
      }
      if (!wrote) this.#opts.metrics.noopSyncs.inc();
      this.#record(key, wrote, service !== undefined);
      await this.#tell(key, state, service, conflicts, refusal, signal);
      return "ok";
    } catch (err) {
      if (err instanceof RetryLater || err instanceof FenceClosedError) return "retry";
      if (signal.aborted) throw err;
      if (!(err instanceof KubeApiError)) throw err;
      const history = this.#history.get(key) ?? {};
      history.lastWrite = { at: this.#opts.clock.now(), result: "error", error: err.message };
      this.#history.set(key, history);
      this.#opts.logger.warn(
        { service: key, kind: err.kind, reason: err.message },
        "write failed; will retry",
      );
      return "retry";
    }
  }

  /**
   * After a reconcile whose writes were all acknowledged: the propagation of the change behind it,
   * from its watch event's arrival to now (SPEC B9, B12), and what the status API shows.
   */
  #record(key: ServiceKey, wrote: boolean, takesPart: boolean): void {
    const { aggregator, clock, metrics } = this.#opts;
    const change = aggregator.takeChange(key);
    if (!wrote) {
      if (!takesPart) this.#history.delete(key);
      return;
    }
    const now = clock.now();
    const history = this.#history.get(key) ?? {};
    history.lastWrite = { at: now, result: "ok" };
    if (change) {
      metrics.propagation.observe(
        { cluster: change.cluster },
        Math.max(0, now - change.observedAt) / 1000,
      );
      history.lastChange = { ...change, writtenAt: now };
    }
    this.#history.set(key, history);
  }

  /**
   * Tells a Service's owner what was left out (SPEC B1, B2, B8, section 5): a log line and Events,
   * only when what there is to tell changed since the last reconcile of this Service.
   */
  async #tell(
    key: ServiceKey,
    state: ServiceState,
    service: ProductionService | undefined,
    conflicts: readonly ImportConflict[],
    refusal: { reason: string; message: string } | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const events: { reason: string; message: string }[] = [];
    if (refusal) events.push(refusal);
    for (const c of dedupe(conflicts)) {
      events.push({ reason: "PeakEndpointsLeftOut", message: `cluster ${c.cluster}: ${c.reason}` });
    }
    for (const peak of state.peaks) {
      const refused = refusalSummary(peak);
      if (refused) events.push({ reason: "PeakEndpointsRefused", message: refused });
      if (peak.truncated) {
        const { kept, dropped } = peak.truncated;
        events.push({
          reason: "PeakEndpointsTruncated",
          message: `cluster ${peak.cluster} has more endpoints than its maxEndpointsPerService: ${kept} kept, ${dropped} left out`,
        });
      }
    }
    const labels = state.conflicts.map((c) => `cluster ${c.cluster}: ${c.reason}`);
    const told = JSON.stringify([events, labels]);
    if (this.#told.get(key) === told) return;
    if (events.length === 0 && labels.length === 0) this.#told.delete(key);
    else this.#told.set(key, told);
    for (const reason of labels) {
      this.#opts.logger.warn(
        { service: key, reason },
        "Service labels contradict each other; it does not take part",
      );
    }
    if (events.length === 0) return;
    this.#opts.logger.warn(
      { service: key, problems: events },
      "part of the peak endpoints is left out",
    );
    if (!service) return;
    for (const event of events) {
      await this.#opts.events.record([service], "Warning", event.reason, event.message, signal);
    }
  }
}

function dedupe(conflicts: readonly ImportConflict[]): ImportConflict[] {
  const seen = new Map<string, ImportConflict>();
  for (const c of conflicts)
    seen.set(`${c.cluster}\u0000${c.kind}\u0000${c.port ?? ""}\u0000${c.reason}`, c);
  return [...seen.values()];
}

/** "N endpoint(s) from cluster X refused: a (reason), …" with at most five examples, or undefined. */
function refusalSummary(peak: PeakReport): string | undefined {
  const total = [...peak.refused.values()].reduce((sum, n) => sum + n, 0);
  if (total === 0) return undefined;
  const examples: string[] = [];
  for (const source of peak.sources.values()) {
    for (const r of source.refused) {
      if (examples.length === 5) break;
      examples.push(`${r.address} (${r.reason})`);
    }
  }
  const more = total > examples.length ? ` and ${total - examples.length} more` : "";
  return `${total} endpoint(s) from cluster ${peak.cluster} refused: ${examples.join(", ")}${more}`;
}
