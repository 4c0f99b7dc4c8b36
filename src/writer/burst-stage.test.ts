import assert from "node:assert/strict";
import { test } from "node:test";
import { webService } from "../../test/support/domain-fixtures.ts";
import type { ServiceState } from "../aggregate/aggregator.ts";
import type { PeakReport, ProductionReport } from "../controller/report.ts";
import type { Source } from "../domain/source.ts";
import type { EventRecorder } from "../kube/events.ts";
import { silentLogger } from "../observability/logger.ts";
import { Metrics } from "../observability/metrics.ts";
import { FakeClock } from "../runtime/clock.ts";
import { BurstStage, type ProbeTarget } from "./burst-stage.ts";
import { alwaysFence } from "./fence.ts";
import { ServiceEvents } from "./service-events.ts";

const KEY = "shop/web";

function source(name: string, addresses: string[]): Source {
  return {
    name,
    group: {
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: addresses.map((address) => ({
        address,
        conditions: { ready: true, serving: true, terminating: false },
      })),
    },
    refused: [],
  };
}

function state(
  annotations: Record<string, string>,
  sources: Source[],
  productionReady?: number,
): ServiceState {
  const production: ProductionReport = {
    kind: "production",
    cluster: "private",
    service: KEY,
    generation: 1,
    role: { kind: "production" },
    production: webService,
    burst: { annotations, ...(productionReady === undefined ? {} : { productionReady }) },
  };
  const peak: PeakReport = {
    kind: "peak",
    cluster: "public",
    service: KEY,
    generation: 1,
    role: { kind: "peak" },
    sources: new Map(sources.map((s) => [s.name, s])),
    refused: new Map(),
  };
  return { production, peaks: [peak], unknown: [], conflicts: [] };
}

function harness(over: { drainMs?: number; probed?: boolean } = {}) {
  const clock = new FakeClock(1_000_000);
  const woken: string[] = [];
  const recorded: string[] = [];
  const tracked = new Map<string, ProbeTarget[]>();
  const down = new Set<string>();
  const recorder = {
    record: async (_s: unknown, _t: string, reason: string, message: string) => {
      recorded.push(`${reason}: ${message}`);
      return undefined;
    },
  } as unknown as EventRecorder;
  const stage = new BurstStage({
    defaults: { policy: "always", holdMs: 60_000 },
    drainMs: over.drainMs ?? 0,
    clock,
    metrics: new Metrics(),
    logger: silentLogger(),
    events: new ServiceEvents({
      recorder: () => recorder,
      fence: alwaysFence,
      logger: silentLogger(),
    }),
    live: () => true,
    probed: () => over.probed ?? false,
    unreachable: (_c, a) => down.has(a),
    track: (key, targets) => tracked.set(key, targets),
    wake: (key) => woken.push(key),
  });
  return { clock, stage, woken, recorded, tracked, down, signal: new AbortController().signal };
}

const addresses = (s: ServiceState) =>
  s.peaks.flatMap((p) =>
    [...p.sources.values()].flatMap((src) =>
      (src.group?.endpoints ?? []).map(
        (e) =>
          `${e.address}:${e.conditions.ready ? "ready" : e.conditions.terminating ? "draining" : "not-ready"}`,
      ),
    ),
  );

test("BurstStage: always without cap, drain or probes passes the state through untouched", async () => {
  const h = harness();
  const input = state({}, [source("s1", ["198.18.17.10", "198.18.17.11"])]);
  const out = await h.stage.view(KEY, input, h.signal);
  assert.equal(out, input);
  assert.deepEqual(h.stage.decision(KEY), {
    service: KEY,
    policy: "always",
    bursting: true,
    reason: "peaks always take part",
    since: new Date(1_000_000).toISOString(),
    peakReady: 2,
    draining: 0,
    unreachable: 0,
    capped: 0,
  });
  assert.deepEqual(h.recorded, [], "no Event for a Service that always bursts");
});

test("BurstStage: the hold time's end is scheduled on the clock and wakes the Service", async () => {
  const h = harness({ drainMs: 20_000 });
  const a = {
    "kubeburst.io/burst-policy": "threshold",
    "kubeburst.io/burst-below": "2",
    "kubeburst.io/burst-recover-at": "3",
    "kubeburst.io/burst-hold": "10s",
  };
  const peak = [source("s1", ["198.18.17.10", "198.18.17.11"])];
  let out = await h.stage.view(KEY, state(a, peak, 1), h.signal);
  assert.deepEqual(addresses(out), ["198.18.17.10:ready", "198.18.17.11:ready"]);
  assert.match(h.recorded[0] ?? "", /^BurstStarted: policy threshold: production has 1 ready/);
  out = await h.stage.view(KEY, state(a, peak, 3), h.signal);
  assert.equal(h.stage.decision(KEY)?.bursting, true);
  assert.equal(h.stage.decision(KEY)?.nextChangeAt, new Date(1_010_000).toISOString());
  await h.clock.advance(9_999);
  assert.deepEqual(h.woken, []);
  await h.clock.advance(1);
  assert.deepEqual(h.woken, [KEY], "woken at the end of the hold, not by a resync");
  out = await h.stage.view(KEY, state(a, peak, 3), h.signal);
  assert.deepEqual(addresses(out), ["198.18.17.10:draining", "198.18.17.11:draining"]);
  assert.match(h.recorded[1] ?? "", /^BurstEnded: policy threshold: production has 3 ready/);
  // The drain's end is scheduled too.
  await h.clock.advance(20_000);
  assert.deepEqual(h.woken, [KEY, KEY]);
  out = await h.stage.view(KEY, state(a, peak, 3), h.signal);
  assert.deepEqual(addresses(out), []);
});

test("BurstStage: an unchanged source keeps its output object (the writer compares by identity)", async () => {
  const h = harness();
  const a = { "kubeburst.io/burst-share-cap": "50%" };
  const s1 = source("s1", ["198.18.17.10"]);
  const s2 = source("s2", ["198.18.17.11", "198.18.17.12"]);
  const first = await h.stage.view(KEY, state(a, [s1, s2], 3), h.signal);
  const second = await h.stage.view(KEY, state(a, [s1, s2], 3), h.signal);
  assert.equal(first.peaks[0]?.sources.get("s1"), second.peaks[0]?.sources.get("s1"));
  assert.equal(first.peaks[0]?.sources.get("s2"), second.peaks[0]?.sources.get("s2"));
  assert.equal(h.stage.decision(KEY)?.peakReady, 3);
});

test("BurstStage: probed peaks are tracked, unreachable endpoints written not ready", async () => {
  const h = harness({ probed: true });
  const input = state({}, [source("s1", ["198.18.17.10", "198.18.17.11"])]);
  await h.stage.view(KEY, input, h.signal);
  assert.deepEqual(h.tracked.get(KEY), [
    { cluster: "public", address: "198.18.17.10", port: 8080 },
    { cluster: "public", address: "198.18.17.11", port: 8080 },
  ]);
  h.down.add("198.18.17.10");
  const out = await h.stage.view(KEY, input, h.signal);
  assert.deepEqual(addresses(out), ["198.18.17.10:not-ready", "198.18.17.11:ready"]);
  assert.equal(h.stage.decision(KEY)?.unreachable, 1);
  // The Service leaves production: its probes are given up.
  await h.stage.view(KEY, { ...input, production: undefined }, h.signal);
  assert.deepEqual(h.tracked.get(KEY), []);
  assert.equal(h.stage.decision(KEY), undefined);
});

test("BurstStage: invalid annotations keep the decision and are told once", async () => {
  const h = harness();
  const peak = [source("s1", ["198.18.17.10"])];
  await h.stage.view(
    KEY,
    state({ "kubeburst.io/burst-policy": "manual", "kubeburst.io/burst": "on" }, peak),
    h.signal,
  );
  const bad = state({ "kubeburst.io/burst-policy": "manual", "kubeburst.io/burst": "yes" }, peak);
  const out = await h.stage.view(KEY, bad, h.signal);
  await h.stage.view(KEY, bad, h.signal);
  assert.deepEqual(addresses(out), ["198.18.17.10:ready"]);
  assert.equal(h.stage.decision(KEY)?.policy, "invalid");
  assert.equal(h.recorded.filter((r) => r.startsWith("BurstPolicyInvalid")).length, 1);
});
