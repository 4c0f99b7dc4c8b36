import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "./clock.ts";
import { createRateLimiter } from "./rate-limiter.ts";
import { WorkQueue } from "./work-queue.ts";

function newQueue(clock = new FakeClock()) {
  return new WorkQueue<string>({ clock });
}

/** Takes every key queued right now (marking each as processing). */
async function drain(queue: WorkQueue<string>): Promise<string[]> {
  const keys: string[] = [];
  while (queue.len() > 0) {
    const key = await queue.get();
    if (key !== undefined) keys.push(key);
  }
  return keys;
}

test("duplicates coalesce and order is first-add order", async () => {
  const cases = [
    { adds: ["a", "b", "a", "c", "b"], want: ["a", "b", "c"] },
    { adds: ["x", "x", "x"], want: ["x"] },
    { adds: [], want: [] },
  ];
  for (const { adds, want } of cases) {
    const queue = newQueue();
    for (const key of adds) queue.add(key);
    assert.equal(queue.len(), want.length);
    assert.deepEqual(await drain(queue), want, adds.join(","));
  }
});

test("a key added while processing is queued again only after done", async () => {
  const queue = newQueue();
  queue.add("a");
  assert.equal(await queue.get(), "a");
  queue.add("a");
  queue.add("a");
  assert.equal(queue.len(), 0, "not handed out while a worker holds it");
  queue.add("b");
  assert.equal(await queue.get(), "b");
  queue.done("a");
  assert.equal(queue.len(), 1);
  assert.equal(await queue.get(), "a");
  queue.done("a");
  queue.done("b");
  assert.equal(queue.len(), 0);
});

test("a key is never held by two getters at once", async () => {
  const queue = newQueue();
  const first = queue.get();
  const second = queue.get();
  queue.add("a");
  assert.equal(await first, "a");
  queue.add("a");
  let secondGot: string | undefined = "pending";
  void second.then((key) => {
    secondGot = key;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(secondGot, "pending");
  queue.done("a");
  assert.equal(await second, "a");
});

test("done without a re-add does not queue the key again", async () => {
  const queue = newQueue();
  queue.add("a");
  await queue.get();
  queue.done("a");
  assert.equal(queue.len(), 0);
  queue.add("a");
  assert.equal(queue.len(), 1);
});

test("addAfter adds when the delay has passed; the earliest pending delay wins", async () => {
  const cases = [
    { name: "single", delays: [100], at: [99, 100], want: [0, 1] },
    { name: "earlier replaces later", delays: [100, 30], at: [30], want: [1] },
    { name: "later ignored", delays: [30, 100], at: [29, 30, 200], want: [0, 1, 1] },
    { name: "zero adds at once", delays: [0], at: [0], want: [1] },
  ];
  for (const { name, delays, at, want } of cases) {
    const clock = new FakeClock();
    const queue = newQueue(clock);
    for (const ms of delays) queue.addAfter("a", ms);
    const got: number[] = [];
    for (const time of at) {
      await clock.advance(time - clock.now());
      got.push(queue.len());
    }
    assert.deepEqual(got, want, name);
  }
});

test("addRateLimited backs off per key until forget", async () => {
  const clock = new FakeClock();
  const queue = new WorkQueue<string>({
    clock,
    rateLimiter: createRateLimiter(clock, { baseDelayMs: 10, maxDelayMs: 40 }),
  });
  const waits: number[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    const before = clock.now();
    queue.addRateLimited("a");
    while (queue.len() === 0) await clock.advance(1);
    waits.push(clock.now() - before);
    await queue.get();
    queue.done("a");
  }
  assert.deepEqual(waits, [10, 20, 40, 40]);
  assert.equal(queue.retries("a"), 4);
  queue.forget("a");
  assert.equal(queue.retries("a"), 0);
});

test("get resolves undefined on abort and on shutDown", async () => {
  const queue = newQueue();
  const controller = new AbortController();
  const aborted = queue.get(controller.signal);
  controller.abort();
  assert.equal(await aborted, undefined);
  assert.equal(await queue.get(controller.signal), undefined, "already aborted");

  // The aborted getter must not swallow a key.
  queue.add("a");
  assert.equal(await queue.get(), "a");

  const waiting = queue.get();
  queue.shutDown();
  assert.equal(await waiting, undefined);
  assert.equal(await queue.get(), undefined);
  assert.ok(queue.shuttingDown);
});

test("after shutDown adds are ignored and pending delays dropped", async () => {
  const clock = new FakeClock();
  const queue = newQueue(clock);
  queue.add("queued");
  queue.addAfter("later", 10);
  queue.shutDown();
  queue.shutDown();
  queue.add("b");
  queue.addAfter("c", 5);
  await clock.advance(100);
  assert.equal(queue.len(), 0);
  assert.equal(clock.pendingSleeps, 0);
  queue.done("queued");
  assert.equal(queue.len(), 0);
});

test("a long FIFO stays in order across internal compaction", async () => {
  const queue = newQueue();
  const keys = Array.from({ length: 5000 }, (_, i) => `k${i}`);
  for (const key of keys.slice(0, 2500)) queue.add(key);
  const got: string[] = [];
  for (let i = 0; i < 2000; i++) got.push((await queue.get())!);
  for (const key of keys.slice(2500)) queue.add(key);
  got.push(...(await drain(queue)));
  assert.deepEqual(got, keys);
});
