// A peak API server that does not validate what it serves: an older release, a patched one, or
// a compromised etcd. Current API servers refuse loopback, link-local, link-local multicast and
// IPv4-mapped addresses in EndpointSlices, so the only way such a slice reaches kubeburst from a
// real API server is through storage. The cluster must store objects as JSON
// (`--storage-media-type=application/json`); the slice is put into its etcd directly, and the
// API server serves it (and sends it to watchers) as it serves any other.
import { randomUUID } from "node:crypto";
import type { ControlPlane } from "../../src/localcloud/control-plane.ts";

/** kube-apiserver flag under which {@link putUnvalidatedSlice} works. */
export const JSON_STORAGE = "--storage-media-type=application/json";

/**
 * Stores EndpointSlice `namespace/name` of Service `service` in `plane`'s etcd, past the API
 * server's validation: port "http" 8080, every endpoint ready, managed by "someone-else".
 */
export async function putUnvalidatedSlice(
  plane: ControlPlane,
  opts: {
    namespace: string;
    service: string;
    name: string;
    addressType: "IPv4" | "IPv6";
    addresses: string[];
  },
): Promise<void> {
  const { namespace, service, name, addressType, addresses } = opts;
  const slice = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name,
      namespace,
      uid: randomUUID(),
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      labels: {
        "kubernetes.io/service-name": service,
        "endpointslice.kubernetes.io/managed-by": "someone-else",
      },
    },
    addressType,
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  };
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const res = await fetch(`${plane.etcdClientUrl}/v3/kv/put`, {
    method: "POST",
    body: JSON.stringify({
      key: b64(`/registry/endpointslices/${namespace}/${name}`),
      value: b64(JSON.stringify(slice)),
    }),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok)
    throw new Error(`etcd put of ${namespace}/${name}: ${res.status} ${await res.text()}`);
}
