// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { webService } from "../../test/support/domain-fixtures.ts";
import type { PeakReport, ProductionReport, ServiceReport } from "../controller/report.ts";
import { serviceSummaryOf } from "./status-view.ts";

const KEY = "shop/web";
const production: ProductionReport = {
  kind: "production",
  cluster: "private",
  service: KEY,
  generation: 1,
  role: { kind: "production" },
  production: webService,
  burst: { annotations: {} },
};
const endpoint = (address: string, ready: boolean) => ({
  address,
  conditions: { ready, serving: true, terminating: !ready },
});
const peak = (cluster: string): PeakReport => ({
  kind: "peak",
  cluster,
  service: KEY,
  generation: 1,
  role: { kind: "peak" },
  sources: new Map([
    [
      "web-a",
      {
        name: "web-a",
        group: {
          addressType: "IPv4",
          ports: [{ name: "http", port: 8080, protocol: "TCP" }],
          endpoints: [endpoint("198.19.0.1", true), endpoint("198.19.0.2", false)],
        },
        refused: [{ address: "239.0.0.1", reason: "multicast" }],
      },
    ],
  ]),
  refused: new Map([["multicast", 1]]),
});
const ourSlice: V1EndpointSlice = {
  metadata: {
    name: "web-kb-public-v4-abc-0",
    namespace: "shop",
    uid: "u1",
    resourceVersion: "5",
    labels: { "kubeburst.io/source-cluster": "public" },
  },
  addressType: "IPv4",
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  endpoints: [
    { addresses: ["198.19.0.1"], conditions: { ready: true } },
    { addresses: ["198.19.0.2"], conditions: { ready: false, serving: true, terminating: true } },
  ],
};

test("a Service's line: its ready peaks' endpoints, what is written, the last write and change", () => {
  const reports: ServiceReport[] = [production, peak("public"), peak("syncing-peak")];
  const summary = serviceSummaryOf(
    KEY,
    reports,
    (c) => (c === "syncing-peak" ? "unknown" : "ready"),
    [ourSlice],
    {
      lastWrite: { at: 2_000, result: "ok" },
      lastChange: { cluster: "public", observedAt: 1_990, writtenAt: 2_000 },
    },
    null,
    "private",
  );
  assert.deepEqual(summary, {
    service: KEY,
    production: true,
    peaks: [{ cluster: "public", endpoints: 2, ready: 1, refused: 1 }],
    written: { slices: 1, endpoints: 2 },
    lastWrite: { at: "1970-01-01T00:00:02.000Z", result: "ok" },
    lastChange: {
      cluster: "public",
      observedAt: "1970-01-01T00:00:01.990Z",
      writtenAt: "1970-01-01T00:00:02.000Z",
      propagationSeconds: 0.01,
    },
    conflicts: 0,
    policy: null,
  });
});

test("a peak Service with no production partner and nothing written has no line", () => {
  const noLine = serviceSummaryOf(
    KEY,
    [peak("public")],
    () => "ready",
    [],
    undefined,
    null,
    "private",
  );
  assert.equal(noLine, undefined);
  const leftovers = serviceSummaryOf(
    KEY,
    [],
    () => "ready",
    [ourSlice],
    undefined,
    null,
    "private",
  );
  assert.equal(leftovers?.written.endpoints, 2, "slices still written for a Service that left");
  const policy = { mode: "manual", bursting: false, reason: "annotation off" };
  const conflict: ServiceReport = {
    kind: "conflict",
    cluster: "private",
    service: KEY,
    generation: 1,
    reason: "both",
  };
  const withPolicy = serviceSummaryOf(
    KEY,
    [conflict],
    () => "ready",
    [],
    undefined,
    policy,
    "private",
  );
  assert.equal(withPolicy?.conflicts, 1);
  assert.deepEqual(withPolicy?.policy, policy);
});
