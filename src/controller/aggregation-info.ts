import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import {
  type AddressPolicy,
  admitContribution,
  type RefusedAddress,
} from "../domain/address-policy.ts";
import type { Contribution } from "../domain/endpoints.ts";
import { type RoleResult, serviceRole, TRIGGER_TIME_ANNOTATION } from "../domain/labels.ts";
import type { ProductionService } from "../domain/production-service.ts";
import type { ServiceKey } from "../domain/service-key.ts";
import { endpointGroupOf, productionServiceOf } from "../kube/object-shapes.ts";
import type { ClusterRole } from "./cluster-controller.ts";

/**
 * What a worker tells the aggregator (SPEC M5): a whole snapshot of one cluster's side of one
 * Service, never a delta. `role` is what the Service's labels say (`none` when the Service is
 * absent or unlabelled); `production` is set for a production Service in the production
 * cluster, `contribution` for a peak Service in a peak cluster.
 */
export interface ServiceInfo {
  kind: "service";
  cluster: string;
  clusterRole: ClusterRole;
  service: ServiceKey;
  role: RoleResult;
  production?: ProductionService;
  contribution?: Contribution;
  /** Peak endpoints the address policy refused (SPEC B1). */
  refused?: RefusedAddress[];
  /** Set when the per-Service cap dropped endpoints (SPEC B2). */
  truncated?: { kept: number; dropped: number };
  /** Clock time (ms) the worker built this. */
  observedAt: number;
}

/** A cluster's initial state has been delivered in full (every Service of its first list). */
export interface ClusterReadyInfo {
  kind: "cluster-ready";
  cluster: string;
}

/** A cluster was removed from the configuration: withdraw everything it contributed, at once. */
export interface ClusterRemovedInfo {
  kind: "cluster-removed";
  cluster: string;
}

export type AggregationInfo = ServiceInfo | ClusterReadyInfo | ClusterRemovedInfo;

/**
 * Builds the aggregation info of Service `key` in one cluster from that cluster's cached
 * Service and slices, a peak's endpoints already filtered by its address policy. Pure: the
 * caller passes what the caches hold now (level-triggered).
 */
export function serviceInfoOf(
  cluster: string,
  clusterRole: ClusterRole,
  key: ServiceKey,
  svc: V1Service | undefined,
  slices: readonly V1EndpointSlice[],
  observedAt: number,
  policy: AddressPolicy,
): ServiceInfo {
  const role: RoleResult = svc ? serviceRole(svc.metadata?.labels) : { kind: "none" };
  const info: ServiceInfo = {
    kind: "service",
    cluster,
    clusterRole,
    service: key,
    role,
    observedAt,
  };
  if (svc && clusterRole === "production" && role.kind === "production") {
    info.production = productionServiceOf(svc);
  }
  if (svc && clusterRole === "peak" && role.kind === "peak") {
    const groups = slices.flatMap((s) => endpointGroupOf(s) ?? []);
    const triggerTimes = slices
      .map((s) => s.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION])
      .filter((t): t is string => typeof t === "string" && !Number.isNaN(Date.parse(t)))
      .sort((a, b) => Date.parse(a) - Date.parse(b));
    const triggerTime = triggerTimes.at(-1);
    const admitted = admitContribution(
      { cluster, groups, ...(triggerTime ? { triggerTime } : {}) },
      policy,
    );
    info.contribution = admitted.contribution;
    const fqdn = slices
      .filter((s) => s.addressType === "FQDN")
      .flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses.slice(0, 1)))
      .map((address) => ({ address, reason: "fqdn" as const }));
    const refused = [...fqdn, ...admitted.refused];
    if (refused.length > 0) info.refused = refused;
    if (admitted.truncated) info.truncated = admitted.truncated;
  }
  return info;
}
