import assert from "node:assert/strict";
import { test } from "node:test";
import { LoopYielder } from "./loop-yielder.ts";

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // hold the loop, as a long synchronous pass would
  }
}

test("within its budget, maybeYield lets nothing else run", async () => {
  const yielder = new LoopYielder(1_000);
  let other = false;
  setImmediate(() => {
    other = true;
  });
  await yielder.maybeYield();
  assert.equal(other, false);
});

test("past its budget, maybeYield waits for the event loop to turn", async () => {
  const yielder = new LoopYielder(5);
  busy(10);
  let other = false;
  setImmediate(() => {
    other = true;
  });
  await yielder.maybeYield();
  assert.equal(other, true, "work queued behind us ran first");
  let again = false;
  setImmediate(() => {
    again = true;
  });
  await yielder.maybeYield();
  assert.equal(again, false, "a new turn starts a new budget");
});

test("loops sharing one yielder wait for the same turn", async () => {
  const yielder = new LoopYielder(5);
  busy(10);
  const [a, b, c] = [yielder.maybeYield(), yielder.maybeYield(), yielder.maybeYield()];
  assert.ok(a === b && b === c, "one wait, not one each");
  await a;
});
