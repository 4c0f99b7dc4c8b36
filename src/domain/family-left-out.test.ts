import assert from "node:assert/strict";
import { test } from "node:test";
import type { AddressFamily } from "./endpoints.ts";
import { endpointsOfOtherFamilies } from "./family-left-out.ts";
import type { Source } from "./source.ts";

const ready = { ready: true, serving: true, terminating: false };
function source(name: string, addressType: AddressFamily | undefined, addresses: string[]): Source {
  return {
    name,
    group:
      addressType === undefined
        ? undefined
        : {
            addressType,
            ports: [],
            endpoints: addresses.map((address) => ({ address, conditions: ready })),
          },
    refused: [],
  };
}

test("endpoints of families the production Service lacks are counted, others and FQDN not", () => {
  const v4 = source("a", "IPv4", ["198.18.1.1", "198.18.1.2"]);
  const v6 = source("b", "IPv6", ["2001:2::1", "2001:2::2", "2001:2::3"]);
  const fqdn = source("c", undefined, []);
  const cases: [AddressFamily[], Source[], number][] = [
    [["IPv4"], [v4, v6, fqdn], 3],
    [["IPv6"], [v4, v6, fqdn], 2],
    [["IPv4", "IPv6"], [v4, v6], 0],
    [["IPv6", "IPv4"], [v4, v6], 0],
    [[], [v4, v6], 5],
    [["IPv4"], [], 0],
    [["IPv4"], [source("d", "IPv6", [])], 0],
  ];
  for (const [families, sources, expected] of cases) {
    assert.equal(endpointsOfOtherFamilies(families, sources), expected, families.join());
  }
});
