import { compareText } from "./compare-text.ts";
import type {
  AddressFamily,
  Contribution,
  Endpoint,
  EndpointGroup,
  EndpointPort,
} from "./endpoints.ts";
import { parseIpAddress } from "./ip-address.ts";
import { isValidLabelValue } from "./label-value.ts";
import { mergeEndpoints } from "./merge-endpoints.ts";
import { matchPorts, PORT_CONFLICT_KINDS } from "./port-match.ts";
import { portSetKey } from "./port-set.ts";
import type { ProductionService } from "./production-service.ts";
import { latestTriggerTime } from "./trigger-time.ts";

/** Why part of a peak contribution was not imported. */
export const IMPORT_CONFLICT_KINDS = [
  ...PORT_CONFLICT_KINDS,
  "family-mismatch",
  "invalid-address",
  "invalid-cluster-name",
] as const;
/** See {@link IMPORT_CONFLICT_KINDS}. */
export type ImportConflictKind = (typeof IMPORT_CONFLICT_KINDS)[number];

/** Something left out of a peak cluster's contribution, for status conditions, Events and logs. */
export interface ImportConflict {
  cluster: string;
  kind: ImportConflictKind;
  /** The port name, for port conflicts about one port. */
  port?: string;
  reason: string;
}

/** The endpoints of one (source cluster, address family, port set): one or more slices' worth. */
export interface ImportedGroup {
  cluster: string;
  addressType: AddressFamily;
  /** Matched ports, sorted by name. */
  ports: EndpointPort[];
  /** {@link portSetKey} of `ports`. */
  portSetKey: string;
  /** Canonical addresses, one per address, sorted; never empty. */
  endpoints: Endpoint[];
  /** The latest valid trigger time the cluster reported. */
  triggerTime?: string;
}

/** The importable part of some peak contributions, and what was left out. */
export interface ImportResult {
  /** Sorted by cluster, family, port set. */
  groups: ImportedGroup[];
  /** Sorted by cluster; one entry per distinct problem. */
  conflicts: ImportConflict[];
}

interface Bucket {
  addressType: AddressFamily;
  ports: EndpointPort[];
  key: string;
  endpoints: Endpoint[];
}

function byCluster(contributions: readonly Contribution[]): Map<string, Contribution[]> {
  const clusters = new Map<string, Contribution[]>();
  for (const contribution of contributions) {
    const list = clusters.get(contribution.cluster) ?? [];
    list.push(contribution);
    clusters.set(contribution.cluster, list);
  }
  return clusters;
}

function importCluster(
  service: ProductionService,
  cluster: string,
  groups: readonly EndpointGroup[],
  conflicts: ImportConflict[],
): Bucket[] {
  const buckets = new Map<string, Bucket>();
  const invalid: string[] = [];
  const otherFamilies = new Set<string>();
  let inFamily = false;
  for (const group of groups) {
    if (!service.ipFamilies.includes(group.addressType)) {
      if (group.endpoints.length > 0) otherFamilies.add(String(group.addressType));
      continue;
    }
    // An empty slice (the EndpointSlice controller's placeholder while a Service has no pods)
    // carries no ports either; it contributes nothing and is no conflict.
    if (group.endpoints.length === 0) continue;
    inFamily = true;
    const match = matchPorts(service.ports, group.ports);
    for (const conflict of match.conflicts) {
      const { kind, port, reason } = conflict;
      conflicts.push(
        kind === "no-matching-ports" ? { cluster, kind, reason } : { cluster, kind, port, reason },
      );
    }
    if (!match.contributes) continue;
    const key = portSetKey(match.ports);
    const bucketKey = `${group.addressType}\n${key}`;
    let bucket = buckets.get(bucketKey);
    if (bucket === undefined) {
      bucket = { addressType: group.addressType, ports: match.ports, key, endpoints: [] };
      buckets.set(bucketKey, bucket);
    }
    for (const { address, conditions } of group.endpoints) {
      const parsed = parseIpAddress(address);
      if (parsed === undefined || parsed.family !== group.addressType) {
        invalid.push(address);
        continue;
      }
      const { ready, serving, terminating } = conditions;
      bucket.endpoints.push({
        address: parsed.canonical,
        conditions: { ready, serving, terminating },
      });
    }
  }
  // Reported even when other endpoints are imported: a dual-stack peak's other family is left out
  // on purpose, but its owner should hear about it (SPEC B7).
  if (otherFamilies.size > 0) {
    conflicts.push({
      cluster,
      kind: "family-mismatch",
      reason: `peak cluster ${JSON.stringify(cluster)} has ${inFamily ? "" : "only "}${[...otherFamilies].sort(compareText).join(" and ")} endpoints${inFamily ? " besides those imported" : ""}; the production Service's families are ${service.ipFamilies.join(" and ") || "none"}, so they are left out`,
    });
  }
  if (invalid.length > 0) {
    const example = [...invalid].sort(compareText)[0] ?? "";
    conflicts.push({
      cluster,
      kind: "invalid-address",
      reason: `${invalid.length} endpoint address(es) from peak cluster ${JSON.stringify(cluster)} are not valid addresses of their slice's family and were left out (e.g. ${JSON.stringify(example)})`,
    });
  }
  return [...buckets.values()];
}

function dedupeConflicts(conflicts: readonly ImportConflict[]): ImportConflict[] {
  const seen = new Map<string, ImportConflict>();
  for (const conflict of conflicts) {
    const key = JSON.stringify([
      conflict.cluster,
      conflict.kind,
      conflict.port ?? null,
      conflict.reason,
    ]);
    if (!seen.has(key)) seen.set(key, conflict);
  }
  return [...seen.keys()].sort(compareText).map((key) => seen.get(key)!);
}

/**
 * Takes from peak clusters' contributions what the production Service can import (SPEC B7, B8):
 * only its address families, ports matched by name, valid addresses in canonical form, one
 * endpoint per address within a (cluster, family, port set) with conditions copied explicitly and
 * merged by {@link mergeEndpoints}. Contributions with the same cluster name are combined. A
 * cluster whose name is not a valid label value is left out, since it would become the
 * `kubeburst.io/source-cluster` label. Never throws; every omission is reported as a conflict.
 */
export function importContributions(
  service: ProductionService,
  contributions: readonly Contribution[],
): ImportResult {
  const conflicts: ImportConflict[] = [];
  const groups: ImportedGroup[] = [];
  const clusters = byCluster(contributions);
  for (const cluster of [...clusters.keys()].sort(compareText)) {
    const parts = clusters.get(cluster) ?? [];
    if (cluster === "" || !isValidLabelValue(cluster)) {
      conflicts.push({
        cluster,
        kind: "invalid-cluster-name",
        reason: `cluster name ${JSON.stringify(cluster)} is not a valid label value (1-63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric); its endpoints are not imported`,
      });
      continue;
    }
    const triggerTime = latestTriggerTime(parts.map((part) => part.triggerTime));
    const buckets = importCluster(
      service,
      cluster,
      parts.flatMap((part) => part.groups),
      conflicts,
    );
    for (const bucket of buckets) {
      const endpoints = mergeEndpoints(bucket.endpoints);
      if (endpoints.length === 0) continue;
      const group: ImportedGroup = {
        cluster,
        addressType: bucket.addressType,
        ports: bucket.ports,
        portSetKey: bucket.key,
        endpoints,
      };
      if (triggerTime !== undefined) group.triggerTime = triggerTime;
      groups.push(group);
    }
  }
  groups.sort(
    (a, b) =>
      compareText(a.cluster, b.cluster) ||
      compareText(a.addressType, b.addressType) ||
      compareText(a.portSetKey, b.portSetKey),
  );
  return { groups, conflicts: dedupeConflicts(conflicts) };
}
