import type { V1EndpointSlice, V1Endpoints, V1Service } from "@kubernetes/client-node";
import { BURST_ANNOTATION_PREFIX } from "../domain/burst-policy.ts";
import { TRIGGER_TIME_ANNOTATION } from "../domain/labels.ts";
import type { KubeObject } from "./reflector.ts";

// What the caches keep of each object: only the fields kubeburst reads. managedFields alone are
// 18–43% of a slice, and a node's status carries images and conditions nobody here reads.

type Metadata = NonNullable<KubeObject["metadata"]>;

function identity(meta: Metadata | undefined): Metadata {
  const out: Metadata = {};
  if (meta?.name !== undefined) out.name = meta.name;
  if (meta?.namespace !== undefined) out.namespace = meta.namespace;
  if (meta?.uid !== undefined) out.uid = meta.uid;
  if (meta?.resourceVersion !== undefined) out.resourceVersion = meta.resourceVersion;
  if (meta?.labels !== undefined) out.labels = meta.labels;
  return out;
}

/**
 * A Service: identity, labels, its burst annotations (`kubeburst.io/burst*`), and the spec fields
 * a production or peak Service is read by.
 */
export function trimService(svc: V1Service): V1Service {
  const spec = svc.spec ?? {};
  const burst = Object.entries(svc.metadata?.annotations ?? {}).filter(([k]) =>
    k.startsWith(BURST_ANNOTATION_PREFIX),
  );
  return {
    metadata: {
      ...identity(svc.metadata),
      ...(burst.length === 0 ? {} : { annotations: Object.fromEntries(burst) }),
    },
    spec: {
      ...(spec.type === undefined ? {} : { type: spec.type }),
      ...(spec.selector === undefined ? {} : { selector: spec.selector }),
      ...(spec.ipFamilies === undefined ? {} : { ipFamilies: spec.ipFamilies }),
      ports: (spec.ports ?? []).map((p) => ({
        ...(p.name === undefined ? {} : { name: p.name }),
        port: p.port,
        ...(p.protocol === undefined ? {} : { protocol: p.protocol }),
      })),
    },
  };
}

/**
 * An EndpointSlice: identity, labels, the trigger-time annotation, the owner UIDs, ports, and
 * each endpoint's first address and conditions (kube-proxy uses only the first address).
 */
export function trimSlice(slice: V1EndpointSlice): V1EndpointSlice {
  const trigger = slice.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
  const owners = slice.metadata?.ownerReferences;
  return {
    metadata: {
      ...identity(slice.metadata),
      ...(slice.metadata?.annotations === undefined
        ? {}
        : { annotations: trigger === undefined ? {} : { [TRIGGER_TIME_ANNOTATION]: trigger } }),
      ...(owners === undefined
        ? {}
        : {
            ownerReferences: owners.map((o) => ({
              apiVersion: o.apiVersion,
              kind: o.kind,
              name: o.name,
              uid: o.uid,
            })),
          }),
    },
    addressType: slice.addressType,
    ...(slice.ports === undefined ? {} : { ports: slice.ports }),
    endpoints: (slice.endpoints ?? []).map((e) => ({
      addresses: (e.addresses ?? []).slice(0, 1),
      ...(e.conditions === undefined ? {} : { conditions: e.conditions }),
    })),
  };
}

/**
 * Our own slices keep every annotation (the writer compares the ones it sets); otherwise as
 * {@link trimSlice}.
 */
export function trimOurSlice(slice: V1EndpointSlice): V1EndpointSlice {
  const trimmed = trimSlice(slice);
  const annotations = slice.metadata?.annotations;
  return annotations === undefined
    ? trimmed
    : { ...trimmed, metadata: { ...trimmed.metadata, annotations } };
}

/** An Endpoints object, whole but for managedFields (literal mode replaces it, so it keeps the rest). */
export function trimEndpoints(ep: V1Endpoints): V1Endpoints {
  if (ep.metadata?.managedFields === undefined) return ep;
  const { managedFields: _, ...metadata } = ep.metadata;
  return { ...ep, metadata };
}

/** A Node: its name, addresses and pod CIDRs (production's own ranges, SPEC B1). */
export interface CachedNode extends KubeObject {
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type?: string; address: string }[] };
}

export function trimNode(node: CachedNode): CachedNode {
  return {
    metadata: identity(node.metadata),
    spec: {
      ...(node.spec?.podCIDR === undefined ? {} : { podCIDR: node.spec.podCIDR }),
      ...(node.spec?.podCIDRs === undefined ? {} : { podCIDRs: node.spec.podCIDRs }),
    },
    status: {
      addresses: (node.status?.addresses ?? []).map((a) => ({ address: a.address })),
    },
  };
}

/** A ServiceCIDR (networking.k8s.io/v1): its name and CIDRs. */
export interface CachedServiceCidr extends KubeObject {
  spec?: { cidrs?: string[] };
}

export function trimServiceCidr(obj: CachedServiceCidr): CachedServiceCidr {
  return { metadata: identity(obj.metadata), spec: { cidrs: obj.spec?.cidrs ?? [] } };
}

/** A HorizontalPodAutoscaler (autoscaling/v2): what the hpa-saturated burst policy reads. */
export interface CachedHpa extends KubeObject {
  spec?: { maxReplicas?: number };
  status?: {
    currentReplicas?: number;
    desiredReplicas?: number;
    conditions?: { type?: string; status?: string; reason?: string }[];
  };
}

export function trimHpa(hpa: CachedHpa): CachedHpa {
  return {
    metadata: identity(hpa.metadata),
    spec: { ...(hpa.spec?.maxReplicas === undefined ? {} : { maxReplicas: hpa.spec.maxReplicas }) },
    status: {
      ...(hpa.status?.currentReplicas === undefined
        ? {}
        : { currentReplicas: hpa.status.currentReplicas }),
      ...(hpa.status?.desiredReplicas === undefined
        ? {}
        : { desiredReplicas: hpa.status.desiredReplicas }),
      conditions: (hpa.status?.conditions ?? []).map((c) => ({
        ...(c.type === undefined ? {} : { type: c.type }),
        ...(c.status === undefined ? {} : { status: c.status }),
        ...(c.reason === undefined ? {} : { reason: c.reason }),
      })),
    },
  };
}
