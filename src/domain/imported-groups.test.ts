// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HTTP, NOT_READY, READY, webService } from "../../test/support/domain-fixtures.ts";
import type { Contribution, EndpointGroup, EndpointPort } from "./endpoints.ts";
import { type ImportConflictKind, importContributions } from "./imported-groups.ts";
import type { ProductionService } from "./production-service.ts";

const service = webService;

function group(addressType: "IPv4" | "IPv6", addresses: string[], ports = HTTP): EndpointGroup {
  return {
    addressType,
    ports,
    endpoints: addresses.map((address) => ({ address, conditions: READY })),
  };
}

test("importContributions", async (t) => {
  const cases: {
    name: string;
    service?: Partial<ProductionService>;
    contributions: Contribution[];
    groups: { cluster: string; addressType: string; addresses: string[] }[];
    conflicts?: ImportConflictKind[];
  }[] = [
    { name: "nothing", contributions: [], groups: [] },
    {
      name: "peak with no endpoints",
      contributions: [{ cluster: "public", groups: [group("IPv4", [])] }],
      groups: [],
    },
    {
      name: "one group",
      contributions: [{ cluster: "public", groups: [group("IPv4", ["10.1.0.2", "10.1.0.1"])] }],
      groups: [{ cluster: "public", addressType: "IPv4", addresses: ["10.1.0.1", "10.1.0.2"] }],
    },
    {
      name: "dual-stack Service, IPv4-only peak",
      service: { ipFamilies: ["IPv4", "IPv6"] },
      contributions: [{ cluster: "public", groups: [group("IPv4", ["10.1.0.1"])] }],
      groups: [{ cluster: "public", addressType: "IPv4", addresses: ["10.1.0.1"] }],
    },
    {
      name: "IPv4 Service, dual-stack peak: IPv6 left out and reported",
      contributions: [
        { cluster: "public", groups: [group("IPv4", ["10.1.0.1"]), group("IPv6", ["fd00::1"])] },
      ],
      groups: [{ cluster: "public", addressType: "IPv4", addresses: ["10.1.0.1"] }],
      conflicts: ["family-mismatch"],
    },
    {
      name: "IPv4 Service, IPv6-only peak: reported",
      contributions: [{ cluster: "public", groups: [group("IPv6", ["fd00::1"])] }],
      groups: [],
      conflicts: ["family-mismatch"],
    },
    {
      name: "duplicate addresses across two slices of the same peak",
      contributions: [
        {
          cluster: "public",
          groups: [
            group("IPv4", ["10.1.0.1", "10.1.0.2"]),
            {
              addressType: "IPv4",
              ports: HTTP,
              endpoints: [{ address: "10.1.0.2", conditions: NOT_READY }],
            },
          ],
        },
      ],
      groups: [{ cluster: "public", addressType: "IPv4", addresses: ["10.1.0.1", "10.1.0.2"] }],
    },
    {
      name: "different port sets stay apart",
      service: {
        ports: [
          { name: "http", port: 80, protocol: "TCP" },
          { name: "grpc", port: 90, protocol: "TCP" },
        ],
      },
      contributions: [
        {
          cluster: "public",
          groups: [
            group("IPv4", ["10.1.0.1"]),
            group("IPv4", ["10.1.0.2"], [{ name: "grpc", port: 9090, protocol: "TCP" }]),
          ],
        },
      ],
      groups: [
        { cluster: "public", addressType: "IPv4", addresses: ["10.1.0.2"] },
        { cluster: "public", addressType: "IPv4", addresses: ["10.1.0.1"] },
      ],
    },
    {
      name: "two peak clusters, sorted by cluster",
      contributions: [
        { cluster: "zeta", groups: [group("IPv4", ["10.2.0.1"])] },
        { cluster: "alpha", groups: [group("IPv4", ["10.1.0.1"])] },
      ],
      groups: [
        { cluster: "alpha", addressType: "IPv4", addresses: ["10.1.0.1"] },
        { cluster: "zeta", addressType: "IPv4", addresses: ["10.2.0.1"] },
      ],
    },
    {
      name: "same cluster twice is combined",
      contributions: [
        { cluster: "public", groups: [group("IPv4", ["10.1.0.1"])] },
        { cluster: "public", groups: [group("IPv4", ["10.1.0.2"])] },
      ],
      groups: [{ cluster: "public", addressType: "IPv4", addresses: ["10.1.0.1", "10.1.0.2"] }],
    },
    {
      name: "invalid and wrong-family addresses dropped, the rest kept",
      contributions: [
        { cluster: "public", groups: [group("IPv4", ["10.1.0.1", "fd00::1", "10.1.0.300", ""])] },
      ],
      groups: [{ cluster: "public", addressType: "IPv4", addresses: ["10.1.0.1"] }],
      conflicts: ["invalid-address"],
    },
    {
      name: "IPv6 addresses canonicalised and merged",
      service: { ipFamilies: ["IPv6"] },
      contributions: [{ cluster: "public", groups: [group("IPv6", ["FD00:0:0::1", "fd00::1"])] }],
      groups: [{ cluster: "public", addressType: "IPv6", addresses: ["fd00::1"] }],
    },
    {
      name: "IPv4 Service, peak with an empty IPv4 slice and IPv6 endpoints: reported",
      contributions: [
        { cluster: "public", groups: [group("IPv4", []), group("IPv6", ["fd00::1"])] },
      ],
      groups: [],
      conflicts: ["family-mismatch"],
    },
    {
      name: "invalid cluster name",
      contributions: [{ cluster: "Public Cloud", groups: [group("IPv4", ["10.1.0.1"])] }],
      groups: [],
      conflicts: ["invalid-cluster-name"],
    },
    {
      name: "protocol conflict on the only port",
      contributions: [
        {
          cluster: "public",
          groups: [group("IPv4", ["10.1.0.1"], [{ name: "http", port: 8080, protocol: "UDP" }])],
        },
      ],
      groups: [],
      conflicts: ["no-matching-ports", "protocol-mismatch"],
    },
    {
      name: "Service without families imports nothing",
      service: { ipFamilies: [] },
      contributions: [{ cluster: "public", groups: [group("IPv4", ["10.1.0.1"])] }],
      groups: [],
      conflicts: ["family-mismatch"],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const got = importContributions({ ...service, ...c.service }, c.contributions);
      assert.deepEqual(
        got.groups.map((g) => ({
          cluster: g.cluster,
          addressType: g.addressType,
          addresses: g.endpoints.map((e) => e.address),
        })),
        c.groups,
      );
      assert.deepEqual(got.conflicts.map((x) => x.kind).sort(), [...(c.conflicts ?? [])].sort());
    });
  }
});

test("duplicates merge to ready when any copy is ready", () => {
  const { groups } = importContributions(service, [
    {
      cluster: "public",
      groups: [
        {
          addressType: "IPv4",
          ports: HTTP,
          endpoints: [{ address: "10.1.0.1", conditions: NOT_READY }],
        },
        {
          addressType: "IPv4",
          ports: HTTP,
          endpoints: [{ address: "10.1.0.1", conditions: READY }],
        },
      ],
    },
  ]);
  assert.deepEqual(groups[0]?.endpoints, [{ address: "10.1.0.1", conditions: READY }]);
});

test("the same port conflict from many slices is reported once", () => {
  const bad: EndpointPort[] = [{ name: "http", port: 8080, protocol: "UDP" }];
  const { conflicts } = importContributions(service, [
    {
      cluster: "public",
      groups: [group("IPv4", ["10.1.0.1"], bad), group("IPv4", ["10.1.0.2"], bad)],
    },
  ]);
  assert.deepEqual(
    conflicts.map((c) => [c.cluster, c.kind, c.port]),
    [
      ["public", "no-matching-ports", undefined],
      ["public", "protocol-mismatch", "http"],
    ],
  );
});

test("the latest valid trigger time of a cluster is carried", () => {
  const { groups } = importContributions(service, [
    {
      cluster: "public",
      groups: [group("IPv4", ["10.1.0.1"])],
      triggerTime: "2024-05-01T10:00:00Z",
    },
    { cluster: "public", groups: [], triggerTime: "2024-05-01T11:00:00Z" },
    { cluster: "other", groups: [group("IPv4", ["10.2.0.1"])], triggerTime: "garbage" },
  ]);
  assert.equal(groups.find((g) => g.cluster === "public")?.triggerTime, "2024-05-01T11:00:00Z");
  assert.equal(groups.find((g) => g.cluster === "other")?.triggerTime, undefined);
  assert.ok(!("triggerTime" in (groups.find((g) => g.cluster === "other") ?? {})));
});

test("only address and conditions are copied", () => {
  const sneaky = {
    address: "10.1.0.1",
    conditions: { ...READY, extra: 1 },
    nodeName: "peak-node-1",
    zone: "eu-1a",
    hostname: "pod-1",
    targetRef: { kind: "Pod", name: "pod-1" },
  };
  const { groups } = importContributions(service, [
    { cluster: "public", groups: [{ addressType: "IPv4", ports: HTTP, endpoints: [sneaky] }] },
  ]);
  assert.deepEqual(groups[0]?.endpoints, [{ address: "10.1.0.1", conditions: READY }]);
});

test("an empty placeholder slice (no endpoints, no ports) is no conflict", () => {
  const result = importContributions(service, [
    { cluster: "public", groups: [group("IPv4", [], []), group("IPv4", ["198.18.17.10"])] },
  ]);
  assert.deepEqual(result.conflicts, []);
  assert.deepEqual(
    result.groups.flatMap((g) => g.endpoints.map((e) => e.address)),
    ["198.18.17.10"],
  );
});
