import assert from "node:assert/strict";
import { test } from "node:test";
import { explainDoc, statusDoc } from "../../test/support/status-fixtures.ts";
import { ago, duration, formatExplain, formatStatus, statusHealthy } from "./status-format.ts";

test("ago and duration read as a person would say them", () => {
  const now = "2026-11-30T21:00:00.000Z";
  const cases: [string, string][] = [
    ["2026-11-30T20:59:58.000Z", "2 s ago"],
    ["2026-11-30T20:55:00.000Z", "5 min ago"],
    ["2026-11-30T18:00:00.000Z", "3 h ago"],
    ["2026-11-27T21:00:00.000Z", "3 d ago"],
    ["2026-11-30T21:00:05.000Z", "0 s ago"],
  ];
  for (const [at, want] of cases) assert.equal(ago(at, now), want, at);
  const durations: [number, string][] = [
    [0.0042, "4.2 ms"],
    [0.25, "250 ms"],
    [1.34, "1.3 s"],
    [42, "42 s"],
  ];
  for (const [s, want] of durations) assert.equal(duration(s), want, String(s));
});

test("status: every declared cluster has a line, the refused one with its reason", () => {
  const text = formatStatus(statusDoc, "127.0.0.1:9090");
  const lines = text.split("\n");
  assert.equal(lines[0], "kubeburst 0.1.0 at 127.0.0.1:9090: ready (ok)");
  assert.match(text, /^attention: rented refused$/m);
  assert.match(text, /^ {2}private +production +synced +2 s ago +1 +- +-$/m);
  assert.match(text, /^ {2}public +peak +synced +1 s ago +1 +3 +loopback=1$/m);
  assert.match(
    text,
    /^ {2}rented +peak \(secret\) +refused +never +0 +0 +0 +kubeconfig refused: an exec plugin/m,
  );
  assert.match(
    text,
    /^ {2}shop\/web +public 2\/3, 1 refused +3 endpoint\(s\) in 1 slice\(s\) +5\.0 ms from public, 10 s ago +-$/m,
  );
  assert.match(text, /^writes: 8 ok, 1 failed; 40 reconciles found nothing to do$/m);
});

test("status is healthy only when ready and no cluster fails or is withdrawn", () => {
  assert.equal(statusHealthy(statusDoc), false, "a refused kubeconfig is not healthy");
  const fine = { ...statusDoc, clusters: statusDoc.clusters.slice(0, 2) };
  assert.equal(statusHealthy(fine), true);
  assert.equal(statusHealthy({ ...fine, ready: false }), false);
  const withdrawn = fine.clusters.map((c) => (c.name === "public" ? { ...c, withdrawn: true } : c));
  assert.equal(statusHealthy({ ...fine, clusters: withdrawn }), false);
  const unreachable = fine.clusters.map((c) =>
    c.name === "public" ? { ...c, state: "unreachable" as const } : c,
  );
  assert.equal(statusHealthy({ ...fine, clusters: unreachable }), false);
  assert.match(
    formatStatus({ ...fine, ready: false, reason: "waiting" }, "a:1"),
    /: NOT READY \(waiting\)$/m,
  );
});

test("explain: each cluster's endpoints, what was refused and why, what is written, and when", () => {
  assert.equal(
    formatExplain(explainDoc),
    [
      "shop/web: takes part (production Service in private)",
      "policy: not decided by this replica (a standby decides nothing)",
      "",
      "production private: 1 endpoint(s) of its own",
      "    198.18.0.10  ready  serving  slice web-abcde",
      "",
      "peak public (synced): 2 endpoint(s) admitted, 1 refused",
      "    198.19.0.10  ready      serving               slice web-xyz",
      "    198.19.0.11  not ready  serving  terminating  slice web-xyz",
      "    refused 127.0.0.1: loopback (slice web-xyz)",
      "",
      "written in private: 1 slice(s)",
      "    web-kb-public-v4-1a2b3c-0  IPv4  1/2 ready  mirrors public",
      "",
      "last write: ok, 2026-11-30T21:00:00.000Z (10 s ago)",
      "last change: from public, event arrived 2026-11-30T20:59:59.995Z, written 2026-11-30T21:00:00.000Z: 5.0 ms",
    ].join("\n"),
  );
});

test("explain: a Service that takes no part, a failed read, a policy, a failed write", () => {
  const text = formatExplain({
    ...explainDoc,
    takesPart: false,
    reason: "its labels contradict each other",
    conflicts: [{ cluster: "private", reason: "labelled both production and peak" }],
    production: { cluster: "private", endpoints: null, readError: "forbidden" },
    peaks: [],
    written: [],
    lastWrite: { at: "2026-11-30T21:00:00.000Z", result: "error", error: "conflict" },
    lastChange: null,
    policy: { mode: "threshold", bursting: true, reason: "1 ready < 2" },
  });
  assert.match(text, /^shop\/web: takes no part: its labels contradict each other$/m);
  assert.match(text, /^labels conflict in private: labelled both production and peak$/m);
  assert.match(text, /^production private: endpoints not read \(forbidden\)$/m);
  assert.match(text, /^policy: threshold, bursting: 1 ready < 2$/m);
  assert.match(text, /^last write: FAILED \(conflict\), /m);
  assert.match(text, /^last change: none written by this process$/m);
});
