import assert from "node:assert/strict";
import { test } from "node:test";
import { type Probe, probeWindow } from "./lag-probe.ts";

const healthy = (start: number, n: number): Probe[] =>
  Array.from({ length: n }, (_, i) => ({ sent: start + i * 100, ms: 2, ok: true }));

test("a responsive process: the longest unanswered is the slowest answer", () => {
  const probes = [...healthy(0, 10), { sent: 1000, ms: 40, ok: true }, ...healthy(1100, 5)];
  assert.deepEqual(probeWindow(probes, 0, 2000), { probes: 16, p99Ms: 40, maxMs: 40 });
  assert.deepEqual(probeWindow(probes, 0, 900), { probes: 10, p99Ms: 2, maxMs: 2 });
  assert.deepEqual(probeWindow([], 0, 900), { probes: 0 });
});

test("failed probes chain until the next answer; a probe still waiting counts to the end", () => {
  const stalled: Probe[] = [
    ...healthy(0, 3),
    { sent: 300, ms: 120_000, ok: false },
    { sent: 120_300, ms: 120_000, ok: false },
    { sent: 240_300 },
  ];
  const w = probeWindow(stalled, 0, 300_000);
  assert.equal(w.maxMs, 300_000 - 300);
  assert.equal(w.probes, 6);
  const recovered: Probe[] = [
    ...healthy(0, 3),
    { sent: 300, ms: 120_000, ok: false },
    { sent: 120_300, ms: 500, ok: true },
  ];
  assert.equal(probeWindow(recovered, 0, 200_000).maxMs, 120_500);
  // An answer after the window's end counts as still waiting.
  assert.equal(probeWindow(recovered, 0, 120_400).maxMs, 120_100);
});
