// "kubeburst has nothing left to do", read from the outside: what a test waits for before it
// asserts that something was left untouched.
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";

/** The counters a settled kubeburst keeps still, and its queue depths. */
export interface WorkSample {
  /** Sum of `kubeburst_queue_depth` over every queue. */
  queued: number;
  /** `kubeburst_writer_writes_total`, every verb and result. */
  writes: number;
  /** `kubeburst_writer_noop_syncs_total`. */
  noops: number;
}

/** Reads the work metrics in one scrape. Throws when the queue gauge is missing altogether. */
export async function sampleWork(kb: KubeburstProcess): Promise<WorkSample> {
  const { status, text } = await kb.get("/metrics");
  if (status !== 200) throw new Error(`/metrics answered ${status}`);
  const sum = (name: string) => {
    let total = 0;
    let found = false;
    for (const line of text.split("\n")) {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})? ([^ ]+)$/.exec(line);
      if (m?.[1] !== name) continue;
      found = true;
      total += Number(m[2]);
    }
    return { total, found };
  };
  const queued = sum("kubeburst_queue_depth");
  // Without it an empty queue cannot be told from a renamed metric: fail loudly, never pass.
  if (!queued.found) throw new Error("kubeburst exports no kubeburst_queue_depth samples");
  return {
    queued: queued.total,
    writes: sum("kubeburst_writer_writes_total").total,
    noops: sum("kubeburst_writer_noop_syncs_total").total,
  };
}

/**
 * Waits until kubeburst has settled: its work queues are empty at both ends of a quiet window
 * of `quietMs` (default 1.5 s) and no write or reconcile finished inside it. Everything that was
 * queued before the call has then been handled. Fails after `timeoutMs` (default 60 s).
 * Returns the sample taken at the end of the quiet window.
 */
export async function waitSettled(
  kb: KubeburstProcess,
  { timeoutMs = 60_000, quietMs = 1_500 }: { timeoutMs?: number; quietMs?: number } = {},
): Promise<WorkSample> {
  const deadline = Date.now() + timeoutMs;
  let last: { first: WorkSample; second: WorkSample } | undefined;
  while (Date.now() < deadline) {
    const first = await sampleWork(kb);
    // The quiet window is the condition itself: nothing moved for this long.
    await sleep(quietMs);
    const second = await sampleWork(kb);
    last = { first, second };
    if (
      first.queued === 0 &&
      second.queued === 0 &&
      first.writes === second.writes &&
      first.noops === second.noops
    ) {
      return second;
    }
  }
  throw new Error(
    `kubeburst did not settle within ${timeoutMs} ms (last window: ${JSON.stringify(last)})`,
  );
}
