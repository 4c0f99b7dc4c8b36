import type { ServiceState } from "../aggregate/aggregator.ts";
import type { PeakReport } from "../controller/report.ts";
import {
  type BurstMemory,
  burstEndpoints,
  EMPTY_MEMORY,
  type PeakSourceInput,
  sourceId,
} from "../domain/burst-endpoints.ts";
import {
  type BurstDefaults,
  type BurstPhase,
  type BurstPolicyKind,
  decideBurst,
  parseBurstSpec,
} from "../domain/burst-policy.ts";
import type { EndpointGroup } from "../domain/endpoints.ts";
import type { ProductionService } from "../domain/production-service.ts";
import type { ServiceKey } from "../domain/service-key.ts";
import { type Source, sameSource } from "../domain/source.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Clock } from "../runtime/clock.ts";
import type { ServiceEvents } from "./service-events.ts";

/** One Service's burst decision as plain data (for status, explain, tests). */
export interface BurstDecisionView {
  service: ServiceKey;
  policy: BurstPolicyKind | "invalid";
  bursting: boolean;
  reason: string;
  /** RFC 3339: when `bursting` last changed. */
  since: string;
  shareCapPercent?: number;
  /** Production's own ready endpoints, when the policy reads them. */
  productionReady?: number;
  /** Peak endpoints written ready, draining (terminating), unreachable (probes), left out by the cap. */
  peakReady: number;
  draining: number;
  unreachable: number;
  capped: number;
  /** RFC 3339: when the decision or a drain changes by itself next (hold time, drain end). */
  nextChangeAt?: string;
}

/** A peak endpoint to probe for one Service. */
export interface ProbeTarget {
  cluster: string;
  address: string;
  port: number;
}

export interface BurstStageOptions {
  defaults: BurstDefaults;
  /** How long leaving peak endpoints are written terminating, ms (0: removed at once). */
  drainMs: number;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  events: ServiceEvents;
  /** Whether a peak cluster is ready (its draining endpoints may stay; else they go at once). */
  live: (cluster: string) => boolean;
  /** Whether peak `cluster`'s endpoints are probed. */
  probed: (cluster: string) => boolean;
  /** Whether the probes found `address` of `cluster` unreachable. */
  unreachable: (cluster: string, address: string) => boolean;
  /** The peak endpoints Service `key` wants probed now (replaces what it wanted before). */
  track: (key: ServiceKey, targets: ProbeTarget[]) => void;
  /** Service `key` must be reconciled again (a hold time or a drain ended). */
  wake: (key: ServiceKey) => void;
}

interface Memo {
  phase: BurstPhase;
  policy: BurstPolicyKind | "invalid";
  memory: BurstMemory;
  /** The sources we handed the writer, by source id: the same object while unchanged. */
  outputs: Map<string, Source>;
  view: BurstDecisionView;
  /** The problems last told by an Event (told once, not per reconcile). */
  told?: string;
  /** When a wake-up is scheduled (the earliest one armed). */
  wakeAt?: number;
}

/**
 * The burst policy between the aggregator and the slice writer (SPEC B4, B5): for one Service it
 * decides whether peaks take part now, and hands the writer the peak sources with only the
 * endpoints to write: the share cap's subset, draining ones terminating, unreachable ones not
 * ready. A Service with policy `always`, no cap, no drain and no probes passes through untouched
 * (the same objects, no work). Time-driven changes (a hold time or a drain that ends) are
 * scheduled on the clock, which wakes the Service; a resync is never needed for them.
 */
export class BurstStage {
  readonly #opts: BurstStageOptions;
  readonly #memos = new Map<ServiceKey, Memo>();

  constructor(opts: BurstStageOptions) {
    this.#opts = opts;
    opts.metrics.trackBurst(() => this.#totals());
  }

  /** Every Service's decision now. */
  decisions(): BurstDecisionView[] {
    return [...this.#memos.values()].map((m) => m.view);
  }

  /** Service `key`'s decision, or undefined when it does not take part. */
  decision(key: ServiceKey): BurstDecisionView | undefined {
    return this.#memos.get(key)?.view;
  }

  /** Forgets everything (leadership lost: a new leader decides from scratch). */
  forgetAll(): void {
    for (const key of this.#memos.keys()) this.#opts.track(key, []);
    this.#memos.clear();
  }

  /**
   * `state` as the writer should write it now. `signal` bounds the timers this arms and the
   * Events this records.
   */
  async view(key: ServiceKey, state: ServiceState, signal: AbortSignal): Promise<ServiceState> {
    const o = this.#opts;
    const production = state.production;
    if (!production) {
      if (this.#memos.delete(key)) o.track(key, []);
      return state;
    }
    const now = o.clock.now();
    const memo = this.#memos.get(key);
    const spec = parseBurstSpec(production.burst.annotations, o.defaults);
    const signals = {
      productionReady: production.burst.productionReady,
      hpa: production.burst.hpa,
    };
    const decision = decideBurst(spec, signals, memo?.phase, now);
    const policy = spec.ok ? spec.spec.policy : "invalid";
    const cap = spec.ok ? spec.spec.shareCapPercent : undefined;
    const probed = state.peaks.some((p) => o.probed(p.cluster));
    const passThrough =
      spec.ok &&
      spec.spec.policy === "always" &&
      cap === undefined &&
      o.drainMs === 0 &&
      !probed &&
      (memo === undefined || memo.memory.draining.size === 0);

    let out = state;
    let memory: BurstMemory = EMPTY_MEMORY;
    let counts = { admitted: 0, draining: 0, unreachable: 0, capped: 0 };
    let outputs = new Map<string, Source>();
    let wakeAt = decision.wakeAt;
    if (passThrough) {
      o.track(key, []);
      for (const peak of state.peaks)
        for (const s of peak.sources.values()) counts.admitted += readyCount(s);
    } else {
      const sources: PeakSourceInput[] = [];
      const targets: ProbeTarget[] = [];
      for (const peak of state.peaks) {
        const probe = o.probed(peak.cluster);
        for (const s of peak.sources.values()) {
          if (s.group === undefined) continue;
          sources.push({ cluster: peak.cluster, source: s.name, group: s.group });
          const port = s.group.ports.find((p) => p.protocol === "TCP")?.port;
          if (!probe || port === undefined) continue;
          for (const e of s.group.endpoints) {
            if (e.conditions.ready)
              targets.push({ cluster: peak.cluster, address: e.address, port });
          }
        }
      }
      o.track(key, targets);
      const result = burstEndpoints({
        bursting: decision.phase.bursting,
        shareCapPercent: cap,
        productionReady: production.burst.productionReady ?? 0,
        sources,
        unreachable: o.unreachable,
        live: o.live,
        drainMs: o.drainMs,
        now,
        memory: memo?.memory ?? EMPTY_MEMORY,
      });
      memory = result.memory;
      counts = result.counts;
      if (result.wakeAt !== undefined) wakeAt = Math.min(wakeAt ?? result.wakeAt, result.wakeAt);
      outputs = new Map();
      out = {
        ...state,
        peaks: this.#peaks(state.peaks, result.groups, memo?.outputs, outputs),
      };
    }

    const view: BurstDecisionView = {
      service: key,
      policy,
      bursting: decision.phase.bursting,
      reason: decision.phase.reason,
      since: new Date(decision.phase.since).toISOString(),
      ...(cap === undefined ? {} : { shareCapPercent: cap }),
      ...(production.burst.productionReady === undefined
        ? {}
        : { productionReady: production.burst.productionReady }),
      peakReady: counts.admitted,
      draining: counts.draining,
      unreachable: counts.unreachable,
      capped: counts.capped,
      ...(wakeAt === undefined ? {} : { nextChangeAt: new Date(wakeAt).toISOString() }),
    };
    const next: Memo = { phase: decision.phase, policy, memory, outputs, view };
    if (memo?.told !== undefined) next.told = memo.told;
    if (memo?.wakeAt !== undefined && memo.wakeAt > now) next.wakeAt = memo.wakeAt;
    this.#memos.set(key, next);
    if (wakeAt !== undefined) this.#schedule(key, next, wakeAt, signal);
    await this.#tell(key, production.production, memo, next, spec, signal);
    return out;
  }

  /** The peak reports with their sources replaced; a source that drains after its peak left is added. */
  #peaks(
    peaks: readonly PeakReport[],
    groups: ReadonlyMap<string, EndpointGroup>,
    before: ReadonlyMap<string, Source> | undefined,
    outputs: Map<string, Source>,
  ): PeakReport[] {
    const result: PeakReport[] = [];
    const seen = new Set<string>();
    const output = (cluster: string, source: Source): Source => {
      const id = sourceId(cluster, source.name);
      seen.add(id);
      const group = groups.get(id);
      if (group === undefined) return source;
      const fresh: Source = { ...source, group };
      const old = before?.get(id);
      const kept = old && sameSource(old, fresh) ? old : fresh;
      outputs.set(id, kept);
      return kept;
    };
    for (const peak of peaks) {
      const sources = new Map<string, Source>();
      for (const [name, s] of peak.sources) sources.set(name, output(peak.cluster, s));
      result.push({ ...peak, sources });
    }
    // Sources that left (unlabelled, scaled in, slice deleted) and still drain.
    const byCluster = new Map<string, PeakReport>();
    for (const [id, group] of groups) {
      if (seen.has(id)) continue;
      const [cluster = "", name = ""] = id.split("\u0000");
      let peak = byCluster.get(cluster) ?? result.find((p) => p.cluster === cluster);
      if (!peak) {
        peak = {
          kind: "peak",
          cluster,
          service: "",
          generation: 0,
          role: { kind: "peak" },
          sources: new Map(),
          refused: new Map(),
        };
        result.push(peak);
      }
      byCluster.set(cluster, peak);
      (peak.sources as Map<string, Source>).set(
        name,
        output(cluster, { name, group, refused: [] }),
      );
    }
    return result;
  }

  /** Arms one timer per Service for its earliest pending change. */
  #schedule(key: ServiceKey, memo: Memo, at: number, signal: AbortSignal): void {
    if (memo.wakeAt !== undefined && memo.wakeAt <= at) return;
    memo.wakeAt = at;
    const { clock } = this.#opts;
    void clock.sleep(Math.max(0, at - clock.now()), signal).then(() => {
      if (signal.aborted) return;
      const current = this.#memos.get(key);
      if (current?.wakeAt === at) delete current.wakeAt;
      this.#opts.wake(key);
    });
  }

  /** Events and metrics for a burst that started or ended, and for annotations that are wrong. */
  async #tell(
    key: ServiceKey,
    service: ProductionService,
    before: Memo | undefined,
    now: Memo,
    spec: ReturnType<typeof parseBurstSpec>,
    signal: AbortSignal,
  ): Promise<void> {
    const o = this.#opts;
    const was = before?.phase.bursting ?? now.policy === "always";
    if (was !== now.phase.bursting) {
      const direction = now.phase.bursting ? "started" : "ended";
      o.metrics.burstTransitions.inc({ policy: now.policy, direction });
      o.logger.info(
        {
          service: key,
          policy: now.policy,
          bursting: now.phase.bursting,
          reason: now.phase.reason,
        },
        `burst ${direction}`,
      );
      await o.events.record(
        [service],
        "Normal",
        now.phase.bursting ? "BurstStarted" : "BurstEnded",
        `policy ${now.policy}: ${now.phase.reason}`,
        signal,
      );
    }
    const problems = spec.ok ? undefined : spec.problems.join("; ");
    if (problems !== now.told) {
      if (problems === undefined) delete now.told;
      else {
        now.told = problems;
        o.logger.warn({ service: key, problems }, "burst annotations are invalid; decision kept");
        await o.events.record([service], "Warning", "BurstPolicyInvalid", problems, signal);
      }
    }
  }

  #totals() {
    const services = new Map<string, number>();
    const endpoints = { ready: 0, draining: 0, unreachable: 0, capped: 0 };
    for (const { view } of this.#memos.values()) {
      const k = `${view.policy}\u0000${view.bursting ? "bursting" : "idle"}`;
      services.set(k, (services.get(k) ?? 0) + 1);
      endpoints.ready += view.peakReady;
      endpoints.draining += view.draining;
      endpoints.unreachable += view.unreachable;
      endpoints.capped += view.capped;
    }
    return {
      services: [...services].map(([k, count]) => {
        const [policy = "", state = ""] = k.split("\u0000");
        return { policy, state, count };
      }),
      endpoints,
    };
  }
}

/** Counted once per Source object: an unchanged peak slice is not counted again. */
const readyBySource = new WeakMap<Source, number>();

function readyCount(source: Source): number {
  let n = readyBySource.get(source);
  if (n === undefined) {
    n = source.group?.endpoints.filter((e) => e.conditions.ready).length ?? 0;
    readyBySource.set(source, n);
  }
  return n;
}
