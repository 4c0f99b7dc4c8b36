// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { apiServerRanges, nodeRanges, serviceCidrRanges } from "./production-ranges.ts";

test("production's own ranges are read in every family, canonical; mapped addresses as IPv4", () => {
  assert.deepEqual(
    nodeRanges({
      metadata: { name: "n" },
      spec: { podCIDRs: ["198.18.0.0/24", "2001:2:0:0:1::/80"] },
      status: {
        addresses: [
          { address: "198.18.0.10" },
          { address: "2001:2:0:0::A" },
          { address: "::ffff:198.18.0.11" },
          { address: "node-1.example" },
        ],
      },
    }),
    ["198.18.0.10/32", "2001:2::a/128", "198.18.0.11/32", "198.18.0.0/24", "2001:2:0:0:1::/80"],
  );
  assert.deepEqual(
    nodeRanges({ metadata: { name: "n" }, spec: { podCIDR: "2001:2:0:f0::/64" } }),
    ["2001:2:0:f0::/64"],
    "the single podCIDR field when podCIDRs is absent",
  );
  assert.deepEqual(
    serviceCidrRanges({
      metadata: { name: "kubernetes" },
      spec: { cidrs: ["198.19.0.0/24", "2001:2:0:100::/112"] },
    }),
    ["198.19.0.0/24", "2001:2:0:100::/112"],
  );
  assert.deepEqual(
    apiServerRanges({
      addressType: "IPv6",
      endpoints: [{ addresses: ["2001:2::1"] }, { addresses: ["::ffff:c612:1"] }],
    }),
    ["2001:2::1/128", "198.18.0.1/32"],
  );
});
