/**
 * A source of time, passed in so that time-based behaviour can be tested without sleeping.
 */
export interface Clock {
  /** Wall-clock time in milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Waits `ms` milliseconds (zero, negative or NaN: resolves on a later microtask).
   *
   * Never rejects: when `signal` aborts (or is already aborted) the promise resolves early, so a
   * loop reads `while (!signal.aborted) { …; await clock.sleep(ms, signal); }` and the caller
   * checks `signal.aborted` when it needs to know why it woke.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

// setTimeout fires after 1 ms for any delay above this (Node clamps it), so longer waits are chained.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The real clock: `Date.now()` and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || !(ms > 0)) {
        resolve();
        return;
      }
      let remaining = ms;
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", finish);
        resolve();
      };
      const arm = () => {
        const step = Math.min(remaining, MAX_TIMER_MS);
        remaining -= step;
        timer = setTimeout(remaining > 0 ? arm : finish, step);
      };
      signal?.addEventListener("abort", finish, { once: true });
      arm();
    });
  },
};

interface Sleeper {
  due: number;
  seq: number;
  wake: () => void;
}

/** Lets every queued microtask (and the continuations it schedules) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when told to. `sleep` registers a sleeper; {@link FakeClock.advance}
 * moves time forward and wakes due sleepers in order of due time (ties: in order of the calls).
 * Aborting a sleep's signal removes the sleeper and resolves it at once, like {@link systemClock}.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #sleepers: Sleeper[] = [];

  /** @param startMs the initial `now()`, in milliseconds; default 0. */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || !(ms > 0)) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        due: this.#now + ms,
        seq: this.#seq++,
        wake: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((other) => other !== sleeper);
        sleeper.wake();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.push(sleeper);
      this.#sleepers.sort((a, b) => a.due - b.due || a.seq - b.seq);
    });
  }

  /** How many sleeps are waiting. */
  get pendingSleeps(): number {
    return this.#sleepers.length;
  }

  /**
   * Moves time forward by `ms` milliseconds. Each due sleeper is woken with `now()` equal to its
   * due time, and its continuation runs before the next one wakes; sleeps started by those
   * continuations that fall due within the window are woken too. Resolves when time has reached
   * the target and the woken continuations have run up to their next real wait.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + Math.max(0, ms);
    await settle();
    for (;;) {
      const next = this.#sleepers[0];
      if (next === undefined || next.due > target) break;
      this.#sleepers.shift();
      this.#now = next.due;
      next.wake();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}
