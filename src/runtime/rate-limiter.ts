import type { Clock } from "./clock.ts";

/** Decides how long an item waits before it is retried (client-go's `RateLimiter`). */
export interface RateLimiter<K> {
  /** Records one more attempt for `item` and returns how long to wait first, in milliseconds. */
  when(item: K): number;
  /** Clears `item`'s failure history (call after it succeeded). */
  forget(item: K): void;
  /** How many times `item` has been rate limited since it was last forgotten. */
  retries(item: K): number;
}

/** Settings of {@link createRateLimiter}; every field optional. */
export interface RateLimiterOptions {
  /** First per-item back-off, in milliseconds; doubles on each failure. Default 5. */
  baseDelayMs?: number;
  /** Cap of the per-item back-off, in milliseconds. Default 1 000 000 (1000 s). */
  maxDelayMs?: number;
  /** Overall rate, in items per second (`Infinity`: unlimited). Default 10. */
  qps?: number;
  /** Overall burst, in items. Default 100. */
  burst?: number;
}

/** client-go's `DefaultControllerRateLimiter` settings. */
export const defaultRateLimiterOptions = {
  baseDelayMs: 5,
  maxDelayMs: 1_000_000,
  qps: 10,
  burst: 100,
} as const satisfies Required<RateLimiterOptions>;

/**
 * Per-item exponential back-off: `baseDelayMs * 2^failures`, capped at `maxDelayMs`
 * (client-go's `ItemExponentialFailureRateLimiter`).
 */
export class ExponentialBackoffRateLimiter<K> implements RateLimiter<K> {
  readonly #failures = new Map<K, number>();
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;

  constructor(baseDelayMs: number, maxDelayMs: number) {
    if (!(baseDelayMs >= 0) || !(maxDelayMs >= 0)) {
      throw new RangeError(`back-off delays must be >= 0 ms, got ${baseDelayMs} and ${maxDelayMs}`);
    }
    this.#baseDelayMs = baseDelayMs;
    this.#maxDelayMs = maxDelayMs;
  }

  when(item: K): number {
    const failures = this.#failures.get(item) ?? 0;
    this.#failures.set(item, failures + 1);
    return Math.min(this.#baseDelayMs * 2 ** failures, this.#maxDelayMs);
  }

  forget(item: K): void {
    this.#failures.delete(item);
  }

  retries(item: K): number {
    return this.#failures.get(item) ?? 0;
  }
}

/**
 * An overall token bucket shared by all items (client-go's `BucketRateLimiter` over
 * `rate.Limiter`): it starts full with `burst` tokens, refills at `qps` tokens per second, and
 * each `when` reserves one token, returning how long until that token exists.
 */
export class TokenBucketRateLimiter<K> implements RateLimiter<K> {
  readonly #clock: Clock;
  readonly #qps: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;

  constructor(clock: Clock, qps: number, burst: number) {
    if (!(qps > 0)) throw new RangeError(`qps must be > 0, got ${qps}`);
    if (!(burst >= 1)) throw new RangeError(`burst must be >= 1, got ${burst}`);
    this.#clock = clock;
    this.#qps = qps;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = clock.now();
  }

  when(_item: K): number {
    if (this.#qps === Number.POSITIVE_INFINITY) return 0;
    const now = this.#clock.now();
    // A wall clock may step backwards; never refill (or drain) for negative time.
    const elapsedMs = Math.max(0, now - this.#last);
    this.#last = Math.max(this.#last, now);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsedMs * this.#qps) / 1000);
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#qps);
  }

  forget(_item: K): void {}

  retries(_item: K): number {
    return 0;
  }
}

/** Combines limiters: waits the longest of their delays (client-go's `MaxOfRateLimiter`). */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  readonly #limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.#limiters = limiters;
  }

  when(item: K): number {
    // Every limiter is asked, so each records the attempt (as client-go does).
    return this.#limiters.reduce((longest, limiter) => Math.max(longest, limiter.when(item)), 0);
  }

  forget(item: K): void {
    for (const limiter of this.#limiters) limiter.forget(item);
  }

  retries(item: K): number {
    return this.#limiters.reduce((most, limiter) => Math.max(most, limiter.retries(item)), 0);
  }
}

/**
 * The controller rate limiter: the longer of a per-item exponential back-off and an overall
 * token bucket. Pure given `clock` (it reads `clock.now()` and never sleeps).
 * Defaults: {@link defaultRateLimiterOptions}.
 */
export function createRateLimiter<K>(
  clock: Clock,
  options: RateLimiterOptions = {},
): RateLimiter<K> {
  const settings = { ...defaultRateLimiterOptions, ...options };
  return new MaxOfRateLimiter<K>(
    new ExponentialBackoffRateLimiter<K>(settings.baseDelayMs, settings.maxDelayMs),
    new TokenBucketRateLimiter<K>(clock, settings.qps, settings.burst),
  );
}
