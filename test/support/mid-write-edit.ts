// Someone else edits a slice of ours while kubeburst is still writing the other slices of the
// same Service: the moment at which kubeburst's own write and the edit reach its watch together.
import assert from "node:assert/strict";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import type { KubeClient } from "../../src/kube/kube-client.ts";
import { eventually } from "./eventually.ts";
import { OURS, readiness, slicesOf } from "./kube-fixtures.ts";

export interface MidWriteEdit {
  /** The edited slice. */
  name: string;
  /** Its endpoints as kubeburst wrote them (address → ready), before the edit emptied them. */
  written: Record<string, boolean>;
  /** How many slices of ours the Service had when the edit landed. */
  writtenWhenEdited: number;
}

/**
 * Waits (polling every 5 ms) for the first slice of ours of `namespace/service` in production,
 * and at once empties its endpoints, as another writer could. Give the Service enough peak
 * endpoints for many slices (e.g. 1,000: 10 slices), so that kubeburst is still writing the
 * others when the edit lands.
 */
export async function editFirstSliceMidWrite(
  production: KubeClient,
  namespace: string,
  service: string,
): Promise<MidWriteEdit> {
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
  return { name, written: readiness([first!]), writtenWhenEdited };
}
