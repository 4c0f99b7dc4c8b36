// The Kubernetes objects the benchmark creates: Services on both sides, and peak EndpointSlices
// written directly (as the peak's EndpointSlice controller would) where no peak kcm runs.
import { podAddress } from "../src/localcloud/address-plan.ts";

export const ROLE_LABEL = "kubeburst.io/role";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** managed-by of kubeburst's slices in production. */
export const KUBEBURST_MANAGER = "kubeburst.io";
/** managed-by of the peak slices the benchmark writes itself. */
export const BENCH_MANAGER = "bench.kubeburst.io";
/** managed-by of the peak slices kube-controller-manager writes. */
export const KCM_MANAGER = "endpointslice-controller.k8s.io";
/** managed-by of the bare relay's slices in production. */
export const RELAY_MANAGER = "bench-relay.kubeburst.io";
/**
 * The Service a relayed slice belongs to. The relay does not set `kubernetes.io/service-name`:
 * it runs beside kubeburst, and kubeburst (like kube-proxy) reads every production slice that
 * names a Service; the relay's slices must not become input to the hop it is compared with.
 */
export const RELAYED_SERVICE_LABEL = "bench.kubeburst.io/relayed-service";

export const SERVICE_PORT = { name: "http", port: 80, protocol: "TCP", targetPort: 8080 };
export const ENDPOINT_PORT = { name: "http", port: 8080, protocol: "TCP" };

/** A production Service taking part (labelled production), with a selector and one port. */
export function productionService(namespace: string, name: string): object {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: { [ROLE_LABEL]: "production" } },
    spec: { selector: { app: name }, ports: [SERVICE_PORT] },
  };
}

/** A peak Service labelled peak; with `selector`, kube-controller-manager writes its slices. */
export function peakService(namespace: string, name: string, selector: boolean): object {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: { [ROLE_LABEL]: "peak" } },
    spec: { ...(selector ? { selector: { app: name } } : {}), ports: [SERVICE_PORT] },
  };
}

export interface PeakEndpoint {
  address: string;
  ready: boolean;
}

/** A peak EndpointSlice of Service `service`, managed by the benchmark. */
export function peakSlice(
  namespace: string,
  service: string,
  name: string,
  endpoints: readonly PeakEndpoint[],
): object {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name,
      namespace,
      labels: { [SERVICE_NAME_LABEL]: service, [MANAGED_BY_LABEL]: BENCH_MANAGER },
    },
    addressType: "IPv4",
    endpoints: endpoints.map((e) => ({
      addresses: [e.address],
      conditions: { ready: e.ready, serving: e.ready, terminating: false },
    })),
    ports: [ENDPOINT_PORT],
  };
}

/**
 * Peak endpoint address `n` (0..2999) of the peak cluster with index `cluster`: the address plan's
 * pod addresses, so they lie in the peak's allowedCIDRs. Services may share addresses: nothing
 * sends traffic to them here.
 */
export function peakEndpointAddress(cluster: number, n: number): string {
  return podAddress(cluster, n % 3000);
}

/** Name of Service `i` of a set: `s00042`. */
export function serviceName(i: number): string {
  return `s${String(i).padStart(5, "0")}`;
}
