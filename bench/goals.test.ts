import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBenchOptions } from "./bench-options.ts";
import type { BenchResults, ColdStartRun, LatencyPhase } from "./bench-results.ts";
import { evaluateGoals, linearity } from "./goals.ts";
import { renderResultsMarkdown } from "./results-markdown.ts";
import { summarize } from "./summarize.ts";

const options = (() => {
  const parsed = parseBenchOptions([]);
  assert.ok(parsed.ok === true);
  return parsed.options;
})();

function phase(inCluster: number, hop: number, cpuPerChangeMs: number): LatencyPhase {
  return {
    changes: 1000,
    completed: 1000,
    rate: 50,
    inCluster: summarize([inCluster])!,
    hop: summarize([hop])!,
    endToEnd: summarize([inCluster + hop])!,
    cpuSeconds: cpuPerChangeMs,
    cpuPerChangeMs,
  };
}

function cold(services: number, seconds: number, cpu: number, writes: number): ColdStartRun {
  return {
    services,
    endpointsPerService: 10,
    productionNodes: 0,
    converged: true,
    servicesConverged: services,
    convergedSeconds: seconds,
    writes,
    writeErrors: 0,
    minimumWrites: services,
    events: 0,
    peakRssMiB: 100,
    cpuSeconds: cpu,
    lag: { probes: 10, probeP99Ms: 5, probeMaxMs: 8 },
  };
}

const results: BenchResults = {
  startedAt: "2026-01-01T00:00:00.000Z",
  command: "npx node bench/run.ts",
  options,
  machine: {
    nproc: 2,
    cpuModel: "test CPU",
    memoryGiB: 24,
    kernel: "Linux 6",
    node: "v24.0.0",
    loadAverageAtStart: 0.5,
  },
  settings: { "kubeburst client": "no rate limit" },
  propagation: {
    services: 1000,
    changesPerPhase: 1000,
    churnPerSecond: 50,
    kubeburst: { idle: phase(20, 10, 2), churn: phase(40, 60, 4) },
    relay: { idle: phase(20, 10, 1), churn: phase(40, 30, 1) },
  },
  coldStart: [cold(1000, 4, 5, 1000), cold(10_000, 40, 50, 10_002)],
  endpoints: { ...cold(1000, 5, 5, 1000), endpointsPerService: 100, peakRssMiB: 280 },
  nodes: {
    nodes: 1000,
    resyncPeriodSeconds: 60,
    coldStart: { ...cold(10_000, 40, 50, 10_000), lag: { probes: 5, eventLoopP99Ms: 70 } },
    resync: { observed: true, seconds: 60, writes: 0, noopReconciles: 10_000, lag: { probes: 5 } },
  },
  steady: {
    endpoints: 3000,
    slices: 30,
    steps: [
      { change: "ready", writes: 1 },
      { change: "first", writes: 31 },
      { change: "remove", writes: 1 },
    ],
    resync: { observed: false, seconds: 45, writes: 0, lag: { probes: 5 } },
  },
  problems: {},
};

test("every goal is judged against its figure, with the margin", () => {
  const rows = evaluateGoals(results);
  const byGoal = new Map(rows.map((r) => [r.goal, r]));
  const expect: [string, "met" | "missed" | "not measured", string, RegExp][] = [
    ["propagation p99 ≤ 1.0× the in-cluster controller's (idle)", "met", "", /^0\.50×$/],
    [
      "propagation p99 ≤ 1.0× the in-cluster controller's (churn)",
      "missed",
      "by 1.50× the limit",
      /^1\.50×$/,
    ],
    ["propagation p99 ≤ 1.2× the bare relay's (idle)", "met", "", /^1\.00×$/],
    ["propagation p99 ≤ 1.2× the bare relay's (churn)", "missed", "by 1.67× the limit", /^2\.00×$/],
    ["CPU per change ≤ 1.5× the bare relay's", "missed", "by 2.67× the limit", /^4\.00×$/],
    ["10,000 × 10 cold start converged in ≤ 30 s", "missed", "by 1.33× the limit", /^40\.0 s$/],
    [
      "10,000 × 10 cold start: writes equal to the minimum",
      "missed",
      "by 2",
      /10,002 writes for a minimum of 10,000 \(\+2\)/,
    ],
    ["RSS ≤ 300 MiB at 100,000 endpoints", "met", "", /^280 MiB$/],
    [
      "event-loop lag p99 ≤ 50 ms throughout, with 1,000 production nodes",
      "missed",
      "by 1.40× the limit",
      /^70 ms$/,
    ],
    [
      "≤ 2 slice writes per endpoint change in a 3,000-endpoint Service",
      "missed",
      "by 15.50× the limit",
      /first: 31.*worst 31/,
    ],
    ["0 writes on a no-op resync", "met", "", /steady: 0, nodes: 0/],
  ];
  for (const [goal, status, margin, measured] of expect) {
    const row = byGoal.get(goal);
    assert.ok(row, goal);
    assert.equal(row.status, status, goal);
    assert.equal(row.margin, margin, goal);
    assert.match(row.measured, measured, goal);
  }
  const linear = rows.find((r) => r.goal.startsWith("cost linear"))!;
  assert.equal(linear.status, "met");
  assert.match(
    linear.measured,
    /CPU\/Service ×1\.00, time\/Service ×1\.00 from 1000 to 10000 Services \(average\)/,
  );
  assert.match(byGoal.get("0 writes on a no-op resync")!.note ?? "", /not confirmed/);
});

test("goals without figures are 'not measured'; a small run says so", () => {
  const small: BenchResults = { ...results, coldStart: [cold(200, 1, 1, 200)] };
  delete small.propagation;
  const rows = evaluateGoals(small);
  assert.equal(rows[0]!.status, "not measured");
  const coldRow = rows.find((r) => r.goal.startsWith("10,000 × 10 cold start converged"))!;
  assert.equal(coldRow.status, "met");
  assert.equal(coldRow.note, "measured at 200 Services, not 10000");
  assert.equal(rows.find((r) => r.goal.startsWith("cost linear"))!.status, "not measured");
});

test("linearity: average cost per Service with two sizes, marginal cost with three", () => {
  assert.equal(linearity([cold(1000, 4, 5, 0)]), undefined);
  assert.deepEqual(linearity([cold(1000, 4, 5, 0), cold(5000, 40, 50, 0)]), {
    cpu: 2,
    time: 2,
    from: 1000,
    to: 5000,
    method: "average",
  });
  // A fixed start-up cost (2 s, 3 CPU-s) plus 1 ms per Service: linear, whatever the sizes.
  const linear = [1000, 5000, 10_000].map((n) => cold(n, 2 + n / 1000, 3 + n / 1000, 0));
  assert.deepEqual(linearity(linear), {
    cpu: 1,
    time: 1,
    from: 1000,
    to: 10_000,
    method: "marginal",
  });
  // Quadratic: the marginal cost per Service grows with the size.
  const quadratic = [1000, 5000, 10_000].map((n) => cold(n, (n / 1000) ** 2, (n / 1000) ** 2, 0));
  assert.equal(linearity(quadratic)!.cpu, 15 / 6);
});

test("the Markdown report has every section's table and the goals", () => {
  const md = renderResultsMarkdown(results, "bench/results/scaling.svg");
  for (const heading of [
    "### Goals",
    "### 1. Propagation latency",
    "### 2. Cold start",
    "### 3. 100,000 endpoints",
    "### 4. Production with 1,000 nodes",
    "### 5. Steady state: one Service with 3,000 endpoints",
  ]) {
    assert.ok(md.includes(heading), heading);
  }
  assert.match(
    md,
    /\| kubeburst +\| churn +\| 1000\/1000 +\| 50\.0 +\| 40\.0 \/ 40\.0 \/ 40\.0 +\|/,
  );
  assert.match(md, /!\[cold start scaling\]\(bench\/results\/scaling\.svg\)/);
  assert.match(md, /\| CPU model +\| test CPU \|/);
  assert.match(md, /^\| --+ \| --+ \|$/m, "columns padded to one width");
});
