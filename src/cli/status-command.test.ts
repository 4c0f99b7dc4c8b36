import assert from "node:assert/strict";
import { test } from "node:test";
import { formatStatus, parseMetrics } from "./status-command.ts";

const metrics = `# HELP kubeburst_cluster_state State of each watched cluster's controller (1 = current state).
# TYPE kubeburst_cluster_state gauge
kubeburst_cluster_state{cluster="private",state="synced"} 1
kubeburst_cluster_state{cluster="private",state="unreachable"} 0
kubeburst_cluster_state{cluster="public",state="synced"} 0
kubeburst_cluster_state{cluster="public",state="unreachable"} 1
kubeburst_cluster_withdrawn{cluster="public"} 1
kubeburst_refused_endpoints{cluster="public",reason="not-allowed"} 2
kubeburst_refused_endpoints{cluster="public",reason="cap"} 0
kubeburst_left_out_endpoints{cluster="public",reason="family-mismatch"} 3
kubeburst_writer_writes_total{verb="apply",result="ok"} 7
kubeburst_writer_writes_total{verb="delete",result="ok"} 1
kubeburst_writer_writes_total{verb="apply",result="error"} 1
kubeburst_writer_noop_syncs_total 40
kubeburst_queue_depth{queue="input"} 0
kubeburst_queue_depth{queue="write"} 3
`;

test("parseMetrics reads names, labels and values, and skips comments", () => {
  const samples = parseMetrics(metrics);
  assert.equal(samples.length, 14);
  assert.deepEqual(samples[0], {
    name: "kubeburst_cluster_state",
    labels: { cluster: "private", state: "synced" },
    value: 1,
  });
  assert.deepEqual(parseMetrics('x{a="q\\"uote"} 2\ngarbage line\n'), [
    { name: "x", labels: { a: 'q\\"uote' }, value: 2 },
  ]);
});

test("formatStatus says whether this replica leads, with leader election", () => {
  const text = formatStatus(
    { status: 200, text: "standby: another replica leads" },
    parseMetrics("kubeburst_leader 0\n"),
  );
  assert.match(text, /^ready: yes\nleader: no \(standby\)$/m);
});

test("formatStatus says whether production's own ranges are known", () => {
  const unknown = formatStatus(
    { status: 503, text: "x" },
    parseMetrics("kubeburst_production_ranges_known 0\n"),
  );
  assert.match(
    unknown,
    /^production's own ranges: not read yet \(no peak endpoint is admitted\)$/m,
  );
  const known = formatStatus(
    { status: 200, text: "ok" },
    parseMetrics("kubeburst_production_ranges_known 1\n"),
  );
  assert.match(known, /^production's own ranges: known$/m);
});

test("formatStatus: readiness, each cluster's state, withdrawn peaks, refusals and writes", () => {
  assert.equal(
    formatStatus(
      { status: 503, text: "waiting for the first sync of public\n" },
      parseMetrics(metrics),
    ),
    [
      "ready: no (waiting for the first sync of public)",
      "  private: synced",
      "  public: unreachable, endpoints withdrawn (failed for longer than staleTTL), refused not-allowed=2, left out family-mismatch=3",
      "writes: 8 ok, 1 failed; 40 reconciles found nothing to do",
      "queues: input 0, write 3",
    ].join("\n"),
  );
});
