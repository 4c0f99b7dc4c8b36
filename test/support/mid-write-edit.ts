// Someone else edits a slice of ours while kubeburst is still writing the other slices of the
// same Service: the moment at which kubeburst's own write and the edit reach its watch together.
import assert from "node:assert/strict";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import type { KubeClient } from "../../src/kube/kube-client.ts";
import { eventually } from "./eventually.ts";
import { createService, createSlices, OURS, slicesOf } from "./kube-fixtures.ts";

export interface MidWriteEdit {
  /** The edited slice. */
  name: string;
  /** How many slices of ours the Service had when the edit landed. */
  writtenWhenEdited: number;
}

/**
 * Sets up Service `namespace/service` so that kubeburst writes all its slices in one go, and
 * empties the first of them as soon as it exists, as another writer could, while kubeburst is
 * still writing the others. The peak side comes first: selector-less, with `addresses` in
 * hand-written slices (give it many: 1,000 make 10 slices of ours); `settled` must resolve once
 * kubeburst has seen all of it. Only then the production Service appears, so the first slice
 * kubeburst writes is already final, and only the edit changes it.
 */
export async function editFirstSliceMidWrite(opts: {
  production: KubeClient;
  peak: KubeClient;
  namespace: string;
  service: string;
  addresses: string[];
  settled: () => Promise<unknown>;
}): Promise<MidWriteEdit> {
  const { production, peak, namespace, service } = opts;
  await createService(peak, { namespace, name: service, labels: { "kubeburst.io/role": "peak" } });
  await createSlices(peak, namespace, service, opts.addresses);
  await opts.settled();
  await createService(production, {
    namespace,
    name: service,
    labels: { "kubeburst.io/role": "production" },
  });
  let first: V1EndpointSlice | undefined;
  await eventually(
    `the first slice of ours for ${namespace}/${service} is written`,
    async () => {
      first = (await slicesOf(production, namespace, service, OURS))[0];
      assert.ok(first?.metadata?.name);
    },
    { timeoutMs: 60_000, intervalMs: 5 },
  );
  const name = first!.metadata!.name!;
  await production.request({
    method: "PATCH",
    path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices/${name}`,
    contentType: "application/merge-patch+json",
    body: { endpoints: [] },
  });
  const writtenWhenEdited = (await slicesOf(production, namespace, service, OURS)).length;
  return { name, writtenWhenEdited };
}

/** Asserts that `slices` hold every one of `addresses` exactly once, ready, and nothing else. */
export function assertHoldsExactly(slices: readonly V1EndpointSlice[], addresses: string[]): void {
  const held = slices.flatMap((s) =>
    (s.endpoints ?? []).map(
      (e) => `${e.addresses[0]}${e.conditions?.ready === false ? " (not ready)" : ""}`,
    ),
  );
  const missing = addresses.length - new Set(held).size;
  assert.deepEqual(held.sort(), [...addresses].sort(), `${missing} address(es) missing`);
}
