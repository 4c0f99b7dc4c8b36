import type { Clock } from "./clock.ts";
import { createRateLimiter, type RateLimiter } from "./rate-limiter.ts";

/** Dependencies of a {@link WorkQueue}. */
export interface WorkQueueOptions<K> {
  /** Times `addAfter` and `addRateLimited` delays. */
  clock: Clock;
  /** Decides `addRateLimited` delays; default `createRateLimiter(clock)`. */
  rateLimiter?: RateLimiter<K>;
}

interface Getter<K> {
  resolve: (key: K | undefined) => void;
}

/**
 * A de-duplicating, delaying, rate-limited work queue with client-go's semantics:
 *
 * - a key waiting in the queue is there once, however often it is added (duplicates coalesce);
 * - a key is handed to one worker at a time: a key added while it is being processed is marked
 *   dirty and queued again only when that worker calls {@link WorkQueue.done};
 * - every key returned by {@link WorkQueue.get} must be passed to `done` exactly once.
 *
 * Keys are compared with `Map` semantics (`SameValueZero`), so use strings or other primitives.
 * The constructor starts nothing; delayed adds use the clock and stop at {@link WorkQueue.shutDown}.
 */
export class WorkQueue<K extends NonNullable<unknown>> {
  readonly #clock: Clock;
  readonly #rateLimiter: RateLimiter<K>;
  /** Keys that need processing (queued, or to be queued again after `done`). */
  readonly #dirty = new Set<K>();
  /** Keys a worker holds. */
  readonly #processing = new Set<K>();
  /** Dirty keys not being processed, in FIFO order; `#head` indexes the first. */
  #queue: K[] = [];
  #head = 0;
  /** Delayed adds: the due time of each key's earliest pending `addAfter`. */
  readonly #waiting = new Map<K, number>();
  readonly #getters: Getter<K>[] = [];
  readonly #stop = new AbortController();

  constructor(options: WorkQueueOptions<K>) {
    this.#clock = options.clock;
    this.#rateLimiter = options.rateLimiter ?? createRateLimiter<K>(options.clock);
  }

  /** Marks `key` as needing processing. No-op after {@link WorkQueue.shutDown}. */
  add(key: K): void {
    if (this.shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#queue.push(key);
    this.#dispatch();
  }

  /**
   * Adds `key` after `ms` milliseconds (at once if `ms <= 0`). Of several pending delayed adds of
   * one key the earliest wins. Pending delays are dropped at {@link WorkQueue.shutDown}.
   */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const due = this.#clock.now() + ms;
    const pending = this.#waiting.get(key);
    if (pending !== undefined && pending <= due) return;
    this.#waiting.set(key, due);
    void this.#clock.sleep(ms, this.#stop.signal).then(() => {
      // A later, earlier-due addAfter replaced this one; it does the add.
      if (this.#waiting.get(key) !== due) return;
      this.#waiting.delete(key);
      this.add(key);
    });
  }

  /** Adds `key` after the rate limiter's delay for it (one more retry on its record). */
  addRateLimited(key: K): void {
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  /** Clears `key`'s back-off history; call when it was processed successfully. */
  forget(key: K): void {
    this.#rateLimiter.forget(key);
  }

  /** How many times `key` has been re-added rate limited since it was last forgotten. */
  retries(key: K): number {
    return this.#rateLimiter.retries(key);
  }

  /** Releases `key` after processing; if it was added meanwhile it is queued again. */
  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.shuttingDown) {
      this.#queue.push(key);
      this.#dispatch();
    }
  }

  /**
   * Waits for a key and marks it as being processed. Resolves `undefined`, without taking a key,
   * when the queue is shut down (at once if it already is, even with keys still queued) or when
   * `signal` aborts.
   */
  get(signal?: AbortSignal): Promise<K | undefined> {
    if (this.shuttingDown || signal?.aborted) return Promise.resolve(undefined);
    const key = this.#take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => {
      const getter: Getter<K> = {
        resolve: (result) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(result);
        },
      };
      const onAbort = () => {
        const index = this.#getters.indexOf(getter);
        if (index !== -1) this.#getters.splice(index, 1);
        getter.resolve(undefined);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#getters.push(getter);
    });
  }

  /**
   * Stops the queue: waiting and later `get` calls resolve `undefined`, adds are ignored, pending
   * delayed adds are dropped and queued keys are discarded. Keys being processed may still be
   * passed to `done`. Idempotent.
   */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.#stop.abort();
    this.#waiting.clear();
    this.#queue = [];
    this.#head = 0;
    for (const getter of this.#getters.splice(0)) getter.resolve(undefined);
  }

  /** Whether {@link WorkQueue.shutDown} was called. */
  get shuttingDown(): boolean {
    return this.#stop.signal.aborted;
  }

  /** How many keys wait to be handed out (not counting keys being processed or delayed). */
  len(): number {
    return this.#queue.length - this.#head;
  }

  #take(): K | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const key = this.#queue[this.#head]!;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }

  #dispatch(): void {
    while (this.#getters.length > 0 && this.len() > 0) {
      const getter = this.#getters.shift()!;
      getter.resolve(this.#take());
    }
  }
}
