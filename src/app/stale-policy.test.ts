import assert from "node:assert/strict";
import { test } from "node:test";
import type { ReflectorState } from "../kube/reflector.ts";
import { FakeClock } from "../runtime/clock.ts";
import { peakMaxBackoffMs, StalePolicy } from "./stale-policy.ts";

type Step = [atMs: number, state: ReflectorState] | [atMs: number, "forget"];

test("StalePolicy", async (t) => {
  const cases: { name: string; steps: Step[]; until: number; want: string[] }[] = [
    {
      name: "a short outage changes nothing",
      steps: [
        [0, "unreachable"],
        [9_000, "synced"],
      ],
      until: 30_000,
      want: [],
    },
    {
      name: "an outage as long as the TTL withdraws, the next sync restores",
      steps: [
        [0, "unreachable"],
        [20_000, "synced"],
      ],
      until: 30_000,
      want: ["withdraw@10000", "restore@20000"],
    },
    {
      name: "refused credentials count like an outage, and a change of reason does not restart the TTL",
      steps: [
        [0, "refused"],
        [6_000, "unreachable"],
      ],
      until: 30_000,
      want: ["withdraw@10000"],
    },
    {
      name: "flapping faster than the TTL never withdraws",
      steps: [
        [0, "unreachable"],
        [4_000, "synced"],
        [5_000, "unreachable"],
        [9_000, "synced"],
        [10_000, "refused"],
        [14_000, "synced"],
        [15_000, "unreachable"],
        [19_000, "synced"],
      ],
      until: 40_000,
      want: [],
    },
    {
      name: "syncing and stopped do not stop the TTL",
      steps: [
        [0, "unreachable"],
        [5_000, "syncing"],
        [6_000, "stopped"],
      ],
      until: 20_000,
      want: ["withdraw@10000"],
    },
    {
      name: "a peak that never syncs after a start is withdrawn after the TTL from start",
      steps: [[0, "syncing"]],
      until: 20_000,
      want: ["withdraw@10000"],
    },
    {
      name: "a peak that syncs within the TTL of start keeps everything",
      steps: [
        [0, "syncing"],
        [3_000, "synced"],
      ],
      until: 20_000,
      want: [],
    },
    {
      name: "a removed cluster is forgotten",
      steps: [
        [0, "unreachable"],
        [5_000, "forget"],
      ],
      until: 30_000,
      want: [],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const clock = new FakeClock();
      const seen: string[] = [];
      const policy = new StalePolicy(
        clock,
        10_000,
        {
          withdraw: (cluster) => seen.push(`withdraw@${clock.now()}`) && void cluster,
          restore: (cluster) => seen.push(`restore@${clock.now()}`) && void cluster,
        },
        new AbortController().signal,
      );
      for (const [at, what] of c.steps) {
        await clock.advance(at - clock.now());
        if (what === "forget") policy.forget("public");
        else policy.observe("public", what);
      }
      await clock.advance(c.until - clock.now());
      assert.deepEqual(seen, c.want);
    });
  }
});

test("peakMaxBackoffMs: a quarter of staleTTL, within the reflector's 500 ms to 30 s", () => {
  const cases: [staleTTLMs: number, want: number][] = [
    [300_000, 30_000], // the default staleTTL keeps the usual cap
    [120_000, 30_000],
    [60_000, 15_000],
    [15_000, 3_750],
    [1_000, 500],
    [0, 500], // withdraw at once: the back-off still never spins
  ];
  for (const [ttl, want] of cases) assert.equal(peakMaxBackoffMs(ttl), want, `staleTTL ${ttl} ms`);
});
