import type { WriteOptions } from "../kube/writes.ts";
import type { Metrics } from "../observability/metrics.ts";
import { type Fence, FenceClosedError } from "./fence.ts";

/** Write verbs, as counted in `kubeburst_writer_writes_total`. */
export type WriteVerb = "apply" | "delete" | "update" | "create";

/**
 * Every write to production goes through here: the fence is checked right before it is sent
 * (SPEC B10), its deadline is the shorter of the API timeout and the fence's write budget, and it
 * is counted by verb and result.
 */
export class FencedWrites {
  readonly #fence: Fence;
  readonly #metrics: Metrics;
  readonly #timeoutMs: number;

  constructor(fence: Fence, metrics: Metrics, apiTimeoutMs: number) {
    this.#fence = fence;
    this.#metrics = metrics;
    this.#timeoutMs = apiTimeoutMs;
  }

  /** Makes one write, or throws {@link FenceClosedError} without sending it. */
  async run<T>(
    verb: WriteVerb,
    write: (options: WriteOptions) => Promise<T>,
    signal: AbortSignal,
  ): Promise<T> {
    if (!this.#fence.canWrite()) throw new FenceClosedError();
    const timeoutMs = Math.max(1, Math.min(this.#timeoutMs, this.#fence.writeBudgetMs()));
    try {
      const result = await write({ signal, timeoutMs });
      this.#metrics.writes.inc({ verb, result: "ok" });
      return result;
    } catch (err) {
      this.#metrics.writes.inc({ verb, result: "error" });
      throw err;
    }
  }
}
