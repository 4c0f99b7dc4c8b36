import { compareText } from "./compare-text.ts";
import type { AddressFamily, Endpoint, EndpointPort } from "./endpoints.ts";
import type { ImportConflict } from "./imported-groups.ts";
import { isValidLabelValue } from "./label-value.ts";
import {
  INSTALLATION_LABEL,
  MANAGED_BY_KUBEBURST,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  SOURCE_CLUSTER_LABEL,
  SOURCE_SLICE_ANNOTATION,
  TRIGGER_TIME_ANNOTATION,
} from "./labels.ts";
import { matchPorts } from "./port-match.ts";
import { portSetKey } from "./port-set.ts";
import type { ProductionService } from "./production-service.ts";
import { sliceName, splitSliceName } from "./slice-name.ts";
import type { Source } from "./source.ts";

/** Endpoints per slice unless told otherwise (SPEC B2; the EndpointSlice controller's default). */
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;
/** The API's own limit on endpoints in one EndpointSlice. */
export const API_MAX_ENDPOINTS_PER_SLICE = 1000;

/** One EndpointSlice kubeburst wants in the production cluster. */
export interface DesiredSlice {
  name: string;
  namespace: string;
  sourceCluster: string;
  addressType: AddressFamily;
  /** `kubernetes.io/service-name`, our `managed-by`, `kubeburst.io/source-cluster`, our installation. */
  labels: Record<string, string>;
  /** The source slice's name and, when known, its last-change trigger time. */
  annotations: Record<string, string>;
  /** UID of the production Service, for the ownerReference. */
  ownerUid: string;
  serviceName: string;
  ports: EndpointPort[];
  /** Sorted by address, one per address, conditions explicit. */
  endpoints: Endpoint[];
}

/** What {@link sourceSlices} needs. */
export interface SourceSlicesInput {
  service: ProductionService;
  /** The peak cluster the source comes from. */
  cluster: string;
  /** The installation that writes (label value). */
  installation: string;
  source: Source;
  /**
   * The addresses of our slices that already mirror this source, by chunk index, given the
   * prefix their names share (see {@link splitSliceName}); undefined when there are none.
   */
  existing: (prefix: string) => ReadonlyMap<number, readonly string[]> | undefined;
  /** Endpoints per slice; default 100, clamped to 1–1000. */
  maxPerSlice?: number;
}

/** The slices that mirror one source, and what of it production cannot import. */
export interface SourceSlices {
  /** By chunk index. */
  slices: DesiredSlice[];
  conflicts: ImportConflict[];
}

function clampMaxPerSlice(value: number | undefined): number {
  if (value === undefined || Number.isNaN(value)) return DEFAULT_MAX_ENDPOINTS_PER_SLICE;
  return Math.min(API_MAX_ENDPOINTS_PER_SLICE, Math.max(1, Math.floor(value)));
}

/**
 * Cuts a source's endpoints into chunks of at most `max` the way the EndpointSlice reconciler
 * keeps its own slices: an endpoint stays in the chunk that holds it now while there is room;
 * the others fill chunks with room, lowest index first (existing chunks, even emptied ones,
 * before new ones). So one endpoint added, removed or changed touches one chunk. Chunks left
 * empty disappear. `endpoints` must hold each address once. Pure.
 */
export function layoutChunks(
  endpoints: readonly Endpoint[],
  existing: ReadonlyMap<number, readonly string[]> | undefined,
  max: number,
): [number, Endpoint[]][] {
  const home = new Map<string, number>();
  const chunks = new Map<number, Endpoint[]>();
  for (const [index, addresses] of existing ?? []) {
    chunks.set(index, []);
    for (const address of addresses) if (!home.has(address)) home.set(address, index);
  }
  const homeless: Endpoint[] = [];
  for (const endpoint of endpoints) {
    const chunk = chunks.get(home.get(endpoint.address) ?? -1);
    if (chunk !== undefined && chunk.length < max) chunk.push(endpoint);
    else homeless.push(endpoint);
  }
  // Existing chunks with room first, then new chunks at the lowest free index.
  const order = [...chunks.keys()].sort((a, b) => a - b);
  let at = 0;
  for (const endpoint of homeless) {
    while (at < order.length && chunks.get(order[at]!)!.length >= max) at++;
    if (at === order.length) {
      let fresh = 0;
      while (chunks.has(fresh)) fresh++;
      chunks.set(fresh, []);
      order.push(fresh);
    }
    chunks.get(order[at]!)!.push(endpoint);
  }
  return [...chunks.entries()]
    .filter(([, chunk]) => chunk.length > 0)
    .sort(([a], [b]) => a - b)
    .map(([i, chunk]) => [i, chunk.sort((a, b) => compareText(a.address, b.address))]);
}

/**
 * The EndpointSlices that mirror one peak slice (a {@link Source}) into the production Service
 * (SPEC M7, B2, B7, B8): only if its family is one of the Service's, ports matched by name, its
 * admitted endpoints cut into chunks by {@link layoutChunks}, named by {@link sliceName}, and
 * nothing but address and explicit conditions copied. Pure and total: problems come back as
 * conflicts.
 */
export function sourceSlices(input: SourceSlicesInput): SourceSlices {
  const { service, cluster, installation, source } = input;
  const group = source.group;
  const conflicts: ImportConflict[] = [];
  if (group === undefined || group.endpoints.length === 0) return { slices: [], conflicts };
  if (cluster === "" || !isValidLabelValue(cluster)) {
    conflicts.push({
      cluster,
      kind: "invalid-cluster-name",
      reason: `cluster name ${JSON.stringify(cluster)} is not a valid label value; its endpoints are not imported`,
    });
    return { slices: [], conflicts };
  }
  if (!service.ipFamilies.includes(group.addressType)) {
    conflicts.push({
      cluster,
      kind: "family-mismatch",
      // The same words for every such slice of the cluster, so they make one Event, not one each.
      reason: `peak cluster ${cluster} has ${group.addressType} endpoints; the production Service's families are ${service.ipFamilies.join(" and ") || "none"}, so they are left out`,
    });
    return { slices: [], conflicts };
  }
  const match = matchPorts(service.ports, group.ports);
  for (const { kind, port, reason } of match.conflicts) {
    conflicts.push(
      kind === "no-matching-ports" ? { cluster, kind, reason } : { cluster, kind, port, reason },
    );
  }
  if (!match.contributes) return { slices: [], conflicts };
  const ports = match.ports;
  const nameOf = (index: number) =>
    sliceName({
      serviceName: service.name,
      cluster,
      addressType: group.addressType,
      portSetKey: portSetKey(ports),
      source: source.name,
      installation,
      index,
    });
  const prefix = splitSliceName(nameOf(0))?.prefix ?? "";
  const max = clampMaxPerSlice(input.maxPerSlice);
  const annotations: Record<string, string> = { [SOURCE_SLICE_ANNOTATION]: source.name };
  if (source.triggerTime !== undefined) annotations[TRIGGER_TIME_ANNOTATION] = source.triggerTime;
  const slices = layoutChunks(group.endpoints, input.existing(prefix), max).map(
    ([index, endpoints]): DesiredSlice => ({
      name: nameOf(index),
      namespace: service.namespace,
      sourceCluster: cluster,
      addressType: group.addressType,
      labels: {
        [SERVICE_NAME_LABEL]: service.name,
        [MANAGED_BY_LABEL]: MANAGED_BY_KUBEBURST,
        [SOURCE_CLUSTER_LABEL]: cluster,
        [INSTALLATION_LABEL]: installation,
      },
      annotations: { ...annotations },
      ownerUid: service.uid,
      serviceName: service.name,
      ports: ports.map((port) => ({ ...port })),
      endpoints,
    }),
  );
  return { slices, conflicts };
}
