import assert from "node:assert/strict";
import { test } from "node:test";
import { logLevelFromEnv } from "./log-level.ts";

test("KUBEBURST_LOG_LEVEL: unset or empty is info; a level is read regardless of case and spaces", () => {
  const cases: [string | undefined, string][] = [
    [undefined, "info"],
    ["", "info"],
    ["  ", "info"],
    ["debug", "debug"],
    [" Warn\n", "warn"],
    ["ERROR", "error"],
    ["trace", "trace"],
    ["fatal", "fatal"],
    ["silent", "silent"],
  ];
  for (const [value, level] of cases) {
    assert.deepEqual(logLevelFromEnv({ KUBEBURST_LOG_LEVEL: value }), { ok: true, level }, value);
  }
});

test("KUBEBURST_LOG_LEVEL: anything else is an error naming the variable and the levels", () => {
  const cases: [string, string][] = [
    ["garbage", '"garbage"'],
    ["warning", '"warning"'],
    ["10", '"10"'],
    ["x".repeat(1000), `"${"x".repeat(99)}…" (1000 characters)`],
  ];
  for (const [value, quoted] of cases) {
    assert.deepEqual(logLevelFromEnv({ KUBEBURST_LOG_LEVEL: value }), {
      ok: false,
      errors: [
        {
          path: "KUBEBURST_LOG_LEVEL",
          message: `${quoted} is not a log level; use one of: trace, debug, info, warn, error, fatal, silent (unset or empty: info)`,
        },
      ],
    });
  }
});
