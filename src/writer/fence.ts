/**
 * Whether this process may write now (SPEC B10 fencing). With leader election it is the elector:
 * true only while its last renewal is young enough that no standby can hold the Lease yet.
 */
export interface Fence {
  /** Checked right before every write. */
  canWrite(): boolean;
  /** How long a write started now may stay in flight, ms: its deadline. */
  writeBudgetMs(): number;
}

/** The fence of a single replica without leader election: always open. */
export const alwaysFence: Fence = {
  canWrite: () => true,
  writeBudgetMs: () => Number.POSITIVE_INFINITY,
};

/** Thrown instead of writing when the fence is closed; the key is retried later. */
export class FenceClosedError extends Error {
  override readonly name = "FenceClosedError";

  constructor() {
    super("not leading (or the Lease could not be renewed in time): write skipped");
  }
}
