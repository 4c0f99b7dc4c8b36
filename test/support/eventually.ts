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
