// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Endpoint, EndpointConditions } from "./endpoints.ts";
import { mergeConditions, mergeEndpoints } from "./merge-endpoints.ts";

const READY = { ready: true, serving: true, terminating: false };
const NOT_READY = { ready: false, serving: false, terminating: false };
const DRAINING = { ready: false, serving: true, terminating: true };
const GONE = { ready: false, serving: false, terminating: true };

test("mergeConditions: the most available copy wins", async (t) => {
  const cases: {
    name: string;
    a: EndpointConditions;
    b: EndpointConditions;
    want: EndpointConditions;
  }[] = [
    { name: "ready + not ready", a: READY, b: NOT_READY, want: READY },
    {
      name: "ready + draining",
      a: READY,
      b: DRAINING,
      want: { ready: true, serving: true, terminating: false },
    },
    { name: "draining + gone", a: DRAINING, b: GONE, want: DRAINING },
    { name: "gone + gone", a: GONE, b: GONE, want: GONE },
    { name: "not ready + gone", a: NOT_READY, b: GONE, want: NOT_READY },
  ];
  for (const { name, a, b, want } of cases) {
    await t.test(name, () => {
      assert.deepEqual(mergeConditions(a, b), want);
      assert.deepEqual(mergeConditions(b, a), want);
    });
  }
});

test("mergeEndpoints", async (t) => {
  const e = (address: string, conditions: EndpointConditions): Endpoint => ({
    address,
    conditions,
  });
  const cases: { name: string; input: Endpoint[]; want: Endpoint[] }[] = [
    { name: "empty", input: [], want: [] },
    {
      name: "sorts by address",
      input: [e("10.0.0.2", READY), e("10.0.0.10", READY), e("10.0.0.1", READY)],
      want: [e("10.0.0.1", READY), e("10.0.0.10", READY), e("10.0.0.2", READY)],
    },
    {
      name: "merges duplicates",
      input: [e("10.0.0.1", NOT_READY), e("10.0.0.2", GONE), e("10.0.0.1", READY)],
      want: [e("10.0.0.1", READY), e("10.0.0.2", GONE)],
    },
  ];
  for (const { name, input, want } of cases) {
    await t.test(name, () => assert.deepEqual(mergeEndpoints(input), want));
  }
});

test("mergeEndpoints does not change its input", () => {
  const conditions = { ...NOT_READY };
  const input = [
    { address: "a", conditions },
    { address: "a", conditions: { ...READY } },
  ];
  const merged = mergeEndpoints(input);
  assert.deepEqual(conditions, NOT_READY);
  assert.notEqual(merged[0]?.conditions, conditions);
});

const conditions = fc.record({
  ready: fc.boolean(),
  serving: fc.boolean(),
  terminating: fc.boolean(),
});
const endpoint = fc.record({ address: fc.constantFrom("a", "b", "c", "d"), conditions });

test("mergeEndpoints: order-independent, unique, sorted, idempotent", () => {
  fc.assert(
    fc.property(fc.array(endpoint), fc.func(fc.integer()), (input, key) => {
      const merged = mergeEndpoints(input);
      const shuffled = [...input].sort((x, y) => key(x) - key(y) || 0);
      assert.deepEqual(mergeEndpoints(shuffled), merged);
      assert.deepEqual(mergeEndpoints(merged), merged);
      const addresses = merged.map((m) => m.address);
      assert.deepEqual(addresses, [...new Set(input.map((i) => i.address))].sort());
    }),
  );
});
