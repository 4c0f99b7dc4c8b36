import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import {
  admitGroup,
  type CompiledAddressPolicy,
  capEndpoints,
  type RefusalReason,
} from "../domain/address-policy.ts";
import { type RoleResult, serviceRole, TRIGGER_TIME_ANNOTATION } from "../domain/labels.ts";
import type { ProductionService } from "../domain/production-service.ts";
import type { ServiceKey } from "../domain/service-key.ts";
import type { Source } from "../domain/source.ts";
import { isRfc3339 } from "../domain/trigger-time.ts";
import { endpointGroupOf, productionServiceOf } from "../kube/object-shapes.ts";
import type { BurstInputs } from "./burst-inputs.ts";

/** What every report says: which cluster, which Service, and which controller made it. */
interface ReportBase {
  cluster: string;
  service: ServiceKey;
  /** The generation of the controller that made it (a replacement controller counts up). */
  generation: number;
  /**
   * When the earliest watch event this report answers arrived (clock ms): where the propagation
   * of a change is measured from. Absent for reports no event asked for (a resync, a restore).
   */
  observedAt?: number;
}

/** A production Service in the production cluster. */
export interface ProductionReport extends ReportBase {
  kind: "production";
  role: RoleResult & { kind: "production" };
  production: ProductionService;
  /** What its burst policy reads (SPEC B5). */
  burst: BurstInputs;
}

/** A peak Service in a peak cluster: its slices after the address policy and the cap. */
export interface PeakReport extends ReportBase {
  kind: "peak";
  role: RoleResult & { kind: "peak" };
  /** By source slice name. An unchanged peak slice keeps the same Source object. */
  sources: ReadonlyMap<string, Source>;
  /** Set when the per-Service cap dropped endpoints (SPEC B2). */
  truncated?: { kept: number; dropped: number };
  /** Refused addresses over all sources, by reason. */
  refused: ReadonlyMap<RefusalReason, number>;
}

/** The Service is absent, unlabelled, or labelled for the other end: it takes no part here. */
export interface AbsentReport extends ReportBase {
  kind: "none";
}

/** The Service's labels contradict each other: it takes no part, and the reason is shown. */
export interface ConflictReport extends ReportBase {
  kind: "conflict";
  reason: string;
}

/**
 * One cluster's current state of one Service, as a worker reads it from the caches (SPEC M5):
 * always the whole state, never a delta, so lost or repeated events cannot corrupt the result.
 */
export type ServiceReport = ProductionReport | PeakReport | AbsentReport | ConflictReport;

/**
 * The report of a Service in the production cluster: only a Service labelled production takes
 * part there. Pure.
 */
export function productionReportOf(
  base: ReportBase,
  svc: V1Service | undefined,
  burst: (svc: V1Service) => BurstInputs = () => ({ annotations: {} }),
): ServiceReport {
  const role = svc ? serviceRole(svc.metadata?.labels) : ({ kind: "none" } as const);
  if (role.kind === "conflict") return { ...base, kind: "conflict", reason: role.reason };
  if (!svc || role.kind !== "production") return { ...base, kind: "none" };
  return {
    ...base,
    kind: "production",
    role: { kind: "production", ...peer(role) },
    production: productionServiceOf(svc),
    burst: burst(svc),
  };
}

/**
 * One peak slice after the address policy (SPEC B1): its admitted endpoints and what was
 * refused; an FQDN slice's endpoints are all refused as "fqdn". Pure.
 */
export function sourceOf(slice: V1EndpointSlice, policy: CompiledAddressPolicy): Source {
  const name = slice.metadata?.name ?? "";
  const trigger = slice.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
  const triggerTime = trigger !== undefined && isRfc3339(trigger) ? { triggerTime: trigger } : {};
  const group = endpointGroupOf(slice);
  if (group === undefined) {
    const refused = (slice.endpoints ?? [])
      .flatMap((e) => e.addresses.slice(0, 1))
      .map((address) => ({ address, reason: "fqdn" as const }));
    return { name, group: undefined, refused, ...triggerTime };
  }
  const admitted = admitGroup(policy, group);
  return { name, group: admitted.group, refused: admitted.refused, ...triggerTime };
}

/**
 * The report of a Service in a peak cluster from its sources (each already through the policy):
 * the per-Service cap applied over all of them, ready endpoints first (SPEC B2). A source the cap
 * does not touch is passed on as the same object. Pure.
 */
export function peakReportOf(
  base: ReportBase,
  svc: V1Service | undefined,
  sources: readonly Source[],
  maxEndpoints: number,
): ServiceReport {
  const role = svc ? serviceRole(svc.metadata?.labels) : ({ kind: "none" } as const);
  if (role.kind === "conflict") return { ...base, kind: "conflict", reason: role.reason };
  if (!svc || role.kind !== "peak") return { ...base, kind: "none" };
  const withGroups = sources.filter((s) => s.group !== undefined);
  const capped = capEndpoints(
    withGroups.map((s) => s.group!),
    maxEndpoints,
  );
  const bySource = new Map<string, Source>();
  for (const source of sources) bySource.set(source.name, source);
  capped.groups.forEach((group, i) => {
    const source = withGroups[i]!;
    if (group !== source.group) bySource.set(source.name, { ...source, group });
  });
  const refused = new Map<RefusalReason, number>();
  for (const source of sources) {
    for (const [reason, n] of refusedCounts(source))
      refused.set(reason, (refused.get(reason) ?? 0) + n);
  }
  return {
    ...base,
    kind: "peak",
    role: { kind: "peak", ...peer(role) },
    sources: bySource,
    ...(capped.truncated ? { truncated: capped.truncated } : {}),
    refused,
  };
}

function peer(role: { peerCluster?: string }): { peerCluster?: string } {
  return role.peerCluster === undefined ? {} : { peerCluster: role.peerCluster };
}

/** Counted once per Source object: a report of a Service with many sources re-counts only new ones. */
const countsBySource = new WeakMap<Source, ReadonlyMap<RefusalReason, number>>();

function refusedCounts(source: Source): ReadonlyMap<RefusalReason, number> {
  let counts = countsBySource.get(source);
  if (counts === undefined) {
    const fresh = new Map<RefusalReason, number>();
    for (const { reason } of source.refused) fresh.set(reason, (fresh.get(reason) ?? 0) + 1);
    counts = fresh;
    countsBySource.set(source, counts);
  }
  return counts;
}
