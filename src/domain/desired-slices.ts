import { compareText } from "./compare-text.ts";
import type { AddressFamily, Contribution, Endpoint, EndpointPort } from "./endpoints.ts";
import { type ImportConflict, importContributions } from "./imported-groups.ts";
import {
  MANAGED_BY_KUBEBURST,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  SOURCE_CLUSTER_LABEL,
  TRIGGER_TIME_ANNOTATION,
} from "./labels.ts";
import type { ProductionService } from "./production-service.ts";
import { sliceName } from "./slice-name.ts";

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
  /** `kubernetes.io/service-name`, our `managed-by`, `kubeburst.io/source-cluster`. */
  labels: Record<string, string>;
  /** The source cluster's last-change trigger time, when known. */
  annotations: Record<string, string>;
  /** UID of the production Service, for the ownerReference. */
  ownerUid: string;
  serviceName: string;
  ports: EndpointPort[];
  /** Sorted by address, one per address, conditions explicit. */
  endpoints: Endpoint[];
}

/** Options for {@link desiredSlices}. */
export interface DesiredSlicesOptions {
  /** Endpoints per slice; default 100, clamped to 1–1000. */
  maxPerSlice?: number;
}

/** The slices to hold and what was left out of the peak contributions. */
export interface DesiredSlices {
  /** Sorted by name. */
  slices: DesiredSlice[];
  conflicts: ImportConflict[];
}

function clampMaxPerSlice(value: number | undefined): number {
  if (value === undefined || Number.isNaN(value)) return DEFAULT_MAX_ENDPOINTS_PER_SLICE;
  return Math.min(API_MAX_ENDPOINTS_PER_SLICE, Math.max(1, Math.floor(value)));
}

/**
 * The EndpointSlices that make the production Service balance onto its peak clusters (SPEC M7,
 * B2, B7): one set per (source cluster, address family, matched port set), endpoints sorted by
 * address and cut into chunks of at most `maxPerSlice`, named by {@link sliceName}. Only the
 * Service's families are imported, ports are matched by name, duplicate addresses are merged
 * (ready if any copy is ready), and nothing but address and explicit conditions is copied. Pass
 * peak contributions only. Pure and total: the same input gives the same slices, and problems
 * come back as conflicts.
 */
export function desiredSlices(
  service: ProductionService,
  contributions: readonly Contribution[],
  opts: DesiredSlicesOptions = {},
): DesiredSlices {
  const maxPerSlice = clampMaxPerSlice(opts.maxPerSlice);
  const { groups, conflicts } = importContributions(service, contributions);
  const slices: DesiredSlice[] = [];
  for (const group of groups) {
    for (let start = 0, index = 0; start < group.endpoints.length; start += maxPerSlice, index++) {
      const annotations: Record<string, string> = {};
      if (group.triggerTime !== undefined) annotations[TRIGGER_TIME_ANNOTATION] = group.triggerTime;
      slices.push({
        name: sliceName({
          serviceName: service.name,
          cluster: group.cluster,
          addressType: group.addressType,
          portSetKey: group.portSetKey,
          index,
        }),
        namespace: service.namespace,
        sourceCluster: group.cluster,
        addressType: group.addressType,
        labels: {
          [SERVICE_NAME_LABEL]: service.name,
          [MANAGED_BY_LABEL]: MANAGED_BY_KUBEBURST,
          [SOURCE_CLUSTER_LABEL]: group.cluster,
        },
        annotations,
        ownerUid: service.uid,
        serviceName: service.name,
        ports: group.ports.map((port) => ({ ...port })),
        endpoints: group.endpoints.slice(start, start + maxPerSlice),
      });
    }
  }
  slices.sort((a, b) => compareText(a.name, b.name));
  return { slices, conflicts };
}
