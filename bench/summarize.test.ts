import assert from "node:assert/strict";
import { test } from "node:test";
import { percentile, ratio, summarize } from "./summarize.ts";

test("percentile uses the nearest rank", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  const cases: [number[], number, number | undefined][] = [
    [[], 50, undefined],
    [[7], 99, 7],
    [[1, 2], 50, 1],
    [[1, 2], 51, 2],
    [hundred, 50, 50],
    [hundred, 95, 95],
    [hundred, 99, 99],
    [hundred, 100, 100],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 1000], 99, 1000],
  ];
  for (const [values, p, expected] of cases) {
    assert.equal(percentile(values, p), expected, `p${p} of ${values.length}`);
  }
});

test("summarize sorts, and reports count, percentiles, max and mean", () => {
  assert.equal(summarize([]), undefined);
  assert.deepEqual(summarize([30, 10, 20]), {
    count: 3,
    p50: 20,
    p95: 30,
    p99: 30,
    max: 30,
    mean: 20,
  });
});

test("ratio is undefined without both figures or with a zero base", () => {
  assert.equal(ratio(3, 2), 1.5);
  assert.equal(ratio(undefined, 2), undefined);
  assert.equal(ratio(3, undefined), undefined);
  assert.equal(ratio(3, 0), undefined);
});
