// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { HTTP, READY, webService } from "../../test/support/domain-fixtures.ts";
import { desiredSlices } from "./desired-slices.ts";
import type { Contribution, EndpointGroup } from "./endpoints.ts";
import { parseIpAddress } from "./ip-address.ts";
import {
  MANAGED_BY_KUBEBURST,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  SOURCE_CLUSTER_LABEL,
  TRIGGER_TIME_ANNOTATION,
} from "./labels.ts";
import type { ProductionService } from "./production-service.ts";

const service = webService;

function ipv4(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

function group(
  addresses: string[],
  addressType: "IPv4" | "IPv6" = "IPv4",
  ports = HTTP,
): EndpointGroup {
  return {
    addressType,
    ports,
    endpoints: addresses.map((address) => ({ address, conditions: READY })),
  };
}

test("desiredSlices", async (t) => {
  const many = Array.from({ length: 250 }, (_, i) => ipv4(i + 1));
  const cases: {
    name: string;
    service?: Partial<ProductionService>;
    contributions: Contribution[];
    maxPerSlice?: number;
    sizes: number[];
    families?: string[];
    conflicts?: number;
  }[] = [
    { name: "no peaks", contributions: [], sizes: [] },
    {
      name: "peak without endpoints",
      contributions: [{ cluster: "public", groups: [group([])] }],
      sizes: [],
    },
    {
      name: "one endpoint",
      contributions: [{ cluster: "public", groups: [group(["10.1.0.1"])] }],
      sizes: [1],
    },
    {
      name: "250 endpoints -> 100/100/50",
      contributions: [{ cluster: "public", groups: [group(many)] }],
      sizes: [100, 100, 50],
    },
    {
      name: "exactly 100 -> one slice",
      contributions: [{ cluster: "public", groups: [group(many.slice(0, 100))] }],
      sizes: [100],
    },
    {
      name: "custom maxPerSlice",
      contributions: [{ cluster: "public", groups: [group(many.slice(0, 10))] }],
      maxPerSlice: 4,
      sizes: [4, 4, 2],
    },
    {
      name: "maxPerSlice clamped to at least 1",
      contributions: [{ cluster: "public", groups: [group(many.slice(0, 2))] }],
      maxPerSlice: 0,
      sizes: [1, 1],
    },
    {
      name: "maxPerSlice NaN means the default",
      contributions: [{ cluster: "public", groups: [group(many.slice(0, 150))] }],
      maxPerSlice: Number.NaN,
      sizes: [100, 50],
    },
    {
      name: "maxPerSlice clamped to the API's 1000",
      contributions: [
        { cluster: "public", groups: [group(Array.from({ length: 1001 }, (_, i) => ipv4(i + 1)))] },
      ],
      maxPerSlice: 5000,
      sizes: [1000, 1],
    },
    {
      name: "dual-stack Service, IPv4-only peak",
      service: { ipFamilies: ["IPv4", "IPv6"] },
      contributions: [{ cluster: "public", groups: [group(["10.1.0.1"])] }],
      sizes: [1],
      families: ["IPv4"],
    },
    {
      name: "dual-stack Service, dual-stack peak: one slice per family",
      service: { ipFamilies: ["IPv6", "IPv4"] },
      contributions: [
        { cluster: "public", groups: [group(["10.1.0.1"]), group(["fd00::1", "fd00::2"], "IPv6")] },
      ],
      sizes: [1, 2],
      families: ["IPv4", "IPv6"],
    },
    {
      name: "IPv6-only peak for an IPv4 Service",
      contributions: [{ cluster: "public", groups: [group(["fd00::1"], "IPv6")] }],
      sizes: [],
      conflicts: 1,
    },
    {
      name: "duplicate addresses across two slices of the same peak",
      contributions: [
        {
          cluster: "public",
          groups: [group(["10.1.0.1", "10.1.0.2"]), group(["10.1.0.2", "10.1.0.3"])],
        },
      ],
      sizes: [3],
    },
    {
      name: "two peak clusters",
      contributions: [
        { cluster: "public-a", groups: [group(["10.1.0.1"])] },
        { cluster: "public-b", groups: [group(["10.2.0.1", "10.2.0.2"])] },
      ],
      sizes: [1, 2],
    },
    {
      name: "protocol conflict: nothing imported, conflict reported",
      contributions: [
        {
          cluster: "public",
          groups: [group(["10.1.0.1"], "IPv4", [{ name: "http", port: 8080, protocol: "UDP" }])],
        },
      ],
      sizes: [],
      conflicts: 2,
    },
    {
      name: "unnamed port",
      service: { ports: [{ name: "", port: 80, protocol: "TCP" }] },
      contributions: [
        {
          cluster: "public",
          groups: [group(["10.1.0.1"], "IPv4", [{ name: "", port: 9376, protocol: "TCP" }])],
        },
      ],
      sizes: [1],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const opts = c.maxPerSlice === undefined ? {} : { maxPerSlice: c.maxPerSlice };
      const { slices, conflicts } = desiredSlices(
        { ...service, ...c.service },
        c.contributions,
        opts,
      );
      // Slices are sorted by name; compare sizes per source in a name-independent way.
      const bySource = [...slices].sort(
        (a, b) =>
          a.sourceCluster.localeCompare(b.sourceCluster) ||
          a.addressType.localeCompare(b.addressType) ||
          Number(a.name.split("-").at(-1)) - Number(b.name.split("-").at(-1)),
      );
      assert.deepEqual(
        bySource.map((s) => s.endpoints.length),
        c.sizes,
      );
      if (c.families)
        assert.deepEqual([...new Set(bySource.map((s) => s.addressType))], c.families);
      assert.equal(conflicts.length, c.conflicts ?? 0);
    });
  }
});

test("a slice carries labels, owner, trigger time, ports by production name and peak number", () => {
  const { slices } = desiredSlices(service, [
    { cluster: "public", groups: [group(["10.1.0.1"])], triggerTime: "2024-05-01T10:00:00Z" },
  ]);
  assert.equal(slices.length, 1);
  const [slice] = slices;
  assert.ok(slice);
  assert.match(slice.name, /^web-kb-public-v4-[0-9a-f]{8}-0$/);
  assert.equal(slice.namespace, "shop");
  assert.equal(slice.serviceName, "web");
  assert.equal(slice.ownerUid, "uid-1");
  assert.equal(slice.sourceCluster, "public");
  assert.deepEqual(slice.labels, {
    [SERVICE_NAME_LABEL]: "web",
    [MANAGED_BY_LABEL]: MANAGED_BY_KUBEBURST,
    [SOURCE_CLUSTER_LABEL]: "public",
  });
  assert.deepEqual(slice.annotations, { [TRIGGER_TIME_ANNOTATION]: "2024-05-01T10:00:00Z" });
  assert.deepEqual(slice.ports, HTTP);
  assert.deepEqual(slice.endpoints, [{ address: "10.1.0.1", conditions: READY }]);
});

test("no trigger time known -> no annotation", () => {
  const { slices } = desiredSlices(service, [{ cluster: "public", groups: [group(["10.1.0.1"])] }]);
  assert.deepEqual(slices[0]?.annotations, {});
});

test("not-ready and terminating conditions are carried explicitly", () => {
  const draining = { ready: false, serving: true, terminating: true };
  const gone = { ready: false, serving: false, terminating: true };
  const notReady = { ready: false, serving: false, terminating: false };
  const { slices } = desiredSlices(service, [
    {
      cluster: "public",
      groups: [
        {
          addressType: "IPv4",
          ports: HTTP,
          endpoints: [
            { address: "10.1.0.3", conditions: gone },
            { address: "10.1.0.2", conditions: draining },
            { address: "10.1.0.1", conditions: notReady },
          ],
        },
      ],
    },
  ]);
  assert.deepEqual(slices[0]?.endpoints, [
    { address: "10.1.0.1", conditions: notReady },
    { address: "10.1.0.2", conditions: draining },
    { address: "10.1.0.3", conditions: gone },
  ]);
});

test("long Service and cluster names give distinct valid names", () => {
  const long = { ...service, name: "a".repeat(63) };
  const { slices } = desiredSlices(long, [
    {
      cluster: `${"c".repeat(59)}-one`,
      groups: [group(Array.from({ length: 150 }, (_, i) => ipv4(i)))],
    },
    { cluster: `${"c".repeat(59)}-two`, groups: [group(["10.9.0.1"])] },
  ]);
  assert.equal(slices.length, 3);
  assert.equal(new Set(slices.map((s) => s.name)).size, 3);
  for (const s of slices) {
    assert.ok(s.name.length <= 63);
    assert.match(s.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  }
});

test("a changed port number gives new slice names, a changed endpoint does not", () => {
  const names = (c: Contribution) => desiredSlices(service, [c]).slices.map((s) => s.name);
  const a = names({ cluster: "public", groups: [group(["10.1.0.1"])] });
  const b = names({ cluster: "public", groups: [group(["10.1.0.2"])] });
  const c = names({
    cluster: "public",
    groups: [group(["10.1.0.1"], "IPv4", [{ name: "http", port: 9090, protocol: "TCP" }])],
  });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test("desiredSlices does not mutate its input", () => {
  const contributions: Contribution[] = [
    { cluster: "public", groups: [group(["10.1.0.2", "10.1.0.1", "10.1.0.1"])] },
  ];
  const copy = structuredClone(contributions);
  const { slices } = desiredSlices(service, contributions);
  assert.deepEqual(contributions, copy);
  slices[0]?.ports.push({ name: "x", port: 1, protocol: "TCP" });
  assert.deepEqual(contributions, copy);
});

// Properties of the union as written: nothing lost, nothing invented, deterministic.
const conditions = fc.record({
  ready: fc.boolean(),
  serving: fc.boolean(),
  terminating: fc.boolean(),
});
const v4 = fc.integer({ min: 0, max: 40 }).map((i) => `10.0.0.${i}`);
const v6 = fc.integer({ min: 0, max: 40 }).map((i) => `fd00::${i.toString(16)}`);
const portName = fc.constantFrom("http", "grpc", "metrics");
const peakPorts = fc.uniqueArray(
  fc.record({
    name: portName,
    port: fc.constantFrom(8080, 9090),
    protocol: fc.constantFrom("TCP" as const, "UDP" as const),
  }),
  { selector: (p) => p.name, maxLength: 3 },
);
const peakGroup = fc.oneof(
  fc.record({
    addressType: fc.constant("IPv4" as const),
    ports: peakPorts,
    endpoints: fc.array(fc.record({ address: v4, conditions }), { maxLength: 30 }),
  }),
  fc.record({
    addressType: fc.constant("IPv6" as const),
    ports: peakPorts,
    endpoints: fc.array(fc.record({ address: v6, conditions }), { maxLength: 30 }),
  }),
);
const contribution = fc.record({
  cluster: fc.constantFrom("a", "b", "c"),
  groups: fc.array(peakGroup, { maxLength: 4 }),
});
const families = fc.subarray(["IPv4", "IPv6"] as const, { minLength: 1 });
const prodService = fc.record({
  ipFamilies: families,
  ports: fc.uniqueArray(
    fc.record({
      name: portName,
      port: fc.constant(80),
      protocol: fc.constantFrom("TCP" as const, "UDP" as const),
    }),
    { selector: (p) => p.name, maxLength: 3 },
  ),
});

test("desiredSlices properties", () => {
  fc.assert(
    fc.property(
      prodService,
      fc.array(contribution, { maxLength: 4 }),
      fc.integer({ min: 1, max: 12 }),
      (partial, contributions, maxPerSlice) => {
        const svc = { ...service, ...partial, ipFamilies: [...partial.ipFamilies] };
        const got = desiredSlices(svc, contributions, { maxPerSlice });
        // Deterministic and independent of the order of contributions and groups.
        const shuffled = [...contributions]
          .reverse()
          .map((c) => ({ ...c, groups: [...c.groups].reverse() }));
        assert.deepEqual(desiredSlices(svc, shuffled, { maxPerSlice }), got);
        const names = got.slices.map((s) => s.name);
        assert.equal(new Set(names).size, names.length, "unique names");
        for (const s of got.slices) {
          assert.ok(s.endpoints.length >= 1 && s.endpoints.length <= maxPerSlice);
          assert.ok(svc.ipFamilies.includes(s.addressType));
          const addresses = s.endpoints.map((e) => e.address);
          assert.deepEqual(addresses, [...new Set(addresses)].sort(), "sorted and unique");
          for (const e of s.endpoints)
            assert.equal(parseIpAddress(e.address)?.family, s.addressType);
          for (const p of s.ports)
            assert.ok(svc.ports.some((q) => q.name === p.name && q.protocol === p.protocol));
          assert.equal(s.ports.length > 0 || svc.ports.length === 0, true);
        }
        // Every in-family address of a group with a usable port reaches some slice of its cluster,
        // ready if any copy was ready.
        for (const c of contributions) {
          for (const g of c.groups) {
            if (!svc.ipFamilies.includes(g.addressType)) continue;
            const usable =
              svc.ports.length === 0 ||
              g.ports.some((p) =>
                svc.ports.some((q) => q.name === p.name && q.protocol === p.protocol),
              );
            if (!usable) continue;
            for (const e of g.endpoints) {
              const canonical = parseIpAddress(e.address)?.canonical;
              const found = got.slices
                .filter((s) => s.sourceCluster === c.cluster && s.addressType === g.addressType)
                .flatMap((s) => s.endpoints)
                .filter((w) => w.address === canonical);
              assert.ok(found.length >= 1, `${e.address} from ${c.cluster} is written`);
              if (e.conditions.ready) assert.ok(found.some((w) => w.conditions.ready));
            }
          }
        }
      },
    ),
  );
});
