// Hand-written peak EndpointSlices whose endpoints a test changes one at a time, as the
// EndpointSlice controller would (no kube-controller-manager needed in the peak).
import type { KubeClient } from "../../src/kube/kube-client.ts";

/** One endpoint of a hand-written slice; ready unless `ready: false`. */
export interface PeakEndpoint {
  address: string;
  ready?: boolean;
}

function endpointsBody(endpoints: readonly PeakEndpoint[]) {
  return endpoints.map((e) => ({
    addresses: [e.address],
    conditions: { ready: e.ready ?? true },
  }));
}

const slicesPath = (namespace: string) =>
  `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;

/**
 * Creates EndpointSlice `name` of Service `namespace/service` (managed by "someone-else"), IPv4,
 * port "http" 8080, holding `endpoints`.
 */
export async function createPeakSlice(
  client: KubeClient,
  namespace: string,
  service: string,
  name: string,
  endpoints: readonly PeakEndpoint[],
): Promise<void> {
  await client.request({
    method: "POST",
    path: slicesPath(namespace),
    body: {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name,
        labels: {
          "kubernetes.io/service-name": service,
          "endpointslice.kubernetes.io/managed-by": "someone-else",
        },
      },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: endpointsBody(endpoints),
    },
  });
}

/** Replaces the endpoints of slice `name` with `endpoints` (one merge patch: one event). */
export async function setPeakSliceEndpoints(
  client: KubeClient,
  namespace: string,
  name: string,
  endpoints: readonly PeakEndpoint[],
): Promise<void> {
  await client.request({
    method: "PATCH",
    path: `${slicesPath(namespace)}/${name}`,
    contentType: "application/merge-patch+json",
    body: { endpoints: endpointsBody(endpoints) },
  });
}

/**
 * `count` consecutive IPv4 addresses from `first`, skipping those ending in .0 and .255 (so
 * none is a network or broadcast address of a /24).
 */
export function ipv4Run(first: string, count: number): string[] {
  const parts = first.split(".").map(Number);
  let n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const out: string[] = [];
  while (out.length < count) {
    const last = n & 0xff;
    if (last !== 0 && last !== 255) {
      out.push([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, last].join("."));
    }
    n++;
  }
  return out;
}
