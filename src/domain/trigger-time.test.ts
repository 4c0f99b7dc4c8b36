import assert from "node:assert/strict";
import { test } from "node:test";
import { isRfc3339, latestTriggerTime } from "./trigger-time.ts";

test("isRfc3339", async (t) => {
  const cases = [
    { text: "2024-05-01T10:00:00Z", want: true },
    { text: "2024-05-01T10:00:00.123456789Z", want: true },
    { text: "2024-05-01T12:00:00+02:00", want: true },
    { text: "2024-05-01 10:00:00Z", want: false },
    { text: "2024-05-01", want: false },
    { text: "yesterday", want: false },
    { text: "", want: false },
  ];
  for (const { text, want } of cases) {
    await t.test(JSON.stringify(text), () => assert.equal(isRfc3339(text), want));
  }
});

test("latestTriggerTime", async (t) => {
  const cases: { name: string; times: (string | undefined)[]; want: string | undefined }[] = [
    { name: "none", times: [], want: undefined },
    { name: "only missing or invalid", times: [undefined, "soon"], want: undefined },
    {
      name: "latest instant, not latest text",
      times: ["2024-05-01T10:00:00Z", "2024-05-01T11:30:00+02:00", "2024-05-01T09:00:00Z"],
      want: "2024-05-01T10:00:00Z",
    },
    {
      name: "invalid ones ignored",
      times: ["not a time", "2024-05-01T10:00:00Z", undefined],
      want: "2024-05-01T10:00:00Z",
    },
    {
      name: "same instant: larger text, in any order",
      times: ["2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"],
      want: "2024-05-01T12:00:00+02:00",
    },
  ];
  for (const { name, times, want } of cases) {
    await t.test(name, () => {
      assert.equal(latestTriggerTime(times), want);
      assert.equal(latestTriggerTime([...times].reverse()), want);
    });
  }
});
