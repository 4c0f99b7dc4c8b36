import assert from "node:assert/strict";
import { test } from "node:test";
import { isValidLabelValue } from "./label-value.ts";

test("isValidLabelValue", async (t) => {
  const cases = [
    { value: "", want: true },
    { value: "public", want: true },
    { value: "Public_1.eu-west", want: true },
    { value: "a".repeat(63), want: true },
    { value: "a".repeat(64), want: false },
    { value: "-public", want: false },
    { value: "public-", want: false },
    { value: "pub lic", want: false },
    { value: "pub/lic", want: false },
  ];
  for (const { value, want } of cases) {
    await t.test(JSON.stringify(value), () => assert.equal(isValidLabelValue(value), want));
  }
});
