// Small API helpers for integration tests: create the objects a user would, read back what
// kubeburst wrote.
import type { V1EndpointSlice, V1Endpoints, V1Service } from "@kubernetes/client-node";
import { KubeApiError } from "../../src/kube/kube-api-error.ts";
import type { KubeClient } from "../../src/kube/kube-client.ts";

export const OURS = "endpointslice.kubernetes.io/managed-by=kubeburst.io";

export interface ServiceFixture {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  /** Omitted: a selector-less Service. */
  selector?: Record<string, string>;
  /** Default one port "http" 80 → target "http". */
  ports?: { name: string; port: number; targetPort?: string | number }[];
  /**
   * Families, primary first: one gives a SingleStack Service, two a RequireDualStack one.
   * Omitted: the cluster's default (its primary family).
   */
  ipFamilies?: ("IPv4" | "IPv6")[];
}

export async function createService(client: KubeClient, svc: ServiceFixture): Promise<V1Service> {
  const ports = (svc.ports ?? [{ name: "http", port: 80, targetPort: "http" }]).map((p) => ({
    name: p.name,
    port: p.port,
    protocol: "TCP",
    targetPort: p.targetPort ?? p.port,
  }));
  return client.request<V1Service>({
    method: "POST",
    path: `/api/v1/namespaces/${svc.namespace}/services`,
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: svc.name, namespace: svc.namespace, labels: svc.labels ?? {} },
      spec: {
        ...(svc.selector ? { selector: svc.selector } : {}),
        ...(svc.ipFamilies
          ? {
              ipFamilies: svc.ipFamilies,
              ipFamilyPolicy: svc.ipFamilies.length > 1 ? "RequireDualStack" : "SingleStack",
            }
          : {}),
        ports,
      },
    },
  });
}

/** Merge-patches a Service's labels (`null` removes a label). */
export async function labelService(
  client: KubeClient,
  namespace: string,
  name: string,
  labels: Record<string, string | null>,
): Promise<void> {
  await client.request({
    method: "PATCH",
    path: `/api/v1/namespaces/${namespace}/services/${name}`,
    contentType: "application/merge-patch+json",
    body: { metadata: { labels } },
  });
}

export async function deleteObject(client: KubeClient, path: string): Promise<void> {
  try {
    await client.request({ method: "DELETE", path });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.kind === "not-found")) throw err;
  }
}

/** EndpointSlices of Service `namespace/name` matching the extra `selector` (e.g. {@link OURS}). */
export async function slicesOf(
  client: KubeClient,
  namespace: string,
  name: string,
  selector?: string,
): Promise<V1EndpointSlice[]> {
  const labelSelector = [`kubernetes.io/service-name=${name}`, selector].filter(Boolean).join(",");
  const list = await client.request<{ items: V1EndpointSlice[] }>({
    method: "GET",
    path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
    query: { labelSelector },
  });
  return list.items;
}

/** address → ready, over every endpoint of `slices`. */
export function readiness(slices: readonly V1EndpointSlice[]): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const s of slices) {
    for (const e of s.endpoints ?? []) {
      for (const a of e.addresses) out[a] = e.conditions?.ready !== false;
    }
  }
  return out;
}

export async function getEndpoints(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<V1Endpoints | undefined> {
  try {
    return await client.request<V1Endpoints>({
      method: "GET",
      path: `/api/v1/namespaces/${namespace}/endpoints/${name}`,
    });
  } catch (err) {
    if (err instanceof KubeApiError && err.kind === "not-found") return undefined;
    throw err;
  }
}

/** Every address of an Endpoints object, ready or not, sorted. */
export function endpointsAddresses(ep: V1Endpoints | undefined): string[] {
  return (ep?.subsets ?? [])
    .flatMap((s) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])])
    .map((a) => a.ip)
    .sort();
}

/** Events about object `name` in `namespace`. */
export async function eventsAbout(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<{ reason?: string; type?: string; message?: string }[]> {
  const list = await client.request<{
    items: { reason?: string; type?: string; message?: string }[];
  }>({
    method: "GET",
    path: `/api/v1/namespaces/${namespace}/events`,
    query: { fieldSelector: `involvedObject.name=${name}` },
  });
  return list.items;
}

/**
 * A hand-written EndpointSlice for Service `namespace/service` (managed by "someone-else"), as a
 * careless or compromised peak could publish: port "http" 8080, every endpoint ready.
 */
export async function createSlice(
  client: KubeClient,
  namespace: string,
  service: string,
  name: string,
  addresses: string[],
  addressType: "IPv4" | "IPv6" | "FQDN" = "IPv4",
): Promise<void> {
  await client.request({
    method: "POST",
    path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
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
      addressType,
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    },
  });
}

/** {@link createSlice} for many addresses: slices `<service>-manual-<i>` of 100 endpoints each. */
export async function createSlices(
  client: KubeClient,
  namespace: string,
  service: string,
  addresses: string[],
): Promise<void> {
  for (let i = 0; i * 100 < addresses.length; i++) {
    const part = addresses.slice(i * 100, (i + 1) * 100);
    await createSlice(client, namespace, service, `${service}-manual-${i}`, part);
  }
}
