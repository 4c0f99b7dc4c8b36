import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDuration, parseDuration } from "./duration.ts";

test("parseDuration reads units and sums parts", () => {
  const cases: [string, number][] = [
    ["0s", 0],
    ["0ms", 0],
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["1h30m15s250ms", 5_415_250],
    ["1.5s", 1500],
    ["1.5m", 90_000],
    ["0.001s", 1],
    ["1.1s", 1100],
    ["2.25h", 8_100_000],
    ["30s1h", 3_630_000],
    ["1000s", 1_000_000],
  ];
  for (const [text, ms] of cases) assert.deepEqual(parseDuration(text), { ok: true, ms }, text);
});

test("parseDuration refuses bad text with a message naming it", () => {
  const cases: [string, RegExp][] = [
    ["30", /^"30" has no unit; write e.g. "30s" or "30ms"$/],
    ["1.5", /"1.5" has no unit/],
    ["0", /"0" has no unit/],
    ["-5s", /"-5s" is negative/],
    ["", /^empty duration/],
    ["10x", /"10x" has unknown unit "x"; use ms, s, m or h/],
    ["10S", /unknown unit "S"/],
    ["10us", /unknown unit "us"/],
    ["30 s", /"30 s" is not a duration/],
    [" 30s", /is not a duration/],
    ["1h30", /"1h30" is not a duration/],
    ["s", /is not a duration/],
    [".5s", /is not a duration/],
    ["0.5ms", /finer than a millisecond/],
    ["0.0001s", /finer than a millisecond/],
    ["99999999999999999h", /too long/],
    ["1h".repeat(21), /^"1h1h.*" is too long to be a duration; write e.g./],
    [`${"9".repeat(1_000_000)}h`, /^"9+…" \(1000001 characters\) is too long to be a duration/],
    [`1${"x".repeat(30)}`, /^"1x+" has unknown unit "x+"/],
  ];
  for (const [text, pattern] of cases) {
    const result = parseDuration(text);
    assert.equal(result.ok, false, text);
    if (!result.ok) assert.match(result.message, pattern, text);
  }
});

test("formatDuration writes what parseDuration reads back", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [-3, "0s"],
    [1, "1ms"],
    [500, "500ms"],
    [30_000, "30s"],
    [90_000, "1m30s"],
    [5_400_000, "1h30m"],
    [3_600_500, "1h500ms"],
    [1_000_000, "16m40s"],
  ];
  for (const [ms, text] of cases) {
    assert.equal(formatDuration(ms), text);
    if (ms >= 0) assert.deepEqual(parseDuration(text), { ok: true, ms });
  }
});
