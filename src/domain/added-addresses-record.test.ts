// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type AddedAddressesRecord,
  contentHash,
  formatAddedAddressesRecord,
  parseAddedAddressesRecord,
} from "./added-addresses-record.ts";

test("parseAddedAddressesRecord", async (t) => {
  const cases: { name: string; value: string; want: AddedAddressesRecord | undefined }[] = [
    {
      name: "valid",
      value: '{"addresses":["10.0.0.2","10.0.0.1"],"hash":"abc"}',
      want: { addresses: ["10.0.0.1", "10.0.0.2"], hash: "abc" },
    },
    {
      name: "duplicates removed",
      value: '{"addresses":["a","a"],"hash":"h"}',
      want: { addresses: ["a"], hash: "h" },
    },
    {
      name: "extra keys ignored",
      value: '{"addresses":[],"hash":"h","v":2}',
      want: { addresses: [], hash: "h" },
    },
    { name: "not JSON", value: "10.0.0.1", want: undefined },
    { name: "empty", value: "", want: undefined },
    { name: "null", value: "null", want: undefined },
    { name: "array", value: '["10.0.0.1"]', want: undefined },
    { name: "no hash", value: '{"addresses":[]}', want: undefined },
    { name: "addresses not strings", value: '{"addresses":[1],"hash":"h"}', want: undefined },
    { name: "hash not string", value: '{"addresses":[],"hash":1}', want: undefined },
    {
      name: "by cluster, sorted; entries that are not lists of strings dropped",
      value: '{"addresses":["b","a"],"clusters":{"p":["b","a","a"],"q":[1],"r":"x"},"hash":"h"}',
      want: { addresses: ["a", "b"], clusters: { p: ["a", "b"] }, hash: "h" },
    },
    {
      name: "clusters that are not a mapping are ignored",
      value: '{"addresses":[],"clusters":["p"],"hash":"h"}',
      want: { addresses: [], hash: "h" },
    },
  ];
  for (const { name, value, want } of cases) {
    await t.test(name, () => assert.deepEqual(parseAddedAddressesRecord(value), want));
  }
});

test("format and parse round-trip, with stable text", () => {
  const record = { addresses: ["10.0.0.2", "10.0.0.1"], hash: "0badf00d" };
  const text = formatAddedAddressesRecord(record);
  assert.equal(text, '{"addresses":["10.0.0.1","10.0.0.2"],"hash":"0badf00d"}');
  assert.deepEqual(parseAddedAddressesRecord(text), {
    addresses: ["10.0.0.1", "10.0.0.2"],
    hash: "0badf00d",
  });
});

test("a record by cluster round-trips; empty clusters are left out", () => {
  const record = {
    addresses: ["10.0.0.2", "10.0.0.1"],
    clusters: { b: ["10.0.0.2"], a: ["10.0.0.1"], c: [] },
    hash: "h",
  };
  const text = formatAddedAddressesRecord(record);
  assert.equal(
    text,
    '{"addresses":["10.0.0.1","10.0.0.2"],"clusters":{"a":["10.0.0.1"],"b":["10.0.0.2"]},"hash":"h"}',
  );
  assert.deepEqual(parseAddedAddressesRecord(text), {
    addresses: ["10.0.0.1", "10.0.0.2"],
    clusters: { a: ["10.0.0.1"], b: ["10.0.0.2"] },
    hash: "h",
  });
});

test("contentHash follows meaning, not layout", () => {
  const port = [{ name: "http", port: 80, protocol: "TCP" as const }];
  const a = contentHash([
    { addresses: [{ ip: "1.1.1.1" }, { ip: "2.2.2.2" }], notReadyAddresses: [], ports: port },
  ]);
  const b = contentHash([
    { addresses: [{ ip: "2.2.2.2" }], notReadyAddresses: [], ports: port },
    { addresses: [{ ip: "1.1.1.1" }], notReadyAddresses: [], ports: port },
  ]);
  const c = contentHash([
    { addresses: [{ ip: "1.1.1.1" }], notReadyAddresses: [{ ip: "2.2.2.2" }], ports: port },
  ]);
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.match(a, /^[0-9a-f]{8}$/);
});
