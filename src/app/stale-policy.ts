import {
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_MIN_BACKOFF_MS,
  type ReflectorState,
} from "../kube/reflector.ts";
import type { Clock } from "../runtime/clock.ts";

/**
 * The longest reconnect back-off for a peak's informers, ms: a quarter of `staleTTL`, within the
 * reflector's usual 500 ms to 30 s. kubeburst's own back-off must not stretch an outage shorter
 * than staleTTL into a withdrawal: with attempts at most a quarter of the TTL apart, a peak back
 * within three quarters of the TTL is seen back before it runs out.
 */
export function peakMaxBackoffMs(staleTTLMs: number): number {
  return Math.min(
    DEFAULT_MAX_BACKOFF_MS,
    Math.max(DEFAULT_MIN_BACKOFF_MS, Math.floor(staleTTLMs / 4)),
  );
}

export interface StalePolicyActions {
  /** The peak failed for `ttlMs` without a break: withdraw its endpoints. */
  withdraw(cluster: string): void;
  /** A withdrawn peak synced again: deliver its endpoints again. */
  restore(cluster: string): void;
}

/**
 * The stale-state policy (SPEC B3): a peak whose API fails (unreachable, or credentials refused)
 * or that has not synced since start keeps its last-known endpoints for `ttlMs`; only a failure that lasts that long withdraws them,
 * and the next sync restores them. A peer that flaps faster than the TTL causes no writes at all;
 * one that fails for longer costs one withdrawal and one restore per outage.
 */
export class StalePolicy {
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #actions: StalePolicyActions;
  readonly #signal: AbortSignal;
  /** Failing peaks, each with the timer that withdraws it. */
  readonly #timers = new Map<string, AbortController>();
  readonly #withdrawn = new Set<string>();

  constructor(clock: Clock, ttlMs: number, actions: StalePolicyActions, signal: AbortSignal) {
    this.#clock = clock;
    this.#ttlMs = ttlMs;
    this.#actions = actions;
    this.#signal = signal;
  }

  /** Whether `cluster`'s endpoints are withdrawn now. */
  isWithdrawn(cluster: string): boolean {
    return this.#withdrawn.has(cluster);
  }

  /** Whether `cluster` is failing and its TTL is running. */
  isStale(cluster: string): boolean {
    return this.#timers.has(cluster);
  }

  /**
   * Tells the policy a peak's new state. `syncing` (a peak not synced since kubeburst started)
   * counts as failing: what was written for it before a restart is its last-known state, kept for
   * the TTL from start (SPEC B3).
   */
  observe(cluster: string, state: ReflectorState): void {
    if (state === "unreachable" || state === "refused" || state === "syncing") {
      if (this.#timers.has(cluster) || this.#withdrawn.has(cluster)) return;
      const timer = new AbortController();
      this.#timers.set(cluster, timer);
      // A clock sleep resolves early, never rejects, when its signal aborts: check why it woke.
      this.#clock.sleep(this.#ttlMs, AbortSignal.any([this.#signal, timer.signal])).then(() => {
        if (timer.signal.aborted || this.#signal.aborted) return;
        this.#timers.delete(cluster);
        this.#withdrawn.add(cluster);
        this.#actions.withdraw(cluster);
      });
      return;
    }
    if (state !== "synced") return;
    this.#timers.get(cluster)?.abort();
    this.#timers.delete(cluster);
    if (this.#withdrawn.delete(cluster)) this.#actions.restore(cluster);
  }

  /** Forgets `cluster` (it was removed; its endpoints go with it anyway). */
  forget(cluster: string): void {
    this.#timers.get(cluster)?.abort();
    this.#timers.delete(cluster);
    this.#withdrawn.delete(cluster);
  }
}
