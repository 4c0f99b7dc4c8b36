// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { BlockList, isIP } from "node:net";
import { test } from "node:test";
import fc from "fast-check";
import {
  type AddressPolicy,
  admitContribution,
  admitGroup,
  capEndpoints,
  compileAddressPolicy,
  judgeAddress,
  REFUSAL_REASONS,
  type RefusalReason,
  type Verdict,
} from "./address-policy.ts";
import type {
  AddressFamily,
  Contribution,
  Endpoint,
  EndpointConditions,
  EndpointGroup,
} from "./endpoints.ts";

const READY = { ready: true, serving: true, terminating: false };
const NOT_READY = { ready: false, serving: false, terminating: false };
const DRAINING = { ready: false, serving: true, terminating: true };

const POLICY: AddressPolicy = {
  allowed: ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"],
  // Pod, service and node ranges; API server addresses.
  denied: ["10.96.0.0/12", "10.244.0.0/16", "192.168.1.10/32", "fd00:96::/108", "fd00::10/128"],
  maxEndpoints: 100,
};
const EVERYTHING: AddressPolicy = { allowed: ["0.0.0.0/0", "::/0"], denied: [], maxEndpoints: 100 };

const e = (address: string, conditions: EndpointConditions = READY): Endpoint => ({
  address,
  conditions,
});
const PORTS = [{ name: "http", port: 8080, protocol: "TCP" as const }];
const group = (addressType: AddressFamily, endpoints: Endpoint[]): EndpointGroup => ({
  addressType,
  ports: PORTS,
  endpoints,
});
const contribution = (...groups: EndpointGroup[]): Contribution => ({ cluster: "peak", groups });

/** The canonical address admitted, or the reason the single endpoint was refused. */
function verdict(address: string, family: AddressFamily, policy: AddressPolicy): string {
  const result = admitContribution(contribution(group(family, [e(address)])), policy);
  const admitted = result.contribution.groups[0]?.endpoints ?? [];
  assert.equal(admitted.length + result.refused.length, 1);
  return admitted[0]?.address ?? `refused: ${result.refused[0]?.reason}`;
}

test("admitContribution judges each address", async (t) => {
  const refused = (reason: RefusalReason) => `refused: ${reason}`;
  const cases: [name: string, AddressFamily, string, AddressPolicy, string][] = [
    ["allowed IPv4", "IPv4", "10.1.2.3", POLICY, "10.1.2.3"],
    ["allowed IPv6, canonicalised", "IPv6", "FD00:0:0::0001", POLICY, "fd00::1"],
    ["garbage", "IPv4", "not-an-ip", POLICY, refused("invalid")],
    ["empty", "IPv4", "", POLICY, refused("invalid")],
    ["leading zero", "IPv4", "10.0.0.01", POLICY, refused("invalid")],
    ["a CIDR", "IPv4", "10.0.0.1/32", POLICY, refused("invalid")],
    ["a zone", "IPv6", "fd00::1%eth0", POLICY, refused("invalid")],
    ["spaces", "IPv4", " 10.0.0.1", POLICY, refused("invalid")],
    ["IPv4 in an IPv6 group", "IPv6", "10.1.2.3", POLICY, refused("invalid")],
    ["IPv6 in an IPv4 group", "IPv4", "fd00::1", POLICY, refused("invalid")],
    ["wrong family, but loopback first", "IPv6", "127.0.0.1", EVERYTHING, refused("loopback")],
    ["unspecified IPv4", "IPv4", "0.0.0.0", EVERYTHING, refused("unspecified")],
    ["this network (0/8)", "IPv4", "0.1.2.3", EVERYTHING, refused("unspecified")],
    ["unspecified IPv6", "IPv6", "::", EVERYTHING, refused("unspecified")],
    ["unspecified IPv6, long form", "IPv6", "0:0:0:0:0:0:0:0", EVERYTHING, refused("unspecified")],
    ["loopback", "IPv4", "127.0.0.1", EVERYTHING, refused("loopback")],
    ["loopback, end of 127/8", "IPv4", "127.255.255.254", EVERYTHING, refused("loopback")],
    ["loopback IPv6", "IPv6", "::1", EVERYTHING, refused("loopback")],
    ["metadata service", "IPv4", "169.254.169.254", EVERYTHING, refused("link-local")],
    ["link-local", "IPv4", "169.254.0.1", EVERYTHING, refused("link-local")],
    ["link-local IPv6", "IPv6", "fe80::1", EVERYTHING, refused("link-local")],
    ["link-local IPv6, end of fe80::/10", "IPv6", "febf::1", EVERYTHING, refused("link-local")],
    ["just past fe80::/10", "IPv6", "fec0::1", EVERYTHING, "fec0::1"],
    ["multicast", "IPv4", "224.0.0.1", EVERYTHING, refused("multicast")],
    ["multicast, end of 224/4", "IPv4", "239.255.255.250", EVERYTHING, refused("multicast")],
    ["multicast IPv6", "IPv6", "ff02::1", EVERYTHING, refused("multicast")],
    ["broadcast", "IPv4", "255.255.255.255", EVERYTHING, refused("broadcast")],
    // 255.255.255.255 is inside reserved 240.0.0.0/4: the more specific reason wins.
    [
      "just below broadcast is reserved",
      "IPv4",
      "255.255.255.254",
      EVERYTHING,
      refused("reserved"),
    ],
    ["service range", "IPv4", "10.96.0.1", POLICY, refused("production-range")],
    ["pod range", "IPv4", "10.244.3.4", POLICY, refused("production-range")],
    ["API server /32", "IPv4", "192.168.1.10", POLICY, refused("production-range")],
    ["next to the API server", "IPv4", "192.168.1.11", POLICY, "192.168.1.11"],
    ["IPv6 service range", "IPv6", "fd00:96::1", POLICY, refused("production-range")],
    ["IPv6 API server /128", "IPv6", "FD00::10", POLICY, refused("production-range")],
    ["outside allowed", "IPv4", "8.8.8.8", POLICY, refused("not-allowed")],
    ["outside allowed IPv6", "IPv6", "2001:db8::1", POLICY, refused("not-allowed")],
    ["IPv4-compatible (not mapped)", "IPv6", "::10.1.2.3", EVERYTHING, refused("reserved")],
    // IPv4-mapped IPv6: judged by the IPv4 address it stands for.
    ["mapped, IPv4 group", "IPv4", "::ffff:10.1.2.3", POLICY, "10.1.2.3"],
    ["mapped, IPv6 group", "IPv6", "::ffff:10.1.2.3", POLICY, refused("invalid")],
    ["mapped loopback, IPv6 group", "IPv6", "::ffff:127.0.0.1", EVERYTHING, refused("loopback")],
    ["mapped loopback, IPv4 group", "IPv4", "::ffff:127.0.0.1", EVERYTHING, refused("loopback")],
    ["mapped loopback, hex", "IPv6", "::FFFF:7F00:1", EVERYTHING, refused("loopback")],
    ["mapped metadata", "IPv6", "::ffff:169.254.169.254", EVERYTHING, refused("link-local")],
    ["mapped metadata, hex", "IPv4", "::ffff:a9fe:a9fe", EVERYTHING, refused("link-local")],
    ["mapped unspecified", "IPv4", "::ffff:0.0.0.0", EVERYTHING, refused("unspecified")],
    ["mapped broadcast", "IPv4", "::ffff:ffff:ffff", EVERYTHING, refused("broadcast")],
    ["mapped multicast", "IPv6", "::ffff:224.0.0.1", EVERYTHING, refused("multicast")],
    [
      "mapped service address, long form",
      "IPv4",
      "0:0:0:0:0:FFFF:10.96.0.1",
      POLICY,
      refused("production-range"),
    ],
    ["mapped, outside allowed", "IPv6", "::ffff:8.8.8.8", POLICY, refused("not-allowed")],
    ["ffff elsewhere is plain IPv6", "IPv6", "fd00::ffff:a:b", POLICY, "fd00::ffff:a:b"],
    [
      "denied wins over an overlapping allowed",
      "IPv4",
      "10.0.0.1",
      { allowed: ["10.0.0.0/8"], denied: ["10.0.0.0/24"], maxEndpoints: 10 },
      refused("production-range"),
    ],
    [
      "built-in wins over allowed",
      "IPv4",
      "127.0.0.1",
      { allowed: ["127.0.0.0/8"], denied: [], maxEndpoints: 10 },
      refused("loopback"),
    ],
    [
      "built-in is reported before denied",
      "IPv4",
      "169.254.169.254",
      { allowed: ["0.0.0.0/0"], denied: ["169.254.0.0/16"], maxEndpoints: 10 },
      refused("link-local"),
    ],
    [
      "a bare denied address counts as /32",
      "IPv4",
      "10.0.0.1",
      { allowed: ["10.0.0.0/8"], denied: ["10.0.0.1"], maxEndpoints: 10 },
      refused("production-range"),
    ],
    [
      "an unreadable denied entry fails closed",
      "IPv4",
      "10.0.0.1",
      { allowed: ["10.0.0.0/8"], denied: ["10.0.0.0/33"], maxEndpoints: 10 },
      refused("production-range"),
    ],
    [
      "an unreadable allowed entry allows nothing",
      "IPv4",
      "10.0.0.1",
      { allowed: ["10.0.0.1/8"], denied: [], maxEndpoints: 10 },
      refused("not-allowed"),
    ],
    [
      "empty allowed admits nothing",
      "IPv4",
      "10.0.0.1",
      { allowed: [], denied: [], maxEndpoints: 10 },
      refused("not-allowed"),
    ],
    [
      "empty allowed admits nothing, IPv6",
      "IPv6",
      "fd00::1",
      { allowed: [], denied: [], maxEndpoints: 10 },
      refused("not-allowed"),
    ],
  ];
  for (const [name, family, address, policy, want] of cases) {
    await t.test(name, () => assert.equal(verdict(address, family, policy), want));
  }
});

test("admitContribution removes refused endpoints and keeps the rest of each group", () => {
  const input: Contribution = {
    cluster: "peak-a",
    triggerTime: "2024-05-01T10:00:00Z",
    groups: [
      group("IPv4", [e("10.0.0.2"), e("169.254.169.254"), e("10.0.0.1", NOT_READY)]),
      group("IPv4", [e("127.0.0.1"), e("10.96.0.1")]),
      group("IPv6", [e("fd00::2"), e("::ffff:10.0.0.3")]),
    ],
  };
  assert.deepEqual(admitContribution(input, POLICY), {
    contribution: {
      cluster: "peak-a",
      triggerTime: "2024-05-01T10:00:00Z",
      groups: [
        group("IPv4", [e("10.0.0.1", NOT_READY), e("10.0.0.2")]),
        // Left empty, but kept so its ports are still known.
        group("IPv4", []),
        group("IPv6", [e("fd00::2")]),
      ],
    },
    refused: [
      { address: "10.96.0.1", reason: "production-range" },
      { address: "127.0.0.1", reason: "loopback" },
      { address: "169.254.169.254", reason: "link-local" },
      { address: "::ffff:10.0.0.3", reason: "invalid" },
    ],
    truncated: undefined,
  });
});

test("an endpoint with two addresses arrives as two endpoints, each judged on its own", () => {
  // Endpoint has one address: the kube boundary (endpointGroupOf) flattens a multi-address
  // endpoint into one Endpoint per address, so "refuse the whole endpoint" cannot be expressed here.
  const result = admitContribution(
    contribution(group("IPv4", [e("10.0.0.1"), e("127.0.0.1")])),
    POLICY,
  );
  assert.deepEqual(result.contribution.groups[0]?.endpoints, [e("10.0.0.1")]);
  assert.deepEqual(result.refused, [{ address: "127.0.0.1", reason: "loopback" }]);
});

test("admitContribution caps endpoints, ready first, then by address", async (t) => {
  const input = contribution(
    group("IPv4", [
      e("10.0.0.9", NOT_READY),
      e("10.0.0.5"),
      e("10.0.0.1", NOT_READY),
      e("10.0.0.7", DRAINING),
    ]),
    group("IPv6", [e("fd00::b"), e("fd00::a", NOT_READY)]),
  );
  const cases: { name: string; max: number; want: [string[], string[]]; truncated?: object }[] = [
    {
      name: "no cap needed",
      max: 6,
      want: [
        ["10.0.0.1", "10.0.0.5", "10.0.0.7", "10.0.0.9"],
        ["fd00::a", "fd00::b"],
      ],
    },
    {
      name: "ready over all groups, then serving, then by address",
      max: 4,
      want: [["10.0.0.1", "10.0.0.5", "10.0.0.7"], ["fd00::b"]],
      truncated: { kept: 4, dropped: 2 },
    },
    {
      name: "only ready",
      max: 2,
      want: [["10.0.0.5"], ["fd00::b"]],
      truncated: { kept: 2, dropped: 4 },
    },
    {
      name: "ready by address",
      max: 1,
      want: [["10.0.0.5"], []],
      truncated: { kept: 1, dropped: 5 },
    },
    { name: "zero", max: 0, want: [[], []], truncated: { kept: 0, dropped: 6 } },
    { name: "negative is zero", max: -1, want: [[], []], truncated: { kept: 0, dropped: 6 } },
    { name: "NaN is zero", max: Number.NaN, want: [[], []], truncated: { kept: 0, dropped: 6 } },
    {
      name: "a fraction rounds down",
      max: 1.9,
      want: [["10.0.0.5"], []],
      truncated: { kept: 1, dropped: 5 },
    },
    {
      name: "Infinity is no cap",
      max: Number.POSITIVE_INFINITY,
      want: [
        ["10.0.0.1", "10.0.0.5", "10.0.0.7", "10.0.0.9"],
        ["fd00::a", "fd00::b"],
      ],
    },
  ];
  for (const { name, max, want, truncated } of cases) {
    await t.test(name, () => {
      const result = admitContribution(input, { ...POLICY, maxEndpoints: max });
      const addresses = result.contribution.groups.map((g) => g.endpoints.map((x) => x.address));
      assert.deepEqual(addresses, want);
      assert.deepEqual(result.truncated, truncated);
      assert.deepEqual(result.refused, []);
    });
  }
});

test("judgeAddress: the edges of every built-in range", async (t) => {
  const compiled = compileAddressPolicy(EVERYTHING);
  const v4 = "IPv4";
  const v6 = "IPv6";
  const cases: [AddressFamily, string, string][] = [
    [v4, "0.0.0.0", "unspecified"],
    [v4, "0.255.255.255", "unspecified"],
    [v4, "1.0.0.0", "1.0.0.0"],
    [v4, "126.255.255.255", "126.255.255.255"],
    [v4, "127.0.0.0", "loopback"],
    [v4, "127.255.255.255", "loopback"],
    [v4, "128.0.0.0", "128.0.0.0"],
    [v4, "169.253.255.255", "169.253.255.255"],
    [v4, "169.254.0.0", "link-local"],
    [v4, "169.254.255.255", "link-local"],
    [v4, "169.255.0.0", "169.255.0.0"],
    [v4, "223.255.255.255", "223.255.255.255"],
    [v4, "224.0.0.0", "multicast"],
    [v4, "239.255.255.255", "multicast"],
    [v4, "240.0.0.0", "reserved"],
    [v4, "254.255.255.255", "reserved"],
    [v4, "255.255.255.254", "reserved"],
    // Inside 240.0.0.0/4 too: the more specific reason wins.
    [v4, "255.255.255.255", "broadcast"],
    // Ranges our tests and labs number pods from stay admissible.
    [v4, "198.18.0.0", "198.18.0.0"],
    [v4, "198.19.255.255", "198.19.255.255"],
    [v4, "100.64.0.1", "100.64.0.1"],
    [v4, "192.0.2.1", "192.0.2.1"],
    [v6, "::", "unspecified"],
    [v6, "::1", "loopback"],
    // IPv4-compatible (::/96), deprecated.
    [v6, "::2", "reserved"],
    [v6, "::10.1.2.3", "reserved"],
    [v6, "::ffff:ffff", "reserved"],
    [v6, "::1:0:0", "::1:0:0"],
    [v6, "::fffe:ffff:ffff", "::fffe:ffff:ffff"],
    [v6, "::1:0:0:0", "::1:0:0:0"],
    // NAT64: the well-known /96 and the local-use /48.
    [v6, "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff"],
    [v6, "64:ff9b::", "reserved"],
    [v6, "64:ff9b::a00:1", "reserved"],
    [v6, "64:ff9b::ffff:ffff", "reserved"],
    [v6, "64:ff9b::1:0:0", "64:ff9b::1:0:0"],
    [v6, "64:ff9b:0:ffff:ffff:ffff:ffff:ffff", "64:ff9b:0:ffff:ffff:ffff:ffff:ffff"],
    [v6, "64:ff9b:1::", "reserved"],
    [v6, "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "reserved"],
    [v6, "64:ff9b:2::", "64:ff9b:2::"],
    // Discard-only.
    [v6, "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    [v6, "100::", "reserved"],
    [v6, "100::ffff:ffff:ffff:ffff", "reserved"],
    [v6, "100:0:0:1::", "100:0:0:1::"],
    [v6, "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    [v6, "fe80::", "link-local"],
    [v6, "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"],
    [v6, "fec0::", "fec0::"],
    [v6, "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    [v6, "ff00::", "multicast"],
    [v6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast"],
    [v6, "2001:2::1", "2001:2::1"],
    [v6, "2001:db8::1", "2001:db8::1"],
    [v6, "fd00::1", "fd00::1"],
  ];
  for (const [family, address, want] of cases) {
    await t.test(address, () =>
      assert.deepEqual(judgeAddress(compiled, address, family), expect(want)),
    );
  }
});

/** A verdict from a short text: a reason, or the canonical address admitted. */
function expect(text: string): Verdict {
  return (REFUSAL_REASONS as readonly string[]).includes(text)
    ? { ok: false, reason: text as RefusalReason }
    : { ok: true, canonical: text };
}

test("judgeAddress: the edges of policy ranges", async (t) => {
  const policy = (allowed: string[], denied: string[]): AddressPolicy => ({
    allowed,
    denied,
    maxEndpoints: 10,
  });
  // Nested ranges (CIDR blocks overlap only by nesting), listed out of order: sharing a first
  // address (10.1.2.0/24 in 10.1.0.0/16), a last address (10.5.0.0/16 in 10.4.0.0/15), or neither.
  const NESTED = policy(
    ["10.0.0.0/8", "fd00::/8"],
    [
      "10.1.2.3/32",
      "10.5.0.0/16",
      "10.1.0.0/16",
      "10.1.2.0/24",
      "10.4.0.0/15",
      "fd00:1:2::/48",
      "fd00:1::/32",
    ],
  );
  const cases: [string, AddressPolicy, AddressFamily, unknown, string][] = [
    ["/0 allowed: first", policy(["0.0.0.0/0"], []), "IPv4", "1.0.0.0", "1.0.0.0"],
    [
      "/0 allowed: highest unicast",
      policy(["0.0.0.0/0"], []),
      "IPv4",
      "223.255.255.255",
      "223.255.255.255",
    ],
    ["/0 denied", policy(["0.0.0.0/0"], ["0.0.0.0/0"]), "IPv4", "10.0.0.1", "production-range"],
    ["IPv4 /0 denied, IPv6", policy(["::/0"], ["0.0.0.0/0"]), "IPv6", "fd00::1", "fd00::1"],
    ["IPv6 /0 denied, IPv4", policy(["0.0.0.0/0"], ["::/0"]), "IPv4", "10.0.0.1", "10.0.0.1"],
    ["IPv6 /0 denied", policy(["::/0"], ["::/0"]), "IPv6", "fd00::1", "production-range"],
    ["/32 allowed", policy(["10.0.0.1/32"], []), "IPv4", "10.0.0.1", "10.0.0.1"],
    ["below /32", policy(["10.0.0.1/32"], []), "IPv4", "10.0.0.0", "not-allowed"],
    ["above /32", policy(["10.0.0.1/32"], []), "IPv4", "10.0.0.2", "not-allowed"],
    ["/128 allowed", policy(["fd00::1/128"], []), "IPv6", "fd00:0::1", "fd00::1"],
    ["below /128", policy(["fd00::1/128"], []), "IPv6", "fd00::", "not-allowed"],
    ["above /128", policy(["fd00::1/128"], []), "IPv6", "fd00::2", "not-allowed"],
    ["/31 allowed, last", policy(["10.0.0.0/31"], []), "IPv4", "10.0.0.1", "10.0.0.1"],
    ["/31 allowed, next", policy(["10.0.0.0/31"], []), "IPv4", "10.0.0.2", "not-allowed"],
    ["/127 allowed, last", policy(["fd00::/127"], []), "IPv6", "fd00::1", "fd00::1"],
    ["/127 allowed, next", policy(["fd00::/127"], []), "IPv6", "fd00::2", "not-allowed"],
    [
      "denied /32 in allowed",
      policy(["10.0.0.0/8"], ["10.0.0.1"]),
      "IPv4",
      "10.0.0.1",
      "production-range",
    ],
    ["next to a denied /32", policy(["10.0.0.0/8"], ["10.0.0.1"]), "IPv4", "10.0.0.2", "10.0.0.2"],
    ["denied /128, bare", policy(["fd00::/8"], ["FD00::1"]), "IPv6", "fd00::1", "production-range"],
    ["nested: before all", NESTED, "IPv4", "10.0.255.255", "10.0.255.255"],
    ["nested: first of the outer", NESTED, "IPv4", "10.1.0.0", "production-range"],
    ["nested: the innermost", NESTED, "IPv4", "10.1.2.3", "production-range"],
    ["nested: last of the inner", NESTED, "IPv4", "10.1.2.255", "production-range"],
    ["nested: last of the outer", NESTED, "IPv4", "10.1.255.255", "production-range"],
    ["nested: between", NESTED, "IPv4", "10.2.0.0", "10.2.0.0"],
    ["nested: before the second", NESTED, "IPv4", "10.3.255.255", "10.3.255.255"],
    ["nested: first of the second", NESTED, "IPv4", "10.4.0.0", "production-range"],
    ["nested: shared last", NESTED, "IPv4", "10.5.255.255", "production-range"],
    ["nested: after all", NESTED, "IPv4", "10.6.0.0", "10.6.0.0"],
    [
      "nested IPv6: before",
      NESTED,
      "IPv6",
      "fd00:0:ffff:ffff:ffff:ffff:ffff:ffff",
      "fd00:0:ffff:ffff:ffff:ffff:ffff:ffff",
    ],
    ["nested IPv6: first", NESTED, "IPv6", "fd00:1::", "production-range"],
    ["nested IPv6: inner", NESTED, "IPv6", "fd00:1:2::1", "production-range"],
    [
      "nested IPv6: last",
      NESTED,
      "IPv6",
      "fd00:1:ffff:ffff:ffff:ffff:ffff:ffff",
      "production-range",
    ],
    ["nested IPv6: after", NESTED, "IPv6", "fd00:2::", "fd00:2::"],
    [
      "touching ranges, the seam",
      policy(["10.0.0.0/8"], ["10.0.0.0/9", "10.128.0.0/10"]),
      "IPv4",
      "10.128.0.0",
      "production-range",
    ],
    [
      "touching ranges, before the seam",
      policy(["10.0.0.0/8"], ["10.0.0.0/9", "10.128.0.0/10"]),
      "IPv4",
      "10.127.255.255",
      "production-range",
    ],
    [
      "touching ranges, after both",
      policy(["10.0.0.0/8"], ["10.0.0.0/9", "10.128.0.0/10"]),
      "IPv4",
      "10.192.0.0",
      "10.192.0.0",
    ],
    [
      "the same range twice",
      policy(["10.0.0.0/8"], ["10.1.0.0/16", "10.1.0.0/16"]),
      "IPv4",
      "10.1.255.255",
      "production-range",
    ],
    [
      "a denied entry with host bits fails closed",
      policy(["::/0"], ["fd00:1::/32", "10.2.0.0/9"]),
      "IPv6",
      "fd00::1",
      "production-range",
    ],
    [
      "a denied mapped CIDR fails closed",
      policy(["::/0"], ["::ffff:10.0.0.0/104"]),
      "IPv6",
      "fd00::1",
      "production-range",
    ],
    [
      "an allowed entry with host bits allows nothing",
      policy(["10.0.0.1/8"], []),
      "IPv4",
      "10.0.0.1",
      "not-allowed",
    ],
    [
      "IPv6 denied in IPv4 space",
      policy(["fd00::/8", "10.0.0.0/8"], ["fd00:1::/32"]),
      "IPv4",
      "10.0.0.1",
      "10.0.0.1",
    ],
    [
      "IPv6 denied, edge",
      policy(["fd00::/8"], ["fd00:1::/32"]),
      "IPv6",
      "fd00:1:ffff:ffff:ffff:ffff:ffff:ffff",
      "production-range",
    ],
    [
      "IPv6 denied, past the edge",
      policy(["fd00::/8"], ["fd00:1::/32"]),
      "IPv6",
      "fd00:2::",
      "fd00:2::",
    ],
    // IPv4-mapped, dotted and hex: judged as the IPv4 address, admitted in IPv4 form.
    ["mapped, dotted", policy(["10.0.0.0/8"], []), "IPv4", "::ffff:10.0.0.1", "10.0.0.1"],
    ["mapped, hex", policy(["10.0.0.0/8"], []), "IPv4", "::ffff:a00:1", "10.0.0.1"],
    [
      "mapped, long hex",
      policy(["10.0.0.0/8"], []),
      "IPv4",
      "0000:0000:0000:0000:0000:FFFF:0A00:0001",
      "10.0.0.1",
    ],
    ["mapped, in an IPv6 group", policy(["10.0.0.0/8"], []), "IPv6", "::ffff:a00:1", "invalid"],
    [
      "mapped, denied",
      policy(["10.0.0.0/8"], ["10.0.0.1"]),
      "IPv6",
      "::ffff:a00:1",
      "production-range",
    ],
    [
      "mapped, allowed only as IPv6",
      policy(["::ffff:0:0/96"], []),
      "IPv4",
      "::ffff:10.0.0.1",
      "not-allowed",
    ],
    ["mapped reserved", policy(["0.0.0.0/0"], []), "IPv4", "::ffff:f000:1", "reserved"],
    ["not a string", policy(["0.0.0.0/0"], []), "IPv4", 167772161, "invalid"],
    ["null", policy(["0.0.0.0/0"], []), "IPv4", null, "invalid"],
  ];
  for (const [name, p, family, address, want] of cases) {
    await t.test(name, () =>
      assert.deepEqual(judgeAddress(compileAddressPolicy(p), address, family), expect(want)),
    );
  }
});

test("compileAddressPolicy is frozen and normalises the cap", () => {
  const compiled = compileAddressPolicy(POLICY);
  assert.ok(Object.isFrozen(compiled));
  assert.ok(Object.isFrozen(compiled.denied) && Object.isFrozen(compiled.denied.IPv4.firsts));
  const cap = (maxEndpoints: number) =>
    compileAddressPolicy({ ...POLICY, maxEndpoints }).maxEndpoints;
  assert.deepEqual(
    [cap(5), cap(5.9), cap(0), cap(-1), cap(Number.NaN), cap(Number.POSITIVE_INFINITY)],
    [5, 5, 0, 0, 0, Number.POSITIVE_INFINITY],
  );
});

test("admitGroup judges one group: canonical, sorted, one endpoint per address, no cap", () => {
  const compiled = compileAddressPolicy({ ...POLICY, maxEndpoints: 0 });
  const ipv4 = group("IPv4", [
    e("10.0.0.2"),
    e("127.0.0.1"),
    e("10.0.0.10", DRAINING),
    e("10.0.0.1", NOT_READY),
    // The same address as the one above, written mapped: one endpoint, merged as mergeConditions
    // merges (serving from the draining copy, not terminating as the other copy is not).
    e("::ffff:a00:1", DRAINING),
    e("10.96.0.1"),
    e("10.96.0.1"),
  ]);
  const before = structuredClone(ipv4);
  assert.deepEqual(admitGroup(compiled, ipv4), {
    group: group("IPv4", [
      e("10.0.0.1", { ready: false, serving: true, terminating: false }),
      e("10.0.0.10", DRAINING),
      e("10.0.0.2"),
    ]),
    refused: [
      { address: "10.96.0.1", reason: "production-range" },
      { address: "10.96.0.1", reason: "production-range" },
      { address: "127.0.0.1", reason: "loopback" },
    ],
  });
  assert.deepEqual(ipv4, before, "the input is not changed");
  assert.deepEqual(
    admitGroup(compiled, group("IPv6", [e("FD00:0::1", NOT_READY), e("fd00::1"), e("::1")])),
    {
      group: group("IPv6", [e("fd00::1")]),
      refused: [{ address: "::1", reason: "loopback" }],
    },
  );
  assert.deepEqual(admitGroup(compiled, group("IPv6", [])), {
    group: group("IPv6", []),
    refused: [],
  });
});

test("admitGroup copies only the three conditions", () => {
  const noisy = { ...READY, hint: "zone-a" } as EndpointConditions;
  const { group: admitted } = admitGroup(
    compileAddressPolicy(POLICY),
    group("IPv4", [e("10.0.0.1", noisy)]),
  );
  assert.deepEqual(admitted.endpoints, [e("10.0.0.1")]);
});

test("capEndpoints: within the cap the groups come back as they are", async (t) => {
  const groups = [group("IPv4", [e("10.0.0.1"), e("10.0.0.2", NOT_READY)]), group("IPv6", [])];
  for (const max of [2, 2.5, 100, Number.POSITIVE_INFINITY]) {
    await t.test(String(max), () => {
      const result = capEndpoints(groups, max);
      assert.equal(result.truncated, undefined);
      assert.equal(result.groups.length, 2);
      assert.equal(result.groups[0], groups[0]);
      assert.equal(result.groups[1], groups[1]);
    });
  }
  await t.test("no groups", () =>
    assert.deepEqual(capEndpoints([], 0), { groups: [], truncated: undefined }),
  );
});

test("capEndpoints: over the cap, ready first, then serving, then by address, then group order", async (t) => {
  const groups = [
    group("IPv4", [
      e("10.0.0.1", NOT_READY),
      e("10.0.0.5"),
      e("10.0.0.7", DRAINING),
      e("10.0.0.9", NOT_READY),
    ]),
    group("IPv6", [e("fd00::a", NOT_READY), e("fd00::b")]),
    // The same address in a second IPv4 group: the earlier group keeps it.
    group("IPv4", [e("10.0.0.5")]),
  ];
  const cases: [max: number, want: string[][], truncated: { kept: number; dropped: number }][] = [
    [
      6,
      // 10.0.0.9 and fd00::a are equally unavailable: the lower address stays.
      [["10.0.0.1", "10.0.0.5", "10.0.0.7", "10.0.0.9"], ["fd00::b"], ["10.0.0.5"]],
      { kept: 6, dropped: 1 },
    ],
    [4, [["10.0.0.5", "10.0.0.7"], ["fd00::b"], ["10.0.0.5"]], { kept: 4, dropped: 3 }],
    [3, [["10.0.0.5"], ["fd00::b"], ["10.0.0.5"]], { kept: 3, dropped: 4 }],
    [1, [["10.0.0.5"], [], []], { kept: 1, dropped: 6 }],
    [0, [[], [], []], { kept: 0, dropped: 7 }],
    [-1, [[], [], []], { kept: 0, dropped: 7 }],
    [Number.NaN, [[], [], []], { kept: 0, dropped: 7 }],
  ];
  for (const [max, want, truncated] of cases) {
    await t.test(String(max), () => {
      const result = capEndpoints(groups, max);
      assert.deepEqual(
        result.groups.map((g) => g.endpoints.map((x) => x.address)),
        want,
      );
      assert.deepEqual(result.truncated, truncated);
      assert.deepEqual(
        result.groups.map((g) => [g.addressType, g.ports]),
        groups.map((g) => [g.addressType, g.ports]),
      );
    });
  }
});

// Properties. The oracle is node's own BlockList, not the code under test.

const octet = fc.nat({ max: 255 });
const ipv4 = fc
  .tuple(fc.constantFrom(0, 8, 10, 127, 169, 192, 224, 239, 255), octet, octet, octet)
  .map(([a, b, c, d]) => (a === 169 ? `169.254.${c}.${d}` : `${a}.${b}.${c}.${d}`));
const address = fc.oneof(
  ipv4,
  ipv4.map((v4) => `::ffff:${v4}`),
  fc.ipV6(),
  fc.constantFrom("10.0.0.1", "10.0.0.2", "10.1.0.1", "10.0.0.5", "fd00::1", "fe80::1", "::1"),
  fc.ipV4Extended(),
  fc.string({ maxLength: 6 }),
);
const conditions = fc.record({
  ready: fc.boolean(),
  serving: fc.boolean(),
  terminating: fc.boolean(),
});
const arbGroup = fc.record({
  addressType: fc.constantFrom<AddressFamily>("IPv4", "IPv6"),
  ports: fc.constant(PORTS),
  endpoints: fc.array(fc.record({ address, conditions }), { maxLength: 12 }),
});
const arbContribution = fc.record({
  cluster: fc.constant("peak"),
  groups: fc.array(arbGroup, { maxLength: 4 }),
});
const arbPolicy = fc.record({
  allowed: fc.subarray([
    "10.0.0.0/8",
    "10.1.0.0/16",
    "0.0.0.0/0",
    "::/0",
    "fd00::/8",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "2000::/3",
  ]),
  denied: fc.subarray(["10.1.0.0/16", "10.0.0.5/32", "fd00::/16", "192.168.0.0/16", "10.0.0.7"]),
  maxEndpoints: fc.oneof(fc.nat({ max: 20 }), fc.constant(Number.POSITIVE_INFINITY)),
});

const BUILT_IN = [
  "0.0.0.0/8",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "224.0.0.0/4",
  "255.255.255.255/32",
  "240.0.0.0/4",
  "::/128",
  "::/96",
  "64:ff9b::/96",
  "64:ff9b:1::/48",
  "100::/64",
  "::1/128",
  "fe80::/10",
  "ff00::/8",
];

/** One BlockList per family, so IPv4 is never matched against IPv6 rules or the reverse. */
function blockLists(cidrs: readonly string[]): Record<AddressFamily, BlockList> {
  const lists = { IPv4: new BlockList(), IPv6: new BlockList() };
  for (const cidr of cidrs) {
    const [net = "", prefix = String(isIP(net) === 4 ? 32 : 128)] = cidr.split("/");
    const family = isIP(net) === 4 ? "IPv4" : "IPv6";
    lists[family].addSubnet(net, Number(prefix), family === "IPv4" ? "ipv4" : "ipv6");
  }
  return lists;
}

const countEndpoints = (c: Contribution) => c.groups.reduce((n, g) => n + g.endpoints.length, 0);

test("property: every admitted address is valid, allowed and outside every denied range", () => {
  fc.assert(
    fc.property(arbContribution, arbPolicy, (input, policy) => {
      const allowed = blockLists(policy.allowed);
      const denied = blockLists([...policy.denied, ...BUILT_IN]);
      for (const g of admitContribution(input, policy).contribution.groups) {
        const type = g.addressType === "IPv4" ? "ipv4" : "ipv6";
        for (const { address } of g.endpoints) {
          assert.equal(isIP(address), g.addressType === "IPv4" ? 4 : 6, address);
          assert.ok(!denied[g.addressType].check(address, type), `${address} is denied`);
          assert.ok(allowed[g.addressType].check(address, type), `${address} is not allowed`);
        }
      }
    }),
    { numRuns: 500 },
  );
});

test("property: admitted + refused + dropped = input, and the cap keeps ready ones", () => {
  fc.assert(
    fc.property(arbContribution, arbPolicy, (input, policy) => {
      const result = admitContribution(input, policy);
      const admitted = countEndpoints(result.contribution);
      const dropped = result.truncated?.dropped ?? 0;
      assert.equal(admitted + result.refused.length + dropped, countEndpoints(input));
      assert.equal(result.truncated?.kept ?? admitted, admitted);
      assert.ok(result.truncated === undefined || result.truncated.dropped > 0);
      assert.ok(admitted <= policy.maxEndpoints);
      assert.deepEqual(
        result.contribution.groups.map((g) => [g.addressType, g.ports]),
        input.groups.map((g) => [g.addressType, g.ports]),
      );
      const ready = (c: Contribution) =>
        c.groups.flatMap((g) => g.endpoints).filter((x) => x.conditions.ready).length;
      const uncapped = admitContribution(input, { ...policy, maxEndpoints: Infinity });
      assert.equal(ready(result.contribution), Math.min(ready(uncapped.contribution), admitted));
    }),
    { numRuns: 500 },
  );
});

test("property: the order of endpoints within groups does not change the result", () => {
  const withPermutation = arbContribution.chain((input) =>
    fc.tuple(
      fc.constant(input),
      fc.tuple(
        ...input.groups.map((g) =>
          fc.shuffledSubarray(g.endpoints, {
            minLength: g.endpoints.length,
            maxLength: g.endpoints.length,
          }),
        ),
      ),
    ),
  );
  fc.assert(
    fc.property(withPermutation, arbPolicy, ([input, shuffled], policy) => {
      const permuted: Contribution = {
        ...input,
        groups: input.groups.map((g, i) => ({ ...g, endpoints: shuffled[i] ?? [] })),
      };
      assert.deepEqual(admitContribution(permuted, policy), admitContribution(input, policy));
    }),
    { numRuns: 500 },
  );
});

test("admitContribution never throws", () => {
  fc.assert(
    fc.property(
      arbContribution,
      fc.record({
        allowed: fc.array(fc.string()),
        denied: fc.array(fc.string()),
        maxEndpoints: fc.double(),
      }),
      (input, policy) => {
        admitContribution(input, policy);
      },
    ),
  );
});
