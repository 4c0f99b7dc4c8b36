// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseCidr } from "../config/cidr.ts";
import {
  type AddressRange,
  addressKey,
  addressRangeSet,
  rangeSetHas,
  readRange,
} from "./address-range-set.ts";
import type { AddressFamily } from "./endpoints.ts";
import { parseIpAddress } from "./ip-address.ts";

// The oracle here is bigint arithmetic on the address value, written apart from the code under test.

const BITS = { IPv4: 32, IPv6: 128 } as const;

function numericValue(text: string): { family: AddressFamily; value: bigint } {
  const parsed = parseIpAddress(text);
  assert.ok(parsed, text);
  if (parsed.family === "IPv4") {
    const value = parsed.canonical.split(".").reduce((sum, o) => sum * 256n + BigInt(o), 0n);
    return { family: "IPv4", value };
  }
  const [left = "", right = ""] = parsed.canonical.split("::");
  const head = left === "" ? [] : left.split(":");
  const tail = right === "" ? [] : right.split(":");
  const fields = parsed.canonical.includes("::")
    ? [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail]
    : head;
  return { family: "IPv6", value: fields.reduce((sum, f) => sum * 65536n + BigInt(`0x${f}`), 0n) };
}

const hexKey = (family: AddressFamily, value: bigint) =>
  value.toString(16).padStart(BITS[family] / 4, "0");

test("addressKey is fixed-width hex", async (t) => {
  const cases: [string, string][] = [
    ["0.0.0.0", "00000000"],
    ["10.1.2.3", "0a010203"],
    ["255.255.255.255", "ffffffff"],
    ["::", "0".repeat(32)],
    ["::1", `${"0".repeat(31)}1`],
    ["fd00::", `fd00${"0".repeat(28)}`],
    ["fd00::1:2", `fd00${"0".repeat(20)}00010002`],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
    ["1:0:0:2::3", "00010000000000020000000000000003"],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "f".repeat(32)],
  ];
  for (const [text, key] of cases) {
    await t.test(text, () => assert.equal(addressKey(parseIpAddress(text)!), key));
  }
});

test("readRange reads CIDR blocks and, when asked, bare addresses", async (t) => {
  const range = (family: AddressFamily, first: string, last: string): AddressRange => ({
    family,
    first,
    last,
  });
  const cases: [string, boolean, AddressRange | undefined][] = [
    ["0.0.0.0/0", false, range("IPv4", "00000000", "ffffffff")],
    ["10.0.0.0/8", false, range("IPv4", "0a000000", "0affffff")],
    ["10.1.2.3/32", false, range("IPv4", "0a010203", "0a010203")],
    ["10.1.2.0/23", false, range("IPv4", "0a010200", "0a0103ff")],
    ["10.1.2.0/22", false, undefined], // host bits set
    ["224.0.0.0/3", false, range("IPv4", "e0000000", "ffffffff")],
    ["::/0", false, range("IPv6", "0".repeat(32), "f".repeat(32))],
    ["::1/128", false, range("IPv6", `${"0".repeat(31)}1`, `${"0".repeat(31)}1`)],
    ["FE80::/10", false, range("IPv6", `fe80${"0".repeat(28)}`, `febf${"f".repeat(28)}`)],
    ["fd00::/7", false, undefined],
    ["10.0.0.1", false, undefined],
    ["10.0.0.1", true, range("IPv4", "0a000001", "0a000001")],
    ["fd00::1", true, range("IPv6", `fd00${"0".repeat(27)}1`, `fd00${"0".repeat(27)}1`)],
    ["10.0.0.0/33", true, undefined],
    ["10.0.0.0/08", true, undefined],
    ["10.0.0.0/", true, undefined],
    ["10.0.0.0/8/8", true, undefined],
    ["::ffff:10.0.0.0/104", true, undefined],
    ["::ffff:10.0.0.1", true, undefined],
    ["", true, undefined],
    ["banana", true, undefined],
  ];
  for (const [text, bare, want] of cases) {
    await t.test(`${JSON.stringify(text)}${bare ? " (bare allowed)" : ""}`, () =>
      assert.deepEqual(readRange(text, bare), want),
    );
  }
});

test("addressRangeSet merges nested and overlapping ranges; rangeSetHas finds them", () => {
  const r = (first: string, last: string): AddressRange => ({ family: "IPv4", first, last });
  const set = addressRangeSet([
    r("0a000000", "0affffff"),
    r("0a010000", "0a01ffff"), // nested
    r("0b000000", "0b0000ff"),
    r("0b000080", "0b0001ff"), // overlapping
    r("0b000200", "0b000200"), // adjacent: kept apart, still found
    r("01000000", "01000000"),
  ]);
  assert.deepEqual(set, {
    firsts: ["01000000", "0a000000", "0b000000", "0b000200"],
    lasts: ["01000000", "0affffff", "0b0001ff", "0b000200"],
  });
  const has = (key: string) => rangeSetHas(set, key);
  assert.deepEqual(
    ["00ffffff", "01000000", "01000001", "09ffffff", "0a000000", "0affffff", "0b000000"].map(has),
    [false, true, false, false, true, true, true],
  );
  assert.deepEqual(["0b0001ff", "0b000200", "0b000201", "ffffffff"].map(has), [
    true,
    true,
    false,
    false,
  ]);
  assert.equal(rangeSetHas(addressRangeSet([]), "00000000"), false);
  assert.ok(Object.isFrozen(set) && Object.isFrozen(set.firsts));
});

// Properties

const v4 = fc.bigInt({ min: 0n, max: 2n ** 32n - 1n });
const v6 = fc.bigInt({ min: 0n, max: 2n ** 128n - 1n });
const dotted = (value: bigint) =>
  [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join(".");
const fullIpv6 = (value: bigint) =>
  Array.from({ length: 8 }, (_, i) =>
    ((value >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
  ).join(":");
/** `network/prefix` texts that are mostly valid, and sometimes have host bits or a bad prefix. */
const cidrText = fc.oneof(
  fc.tuple(v4, fc.nat({ max: 33 })).map(([value, prefix]) => {
    const host = 32 - Math.min(prefix, 32);
    const network = value % 3n === 0n ? value : (value >> BigInt(host)) << BigInt(host);
    return `${dotted(network)}/${prefix}`;
  }),
  fc.tuple(v6, fc.nat({ max: 129 })).map(([value, prefix]) => {
    const host = 128 - Math.min(prefix, 128);
    const network = value % 3n === 0n ? value : (value >> BigInt(host)) << BigInt(host);
    return `${fullIpv6(network)}/${prefix}`;
  }),
  fc.constantFrom("10.0.0.0/08", "::ffff:0.0.0.0/96", "1.2.3.4", "fd00::", "0/0", "::/"),
  fc.string({ maxLength: 12 }),
);

test("property: readRange accepts exactly what parseCidr accepts, and the right range", () => {
  fc.assert(
    fc.property(cidrText, (text) => {
      const parsed = parseCidr(text);
      const range = readRange(text, false);
      if (!parsed.ok) return assert.equal(range, undefined, text);
      const { family, prefixLength, canonical } = parsed.cidr;
      const { value } = numericValue(canonical.slice(0, canonical.lastIndexOf("/")));
      const hostBits = BigInt(BITS[family] - prefixLength);
      assert.deepEqual(range, {
        family,
        first: hexKey(family, value),
        last: hexKey(family, value | ((1n << hostBits) - 1n)),
      });
    }),
    { numRuns: 2000 },
  );
});

const textOf = (family: AddressFamily, value: bigint) =>
  family === "IPv4" ? dotted(value) : fullIpv6(value);

for (const family of ["IPv4", "IPv6"] as const) {
  const max = 2n ** BigInt(BITS[family]) - 1n;
  const value = family === "IPv4" ? v4 : v6;
  // Small ranges near a few starting points, so that they nest, overlap and touch.
  const near = fc.tuple(fc.constantFrom(0n, 1n << 24n, max >> 1n, max - 4096n), fc.nat(8192));
  const point = fc.oneof(
    value,
    near.map(([base, offset]) => (base + BigInt(offset) > max ? max : base + BigInt(offset))),
  );
  const range = fc.tuple(point, fc.nat(4096)).map(([start, size]) => ({
    start,
    end: start + BigInt(size) > max ? max : start + BigInt(size),
  }));

  test(`property: ${family} keys order like the values; range sets agree with a scan`, () => {
    fc.assert(
      fc.property(
        fc.array(range, { maxLength: 20 }),
        fc.array(point, { maxLength: 10 }),
        (rs, ps) => {
          const set = addressRangeSet(
            rs.map((r) => ({
              family,
              first: hexKey(family, r.start),
              last: hexKey(family, r.end),
            })),
          );
          // Probe the edges too, where an off-by-one would show.
          const edges = rs.flatMap((r) => [r.start - 1n, r.start, r.end, r.end + 1n]);
          for (const probe of [...ps, ...edges].filter((p) => p >= 0n && p <= max)) {
            const key = addressKey(parseIpAddress(textOf(family, probe))!);
            assert.equal(key, hexKey(family, probe));
            const want = rs.some((r) => r.start <= probe && probe <= r.end);
            assert.equal(rangeSetHas(set, key), want, textOf(family, probe));
          }
          for (let i = 1; i < set.firsts.length; i++) assert.ok(set.lasts[i - 1]! < set.firsts[i]!);
        },
      ),
      { numRuns: 500 },
    );
  });
}
