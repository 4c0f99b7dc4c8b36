// One cold start: production and the peak already hold N Service pairs and the peak's slices;
// kubeburst starts, and a watch in production counts its slices until every Service has all its
// endpoints. Used by the cold-start, 100,000-endpoint and production-nodes sections.
import { performance } from "node:perf_hooks";
import type { BenchCloud } from "./bench-cloud.ts";
import { KUBEBURST_MANAGER, MANAGED_BY_LABEL } from "./bench-objects.ts";
import type { ColdStartRun } from "./bench-results.ts";
import type { Cleanup } from "./cleanup.ts";
import { KubeburstUnderTest } from "./kubeburst-under-test.ts";
import type { ServiceSet } from "./service-set.ts";
import { SliceView } from "./slice-view.ts";

const MiB = 1024 * 1024;

export interface ColdStartOptions {
  /** kubeburst's resyncPeriod, s (default 600). */
  resyncPeriodSeconds?: number;
  /** Node objects in production now (for the report). */
  productionNodes?: number;
  /** Give up waiting for convergence after this long, ms. Default: 120 s + 60 ms per Service. */
  timeoutMs?: number;
  /** Give up when no Service completed for this long, ms. Default 180 000. */
  stallMs?: number;
  /** Runs after convergence, while kubeburst still runs (the nodes section's resync). */
  afterConverged?: (kb: KubeburstUnderTest, run: ColdStartRun) => Promise<void>;
}

export interface BenchContext {
  bc: BenchCloud;
  cleanup: Cleanup;
  log: (line: string) => void;
}

/** Resolves with the time (performance.now()) at which every key had `expected` endpoints. */
export function watchConvergence(
  view: SliceView,
  keys: readonly string[],
  expected: number,
): { done: Promise<number>; remaining: () => number; stop: () => void } {
  const pending = new Set(keys);
  const { promise, resolve } = Promise.withResolvers<number>();
  const check = (key: string, at: number) => {
    if (!pending.has(key) || view.endpointCount(key) < expected) return;
    pending.delete(key);
    if (pending.size === 0) resolve(at);
  };
  const stop = view.subscribe(check);
  const now = performance.now();
  for (const key of keys) check(key, now);
  if (keys.length === 0) resolve(now);
  return { done: promise, remaining: () => pending.size, stop };
}

/** Resolves once `check()` holds, polling every 100 ms; throws after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Resolves when `timeoutMs` have passed, or when `remaining()` has not gone down for `stallMs`
 * (checked every 5 s); never when `signal` aborts first.
 */
function giveUp(
  remaining: () => number,
  timeoutMs: number,
  stallMs: number,
  signal: AbortSignal,
): Promise<{ kind: "timeout" | "stalled" }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let last = remaining();
    let progressAt = started;
    const timer = setInterval(() => {
      const now = Date.now();
      const left = remaining();
      if (left < last) {
        last = left;
        progressAt = now;
      }
      if (now - started >= timeoutMs) resolve({ kind: "timeout" });
      else if (now - progressAt >= stallMs) resolve({ kind: "stalled" });
      else return;
      clearInterval(timer);
    }, 5000);
    signal.addEventListener("abort", () => clearInterval(timer), { once: true });
  });
}

export async function measureColdStart(
  ctx: BenchContext,
  set: ServiceSet,
  n: number,
  opts: ColdStartOptions = {},
): Promise<ColdStartRun> {
  const { bc, cleanup, log } = ctx;
  await set.ensure(n, log);
  const view = new SliceView(bc.production, `${MANAGED_BY_LABEL}=${KUBEBURST_MANAGER}`);
  const unregisterView = cleanup.add("production slice watch", () => view.close());
  try {
    await view.start();
    const keys = set.keys(n);
    await set.deleteOurSlices();
    await until(
      "kubeburst's slices of the last run deleted",
      () => keys.every((k) => view.endpointCount(k) === 0),
      120_000,
    );
    const eventsBefore = await bc.countEvents(set.namespaces);
    const convergence = watchConvergence(view, keys, set.endpointsPerService);
    const name = `kubeburst-${set.prefix}-${n}${opts.productionNodes ? `-nodes${opts.productionNodes}` : ""}`;
    const config = await bc.writeConfig(
      name,
      opts.resyncPeriodSeconds ? { resyncPeriodSeconds: opts.resyncPeriodSeconds } : {},
    );
    log(`${name}: starting kubeburst for ${n} Services × ${set.endpointsPerService} endpoints`);
    const kb = await KubeburstUnderTest.start(config, bc.dir, name);
    const unregisterKb = cleanup.add(name, () => kb.stop());
    try {
      const timeoutMs = opts.timeoutMs ?? 120_000 + 60 * n;
      const stallMs = opts.stallMs ?? 180_000;
      const watchdog = new AbortController();
      const outcome = await Promise.race([
        convergence.done.then((at) => ({ kind: "converged" as const, at })),
        kb.process.exited.then((code) => ({ kind: "exited" as const, code })),
        giveUp(convergence.remaining, timeoutMs, stallMs, watchdog.signal),
      ]).finally(() => watchdog.abort());
      if (outcome.kind === "exited") {
        throw new Error(`kubeburst exited with code ${outcome.code} before converging`);
      }
      const convergedAt = outcome.kind === "converged" ? outcome.at : performance.now();
      const convergedEpoch = Date.now() - (performance.now() - convergedAt);
      const atConverged = await kb.usage();
      convergence.stop();
      if (outcome.kind !== "converged") {
        log(
          `${name}: ${convergence.remaining()} of ${n} Services still incomplete (${outcome.kind === "stalled" ? `none completed for ${stallMs / 1000} s` : `after ${timeoutMs / 1000} s`})`,
        );
      }
      // A kubeburst that did not converge may not answer at all: one short try, no waiting.
      const quiet =
        outcome.kind === "converged"
          ? await kb.waitQuiet().catch(() => undefined)
          : await kb.scrape(5000).catch(() => undefined);
      const after = await kb.usage();
      const run: ColdStartRun = {
        services: n,
        endpointsPerService: set.endpointsPerService,
        productionNodes: opts.productionNodes ?? 0,
        converged: outcome.kind === "converged",
        servicesConverged: n - convergence.remaining(),
        convergedSeconds: (convergedAt - kb.startedAt) / 1000,
        ...(quiet?.writes === undefined ? {} : { writes: quiet.writes }),
        ...(quiet?.writeErrors === undefined ? {} : { writeErrors: quiet.writeErrors }),
        minimumWrites: set.minimumWrites(n),
        events: (await bc.countEvents(set.namespaces)) - eventsBefore,
        peakRssMiB: after.peakRssBytes / MiB,
        cpuSeconds: atConverged.cpuSeconds,
        lag: kb.lag(kb.startedAtEpoch, convergedEpoch),
      };
      log(
        `${name}: converged=${run.converged} in ${run.convergedSeconds.toFixed(1)} s, writes ${run.writes ?? "?"} (minimum ${run.minimumWrites}), peak RSS ${run.peakRssMiB?.toFixed(0)} MiB, CPU ${run.cpuSeconds?.toFixed(1)} s, /healthz max ${run.lag.probeMaxMs?.toFixed(0) ?? "?"} ms`,
      );
      if (opts.afterConverged && run.converged) await opts.afterConverged(kb, run);
      return run;
    } finally {
      await kb.stop();
      unregisterKb();
    }
  } finally {
    await view.close();
    unregisterView();
  }
}
