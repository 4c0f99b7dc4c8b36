import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { EndpointPort } from "./endpoints.ts";
import { matchPorts, type PortConflictKind } from "./port-match.ts";
import type { ServicePort } from "./production-service.ts";

const svcHttp: ServicePort = { name: "http", port: 80, protocol: "TCP" };
const svcDns: ServicePort = { name: "dns", port: 53, protocol: "UDP" };

test("matchPorts", async (t) => {
  const cases: {
    name: string;
    service: ServicePort[];
    peak: EndpointPort[];
    want: EndpointPort[];
    conflicts?: { kind: PortConflictKind; port: string }[];
    contributes?: boolean;
  }[] = [
    {
      name: "by name, number from the peak",
      service: [svcHttp],
      peak: [{ name: "http", port: 8080, protocol: "TCP" }],
      want: [{ name: "http", port: 8080, protocol: "TCP" }],
    },
    {
      name: "unnamed single port",
      service: [{ name: "", port: 80, protocol: "TCP" }],
      peak: [{ name: "", port: 9376, protocol: "TCP" }],
      want: [{ name: "", port: 9376, protocol: "TCP" }],
    },
    {
      name: "appProtocol kept",
      service: [svcHttp],
      peak: [{ name: "http", port: 8080, protocol: "TCP", appProtocol: "kubernetes.io/h2c" }],
      want: [{ name: "http", port: 8080, protocol: "TCP", appProtocol: "kubernetes.io/h2c" }],
    },
    {
      name: "unknown peak port dropped silently",
      service: [svcHttp],
      peak: [
        { name: "http", port: 8080, protocol: "TCP" },
        { name: "metrics", port: 9090, protocol: "TCP" },
      ],
      want: [{ name: "http", port: 8080, protocol: "TCP" }],
    },
    {
      name: "protocol conflict leaves that port out",
      service: [svcHttp, svcDns],
      peak: [
        { name: "http", port: 8080, protocol: "TCP" },
        { name: "dns", port: 53, protocol: "TCP" },
      ],
      want: [{ name: "http", port: 8080, protocol: "TCP" }],
      conflicts: [{ kind: "protocol-mismatch", port: "dns" }],
    },
    {
      name: "only port conflicts: the group contributes nothing",
      service: [svcDns],
      peak: [{ name: "dns", port: 53, protocol: "TCP" }],
      want: [],
      conflicts: [
        { kind: "protocol-mismatch", port: "dns" },
        { kind: "no-matching-ports", port: "" },
      ],
      contributes: false,
    },
    {
      name: "no common name: the group contributes nothing",
      service: [svcHttp],
      peak: [{ name: "web", port: 8080, protocol: "TCP" }],
      want: [],
      conflicts: [{ kind: "no-matching-ports", port: "" }],
      contributes: false,
    },
    {
      name: "peak slice without ports, Service with ports",
      service: [svcHttp],
      peak: [],
      want: [],
      conflicts: [{ kind: "no-matching-ports", port: "" }],
      contributes: false,
    },
    {
      name: "Service without ports: endpoints imported without ports",
      service: [],
      peak: [{ name: "http", port: 8080, protocol: "TCP" }],
      want: [],
    },
    {
      name: "invalid number",
      service: [svcHttp, svcDns],
      peak: [
        { name: "http", port: 0, protocol: "TCP" },
        { name: "dns", port: 5353, protocol: "UDP" },
      ],
      want: [{ name: "dns", port: 5353, protocol: "UDP" }],
      conflicts: [{ kind: "invalid-port", port: "http" }],
    },
    {
      name: "duplicate name keeps the lowest number, whatever the order",
      service: [svcHttp],
      peak: [
        { name: "http", port: 8081, protocol: "TCP" },
        { name: "http", port: 8080, protocol: "TCP" },
      ],
      want: [{ name: "http", port: 8080, protocol: "TCP" }],
      conflicts: [{ kind: "duplicate-port", port: "http" }],
    },
    {
      name: "sorted by name",
      service: [svcHttp, svcDns],
      peak: [
        { name: "http", port: 8080, protocol: "TCP" },
        { name: "dns", port: 5353, protocol: "UDP" },
      ],
      want: [
        { name: "dns", port: 5353, protocol: "UDP" },
        { name: "http", port: 8080, protocol: "TCP" },
      ],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const got = matchPorts(c.service, c.peak);
      assert.deepEqual(got.ports, c.want);
      assert.deepEqual(
        got.conflicts.map(({ kind, port }) => ({ kind, port })),
        c.conflicts ?? [],
      );
      assert.equal(got.contributes, c.contributes ?? true);
      for (const conflict of got.conflicts) assert.ok(conflict.reason.length > 0);
    });
  }
});

test("a protocol conflict names the port and both protocols", () => {
  const { conflicts } = matchPorts([svcDns], [{ name: "dns", port: 53, protocol: "TCP" }]);
  const reason = conflicts[0]?.reason ?? "";
  for (const text of ['"dns"', "UDP", "TCP"]) assert.ok(reason.includes(text), reason);
});

const name = fc.constantFrom("", "http", "https", "dns", "grpc");
const protocol = fc.constantFrom("TCP" as const, "UDP" as const, "SCTP" as const);
const servicePort = fc.record({ name, port: fc.integer({ min: 1, max: 65535 }), protocol });
const peakPort = fc.record({ name, port: fc.integer({ min: -5, max: 70000 }), protocol });

test("matchPorts properties", () => {
  fc.assert(
    fc.property(
      fc.array(servicePort, { maxLength: 4 }),
      fc.array(peakPort, { maxLength: 6 }),
      (service, peak) => {
        const got = matchPorts(service, peak);
        // Order of the peak's ports never matters.
        assert.deepEqual(matchPorts(service, [...peak].reverse()), got);
        const names = got.ports.map((p) => p.name);
        assert.equal(new Set(names).size, names.length, "names are unique");
        assert.deepEqual(names, [...names].sort(), "sorted by name");
        for (const p of got.ports) {
          assert.ok(Number.isInteger(p.port) && p.port >= 1 && p.port <= 65535);
          assert.ok(service.some((s) => s.name === p.name && s.protocol === p.protocol));
          assert.ok(
            peak.some((q) => q.name === p.name && q.port === p.port && q.protocol === p.protocol),
          );
        }
        assert.equal(got.contributes, service.length === 0 || got.ports.length > 0);
      },
    ),
  );
});
