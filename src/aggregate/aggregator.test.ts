// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { webService } from "../../test/support/domain-fixtures.ts";
import type { PeakReport, ProductionReport, ServiceReport } from "../controller/report.ts";
import type { RefusalReason } from "../domain/address-policy.ts";
import type { ProductionService } from "../domain/production-service.ts";
import type { Source } from "../domain/source.ts";
import { LoopYielder } from "../runtime/loop-yielder.ts";
import { type AggregationInfo, Aggregator, sameReport } from "./aggregator.ts";

const KEY = "shop/web";
const SERVICE = webService;

function production(generation = 1, over: Partial<ProductionService> = {}): ProductionReport {
  return {
    kind: "production",
    cluster: "private",
    service: KEY,
    generation,
    role: { kind: "production" },
    production: { ...SERVICE, ...over },
    burst: { annotations: {} },
  };
}

function source(
  name: string,
  addresses: string[],
  refused: [string, RefusalReason][] = [],
): Source {
  return {
    name,
    refused: refused.map(([address, reason]) => ({ address, reason })),
    group: {
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: addresses.map((address) => ({
        address,
        conditions: { ready: true, serving: true, terminating: false },
      })),
    },
  };
}

function peak(
  cluster: string,
  sources: Source[],
  over: Partial<PeakReport> = {},
  key = KEY,
): PeakReport {
  const refused = new Map<RefusalReason, number>();
  for (const s of sources)
    for (const r of s.refused) refused.set(r.reason, (refused.get(r.reason) ?? 0) + 1);
  return {
    kind: "peak",
    cluster,
    service: key,
    generation: 1,
    role: { kind: "peak" },
    sources: new Map(sources.map((s) => [s.name, s])),
    refused,
    ...over,
  };
}

function setup(): { agg: Aggregator; changed: string[]; ready: string[] } {
  const changed: string[] = [];
  const ready: string[] = [];
  const agg = new Aggregator({
    source: (async function* () {})(),
    production: "private",
    onServiceChanged: (key) => changed.push(key),
    onClusterReady: (cluster) => ready.push(cluster),
    onClusterDropped: () => {},
    yielder: new LoopYielder(),
  });
  const declare: AggregationInfo[] = [
    { kind: "cluster-added", cluster: "private" },
    { kind: "cluster-added", cluster: "public" },
    { kind: "cluster-ready", cluster: "private", generation: 1 },
    { kind: "cluster-ready", cluster: "public", generation: 1 },
  ];
  for (const info of declare) agg.apply(info);
  changed.length = 0;
  return { agg, changed, ready };
}

test("a report that means the same as the one it replaces changes nothing", () => {
  const { agg, changed } = setup();
  const a = source("web-a", ["10.1.0.1"]);
  agg.apply(production());
  agg.apply(peak("public", [a]));
  assert.deepEqual(changed, [KEY, KEY]);
  agg.apply(production());
  agg.apply(peak("public", [a]));
  assert.deepEqual(changed, [KEY, KEY], "same sources (by identity), same production");
  agg.apply(peak("public", [source("web-a", ["10.1.0.1"])]));
  assert.deepEqual(changed, [KEY, KEY, KEY], "a new Source object is a change");
  agg.apply(production(1, { ports: [{ name: "http", port: 81, protocol: "TCP" }] }));
  assert.equal(changed.length, 4);
});

test("serviceState pairs only ready peaks and lists the unknown ones", () => {
  const { agg } = setup();
  agg.apply({ kind: "cluster-added", cluster: "late" });
  agg.apply(production());
  agg.apply(peak("public", [source("web-a", ["10.1.0.1"])]));
  agg.apply(peak("late", [source("web-b", ["10.2.0.1"])]));
  let state = agg.serviceState(KEY);
  assert.deepEqual(
    state.peaks.map((p) => p.cluster),
    ["public"],
  );
  assert.deepEqual(state.unknown, ["late"]);
  agg.apply({ kind: "cluster-ready", cluster: "late", generation: 1 });
  state = agg.serviceState(KEY);
  assert.deepEqual(state.peaks.map((p) => p.cluster).sort(), ["late", "public"]);
  assert.deepEqual(state.unknown, []);
});

test("a peak pinned to another production cluster does not pair", () => {
  const { agg } = setup();
  agg.apply(production());
  agg.apply(
    peak("public", [source("web-a", ["10.1.0.1"])], {
      role: { kind: "peak", peerCluster: "elsewhere" },
    }),
  );
  assert.deepEqual(agg.serviceState(KEY).peaks, []);
});

test("withdrawn and removed clusters lose their reports, and late reports do not bring them back", () => {
  const { agg, changed } = setup();
  agg.apply(production());
  agg.apply(peak("public", [source("web-a", ["10.1.0.1"])]));
  changed.length = 0;
  agg.apply({ kind: "cluster-withdrawn", cluster: "public" });
  assert.deepEqual(changed, [KEY]);
  assert.equal(agg.knowledge("public"), "withdrawn");
  agg.apply(peak("public", [source("web-a", ["10.1.0.1"])]));
  assert.deepEqual(agg.serviceState(KEY).peaks, [], "a late report of a withdrawn peak is dropped");
  agg.apply({ kind: "cluster-ready", cluster: "public", generation: 1 });
  assert.equal(agg.knowledge("public"), "withdrawn", "only a restore ends a withdrawal");
  agg.apply({ kind: "cluster-restored", cluster: "public" });
  agg.apply(peak("public", [source("web-a", ["10.1.0.1"])]));
  assert.equal(agg.serviceState(KEY).peaks.length, 1);
  agg.apply({ kind: "cluster-removed", cluster: "public" });
  agg.apply(peak("public", [source("web-a", ["10.1.0.1"])]));
  assert.deepEqual(agg.serviceState(KEY).peaks, []);
  assert.equal(agg.knowledge("public"), undefined);
});

test("a replacement controller's first list sweeps what only its predecessor reported", () => {
  const { agg } = setup();
  agg.apply(production());
  agg.apply(peak("public", [source("web-a", ["10.1.0.1"])]));
  agg.apply(peak("public", [source("api-a", ["10.1.0.2"])], {}, "shop/api"));
  // Generation 2 knows only shop/web; an old report that arrives late is ignored.
  agg.apply(peak("public", [source("web-a", ["10.1.0.3"])], { generation: 2 }));
  agg.apply(peak("public", [source("web-a", ["10.1.0.9"])], { generation: 1 }));
  agg.apply({ kind: "cluster-ready", cluster: "public", generation: 2 });
  assert.deepEqual(agg.keys().sort(), ["shop/web"]);
  const only = agg.serviceState(KEY).peaks[0]!;
  assert.equal(only.sources.get("web-a")?.group?.endpoints[0]?.address, "10.1.0.3");
});

test("refused counts follow each report, and go with a withdrawn peak", () => {
  const { agg } = setup();
  agg.apply(production());
  agg.apply(
    peak("public", [
      source(
        "web-a",
        ["10.1.0.1"],
        [
          ["239.1.1.1", "multicast"],
          ["8.8.8.8", "not-allowed"],
        ],
      ),
    ]),
  );
  agg.apply(
    peak(
      "public",
      [source("api-a", [], [["239.1.1.2", "multicast"]])],
      { truncated: { kept: 5, dropped: 2 } },
      "shop/api",
    ),
  );
  const counts = () =>
    Object.fromEntries(agg.refusedCounts().map((c) => [`${c.cluster}/${c.reason}`, c.count]));
  assert.deepEqual(counts(), { "public/multicast": 2, "public/not-allowed": 1, "public/cap": 2 });
  agg.apply(peak("public", [source("web-a", ["10.1.0.1"])]));
  assert.deepEqual(counts(), { "public/multicast": 1, "public/cap": 2 });
  agg.apply({ kind: "cluster-withdrawn", cluster: "public" });
  assert.deepEqual(counts(), {});
});

test("servicesServedBy lists the production Services a peak pairs with", () => {
  const { agg } = setup();
  agg.apply(production());
  agg.apply(peak("public", [source("web-a", ["10.1.0.1"])]));
  agg.apply(peak("public", [source("lonely", ["10.1.0.2"])], {}, "shop/lonely"));
  assert.deepEqual(
    agg.servicesServedBy("public").map((s) => s.name),
    ["web"],
  );
});

test("sameReport", () => {
  const a = source("web-a", ["10.1.0.1"]);
  const cases: [string, ServiceReport, ServiceReport, boolean][] = [
    ["same sources", peak("public", [a]), peak("public", [a]), true],
    [
      "other truncation",
      peak("public", [a]),
      peak("public", [a], { truncated: { kept: 1, dropped: 1 } }),
      false,
    ],
    ["another source", peak("public", [a]), peak("public", [a, source("b", [])]), false],
    [
      "pinned",
      peak("public", [a]),
      peak("public", [a], { role: { kind: "peak", peerCluster: "x" } }),
      false,
    ],
    ["production alike", production(), production(2), true],
    ["recreated Service", production(), production(1, { uid: "uid-2" }), false],
    ["families", production(), production(1, { ipFamilies: ["IPv4", "IPv6"] }), false],
  ];
  for (const [name, x, y, want] of cases) assert.equal(sameReport(x, y), want, name);
});

test("peak endpoints of a family the production Service lacks are counted until that changes", () => {
  const { agg } = setup();
  const v6: Source = {
    name: "web-v6",
    refused: [],
    group: {
      addressType: "IPv6",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: ["2001:2::1", "2001:2::2"].map((address) => ({
        address,
        conditions: { ready: true, serving: true, terminating: false },
      })),
    },
  };
  agg.apply(production(1, { ipFamilies: ["IPv4"] }));
  agg.apply(peak("public", [source("web-v4", ["198.18.1.1"]), v6]));
  assert.deepEqual(agg.leftOutCounts(), [
    { cluster: "public", reason: "family-mismatch", count: 2 },
  ]);
  agg.apply(production(1, { ipFamilies: ["IPv4", "IPv6"] }));
  assert.deepEqual(agg.leftOutCounts(), [], "a dual-stack Service imports both");
  agg.apply(production(1, { ipFamilies: ["IPv6"] }));
  assert.deepEqual(agg.leftOutCounts(), [
    { cluster: "public", reason: "family-mismatch", count: 1 },
  ]);
  agg.apply({ kind: "cluster-removed", cluster: "public" });
  assert.deepEqual(agg.leftOutCounts(), [], "a removed peak leaves nothing counted");
  assert.equal(agg.leftOutOf("public"), 0);
});

test("takeChange: the earliest change since the writer last took one, from a real change only", () => {
  const { agg } = setup();
  agg.apply({ ...production(), observedAt: 100 });
  agg.apply({ ...peak("public", [source("a", ["198.19.0.1"])]), observedAt: 200 });
  assert.deepEqual(agg.takeChange(KEY), { cluster: "private", observedAt: 100 });
  assert.equal(agg.takeChange(KEY), undefined, "taken once");
  // A report equal to the last (a resync's) is no change: its clock is dropped.
  const same = agg.reportsOf(KEY).find((r) => r.cluster === "public")!;
  agg.apply({ ...same, observedAt: 300 });
  assert.equal(agg.takeChange(KEY), undefined);
  // A report without an event behind it (a restore, a new policy) changes, but starts no clock.
  agg.apply(peak("public", [source("a", ["198.19.0.2"])]));
  assert.equal(agg.takeChange(KEY), undefined);
  agg.apply({ ...peak("public", [source("a", ["198.19.0.3"])]), observedAt: 400 });
  assert.deepEqual(agg.takeChange(KEY), { cluster: "public", observedAt: 400 });
});

test("contribution: a peak's Services, admitted and refused endpoints by reason", () => {
  const { agg } = setup();
  agg.apply(production());
  agg.apply(
    peak("public", [
      source("a", ["198.19.0.1", "198.19.0.2"], [["239.0.0.1", "multicast"]]),
      source(
        "b",
        ["198.19.0.3"],
        [
          ["198.18.0.9", "production-range"],
          ["239.0.0.2", "multicast"],
        ],
      ),
    ]),
  );
  agg.apply(peak("public", [source("c", ["198.19.1.1"])], {}, "shop/other"));
  assert.deepEqual(agg.contribution("public"), {
    services: 2,
    admitted: 4,
    refused: 3,
    byReason: { multicast: 2, "production-range": 1 },
  });
  assert.deepEqual(agg.contribution("private"), {
    services: 1,
    admitted: 0,
    refused: 0,
    byReason: {},
  });
  assert.deepEqual(agg.contribution("nowhere"), {
    services: 0,
    admitted: 0,
    refused: 0,
    byReason: {},
  });
});

test("a withdrawal is a change of every Service the peak served, timed from its decision", () => {
  const { agg } = setup();
  agg.apply(production());
  agg.apply(peak("public", [source("a", ["198.19.0.1"])]));
  agg.takeChange(KEY);
  agg.apply({ kind: "cluster-withdrawn", cluster: "public", observedAt: 500 });
  assert.deepEqual(agg.takeChange(KEY), { cluster: "public", observedAt: 500 });
});

test("forgetChanges: a new leader does not time the changes it saw as a standby", () => {
  const { agg } = setup();
  agg.apply({ ...production(), observedAt: 100 });
  agg.forgetChanges();
  assert.equal(agg.takeChange(KEY), undefined);
  agg.apply({ ...peak("public", [source("a", ["198.19.0.1"])]), observedAt: 900 });
  assert.deepEqual(agg.takeChange(KEY), { cluster: "public", observedAt: 900 });
});
