// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAddedAddressesRecord } from "./added-addresses-record.ts";
import type { Contribution, EndpointConditions } from "./endpoints.ts";
import type { EndpointsSubset } from "./endpoints-subsets.ts";
import { ADDED_ADDRESSES_ANNOTATION } from "./labels.ts";
import {
  desiredEndpoints,
  type LiteralEndpoints,
  literalModeRefusal,
  MIRRORING_MAX_ADDRESSES,
  type RecordState,
} from "./literal-endpoints.ts";
import type { ProductionService } from "./production-service.ts";

const OPTS = { recordKey: ADDED_ADDRESSES_ANNOTATION };
const READY: EndpointConditions = { ready: true, serving: true, terminating: false };
const NOT_READY: EndpointConditions = { ready: false, serving: false, terminating: false };
const DRAINING: EndpointConditions = { ready: false, serving: true, terminating: true };
const GONE: EndpointConditions = { ready: false, serving: false, terminating: true };

const service: ProductionService = {
  namespace: "shop",
  name: "legacy-db",
  uid: "uid-1",
  ipFamilies: ["IPv4"],
  ports: [{ name: "sql", port: 5432, protocol: "TCP" }],
  hasSelector: false,
  type: "ClusterIP",
};

const USER_PORTS = [{ name: "sql", port: 5432, protocol: "TCP" as const }];
const PEAK_PORTS = [{ name: "sql", port: 15432, protocol: "TCP" as const }];

function userSubset(ready: string[], notReady: string[] = []): EndpointsSubset {
  return {
    addresses: ready.map((ip) => ({ ip })),
    notReadyAddresses: notReady.map((ip) => ({ ip })),
    ports: USER_PORTS,
  };
}

function peak(endpoints: [string, EndpointConditions][], cluster = "public"): Contribution {
  return {
    cluster,
    groups: [
      {
        addressType: "IPv4",
        ports: PEAK_PORTS,
        endpoints: endpoints.map(([address, conditions]) => ({ address, conditions })),
      },
    ],
  };
}

// Applies a result the way the writer would, giving the next "current".
function written(result: LiteralEndpoints): LiteralEndpoints {
  return { subsets: structuredClone(result.subsets), annotations: { ...result.annotations } };
}

function ips(subsets: EndpointsSubset[]): { ready: string[]; notReady: string[] } {
  return {
    ready: subsets.flatMap((s) => s.addresses.map((a) => a.ip)).sort(),
    notReady: subsets.flatMap((s) => s.notReadyAddresses.map((a) => a.ip)).sort(),
  };
}

function recorded(result: LiteralEndpoints): string[] | undefined {
  const value = result.annotations[ADDED_ADDRESSES_ANNOTATION];
  return value === undefined ? undefined : parseAddedAddressesRecord(value)?.addresses;
}

test("desiredEndpoints", async (t) => {
  const base = desiredEndpoints(
    { subsets: [userSubset(["192.0.2.1"])], annotations: {} },
    service,
    [peak([["10.1.0.1", READY]])],
    OPTS,
  );
  const steady = written(base);
  const cases: {
    name: string;
    current: LiteralEndpoints;
    peaks: Contribution[];
    ready: string[];
    notReady?: string[];
    record: string[] | undefined;
    state: RecordState;
    changed: boolean;
  }[] = [
    {
      name: "nothing to add, no record: no write",
      current: { subsets: [userSubset(["192.0.2.1"])], annotations: {} },
      peaks: [],
      ready: ["192.0.2.1"],
      record: undefined,
      state: "absent",
      changed: false,
    },
    {
      name: "empty object, one peak",
      current: { subsets: [], annotations: {} },
      peaks: [peak([["10.1.0.1", READY]])],
      ready: ["10.1.0.1"],
      record: ["10.1.0.1"],
      state: "absent",
      changed: true,
    },
    {
      name: "first run: user's addresses kept, peak added",
      current: { subsets: [userSubset(["192.0.2.1"])], annotations: {} },
      peaks: [peak([["10.1.0.1", READY]])],
      ready: ["10.1.0.1", "192.0.2.1"],
      record: ["10.1.0.1"],
      state: "absent",
      changed: true,
    },
    {
      name: "steady state: no write",
      current: steady,
      peaks: [peak([["10.1.0.1", READY]])],
      ready: ["10.1.0.1", "192.0.2.1"],
      record: ["10.1.0.1"],
      state: "intact",
      changed: false,
    },
    {
      name: "API server repacked our subsets: still no write",
      current: {
        subsets: [
          { addresses: [{ ip: "10.1.0.1" }], notReadyAddresses: [], ports: PEAK_PORTS },
          userSubset(["192.0.2.1"]),
        ],
        annotations: steady.annotations,
      },
      peaks: [peak([["10.1.0.1", READY]])],
      ready: ["10.1.0.1", "192.0.2.1"],
      record: ["10.1.0.1"],
      state: "intact",
      changed: false,
    },
    {
      name: "peak changes: ours replaced, user's kept",
      current: steady,
      peaks: [peak([["10.1.0.2", READY]])],
      ready: ["10.1.0.2", "192.0.2.1"],
      record: ["10.1.0.2"],
      state: "intact",
      changed: true,
    },
    {
      name: "peak withdrawn: ours removed, record removed",
      current: steady,
      peaks: [],
      ready: ["192.0.2.1"],
      record: undefined,
      state: "intact",
      changed: true,
    },
    {
      name: "user edit adds an address: kept as the user's",
      current: {
        subsets: [...steady.subsets, userSubset(["192.0.2.2"])],
        annotations: steady.annotations,
      },
      peaks: [peak([["10.1.0.1", READY]])],
      ready: ["10.1.0.1", "192.0.2.1", "192.0.2.2"],
      record: ["10.1.0.1"],
      state: "edited",
      changed: true,
    },
    {
      name: "user edit removes one of ours: put back",
      current: { subsets: [userSubset(["192.0.2.1"])], annotations: steady.annotations },
      peaks: [peak([["10.1.0.1", READY]])],
      ready: ["10.1.0.1", "192.0.2.1"],
      record: ["10.1.0.1"],
      state: "edited",
      changed: true,
    },
    {
      name: "user replaces the object without our record: all present is the user's",
      current: { subsets: [userSubset(["198.51.100.7", "10.1.0.1"])], annotations: {} },
      peaks: [
        peak([
          ["10.1.0.1", READY],
          ["10.1.0.2", READY],
        ]),
      ],
      ready: ["10.1.0.1", "10.1.0.2", "198.51.100.7"],
      record: ["10.1.0.2"],
      state: "absent",
      changed: true,
    },
    {
      name: "unreadable record is treated as absent and rewritten",
      current: {
        subsets: [userSubset(["192.0.2.1"])],
        annotations: { [ADDED_ADDRESSES_ANNOTATION]: "{oops" },
      },
      peaks: [],
      ready: ["192.0.2.1"],
      record: undefined,
      state: "unreadable",
      changed: true,
    },
    {
      name: "a user's address is never taken over by a peak",
      current: { subsets: [userSubset([], ["10.1.0.1"])], annotations: {} },
      peaks: [peak([["10.1.0.1", READY]])],
      ready: [],
      notReady: ["10.1.0.1"],
      record: undefined,
      state: "absent",
      changed: false,
    },
    {
      name: "not ready and terminating peak endpoints go to notReadyAddresses",
      current: { subsets: [], annotations: {} },
      peaks: [
        peak([
          ["10.1.0.1", READY],
          ["10.1.0.2", NOT_READY],
          ["10.1.0.3", DRAINING],
          ["10.1.0.4", GONE],
        ]),
      ],
      ready: ["10.1.0.1"],
      notReady: ["10.1.0.2", "10.1.0.3", "10.1.0.4"],
      record: ["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"],
      state: "absent",
      changed: true,
    },
    {
      name: "two peaks with the same port set share a subset, duplicates merged",
      current: { subsets: [], annotations: {} },
      peaks: [
        peak([["10.1.0.1", NOT_READY]], "a"),
        peak(
          [
            ["10.1.0.1", READY],
            ["10.2.0.1", READY],
          ],
          "b",
        ),
      ],
      ready: ["10.1.0.1", "10.2.0.1"],
      record: ["10.1.0.1", "10.2.0.1"],
      state: "absent",
      changed: true,
    },
    {
      name: "wrong family is not imported",
      current: { subsets: [], annotations: {} },
      peaks: [
        {
          cluster: "public",
          groups: [
            {
              addressType: "IPv6",
              ports: PEAK_PORTS,
              endpoints: [{ address: "fd00::1", conditions: READY }],
            },
          ],
        },
      ],
      ready: [],
      record: undefined,
      state: "absent",
      changed: false,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const got = desiredEndpoints(c.current, service, c.peaks, OPTS);
      assert.deepEqual(ips(got.subsets), { ready: c.ready, notReady: c.notReady ?? [] });
      assert.deepEqual(recorded(got), c.record);
      assert.equal(got.record, c.state);
      assert.equal(got.changed, c.changed);
      // Writing the result and recomputing must be a no-op.
      const again = desiredEndpoints(written(got), service, c.peaks, OPTS);
      assert.equal(again.changed, false, "converges after one write");
      assert.deepEqual(ips(again.subsets), ips(got.subsets));
    });
  }
});

test("peak subsets use the peak's numbers under the production names", () => {
  const got = desiredEndpoints(
    { subsets: [], annotations: {} },
    service,
    [peak([["10.1.0.1", READY]])],
    OPTS,
  );
  assert.deepEqual(got.subsets, [
    {
      addresses: [{ ip: "10.1.0.1" }],
      notReadyAddresses: [],
      ports: [{ name: "sql", port: 15432, protocol: "TCP" }],
    },
  ]);
});

test("an unnamed port stays unnamed", () => {
  const unnamed = { ...service, ports: [{ name: "", port: 5432, protocol: "TCP" as const }] };
  const got = desiredEndpoints(
    { subsets: [], annotations: {} },
    unnamed,
    [
      {
        cluster: "public",
        groups: [
          {
            addressType: "IPv4",
            ports: [{ name: "", port: 15432, protocol: "TCP" }],
            endpoints: [{ address: "10.1.0.1", conditions: READY }],
          },
        ],
      },
    ],
    OPTS,
  );
  assert.deepEqual(got.subsets[0]?.ports, [{ port: 15432, protocol: "TCP" }]);
});

test("port conflicts are reported, not thrown", () => {
  const got = desiredEndpoints(
    { subsets: [], annotations: {} },
    service,
    [
      {
        cluster: "public",
        groups: [
          {
            addressType: "IPv4",
            ports: [{ name: "sql", port: 15432, protocol: "UDP" }],
            endpoints: [{ address: "10.1.0.1", conditions: READY }],
          },
        ],
      },
    ],
    OPTS,
  );
  assert.deepEqual(got.subsets, []);
  assert.deepEqual(got.conflicts.map((c) => c.kind).sort(), [
    "no-matching-ports",
    "protocol-mismatch",
  ]);
});

test("other annotations and extra address fields are kept; input is not mutated", () => {
  const current = {
    subsets: [
      {
        addresses: [{ ip: "192.0.2.1", hostname: "db-0" }],
        notReadyAddresses: [],
        ports: USER_PORTS,
      },
    ],
    annotations: { owner: "team-db" },
  };
  const copy = structuredClone(current);
  const got = desiredEndpoints(current, service, [peak([["10.1.0.1", READY]])], OPTS);
  assert.deepEqual(current, copy);
  assert.equal(got.annotations.owner, "team-db");
  assert.deepEqual(got.subsets[0]?.addresses, [{ ip: "192.0.2.1", hostname: "db-0" }]);
});

test("overCapacity beyond what the mirroring controller copies", () => {
  const many: [string, EndpointConditions][] = Array.from(
    { length: MIRRORING_MAX_ADDRESSES + 1 },
    (_, i) => [`10.1.${i >> 8}.${i & 255}`, READY],
  );
  assert.equal(
    desiredEndpoints({ subsets: [], annotations: {} }, service, [peak(many)], OPTS).overCapacity,
    true,
  );
  assert.equal(
    desiredEndpoints({ subsets: [], annotations: {} }, service, [peak(many.slice(1))], OPTS)
      .overCapacity,
    false,
  );
});

test("literalModeRefusal", async (t) => {
  const cases: { name: string; service: ProductionService; refused: boolean; mentions?: string }[] =
    [
      { name: "selector-less ClusterIP", service, refused: false },
      {
        name: "with selector",
        service: { ...service, hasSelector: true },
        refused: true,
        mentions: "selector",
      },
      {
        name: "ExternalName",
        service: { ...service, type: "ExternalName" },
        refused: true,
        mentions: "ExternalName",
      },
    ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const reason = literalModeRefusal(c.service);
      assert.equal(reason !== undefined, c.refused);
      if (c.mentions) {
        assert.ok(reason?.includes(c.mentions));
        assert.ok(reason?.includes("shop/legacy-db"));
      }
    });
  }
});

test("the record says which cluster each added address came from", () => {
  const got = desiredEndpoints(
    { subsets: [userSubset(["192.0.2.1"])], annotations: {} },
    service,
    [peak([["10.1.0.1", READY]], "public-a"), peak([["10.2.0.1", READY]], "public-b")],
    OPTS,
  );
  const record = parseAddedAddressesRecord(got.annotations[ADDED_ADDRESSES_ANNOTATION]!);
  assert.deepEqual(record?.clusters, { "public-a": ["10.1.0.1"], "public-b": ["10.2.0.1"] });
});

test("a peak not known since a restart keeps its addresses where they are, still ours", () => {
  const before = written(
    desiredEndpoints(
      { subsets: [userSubset(["192.0.2.1"])], annotations: {} },
      service,
      [peak([["10.1.0.1", READY]], "public-a"), peak([["10.2.0.1", READY]], "public-b")],
      OPTS,
    ),
  );
  // After a restart only public-a has synced; public-b's address must stay.
  const got = desiredEndpoints(before, service, [peak([["10.1.0.1", READY]], "public-a")], {
    ...OPTS,
    keepClusters: ["public-b"],
  });
  assert.deepEqual(ips(got.subsets).ready, ["10.1.0.1", "10.2.0.1", "192.0.2.1"]);
  assert.deepEqual(recorded(got), ["10.1.0.1", "10.2.0.1"]);
  // Once public-b is known and contributes nothing, its address goes; the user's stays.
  const later = desiredEndpoints(
    written(got),
    service,
    [peak([["10.1.0.1", READY]], "public-a")],
    OPTS,
  );
  assert.deepEqual(ips(later.subsets).ready, ["10.1.0.1", "192.0.2.1"]);
});

test("a Service that stops taking part loses every address we added, and only those", () => {
  const before = written(
    desiredEndpoints(
      { subsets: [userSubset(["192.0.2.1"], ["192.0.2.2"])], annotations: { team: "a" } },
      service,
      [
        peak([
          ["10.1.0.1", READY],
          ["10.1.0.2", NOT_READY],
        ]),
      ],
      OPTS,
    ),
  );
  const got = desiredEndpoints(before, undefined, [], OPTS);
  assert.equal(got.changed, true);
  assert.deepEqual(ips(got.subsets), { ready: ["192.0.2.1"], notReady: ["192.0.2.2"] });
  assert.deepEqual(
    got.annotations,
    { team: "a" },
    "our record is gone, the user's annotation stays",
  );
  assert.equal(desiredEndpoints(written(got), undefined, [], OPTS).changed, false);
});

test("each installation reads and writes only its own record", () => {
  const mine = { recordKey: "team-b.kubeburst.io/added-addresses" };
  const theirs = written(
    desiredEndpoints(
      { subsets: [userSubset(["192.0.2.1"])], annotations: {} },
      service,
      [peak([["10.1.0.1", READY]])],
      OPTS,
    ),
  );
  const got = desiredEndpoints(theirs, service, [peak([["10.3.0.1", READY]], "public-c")], mine);
  assert.deepEqual(ips(got.subsets).ready, ["10.1.0.1", "10.3.0.1", "192.0.2.1"]);
  assert.ok(got.annotations[ADDED_ADDRESSES_ANNOTATION], "the other installation's record is kept");
  assert.deepEqual(parseAddedAddressesRecord(got.annotations[mine.recordKey]!)?.addresses, [
    "10.3.0.1",
  ]);
});
