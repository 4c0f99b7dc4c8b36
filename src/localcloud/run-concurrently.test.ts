import assert from "node:assert/strict";
import { test } from "node:test";
import { runConcurrently } from "./run-concurrently.ts";

test("runConcurrently calls f once per item with at most `limit` in flight", async () => {
  let inFlight = 0;
  let most = 0;
  const seen: number[] = [];
  await runConcurrently([10, 11, 12, 13, 14, 15, 16], 3, async (item, index) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setImmediate(r));
    seen.push(item - index);
    inFlight--;
  });
  assert.equal(most, 3);
  assert.deepEqual(seen, [10, 10, 10, 10, 10, 10, 10]);
});

test("runConcurrently rejects with the first failure and starts nothing after it", async () => {
  const started: number[] = [];
  await assert.rejects(
    runConcurrently([1, 2, 3, 4, 5, 6], 2, async (item) => {
      started.push(item);
      await new Promise((r) => setImmediate(r));
      if (item === 2) throw new Error("two failed");
    }),
    /two failed/,
  );
  assert.deepEqual(started, [1, 2, 3]);
});
