// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import type { AddressPolicy } from "../domain/address-policy.ts";
import { serviceInfoOf } from "./aggregation-info.ts";

const open: AddressPolicy = { allowed: ["198.18.0.0/15"], denied: [], maxEndpoints: 1000 };

function service(labels: Record<string, string>): V1Service {
  return {
    metadata: { namespace: "shop", name: "web", uid: "uid-1", labels },
    spec: {
      selector: { app: "web" },
      ipFamilies: ["IPv4"],
      ports: [{ name: "http", port: 80, protocol: "TCP" }],
    },
  };
}

function slice(addressType: string, addresses: string[][], trigger?: string): V1EndpointSlice {
  return {
    addressType,
    metadata: trigger
      ? { annotations: { "endpoints.kubernetes.io/last-change-trigger-time": trigger } }
      : {},
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: addresses.map((a) => ({ addresses: a, conditions: { ready: true } })),
  };
}

test("serviceInfoOf", async (t) => {
  const cases: {
    name: string;
    role: "production" | "peak";
    svc: V1Service | undefined;
    slices: V1EndpointSlice[];
    policy?: AddressPolicy;
    check: (info: ReturnType<typeof serviceInfoOf>) => void;
  }[] = [
    {
      name: "an absent Service has role none and nothing else",
      role: "peak",
      svc: undefined,
      slices: [slice("IPv4", [["198.18.17.10"]])],
      check: (i) => {
        assert.deepEqual(i.role, { kind: "none" });
        assert.equal(i.contribution, undefined);
        assert.equal(i.production, undefined);
      },
    },
    {
      name: "a production Service in the production cluster carries its facts, never a contribution",
      role: "production",
      svc: service({ "kubeburst.io/role": "production" }),
      slices: [slice("IPv4", [["198.18.1.10"]])],
      check: (i) => {
        assert.equal(i.production?.uid, "uid-1");
        assert.deepEqual(i.production?.ports, [{ name: "http", port: 80, protocol: "TCP" }]);
        assert.equal(i.contribution, undefined);
      },
    },
    {
      name: "a peak-labelled Service in the production cluster contributes nothing",
      role: "production",
      svc: service({ "kubeburst.io/role": "peak" }),
      slices: [slice("IPv4", [["198.18.1.10"]])],
      check: (i) => {
        assert.equal(i.contribution, undefined);
        assert.equal(i.production, undefined);
      },
    },
    {
      name: "a peak contributes the first address of each endpoint and the latest trigger time",
      role: "peak",
      svc: service({ "ex-remote": "true" }),
      slices: [
        slice("IPv4", [["198.18.17.10", "198.18.17.99"]], "2026-11-29T08:00:00Z"),
        slice("IPv4", [["198.18.17.11"]], "2026-11-29T09:00:00Z"),
        slice("IPv4", [], "not a time"),
      ],
      check: (i) => {
        const addresses = i.contribution?.groups.flatMap((g) => g.endpoints.map((e) => e.address));
        assert.deepEqual(addresses?.sort(), ["198.18.17.10", "198.18.17.11"]);
        assert.equal(i.contribution?.triggerTime, "2026-11-29T09:00:00Z");
        assert.equal(i.refused, undefined);
      },
    },
    {
      name: "refusals of the policy and FQDN slices are reported, the rest kept",
      role: "peak",
      svc: service({ "kubeburst.io/role": "peak" }),
      slices: [slice("IPv4", [["198.18.17.10"], ["10.1.2.3"]]), slice("FQDN", [["evil.example"]])],
      check: (i) => {
        const addresses = i.contribution?.groups.flatMap((g) => g.endpoints.map((e) => e.address));
        assert.deepEqual(addresses, ["198.18.17.10"]);
        assert.deepEqual(i.refused, [
          { address: "evil.example", reason: "fqdn" },
          { address: "10.1.2.3", reason: "not-allowed" },
        ]);
      },
    },
    {
      name: "the cap is reported as truncated",
      role: "peak",
      svc: service({ "kubeburst.io/role": "peak" }),
      slices: [slice("IPv4", [["198.18.17.10"], ["198.18.17.11"], ["198.18.17.12"]])],
      policy: { ...open, maxEndpoints: 2 },
      check: (i) => assert.deepEqual(i.truncated, { kept: 2, dropped: 1 }),
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const info = serviceInfoOf("c", c.role, "shop/web", c.svc, c.slices, 1, c.policy ?? open);
      assert.equal(info.kind, "service");
      assert.equal(info.service, "shop/web");
      c.check(info);
    });
  }
});
