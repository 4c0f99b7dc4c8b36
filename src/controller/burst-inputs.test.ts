import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { burstNeeds, hpaSignalOf, readyAddresses, sameBurstInputs } from "./burst-inputs.ts";

const defaults = { policy: "always" as const, holdMs: 60_000 };

test("burstNeeds: the ready count only for threshold or a cap, the HPA only for hpa-saturated", () => {
  const cases: [Record<string, string>, { readyCount: boolean; hpa: string | undefined }][] = [
    [{}, { readyCount: false, hpa: undefined }],
    [{ "kubeburst.io/burst-share-cap": "40%" }, { readyCount: true, hpa: undefined }],
    [
      { "kubeburst.io/burst-policy": "threshold", "kubeburst.io/burst-below": "2" },
      { readyCount: true, hpa: undefined },
    ],
    [
      { "kubeburst.io/burst-policy": "hpa-saturated", "kubeburst.io/burst-hpa": "web" },
      { readyCount: false, hpa: "web" },
    ],
    [{ "kubeburst.io/burst-policy": "nonsense" }, { readyCount: false, hpa: undefined }],
  ];
  for (const [annotations, want] of cases) {
    assert.deepEqual(burstNeeds(annotations, defaults), want, JSON.stringify(annotations));
  }
});

test("readyAddresses: distinct ready addresses, missing ready is ready, added ones left out", () => {
  const slices: V1EndpointSlice[] = [
    {
      addressType: "IPv4",
      endpoints: [
        { addresses: ["198.18.1.10"], conditions: { ready: true } },
        { addresses: ["198.18.1.11"], conditions: { ready: false } },
        { addresses: ["198.18.1.12"] },
      ],
    },
    {
      addressType: "IPv4",
      endpoints: [{ addresses: ["198.18.1.10"] }, { addresses: ["198.18.17.10"] }],
    },
  ];
  assert.equal(readyAddresses(slices), 3);
  assert.equal(readyAddresses(slices, new Set(["198.18.17.10"])), 2);
  assert.equal(readyAddresses([]), 0);
});

test("hpaSignalOf: saturation from status and the ScalingLimited condition", () => {
  assert.deepEqual(hpaSignalOf(undefined), {
    found: false,
    currentReplicas: 0,
    maxReplicas: 0,
    wantsMore: false,
  });
  const hpa = (reason: string, status = "True") => ({
    spec: { maxReplicas: 3 },
    status: {
      currentReplicas: 3,
      desiredReplicas: 3,
      conditions: [{ type: "ScalingLimited", status, reason }],
    },
  });
  assert.equal(hpaSignalOf(hpa("TooManyReplicas")).wantsMore, true);
  assert.equal(hpaSignalOf(hpa("TooFewReplicas")).wantsMore, false, "limited at the minimum");
  assert.equal(hpaSignalOf(hpa("TooManyReplicas", "False")).wantsMore, false);
  assert.equal(hpaSignalOf(hpa("DesiredWithinRange")).currentReplicas, 3);
});

test("sameBurstInputs: annotations, ready count and HPA compared by value", () => {
  const a = { annotations: { "kubeburst.io/burst": "on" }, productionReady: 2 };
  assert.equal(sameBurstInputs(a, { ...a, annotations: { ...a.annotations } }), true);
  assert.equal(sameBurstInputs(a, { ...a, productionReady: 3 }), false);
  assert.equal(sameBurstInputs(a, { ...a, annotations: {} }), false);
  const hpa = { found: true, currentReplicas: 3, maxReplicas: 3, wantsMore: true };
  assert.equal(sameBurstInputs({ ...a, hpa }, { ...a, hpa: { ...hpa, wantsMore: false } }), false);
});
