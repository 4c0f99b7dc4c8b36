// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { NOT_READY, READY, webService } from "../../test/support/domain-fixtures.ts";
import { desiredSlices } from "./desired-slices.ts";
import type { Contribution, EndpointConditions } from "./endpoints.ts";
import { summariseUnion, type UnionSummary } from "./union.ts";

const PORTS = [{ name: "http", port: 8080, protocol: "TCP" as const }];

function contribution(cluster: string, endpoints: [string, EndpointConditions][][]): Contribution {
  return {
    cluster,
    groups: endpoints.map((list) => ({
      addressType: "IPv4" as const,
      ports: PORTS,
      endpoints: list.map(([address, conditions]) => ({ address, conditions })),
    })),
  };
}

test("summariseUnion", async (t) => {
  const cases: {
    name: string;
    contributions: Contribution[];
    written: { endpoints: { address: string; conditions: EndpointConditions }[] }[];
    want: UnionSummary;
  }[] = [
    {
      name: "empty",
      contributions: [],
      written: [],
      want: { clusters: [], written: 0, writtenReady: 0 },
    },
    {
      name: "counts per cluster, sorted",
      contributions: [
        contribution("public", [
          [
            ["10.1.0.1", READY],
            ["10.1.0.2", NOT_READY],
          ],
        ]),
        contribution("private", [[["10.0.0.1", READY]]]),
      ],
      written: [
        {
          endpoints: [
            { address: "10.1.0.1", conditions: READY },
            { address: "10.1.0.2", conditions: NOT_READY },
          ],
        },
      ],
      want: {
        clusters: [
          { cluster: "private", ready: 1, notReady: 0 },
          { cluster: "public", ready: 1, notReady: 1 },
        ],
        written: 2,
        writtenReady: 1,
      },
    },
    {
      name: "an address in two slices of one cluster counts once, ready if any copy is",
      contributions: [contribution("public", [[["10.1.0.1", NOT_READY]], [["10.1.0.1", READY]]])],
      written: [],
      want: {
        clusters: [{ cluster: "public", ready: 1, notReady: 0 }],
        written: 0,
        writtenReady: 0,
      },
    },
    {
      name: "a cluster with no endpoints still shows",
      contributions: [contribution("public", [])],
      written: [],
      want: {
        clusters: [{ cluster: "public", ready: 0, notReady: 0 }],
        written: 0,
        writtenReady: 0,
      },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () =>
      assert.deepEqual(summariseUnion(c.contributions, c.written), c.want),
    );
  }
});

const service = webService;
const conditions = fc.record({
  ready: fc.boolean(),
  serving: fc.boolean(),
  terminating: fc.boolean(),
});
const endpoint = fc.record({
  address: fc.integer({ min: 0, max: 60 }).map((i) => `10.0.0.${i}`),
  conditions,
});
const peak = fc.record({
  cluster: fc.constantFrom("a", "b", "c"),
  groups: fc.array(
    fc.record({
      addressType: fc.constant("IPv4" as const),
      ports: fc.constant(PORTS),
      endpoints: fc.array(endpoint, { maxLength: 40 }),
    }),
    { maxLength: 3 },
  ),
});

test("the union as written matches the per-cluster counts", () => {
  fc.assert(
    fc.property(
      fc.array(peak, { maxLength: 4 }),
      fc.integer({ min: 1, max: 7 }),
      (peaks, maxPerSlice) => {
        const { slices } = desiredSlices(service, peaks, { maxPerSlice });
        const summary = summariseUnion(peaks, slices);
        const clusterReady = summary.clusters.reduce((n, c) => n + c.ready, 0);
        const clusterTotal = summary.clusters.reduce((n, c) => n + c.ready + c.notReady, 0);
        // Every distinct address of every peak is written exactly once, with the same readiness.
        assert.equal(summary.written, clusterTotal);
        assert.equal(summary.writtenReady, clusterReady);
        // Order of contributions never matters.
        assert.deepEqual(summariseUnion([...peaks].reverse(), [...slices].reverse()), summary);
        const names = summary.clusters.map((c) => c.cluster);
        assert.deepEqual(names, [...new Set(peaks.map((p) => p.cluster))].sort());
      },
    ),
  );
});
