import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePromText, sumSamples } from "./prom-text.ts";

const scrape = `# HELP kubeburst_writer_writes_total Writes.
# TYPE kubeburst_writer_writes_total counter
kubeburst_writer_writes_total{verb="apply",result="ok"} 10
kubeburst_writer_writes_total{verb="delete",result="ok"} 2
kubeburst_writer_writes_total{verb="apply",result="error"} 1
kubeburst_writer_noop_syncs_total 7
nodejs_eventloop_lag_p99_seconds 0.012
odd{a="x\\"y",b="z"} +Inf 1700000000
`;

test("parsePromText reads names, labels (with escapes) and values; skips comments", () => {
  const samples = parsePromText(scrape);
  assert.equal(samples.length, 6);
  assert.deepEqual(samples[0], {
    name: "kubeburst_writer_writes_total",
    labels: { verb: "apply", result: "ok" },
    value: 10,
  });
  assert.deepEqual(samples[5], { name: "odd", labels: { a: 'x"y', b: "z" }, value: Infinity });
});

test("sumSamples adds matching samples; undefined when the metric is absent", () => {
  const samples = parsePromText(scrape);
  assert.equal(sumSamples(samples, "kubeburst_writer_writes_total"), 13);
  assert.equal(sumSamples(samples, "kubeburst_writer_writes_total", { result: "error" }), 1);
  assert.equal(sumSamples(samples, "kubeburst_writer_writes_total", { verb: "update" }), 0);
  assert.equal(sumSamples(samples, "kubeburst_writer_noop_syncs_total"), 7);
  assert.equal(sumSamples(samples, "nodejs_eventloop_lag_max_seconds"), undefined);
});
