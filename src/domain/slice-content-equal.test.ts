// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SOURCE_SLICE_ANNOTATION, TRIGGER_TIME_ANNOTATION } from "./labels.ts";
import type { ProductionService } from "./production-service.ts";
import { sliceContentEqual, type WrittenSlice } from "./slice-content-equal.ts";
import { type DesiredSlice, sourceSlices } from "./source-slices.ts";

const service: ProductionService = {
  namespace: "shop",
  name: "web",
  uid: "uid-1",
  ipFamilies: ["IPv4"],
  ports: [
    { name: "http", port: 80, protocol: "TCP" },
    { name: "grpc", port: 90, protocol: "TCP" },
  ],
  hasSelector: true,
  type: "ClusterIP",
};

const READY = { ready: true, serving: true, terminating: false };
const NOT_READY = { ready: false, serving: false, terminating: false };

function desired(): DesiredSlice {
  const { slices } = sourceSlices({
    service,
    cluster: "public",
    installation: "kubeburst",
    source: {
      name: "web-abc12",
      triggerTime: "2024-05-01T10:00:00Z",
      refused: [],
      group: {
        addressType: "IPv4",
        ports: [
          { name: "http", port: 8080, protocol: "TCP" },
          { name: "grpc", port: 9090, protocol: "TCP" },
        ],
        endpoints: [
          { address: "10.1.0.1", conditions: READY },
          { address: "10.1.0.2", conditions: NOT_READY },
        ],
      },
    },
    existing: () => undefined,
  });
  return slices[0]!;
}

function writtenFrom(d: DesiredSlice): WrittenSlice {
  return {
    name: d.name,
    uid: "slice-uid",
    resourceVersion: "42",
    labels: { ...d.labels },
    annotations: { ...d.annotations },
    addressType: d.addressType,
    ports: d.ports.map((p) => ({ ...p })),
    endpoints: d.endpoints.map((e) => ({ address: e.address, conditions: { ...e.conditions } })),
  };
}

test("sliceContentEqual", async (t) => {
  const cases: { name: string; edit: (w: WrittenSlice) => WrittenSlice; want: boolean }[] = [
    { name: "as written", edit: (w) => w, want: true },
    {
      name: "endpoints in another order",
      edit: (w) => ({ ...w, endpoints: [...w.endpoints].reverse() }),
      want: true,
    },
    {
      name: "ports in another order",
      edit: (w) => ({ ...w, ports: [...w.ports].reverse() }),
      want: true,
    },
    {
      name: "only the trigger time differs",
      edit: (w) => ({
        ...w,
        annotations: { ...w.annotations, [TRIGGER_TIME_ANNOTATION]: "2023-01-01T00:00:00Z" },
      }),
      want: true,
    },
    {
      name: "trigger time missing",
      edit: (w) => ({ ...w, annotations: { [SOURCE_SLICE_ANNOTATION]: "web-abc12" } }),
      want: true,
    },
    { name: "source annotation missing", edit: (w) => ({ ...w, annotations: {} }), want: false },
    {
      name: "two copies of one address instead of two addresses",
      edit: (w) => ({ ...w, endpoints: [w.endpoints[0]!, w.endpoints[0]!] }),
      want: false,
    },
    {
      name: "someone else's extra label",
      edit: (w) => ({ ...w, labels: { ...w.labels, team: "x" } }),
      want: true,
    },
    {
      name: "resourceVersion is not content",
      edit: (w) => ({ ...w, resourceVersion: "99" }),
      want: true,
    },
    { name: "same owner", edit: (w) => ({ ...w, ownerUid: "uid-1" }), want: true },
    { name: "other owner", edit: (w) => ({ ...w, ownerUid: "uid-old" }), want: false },
    { name: "other name", edit: (w) => ({ ...w, name: "other" }), want: false },
    { name: "other family", edit: (w) => ({ ...w, addressType: "IPv6" }), want: false },
    { name: "label missing", edit: (w) => ({ ...w, labels: {} }), want: false },
    {
      name: "endpoint condition differs",
      edit: (w) => ({
        ...w,
        endpoints: w.endpoints.map((e) => ({
          ...e,
          conditions: { ...e.conditions, ready: true, serving: true },
        })),
      }),
      want: false,
    },
    {
      name: "endpoint missing",
      edit: (w) => ({ ...w, endpoints: w.endpoints.slice(1) }),
      want: false,
    },
    {
      name: "endpoint duplicated",
      edit: (w) => ({ ...w, endpoints: [...w.endpoints, w.endpoints[0]!] }),
      want: false,
    },
    {
      name: "port number differs",
      edit: (w) => ({ ...w, ports: w.ports.map((p) => ({ ...p, port: p.port + 1 })) }),
      want: false,
    },
    {
      name: "appProtocol differs",
      edit: (w) => ({ ...w, ports: w.ports.map((p) => ({ ...p, appProtocol: "http" })) }),
      want: false,
    },
  ];
  const d = desired();
  for (const { name, edit, want } of cases) {
    await t.test(name, () => assert.equal(sliceContentEqual(d, edit(writtenFrom(d))), want));
  }
});
