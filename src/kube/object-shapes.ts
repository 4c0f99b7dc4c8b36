import type {
  V1EndpointSlice,
  V1Endpoints,
  V1OwnerReference,
  V1Service,
} from "@kubernetes/client-node";
import {
  ADDRESS_FAMILIES,
  type AddressFamily,
  type EndpointGroup,
  type EndpointPort,
  normaliseConditions,
  PROTOCOLS,
  type Protocol,
} from "../domain/endpoints.ts";
import type { EndpointsSubset } from "../domain/endpoints-subsets.ts";
import type { LiteralEndpoints } from "../domain/literal-endpoints.ts";
import type { ProductionService } from "../domain/production-service.ts";
import type { WrittenSlice } from "../domain/slice-content-equal.ts";
import type { DesiredSlice } from "../domain/source-slices.ts";

// Translations between the API's JSON objects and the pure domain's values. Objects from the
// caches are read, never mutated. (The client-node model types describe the JSON field names;
// our client does not run its deserializer, so timestamps stay strings.)

function protocol(value: string | undefined): Protocol {
  return PROTOCOLS.includes(value as Protocol) ? (value as Protocol) : "TCP";
}

function family(value: string | undefined): AddressFamily | undefined {
  return ADDRESS_FAMILIES.includes(value as AddressFamily) ? (value as AddressFamily) : undefined;
}

function slicePorts(slice: V1EndpointSlice): EndpointPort[] {
  return (slice.ports ?? []).flatMap((p) =>
    p.port === undefined || p.port === null
      ? []
      : [
          {
            name: p.name ?? "",
            port: p.port,
            protocol: protocol(p.protocol),
            ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
          },
        ],
  );
}

/**
 * A peak cluster's EndpointSlice as the domain sees it: address family, ports, and each address
 * with explicit conditions. Undefined for FQDN slices, which are never imported.
 */
export function endpointGroupOf(slice: V1EndpointSlice): EndpointGroup | undefined {
  const addressType = family(slice.addressType);
  if (!addressType) return undefined;
  return {
    addressType,
    ports: slicePorts(slice),
    // Only the first address: the API defines no meaning for the others and kube-proxy ignores
    // them, so importing them would send production traffic where the peak itself never does.
    endpoints: (slice.endpoints ?? []).flatMap((e) =>
      (e.addresses ?? []).slice(0, 1).map((address) => ({
        address,
        conditions: normaliseConditions(e.conditions),
      })),
    ),
  };
}

/** One of our slices as read back from the production cluster's cache. */
export function writtenSliceOf(slice: V1EndpointSlice): WrittenSlice | undefined {
  const group = endpointGroupOf(slice);
  const owner = slice.metadata?.ownerReferences?.find((o) => o.kind === "Service");
  if (!group || !slice.metadata?.name || !slice.metadata.uid) return undefined;
  return {
    name: slice.metadata.name,
    uid: slice.metadata.uid,
    resourceVersion: slice.metadata.resourceVersion ?? "",
    labels: slice.metadata.labels ?? {},
    annotations: slice.metadata.annotations ?? {},
    addressType: group.addressType,
    ports: group.ports,
    endpoints: group.endpoints,
    ...(owner?.uid ? { ownerUid: owner.uid } : {}),
  };
}

/** The whole EndpointSlice object we server-side apply for a desired slice. */
export function sliceApplyBody(slice: DesiredSlice): object {
  const owner: V1OwnerReference = {
    apiVersion: "v1",
    kind: "Service",
    name: slice.serviceName,
    uid: slice.ownerUid,
    controller: true,
  };
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: slice.name,
      namespace: slice.namespace,
      labels: slice.labels,
      annotations: slice.annotations,
      ownerReferences: [owner],
    },
    addressType: slice.addressType,
    ports: slice.ports.map((p) => ({
      name: p.name,
      port: p.port,
      protocol: p.protocol,
      ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    })),
    endpoints: slice.endpoints.map((e) => ({
      addresses: [e.address],
      conditions: { ...e.conditions },
    })),
  };
}

/** The production Service's facts the domain needs. */
export function productionServiceOf(svc: V1Service): ProductionService {
  const families = (svc.spec?.ipFamilies ?? []).flatMap((f) => family(f) ?? []);
  return {
    namespace: svc.metadata?.namespace ?? "",
    name: svc.metadata?.name ?? "",
    uid: svc.metadata?.uid ?? "",
    ipFamilies: families.length > 0 ? families : ["IPv4"],
    ports: (svc.spec?.ports ?? []).map((p) => ({
      name: p.name ?? "",
      port: p.port,
      protocol: protocol(p.protocol),
    })),
    hasSelector: Object.keys(svc.spec?.selector ?? {}).length > 0,
    type: svc.spec?.type ?? "ClusterIP",
  };
}

/** The subsets and annotations of a legacy Endpoints object (literal mode). */
export function literalEndpointsOf(ep: V1Endpoints | undefined): LiteralEndpoints {
  const subsets: EndpointsSubset[] = (ep?.subsets ?? []).map((s) => ({
    addresses: (s.addresses ?? []).map((a) => ({ ...a })),
    notReadyAddresses: (s.notReadyAddresses ?? []).map((a) => ({ ...a })),
    ports: (s.ports ?? []).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      port: p.port,
      protocol: protocol(p.protocol),
    })),
  }));
  return { subsets, annotations: ep?.metadata?.annotations ?? {} };
}

/** The Endpoints object to PUT in literal mode: the current one with new subsets and annotations. */
export function endpointsUpdateBody(
  current: V1Endpoints | undefined,
  namespace: string,
  name: string,
  desired: LiteralEndpoints,
  labels: Record<string, string>,
): object {
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: {
      ...(current?.metadata ?? {}),
      name,
      namespace,
      labels,
      annotations: desired.annotations,
    },
    subsets: desired.subsets
      .filter((s) => s.addresses.length + s.notReadyAddresses.length > 0)
      .map((s) => ({
        ...(s.addresses.length > 0 ? { addresses: s.addresses } : {}),
        ...(s.notReadyAddresses.length > 0 ? { notReadyAddresses: s.notReadyAddresses } : {}),
        ports: s.ports,
      })),
  };
}
