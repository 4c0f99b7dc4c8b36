import {
  type AddedAddressesRecord,
  contentHash,
  formatAddedAddressesRecord,
  parseAddedAddressesRecord,
} from "./added-addresses-record.ts";
import { compareText } from "./compare-text.ts";
import type { Contribution, Endpoint } from "./endpoints.ts";
import {
  canonicalIp,
  type EndpointsAddress,
  type EndpointsPort,
  type EndpointsSubset,
  endpointsPortsKey,
  subsetsContentKey,
} from "./endpoints-subsets.ts";
import { type ImportConflict, importContributions } from "./imported-groups.ts";
import { ADDED_ADDRESSES_ANNOTATION, DEFAULT_INSTALLATION } from "./labels.ts";
import { mergeEndpoints } from "./merge-endpoints.ts";
import type { ProductionService } from "./production-service.ts";
import { serviceKey } from "./service-key.ts";

/** Addresses the EndpointSlice mirroring controller copies from one Endpoints object. */
export const MIRRORING_MAX_ADDRESSES = 1000;

/** The parts of a legacy Endpoints object that literal mode reads and writes. */
export interface LiteralEndpoints {
  subsets: EndpointsSubset[];
  annotations: Record<string, string>;
}

/** What the object's record of added addresses told us. */
export const RECORD_STATES = ["absent", "intact", "edited", "unreadable"] as const;
/**
 * `absent`: no record, everything present is the user's. `intact`: the object is as we last wrote
 * it. `edited`: someone changed the object since; their addresses are kept. `unreadable`: the
 * record is malformed and is treated as absent.
 */
export type RecordState = (typeof RECORD_STATES)[number];

/** The Endpoints object literal mode wants, and whether writing it would change anything. */
export interface DesiredEndpoints extends LiteralEndpoints {
  /** False when the result means the same as the current object: skip the write. */
  changed: boolean;
  record: RecordState;
  conflicts: ImportConflict[];
  /** True when the object holds more addresses than the mirroring controller copies into slices. */
  overCapacity: boolean;
}

function readRecord(
  current: LiteralEndpoints,
  recordKey: string,
): {
  state: RecordState;
  record?: AddedAddressesRecord;
} {
  const value = current.annotations[recordKey];
  if (value === undefined) return { state: "absent" };
  const record = parseAddedAddressesRecord(value);
  if (record === undefined) return { state: "unreadable" };
  const state = record.hash === contentHash(current.subsets) ? "intact" : "edited";
  return { state, record };
}

function usersSubsets(
  subsets: readonly EndpointsSubset[],
  ours: ReadonlySet<string>,
): EndpointsSubset[] {
  const keep = (addresses: readonly EndpointsAddress[]) =>
    addresses.filter(({ ip }) => !ours.has(canonicalIp(ip))).map((address) => ({ ...address }));
  return subsets
    .map((subset) => ({
      addresses: keep(subset.addresses),
      notReadyAddresses: keep(subset.notReadyAddresses),
      ports: subset.ports.map((port) => ({ ...port })),
    }))
    .filter((subset) => subset.addresses.length + subset.notReadyAddresses.length > 0);
}

function peakSubsets(
  service: ProductionService | undefined,
  peaks: readonly Contribution[],
  usersIps: ReadonlySet<string>,
): {
  subsets: EndpointsSubset[];
  conflicts: ImportConflict[];
  clusterOf: Map<string, string>;
} {
  const { groups, conflicts } =
    service === undefined ? { groups: [], conflicts: [] } : importContributions(service, peaks);
  const byPorts = new Map<string, { ports: EndpointsPort[]; endpoints: Endpoint[] }>();
  // The first cluster (by name) an address came from: what the record attributes it to.
  const clusterOf = new Map<string, string>();
  for (const group of groups) {
    for (const { address } of group.endpoints) {
      if (!clusterOf.has(address)) clusterOf.set(address, group.cluster);
    }
    const ports = group.ports.map(
      ({ name, port, protocol }): EndpointsPort =>
        name === "" ? { port, protocol } : { name, port, protocol },
    );
    const key = endpointsPortsKey(ports);
    const entry = byPorts.get(key) ?? { ports, endpoints: [] };
    entry.endpoints.push(...group.endpoints);
    byPorts.set(key, entry);
  }
  const subsets: EndpointsSubset[] = [];
  for (const key of [...byPorts.keys()].sort(compareText)) {
    const { ports, endpoints } = byPorts.get(key)!;
    const addresses: EndpointsAddress[] = [];
    const notReadyAddresses: EndpointsAddress[] = [];
    for (const { address, conditions } of mergeEndpoints(endpoints)) {
      if (usersIps.has(address)) continue;
      const ready = conditions.ready && !conditions.terminating;
      (ready ? addresses : notReadyAddresses).push({ ip: address });
    }
    if (addresses.length + notReadyAddresses.length > 0) {
      subsets.push({ addresses, notReadyAddresses, ports });
    }
  }
  return { subsets, conflicts, clusterOf };
}

function sameRecord(
  a: AddedAddressesRecord | undefined,
  b: AddedAddressesRecord | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return formatAddedAddressesRecord(a) === formatAddedAddressesRecord(b);
}

/** How {@link desiredEndpoints} reads and keeps its record. */
export interface LiteralOptions {
  /** The annotation holding this installation's record (see {@link literalKeys}). */
  recordKey: string;
  /**
   * Peak clusters not known since a restart: the addresses the record says came from them stay
   * where they are, still recorded as ours (SPEC B3).
   */
  keepClusters?: readonly string[];
}

/**
 * The annotation (record) and label (marker, selectable) an installation uses on Endpoints
 * objects it added addresses to. The default installation keeps the names of older versions.
 */
export function literalKeys(installation: string): { recordKey: string; markerLabel: string } {
  const key =
    installation === DEFAULT_INSTALLATION
      ? ADDED_ADDRESSES_ANNOTATION
      : `${installation}.${ADDED_ADDRESSES_ANNOTATION}`;
  return { recordKey: key, markerLabel: key };
}

/**
 * Literal mode (selector-less production Services): the Endpoints object that holds the user's
 * addresses plus the peak clusters' ones. The user's addresses are the current ones minus those
 * our record says we added (all of them when there is no readable record); their subsets are kept
 * as they are (extra fields included) apart from losing our addresses. Peak addresses, matched
 * and filtered like slices, go into subsets of their own per port set: ready and not terminating
 * into `addresses`, the rest into `notReadyAddresses`. An address the user already lists is left
 * to the user. Addresses recorded for a cluster in `keepClusters` stay as they are. The new record
 * lists exactly what we added, by cluster (and is removed when that is nothing). With `service`
 * undefined (the Service no longer takes part) every address we added is taken out. `changed` is
 * false when the result means the same as `current` and the record is the same. Pass peak
 * contributions only; check {@link literalModeRefusal} first. Pure and total.
 */
export function desiredEndpoints(
  current: LiteralEndpoints,
  service: ProductionService | undefined,
  peaks: readonly Contribution[],
  options: LiteralOptions,
): DesiredEndpoints {
  const { recordKey, keepClusters = [] } = options;
  const { state, record } = readRecord(current, recordKey);
  const kept = new Map<string, string[]>();
  for (const cluster of keepClusters) {
    const list = record?.clusters?.[cluster];
    if (list && list.length > 0) kept.set(cluster, list.map(canonicalIp));
  }
  const keptIps = new Set([...kept.values()].flat());
  const ours = new Set(
    (record?.addresses ?? []).map(canonicalIp).filter((address) => !keptIps.has(address)),
  );
  const users = usersSubsets(current.subsets, ours);
  const present = new Set(
    users.flatMap((s) => [...s.addresses, ...s.notReadyAddresses].map(({ ip }) => canonicalIp(ip))),
  );
  const peak = peakSubsets(service, peaks, present);
  const subsets = [...users, ...peak.subsets];
  const byCluster = new Map<string, Set<string>>();
  const attribute = (cluster: string, address: string) => {
    const set = byCluster.get(cluster) ?? new Set<string>();
    set.add(address);
    byCluster.set(cluster, set);
  };
  for (const s of peak.subsets) {
    for (const { ip } of [...s.addresses, ...s.notReadyAddresses]) {
      attribute(peak.clusterOf.get(ip) ?? "", ip);
    }
  }
  for (const [cluster, list] of kept) {
    for (const address of list) if (present.has(address)) attribute(cluster, address);
  }
  const added = [...new Set([...byCluster.values()].flatMap((set) => [...set]))].sort(compareText);
  const clusters = Object.fromEntries(
    [...byCluster].filter(([c]) => c !== "").map(([c, set]) => [c, [...set].sort(compareText)]),
  );
  const newRecord: AddedAddressesRecord | undefined =
    added.length > 0
      ? {
          addresses: added,
          ...(Object.keys(clusters).length > 0 ? { clusters } : {}),
          hash: contentHash(subsets),
        }
      : undefined;

  const annotations = { ...current.annotations };
  if (newRecord === undefined) delete annotations[recordKey];
  else annotations[recordKey] = formatAddedAddressesRecord(newRecord);

  const recordUnchanged = state === "unreadable" ? false : sameRecord(record, newRecord);
  const changed =
    !recordUnchanged || subsetsContentKey(subsets) !== subsetsContentKey(current.subsets);
  const addressCount = subsets.reduce(
    (sum, s) => sum + s.addresses.length + s.notReadyAddresses.length,
    0,
  );
  return {
    subsets,
    annotations,
    changed,
    record: state,
    conflicts: peak.conflicts,
    overCapacity: addressCount > MIRRORING_MAX_ADDRESSES,
  };
}

/**
 * Why literal mode must not touch this Service, or `undefined` when it may. An ExternalName
 * Service has no endpoints; for a Service with a selector the endpoints controller overwrites a
 * hand-edited Endpoints object and the mirroring controller ignores it.
 */
export function literalModeRefusal(service: ProductionService): string | undefined {
  const key = serviceKey(service.namespace, service.name);
  if (service.type === "ExternalName") {
    return `Service ${key} is of type ExternalName and has no endpoints; literal mode does not apply`;
  }
  if (service.hasSelector) {
    return `Service ${key} has a selector: the endpoints controller owns its Endpoints object and would overwrite the union, and the mirroring controller ignores it; remove the selector or use the default EndpointSlice mode`;
  }
  return undefined;
}
