// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { webService } from "../../test/support/domain-fixtures.ts";
import type { Endpoint, EndpointConditions } from "./endpoints.ts";
import {
  INSTALLATION_LABEL,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  SOURCE_CLUSTER_LABEL,
  SOURCE_SLICE_ANNOTATION,
  TRIGGER_TIME_ANNOTATION,
} from "./labels.ts";
import type { ProductionService } from "./production-service.ts";
import { splitSliceName } from "./slice-name.ts";
import type { Source } from "./source.ts";
import { layoutChunks, type SourceSlicesInput, sourceSlices } from "./source-slices.ts";

const READY: EndpointConditions = { ready: true, serving: true, terminating: false };
const NOT_READY: EndpointConditions = { ready: false, serving: false, terminating: false };

const service = webService;

function endpoints(n: number, from = 0): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({
    address: `10.1.${Math.floor((from + i) / 250)}.${((from + i) % 250) + 1}`,
    conditions: READY,
  })).sort((a, b) => (a.address < b.address ? -1 : 1));
}

function source(eps: Endpoint[], over: Partial<Source> = {}): Source {
  return {
    name: "web-abc12",
    refused: [],
    group: {
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: eps,
    },
    ...over,
  };
}

function input(src: Source, over: Partial<SourceSlicesInput> = {}): SourceSlicesInput {
  return {
    service,
    cluster: "public",
    installation: "kubeburst",
    source: src,
    existing: () => undefined,
    ...over,
  };
}

test("sourceSlices: one slice mirrors a small source, with our labels and nothing of the peak's", () => {
  const { slices, conflicts } = sourceSlices(
    input(source(endpoints(3), { triggerTime: "2024-05-01T10:00:00Z" })),
  );
  assert.deepEqual(conflicts, []);
  assert.equal(slices.length, 1);
  const [slice] = slices;
  assert.match(slice!.name, /^web-kb-public-v4-[0-9a-f]{8}-0$/);
  assert.deepEqual(slice!.labels, {
    [SERVICE_NAME_LABEL]: "web",
    [MANAGED_BY_LABEL]: "kubeburst.io",
    [SOURCE_CLUSTER_LABEL]: "public",
    [INSTALLATION_LABEL]: "kubeburst",
  });
  assert.deepEqual(slice!.annotations, {
    [SOURCE_SLICE_ANNOTATION]: "web-abc12",
    [TRIGGER_TIME_ANNOTATION]: "2024-05-01T10:00:00Z",
  });
  assert.deepEqual(slice!.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
  assert.equal(slice!.ownerUid, "uid-1");
  assert.deepEqual(slice!.endpoints, endpoints(3));
});

test("sourceSlices: what production cannot import comes back as a conflict", async (t) => {
  const cases: { name: string; src: Source; svc?: ProductionService; kind?: string }[] = [
    { name: "an FQDN slice", src: source([], { group: undefined }) },
    { name: "an empty placeholder slice is no conflict", src: source([]) },
    {
      name: "a family production does not serve",
      src: source([{ address: "fd00::1", conditions: READY }], {
        group: {
          addressType: "IPv6",
          ports: [{ name: "http", port: 8080, protocol: "TCP" }],
          endpoints: [{ address: "fd00::1", conditions: READY }],
        },
      }),
      kind: "family-mismatch",
    },
    {
      name: "no matching port",
      src: source(endpoints(1), {
        group: {
          addressType: "IPv4",
          ports: [{ name: "grpc", port: 9090, protocol: "TCP" }],
          endpoints: endpoints(1),
        },
      }),
      kind: "no-matching-ports",
    },
    {
      name: "a protocol mismatch",
      src: source(endpoints(1), {
        group: {
          addressType: "IPv4",
          ports: [{ name: "http", port: 8080, protocol: "UDP" }],
          endpoints: endpoints(1),
        },
      }),
      kind: "protocol-mismatch,no-matching-ports",
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const { slices, conflicts } = sourceSlices(input(c.src, c.svc ? { service: c.svc } : {}));
      assert.deepEqual(slices, []);
      assert.deepEqual(
        conflicts.map((x) => x.kind),
        c.kind ? c.kind.split(",") : [],
      );
    });
  }
});

test("sourceSlices: a large source is cut into chunks of at most 100 that share one prefix", () => {
  const { slices } = sourceSlices(input(source(endpoints(250))));
  assert.deepEqual(
    slices.map((s) => s.endpoints.length),
    [100, 100, 50],
  );
  const prefixes = new Set(slices.map((s) => splitSliceName(s.name)?.prefix));
  assert.equal(prefixes.size, 1);
  assert.deepEqual(
    slices.map((s) => splitSliceName(s.name)?.index),
    [0, 1, 2],
  );
});

test("sourceSlices: names differ by source, cluster, installation and ports", () => {
  const name = (over: Partial<SourceSlicesInput>, src = source(endpoints(1))) =>
    sourceSlices(input(src, over)).slices[0]!.name;
  const base = name({});
  assert.notEqual(name({}, source(endpoints(1), { name: "web-other" })), base);
  assert.notEqual(name({ cluster: "public-2" }), base);
  assert.notEqual(name({ installation: "team-b" }), base);
  assert.equal(name({}, source(endpoints(2))), base, "content does not change the name");
});

test("layoutChunks: an endpoint stays where it is; one change touches one chunk", async (t) => {
  const addresses = (chunks: [number, Endpoint[]][]) =>
    new Map(chunks.map(([i, eps]) => [i, eps.map((e) => e.address)]));
  const start = layoutChunks(endpoints(250), undefined, 100);
  const existing = addresses(start);
  const changed = (next: [number, Endpoint[]][]) => {
    const before = new Map(start);
    return next
      .filter(([i, eps]) => JSON.stringify(before.get(i)) !== JSON.stringify(eps))
      .map(([i]) => i);
  };
  await t.test("an added endpoint that sorts first goes into the chunk with room", () => {
    const next = layoutChunks(
      [{ address: "10.0.0.1", conditions: READY }, ...endpoints(250)],
      existing,
      100,
    );
    assert.deepEqual(changed(next), [2]);
  });
  await t.test("a removed endpoint leaves only its own chunk", () => {
    const all = endpoints(250);
    const next = layoutChunks([...all.slice(0, 10), ...all.slice(11)], existing, 100);
    assert.deepEqual(changed(next), [0]);
  });
  await t.test("a readiness change rewrites only its chunk", () => {
    const all = endpoints(250).map((e, i) => (i === 120 ? { ...e, conditions: NOT_READY } : e));
    assert.deepEqual(changed(layoutChunks(all, existing, 100)), [1]);
  });
  await t.test("an emptied chunk is refilled before a new one is made", () => {
    const kept = new Map([[1, ["10.9.9.9"]]]);
    const next = layoutChunks(endpoints(3), kept, 100);
    assert.deepEqual(
      next.map(([i, eps]) => [i, eps.length]),
      [[1, 3]],
    );
  });
});

test("layoutChunks: every endpoint once, no chunk over the limit, stable placement (property)", () => {
  const endpointSet = fc
    .uniqueArray(fc.integer({ min: 0, max: 600 }), { maxLength: 400 })
    .map((ids) =>
      ids.map((id) => endpoints(1, id)[0]!).sort((a, b) => (a.address < b.address ? -1 : 1)),
    );
  fc.assert(
    fc.property(
      endpointSet,
      endpointSet,
      fc.integer({ min: 1, max: 120 }),
      (before, after, max) => {
        const first = layoutChunks(before, undefined, max);
        const existing = new Map(first.map(([i, eps]) => [i, eps.map((e) => e.address)]));
        const next = layoutChunks(after, existing, max);
        const placed = next.flatMap(([, eps]) => eps.map((e) => e.address));
        assert.deepEqual([...placed].sort(), after.map((e) => e.address).sort());
        for (const [, eps] of next) assert.ok(eps.length <= max && eps.length > 0);
        // An endpoint in both stays in its chunk unless that chunk overflowed (it cannot: only
        // endpoints already there stay, and they fit before).
        const home = new Map(first.flatMap(([i, eps]) => eps.map((e) => [e.address, i] as const)));
        for (const [i, eps] of next) {
          for (const e of eps) {
            const was = home.get(e.address);
            if (was !== undefined) assert.equal(i, was, `${e.address} moved from ${was} to ${i}`);
          }
        }
      },
    ),
  );
});
