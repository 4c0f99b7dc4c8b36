import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBenchOptions, sectionNames } from "./bench-options.ts";

test("no flags: every section at full size", () => {
  const parsed = parseBenchOptions([]);
  assert.ok(parsed.ok === true);
  const o = parsed.options;
  assert.deepEqual(o.sections, [...sectionNames]);
  assert.deepEqual(o.coldStartSizes, [1000, 5000, 10_000]);
  assert.equal(o.coldStartEndpoints, 10);
  assert.deepEqual(o.propagation, { services: 1000, changes: 1000, churnPerSecond: 50 });
  assert.deepEqual(o.endpoints, { services: 1000, perService: 100 });
  assert.deepEqual(o.nodes, { count: 1000, services: 10_000, resyncSeconds: undefined });
  assert.deepEqual(o.steady, { endpoints: 3000, resyncSeconds: 15 });
  assert.equal(o.updateDoc, false);
  assert.equal(o.ipFamily, "ipv4");
});

test("--ip-family picks the burst section's families", () => {
  for (const family of ["ipv4", "ipv6", "dual"]) {
    const parsed = parseBenchOptions(["--only", "burst", "--ip-family", family]);
    assert.ok(parsed.ok === true);
    assert.equal(parsed.options.ipFamily, family);
  }
});

test("--only, --sizes and --scale make a small development run", () => {
  const parsed = parseBenchOptions([
    "--only",
    "nodes,cold-start",
    "--sizes",
    "500,200",
    "--scale",
    "0.1",
    "--churn",
    "20",
  ]);
  assert.ok(parsed.ok === true);
  const o = parsed.options;
  assert.deepEqual(o.sections, ["cold-start", "nodes"]);
  assert.deepEqual(o.coldStartSizes, [200, 500]);
  assert.deepEqual(o.propagation, { services: 100, changes: 100, churnPerSecond: 20 });
  assert.deepEqual(o.nodes, { count: 100, services: 500, resyncSeconds: undefined });
  assert.equal(o.steady.endpoints, 300);
  assert.equal(o.endpoints.perService, 100, "endpoints per Service are not scaled");
});

test("--scale alone scales the cold-start sizes too", () => {
  const parsed = parseBenchOptions(["--scale", "0.05", "--changes", "30"]);
  assert.ok(parsed.ok === true);
  assert.deepEqual(parsed.options.coldStartSizes, [50, 250, 500]);
  assert.equal(parsed.options.propagation.changes, 30);
});

test("bad flags are refused with the flag named", () => {
  const cases: [string[], RegExp][] = [
    [["--only", "speed"], /--only: unknown section speed; choose from core, /],
    [["--sizes", "100,x"], /--sizes needs a whole number of at least 1, got "x"/],
    [["--scale", "2"], /--scale needs a number in \(0, 1\], got "2"/],
    [["--changes"], /--changes needs a value/],
    [["--fast"], /unknown flag "--fast"; see --help/],
    [["--ip-family", "v6"], /--ip-family: "v6" is none of ipv4, ipv6, dual/],
    [["--ip-family"], /--ip-family needs a value/],
  ];
  for (const [argv, message] of cases) {
    const parsed = parseBenchOptions(argv);
    assert.ok(parsed.ok === false, argv.join(" "));
    assert.match(parsed.message, message);
  }
  assert.deepEqual(parseBenchOptions(["--help"]), { ok: "help" });
});
