// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AggregationInfo, ServiceInfo } from "../controller/aggregation-info.ts";
import { Channel } from "../runtime/channel.ts";
import { Aggregator } from "./aggregator.ts";

function peak(cluster: string, addresses: string[], extra: Partial<ServiceInfo> = {}): ServiceInfo {
  return {
    kind: "service",
    cluster,
    clusterRole: "peak",
    service: "shop/web",
    role: { kind: "peak" },
    contribution: {
      cluster,
      groups: [
        {
          addressType: "IPv4",
          ports: [{ name: "http", port: 8080, protocol: "TCP" }],
          endpoints: addresses.map((address) => ({
            address,
            conditions: { ready: true, serving: true, terminating: false },
          })),
        },
      ],
    },
    observedAt: 0,
    ...extra,
  };
}

const unlabelled = (cluster: string): ServiceInfo => ({
  kind: "service",
  cluster,
  clusterRole: "peak",
  service: "shop/web",
  role: { kind: "none" },
  observedAt: 0,
});

function harness(live = new Set(["a", "b"])) {
  const changed: string[] = [];
  const ready: string[] = [];
  const aggregator = new Aggregator({
    source: new Channel<AggregationInfo>(1),
    onServiceChanged: (key) => changed.push(key),
    onClusterReady: (cluster) => ready.push(cluster),
    isLive: (cluster) => live.has(cluster),
  });
  return { aggregator, changed, ready, live };
}

test("the aggregator hands on a Service only when a cluster's snapshot of it changes", () => {
  const { aggregator, changed } = harness();
  const steps: [AggregationInfo, boolean][] = [
    [unlabelled("a"), false], // nothing known, nothing changed
    [peak("a", ["198.18.17.10"]), true],
    [peak("a", ["198.18.17.10"], { observedAt: 99 }), false], // same content, later time
    [peak("b", ["198.18.33.10"]), true],
    [peak("a", ["198.18.17.10", "198.18.17.11"]), true],
    [
      peak("a", ["198.18.17.10", "198.18.17.11"], {
        refused: [{ address: "10.0.0.1", reason: "not-allowed" }],
      }),
      true,
    ],
    [unlabelled("a"), true], // unlabelled: its view goes
    [unlabelled("a"), false],
  ];
  for (const [info, expectChange] of steps) {
    const before = changed.length;
    aggregator.apply(info);
    assert.equal(changed.length - before, expectChange ? 1 : 0, JSON.stringify(info).slice(0, 120));
  }
  assert.deepEqual(
    aggregator.views("shop/web").map((v) => v.cluster),
    ["b"],
  );
});

test("a removed cluster's views go at once, and its late snapshots cannot bring them back", () => {
  const { aggregator, changed, live } = harness();
  aggregator.apply(peak("a", ["198.18.17.10"]));
  aggregator.apply({ kind: "cluster-ready", cluster: "a" });
  assert.equal(aggregator.isReady("a"), true);
  live.delete("a");
  aggregator.apply({ kind: "cluster-removed", cluster: "a" });
  assert.deepEqual(aggregator.keys(), []);
  assert.equal(aggregator.isReady("a"), false);
  assert.deepEqual(changed, ["shop/web", "shop/web"]);
  aggregator.apply(peak("a", ["198.18.17.10"])); // a worker's snapshot that arrives late
  assert.deepEqual(aggregator.keys(), []);
});

test("cluster-ready is reported in channel order; refusals are counted by cluster and reason", async () => {
  const { aggregator, ready } = harness();
  aggregator.apply({ kind: "cluster-ready", cluster: "b" });
  assert.deepEqual(ready, ["b"]);
  aggregator.apply(
    peak("a", ["198.18.17.10"], {
      refused: [
        { address: "10.0.0.1", reason: "not-allowed" },
        { address: "10.0.0.2", reason: "not-allowed" },
        { address: "224.1.1.1", reason: "multicast" },
      ],
      truncated: { kept: 1, dropped: 4 },
    }),
  );
  assert.deepEqual(
    aggregator.refusedCounts().sort((x, y) => (x.reason < y.reason ? -1 : 1)),
    [
      { cluster: "a", reason: "cap", count: 4 },
      { cluster: "a", reason: "multicast", count: 1 },
      { cluster: "a", reason: "not-allowed", count: 2 },
    ],
  );
});

test("run consumes the channel until it closes", async () => {
  const source = new Channel<AggregationInfo>(4);
  const changed: string[] = [];
  const aggregator = new Aggregator({
    source,
    onServiceChanged: (key) => changed.push(key),
    onClusterReady: () => {},
    isLive: () => true,
  });
  const running = aggregator.run(new AbortController().signal);
  await source.send(peak("a", ["198.18.17.10"]));
  await source.send(peak("b", ["198.18.33.10"]));
  source.close();
  await running;
  assert.deepEqual(changed, ["shop/web", "shop/web"]);
});
