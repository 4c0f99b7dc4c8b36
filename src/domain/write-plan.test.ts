// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DesiredSlice } from "./desired-slices.ts";
import {
  MANAGED_BY_KUBEBURST,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  SOURCE_CLUSTER_LABEL,
} from "./labels.ts";
import type { WrittenSlice } from "./slice-content-equal.ts";
import { planSliceWrites } from "./write-plan.ts";

const READY = { ready: true, serving: true, terminating: false };

function desired(name: string, address = "10.1.0.1"): DesiredSlice {
  return {
    name,
    namespace: "shop",
    sourceCluster: "public",
    addressType: "IPv4",
    labels: {
      [SERVICE_NAME_LABEL]: "web",
      [MANAGED_BY_LABEL]: MANAGED_BY_KUBEBURST,
      [SOURCE_CLUSTER_LABEL]: "public",
    },
    annotations: {},
    ownerUid: "uid-1",
    serviceName: "web",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: [{ address, conditions: READY }],
  };
}

function written(d: DesiredSlice, uid = `uid-${d.name}`): WrittenSlice {
  return {
    name: d.name,
    uid,
    resourceVersion: "1",
    labels: d.labels,
    annotations: d.annotations,
    addressType: d.addressType,
    ports: d.ports,
    endpoints: d.endpoints,
  };
}

test("planSliceWrites", async (t) => {
  const a = desired("a");
  const b = desired("b");
  const cases: {
    name: string;
    desired: DesiredSlice[];
    written: WrittenSlice[];
    apply: string[];
    delete: { name: string; uid: string }[];
    unchanged: number;
  }[] = [
    { name: "nothing", desired: [], written: [], apply: [], delete: [], unchanged: 0 },
    {
      name: "first write",
      desired: [b, a],
      written: [],
      apply: ["a", "b"],
      delete: [],
      unchanged: 0,
    },
    {
      name: "all in place",
      desired: [a, b],
      written: [written(b), written(a)],
      apply: [],
      delete: [],
      unchanged: 2,
    },
    {
      name: "one changed",
      desired: [a, desired("b", "10.1.0.9")],
      written: [written(a), written(b)],
      apply: ["b"],
      delete: [],
      unchanged: 1,
    },
    {
      name: "withdrawn: delete with uid",
      desired: [a],
      written: [written(a), written(b, "u-b")],
      apply: [],
      delete: [{ name: "b", uid: "u-b" }],
      unchanged: 1,
    },
    {
      name: "everything withdrawn",
      desired: [],
      written: [written(b, "u-b"), written(a, "u-a")],
      apply: [],
      delete: [
        { name: "a", uid: "u-a" },
        { name: "b", uid: "u-b" },
      ],
      unchanged: 0,
    },
    {
      name: "a native slice is never deleted",
      desired: [],
      written: [
        { ...written(a), labels: { [MANAGED_BY_LABEL]: "endpointslice-controller.k8s.io" } },
      ],
      apply: [],
      delete: [],
      unchanged: 0,
    },
    {
      name: "duplicate desired names applied once",
      desired: [a, a],
      written: [],
      apply: ["a"],
      delete: [],
      unchanged: 0,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const plan = planSliceWrites(c.desired, c.written);
      assert.deepEqual(
        plan.apply.map((s) => s.name),
        c.apply,
      );
      assert.deepEqual(plan.delete, c.delete);
      assert.equal(plan.unchanged, c.unchanged);
    });
  }
});

test("applying the plan converges: a second plan is empty", () => {
  const want = [desired("a"), desired("b", "10.1.0.2")];
  const first = planSliceWrites(want, [written(desired("c"))]);
  const after = [...first.apply.map((d) => written(d))];
  const second = planSliceWrites(want, after);
  assert.deepEqual(second, { apply: [], delete: [], unchanged: 2 });
});
