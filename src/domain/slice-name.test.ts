import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  MAX_SLICE_NAME_LENGTH,
  type SliceNameParts,
  sliceName,
  splitSliceName,
} from "./slice-name.ts";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const base: SliceNameParts = {
  serviceName: "web",
  cluster: "public",
  addressType: "IPv4",
  portSetKey: '[["http","TCP",8080,null]]',
  source: "web-abc12",
  installation: "kubeburst",
  index: 0,
};

test("sliceName shape", () => {
  assert.match(sliceName(base), /^web-kb-public-v4-[0-9a-f]{8}-0$/);
  assert.match(
    sliceName({ ...base, addressType: "IPv6", index: 2 }),
    /^web-kb-public-v6-[0-9a-f]{8}-2$/,
  );
});

test("sliceName is deterministic and distinguishes every part", async (t) => {
  const name = sliceName(base);
  assert.equal(sliceName({ ...base }), name);
  const variants: { name: string; parts: SliceNameParts }[] = [
    { name: "service", parts: { ...base, serviceName: "api" } },
    { name: "cluster", parts: { ...base, cluster: "public2" } },
    { name: "family", parts: { ...base, addressType: "IPv6" } },
    { name: "ports", parts: { ...base, portSetKey: '[["http","TCP",8081,null]]' } },
    { name: "source slice", parts: { ...base, source: "web-xyz98" } },
    { name: "installation", parts: { ...base, installation: "team-b" } },
    { name: "index", parts: { ...base, index: 1 } },
  ];
  for (const variant of variants) {
    await t.test(variant.name, () => assert.notEqual(sliceName(variant.parts), name));
  }
});

test("sliceName with long and odd names stays a valid, distinct DNS label", async (t) => {
  const long = "a".repeat(63);
  const cases: { name: string; parts: SliceNameParts }[] = [
    { name: "long service", parts: { ...base, serviceName: long } },
    { name: "long cluster", parts: { ...base, cluster: `${"c".repeat(62)}1` } },
    { name: "both long", parts: { ...base, serviceName: long, cluster: `${"c".repeat(62)}1` } },
    {
      name: "cut lands on a dash",
      parts: { ...base, serviceName: `${"a".repeat(20)}----------${"b".repeat(30)}` },
    },
    { name: "uppercase and dots", parts: { ...base, cluster: "Public.EU_West" } },
    { name: "nothing usable", parts: { ...base, serviceName: "---", cluster: "..." } },
    { name: "empty", parts: { ...base, serviceName: "", cluster: "" } },
    {
      name: "huge index",
      parts: { ...base, serviceName: long, cluster: long, index: Number.MAX_SAFE_INTEGER },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const name = sliceName(c.parts);
      assert.ok(name.length <= MAX_SLICE_NAME_LENGTH, `${name} is ${name.length} long`);
      assert.match(name, DNS_LABEL);
      assert.match(name, /-kb-/);
    });
  }
  await t.test("names that truncate alike still differ", () => {
    const a = sliceName({ ...base, serviceName: `${long}x`, cluster: `${long}-one` });
    const b = sliceName({ ...base, serviceName: `${long}y`, cluster: `${long}-two` });
    assert.notEqual(a, b);
    // Truncated to leave room for a four-digit chunk index ("0" uses one of the four).
    assert.equal(a.length, MAX_SLICE_NAME_LENGTH - 3);
  });
  await t.test("names that sanitise alike still differ", () => {
    assert.notEqual(
      sliceName({ ...base, cluster: "eu.west" }),
      sliceName({ ...base, cluster: "eu-west" }),
    );
  });
});

test("sliceName: always a valid DNS label of at most 63 characters", () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 300 }),
      fc.string({ maxLength: 300 }),
      fc.constantFrom("IPv4" as const, "IPv6" as const),
      fc.string(),
      fc.oneof(fc.nat(), fc.integer(), fc.double()),
      (serviceName, cluster, addressType, portSetKey, index) => {
        const parts = { ...base, serviceName, cluster, addressType, portSetKey, index };
        const name = sliceName(parts);
        assert.ok(name.length <= MAX_SLICE_NAME_LENGTH, name);
        assert.match(name, DNS_LABEL);
        assert.equal(sliceName(parts), name);
      },
    ),
  );
});

test("every chunk of one source shares a prefix, whatever the name lengths", () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 100 }),
      fc.string({ maxLength: 100 }),
      fc.string({ maxLength: 300 }),
      fc.integer({ min: 0, max: 9999 }),
      (serviceName, cluster, source, index) => {
        const parts = { ...base, serviceName, cluster, source };
        const first = splitSliceName(sliceName({ ...parts, index: 0 }));
        const other = splitSliceName(sliceName({ ...parts, index }));
        assert.ok(first && other);
        assert.equal(other.prefix, first.prefix);
        assert.equal(other.index, index);
      },
    ),
  );
});

test("splitSliceName", () => {
  assert.deepEqual(splitSliceName("web-kb-public-v4-0a1b2c3d-12"), {
    prefix: "web-kb-public-v4-0a1b2c3d",
    index: 12,
  });
  assert.equal(splitSliceName("no-index-"), undefined);
  assert.equal(splitSliceName("leading-zero-01"), undefined);
});
