// Traffic really crosses clusters: requests from the private cluster's node to the production
// Service's ClusterIP go through that node's real kube-proxy to pods in the public cluster, once
// kubeburst has written their endpoints (SPEC M7, issue #4).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BurstScenario, type ScenarioMode } from "../../src/demo/burst-scenario.ts";
import { eventually } from "../support/eventually.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const PRODUCTION = ["private/web-1", "private/web-2"];

/**
 * kube-proxy's nftables rules pick an endpoint uniformly at random per connection, so with n
 * requests over k pods each count is Binomial(n, 1/k): for 500 over 5, mean 100 and standard
 * deviation 8.9. We accept 100 ± 45 (five standard deviations): a correct data path fails this
 * about once in 300 000 runs, while a pod getting half or double its share fails it at once.
 */
function assertEven(byPod: Record<string, number>, pods: string[], n: number): void {
  assert.deepEqual(Object.keys(byPod).sort(), [...pods].sort(), JSON.stringify(byPod));
  const mean = n / pods.length;
  const sd = Math.sqrt(n * (1 / pods.length) * (1 - 1 / pods.length));
  for (const pod of pods) {
    const got = byPod[pod] ?? 0;
    assert.ok(
      Math.abs(got - mean) <= 5 * sd,
      `${pod} served ${got} of ${n}; expected ${mean} ± ${(5 * sd).toFixed(0)}`,
    );
  }
}

const peakNames = (s: BurstScenario) => s.peakPods.map((p) => `public/${p.name}`);
const servedBy = (byPod: Record<string, number>) => Object.keys(byPod).sort();

async function timed(what: string, check: () => Promise<void>): Promise<void> {
  const started = Date.now();
  await eventually(what, check, { timeoutMs: 30_000, intervalMs: 100 });
  log(`${what}: ${Date.now() - started} ms`);
}

for (const mode of ["endpointslice", "endpoints"] as ScenarioMode[]) {
  describe(`data path, ${mode} mode`, { timeout: 600_000 }, () => {
    let s: BurstScenario;
    before(async () => {
      s = await BurstScenario.start({ log, mode });
    });
    after(async () => {
      await s?.close();
    });

    test("production only: requests reach only the production pods", async () => {
      const r = await s.send(200);
      assert.equal(r.failed, 0);
      assert.deepEqual(servedBy(r.byPod), PRODUCTION);
    });

    test("burst: 500 requests are spread evenly over all 5 pods of both clusters", async () => {
      await s.setBurst(true);
      await timed("peak pods serve production traffic", async () => {
        const r = await s.send(60);
        assert.deepEqual(servedBy(r.byPod), [...PRODUCTION, ...peakNames(s)].sort());
      });
      const r = await s.send(500);
      log(`500 requests: ${JSON.stringify(r.byPod)}`);
      assert.equal(r.failed, 0);
      assertEven(r.byPod, [...PRODUCTION, ...peakNames(s)], 500);
    });

    if (mode === "endpoints") return; // the remaining phases test the same writer path

    test("peak pods set not ready stop receiving traffic within seconds", async () => {
      await s.setPeakReady(false);
      await timed("no request reaches a not-ready peak pod", async () => {
        const r = await s.send(40);
        assert.deepEqual(servedBy(r.byPod), PRODUCTION);
      });
      const r = await s.send(200);
      assert.equal(r.failed, 0);
      assert.deepEqual(servedBy(r.byPod), PRODUCTION);
      await s.setPeakReady(true);
      await timed("ready again, they serve again", async () => {
        const r2 = await s.send(60);
        assert.deepEqual(servedBy(r2.byPod), [...PRODUCTION, ...peakNames(s)].sort());
      });
    });

    test("peak scaled to zero and back to three: traffic follows", async () => {
      await s.scalePeak(0);
      await timed("scaled to zero, only production serves", async () => {
        const r = await s.send(40);
        assert.equal(r.failed, 0);
        assert.deepEqual(servedBy(r.byPod), PRODUCTION);
      });
      await s.scalePeak(3);
      await timed("scaled back, the three new peak pods serve", async () => {
        const r = await s.send(60);
        assert.deepEqual(servedBy(r.byPod), [...PRODUCTION, ...peakNames(s)].sort());
      });
      const r = await s.send(500);
      assert.equal(r.failed, 0);
      assertEven(r.byPod, [...PRODUCTION, ...peakNames(s)], 500);
    });

    test("burst off: the peak is withdrawn and production serves alone", async () => {
      await s.setBurst(false);
      await timed("unlabelled, the peak gets no traffic", async () => {
        const r = await s.send(40);
        assert.equal(r.failed, 0);
        assert.deepEqual(servedBy(r.byPod), PRODUCTION);
      });
    });
  });
}
