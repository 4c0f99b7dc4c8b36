import assert from "node:assert/strict";
import { test } from "node:test";
import {
  describeValue,
  formatConfigPath,
  joinConfigPath,
  unknownFieldMessage,
} from "./config-error.ts";

test("formatConfigPath writes dotted fields and bracketed indexes", () => {
  const cases: [PropertyKey[], string][] = [
    [[], ""],
    [["namespace"], "namespace"],
    [["clusters", 1, "allowedCIDRs", 0], "clusters[1].allowedCIDRs[0]"],
    [[0, "name"], "[0].name"],
    [["queue", "qps"], "queue.qps"],
    [["a".repeat(500), 0], `${"a".repeat(99)}…[0]`],
  ];
  for (const [path, text] of cases) assert.equal(formatConfigPath(path), text);
});

test("joinConfigPath puts a prefix in front", () => {
  const cases: [string, string, string][] = [
    ["", "a.b", "a.b"],
    ["secret x:", "name", "secret x: name"],
    ["secret x:", "", "secret x:"],
    ["clusters[0]", "name", "clusters[0].name"],
    ["clusters", "[0]", "clusters[0]"],
  ];
  for (const [prefix, path, text] of cases) assert.equal(joinConfigPath(prefix, path), text);
});

test("unknownFieldMessage suggests near misses only", () => {
  const known = ["workers", "allowedCIDRs", "kubeconfig", "mode", "namespace"];
  const cases: [string, string][] = [
    ["wrokers", 'unknown field "wrokers"; did you mean "workers"?'],
    ["allowedCidrs", 'unknown field "allowedCidrs"; did you mean "allowedCIDRs"?'],
    ["kubeConfig", 'unknown field "kubeConfig"; did you mean "kubeconfig"?'],
    ["namespaces", 'unknown field "namespaces"; did you mean "namespace"?'],
    [
      "color",
      'unknown field "color"; known fields: workers, allowedCIDRs, kubeconfig, mode, namespace',
    ],
  ];
  for (const [key, message] of cases) assert.equal(unknownFieldMessage(key, known), message);
  assert.equal(unknownFieldMessage("x", undefined), 'unknown field "x"');
});

test("describeValue renders values short: long strings are cut with their length", () => {
  const cases: [unknown, string][] = [
    ["abc", '"abc"'],
    ["a".repeat(100), JSON.stringify("a".repeat(100))],
    ["a".repeat(101), `"${"a".repeat(99)}…" (101 characters)`],
    ["b".repeat(50_000_000), `"${"b".repeat(99)}…" (50000000 characters)`],
    [12, "12"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [true, "true"],
    [null, "an empty value"],
    [[1], "a list"],
    [{}, "a mapping"],
  ];
  for (const [value, text] of cases) assert.equal(describeValue(value), text);
});

test("unknownFieldMessage of a huge key is short and quick", () => {
  const message = unknownFieldMessage("k".repeat(10_000_000), ["workers", "mode"]);
  assert.equal(
    message,
    `unknown field "${"k".repeat(99)}…" (10000000 characters); known fields: workers, mode`,
  );
});
