import { setTimeout as sleep } from "node:timers/promises";

/**
 * Retries `check` until it stops throwing, or fails with the last assertion after
 * `timeoutMs` (default 60 s). Polls every `intervalMs` (default 200 ms).
 */
export async function eventually(
  what: string,
  check: () => Promise<void> | void,
  { timeoutMs = 60_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await check();
      return;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what}: not true after ${timeoutMs} ms`, { cause: last });
}

/**
 * For tests whose point is that nothing happens for a while: runs `check` every `intervalMs`
 * (default 500 ms) for `durationMs`, and fails at the first sample where it throws. The duration
 * is the property under test, not a guess at how long something takes.
 */
export async function holdsFor(
  what: string,
  durationMs: number,
  check: () => Promise<void> | void,
  { intervalMs = 500 }: { intervalMs?: number } = {},
): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      await check();
    } catch (err) {
      throw new Error(`${what}: broken after ${Date.now() - started} ms`, { cause: err });
    }
    if (Date.now() - started >= durationMs) return;
    await sleep(Math.max(0, Math.min(intervalMs, durationMs - (Date.now() - started))));
  }
}
