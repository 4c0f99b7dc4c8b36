/**
 * What a writer asks right before each write (SPEC B10, fencing): may I write now, and for how
 * long may that write stay in flight? With leader election it is the LeaderElector. Give each
 * write the deadline `min(api.timeout, writeBudgetMs())`.
 */
export interface Fence {
  /** Whether a write may start now. */
  canWrite(): boolean;
  /**
   * How long a write started now may stay in flight, in ms, before another replica could hold
   * the Lease. Always positive while {@link Fence.canWrite} is true; 0 when it is false.
   */
  writeBudgetMs(): number;
}

/** The fence of a single replica without leader election: always open, with no budget limit. */
export const alwaysFence: Fence = Object.freeze({
  canWrite: () => true,
  writeBudgetMs: () => Number.POSITIVE_INFINITY,
});

/** Thrown instead of writing when the fence is closed; the key is retried later. */
export class FenceClosedError extends Error {
  override readonly name = "FenceClosedError";

  constructor() {
    super("not leading (or the Lease could not be renewed in time): write skipped");
  }
}
