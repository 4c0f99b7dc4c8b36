import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type BurstPhase,
  type BurstSignals,
  type BurstSpecResult,
  decideBurst,
  hpaSaturated,
  parseBurstSpec,
} from "./burst-policy.ts";

const defaults = { policy: "always" as const, holdMs: 60_000 };

test("parseBurstSpec: annotations over the defaults", () => {
  const cases: { name: string; a: Record<string, string>; want: BurstSpecResult }[] = [
    {
      name: "nothing: the default",
      a: {},
      want: { ok: true, spec: { policy: "always", holdMs: 60_000 } },
    },
    {
      name: "manual on",
      a: { "kubeburst.io/burst-policy": "manual", "kubeburst.io/burst": "on" },
      want: { ok: true, spec: { policy: "manual", holdMs: 60_000, on: true } },
    },
    {
      name: "threshold with hysteresis, hold and cap",
      a: {
        "kubeburst.io/burst-policy": "threshold",
        "kubeburst.io/burst-below": "3",
        "kubeburst.io/burst-recover-at": "5",
        "kubeburst.io/burst-hold": "30s",
        "kubeburst.io/burst-share-cap": "40%",
      },
      want: {
        ok: true,
        spec: { policy: "threshold", holdMs: 30_000, below: 3, recoverAt: 5, shareCapPercent: 40 },
      },
    },
    {
      name: "threshold: recover-at defaults to below",
      a: { "kubeburst.io/burst-policy": "threshold", "kubeburst.io/burst-below": "2" },
      want: { ok: true, spec: { policy: "threshold", holdMs: 60_000, below: 2, recoverAt: 2 } },
    },
    {
      name: "hpa-saturated",
      a: { "kubeburst.io/burst-policy": "hpa-saturated", "kubeburst.io/burst-hpa": "web" },
      want: { ok: true, spec: { policy: "hpa-saturated", holdMs: 60_000, hpa: "web" } },
    },
  ];
  for (const c of cases) assert.deepEqual(parseBurstSpec(c.a, defaults), c.want, c.name);
});

test("parseBurstSpec: every problem names its annotation", () => {
  const cases: { a: Record<string, string>; names: string[] }[] = [
    { a: { "kubeburst.io/burst-policy": "sometimes" }, names: ["kubeburst.io/burst-policy"] },
    { a: { "kubeburst.io/burst-policy": "manual" }, names: ["kubeburst.io/burst:"] },
    {
      a: { "kubeburst.io/burst-policy": "manual", "kubeburst.io/burst": "yes" },
      names: ["kubeburst.io/burst:"],
    },
    { a: { "kubeburst.io/burst-policy": "threshold" }, names: ["kubeburst.io/burst-below"] },
    {
      a: {
        "kubeburst.io/burst-policy": "threshold",
        "kubeburst.io/burst-below": "4",
        "kubeburst.io/burst-recover-at": "3",
      },
      names: ["kubeburst.io/burst-recover-at"],
    },
    { a: { "kubeburst.io/burst-policy": "hpa-saturated" }, names: ["kubeburst.io/burst-hpa"] },
    { a: { "kubeburst.io/burst-share-cap": "140%" }, names: ["kubeburst.io/burst-share-cap"] },
    { a: { "kubeburst.io/burst-share-cap": "0.4" }, names: ["kubeburst.io/burst-share-cap"] },
    { a: { "kubeburst.io/burst-hold": "30" }, names: ["kubeburst.io/burst-hold"] },
    { a: { "kubeburst.io/burst-hold": "48h" }, names: ["kubeburst.io/burst-hold"] },
  ];
  for (const c of cases) {
    const r = parseBurstSpec(c.a, defaults);
    assert.equal(r.ok, false, JSON.stringify(c.a));
    if (r.ok) continue;
    assert.equal(r.problems.length, c.names.length, JSON.stringify(r.problems));
    for (const [i, n] of c.names.entries()) {
      assert.ok(r.problems[i]!.startsWith(`annotation ${n}`), r.problems[i]);
    }
  }
});

test("hpaSaturated: at max and limited", () => {
  const base = { found: true, currentReplicas: 5, maxReplicas: 5, wantsMore: true };
  assert.equal(hpaSaturated(base), true);
  assert.equal(hpaSaturated({ ...base, wantsMore: false }), false, "at max, content");
  assert.equal(hpaSaturated({ ...base, currentReplicas: 4 }), false, "still scaling up");
  assert.equal(hpaSaturated({ ...base, found: false }), false);
  assert.equal(hpaSaturated(undefined), false);
});

const threshold = parseBurstSpec(
  {
    "kubeburst.io/burst-policy": "threshold",
    "kubeburst.io/burst-below": "2",
    "kubeburst.io/burst-recover-at": "3",
    "kubeburst.io/burst-hold": "10s",
  },
  defaults,
);
const ready = (n: number | undefined): BurstSignals => ({ productionReady: n, hpa: undefined });

test("decideBurst threshold: starts at once, ends only after the hold time at recover-at", () => {
  let phase: BurstPhase | undefined;
  const steps: { t: number; ready: number; bursting: boolean; wakeAt?: number }[] = [
    { t: 0, ready: 3, bursting: false },
    { t: 1000, ready: 1, bursting: true },
    { t: 2000, ready: 2, bursting: true }, // between below and recover-at: stays
    { t: 3000, ready: 3, bursting: true, wakeAt: 13_000 },
    { t: 5000, ready: 2, bursting: true }, // a dip resets the hold
    { t: 6000, ready: 4, bursting: true, wakeAt: 16_000 },
    { t: 15_999, ready: 4, bursting: true, wakeAt: 16_000 },
    { t: 16_000, ready: 4, bursting: false },
    { t: 17_000, ready: 2, bursting: false }, // not below 2
  ];
  for (const s of steps) {
    const d = decideBurst(threshold, ready(s.ready), phase, s.t);
    assert.equal(d.phase.bursting, s.bursting, `t=${s.t}: ${d.phase.reason}`);
    assert.equal(d.wakeAt, s.wakeAt, `t=${s.t}`);
    phase = d.phase;
  }
  assert.equal(phase?.since, 16_000);
});

test("decideBurst: manual, always, invalid spec keeps the previous decision", () => {
  const on = parseBurstSpec(
    { "kubeburst.io/burst-policy": "manual", "kubeburst.io/burst": "on" },
    defaults,
  );
  const bad = parseBurstSpec({ "kubeburst.io/burst-policy": "sometimes" }, defaults);
  const none = ready(undefined);
  assert.equal(decideBurst(on, none, undefined, 0).phase.bursting, true);
  assert.equal(decideBurst(parseBurstSpec({}, defaults), none, undefined, 0).phase.bursting, true);
  assert.equal(decideBurst(bad, none, undefined, 0).phase.bursting, false, "first: nothing");
  const kept = decideBurst(bad, none, { bursting: true, since: 5, reason: "x" }, 9).phase;
  assert.equal(kept.bursting, true);
  assert.equal(kept.since, 5);
  assert.match(kept.reason, /kubeburst\.io\/burst-policy/);
  // Threshold with production's count unknown keeps what it had.
  assert.equal(
    decideBurst(threshold, none, { bursting: true, since: 0, reason: "" }, 1).phase.bursting,
    true,
  );
});

test("decideBurst hpa-saturated: on while saturated, off after the hold", () => {
  const spec = parseBurstSpec(
    {
      "kubeburst.io/burst-policy": "hpa-saturated",
      "kubeburst.io/burst-hpa": "web",
      "kubeburst.io/burst-hold": "5s",
    },
    defaults,
  );
  const hpa = (wantsMore: boolean): BurstSignals => ({
    productionReady: undefined,
    hpa: { found: true, currentReplicas: 3, maxReplicas: 3, wantsMore },
  });
  const a = decideBurst(spec, hpa(true), undefined, 0);
  assert.equal(a.phase.bursting, true);
  const b = decideBurst(spec, hpa(false), a.phase, 1000);
  assert.equal(b.phase.bursting, true);
  assert.equal(b.wakeAt, 6000);
  const c = decideBurst(spec, hpa(false), b.phase, 6000);
  assert.equal(c.phase.bursting, false);
  assert.match(c.phase.reason, /not saturated/);
  const gone = decideBurst(
    spec,
    {
      productionReady: undefined,
      hpa: { found: false, currentReplicas: 0, maxReplicas: 0, wantsMore: false },
    },
    undefined,
    0,
  );
  assert.match(gone.phase.reason, /does not exist/);
});

/** A small deterministic generator (tests must be repeatable). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

test("property: a burst never ends inside the hold time of its way out, and wakeAt is honest", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = random(seed);
    let phase: BurstPhase | undefined;
    let t = 0;
    /** Since when the way out (ready ≥ 3) held without a break, as the test sees it. */
    let calmSince: number | undefined;
    for (let step = 0; step < 60; step++) {
      t += Math.floor(r() * 4000);
      const n = Math.floor(r() * 6);
      calmSince = n >= 3 ? (calmSince ?? t) : undefined;
      const d = decideBurst(threshold, ready(n), phase, t);
      if (n < 2) assert.equal(d.phase.bursting, true, `seed ${seed}: below the threshold`);
      if (phase?.bursting && !d.phase.bursting) {
        assert.ok(
          calmSince !== undefined && t - calmSince >= 10_000,
          `seed ${seed} t=${t}: ended early`,
        );
      }
      if (d.wakeAt !== undefined) assert.ok(d.wakeAt > t, "a wake-up lies ahead");
      phase = d.phase;
    }
  }
});
