import assert from "node:assert/strict";
import { test } from "node:test";
import { microTime } from "./leader-election.ts";

test("microTime writes the six fractional digits the API's MicroTime parser requires", () => {
  assert.equal(microTime(Date.UTC(2026, 10, 29, 10, 0, 0, 123)), "2026-11-29T10:00:00.123000Z");
  assert.equal(microTime(0), "1970-01-01T00:00:00.000000Z");
});
