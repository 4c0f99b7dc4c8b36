import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "./clock.ts";
import {
  createRateLimiter,
  ExponentialBackoffRateLimiter,
  MaxOfRateLimiter,
  TokenBucketRateLimiter,
} from "./rate-limiter.ts";

test("exponential back-off grows from the base and stops at the cap", () => {
  const cases = [
    { base: 5, max: 1_000_000, calls: 6, want: [5, 10, 20, 40, 80, 160] },
    { base: 5, max: 30, calls: 5, want: [5, 10, 20, 30, 30] },
    { base: 1000, max: 1000, calls: 3, want: [1000, 1000, 1000] },
    { base: 0, max: 10, calls: 3, want: [0, 0, 0] },
  ];
  for (const { base, max, calls, want } of cases) {
    const limiter = new ExponentialBackoffRateLimiter<string>(base, max);
    const got = Array.from({ length: calls }, () => limiter.when("a"));
    assert.deepEqual(got, want, `base ${base} max ${max}`);
    assert.equal(limiter.retries("a"), calls);
  }
});

test("exponential back-off stays capped after very many failures", () => {
  const limiter = new ExponentialBackoffRateLimiter<string>(5, 1_000_000);
  let last = 0;
  for (let i = 0; i < 2000; i++) last = limiter.when("a");
  assert.equal(last, 1_000_000);
});

test("exponential back-off is per item, and forget resets it", () => {
  const limiter = new ExponentialBackoffRateLimiter<string>(5, 1000);
  assert.equal(limiter.when("a"), 5);
  assert.equal(limiter.when("a"), 10);
  assert.equal(limiter.when("b"), 5);
  limiter.forget("a");
  assert.equal(limiter.retries("a"), 0);
  assert.equal(limiter.retries("b"), 1);
  assert.equal(limiter.when("a"), 5);
});

test("token bucket allows a burst, then spaces items at 1/qps", () => {
  const cases = [
    { qps: 10, burst: 3, calls: 6, want: [0, 0, 0, 100, 200, 300] },
    { qps: 1, burst: 1, calls: 3, want: [0, 1000, 2000] },
    { qps: 3, burst: 1, calls: 3, want: [0, 334, 667] },
    { qps: Number.POSITIVE_INFINITY, burst: 1, calls: 3, want: [0, 0, 0] },
  ];
  for (const { qps, burst, calls, want } of cases) {
    const limiter = new TokenBucketRateLimiter<string>(new FakeClock(), qps, burst);
    const got = Array.from({ length: calls }, (_, i) => limiter.when(`k${i}`));
    assert.deepEqual(got, want, `qps ${qps} burst ${burst}`);
  }
});

test("token bucket refills with the clock, up to the burst", async () => {
  const clock = new FakeClock();
  const limiter = new TokenBucketRateLimiter<string>(clock, 10, 2);
  assert.deepEqual([limiter.when("a"), limiter.when("a"), limiter.when("a")], [0, 0, 100]);
  await clock.advance(100); // pays back the borrowed token
  assert.equal(limiter.when("a"), 100);
  await clock.advance(10_000); // refills to the burst, not beyond
  assert.deepEqual([limiter.when("a"), limiter.when("a"), limiter.when("a")], [0, 0, 100]);
  assert.equal(limiter.retries("a"), 0);
});

test("limiters refuse nonsense settings", () => {
  const clock = new FakeClock();
  assert.throws(() => new TokenBucketRateLimiter(clock, 0, 1), RangeError);
  assert.throws(() => new TokenBucketRateLimiter(clock, 1, 0), RangeError);
  assert.throws(() => new ExponentialBackoffRateLimiter(-1, 1), RangeError);
  assert.throws(() => createRateLimiter(clock, { qps: -1 }), RangeError);
});

test("combined limiter waits the longer of back-off and bucket", () => {
  const cases = [
    {
      name: "back-off dominates",
      options: { baseDelayMs: 5, maxDelayMs: 1_000_000, qps: 10, burst: 100 },
      keys: ["a", "a", "a", "b"],
      want: [5, 10, 20, 5],
    },
    {
      name: "bucket dominates",
      options: { baseDelayMs: 1, maxDelayMs: 1, qps: 1, burst: 2 },
      keys: ["a", "b", "c", "d"],
      want: [1, 1, 1000, 2000],
    },
  ];
  for (const { name, options, keys, want } of cases) {
    const limiter = createRateLimiter<string>(new FakeClock(), options);
    assert.deepEqual(
      keys.map((key) => limiter.when(key)),
      want,
      name,
    );
  }
});

test("createRateLimiter defaults are client-go's", () => {
  const limiter = createRateLimiter<string>(new FakeClock());
  const delays = Array.from({ length: 100 }, () => limiter.when("a"));
  assert.equal(delays[0], 5);
  assert.equal(delays[99], 1_000_000);
  assert.equal(limiter.retries("a"), 100);
  // 100 tokens of burst are spent: the next distinct key waits for the bucket (1/10 s).
  assert.equal(limiter.when("b"), 100);
  limiter.forget("a");
  assert.equal(limiter.retries("a"), 0);
});

test("MaxOfRateLimiter forgets on every limiter and reports the most retries", () => {
  const a = new ExponentialBackoffRateLimiter<string>(1, 100);
  const b = new ExponentialBackoffRateLimiter<string>(2, 100);
  const limiter = new MaxOfRateLimiter(a, b);
  assert.equal(limiter.when("x"), 2);
  b.when("x");
  assert.equal(limiter.retries("x"), 2);
  limiter.forget("x");
  assert.equal(a.retries("x") + b.retries("x"), 0);
});
