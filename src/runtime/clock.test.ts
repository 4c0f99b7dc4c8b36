import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, systemClock } from "./clock.ts";

test("FakeClock wakes due sleepers in order of due time, ties in call order", async () => {
  const cases = [
    { name: "distinct", sleeps: [30, 10, 20], advance: 30, woken: ["10@10", "20@20", "30@30"] },
    { name: "ties", sleeps: [10, 10, 5], advance: 10, woken: ["5@5", "10@10", "10@10"] },
    { name: "partial", sleeps: [5, 50], advance: 10, woken: ["5@5"] },
    { name: "none due", sleeps: [11], advance: 10, woken: [] },
  ];
  for (const { name, sleeps, advance, woken } of cases) {
    const clock = new FakeClock(0);
    const seen: string[] = [];
    for (const ms of sleeps) void clock.sleep(ms).then(() => seen.push(`${ms}@${clock.now()}`));
    await clock.advance(advance);
    assert.deepEqual(seen, woken, name);
    assert.equal(clock.now(), advance, name);
    assert.equal(clock.pendingSleeps, sleeps.length - woken.length, name);
  }
});

test("FakeClock.advance wakes sleeps started by woken continuations within the window", async () => {
  const clock = new FakeClock(1000);
  const ticks: number[] = [];
  const controller = new AbortController();
  const loop = (async () => {
    while (!controller.signal.aborted) {
      await clock.sleep(10, controller.signal);
      ticks.push(clock.now());
    }
  })();
  await clock.advance(35);
  assert.deepEqual(ticks, [1010, 1020, 1030]);
  controller.abort();
  await loop;
  assert.equal(clock.pendingSleeps, 0);
});

test("sleep resolves early, never rejects, on abort", async () => {
  const cases = [
    { name: "fake, abort while waiting", clock: new FakeClock(), before: false },
    { name: "fake, already aborted", clock: new FakeClock(), before: true },
    { name: "system, abort while waiting", clock: systemClock, before: false },
    { name: "system, already aborted", clock: systemClock, before: true },
  ];
  for (const { name, clock, before } of cases) {
    const controller = new AbortController();
    if (before) controller.abort();
    const started = Date.now();
    const sleeping = clock.sleep(60_000, controller.signal);
    controller.abort();
    await sleeping;
    assert.ok(Date.now() - started < 1000, name);
    if (clock instanceof FakeClock) assert.equal(clock.pendingSleeps, 0, name);
  }
});

test("sleep of zero, negative or NaN ms resolves without advancing", async () => {
  for (const ms of [0, -5, Number.NaN]) {
    const clock = new FakeClock();
    await clock.sleep(ms);
    assert.equal(clock.now(), 0);
    await systemClock.sleep(ms);
  }
});

test("systemClock sleeps roughly the requested time", async () => {
  const started = performance.now();
  await systemClock.sleep(5);
  assert.ok(performance.now() - started >= 4);
  assert.ok(Math.abs(systemClock.now() - Date.now()) < 50);
});
