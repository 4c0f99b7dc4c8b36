import assert from "node:assert/strict";
import { test } from "node:test";
import { niceStep, renderScalingChart } from "./scaling-chart.ts";

test("niceStep picks 1, 2 or 5 × 10^k", () => {
  const cases: [number, number][] = [
    [10_000, 2000],
    [5000, 1000],
    [37, 10],
    [0.9, 0.2],
    [0, 1],
  ];
  for (const [max, step] of cases) assert.equal(niceStep(max), step, String(max));
});

test("the chart draws both series with their values and a linear guide", () => {
  const svg = renderScalingChart(
    [
      { services: 5000, convergedSeconds: 20, cpuSeconds: 30 },
      { services: 1000, convergedSeconds: 4, cpuSeconds: 5 },
    ],
    "a <test> run",
  );
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /a &lt;test&gt; run/);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 2);
  assert.equal((svg.match(/<circle /g) ?? []).length, 4);
  assert.match(svg, />20\.0</);
  assert.match(svg, />30\.0</);
  assert.match(svg, /linear growth at the rate between the two smallest sizes/);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
});

test("with no points it says so", () => {
  assert.match(renderScalingChart([], ""), /no cold start measured/);
});
