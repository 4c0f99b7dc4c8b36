import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * Keeps long runs of work from holding the one event loop: `maybeYield()` lets timers and I/O
 * (watches, Lease renewals, /readyz) run once the loop has been held for `budgetMs` since the
 * last turn, and is free otherwise. Share one per process, so every loop that calls it counts
 * against the same budget.
 */
export class LoopYielder {
  readonly #budgetMs: number;
  #turnStarted = performance.now();
  #pending: Promise<void> | undefined;

  /** @param budgetMs how long work may hold the loop between turns; default 10 ms. */
  constructor(budgetMs = 10) {
    this.#budgetMs = budgetMs;
  }

  /** Resolves at once while within budget; otherwise after the event loop has turned. */
  maybeYield(): Promise<void> {
    if (performance.now() - this.#turnStarted < this.#budgetMs) return Promise.resolve();
    this.#pending ??= nextTurn().then(() => {
      this.#turnStarted = performance.now();
      this.#pending = undefined;
    });
    return this.#pending;
  }
}
