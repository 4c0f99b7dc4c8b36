import assert from "node:assert/strict";
import { test } from "node:test";
import { fnv1a32, fnv1a32Hex } from "./hash.ts";

test("fnv1a32 matches the published FNV-1a test vectors", async (t) => {
  const cases = [
    { text: "", want: 0x811c9dc5 },
    { text: "a", want: 0xe40c292c },
    { text: "foobar", want: 0xbf9cf968 },
  ];
  for (const { text, want } of cases) {
    await t.test(JSON.stringify(text), () => assert.equal(fnv1a32(text), want));
  }
});

test("fnv1a32 hashes UTF-8 bytes", () => {
  // "é" is two UTF-8 bytes; hashing them must equal hashing the two-byte sequence.
  assert.notEqual(fnv1a32("é"), fnv1a32("e"));
  assert.equal(fnv1a32("é"), fnv1a32("\u00e9"));
});

test("fnv1a32Hex is 8 lowercase hex digits, zero-padded", () => {
  assert.equal(fnv1a32Hex(""), "811c9dc5");
  for (const text of ["a", "b", "kubeburst", "x".repeat(1000)]) {
    assert.match(fnv1a32Hex(text), /^[0-9a-f]{8}$/);
  }
});

test("fnv1a32: the ASCII fast path equals hashing the UTF-8 bytes", () => {
  const bytes = (text: string) => {
    let hash = 0x811c9dc5;
    for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193);
    return hash >>> 0;
  };
  for (const text of [
    "public/198.18.17.10",
    "a\u007f",
    "mixed é text",
    "x".repeat(300),
    "2001:2::1",
  ]) {
    assert.equal(fnv1a32(text), bytes(text), JSON.stringify(text));
  }
});
