/**
 * Calls `f` on every item, at most `limit` calls in flight at once (API servers answer bulk
 * set-ups faster with a few requests in parallel than one by one). Rejects with the first
 * failure once the calls in flight have settled; no new call starts after a failure.
 */
export async function runConcurrently<T>(
  items: Iterable<T>,
  limit: number,
  f: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const iterator = Array.from(items).entries();
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    for (const [index, item] of iterator) {
      if (failure) return;
      try {
        await f(item, index);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, lane));
  if (failure) throw failure.err;
}
