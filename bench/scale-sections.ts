// Sections 2–4 of the benchmark: cold starts at growing sizes, 100,000 endpoints, and a
// production cluster with 1,000 nodes through a cold start and a resync.
import { PRODUCTION } from "./bench-cloud.ts";
import type { ColdStartRun, NodesResult } from "./bench-results.ts";
import { type BenchContext, measureColdStart } from "./cold-start.ts";
import { measureResync } from "./resync.ts";
import { ServiceSet } from "./service-set.ts";

/** Namespaces the cold-start Services are spread over. */
const COLD_NAMESPACES = 10;

export class ScaleSections {
  readonly #ctx: BenchContext;
  readonly #cold: ServiceSet;
  /** Cold starts measured so far, by size. */
  readonly #coldRuns = new Map<number, ColdStartRun>();

  constructor(ctx: BenchContext, endpointsPerService: number) {
    this.#ctx = ctx;
    this.#cold = new ServiceSet(ctx.bc, "bench-cold", COLD_NAMESPACES, endpointsPerService);
  }

  /** Section 2: one cold start per size, smallest first (the set grows between them). */
  async coldStart(sizes: readonly number[]): Promise<ColdStartRun[]> {
    const runs: ColdStartRun[] = [];
    for (const n of sizes) {
      const run = await measureColdStart(this.#ctx, this.#cold, n);
      this.#coldRuns.set(n, run);
      runs.push(run);
    }
    return runs;
  }

  /** Section 3: `services` × `perService` endpoints in one cold start; removed afterwards. */
  async endpoints(services: number, perService: number): Promise<ColdStartRun> {
    const set = new ServiceSet(this.#ctx.bc, "bench-wide", 4, perService);
    try {
      return await measureColdStart(this.#ctx, set, services);
    } finally {
      await set.remove();
    }
  }

  /**
   * Section 4: `count` API-only Nodes in production, then a cold start of `services` with a
   * short resyncPeriod, and the first no-op resync after it converged. The nodes are deleted
   * afterwards.
   */
  async nodes(
    count: number,
    services: number,
    resyncSeconds: number | undefined,
  ): Promise<NodesResult> {
    const { bc, log } = this.#ctx;
    const known = this.#coldRuns.get(services);
    // Long enough for the cold start to finish first, so the resync measured is a no-op one.
    const resyncPeriodSeconds =
      resyncSeconds ??
      (known?.converged
        ? Math.min(600, Math.max(30, Math.ceil(1.5 * known.convergedSeconds + 15)))
        : 120);
    const started = Date.now();
    await bc.cloud.addApiNodes(PRODUCTION, count, { concurrency: 24 });
    log(`${count} API-only nodes in production (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    let resync: NodesResult["resync"] | undefined;
    try {
      const coldStart = await measureColdStart(this.#ctx, this.#cold, services, {
        resyncPeriodSeconds,
        productionNodes: count,
        afterConverged: async (kb) => {
          log(`nodes: waiting for a resync (resyncPeriod ${resyncPeriodSeconds} s)`);
          resync = await measureResync(kb, services, resyncPeriodSeconds);
          log(
            `nodes: resync observed=${resync.observed}, writes ${resync.writes ?? "?"}, /healthz max ${resync.lag.probeMaxMs?.toFixed(0) ?? "?"} ms`,
          );
        },
      });
      return { nodes: count, resyncPeriodSeconds, coldStart, ...(resync ? { resync } : {}) };
    } finally {
      await bc.cloud.removeApiNodes(PRODUCTION);
    }
  }
}
