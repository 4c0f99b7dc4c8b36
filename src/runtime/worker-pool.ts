import type { LoopYielder } from "./loop-yielder.ts";
import type { WorkQueue } from "./work-queue.ts";

/** What a handler reports: `"ok"` forgets the key's back-off, `"retry"` re-adds it rate limited. */
export type HandleResult = "ok" | "retry";

/** Processes one key; `signal` aborts when the pool stops. */
export type KeyHandler<K> = (key: K, signal: AbortSignal) => Promise<HandleResult>;

/** Options of {@link runWorkers}. */
export interface WorkerPoolOptions<K> {
  /** Stops the pool: workers take no new keys, and in-flight handlers see it aborted. */
  signal: AbortSignal;
  /**
   * Told about a handler that threw (the key is then retried rate limited). Not called for a
   * throw after `signal` aborted. An `onError` that throws is ignored.
   */
  onError?: (key: K, error: unknown) => void;
  /**
   * Lets the event loop turn between keys once work has held it for the yielder's budget: a
   * handler that finishes without I/O would otherwise chain the next one in the same turn.
   */
  yielder?: LoopYielder;
  /** Told how long each handler took, ms (for the per-item duration histograms). */
  onHandled?: (ms: number) => void;
}

async function work<K extends NonNullable<unknown>>(
  queue: WorkQueue<K>,
  handle: KeyHandler<K>,
  { signal, onError, yielder, onHandled }: WorkerPoolOptions<K>,
): Promise<void> {
  while (!signal.aborted) {
    await yielder?.maybeYield();
    const key = await queue.get(signal);
    if (key === undefined) return;
    const started = performance.now();
    try {
      const result = await handle(key, signal);
      if (result === "ok") queue.forget(key);
      else queue.addRateLimited(key);
    } catch (error) {
      if (signal.aborted) {
        // Interrupted, not failed: leave the key for whoever runs the queue next.
        queue.add(key);
      } else {
        try {
          onError?.(key, error);
        } catch {
          // A broken error reporter must not stop the worker.
        }
        queue.addRateLimited(key);
      }
    } finally {
      queue.done(key);
      onHandled?.(performance.now() - started);
    }
  }
}

/**
 * Runs `n` workers (n >= 1) that take keys from `queue` and pass them to `handle`, so at most `n`
 * handlers are in flight and never two for one key. A handler that throws is reported to
 * `onError` and its key retried rate limited.
 *
 * Settles when `signal` aborts (or the queue is shut down) and every in-flight handler has
 * finished. It rejects only for a bad `n` (RangeError). It does not shut the queue down.
 */
export async function runWorkers<K extends NonNullable<unknown>>(
  queue: WorkQueue<K>,
  n: number,
  handle: KeyHandler<K>,
  options: WorkerPoolOptions<K>,
): Promise<void> {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`worker count must be an integer >= 1, got ${n}`);
  await Promise.all(Array.from({ length: n }, () => work(queue, handle, options)));
}
