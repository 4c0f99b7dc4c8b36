// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  BITS,
  REFERENCE_BUILT_IN,
  referenceAdmitContribution,
  referenceCompile,
  referenceJudge,
} from "../../test/support/linear-address-policy.ts";
import type { Cidr } from "../config/cidr.ts";
import {
  type AddressPolicy,
  admitContribution,
  admitGroup,
  capEndpoints,
  compileAddressPolicy,
  judgeAddress,
} from "./address-policy.ts";
import type { AddressFamily, Contribution, EndpointGroup } from "./endpoints.ts";
import { mergeEndpoints } from "./merge-endpoints.ts";

// The compiled policy against a reference: the linear implementation it replaced
// (test/support/linear-address-policy.ts).

const RUNS = { numRuns: 500 };

// ---------------------------------------------------------------------------------------------
// Generators. Address values are bigints; ranges cluster around a few bases so that they nest,
// overlap and touch, and addresses are drawn mostly from the ranges' edges.

const FAMILIES = ["IPv4", "IPv6"] as const;
const MAX = { IPv4: 2n ** 32n - 1n, IPv6: 2n ** 128n - 1n } as const;

const BASES: Record<AddressFamily, readonly bigint[]> = {
  IPv4: [
    0n,
    0x0a000000n, // 10.0.0.0
    0x0a010200n, // 10.1.2.0
    0x7f000000n, // 127.0.0.0
    0xa9fe0000n, // 169.254.0.0
    0xc6120000n, // 198.18.0.0
    0xe0000000n, // 224.0.0.0
    0xf0000000n, // 240.0.0.0
    0xffffff00n,
  ],
  IPv6: [
    0n,
    0xffff_0a00_0000n, // ::ffff:10.0.0.0, mapped
    0x0064_ff9b_0000_0000_0000_0000_0000_0000n, // 64:ff9b::
    0x0100_0000_0000_0000_0000_0000_0000_0000n, // 100::
    0x2001_0002_0000_0000_0000_0000_0000_0000n, // 2001:2::
    0xfd00_0000_0000_0000_0000_0000_0000_0000n, // fd00::
    0xfe80_0000_0000_0000_0000_0000_0000_0000n, // fe80::
    0xff00_0000_0000_0000_0000_0000_0000_0000n, // ff00::
    MAX.IPv6 - 255n,
  ],
};

function clamp(value: bigint, family: AddressFamily): bigint {
  return value < 0n ? 0n : value > MAX[family] ? MAX[family] : value;
}

const dotted = (value: bigint) =>
  [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join(".");
const fields = (value: bigint) =>
  Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));

/** One address in any of the ways a peak might write it. */
function addressText(family: AddressFamily, value: bigint): fc.Arbitrary<string> {
  if (family === "IPv4") {
    const hex = fields(value).slice(6);
    return fc.constantFrom(
      dotted(value),
      `::ffff:${dotted(value)}`,
      `0:0:0:0:0:FFFF:${dotted(value)}`,
      `::ffff:${hex.join(":")}`,
      `0000:0000:0000:0000:0000:ffff:${hex.map((f) => f.padStart(4, "0")).join(":")}`,
    );
  }
  const full = fields(value);
  // A run of zero fields written as "::" where there is one (not necessarily the longest).
  const zero = full.indexOf("0");
  const compressed =
    zero === -1
      ? full.join(":")
      : `${full.slice(0, zero).join(":")}::${full.slice(zero + 1).join(":")}`;
  return fc.constantFrom(full.join(":"), full.join(":").toUpperCase(), compressed);
}

interface Block {
  family: AddressFamily;
  first: bigint;
  last: bigint;
  text: string;
}

const block: fc.Arbitrary<Block> = fc
  .constantFrom(...FAMILIES)
  .chain((family) =>
    fc.tuple(
      fc.constant(family),
      fc.oneof(fc.constantFrom(...BASES[family]), fc.bigInt({ min: 0n, max: MAX[family] })),
      fc.bigInt({ min: -4096n, max: 4096n }),
      fc.oneof(
        fc.integer({ min: BITS[family] - 12, max: BITS[family] }),
        fc.integer({ min: 0, max: BITS[family] }),
      ),
      fc.boolean(),
    ),
  )
  .map(([family, base, offset, prefix, bare]) => {
    const host = BigInt(BITS[family] - prefix);
    const first = (clamp(base + offset, family) >> host) << host;
    const last = first | ((1n << host) - 1n);
    const network = family === "IPv4" ? dotted(first) : fields(first).join(":");
    const text = bare && host === 0n ? network : `${network}/${prefix}`;
    return { family, first, last, text };
  });

/** Entries that are not CIDRs: host bits set, bad prefixes, mapped networks, words. */
const junk = fc.oneof(
  fc.constantFrom(
    "10.0.0.1/8",
    "10.0.0.0/33",
    "10.0.0.0/08",
    "::/129",
    "::ffff:10.0.0.0/104",
    "fd00::1/64",
    "",
    "banana",
    "10.0.0.0/",
  ),
  fc.string({ maxLength: 8 }),
);

const BUILT_IN_EDGES: Record<AddressFamily, bigint[]> = {
  IPv4: REFERENCE_BUILT_IN.flatMap(({ ranges }) => ranges).flatMap(edgesOf("IPv4")),
  IPv6: REFERENCE_BUILT_IN.flatMap(({ ranges }) => ranges).flatMap(edgesOf("IPv6")),
};

function edgesOf(family: AddressFamily) {
  return (cidr: Cidr): bigint[] => {
    if (cidr.family !== family) return [];
    const text = cidr.canonical.slice(0, cidr.canonical.lastIndexOf("/"));
    const expanded = family === "IPv4" ? text.split(".") : expandIpv6(text);
    const radix = family === "IPv4" ? 256n : 65536n;
    const parse = (part: string) => BigInt(family === "IPv4" ? part : `0x${part}`);
    const first = expanded.reduce((sum, part) => sum * radix + parse(part), 0n);
    const last = first | ((1n << BigInt(BITS[family] - cidr.prefixLength)) - 1n);
    return [first - 1n, first, last, last + 1n].map((v) => clamp(v, family));
  };
}

function expandIpv6(text: string): string[] {
  const [left = "", right] = text.split("::");
  const head = left === "" ? [] : left.split(":");
  if (right === undefined) return head;
  const tail = right === "" ? [] : right.split(":");
  return [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail];
}

interface GeneratedPolicy {
  policy: AddressPolicy;
  blocks: Block[];
}

const generatedPolicy: fc.Arbitrary<GeneratedPolicy> = fc
  .record({
    allowed: fc.array(block, { maxLength: 12 }),
    allowedJunk: fc.array(junk, { maxLength: 2 }),
    denied: fc.array(block, { maxLength: 40 }),
    // Rare: one unreadable denied entry refuses everything.
    deniedJunk: fc.oneof(
      { weight: 7, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: junk },
    ),
    maxEndpoints: fc.oneof(
      fc.nat({ max: 20 }),
      fc.constantFrom(Number.POSITIVE_INFINITY, -1, Number.NaN, 2.5),
    ),
  })
  .chain((r) =>
    fc
      .tuple(
        fc.shuffledSubarray([...r.allowed.map((b) => b.text), ...r.allowedJunk], {
          minLength: r.allowed.length + r.allowedJunk.length,
        }),
        fc.shuffledSubarray(
          [...r.denied.map((b) => b.text), ...(r.deniedJunk === null ? [] : [r.deniedJunk])],
          { minLength: r.denied.length + (r.deniedJunk === null ? 0 : 1) },
        ),
      )
      .map(([allowed, denied]) => ({
        policy: { allowed, denied, maxEndpoints: r.maxEndpoints },
        blocks: [...r.allowed, ...r.denied],
      })),
  );

/** Addresses for a policy: mostly the edges of its ranges and of the built-in ones. */
function addressFor({ blocks }: GeneratedPolicy): fc.Arbitrary<unknown> {
  const edges = (family: AddressFamily) => [
    ...BUILT_IN_EDGES[family],
    ...blocks
      .filter((b) => b.family === family)
      .flatMap((b) => [b.first - 1n, b.first, b.last, b.last + 1n].map((v) => clamp(v, family))),
  ];
  const valued = (family: AddressFamily) =>
    fc
      .oneof(
        { weight: 4, arbitrary: fc.constantFrom(...edges(family)) },
        { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: MAX[family] }) },
      )
      .chain((value) => addressText(family, value));
  return fc.oneof(
    { weight: 10, arbitrary: valued("IPv4") },
    { weight: 10, arbitrary: valued("IPv6") },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 8 }), fc.ipV4Extended()) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, null, 7, "10.0.0.1/32", " 10.0.0.1") },
  );
}

const withAddresses = generatedPolicy.chain((generated) =>
  fc.tuple(
    fc.constant(generated),
    fc.array(addressFor(generated), { minLength: 1, maxLength: 30 }),
  ),
);

const conditions = fc.record({
  ready: fc.boolean(),
  serving: fc.boolean(),
  terminating: fc.boolean(),
});
const PORTS = [{ name: "http", port: 8080, protocol: "TCP" as const }];

function groupsFor(generated: GeneratedPolicy): fc.Arbitrary<EndpointGroup[]> {
  const endpoint = fc.record({
    address: addressFor(generated).map((a) => a as string),
    conditions,
  });
  return fc.array(
    fc.record({
      addressType: fc.constantFrom(...FAMILIES),
      ports: fc.constant(PORTS),
      endpoints: fc.array(endpoint, { maxLength: 15 }),
    }),
    { maxLength: 4 },
  );
}

const withGroups = generatedPolicy.chain((generated) =>
  fc.tuple(fc.constant(generated), groupsFor(generated)),
);

// ---------------------------------------------------------------------------------------------
// Properties

test("property: judgeAddress gives the reference's verdict", () => {
  fc.assert(
    fc.property(withAddresses, ([{ policy }, addresses]) => {
      const compiled = compileAddressPolicy(policy);
      const reference = referenceCompile(policy);
      for (const address of addresses) {
        for (const family of FAMILIES) {
          assert.deepEqual(
            judgeAddress(compiled, address, family),
            referenceJudge(address, family, reference),
            `${String(address)} in an ${family} group`,
          );
        }
      }
    }),
    RUNS,
  );
});

test("property: the verdicts cover every reason but fqdn", () => {
  // Guards the generators: a property that never meets a reason proves nothing about it.
  const seen = new Set<string>();
  fc.assert(
    fc.property(withAddresses, ([{ policy }, addresses]) => {
      const compiled = compileAddressPolicy(policy);
      for (const address of addresses) {
        for (const family of FAMILIES) {
          const verdict = judgeAddress(compiled, address, family);
          seen.add(verdict.ok ? "admitted" : verdict.reason);
        }
      }
    }),
    RUNS,
  );
  assert.deepEqual([...seen].sort(), [
    "admitted",
    "broadcast",
    "invalid",
    "link-local",
    "loopback",
    "multicast",
    "not-allowed",
    "production-range",
    "reserved",
    "unspecified",
  ]);
});

test("property: admitGroup is the reference's judgement, copies of an address merged", () => {
  fc.assert(
    fc.property(withGroups, ([{ policy }, groups]) => {
      const compiled = compileAddressPolicy(policy);
      for (const group of groups) {
        const want = referenceAdmitContribution(
          { cluster: "peak", groups: [group] },
          { ...policy, maxEndpoints: Number.POSITIVE_INFINITY },
        );
        const got = admitGroup(compiled, group);
        assert.deepEqual(got, {
          group: { ...group, endpoints: mergeEndpoints(want.contribution.groups[0]!.endpoints) },
          refused: want.refused,
        });
      }
    }),
    RUNS,
  );
});

test("property: admitContribution gives the reference's output", () => {
  fc.assert(
    fc.property(withGroups, fc.option(fc.constant("2024-05-01T10:00:00Z")), ([g, groups], time) => {
      const contribution: Contribution = {
        cluster: "peak",
        groups,
        ...(time === null ? {} : { triggerTime: time }),
      };
      assert.deepEqual(
        admitContribution(contribution, g.policy),
        referenceAdmitContribution(contribution, g.policy),
      );
    }),
    RUNS,
  );
});

const cap = fc.oneof(
  fc.nat({ max: 30 }),
  fc.constantFrom(Number.POSITIVE_INFINITY, -3, Number.NaN, 4.7),
);
// Plain objects only: the cap keeps endpoint objects as they are, and deepEqual compares prototypes.
const capGroups: fc.Arbitrary<EndpointGroup[]> = fc.array(
  fc.record({
    addressType: fc.constantFrom(...FAMILIES),
    ports: fc.constant(PORTS),
    endpoints: fc.array(
      fc.record(
        {
          address: fc.constantFrom("10.0.0.1", "10.0.0.2", "10.0.0.10", "fd00::1", "fd00::2"),
          conditions: fc.record(
            { ready: fc.boolean(), serving: fc.boolean(), terminating: fc.boolean() },
            { noNullPrototype: true },
          ),
        },
        { noNullPrototype: true },
      ),
      { maxLength: 10 },
    ),
  }),
  { maxLength: 4 },
);
const count = (groups: readonly EndpointGroup[]) =>
  groups.reduce((sum, group) => sum + group.endpoints.length, 0);
const normalised = (max: number) => (Number.isNaN(max) || max < 0 ? 0 : Math.floor(max));

test("property: capEndpoints keeps at most the cap, ready ones first, and the same groups within it", () => {
  fc.assert(
    fc.property(capGroups, cap, (groups, max) => {
      const result = capEndpoints(groups, max);
      const total = count(groups);
      const kept = count(result.groups);
      assert.ok(kept <= normalised(max));
      assert.equal(result.groups.length, groups.length);
      if (total <= normalised(max)) {
        assert.equal(result.truncated, undefined);
        for (const [i, group] of groups.entries()) assert.equal(result.groups[i], group);
        return;
      }
      assert.deepEqual(result.truncated, { kept, dropped: total - kept });
      assert.equal(kept, normalised(max));
      const all = (gs: readonly EndpointGroup[]) => gs.flatMap((g) => g.endpoints);
      const keptNotReady = all(result.groups).some((e) => !e.conditions.ready);
      const readyKept = all(result.groups).filter((e) => e.conditions.ready).length;
      const readyTotal = all(groups).filter((e) => e.conditions.ready).length;
      if (keptNotReady) assert.equal(readyKept, readyTotal, "a ready endpoint was dropped");
      for (const [i, group] of result.groups.entries()) {
        const input = groups[i]!;
        assert.equal(group.addressType, input.addressType);
        assert.equal(group.ports, input.ports);
        const remaining = [...input.endpoints];
        for (const endpoint of group.endpoints) {
          const at = remaining.indexOf(endpoint);
          assert.ok(at !== -1, "kept an endpoint that was not in this group");
          remaining.splice(at, 1);
        }
      }
    }),
    RUNS,
  );
});

test("property: over the cap, the order of endpoints within groups does not matter", () => {
  const shuffled = capGroups.chain((groups) =>
    fc.tuple(
      fc.constant(groups),
      fc.tuple(
        ...groups.map((g) =>
          fc.shuffledSubarray(g.endpoints, {
            minLength: g.endpoints.length,
            maxLength: g.endpoints.length,
          }),
        ),
      ),
    ),
  );
  fc.assert(
    fc.property(shuffled, fc.nat({ max: 30 }), ([groups, endpoints], max) => {
      fc.pre(count(groups) > max);
      const permuted = groups.map((g, i) => ({ ...g, endpoints: endpoints[i] ?? [] }));
      assert.deepEqual(capEndpoints(permuted, max), capEndpoints(groups, max));
    }),
    RUNS,
  );
});
