import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_QUOTED_CHARS, quote, shorten } from "./quote.ts";

test("quote repeats short text and cuts long text, saying its length", () => {
  const cases: [string, string][] = [
    ["", '""'],
    ["127.0.0.1:9090", '"127.0.0.1:9090"'],
    ['a "b"\n', '"a \\"b\\"\\n"'],
    ["x".repeat(MAX_QUOTED_CHARS), `"${"x".repeat(100)}"`],
    ["x".repeat(MAX_QUOTED_CHARS + 1), `"${"x".repeat(99)}…" (101 characters)`],
    ["y".repeat(52_428_800), `"${"y".repeat(99)}…" (52428800 characters)`],
  ];
  for (const [text, quoted] of cases) assert.equal(quote(text), quoted);
});

test("shorten never splits a surrogate pair", () => {
  const text = `${"a".repeat(98)}😀${"b".repeat(10)}`;
  assert.equal(shorten(text), `${"a".repeat(98)}…`);
  assert.equal(shorten("😀".repeat(100)), `${"😀".repeat(49)}…`);
});
