import assert from "node:assert/strict";
import { test } from "node:test";
import { formatConfigPath, joinConfigPath, unknownFieldMessage } from "./config-error.ts";

test("formatConfigPath writes dotted fields and bracketed indexes", () => {
  const cases: [PropertyKey[], string][] = [
    [[], ""],
    [["namespace"], "namespace"],
    [["clusters", 1, "allowedCIDRs", 0], "clusters[1].allowedCIDRs[0]"],
    [[0, "name"], "[0].name"],
    [["queue", "qps"], "queue.qps"],
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
