import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { silentLogger } from "../observability/logger.ts";
import { Metrics } from "../observability/metrics.ts";
import { FakeClock } from "../runtime/clock.ts";
import { ReachabilityProbes, tcpDialer } from "./reachability-probes.ts";

const settings = {
  intervalMs: 1000,
  timeoutMs: 500,
  failureThreshold: 2,
  successThreshold: 2,
  jitterMs: 0,
};
const target = (address: string) => ({ cluster: "public", address, port: 8080 });

function harness(concurrency = 4, probed = () => true) {
  const clock = new FakeClock();
  const down = new Set<string>();
  let inFlight = 0;
  let most = 0;
  const dialed: string[] = [];
  const changes: string[] = [];
  const metrics = new Metrics();
  const probes = new ReachabilityProbes({
    clock,
    metrics,
    logger: silentLogger(),
    concurrency,
    settings: (cluster) => (cluster === "public" && probed() ? settings : undefined),
    onChange: (keys, t, reachable) => changes.push(`${keys.join(",")} ${t.address} ${reachable}`),
    dialer: async (address) => {
      inFlight++;
      most = Math.max(most, inFlight);
      dialed.push(address);
      // A few microtasks: other probes start meanwhile, and the fake clock's settle covers it.
      for (let i = 0; i < 3; i++) await Promise.resolve();
      inFlight--;
      return !down.has(address);
    },
    random: () => 0,
  });
  const stop = new AbortController();
  probes.start(stop.signal);
  return { clock, down, probes, dialed, changes, stop, metrics, most: () => most };
}

test("ReachabilityProbes: failure and success thresholds, and who is told", async () => {
  const h = harness();
  h.probes.track("shop/web", [target("198.18.17.10")]);
  h.probes.track("shop/api", [target("198.18.17.10")]);
  await h.clock.advance(0);
  assert.equal(h.probes.unreachable("public", "198.18.17.10"), false);
  h.down.add("198.18.17.10");
  await h.clock.advance(1000); // first failure
  assert.equal(h.probes.unreachable("public", "198.18.17.10"), false);
  await h.clock.advance(1000); // second: unreachable
  assert.equal(h.probes.unreachable("public", "198.18.17.10"), true);
  assert.deepEqual(h.changes, ["shop/web,shop/api 198.18.17.10 false"]);
  h.down.delete("198.18.17.10");
  await h.clock.advance(1000);
  assert.equal(h.probes.unreachable("public", "198.18.17.10"), true, "one success is not enough");
  await h.clock.advance(1000);
  assert.equal(h.probes.unreachable("public", "198.18.17.10"), false);
  assert.equal(h.changes.length, 2);
  h.stop.abort();
});

test("ReachabilityProbes: a target nobody wants any more stops being probed", async () => {
  const h = harness();
  h.probes.track("shop/web", [target("198.18.17.10"), target("198.18.17.11")]);
  await h.clock.advance(0);
  h.probes.track("shop/web", [target("198.18.17.11")]);
  const before = h.dialed.filter((a) => a === "198.18.17.10").length;
  await h.clock.advance(5000);
  assert.equal(h.dialed.filter((a) => a === "198.18.17.10").length, before);
  assert.ok(h.dialed.filter((a) => a === "198.18.17.11").length >= 5);
  h.probes.track("shop/web", []);
  assert.equal(h.clock.pendingSleeps, 0, "no loop left waiting");
  h.stop.abort();
});

test("ReachabilityProbes: at most `concurrency` probes in flight", async () => {
  const h = harness(3);
  h.probes.track(
    "shop/web",
    Array.from({ length: 20 }, (_, i) => target(`198.18.17.${10 + i}`)),
  );
  await h.clock.advance(3000);
  assert.ok(h.most() <= 3, `${h.most()} in flight`);
  assert.ok(h.dialed.length >= 60, `${h.dialed.length} probes`);
  h.stop.abort();
});

test("tcpDialer: connects to a listening port, fails on a closed one", async () => {
  const server = net.createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  assert.equal(await tcpDialer("127.0.0.1", port, 1000), true);
  await new Promise<void>((r) => server.close(() => r()));
  assert.equal(await tcpDialer("127.0.0.1", port, 1000), false);
});

test("ReachabilityProbes: probes turned off for a peak make its endpoints reachable again", async () => {
  let on = true;
  const h = harness(4, () => on);
  h.down.add("198.18.17.10");
  h.probes.track("shop/web", [target("198.18.17.10")]);
  await h.clock.advance(1000);
  assert.equal(h.probes.unreachable("public", "198.18.17.10"), true);
  on = false;
  await h.clock.advance(1000);
  assert.equal(h.probes.unreachable("public", "198.18.17.10"), false);
  assert.deepEqual(h.changes, ["shop/web 198.18.17.10 false", "shop/web 198.18.17.10 true"]);
  h.stop.abort();
});
