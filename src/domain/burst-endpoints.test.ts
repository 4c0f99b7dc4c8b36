import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type BurstEndpointsInput,
  type BurstMemory,
  burstEndpoints,
  EMPTY_MEMORY,
  type PeakSourceInput,
  shareCapLimit,
  sourceId,
} from "./burst-endpoints.ts";
import type { Endpoint } from "./endpoints.ts";

const ports = [{ name: "http", port: 8080, protocol: "TCP" as const }];
const ep = (address: string, ready = true): Endpoint => ({
  address,
  conditions: { ready, serving: ready, terminating: false },
});
const source = (name: string, endpoints: Endpoint[], cluster = "public"): PeakSourceInput => ({
  cluster,
  source: name,
  group: { addressType: "IPv4", ports, endpoints },
});
const peaks = (n: number, prefix = "198.18.17."): Endpoint[] =>
  Array.from({ length: n }, (_, i) => ep(`${prefix}${10 + i}`));

function run(over: Partial<BurstEndpointsInput>) {
  return burstEndpoints({
    bursting: true,
    shareCapPercent: undefined,
    productionReady: 3,
    sources: [source("s1", peaks(5))],
    unreachable: () => false,
    live: () => true,
    drainMs: 30_000,
    now: 1000,
    memory: EMPTY_MEMORY,
    ...over,
  });
}
const states = (r: ReturnType<typeof run>, sid = sourceId("public", "s1")) =>
  Object.fromEntries(
    (r.groups.get(sid)?.endpoints ?? []).map((e) => [
      e.address,
      e.conditions.ready ? "ready" : e.conditions.terminating ? "draining" : "not-ready",
    ]),
  );

test("shareCapLimit: at most p% of all ready endpoints", () => {
  const cases: [number | undefined, number, number][] = [
    [undefined, 3, Number.POSITIVE_INFINITY],
    [100, 0, Number.POSITIVE_INFINITY],
    [0, 10, 0],
    [40, 3, 2], // 2 of 5 = 40%
    [50, 3, 3],
    [40, 0, 0],
    [25, 3, 1],
    [99, 1, 99],
  ];
  for (const [p, prod, want] of cases)
    assert.equal(shareCapLimit(p, prod), want, `${p}% of ${prod}`);
});

test("burstEndpoints: bursting writes the peak as it is; off writes nothing", () => {
  const on = run({});
  assert.deepEqual(Object.values(states(on)), ["ready", "ready", "ready", "ready", "ready"]);
  assert.equal(on.counts.admitted, 5);
  const off = run({ bursting: false });
  assert.deepEqual(states(off), {});
  assert.equal(off.wakeAt, undefined);
});

test("burstEndpoints: the share cap takes a deterministic subset, and the rest drains", () => {
  const capped = run({ shareCapPercent: 40 });
  const ready = Object.entries(states(capped)).filter(([, s]) => s === "ready");
  assert.equal(ready.length, 2);
  assert.equal(capped.counts.capped, 3);
  // The same subset whatever the order of sources and endpoints.
  const again = run({ shareCapPercent: 40, sources: [source("s1", peaks(5).reverse())] });
  assert.deepEqual(states(again), states(capped));
  // Uncapped before, capped now: the three left out drain, then go.
  const before = run({});
  const after = run({ shareCapPercent: 40, memory: before.memory, now: 2000 });
  assert.equal(Object.values(states(after)).filter((s) => s === "draining").length, 3);
  assert.equal(after.wakeAt, 32_000);
  const later = run({ shareCapPercent: 40, memory: after.memory, now: 32_000 });
  assert.equal(Object.keys(states(later)).length, 2);
  assert.equal(later.wakeAt, undefined);
});

test("burstEndpoints: burst ends → drain; vanished endpoints and sources drain; gone clusters do not", () => {
  const before = run({});
  const ended = run({ bursting: false, memory: before.memory, now: 5000 });
  assert.deepEqual(Object.values(states(ended)), Array(5).fill("draining"));
  assert.equal(ended.wakeAt, 35_000);
  // Scale-in: two endpoints vanish from the source.
  const scaled = run({ sources: [source("s1", peaks(3))], memory: before.memory });
  assert.deepEqual(Object.values(states(scaled)), [
    "ready",
    "ready",
    "ready",
    "draining",
    "draining",
  ]);
  // Unlabelled: the whole source is gone; its endpoints drain under its name and ports.
  const unlabelled = run({ sources: [], memory: before.memory });
  assert.deepEqual(unlabelled.groups.get(sourceId("public", "s1"))?.ports, ports);
  assert.equal(Object.values(states(unlabelled)).length, 5);
  // Withdrawn cluster: no drain (SPEC B3: at once).
  const withdrawn = run({ sources: [], memory: before.memory, live: () => false });
  assert.deepEqual(states(withdrawn), {});
  // Drain off: removed at once.
  assert.deepEqual(states(run({ sources: [], memory: before.memory, drainMs: 0 })), {});
  // Coming back during a drain: ready again at once.
  const back = run({ memory: ended.memory, now: 6000 });
  assert.deepEqual(Object.values(states(back)), Array(5).fill("ready"));
});

test("burstEndpoints: unreachable endpoints are written not ready, not drained, and not counted in the cap", () => {
  const down = new Set(["198.18.17.10"]);
  const before = run({});
  const r = run({ unreachable: (_c, a) => down.has(a), memory: before.memory });
  assert.equal(states(r)["198.18.17.10"], "not-ready");
  assert.equal(r.counts.unreachable, 1);
  assert.equal(r.counts.draining, 0);
  const capped = run({ shareCapPercent: 40, unreachable: (_c, a) => down.has(a) });
  assert.equal(Object.values(states(capped)).filter((s) => s === "ready").length, 2);
  // The peak's own not-ready endpoints are copied while bursting, never drained.
  const own = run({ sources: [source("s1", [ep("198.18.17.10", false)])], memory: before.memory });
  assert.equal(states(own)["198.18.17.10"], "not-ready");
  assert.equal(own.counts.draining, 4);
});

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

test("property: the share cap is never exceeded, and nothing drains past its end", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = random(seed);
    let memory: BurstMemory = EMPTY_MEMORY;
    let now = 0;
    for (let step = 0; step < 30; step++) {
      now += Math.floor(r() * 20_000);
      const cap = r() < 0.2 ? undefined : Math.floor(r() * 101);
      const prod = Math.floor(r() * 8);
      const sources = [0, 1].map((i) =>
        source(
          `s${i}`,
          Array.from({ length: Math.floor(r() * 8) }, (_, k) =>
            ep(`198.18.${17 + i}.${10 + k}`, r() < 0.8),
          ),
          i === 0 ? "public" : "public-b",
        ),
      );
      const down = r() < 0.3 ? "198.18.17.10" : "";
      const out = burstEndpoints({
        bursting: r() < 0.7,
        shareCapPercent: cap,
        productionReady: prod,
        sources,
        unreachable: (_c, a) => a === down,
        live: () => true,
        drainMs: 30_000,
        now,
        memory,
      });
      const all = [...out.groups.values()].flatMap((g) => g.endpoints);
      const ready = all.filter((e) => e.conditions.ready).length;
      if (cap !== undefined && cap < 100) {
        assert.ok(
          ready * 100 <= cap * (prod + ready),
          `seed ${seed}: ${ready} peak of ${prod} at ${cap}%`,
        );
      }
      assert.equal(new Set(all.map((e) => e.address)).size, all.length, "each address once");
      for (const d of out.memory.draining.values()) assert.ok(d.until > now);
      if (out.wakeAt !== undefined) assert.ok(out.wakeAt > now);
      memory = out.memory;
    }
  }
});
