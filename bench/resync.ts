// One no-op resync of a converged kubeburst: the writes it makes (0 is right) and how
// responsive kubeburst stays meanwhile.
import type { ResyncFigures } from "./bench-results.ts";
import type { KubeburstUnderTest } from "./kubeburst-under-test.ts";

/**
 * Waits, from a quiet kubeburst, until `reconciles` more no-op reconciles are counted
 * (kubeburst_writer_noop_syncs_total: its writer's resync went over every Service), or until
 * one resync period and 30 s have passed (the window then holds a resync in any case). Returns
 * the writes and lag over that window.
 */
export async function measureResync(
  kb: KubeburstUnderTest,
  reconciles: number,
  resyncPeriodSeconds: number,
): Promise<ResyncFigures> {
  const quietMs = 120_000;
  const from = Date.now();
  const failed = (why: string): ResyncFigures => ({
    observed: false,
    seconds: (Date.now() - from) / 1000,
    lag: kb.lag(from),
    problem: why,
  });
  const before = await kb.waitQuiet(2000, quietMs).catch(() => undefined);
  if (!before)
    return failed(
      `kubeburst was not quiet (or /metrics unanswered) for ${quietMs / 1000} s after converging`,
    );
  const start = Date.now();
  const deadline = start + resyncPeriodSeconds * 1000 + 30_000;
  let noop = before.noopSyncs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    // Unanswered while kubeburst's event loop is blocked (the lag this window measures).
    noop = (await kb.scrape().catch(() => undefined))?.noopSyncs ?? noop;
    if (
      noop !== undefined &&
      before.noopSyncs !== undefined &&
      noop - before.noopSyncs >= reconciles
    ) {
      break;
    }
  }
  const after = await kb.waitQuiet(2000, quietMs).catch(() => undefined);
  if (!after)
    return failed(
      `kubeburst was not quiet (or /metrics unanswered) for ${quietMs / 1000} s after the resync`,
    );
  const noopReconciles =
    after.noopSyncs === undefined || before.noopSyncs === undefined
      ? undefined
      : after.noopSyncs - before.noopSyncs;
  return {
    observed: noopReconciles !== undefined && noopReconciles >= reconciles,
    seconds: (Date.now() - start) / 1000,
    ...(after.writes === undefined || before.writes === undefined
      ? {}
      : { writes: after.writes - before.writes }),
    ...(noopReconciles === undefined ? {} : { noopReconciles }),
    lag: kb.lag(start),
  };
}
