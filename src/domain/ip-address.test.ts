// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type ParsedIpAddress, parseHostAddress, parseIpAddress } from "./ip-address.ts";

test("parseIpAddress", async (t) => {
  const v4 = (canonical: string): ParsedIpAddress => ({ family: "IPv4", canonical });
  const v6 = (canonical: string): ParsedIpAddress => ({ family: "IPv6", canonical });
  const cases: { text: string; want: ParsedIpAddress | undefined }[] = [
    { text: "10.0.0.1", want: v4("10.0.0.1") },
    { text: "0.0.0.0", want: v4("0.0.0.0") },
    { text: "255.255.255.255", want: v4("255.255.255.255") },
    { text: "256.0.0.1", want: undefined },
    { text: "010.0.0.1", want: undefined },
    { text: "10.0.0", want: undefined },
    { text: "10.0.0.1.2", want: undefined },
    { text: " 10.0.0.1", want: undefined },
    { text: "10.0.0.1/32", want: undefined },
    { text: "", want: undefined },
    { text: "example.com", want: undefined },
    { text: "::", want: v6("::") },
    { text: "::1", want: v6("::1") },
    { text: "2001:DB8::1", want: v6("2001:db8::1") },
    { text: "2001:0db8:0000:0000:0000:0000:0000:0001", want: v6("2001:db8::1") },
    { text: "1:0:0:2:0:0:0:3", want: v6("1:0:0:2::3") },
    { text: "1:0:0:2:0:0:3:4", want: v6("1::2:0:0:3:4") },
    { text: "1:2:3:4:5:6:7:0", want: v6("1:2:3:4:5:6:7:0") },
    { text: "1:2:3:4:5:6:0:0", want: v6("1:2:3:4:5:6::") },
    { text: "1:2:3:4:5:6:7::", want: v6("1:2:3:4:5:6:7:0") },
    { text: "64:ff9b::192.0.2.33", want: v6("64:ff9b::c000:221") },
    { text: "::ffff:10.0.0.1", want: undefined },
    { text: "::ffff:a00:1", want: undefined },
    { text: "fe80::1%eth0", want: undefined },
    { text: "1::2::3", want: undefined },
    { text: ":::", want: undefined },
    { text: "1:2:3:4:5:6:7:8:9", want: undefined },
    { text: "1:2:3:4:5:6:7", want: undefined },
    { text: "1:2:3:4:5:6:7:8::", want: undefined },
    { text: "12345::", want: undefined },
    { text: "1.2.3.4::", want: undefined },
    { text: ":1::", want: undefined },
    { text: "1::2:", want: undefined },
    { text: "[::1]", want: undefined },
  ];
  for (const { text, want } of cases) {
    await t.test(JSON.stringify(text), () => assert.deepEqual(parseIpAddress(text), want));
  }
});

const octet = fc.integer({ min: 0, max: 255 });
const group = fc.integer({ min: 0, max: 0xffff });
// Zero-heavy groups so that "::" compression is exercised often.
const groups = fc.array(fc.oneof(fc.constant(0), group), { minLength: 8, maxLength: 8 });
const notMapped = (g: number[]) => !(g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff);

test("IPv4: every dotted quad parses to itself", () => {
  fc.assert(
    fc.property(fc.tuple(octet, octet, octet, octet), (octets) => {
      const text = octets.join(".");
      assert.deepEqual(parseIpAddress(text), { family: "IPv4", canonical: text });
    }),
  );
});

test("IPv6: canonical form matches the WHATWG URL serialiser (RFC 5952) and is a fixed point", () => {
  fc.assert(
    fc.property(groups.filter(notMapped), fc.boolean(), (g, upper) => {
      let text = g.map((x) => x.toString(16).padStart(4, "0")).join(":");
      if (upper) text = text.toUpperCase();
      const parsed = parseIpAddress(text);
      const oracle = new URL(`http://[${text}]/`).hostname.slice(1, -1);
      assert.deepEqual(parsed, { family: "IPv6", canonical: oracle });
      assert.deepEqual(parseIpAddress(oracle), parsed);
    }),
  );
});

test("IPv6: IPv4-mapped addresses are always refused", () => {
  fc.assert(
    fc.property(fc.tuple(octet, octet, octet, octet), (octets) => {
      assert.equal(parseIpAddress(`::ffff:${octets.join(".")}`), undefined);
    }),
  );
});

test("parseIpAddress never throws and only returns canonical fixed points", () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF:.% /") }), (text) => {
      const parsed = parseIpAddress(text);
      if (parsed !== undefined) assert.deepEqual(parseIpAddress(parsed.canonical), parsed);
    }),
  );
});

test("parseHostAddress: an IPv4-mapped address is the IPv4 address it stands for", () => {
  fc.assert(
    fc.property(fc.tuple(octet, octet, octet, octet), fc.boolean(), (octets, hex) => {
      const [a = 0, b = 0, c = 0, d = 0] = octets;
      const text = hex
        ? `::ffff:${(a * 256 + b).toString(16)}:${(c * 256 + d).toString(16)}`
        : `::ffff:${octets.join(".")}`;
      assert.deepEqual(parseHostAddress(text), { family: "IPv4", canonical: octets.join(".") });
    }),
  );
  const same = ["198.18.0.1", "2001:2::a", "::fffe:c612:1", "0:0:0:0:1:ffff:c612:1"];
  for (const text of same) assert.deepEqual(parseHostAddress(text), parseIpAddress(text), text);
  for (const text of ["::ffff:198.18.0.1/32", "::ffff:198.018.0.1", "::ffff:1.2.3", "x"]) {
    assert.equal(parseHostAddress(text), undefined, text);
  }
});

test("parseHostAddress never throws and agrees with parseIpAddress on every address it reads", () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF:.% /") }), (text) => {
      const direct = parseIpAddress(text);
      if (direct !== undefined) assert.deepEqual(parseHostAddress(text), direct);
    }),
  );
});
