import assert from "node:assert/strict";
import { test } from "node:test";
import { TrafficTally } from "./traffic-tally.ts";

test("a phase counts per pod, per cluster and failures from zero", () => {
  const t = new TrafficTally();
  t.record(1, "private/web-1");
  t.startPhase("burst");
  for (const who of ["private/web-1", "public/web-p1", "public/web-p2", null, "public/web-p1"]) {
    t.record(2, who);
  }
  assert.deepEqual(t.current(), {
    phase: "burst",
    byPod: { "private/web-1": 1, "public/web-p1": 2, "public/web-p2": 1 },
    byCluster: { private: 1, public: 3 },
    failed: 1,
  });
});

test("waitFor: a peak response proves 'serves' at once; 'does not serve' needs a full window", async () => {
  const signal = new AbortController().signal;
  const t = new TrafficTally();
  const serves = t.waitFor((r) => r.peak > 0, 2_000, signal);
  t.record(1, "private/web-1");
  t.record(2, "public/web-p1");
  assert.equal(await serves, true);

  const stops = t.waitFor((r) => r.peak === 0, 300, signal);
  for (let i = 0; i < 10; i++) t.record(3, "private/web-1");
  assert.equal(await stops, false, "10 responses are too few to say the peak gets none");

  const stops2 = t.waitFor((r) => r.peak === 0, 2_000, signal);
  for (let i = 0; i < 40; i++) t.record(4, "private/web-2");
  assert.equal(await stops2, true);
});
