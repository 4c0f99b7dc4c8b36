import { setTimeout as sleep } from "node:timers/promises";

/**
 * Waits until `read` returns the same value for `quietMs` in a row and returns it: a counter
 * (writes, events) that has stopped moving, so a count taken after convergence also includes
 * whatever the change caused late. Fails after `timeoutMs` with the last values.
 */
export async function settled(
  what: string,
  read: () => Promise<number> | number,
  { quietMs = 1_500, timeoutMs = 60_000, intervalMs = 100 } = {},
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(intervalMs);
    const now = await read();
    if (now !== value) {
      value = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return value;
    }
  }
  throw new Error(`${what}: still changing after ${timeoutMs} ms (last ${value})`);
}
