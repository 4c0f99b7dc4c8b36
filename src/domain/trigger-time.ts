const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** True when `text` is an RFC 3339 date-time that `Date.parse` understands. */
export function isRfc3339(text: string): boolean {
  return RFC3339.test(text) && !Number.isNaN(Date.parse(text));
}

/**
 * The latest of some RFC 3339 times; invalid and missing ones are ignored, and `undefined` is
 * returned when none is valid. Equal instants written differently resolve to the larger text,
 * so the result does not depend on input order.
 */
export function latestTriggerTime(times: readonly (string | undefined)[]): string | undefined {
  let latest: string | undefined;
  let latestMs = Number.NEGATIVE_INFINITY;
  for (const time of times) {
    if (time === undefined || !isRfc3339(time)) continue;
    const ms = Date.parse(time);
    if (ms > latestMs || (ms === latestMs && latest !== undefined && time > latest)) {
      latest = time;
      latestMs = ms;
    }
  }
  return latest;
}
