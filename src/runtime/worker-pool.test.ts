import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "./clock.ts";
import { createRateLimiter } from "./rate-limiter.ts";
import { WorkQueue } from "./work-queue.ts";
import { type HandleResult, runWorkers } from "./worker-pool.ts";

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test("never more than n handlers in flight, and never two for one key", async () => {
  for (const n of [1, 3, 8]) {
    const queue = new WorkQueue<string>({ clock: new FakeClock() });
    const controller = new AbortController();
    const holding = new Set<string>();
    let inFlight = 0;
    let peak = 0;
    let handled = 0;
    const gates: (() => void)[] = [];
    const pool = runWorkers(
      queue,
      n,
      async (key) => {
        assert.ok(!holding.has(key), `${key} held twice`);
        holding.add(key);
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        const gate = deferred();
        gates.push(gate.resolve);
        await gate.promise;
        inFlight -= 1;
        holding.delete(key);
        handled += 1;
        return "ok";
      },
      { signal: controller.signal },
    );
    for (let i = 0; i < 20; i++) queue.add(`k${i % 10}`);
    for (let round = 0; round < 40 && handled < 10; round++) {
      await settle();
      queue.add("k0"); // re-added while possibly in flight
      for (const release of gates.splice(0)) release();
    }
    await settle();
    for (const release of gates.splice(0)) release();
    controller.abort();
    await pool;
    assert.equal(peak, Math.min(n, 10), `n=${n}`);
    assert.ok(handled >= 10, `n=${n}`);
  }
});

test("results: ok forgets, retry and throw re-add rate limited, throw is reported", async () => {
  const cases: {
    name: string;
    outcome: HandleResult | "throw";
    wantRetries: number;
    wantErrors: number;
  }[] = [
    { name: "ok", outcome: "ok", wantRetries: 0, wantErrors: 0 },
    { name: "retry", outcome: "retry", wantRetries: 1, wantErrors: 0 },
    { name: "throw", outcome: "throw", wantRetries: 1, wantErrors: 1 },
  ];
  for (const { name, outcome, wantRetries, wantErrors } of cases) {
    const clock = new FakeClock();
    const queue = new WorkQueue<string>({
      clock,
      rateLimiter: createRateLimiter(clock, { baseDelayMs: 1000 }),
    });
    const controller = new AbortController();
    const errors: [string, unknown][] = [];
    let calls = 0;
    const pool = runWorkers(
      queue,
      2,
      async () => {
        calls += 1;
        if (outcome === "throw") throw new Error("boom");
        return outcome;
      },
      { signal: controller.signal, onError: (key, error) => errors.push([key, error]) },
    );
    queue.add("a");
    await settle();
    assert.equal(calls, 1, name);
    assert.equal(queue.retries("a"), wantRetries, name);
    assert.equal(errors.length, wantErrors, name);
    if (wantErrors > 0) assert.deepEqual(errors[0], ["a", new Error("boom")]);
    await clock.advance(999);
    assert.equal(calls, 1, `${name}: back-off not yet over`);
    await clock.advance(1);
    assert.equal(calls, wantRetries > 0 ? 2 : 1, `${name}: retried after back-off`);
    controller.abort();
    await pool;
  }
});

test("a throwing onError does not stop the worker", async () => {
  const clock = new FakeClock();
  const queue = new WorkQueue<string>({ clock });
  const controller = new AbortController();
  const seen: string[] = [];
  const pool = runWorkers(
    queue,
    1,
    async (key) => {
      seen.push(key);
      if (key === "bad") throw new Error("boom");
      return "ok";
    },
    {
      signal: controller.signal,
      onError: () => {
        throw new Error("reporter broke");
      },
    },
  );
  queue.add("bad");
  queue.add("good");
  await settle();
  assert.deepEqual(seen, ["bad", "good"]);
  controller.abort();
  await pool;
});

test("abort settles only after in-flight handlers finish; interrupted keys stay queued", async () => {
  const queue = new WorkQueue<string>({ clock: new FakeClock() });
  const controller = new AbortController();
  const gate = deferred();
  const errors: unknown[] = [];
  let handlerSignal: AbortSignal | undefined;
  const pool = runWorkers(
    queue,
    2,
    async (_key, signal) => {
      handlerSignal = signal;
      await gate.promise;
      throw signal.reason;
    },
    { signal: controller.signal, onError: (_key, error) => errors.push(error) },
  );
  queue.add("a");
  await settle();
  let settled = false;
  void pool.then(() => {
    settled = true;
  });
  controller.abort();
  await settle();
  assert.equal(settled, false);
  assert.equal(handlerSignal?.aborted, true);
  gate.resolve();
  await pool;
  assert.deepEqual(errors, [], "a throw after abort is not an error");
  assert.equal(queue.len(), 1, "the interrupted key is queued for the next run");
});

test("the pool ends when the queue shuts down", async () => {
  const queue = new WorkQueue<string>({ clock: new FakeClock() });
  const pool = runWorkers(queue, 4, async () => "ok", { signal: new AbortController().signal });
  queue.shutDown();
  await pool;
});

test("a bad worker count is refused", async () => {
  const queue = new WorkQueue<string>({ clock: new FakeClock() });
  for (const n of [0, -1, 1.5, Number.NaN]) {
    await assert.rejects(
      runWorkers(queue, n, async () => "ok", { signal: AbortSignal.abort() }),
      RangeError,
    );
  }
});
