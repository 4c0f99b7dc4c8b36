import assert from "node:assert/strict";
import { test } from "node:test";
import { type EndpointConditions, normaliseConditions, type RawConditions } from "./endpoints.ts";

test("normaliseConditions follows Kubernetes semantics", async (t) => {
  const cases: { name: string; raw: RawConditions | null | undefined; want: EndpointConditions }[] =
    [
      { name: "missing", raw: undefined, want: { ready: true, serving: true, terminating: false } },
      { name: "null", raw: null, want: { ready: true, serving: true, terminating: false } },
      { name: "empty", raw: {}, want: { ready: true, serving: true, terminating: false } },
      {
        name: "all null",
        raw: { ready: null, serving: null, terminating: null },
        want: { ready: true, serving: true, terminating: false },
      },
      {
        name: "not ready, serving missing follows ready",
        raw: { ready: false },
        want: { ready: false, serving: false, terminating: false },
      },
      {
        name: "terminating but serving",
        raw: { ready: false, serving: true, terminating: true },
        want: { ready: false, serving: true, terminating: true },
      },
      {
        name: "terminating, not serving",
        raw: { ready: false, serving: false, terminating: true },
        want: { ready: false, serving: false, terminating: true },
      },
      {
        name: "explicit values kept",
        raw: { ready: true, serving: true, terminating: false },
        want: { ready: true, serving: true, terminating: false },
      },
    ];
  for (const { name, raw, want } of cases) {
    await t.test(name, () => assert.deepEqual(normaliseConditions(raw), want));
  }
});

test("normaliseConditions treats non-booleans as missing", () => {
  const raw = JSON.parse('{"ready":"false","serving":0,"terminating":"yes"}') as RawConditions;
  assert.deepEqual(normaliseConditions(raw), { ready: true, serving: true, terminating: false });
});
