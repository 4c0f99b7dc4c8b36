import assert from "node:assert/strict";
import { test } from "node:test";
import { DenyListKeeper, peakPolicy, productionDenyList } from "./peak-policy.ts";

test("productionDenyList: configured ranges, the API server's address, then what production says", () => {
  const production = {
    ranges: {
      podCIDRs: ["198.18.0.0/20"],
      serviceCIDRs: ["198.19.0.0/24"],
      nodeCIDRs: ["198.18.0.0/24"],
    },
  };
  const configured = ["198.18.0.0/20", "198.19.0.0/24", "198.18.0.0/24"];
  const discovered = ["198.18.0.10/32", "198.19.0.0/16"];
  const cases = [
    { name: "IPv4 API server", server: "https://198.18.0.1:6443", api: ["198.18.0.1"] },
    { name: "API server by name: no address to deny", server: "https://api.example:6443", api: [] },
    { name: "IPv6 API server", server: "https://[fd00::1]:6443", api: ["fd00::1"] },
    { name: "IPv6, canonical", server: "https://[2001:2:0:0::A]:6443", api: ["2001:2::a"] },
    {
      name: "IPv4-mapped: the IPv4 address it stands for",
      server: "https://[::ffff:198.18.0.1]:6443",
      api: ["198.18.0.1"],
    },
    { name: "not connected yet", server: undefined, api: [] },
  ];
  for (const c of cases) {
    assert.deepEqual(
      productionDenyList(production, c.server, discovered),
      [...configured, ...c.api, ...discovered],
      c.name,
    );
  }
});

test("peakPolicy: the peak's allowed CIDRs and cap, production's deny list", () => {
  assert.deepEqual(
    peakPolicy({ allowedCIDRs: ["198.18.16.0/20"], maxEndpointsPerService: 500 }, ["198.18.0.1"]),
    { allowed: ["198.18.16.0/20"], denied: ["198.18.0.1"], maxEndpoints: 500 },
  );
});

test("DenyListKeeper: unknown until read, a new version only when the content changes", () => {
  const keeper = new DenyListKeeper();
  const current = () => keeper.current;
  assert.equal(current(), undefined);
  assert.equal(keeper.update(["198.18.0.1/32"]), true);
  assert.deepEqual(current(), { version: 1, ranges: ["198.18.0.1/32"] });
  assert.equal(keeper.update(["198.18.0.1/32"]), false, "the same list again");
  assert.equal(current()?.version, 1);
  assert.equal(keeper.update([]), true, "an empty list read is a change, not unknown");
  assert.deepEqual(current(), { version: 2, ranges: [] });
});
