// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  canonicalIp,
  type EndpointsSubset,
  endpointsPortsKey,
  subsetsContentKey,
} from "./endpoints-subsets.ts";

const http = { name: "http", port: 8080, protocol: "TCP" as const };
const grpc = { name: "grpc", port: 9090, protocol: "TCP" as const };

function subset(ready: string[], notReady: string[] = [], ports = [http]): EndpointsSubset {
  return {
    addresses: ready.map((ip) => ({ ip })),
    notReadyAddresses: notReady.map((ip) => ({ ip })),
    ports,
  };
}

test("canonicalIp", () => {
  assert.equal(canonicalIp("FD00:0::1"), "fd00::1");
  assert.equal(canonicalIp("10.0.0.1"), "10.0.0.1");
  assert.equal(canonicalIp("not an ip"), "not an ip");
});

test("endpointsPortsKey ignores order and treats a missing name as empty", () => {
  assert.equal(endpointsPortsKey([http, grpc]), endpointsPortsKey([grpc, http]));
  assert.equal(
    endpointsPortsKey([{ port: 80, protocol: "TCP" }]),
    endpointsPortsKey([{ name: "", port: 80, protocol: "TCP" }]),
  );
  assert.notEqual(endpointsPortsKey([http]), endpointsPortsKey([{ ...http, port: 8081 }]));
});

test("subsetsContentKey", async (t) => {
  const cases: { name: string; a: EndpointsSubset[]; b: EndpointsSubset[]; equal: boolean }[] = [
    { name: "empty", a: [], b: [], equal: true },
    { name: "empty subsets mean nothing", a: [subset([])], b: [], equal: true },
    {
      name: "address order",
      a: [subset(["1.1.1.1", "2.2.2.2"])],
      b: [subset(["2.2.2.2", "1.1.1.1"])],
      equal: true,
    },
    {
      name: "repacked into one subset",
      a: [subset(["1.1.1.1"]), subset(["2.2.2.2"], ["3.3.3.3"])],
      b: [subset(["2.2.2.2", "1.1.1.1"], ["3.3.3.3"])],
      equal: true,
    },
    {
      name: "subset order",
      a: [subset(["1.1.1.1"]), subset(["2.2.2.2"], [], [grpc])],
      b: [subset(["2.2.2.2"], [], [grpc]), subset(["1.1.1.1"])],
      equal: true,
    },
    { name: "IPv6 spelling", a: [subset(["FD00::0:1"])], b: [subset(["fd00::1"])], equal: true },
    { name: "readiness", a: [subset(["1.1.1.1"])], b: [subset([], ["1.1.1.1"])], equal: false },
    { name: "ports", a: [subset(["1.1.1.1"])], b: [subset(["1.1.1.1"], [], [grpc])], equal: false },
    { name: "address", a: [subset(["1.1.1.1"])], b: [subset(["1.1.1.2"])], equal: false },
  ];
  for (const { name, a, b, equal } of cases) {
    await t.test(name, () => assert.equal(subsetsContentKey(a) === subsetsContentKey(b), equal));
  }
});
