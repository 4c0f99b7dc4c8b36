// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCidr } from "./cidr.ts";

test("parseCidr accepts IPv4 and IPv6 networks and canonicalises them", () => {
  const cases: [string, string, "IPv4" | "IPv6", number][] = [
    ["198.18.0.0/20", "198.18.0.0/20", "IPv4", 20],
    ["0.0.0.0/0", "0.0.0.0/0", "IPv4", 0],
    ["10.1.2.3/32", "10.1.2.3/32", "IPv4", 32],
    ["::/0", "::/0", "IPv6", 0],
    ["fd00::/8", "fd00::/8", "IPv6", 8],
    ["2001:DB8::/32", "2001:db8::/32", "IPv6", 32],
    ["2001:0db8:0000:0000:0000:0000:0000:0000/32", "2001:db8::/32", "IPv6", 32],
    ["::1/128", "::1/128", "IPv6", 128],
    ["fe80::/10", "fe80::/10", "IPv6", 10],
  ];
  for (const [text, canonical, family, prefixLength] of cases) {
    assert.deepEqual(
      parseCidr(text),
      { ok: true, cidr: { canonical, family, prefixLength } },
      text,
    );
  }
});

test("parseCidr refuses invalid blocks with a message naming the problem", () => {
  const cases: [string, RegExp][] = [
    ["198.18.0.1/20", /^"198.18.0.1\/20" has host bits set; the network is "198.18.0.0\/20"$/],
    ["10.0.0.0/6", /host bits set; the network is "8.0.0.0\/6"/],
    ["255.255.255.255/1", /the network is "128.0.0.0\/1"/],
    ["fd00::1/64", /host bits set; the network is "fd00::\/64"/],
    ["2001:db8::ff00:0/100", /host bits set; the network is "2001:db8::f000:0\/100"/],
    ["10.0.0.1", /has no prefix length; write "10.0.0.1\/32" for this one address/],
    ["fd00::1", /write "fd00::1\/128"/],
    ["10.0.0.0/33", /prefix length "33"; IPv4 allows 0 to 32/],
    ["::/129", /IPv6 allows 0 to 128/],
    ["10.0.0.0/", /prefix length ""/],
    ["10.0.0.0/08", /prefix length "08"/],
    ["10.0.0.0/-1", /prefix length "-1"/],
    ["300.0.0.0/8", /"300.0.0.0" is not an IPv4 or IPv6 address/],
    ["010.0.0.0/8", /"010.0.0.0" is not an IPv4 or IPv6 address/],
    ["::ffff:10.0.0.0/104", /is not an IPv4 or IPv6 address/],
    ["example.com/24", /is not an IPv4 or IPv6 address/],
    ["", /is not a CIDR block/],
    ["banana", /is not a CIDR block/],
  ];
  for (const [text, pattern] of cases) {
    const result = parseCidr(text);
    assert.equal(result.ok, false, text);
    if (!result.ok) assert.match(result.message, pattern, text);
  }
});
