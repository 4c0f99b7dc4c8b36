import assert from "node:assert/strict";
import { test } from "node:test";
import { peakPolicy } from "./peak-policy.ts";

test("peakPolicy denies production's configured and discovered ranges and its API server", () => {
  const cases = [
    {
      name: "everything",
      server: "https://198.18.0.1:6443",
      want: [
        "198.18.0.0/20",
        "198.19.0.0/24",
        "198.18.0.0/24",
        "198.18.0.1",
        "198.18.0.10/32",
        "198.19.0.0/16",
      ],
    },
    {
      name: "API server by name: no address to deny",
      server: "https://api.prod.example:6443",
      want: ["198.18.0.0/20", "198.19.0.0/24", "198.18.0.0/24", "198.18.0.10/32", "198.19.0.0/16"],
    },
    {
      name: "IPv6 API server",
      server: "https://[fd00::1]:6443",
      want: [
        "198.18.0.0/20",
        "198.19.0.0/24",
        "198.18.0.0/24",
        "fd00::1",
        "198.18.0.10/32",
        "198.19.0.0/16",
      ],
    },
    {
      name: "not connected yet",
      server: undefined,
      want: ["198.18.0.0/20", "198.19.0.0/24", "198.18.0.0/24", "198.18.0.10/32", "198.19.0.0/16"],
    },
  ];
  for (const c of cases) {
    const policy = peakPolicy(
      { allowedCIDRs: ["198.18.16.0/20"], maxEndpointsPerService: 500 },
      {
        ranges: {
          podCIDRs: ["198.18.0.0/20"],
          serviceCIDRs: ["198.19.0.0/24"],
          nodeCIDRs: ["198.18.0.0/24"],
        },
      },
      c.server,
      { nodes: ["198.18.0.10/32"], services: ["198.19.0.0/16"] },
    );
    assert.deepEqual(
      policy,
      { allowed: ["198.18.16.0/20"], denied: c.want, maxEndpoints: 500 },
      c.name,
    );
  }
});
