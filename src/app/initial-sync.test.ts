import assert from "node:assert/strict";
import { test } from "node:test";
import { InitialSync } from "./initial-sync.ts";

test("a cluster with no Services is ready at once", () => {
  const sync = new InitialSync();
  assert.equal(sync.begin("public", []), true);
  assert.equal(sync.isPending("public"), false);
});

test("the last delivered key of the first list completes the cluster, once", () => {
  const sync = new InitialSync();
  assert.equal(sync.begin("public", ["a/x", "a/y"]), false);
  const steps: [string, string, boolean][] = [
    ["public", "a/y", false],
    ["private", "a/y", false], // another cluster's key does not count
    ["public", "a/z", false], // a key that was not in the first list does not count
    ["public", "a/y", false], // delivered twice counts once
    ["public", "a/x", true],
    ["public", "a/x", false], // already complete
  ];
  for (const [cluster, key, last] of steps) {
    assert.equal(sync.delivered(cluster, key), last, `${cluster} ${key}`);
  }
  assert.equal(sync.isPending("public"), false);
});

test("a forgotten cluster completes nothing", () => {
  const sync = new InitialSync();
  sync.begin("public", ["a/x"]);
  sync.forget("public");
  assert.equal(sync.delivered("public", "a/x"), false);
});
